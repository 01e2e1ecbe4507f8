"""Student edition: copies of the lessons without their worked solutions, and a Quarto project for them.

    python tools/student.py [--out _student] [NOTEBOOK ...]     (default: every notebooks/*.ipynb)

Every cell tagged `solution` is removed (nbconvert's TagRemovePreprocessor); all other cells, with
their outputs, stay exactly as they are. The copies go to <out>/notebooks/; the originals are never
written. Next to them <out>/ gets what Quarto needs to render the student site on its own:
_quarto.yml, index.qmd, images/ and notebooks/_metadata.yml copied from the repository, and the
profile _quarto-student.yml (from tools/quarto-student.yml). `make student` then runs
`quarto render _student --profile student` and moves the result to _site-student/.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_TAG = "solution"
# Copied into the student project as they are (the notebooks themselves are written stripped).
SITE_FILES = ["_quarto.yml", "index.qmd", "images", "notebooks/_metadata.yml"]
PROFILE = ROOT / "tools" / "quarto-student.yml"


def is_solution(cell: nbformat.NotebookNode) -> bool:
    return SOLUTION_TAG in cell.get("metadata", {}).get("tags", [])


def strip_solutions(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` without the cells tagged `solution` (`nb` itself is left as it is)."""
    remover = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    student, _ = remover.preprocess(copy.deepcopy(nb), {})
    return student


def lesson_notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The lessons: notebooks/*.ipynb, without Quarto's rendered *.out.ipynb copies."""
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.endswith(".out.ipynb"))


def check_targets(paths: list[Path], out_dir: Path) -> list[Path]:
    """The copies' paths; stops if one would overwrite a source or land in the lessons' folder."""
    sources = {p.resolve() for p in paths}
    lessons = (ROOT / "notebooks").resolve()
    if out_dir.resolve() == lessons or out_dir.resolve() in {p.parent for p in sources}:
        raise SystemExit(f"student: refusing to write into {out_dir}, a folder of original notebooks")
    targets = [out_dir / p.name for p in paths]
    if any(t.resolve() in sources for t in targets):
        raise SystemExit("student: refusing to overwrite an original notebook")
    if len({t.name for t in targets}) != len(targets):
        raise SystemExit("student: two notebooks with the same file name")
    return targets


def write_student_notebooks(paths: list[Path], out_dir: Path) -> list[Path]:
    """Write a stripped copy of each notebook into `out_dir` (never over a source)."""
    targets = check_targets(paths, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, target in zip(paths, targets):
        nb = nbformat.read(path, as_version=4)
        student = strip_solutions(nb)
        nbformat.write(student, target)
        removed = len(nb.cells) - len(student.cells)
        print(f"{target}: {len(student.cells)} cells ({removed} solution cells removed)")
    return targets


def write_site(out: Path) -> None:
    """Copy the site's files and the `student` profile into the student project `out`."""
    for name in SITE_FILES:
        source, target = ROOT / name, out / name
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    shutil.copy2(PROFILE, out / "_quarto-student.yml")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--out", type=Path, default=ROOT / "_student", help="student project folder (default _student)")
    args = parser.parse_args(argv)
    paths = args.notebooks or lesson_notebooks()
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SystemExit(f"student: no such notebook: {', '.join(missing)}")
    if not paths:
        raise SystemExit("student: no notebooks to copy (notebooks/*.ipynb is empty)")
    out_notebooks = args.out / "notebooks"
    check_targets(paths, out_notebooks)
    # Start from an empty folder so that a lesson removed from the course leaves no stale copy.
    if out_notebooks.is_dir():
        for stale in out_notebooks.glob("*.ipynb"):
            stale.unlink()
    write_student_notebooks(paths, out_notebooks)
    write_site(args.out)
    print(f"Student project written to {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
