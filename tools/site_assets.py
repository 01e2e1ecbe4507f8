"""The draw-a-digit page's (demo.qmd) generated files: ONNX Runtime Web into demo/ort/, the feature-map model
into demo/feature-maps/.

    python tools/site_assets.py            (`make site` and `make student` run it before rendering)
    python tools/site_assets.py --require  (the Pages workflow: no npm is an error, not a warning)

Installs the version pinned in package.json / package-lock.json with `npm ci` when node_modules/ does not
hold it, then copies the three files the page loads (ort.wasm.min.js, ort-wasm-simd-threaded.mjs and
.wasm) into demo/ort/ (not committed), with sizes.json (their sizes, for the page's progress bar), which demo.qmd lists as resources: Quarto copies them into the
site, so the page never loads anything from a CDN. Without Node.js/npm it says what to install and exits
with status 0: the rest of the site renders, and the page says that its runtime is missing.

Then it derives the page's glass-box model from lesson 4's committed export with tools/feature_maps.py
(the `onnx` package, a dependency of the course's package; the Pages workflow installs it): the same
CNN, whose graph also outputs every convolution's feature maps, and a manifest of its layers, in
demo/feature-maps/ (not committed, listed as resources too). Without `onnx` it says so and the page
shows the CNN's answer without the feature maps.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))  # tools/feature_maps.py
PACKAGE = ROOT / "node_modules" / "onnxruntime-web"
TARGET = ROOT / "demo" / "ort"
# The WebAssembly build without WebGPU/WebGL: what a 784-pixel input needs, about 14 MB in all.
FILES = ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"]
# Lesson 4's export, and the copy with its feature maps as outputs that the page runs instead.
FEATURE_MAP_SOURCE = ROOT / "notebooks" / "models" / "lesson4_cnn.onnx"
FEATURE_MAP_MODEL = ROOT / "demo" / "feature-maps" / "lesson4_cnn_feature_maps.onnx"


def pinned_version() -> str:
    return json.loads((ROOT / "package-lock.json").read_text())["packages"][
        "node_modules/onnxruntime-web"
    ]["version"]


def installed_version() -> str | None:
    manifest = PACKAGE / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.is_file() else None


def main(argv: list[str] | None = None) -> int:
    require = "--require" in (sys.argv[1:] if argv is None else argv)
    version = pinned_version()
    if installed_version() != version:
        npm = shutil.which("npm")
        if npm is None:
            print(
                f"site_assets: npm not found, so the draw-a-digit page (demo.html) will have no runtime.\n"
                f"  Install Node.js 18 or newer with npm (https://nodejs.org/, or 'apt-get install nodejs npm'),\n"
                f"  then run 'make site' again: it installs onnxruntime-web {version} from package-lock.json."
            )
            return 1 if require else 0
        print(f"site_assets: npm ci (onnxruntime-web {version}) ...")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True
        )
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copy2(PACKAGE / "dist" / name, TARGET / name)
    # Their sizes, for the page's progress bar: a server that compresses them (make serve, GitHub Pages)
    # sends the compressed size as Content-Length, not what the download will amount to.
    sizes = {name: (TARGET / name).stat().st_size for name in FILES}
    (TARGET / "sizes.json").write_text(json.dumps(sizes, indent=1) + "\n", encoding="utf-8")
    size = sum(sizes.values())
    print(f"site_assets: onnxruntime-web {version} in demo/ort/ ({size / 1e6:.1f} MB)")
    return write_feature_maps(require)


def write_feature_maps(require: bool) -> int:
    """Write the feature-map model and its manifest (tools/feature_maps.py); 0, or 1 if `require` and
    the `onnx` package is missing."""
    try:
        import feature_maps
    except ImportError as error:
        print(
            f"site_assets: {error}, so the draw-a-digit page will show no feature maps.\n"
            f"  Install it (pip install onnx, or make setup) and run 'make site' again."
        )
        return 1 if require else 0
    feature_maps.main([str(FEATURE_MAP_SOURCE), str(FEATURE_MAP_MODEL)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
