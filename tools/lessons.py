"""The one rule for which files are lessons, used by the Makefile and every tool.

    python tools/lessons.py [FOLDER]     prints the lessons' paths, one per line (default: notebooks/)

A lesson is a notebook directly in notebooks/. Not lessons: Quarto's rendered copies (`*.out.ipynb`,
left next to the notebooks while it renders), Jupyter's checkpoints (`*-checkpoint.ipynb`, in
`.ipynb_checkpoints/`), hidden or underscore files (`.~x.ipynb`, `_scratch.ipynb`), and anything in a
subfolder, such as the student copies in `_student/`. Standard library only, so that it runs before
the package's environment exists (except `lesson_factory`, which reads a definition out of a lesson).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOT_LESSONS = (".out.ipynb", "-checkpoint.ipynb")


def is_lesson(path: Path) -> bool:
    """True for a lesson's file name (see the module's docstring); the folder is not checked."""
    name = path.name
    return (
        name.endswith(".ipynb")
        and not name.endswith(NOT_LESSONS)
        and not name.startswith((".", "_"))
    )


def lesson_notebooks(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The lessons in `folder`, sorted by name (01_..., 02_..., ...)."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if p.is_file() and is_lesson(p))


def lesson_factory(notebook: str | Path, name: str) -> Any:
    """The function or class `name` (e.g. make_budget_cnn) exactly as the lesson `notebook` (a path, or
    a file name in notebooks/) defines it: the function and class definitions of the code cell that
    defines it, run with the lesson's imports (`nn`, `F`, `torch`, `mc`, `np`, `pd`, `math`,
    `OrderedDict`, `partial`). Needs torch and the package, unlike the rest of this module; the tests
    and tools/images.py use it, so that what a lesson teaches is never typed in twice."""
    import ast
    import json
    import math
    from collections import OrderedDict
    from functools import partial

    import numpy as np
    import pandas as pd
    import torch
    import torch.nn.functional as F
    from torch import nn

    import mnist_course as mc

    path = Path(notebook) if Path(notebook).is_file() else ROOT / "notebooks" / notebook
    cells = [
        c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"
    ]
    source = next(
        (
            "".join(c["source"])
            for c in cells
            if f"def {name}(" in "".join(c["source"]) or f"class {name}(" in "".join(c["source"])
        ),
        None,
    )
    if source is None:
        raise LookupError(f"{path.name} has no cell defining {name}")
    definitions = ast.Module(
        [n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))], []
    )
    namespace = {
        "OrderedDict": OrderedDict,
        "partial": partial,
        "math": math,
        "np": np,
        "pd": pd,
        "torch": torch,
        "nn": nn,
        "F": F,
        "mc": mc,
    }
    exec(compile(definitions, f"{path.name}: {name}", "exec"), namespace)
    return namespace[name]


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
