"""Do a lesson's conclusions survive a rerun? Re-run lessons and compare every verdict and chosen setting.

    python tools/verdicts.py [--threads N] [NOTEBOOK ...]          (default: every lesson, see tools/lessons.py)
    python tools/verdicts.py --fresh-seeds [OFFSET] [NOTEBOOK ...] (rerun with every seed shifted, default 1000)
    python tools/verdicts.py --from-executed RUN.ipynb [NOTEBOOK]  (compare a run made elsewhere, no execution)

A lesson's conclusions must not depend on the machine: with another torch thread count (or another
device) floating-point sums run in another order and the numbers move slightly. This tool copies each
notebook to a scratch folder (`_verdicts/` at the repository root, so the lesson still finds
`benchmarks/` through the parents of its working directory), runs the copy top to bottom on a fresh
`python3` kernel with OMP_NUM_THREADS and MKL_NUM_THREADS set to `--threads` (default 1), checks
that the rerun's "Made with: ..." line shows that thread count, and compares, with the notebook's own
stored outputs (the committed run):

  - every verdict: each column named `verdict`, or ending with `verdict` (`shared: verdict`), of each
    DataFrame output (its text/html table), row by row: "higher", "lower", "no detectable difference";
  - every chosen setting: each printed line that starts with "chosen", "final recipe" or "variants
    detectably better" (any case); a line ending with ":" takes the lines under it, up to a blank line.

For each notebook it prints Markdown tables (comparison, committed, rerun, same/flipped), a summary
line ("N verdicts: S same, F flipped; M choices: ...") and both runs' "Made with" lines; `--markdown
FILE` also appends them to FILE (e.g. to paste into benchmarks/README.md). The committed notebook is
only read; the executed copy stays in the scratch folder (reuse it with --from-executed).

A comparison is named by its code cell (counted from 1, code cells only), the table's number in that
cell when the cell shows more than one, the row label and the column. Flips are information: the exit
status is 0 whenever the comparison ran, 1 when a notebook fails to execute (the failing cell is named)
or the rerun's thread count is not the one asked for, 2 when a notebook is not found.
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
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import nbformat
from bs4 import BeautifulSoup
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import made_with  # noqa: E402  (tools/execute.py: the "Made with" line of the last cell)
from lessons import lesson_notebooks  # noqa: E402  (tools/lessons.py: which files are lessons)

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "_verdicts"
CHOICE = re.compile(r"(chosen|final recipe|variants detectably better)", re.IGNORECASE)
THREADS = re.compile(r"(\d+) CPU threads?")
SEED_OFFSET = "MNIST_COURSE_SEED_OFFSET"  # read by mnist_course.seeds


class VerdictKey(NamedTuple):
    """Where a verdict is: code cell (from 1), table in that cell (from 1), row label, column name."""

    cell: int
    table: int
    row: str
    column: str


class ChoiceKey(NamedTuple):
    """Where a chosen setting is printed: code cell (from 1) and the text before the line's first ':'."""

    cell: int
    name: str


@dataclass
class Extracted:
    """What `extract` finds in one notebook."""

    verdicts: dict[VerdictKey, str] = field(default_factory=dict)
    choices: dict[ChoiceKey, str] = field(default_factory=dict)
    tables: dict[int, int] = field(default_factory=dict)  # code cell -> number of tables it shows
    notes: list[str] = field(default_factory=list)  # outputs that mention verdicts but could not be read


class Row(NamedTuple):
    """One line of a comparison table: what is compared, both values, and `same`/`flipped`/... ."""

    what: str
    committed: str | None
    rerun: str | None
    status: str


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _grid(rows: list) -> list[list[tuple[str, str]]]:
    """The cells (tag name, text) of HTML table rows, with rowspan and colspan expanded."""
    grid, pending = [], {}  # pending: column -> [rows left, cell] of a rowspan from above
    for tr in rows:
        line: list[tuple[str, str]] = []
        tags = iter(tr.find_all(["th", "td"], recursive=False))
        while True:
            col = len(line)
            if col in pending:
                left, cell = pending[col]
                line.append(cell)
                if left == 1:
                    del pending[col]
                else:
                    pending[col] = [left - 1, cell]
                continue
            tag = next(tags, None)
            if tag is None:
                break
            cell = (tag.name, _normalise(tag.get_text(" ")))
            rowspan, colspan = int(tag.get("rowspan", 1) or 1), int(tag.get("colspan", 1) or 1)
            for _ in range(colspan):
                if rowspan > 1:
                    pending[len(line)] = [rowspan - 1, cell]
                line.append(cell)
        grid.append(line)
    return grid


def html_tables(html: str) -> list[tuple[list[str], list[tuple[str, list[str]]]]]:
    """Each `<table>` of a DataFrame's (or Styler's) HTML as (column names, [(row label, values)]).

    Row labels join the index levels with " / " (`SGD / BN − plain`), column names the header levels
    (`shared / verdict` for MultiIndex columns); an index-names header row is skipped, as are the `...`
    rows of a truncated DataFrame. A table without an index gets the labels `row 1`, `row 2`, ....
    """
    tables = []
    for table in BeautifulSoup(html, "html.parser").find_all("table"):
        trs = table.find_all("tr")
        thead = table.find("thead")
        head = thead.find_all("tr") if thead else [tr for tr in trs if not tr.find("td")]
        in_head = {id(tr) for tr in head}
        body = [tr for tr in trs if id(tr) not in in_head]
        head_grid, body_grid = _grid(head), _grid(body)
        leading = [next((i for i, (tag, _) in enumerate(line) if tag != "th"), len(line)) for line in body_grid]
        n_index = min(leading, default=0)
        width = max(map(len, head_grid + body_grid), default=0)
        columns = []
        for j in range(n_index, width):
            levels = [line[j][1] for line in head_grid if j < len(line) and line[j][1]]
            columns.append(" / ".join(dict.fromkeys(levels)) or f"column {j + 1}")
        rows = []
        for number, line in enumerate(body_grid, 1):
            values = [text for _, text in line[n_index:]]
            if values and all(v in ("...", "…") for v in values):
                continue
            label = " / ".join(text for _, text in line[:n_index] if text) or f"row {number}"
            rows.append((label, values + [""] * (len(columns) - len(values))))
        tables.append((columns, rows))
    return tables


def is_verdict_column(name: str) -> bool:
    """True for `verdict` and names ending with it (`shared: verdict`, `tuned / verdict`), any case."""
    return name.strip().lower().endswith("verdict")


def _stdout(cell: nbformat.NotebookNode) -> list[str]:
    text = "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name", "stdout") == "stdout")
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n")]  # a progress line: its last state


def choice_lines(lines: list[str]) -> list[tuple[str, str]]:
    """The (name, value) of each chosen-setting line among printed `lines` (see the module's docstring).

    The name is the text before the first ':', the value the rest; a line that ends with ':' also
    takes the non-empty lines under it, up to a blank line (or the next chosen-setting line), joined
    with "; ". Whitespace is normalised.
    """
    found, i = [], 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if not CHOICE.match(line):
            continue
        name, _, rest = line.partition(":")
        parts = [_normalise(rest)] if rest.strip() else []
        if line.endswith(":"):
            while i < len(lines) and lines[i].strip() and not CHOICE.match(lines[i].strip()):
                parts.append(_normalise(lines[i]))
                i += 1
        found.append((_normalise(name), "; ".join(parts)))
    return found


def extract(nb: nbformat.NotebookNode) -> Extracted:
    """Every verdict and every chosen setting in the stored outputs of `nb` (see the module's docstring)."""
    out = Extracted()
    code = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code, 1):
        table_number = 0
        for output in cell.get("outputs", []):
            data = output.get("data", {}) if output.get("output_type") in ("execute_result", "display_data") else {}
            html, plain = data.get("text/html", ""), data.get("text/plain", "")
            html = "".join(html) if isinstance(html, list) else html
            plain = "".join(plain) if isinstance(plain, list) else plain
            if "<table" not in html:
                if "verdict" in plain.lower():
                    out.notes.append(f"cell {number}: an output mentions 'verdict' but has no HTML table "
                                     "(not compared)")
                continue
            for columns, rows in html_tables(html):
                table_number += 1
                wanted = [j for j, name in enumerate(columns) if is_verdict_column(name)]
                if not wanted and "verdict" in (plain + html).lower():
                    out.notes.append(f"cell {number}, table {table_number}: mentions 'verdict' but no column "
                                     f"named so was found (columns: {', '.join(columns)})")
                for label, values in rows:
                    for j in wanted:
                        key = VerdictKey(number, table_number, label, columns[j])
                        copy = 2
                        while key in out.verdicts:  # two rows with the same label
                            key = VerdictKey(number, table_number, f"{label} #{copy}", columns[j])
                            copy += 1
                        out.verdicts[key] = values[j]
        if table_number:
            out.tables[number] = table_number
        for name, value in choice_lines(_stdout(cell)):
            key, copy = ChoiceKey(number, name), 2
            while key in out.choices:
                key, copy = ChoiceKey(number, f"{name} #{copy}"), copy + 1
            out.choices[key] = value
    return out


def _where(key: VerdictKey | ChoiceKey, tables: dict[int, int]) -> str:
    if isinstance(key, ChoiceKey):
        return f"cell {key.cell}: {key.name}"
    table = f" (table {key.table})" if max(tables.get(key.cell, 1), key.table) > 1 else ""
    return f"cell {key.cell}{table}: {key.row} · {key.column}"


def compare(committed: dict, rerun: dict, tables: dict[int, int] | None = None,
            differ: str = "flipped") -> list[Row]:
    """Rows comparing two {key: value} dicts (from `extract`): `same`, `differ` (default "flipped"),
    `only committed`, `only rerun`. Committed order first, then keys only the rerun has; verdict
    cells that are empty in both runs (a reference row) are left out."""
    rows = []
    for key in [*committed, *(k for k in rerun if k not in committed)]:
        a, b = committed.get(key), rerun.get(key)
        if not a and not b:
            continue
        status = ("only rerun" if a is None else "only committed" if b is None else "same" if a == b else differ)
        rows.append(Row(_where(key, tables or {}), a, b, status))
    return rows


def _cell(text: str | None) -> str:
    if text is None:
        return "–"
    return (text or "(empty)").replace("|", "\\|")


def markdown_table(rows: list[Row], what: str, committed: str = "committed", rerun: str = "rerun") -> str:
    """`rows` as a Markdown table; statuses other than `same` in bold."""
    lines = [f"| {what} | {committed} | {rerun} | |", "|---|---|---|---|"]
    for row in rows:
        status = row.status if row.status == "same" else f"**{row.status}**"
        lines.append(f"| {_cell(row.what)} | {_cell(row.committed)} | {_cell(row.rerun)} | {status} |")
    return "\n".join(lines)


def summary(verdicts: list[Row], choices: list[Row]) -> str:
    """"N verdicts: S same, F flipped; M choices: S same, C changed" (and what only one run has)."""
    def count(rows: list[Row], differ: str) -> str:
        same = sum(r.status == "same" for r in rows)
        text = f"{same} same, {sum(r.status == differ for r in rows)} {differ}"
        for status in ("only committed", "only rerun"):
            n = sum(r.status == status for r in rows)
            text += f", {n} {status}" if n else ""
        return text
    return (f"{len(verdicts)} verdicts: {count(verdicts, 'flipped')}; "
            f"{len(choices)} choices: {count(choices, 'changed')}")


def report(name: str, committed: nbformat.NotebookNode, rerun: nbformat.NotebookNode, how: str) -> str:
    """The Markdown report for one notebook: verdicts table, choices table, summary, "Made with" lines."""
    old, new = extract(committed), extract(rerun)
    tables = {cell: max(old.tables.get(cell, 0), new.tables.get(cell, 0)) for cell in {**old.tables, **new.tables}}
    verdicts = compare(old.verdicts, new.verdicts, tables, "flipped")
    choices = compare(old.choices, new.choices, tables, "changed")
    parts = [f"### {name}: committed run vs {how}", ""]
    parts += [markdown_table(verdicts, "verdict (cell: row · column)") if verdicts else "No verdicts found.", ""]
    parts += [markdown_table(choices, "chosen setting (cell: line)") if choices else "No chosen settings found.", ""]
    parts += [f"{name}: {summary(verdicts, choices)}", ""]
    parts += [f"- committed: {made_with(committed) or 'no Made with line'}",
              f"- rerun: {made_with(rerun) or 'no Made with line'}"]
    notes = list(dict.fromkeys(old.notes + new.notes))
    if notes:
        parts += ["", "Not compared:", *[f"- {note}" for note in notes]]
    return "\n".join(parts) + "\n"


class ExecutionFailed(Exception):
    """A notebook did not run to its end; the message names the code cell."""


def run(path: Path, threads: int, scratch: Path = SCRATCH, timeout: int = 1800,
        source: nbformat.NotebookNode | None = None, seed_offset: int | None = None) -> nbformat.NotebookNode:
    """Execute a copy of `path` (or of `source`, its already-read content) in `scratch` on a fresh
    `python3` kernel with OMP_NUM_THREADS = MKL_NUM_THREADS = `threads` (and MNIST_COURSE_SEED_OFFSET =
    `seed_offset` when given); the executed copy is written to `scratch/<name>` and returned. Raises
    ExecutionFailed naming the failing code cell."""
    nb = nbformat.read(path, as_version=4) if source is None else nbformat.from_dict(source)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / path.name
    code_number = {i: n for n, i in enumerate((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), 1)}
    current: list[int] = []

    def started(cell: nbformat.NotebookNode, cell_index: int) -> None:
        current[:] = [cell_index]

    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    if seed_offset is not None:
        env[SEED_OFFSET] = str(seed_offset)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", coalesce_streams=True, record_timing=False,
                            resources={"metadata": {"path": str(scratch)}}, on_cell_start=started)
    try:
        client.execute(env=env)
    except Exception as err:  # CellExecutionError, CellTimeoutError, DeadKernelError, a kernel that cannot start
        nbformat.write(nb, target)
        where = f"code cell {code_number.get(current[0], '?')}" if current else "before the first cell"
        first = next((line for line in str(err).strip().splitlines()[-1:]), type(err).__name__)
        raise ExecutionFailed(f"{path.name} failed in {where} ({type(err).__name__}): {first}; "
                              f"the partly executed copy is {target}") from err
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, target)
    return nb


def rerun_threads(nb: nbformat.NotebookNode) -> int | None:
    """The thread count in the "Made with: ... N CPU threads ..." line of `nb`, if any."""
    line = made_with(nb)
    match = THREADS.search(line) if line else None
    return int(match.group(1)) if match else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="verdicts.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="lesson notebooks (default: every lesson)")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP/MKL threads of the rerun's kernel (default 1; with fresh seeds, the committed run's)")
    parser.add_argument("--fresh-seeds", type=int, nargs="?", const=1000, default=None, metavar="OFFSET",
                        help="rerun with MNIST_COURSE_SEED_OFFSET=OFFSET (default 1000): every seed the lesson "
                             "draws shifted, the thread count kept")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    parser.add_argument("--scratch", type=Path, default=SCRATCH,
                        help="where the copies run (default: _verdicts/ at the repository root; for a real "
                             "lesson its parent must hold benchmarks/)")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also append the report to FILE")
    parser.add_argument("--from-executed", type=Path, metavar="PATH",
                        help="compare this already-executed notebook with the committed one instead of running "
                             "(the committed one: the NOTEBOOK given, else notebooks/<name of PATH>)")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error("--threads must be at least 1")
    if args.fresh_seeds is None and os.environ.get(SEED_OFFSET, "").strip() not in ("", "0"):
        try:
            args.fresh_seeds = int(os.environ[SEED_OFFSET])
        except ValueError:
            parser.error(f"{SEED_OFFSET}={os.environ[SEED_OFFSET]!r} is not a whole number")
    if args.fresh_seeds is not None and args.fresh_seeds < 1:
        parser.error("--fresh-seeds needs an offset of at least 1 (0 would rerun the committed seeds)")

    if args.from_executed:
        if len(args.notebooks) > 1:
            parser.error("--from-executed compares one notebook: give at most one NOTEBOOK")
        paths = args.notebooks or [ROOT / "notebooks" / args.from_executed.name]
    else:
        paths = args.notebooks or lesson_notebooks(ROOT / "notebooks")
    missing = [str(p) for p in [*paths, *([args.from_executed] if args.from_executed else [])] if not p.is_file()]
    if missing:
        print(f"verdicts: no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    if not paths:
        print("verdicts: no lessons found in notebooks/", file=sys.stderr)
        return 2

    failures = []
    for path in paths:
        committed = nbformat.read(path, as_version=4)
        if args.from_executed:
            rerun, how = nbformat.read(args.from_executed, as_version=4), f"`{args.from_executed.as_posix()}`"
        else:
            threads = args.threads or ((rerun_threads(committed) or 1) if args.fresh_seeds else 1)
            seeds = f", seeds shifted by {args.fresh_seeds}" if args.fresh_seeds else ""
            print(f"{path.name}: running a copy at {threads} CPU thread(s){seeds} in {args.scratch} ...",
                  file=sys.stderr, flush=True)
            start = time.perf_counter()
            try:
                rerun = run(path, threads, args.scratch, args.timeout, source=committed, seed_offset=args.fresh_seeds)
            except ExecutionFailed as err:
                print(f"verdicts: {err}", file=sys.stderr, flush=True)
                failures.append(str(err))
                continue
            print(f"{path.name}: ran in {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
            how = f"a rerun at {threads} CPU thread{'s' if threads > 1 else ''}"
            if args.fresh_seeds:
                how = f"a rerun with fresh seeds (every seed + {args.fresh_seeds}) at {threads} CPU thread{'s' if threads > 1 else ''}"
            got = rerun_threads(rerun)
            if got is None:
                print(f"verdicts: warning: {path.name} prints no 'Made with: ... N CPU threads' line: its thread "
                      "count is unchecked", file=sys.stderr, flush=True)
            elif got != threads:
                failures.append(f"{path.name}: the rerun's Made with line shows {got} CPU threads, not "
                                f"{threads}: its verdicts are not those of a {threads}-thread run")
        text = report(path.name, committed, rerun, how)
        print(text, flush=True)
        if args.markdown:
            with args.markdown.open("a", encoding="utf-8") as f:
                f.write(text + "\n")
    for failure in failures:
        print(f"verdicts: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
