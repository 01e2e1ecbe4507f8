"""A lesson's conclusions recorded as data: its chosen settings and its verdicts, for `tools/verdicts.py`.

When the environment variable MNIST_COURSE_RECORD names a file, each of them is appended there as one
JSON line, keyed by the code cell that made it (its execution count: 1..n on a full run):

- `chosen(name, value)` prints a chosen setting for the reader and records
  `{"kind": "choice", "cell", "name", "value"}`;
- every DataFrame (or Styler) a notebook displays with a verdict column (`verdict`, or a name ending
  with it) is recorded where it is displayed, one `{"kind": "verdict", "cell", "table", "row",
  "column", "value"}` line per row and verdict column, by an IPython display formatter that
  `import mnist_course` registers in a kernel (`install_recorder`); it returns nothing, so the
  notebook's outputs are the same with or without it.

`tools/execute.py` sets the variable (the committed run's records: benchmarks/records/<lesson>.jsonl) and
`tools/verdicts.py` sets it for its rerun, so that a rerun is compared as data, never by the words of a
printed line or the HTML of a table. Without the variable nothing is written.
"""

from __future__ import annotations

import json
import os
import sys
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
    if shell is None:
        return None
    # The running cell's own result: IPython 9 counts the cell up before it runs, IPython 8 after.
    result = getattr(getattr(shell, "displayhook", None), "exec_result", None)
    count = getattr(result, "execution_count", None)
    return int(count if count is not None else shell.execution_count)


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


# ---- verdicts: every table a lesson displays with a verdict column, recorded where it is displayed ----

#: The MIME type of the recorder's formatter. It never returns data, so no output carries this type.
RECORD_FORMAT = "application/vnd.mnist-course.record"


def is_verdict_column(name: str) -> bool:
    """True for `verdict` and names ending with it (`shared: verdict`, `tuned / verdict`), any case."""
    return name.strip().lower().endswith("verdict")


def _label(value: Any) -> str:
    """An index or column label as text; the levels of a tuple joined with " / ", repeats and blanks dropped."""
    if isinstance(value, tuple):
        return " / ".join(dict.fromkeys(s for s in (_label(v) for v in value) if s))
    return str(value).strip()


def _text(value: Any) -> str:
    """A table cell as text: "" for a missing value (None, NaN), else str(value)."""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):  # a list or array in a cell
        pass
    return str(value)


def verdict_rows(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(row label, column, verdict) for each row of `table` and each of its verdict columns, in order.

    Row labels join a MultiIndex's levels with " / " (`SGD / BN − plain`), column names the levels of
    MultiIndex columns (`shared / verdict`). Two rows with the same label get " #2", " #3", ... .
    """
    columns = [(j, _label(c)) for j, c in enumerate(table.columns)]
    wanted = [(j, name) for j, name in columns if is_verdict_column(name)]
    rows, seen = [], {}
    for i, label in enumerate(table.index):
        label = _label(label)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} #{seen[label]}"
        rows += [(label, name, _text(table.iat[i, j])) for j, name in wanted]
    return rows


class _Tables:
    """The number of tables (DataFrames, Stylers) displayed so far in each cell."""

    def __init__(self) -> None:
        self.shown: dict[Any, int] = {}

    def __call__(self, obj: Any) -> None:
        # a Styler's DataFrame
        table = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "data", None)
        if not isinstance(table, pd.DataFrame):
            return None
        cell = _cell()
        self.shown[cell] = number = self.shown.get(cell, 0) + 1
        if os.environ.get(RECORD_ENV):
            for row, column, value in verdict_rows(table):
                record("verdict", table=number, row=row, column=column, value=value)
        return None  # no data: the output bundle stays as it is


def install_recorder(shell: Any = None) -> bool:
    """Register the verdict recorder with IPython's display formatter (once per kernel).

    Each DataFrame or Styler the kernel displays then appends one `{"kind": "verdict", "cell",
    "table", "row", "column", "value"}` line per row and verdict column to the MNIST_COURSE_RECORD
    file (when the variable is set); `table` counts the tables displayed in that cell, from 1. The
    formatter returns nothing, so every output stays byte for byte as it was. Returns whether a
    recorder is registered (False outside IPython). `import mnist_course` calls it.
    """
    if shell is None:
        if "IPython" not in sys.modules:  # not in a notebook or IPython: nothing displays tables
            return False
        from IPython import get_ipython

        shell = get_ipython()
    formatter = getattr(shell, "display_formatter", None)
    if formatter is None:
        return False
    if RECORD_FORMAT in formatter.formatters:
        return True
    from IPython.core.formatters import BaseFormatter

    class RecordFormatter(BaseFormatter):
        format_type = RECORD_FORMAT
        print_method = "_repr_mnist_course_record_"  # no object has it: only the registered types

    recorder = RecordFormatter(parent=formatter)
    tables = _Tables()
    recorder.for_type(pd.DataFrame, tables)
    try:
        from pandas.io.formats.style import Styler  # needs jinja2
    except ImportError:
        pass
    else:
        recorder.for_type(Styler, tables)
    formatter.formatters[RECORD_FORMAT] = recorder
    return True
