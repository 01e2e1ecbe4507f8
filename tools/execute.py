"""Re-run lesson notebooks top to bottom on a fresh kernel and write the outputs in place.

    python tools/execute.py [NOTEBOOK ...]     (default: every lesson, see tools/lessons.py)

Each notebook runs in its own folder (as Jupyter and Colab do), with `python3` as kernel;
progress-bar updates are collapsed to their final line. For each one the runtime is printed, with
the "Made with: ..." line its last cell printed (torch version, device, threads: results depend
slightly on them). `MNIST_COURSE_QUICK=1` in the environment runs the quick mode (for trying; don't
commit that). Only lessons are run: not Quarto's `*.out.ipynb` copies or checkpoints.

The run's record, every verdict the lesson displays and every setting it chooses with `mc.chosen`
(src/mnist_course/record.py, through MNIST_COURSE_RECORD), is written to
benchmarks/records/<lesson>.jsonl: commit it with the notebook; `make verdicts` (tools/verdicts.py)
compares a rerun's record with it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lessons import is_lesson, lesson_notebooks  # noqa: E402  (tools/lessons.py: the rule)

ROOT = Path(__file__).resolve().parent.parent
MADE_WITH = "Made with:"
RECORD_ENV = "MNIST_COURSE_RECORD"  # read by mnist_course.record
RECORDS = ROOT / "benchmarks" / "records"  # the committed runs' records, one file per lesson


def record_path(notebook: Path, folder: Path = RECORDS) -> Path:
    """Where the record of lesson `notebook` is kept: `folder/<stem>.jsonl`."""
    return folder / f"{Path(notebook).stem}.jsonl"


def made_with(nb: nbformat.NotebookNode) -> str | None:
    """The "Made with: ..." line printed by the notebook's last code cell, if any."""
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    texts = [
        o.get("text", "")
        for o in (code[-1].get("outputs", []) if code else [])
        if o.get("output_type") == "stream"
    ]
    return next(
        (line for t in texts for line in t.splitlines() if line.startswith(MADE_WITH)), None
    )


def execute(path: Path, timeout: int = 1800, records: Path = RECORDS) -> tuple[float, str | None]:
    """Execute `path` in place, its record written to `record_path(path, records)`; return the seconds
    it took and its "Made with: ..." line. Neither file is written when a cell fails."""
    nb = nbformat.read(path, as_version=4)
    target = record_path(path, records)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text("", encoding="utf-8")
    start = time.perf_counter()
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            coalesce_streams=True,
            record_timing=False,
            resources={"metadata": {"path": str(path.parent)}},
        ).execute(env={**os.environ, RECORD_ENV: str(partial.resolve())})
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    partial.replace(target)
    return seconds, made_with(nb)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="notebooks to run (default: all lessons)"
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)"
    )
    parser.add_argument(
        "--records",
        type=Path,
        default=RECORDS,
        help="where each run's record goes, <lesson>.jsonl (default: benchmarks/records/)",
    )
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
        seconds, environment = execute(path.resolve(), args.timeout, args.records)
        print(
            f"{path.name}: {seconds:.0f} s; {environment or f'its last cell prints no {MADE_WITH!r} line'}; "
            f"record: {record_path(path, args.records)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
