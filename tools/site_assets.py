"""The browser runtime of the draw-a-digit page (demo.qmd): ONNX Runtime Web from npm, into demo/ort/.

    python tools/site_assets.py            (`make site` and `make student` run it before rendering)
    python tools/site_assets.py --require  (the Pages workflow: no npm is an error, not a warning)

Installs the version pinned in package.json / package-lock.json with `npm ci` when node_modules/ does not
hold it, then copies the three files the page loads (ort.wasm.min.js, ort-wasm-simd-threaded.mjs and
.wasm) into demo/ort/ (not committed), which demo.qmd lists as resources: Quarto copies them into the
site, so the page never loads anything from a CDN. Without Node.js/npm it says what to install and exits
with status 0: the rest of the site renders, and the page says that its runtime is missing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "node_modules" / "onnxruntime-web"
TARGET = ROOT / "demo" / "ort"
# The WebAssembly build without WebGPU/WebGL: what a 784-pixel input needs, about 14 MB in all.
FILES = ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]


def pinned_version() -> str:
    return json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/onnxruntime-web"]["version"]


def installed_version() -> str | None:
    manifest = PACKAGE / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else None


def main(argv: list[str] | None = None) -> int:
    require = "--require" in (sys.argv[1:] if argv is None else argv)
    version = pinned_version()
    if installed_version() != version:
        npm = shutil.which("npm")
        if npm is None:
            print(f"site_assets: npm not found, so the draw-a-digit page (demo.html) will have no runtime.\n"
                  f"  Install Node.js 18 or newer with npm (https://nodejs.org/, or 'apt-get install nodejs npm'),\n"
                  f"  then run 'make site' again: it installs onnxruntime-web {version} from package-lock.json.")
            return 1 if require else 0
        print(f"site_assets: npm ci (onnxruntime-web {version}) ...")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(PACKAGE / "dist" / name, TARGET / name)
    size = sum((TARGET / name).stat().st_size for name in FILES)
    print(f"site_assets: onnxruntime-web {version} in demo/ort/ ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
