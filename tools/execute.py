"""Re-run lesson notebooks top to bottom on a fresh kernel and write the outputs in place.

    python tools/execute.py [NOTEBOOK ...]     (default: every notebooks/*.ipynb)

Each notebook runs in its own folder (as Jupyter and Colab do), with `python3` as kernel;
progress-bar updates are collapsed to their final line, and each runtime is printed.
`MNIST_COURSE_QUICK=1` in the environment runs the quick mode (for trying; don't commit that).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def execute(path: Path, timeout: int = 1800) -> float:
    """Execute `path` in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True, record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all lessons)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"execute: no such notebook: {', '.join(missing)}")
    for path in paths:
        print(f"{path.name}: running ...", flush=True)
        print(f"{path.name}: {execute(path.resolve(), args.timeout):.0f} s", flush=True)


if __name__ == "__main__":
    main()
