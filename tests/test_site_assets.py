"""tools/site_assets.py: ONNX Runtime Web for the draw-a-digit page, or a clear message without npm."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("site_assets", ROOT / "tools" / "site_assets.py")
site_assets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_assets)


def test_runtime_is_pinned_in_package_json_and_its_lock() -> None:
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    assert wanted == site_assets.pinned_version()  # an exact version, the one the lock file holds
    assert wanted[0].isdigit()


def test_without_npm_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(site_assets, "PACKAGE", tmp_path / "node_modules" / "onnxruntime-web")
    monkeypatch.setattr(site_assets, "TARGET", tmp_path / "demo" / "ort")
    monkeypatch.setattr(site_assets.shutil, "which", lambda name: None)
    assert site_assets.main() == 0  # the rest of the site still renders
    out = capsys.readouterr().out
    assert "npm not found" in out and "Install Node.js" in out and "make site" in out
    assert not (tmp_path / "demo").exists()


def test_copies_the_three_files_the_page_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "node_modules" / "onnxruntime-web"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": site_assets.pinned_version()}))
    for name in site_assets.FILES:
        (package / "dist" / name).write_text(name)
    monkeypatch.setattr(site_assets, "PACKAGE", package)
    monkeypatch.setattr(site_assets, "TARGET", tmp_path / "demo" / "ort")
    monkeypatch.setattr(site_assets.shutil, "which", lambda name: pytest.fail("npm ci run although installed"))
    assert site_assets.main() == 0
    assert sorted(p.name for p in (tmp_path / "demo" / "ort").iterdir()) == sorted(site_assets.FILES)
    # demo.js loads exactly these (ort.wasm.min.js from demo.qmd, the others through ort.env.wasm.wasmPaths)
    page = (ROOT / "demo.qmd").read_text() + (ROOT / "demo" / "demo.js").read_text()
    assert 'src="demo/ort/ort.wasm.min.js"' in page and 'RUNTIME = "demo/ort/"' in page
