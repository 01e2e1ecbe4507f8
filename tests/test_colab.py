"""mnist_course.colab: after the Colab install cell, a restart is asked for exactly when pip replaced a
package that was already imported, whichever package it is."""

from __future__ import annotations

import sys
import types
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

import colab as canary
import mnist_course as mc

ROOT = Path(__file__).resolve().parent.parent


def pins(tmp_path: Path, **versions: str) -> Path:
    """A pins file as the install cell writes it: every installed package, some at other versions."""
    lines = {d.metadata["Name"]: d.version for d in metadata.distributions()}
    lines.update(versions)
    path = tmp_path / "pins.txt"
    path.write_text("".join(f"{name}=={version}\n" for name, version in lines.items()))
    return path


def test_nothing_to_do_when_imported_versions_are_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pandas  # noqa: F401  (imported, and the installed version)

    assert mc.restart_needed(pins(tmp_path)) == []
    assert mc.restart_needed(None) == []
    assert (
        mc.warn_if_restart_needed(tmp_path / "absent.txt") is False
        and capsys.readouterr().out == ""
    )


def test_an_imported_module_of_another_version_asks_for_a_restart(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = types.ModuleType("pandas")
    old.__version__ = "1.5.3"  # what the runtime imported before pip upgraded pandas on disk
    monkeypatch.setitem(sys.modules, "pandas", old)
    assert mc.restart_needed(None) == [
        f"pandas: imported 1.5.3, installed {metadata.version('pandas')}"
    ]
    assert mc.warn_if_restart_needed(None) is True
    assert "Restart the runtime (Runtime > Restart session)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "dist, module",
    [("protobuf", "google"), ("wrapt", "wrapt"), ("pyyaml", "yaml"), ("setuptools", "setuptools")],
)
def test_any_imported_package_the_install_changed_asks_for_a_restart(
    tmp_path: Path, dist: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a fixed list: a package without `__version__` (google.protobuf's namespace `google`) or outside
    the course's own dependencies counts once its version in the pins file differs from the one installed."""
    try:
        installed = metadata.version(dist)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{dist} is not installed here")
    monkeypatch.setitem(sys.modules, module, sys.modules.get(module) or types.ModuleType(module))
    before = pins(tmp_path, **{metadata.metadata(dist)["Name"]: "0.0.1"})
    stale = mc.restart_needed(before)
    assert any(
        line.lower().startswith(dist) and "0.0.1 before the install" in line and installed in line
        for line in stale
    ), stale
    # setuptools also provides pkg_resources, ...
    for name, dists in metadata.packages_distributions().items():
        if dist in {d.lower() for d in dists}:
            monkeypatch.delitem(sys.modules, name, raising=False)
    # not imported: fine
    assert not any(line.lower().startswith(dist) for line in mc.restart_needed(before))


def test_every_notebook_install_cell_pins_colab_and_checks_for_a_restart() -> None:
    for folder in ("notebooks", "student/notebooks"):
        for path in sorted((ROOT / folder).glob("0*.ipynb")):
            source = nbformat.read(path, as_version=4).cells[1].source
            assert 'pins = os.path.join(tempfile.gettempdir(), "colab-pins.txt")' in source, path
            assert "pip list --disable-pip-version-check --format=freeze > {pins}" in source, path
            # -q silences the list itself: no pins, protobuf upgraded
            assert "pip list -q" not in source, path
            assert "%pip install -q --disable-pip-version-check -c {pins} " in source, path
            assert "warn_if_restart_needed(pins)" in source.split("%pip install", 1)[-1], path


# --- the Colab canary (tools/colab.py, `make colab`): its parts that need no Colab venv -----------------------


def test_the_canary_reads_colabs_manifest() -> None:
    freeze = (
        "# a comment\nipywidgets==7.7.1\nprotobuf==5.29.6\n"
        "torch @ https://download.pytorch.org/whl/cpu/torch-2.11.0%2Bcpu-cp313-cp313-manylinux_2_28_x86_64.whl\n"
        "jupyter_kernel_gateway @ git+https://github.com/googlecolab/kernel_gateway@b134e99\n"
        "typing_extensions==4.16.0\n"
    )
    pins = canary.parse_freeze(freeze)
    assert pins == {
        "ipywidgets": ("ipywidgets", "7.7.1"),
        "protobuf": ("protobuf", "5.29.6"),
        "torch": ("torch", "2.11.0+cpu"),
        "typing-extensions": ("typing_extensions", "4.16.0"),
    }
    assert canary.python_version("Ubuntu 22.04.5 LTS\nPython 3.13.15\n") == "3.13"
    with pytest.raises(canary.Failure, match="names no Python version"):
        canary.python_version("Ubuntu 22.04.5 LTS\n")
    shared = ROOT.parent / "shared" / "colab"
    # the real manifest, when it sits beside the repository
    if (shared / "pip-freeze.txt").exists():
        real = canary.parse_freeze((shared / "pip-freeze.txt").read_text())
        assert (
            real["torch"][1] == "2.11.0+cpu"
            and real["ipywidgets"][1] == "7.7.1"
            and len(real) > 500
        )
        assert canary.python_version((shared / "os-info.txt").read_text()) == "3.13"


def test_the_canary_fails_on_any_change_to_a_preinstalled_package() -> None:
    colab = {
        "protobuf": ("protobuf", "5.29.6"),
        "flatbuffers": ("flatbuffers", "25.2.10"),
        "torch": ("torch", "2.11.0+cpu"),
    }
    before = {"protobuf": "5.29.6", "wrapt": "2.3.0", "torch": "2.11.0"}
    same = dict(before, onnx="1.19.1", **{"mnist-course": "0.1.0"})
    assert canary.changes(before, same, colab) == []
    assert canary.changes(before, dict(same, protobuf="6.33.0"), colab) == [
        "the install changed protobuf 5.29.6 -> 6.33.0"
    ]
    assert canary.changes(before, {k: v for k, v in same.items() if k != "wrapt"}, colab) == [
        "the install removed wrapt 2.3.0"
    ]
    assert canary.changes(before, dict(same, flatbuffers="24.3.25"), colab) == [
        "the install added flatbuffers 24.3.25, but Colab has 25.2.10"
    ]
    assert canary.changes(before, dict(same, flatbuffers="25.2.10"), colab) == []


def test_the_canary_allows_progress_bars_and_nothing_else_on_stderr() -> None:
    assert canary.TQDM.match(
        "epochs: 100%|##########| 10/10 [00:01<00:00,  6.71epoch/s, val_acc=91.72%]"
    )
    assert canary.TQDM.match("  0%|          | 0/3 [00:00<?, ?it/s]")
    for line in [
        "/usr/lib/python3/site-packages/mnist_course/plots.py:72: FutureWarning: Calling float on a "
        "single element Series is deprecated",
        "ERROR: pip's dependency resolver does not currently "
        "take into account all the packages that are installed",
        "UserWarning: 100% sure",
    ]:
        assert not canary.TQDM.match(line), line


def test_the_canary_finds_every_install_cell_and_stays_out_of_make_test() -> None:
    for path in sorted((ROOT / "notebooks").glob("0*.ipynb")):
        assert canary.REQUIREMENT.search(nbformat.read(path, as_version=4).cells[1].source), path
    makefile = (ROOT / "Makefile").read_text()
    assert "\ncolab: " in makefile and "tools/colab.py" in makefile
    test_recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0]
    assert "colab" not in test_recipe
