"""Do a lesson's conclusions survive a rerun? Re-run lessons and compare every verdict and chosen setting.

    python tools/verdicts.py [--threads N] [NOTEBOOK ...]          (default: every lesson, see tools/lessons.py)
    python tools/verdicts.py --fresh-seeds [OFFSET] [NOTEBOOK ...] (rerun with every seed shifted, default 1000)
    python tools/verdicts.py --from-executed RUN.ipynb [NOTEBOOK]  (compare a run made elsewhere, no execution)

A lesson's conclusions must not depend on the machine: with another torch thread count (or another
device) floating-point sums run in another order and the numbers move slightly. This tool copies each
notebook to a scratch folder (`_verdicts/` at the repository root, so the lesson still finds
`benchmarks/` through the parents of its working directory), runs the copy top to bottom on a fresh
`python3` kernel with OMP_NUM_THREADS and MKL_NUM_THREADS set to `--threads` (default 1), checks
that the rerun's "Made with: ..." line shows that thread count, and compares the rerun's record with
the committed run's.

The records are data, written where each conclusion is made (src/mnist_course/record.py): with the
environment variable MNIST_COURSE_RECORD naming a file, the kernel appends one JSON line for

  - every verdict: each row of each verdict column (`verdict`, or a name ending with `verdict`, such
    as `shared: verdict`) of each DataFrame or Styler the lesson displays, recorded by a display
    formatter that `import mnist_course` registers (it adds nothing to the outputs):
    `{"kind": "verdict", "cell", "table", "row", "column", "value"}`;
  - every chosen setting the lesson prints with `mc.chosen(name, value)`:
    `{"kind": "choice", "cell", "name", "value"}`.

`make execute` (tools/execute.py) writes the committed run's record of each lesson to
benchmarks/records/<lesson>.jsonl, committed with the notebook; this tool writes the rerun's to
`_verdicts/<lesson>.jsonl`, next to the executed copy. Nothing is read from the HTML of a table or the
words of a printed line: rewording a print changes nothing here, and a table or a choice that is no
longer recorded shows up as "only committed".

For each notebook it prints Markdown tables (comparison, committed, rerun, same/flipped), a summary
line ("N verdicts: S same, F flipped; M choices: ...") and both runs' "Made with" lines; `--markdown
FILE` also appends them to FILE (e.g. to paste into benchmarks/README.md). The committed notebook and
its record are only read; the executed copy and its record stay in the scratch folder (reuse them
with --from-executed, which reads RUN.jsonl next to RUN.ipynb).

A comparison is named by its code cell (its execution count: counted from 1, code cells only, on a
full run), the table's number in that cell when the cell shows more than one, the row label (index
levels joined with " / ") and the column (levels joined with " / "); a choice by its cell and name.
Flips are information: the exit status is 0 whenever the comparison ran, 1 when a notebook fails to
execute (the failing cell is named) or the rerun's thread count is not the one asked for, 2 when a
notebook or the committed record is not found.
Environment variables pass through to the kernel (MNIST_COURSE_QUICK=1 for a quick run, MNIST_DATA_DIR).

Fresh seeds. A thread-count rerun keeps every seed, so it re-adds the same numbers in another order: it
checks that a conclusion does not hang on rounding, not that it is more than the luck of the seeds.
`--fresh-seeds OFFSET` (default 1000) runs the copy with MNIST_COURSE_SEED_OFFSET=OFFSET, which shifts
every seed a lesson draws through `mc.seed` / `mc.seeds` (src/mnist_course/seeds.py): other initial
weights, batch orders and dropout masks, so every verdict is measured again on new seeds. It keeps the
committed run's thread count unless --threads is given, so that only the seeds change. Setting
MNIST_COURSE_SEED_OFFSET in the environment does the same (with `make verdicts`, which passes --threads
$(THREADS), the thread count changes too).
A conclusion a lesson states in its main text must come out the same; benchmarks/README.md keeps the
tables ("fresh seeds").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import RECORD_ENV, RECORDS, made_with, record_path  # noqa: E402  (tools/execute.py)
from lessons import lesson_notebooks  # noqa: E402  (tools/lessons.py: which files are lessons)

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "_verdicts"
THREADS = re.compile(r"(\d+) CPU threads?")
SEED_OFFSET = "MNIST_COURSE_SEED_OFFSET"  # read by mnist_course.seeds


class VerdictKey(NamedTuple):
    """Where a verdict is: code cell (from 1), table in that cell (from 1), row label, column name."""

    cell: int | None
    table: int
    row: str
    column: str


class ChoiceKey(NamedTuple):
    """Where a chosen setting is made: code cell (from 1) and the name given to `mc.chosen`."""

    cell: int | None
    name: str


@dataclass
class Record:
    """A run's record (one lesson): its verdicts and chosen settings, keyed by where they were made."""

    verdicts: dict[VerdictKey, str] = field(default_factory=dict)
    choices: dict[ChoiceKey, Any] = field(default_factory=dict)
    tables: dict[int | None, int] = field(default_factory=dict)  # code cell -> highest table number
    notes: list[str] = field(default_factory=list)  # lines that are not a verdict or a choice


class Row(NamedTuple):
    """One line of a comparison table: what is compared, both values, and `same`/`flipped`/... ."""

    what: str
    committed: str | None
    rerun: str | None
    status: str


def _unique(key: Any, found: dict, name: str) -> Any:
    """`key`, or with " #2", " #3", ... after its field `name` when `found` has it already."""
    copy, new = 2, key
    while new in found:
        new = key._replace(**{name: f"{getattr(key, name)} #{copy}"})
        copy += 1
    return new


def parse_record(lines: list[str], where: str = "record") -> Record:
    """The verdicts and choices of a record's JSON lines (see the module's docstring), in file order."""
    out = Record()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            out.notes.append(f"{where}, line {number}: not JSON ({err.msg})")
            continue
        kind, cell = entry.get("kind"), entry.get("cell")
        if kind == "verdict":
            key = VerdictKey(cell, int(entry["table"]), str(entry["row"]), str(entry["column"]))
            key = _unique(key, out.verdicts, "row")  # the same place twice (a cell run twice)
            out.verdicts[key] = str(entry.get("value") or "")
            out.tables[cell] = max(out.tables.get(cell, 0), key.table)
        elif kind == "choice":
            out.choices[_unique(ChoiceKey(cell, str(entry["name"])), out.choices, "name")] = (
                entry.get("value")
            )
        else:
            out.notes.append(f"{where}, line {number}: unknown kind {kind!r}")
    return out


def read_record(path: Path) -> Record:
    """The record written to `path` by a run with MNIST_COURSE_RECORD=`path`."""
    return parse_record(path.read_text(encoding="utf-8").splitlines(), path.name)


def show(value: Any) -> str:
    """A recorded value as one line: a list as `mc.chosen` prints it, a dict as Python does."""
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return " ".join(str(value).split())


def _where(key: VerdictKey | ChoiceKey, tables: dict) -> str:
    cell = "?" if key.cell is None else key.cell
    if isinstance(key, ChoiceKey):
        return f"cell {cell}: {key.name}"
    table = f" (table {key.table})" if max(tables.get(key.cell, 1), key.table) > 1 else ""
    return f"cell {cell}{table}: {key.row} · {key.column}"


def compare(
    committed: dict, rerun: dict, tables: dict | None = None, differ: str = "flipped"
) -> list[Row]:
    """Rows comparing two {key: value} dicts (from `read_record`): `same`, `differ` (default "flipped"),
    `only committed`, `only rerun`. Committed order first, then keys only the rerun has; entries that
    are empty in both runs (a reference row's verdict) are left out. Values are compared as data."""
    rows = []
    for key in [*committed, *(k for k in rerun if k not in committed)]:
        a, b = committed.get(key), rerun.get(key)
        if all(v is None or v == "" for v in (a, b)):
            continue
        status = (
            "only rerun"
            if key not in committed
            else "only committed"
            if key not in rerun
            else "same"
            if a == b
            else differ
        )
        rows.append(
            Row(
                _where(key, tables or {}),
                None if key not in committed else show(a),
                None if key not in rerun else show(b),
                status,
            )
        )
    return rows


def _cell(text: str | None) -> str:
    if text is None:
        return "–"
    return (text or "(empty)").replace("|", "\\|")


def markdown_table(
    rows: list[Row], what: str, committed: str = "committed", rerun: str = "rerun"
) -> str:
    """`rows` as a Markdown table; statuses other than `same` in bold."""
    lines = [f"| {what} | {committed} | {rerun} | |", "|---|---|---|---|"]
    for row in rows:
        status = row.status if row.status == "same" else f"**{row.status}**"
        lines.append(
            f"| {_cell(row.what)} | {_cell(row.committed)} | {_cell(row.rerun)} | {status} |"
        )
    return "\n".join(lines)


def summary(verdicts: list[Row], choices: list[Row]) -> str:
    """ "N verdicts: S same, F flipped; M choices: S same, C changed" (and what only one run has)."""

    def count(rows: list[Row], differ: str) -> str:
        same = sum(r.status == "same" for r in rows)
        text = f"{same} same, {sum(r.status == differ for r in rows)} {differ}"
        for status in ("only committed", "only rerun"):
            n = sum(r.status == status for r in rows)
            text += f", {n} {status}" if n else ""
        return text

    return (
        f"{len(verdicts)} verdicts: {count(verdicts, 'flipped')}; "
        f"{len(choices)} choices: {count(choices, 'changed')}"
    )


def report(
    name: str,
    committed: Record,
    rerun: Record,
    how: str,
    made_with_lines: tuple[str | None, str | None] = (None, None),
) -> str:
    """The Markdown report for one notebook: verdicts table, choices table, summary, "Made with" lines."""
    tables = {
        cell: max(committed.tables.get(cell, 0), rerun.tables.get(cell, 0))
        for cell in {**committed.tables, **rerun.tables}
    }
    verdicts = compare(committed.verdicts, rerun.verdicts, tables, "flipped")
    choices = compare(committed.choices, rerun.choices, tables, "changed")
    parts = [f"### {name}: committed run vs {how}", ""]
    parts += [
        markdown_table(verdicts, "verdict (cell: row · column)")
        if verdicts
        else "No verdicts found.",
        "",
    ]
    parts += [
        markdown_table(choices, "chosen setting (cell: name)")
        if choices
        else "No chosen settings found.",
        "",
    ]
    parts += [f"{name}: {summary(verdicts, choices)}", ""]
    parts += [
        f"- committed: {made_with_lines[0] or 'no Made with line'}",
        f"- rerun: {made_with_lines[1] or 'no Made with line'}",
    ]
    notes = list(dict.fromkeys(committed.notes + rerun.notes))
    if notes:
        parts += ["", "Not compared:", *[f"- {note}" for note in notes]]
    return "\n".join(parts) + "\n"


class ExecutionFailed(Exception):
    """A notebook did not run to its end; the message names the code cell."""


def run(
    path: Path,
    threads: int,
    scratch: Path = SCRATCH,
    timeout: int = 1800,
    source: nbformat.NotebookNode | None = None,
    seed_offset: int | None = None,
) -> nbformat.NotebookNode:
    """Execute a copy of `path` (or of `source`, its already-read content) in `scratch` on a fresh
    `python3` kernel with OMP_NUM_THREADS = MKL_NUM_THREADS = `threads` (and MNIST_COURSE_SEED_OFFSET =
    `seed_offset` when given), recording its verdicts and choices in `scratch/<stem>.jsonl`
    (MNIST_COURSE_RECORD); the executed copy is written to `scratch/<name>` and returned. Raises
    ExecutionFailed naming the failing code cell."""
    nb = nbformat.read(path, as_version=4) if source is None else nbformat.from_dict(source)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / path.name
    record = target.with_suffix(".jsonl")
    record.write_text("", encoding="utf-8")  # this run's record only
    code_number = {
        i: n for n, i in enumerate((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 1)
    }
    current: list[int] = []

    def started(cell: nbformat.NotebookNode, cell_index: int) -> None:
        current[:] = [cell_index]

    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        RECORD_ENV: str(record.resolve()),
    }
    if seed_offset is not None:
        env[SEED_OFFSET] = str(seed_offset)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        coalesce_streams=True,
        record_timing=False,
        resources={"metadata": {"path": str(scratch)}},
        on_cell_start=started,
    )
    try:
        client.execute(env=env)
    # CellExecutionError, CellTimeoutError, DeadKernelError, a kernel that cannot start
    except Exception as err:
        nbformat.write(nb, target)
        where = (
            f"code cell {code_number.get(current[0], '?')}" if current else "before the first cell"
        )
        first = next((line for line in str(err).strip().splitlines()[-1:]), type(err).__name__)
        raise ExecutionFailed(
            f"{path.name} failed in {where} ({type(err).__name__}): {first}; "
            f"the partly executed copy is {target}"
        ) from err
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)
    return nb


def rerun_threads(nb: nbformat.NotebookNode) -> int | None:
    """The thread count in the "Made with: ... N CPU threads ..." line of `nb`, if any."""
    line = made_with(nb)
    match = THREADS.search(line) if line else None
    return int(match.group(1)) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verdicts.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="lesson notebooks (default: every lesson)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="OMP/MKL threads of the rerun's kernel (default 1; with fresh seeds, the committed run's)",
    )
    parser.add_argument(
        "--fresh-seeds",
        type=int,
        nargs="?",
        const=1000,
        default=None,
        metavar="OFFSET",
        help="rerun with MNIST_COURSE_SEED_OFFSET=OFFSET (default 1000): every seed the lesson "
        "draws shifted, the thread count kept",
    )
    parser.add_argument(
        "--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)"
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        default=SCRATCH,
        help="where the copies run (default: _verdicts/ at the repository root; for a real "
        "lesson its parent must hold benchmarks/)",
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="FILE", help="also append the report to FILE"
    )
    parser.add_argument(
        "--from-executed",
        type=Path,
        metavar="PATH",
        help="compare the record of this already-executed notebook (PATH with .jsonl, written "
        "next to it by an earlier run) with the committed one instead of running (the "
        "committed one: the NOTEBOOK given, else notebooks/<name of PATH>)",
    )
    parser.add_argument(
        "--records",
        type=Path,
        default=RECORDS,
        help="folder of the committed runs' records, <lesson>.jsonl (default: benchmarks/records/, "
        "written by make execute)",
    )
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.fresh_seeds is None and os.environ.get(SEED_OFFSET, "").strip() not in ("", "0"):
        try:
            args.fresh_seeds = int(os.environ[SEED_OFFSET])
        except ValueError:
            parser.error(f"{SEED_OFFSET}={os.environ[SEED_OFFSET]!r} is not a whole number")
    if args.fresh_seeds is not None and args.fresh_seeds < 1:
        parser.error(
            "--fresh-seeds needs an offset of at least 1 (0 would rerun the committed seeds)"
        )

    if args.from_executed:
        if len(args.notebooks) > 1:
            parser.error("--from-executed compares one notebook: give at most one NOTEBOOK")
        paths = args.notebooks or [ROOT / "notebooks" / args.from_executed.name]
    else:
        paths = args.notebooks or lesson_notebooks(ROOT / "notebooks")
    missing = [
        str(p)
        for p in [*paths, *([args.from_executed] if args.from_executed else [])]
        if not p.is_file()
    ]
    if missing:
        print(f"verdicts: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not paths:
        print("verdicts: no lessons found in notebooks/", file=sys.stderr)
        return 2
    wanted = [record_path(p, args.records) for p in paths]
    if args.from_executed:
        wanted.append(args.from_executed.with_suffix(".jsonl"))
    missing = [str(p) for p in wanted if not p.is_file()]
    if missing:
        print(
            f"verdicts: no record: {', '.join(missing)} (`make execute` writes the committed run's)",
            file=sys.stderr,
        )
        return 2

    failures = []
    for path in paths:
        committed = nbformat.read(path, as_version=4)
        if args.from_executed:
            rerun, how = (
                nbformat.read(args.from_executed, as_version=4),
                f"`{args.from_executed.as_posix()}`",
            )
            rerun_record = args.from_executed.with_suffix(".jsonl")
        else:
            threads = args.threads or ((rerun_threads(committed) or 1) if args.fresh_seeds else 1)
            seeds = f", seeds shifted by {args.fresh_seeds}" if args.fresh_seeds else ""
            print(
                f"{path.name}: running a copy at {threads} CPU thread(s){seeds} in {args.scratch} ...",
                file=sys.stderr,
                flush=True,
            )
            start = time.perf_counter()
            try:
                rerun = run(
                    path,
                    threads,
                    args.scratch,
                    args.timeout,
                    source=committed,
                    seed_offset=args.fresh_seeds,
                )
            except ExecutionFailed as err:
                print(f"verdicts: {err}", file=sys.stderr, flush=True)
                failures.append(str(err))
                continue
            print(
                f"{path.name}: ran in {time.perf_counter() - start:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            rerun_record = (args.scratch / path.name).with_suffix(".jsonl")
            plural = "s" if threads > 1 else ""
            how = f"a rerun at {threads} CPU thread{plural}"
            if args.fresh_seeds:
                how = f"a rerun with fresh seeds (every seed + {args.fresh_seeds}) at {threads} CPU thread{plural}"
            got = rerun_threads(rerun)
            if got is None:
                print(
                    f"verdicts: warning: {path.name} prints no 'Made with: ... N CPU threads' line: its thread "
                    "count is unchecked",
                    file=sys.stderr,
                    flush=True,
                )
            elif got != threads:
                failures.append(
                    f"{path.name}: the rerun's Made with line shows {got} CPU threads, not "
                    f"{threads}: its verdicts are not those of a {threads}-thread run"
                )
        text = report(
            path.name,
            read_record(record_path(path, args.records)),
            read_record(rerun_record),
            how,
            (made_with(committed), made_with(rerun)),
        )
        print(text, flush=True)
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as f:
                f.write(text + "\n")
    for failure in failures:
        print(f"verdicts: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
