"""Re-run lesson notebooks top to bottom on a fresh kernel and write the outputs in place.

    python tools/execute.py [NOTEBOOK ...]     (default: every lesson, see tools/lessons.py)

Each notebook runs in its own folder (as Jupyter and Colab do), with `python3` as kernel;
progress-bar updates are collapsed to their final line. For each one the runtime is printed, with
the "Made with: ..." line its last cell printed (torch version, device, threads: results depend
slightly on them). `MNIST_COURSE_QUICK=1` in the environment runs the quick mode (for trying; don't
commit that). Only lessons are run: not Quarto's `*.out.ipynb` copies or checkpoints.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lessons import is_lesson, lesson_notebooks  # noqa: E402  (tools/lessons.py: the rule)

ROOT = Path(__file__).resolve().parent.parent
MADE_WITH = "Made with:"


def made_with(nb: nbformat.NotebookNode) -> str | None:
    """The "Made with: ..." line printed by the notebook's last code cell, if any."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    texts = [o.get("text", "") for o in (code[-1].get("outputs", []) if code else []) if o.get("output_type") == "stream"]
    return next((line for t in texts for line in t.splitlines() if line.startswith(MADE_WITH)), None)


def execute(path: Path, timeout: int = 1800) -> tuple[float, str | None]:
    """Execute `path` in place; return the seconds it took and its "Made with: ..." line."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True, record_timing=False,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return seconds, made_with(nb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all lessons)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    args = parser.parse_args()
    paths = args.notebooks or lesson_notebooks(ROOT / "notebooks")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        sys.exit(f"execute: no such notebook: {', '.join(missing)}")
    others = [str(p) for p in paths if not is_lesson(p)]
    if others:
        sys.exit(f"execute: not a lesson (see tools/lessons.py): {', '.join(others)}")
    for path in paths:
        print(f"{path.name}: running ...", flush=True)
        seconds, environment = execute(path.resolve(), args.timeout)
        print(f"{path.name}: {seconds:.0f} s; {environment or f'its last cell prints no {MADE_WITH!r} line'}",
              flush=True)


if __name__ == "__main__":
    main()
