"""The one rule for which files are lessons, used by the Makefile and every tool.

    python tools/lessons.py [FOLDER]     prints the lessons' paths, one per line (default: notebooks/)

A lesson is a notebook directly in notebooks/. Not lessons: Quarto's rendered copies (`*.out.ipynb`,
left next to the notebooks while it renders), Jupyter's checkpoints (`*-checkpoint.ipynb`, in
`.ipynb_checkpoints/`), hidden or underscore files (`.~x.ipynb`, `_scratch.ipynb`), and anything in a
subfolder, such as the student copies in `_student/`. Standard library only, so that it runs before
the package's environment exists.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_LESSONS = (".out.ipynb", "-checkpoint.ipynb")


def is_lesson(path: Path) -> bool:
    """True for a lesson's file name (see the module's docstring); the folder is not checked."""
    name = path.name
    return name.endswith(".ipynb") and not name.endswith(NOT_LESSONS) and not name.startswith((".", "_"))


def lesson_notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The lessons in `folder`, sorted by name (01_..., 02_..., ...)."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if p.is_file() and is_lesson(p))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    folder = Path(args[0]) if args else Path("notebooks")
    if not folder.is_dir():
        print(f"lessons: no such folder: {folder}", file=sys.stderr)
        return 1
    for path in lesson_notebooks(folder):
        print(path.as_posix())
    return 0


if __name__ == "__main__":
    sys.exit(main())
