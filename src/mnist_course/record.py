"""A lesson's conclusions recorded as data: the chosen settings it prints, for `tools/verdicts.py`.

`chosen(name, value)` prints a chosen setting for the reader and, when the environment variable
MNIST_COURSE_RECORD names a file, appends it there as one JSON line. `tools/execute.py` and
`tools/verdicts.py` set that variable, so a rerun's choices are compared as data, never by the words of
a printed line.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pandas as pd

RECORD_ENV = "MNIST_COURSE_RECORD"


def _cell() -> int | None:
    """The execution count of the running notebook cell (equal to its code-cell number on a full run)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return None if shell is None else int(shell.execution_count)


def jsonable(value: Any) -> Any:
    """`value` as plain JSON data: Series and DataFrames as nested dicts, NumPy scalars as numbers."""
    if isinstance(value, pd.DataFrame):
        return {str(k): jsonable(v) for k, v in value.to_dict(orient="index").items()}
    if isinstance(value, pd.Series):
        return {str(k): jsonable(v) for k, v in value.to_dict().items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # NumPy and torch scalars
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def record(kind: str, **fields: Any) -> None:
    """Append {"kind": kind, "cell": ..., **fields} to the file named by MNIST_COURSE_RECORD, if set."""
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    entry = {"kind": kind, "cell": _cell(), **{k: jsonable(v) for k, v in fields.items()}}
    with open(path, "a", encoding="utf-8") as file:
        file.write(json.dumps(entry, sort_keys=True) + "\n")


def chosen(name: str, value: Any) -> None:
    """Print `name: value` (a Series or DataFrame on the lines below) and record the choice as data.

    `name` says what was chosen ("peak learning rate"), `value` what: a number, a string, a list, a
    dict, or a pandas Series / DataFrame (one choice per entry).
    """
    if isinstance(value, (pd.Series, pd.DataFrame)):
        print(f"{name}:\n{value.to_string()}")
    elif isinstance(value, (list, tuple)):
        print(f"{name}: {', '.join(map(str, value)) or 'none'}")
    else:
        print(f"{name}: {value}")
    record("choice", name=name, value=value)
