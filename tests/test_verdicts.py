"""tools/verdicts.py (`make verdicts`): the records it compares (verdicts and chosen settings, written as
data by the kernel: src/mnist_course/record.py), its same/flipped report, and real runs of tiny notebooks
that show the record is made where a table is displayed, that a reworded print changes nothing, and that
the thread count reaches the kernel."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

import verdicts  # tools/verdicts.py (tools/ is on pytest's pythonpath)
from lessons import lesson_notebooks
from mnist_course.record import verdict_rows
from verdicts import ChoiceKey, VerdictKey

MADE_WITH = "Made with: torch 2.14.1, device cpu (x86_64), {} CPU threads, Python 3.11.7"


def verdict(cell: int, row: str, value: str, table: int = 1, column: str = "verdict") -> str:
    return json.dumps(
        {
            "kind": "verdict",
            "cell": cell,
            "table": table,
            "row": row,
            "column": column,
            "value": value,
        }
    )


def choice(cell: int, name: str, value) -> str:
    return json.dumps({"kind": "choice", "cell": cell, "name": name, "value": value})


def lesson_record(adamw: str = "no detectable difference", sgd_lr: float = 0.316) -> list[str]:
    """The record of a small 'lesson': a paired-differences table in cell 1, a chosen setting in cell 2."""
    return [
        verdict(1, "SGD", "lower"),
        verdict(1, "RMSprop", "lower"),
        verdict(1, "AdamW", adamw),
        choice(2, "chosen peak learning rates", {"SGD": sgd_lr, "Adam": 0.01}),
    ]


def test_a_flipped_verdict_and_a_changed_choice_are_reported() -> None:
    committed, rerun = (
        verdicts.parse_record(lesson_record()),
        verdicts.parse_record(lesson_record("higher", 0.1)),
    )
    assert committed.verdicts == {
        VerdictKey(1, 1, "SGD", "verdict"): "lower",
        VerdictKey(1, 1, "RMSprop", "verdict"): "lower",
        VerdictKey(1, 1, "AdamW", "verdict"): "no detectable difference",
    }
    assert committed.choices == {
        ChoiceKey(2, "chosen peak learning rates"): {"SGD": 0.316, "Adam": 0.01}
    }
    assert not committed.notes

    text = verdicts.report(
        "02_x.ipynb",
        committed,
        rerun,
        "a rerun at 1 CPU thread",
        (MADE_WITH.format(2), MADE_WITH.format(1)),
    )
    assert "| cell 1: SGD · verdict | lower | lower | same |" in text
    assert "| cell 1: AdamW · verdict | no detectable difference | higher | **flipped** |" in text
    assert (
        "| cell 2: chosen peak learning rates | {'SGD': 0.316, 'Adam': 0.01} | {'SGD': 0.1, 'Adam': 0.01} "
        "| **changed** |"
    ) in text
    assert "02_x.ipynb: 3 verdicts: 2 same, 1 flipped; 1 choices: 0 same, 1 changed" in text
    assert (
        "- committed: Made with: torch 2.14.1, device cpu (x86_64), 2 CPU threads, Python 3.11.7"
        in text
    )
    assert (
        "- rerun: Made with: torch 2.14.1, device cpu (x86_64), 1 CPU threads, Python 3.11.7"
        in text
    )

    same = verdicts.report(
        "02_x.ipynb", committed, verdicts.parse_record(lesson_record()), "itself"
    )
    assert (
        "3 verdicts: 3 same, 0 flipped; 1 choices: 1 same, 0 changed" in same and "**" not in same
    )


def test_tables_numbered_in_a_cell_reference_rows_and_what_only_one_run_has() -> None:
    committed = verdicts.parse_record(
        [
            verdict(3, "SGD / BN − plain", "higher", table=2),
            verdict(3, "Adam", "reference", column="shared: verdict"),
            verdict(3, "SGD", "", column="minus λ=0: verdict"),
            verdict(4, "SGD", "lower"),
            choice(5, "variants better", []),
            choice(5, "variants better", ["BN"]),
            '{"kind": "other"}',
            "not json",
        ]
    )
    rerun = verdicts.parse_record(
        [
            verdict(3, "SGD / BN − plain", "higher", table=2),
            verdict(3, "Adam", "reference", column="shared: verdict"),
            choice(5, "variants better", []),
            choice(6, "new", 1.5),
        ]
    )
    assert list(committed.choices) == [
        ChoiceKey(5, "variants better"),
        ChoiceKey(5, "variants better #2"),
    ]
    text = verdicts.report("x.ipynb", committed, rerun, "a rerun")
    assert "| cell 3 (table 2): SGD / BN − plain · verdict | higher | higher | same |" in text
    assert "| cell 3 (table 1): Adam · shared: verdict | reference | reference | same |" in text
    assert "minus λ=0" not in text, "a verdict empty in both runs (a reference row) is not compared"
    assert "| cell 4: SGD · verdict | lower | – | **only committed** |" in text
    assert "| cell 5: variants better | none | none | same |" in text
    assert "| cell 5: variants better #2 | BN | – | **only committed** |" in text
    assert "| cell 6: new | – | 1.5 | **only rerun** |" in text
    assert (
        "3 verdicts: 2 same, 0 flipped, 1 only committed; 3 choices: 1 same, 0 changed, 1 only committed, "
        "1 only rerun" in text
    )
    assert "record, line 7: unknown kind 'other'" in text and "record, line 8: not JSON" in text


def test_verdict_rows_name_rows_and_columns_like_the_tables_show_them() -> None:
    """Lesson 2's wide tables (`shared: verdict`, a blank cell), MultiIndex rows and columns, repeated labels."""
    wide = pd.DataFrame(
        {
            "shared: minus Adam": ["-11.69", "reference"],
            "shared: verdict": ["lower", "reference"],
            "verdicts counted": [3, 3],
            "minus λ=0: verdict": [None, "lower"],
        },
        index=["SGD", "Adam"],
    )
    assert verdict_rows(wide) == [
        ("SGD", "shared: verdict", "lower"),
        ("SGD", "minus λ=0: verdict", ""),
        ("Adam", "shared: verdict", "reference"),
        ("Adam", "minus λ=0: verdict", "lower"),
    ]
    rows = pd.MultiIndex.from_tuples(
        [("SGD", "BN − plain"), ("SGD", "BN − plain")], names=["optimizer", "contrast"]
    )
    columns = pd.MultiIndex.from_tuples([("shared", "verdict"), ("tuned", "mean"), ("", "verdict")])
    multi = pd.DataFrame(
        [["lower", 0.5, "higher"], ["higher", 0.1, float("nan")]], index=rows, columns=columns
    )
    assert verdict_rows(multi) == [
        ("SGD / BN − plain", "shared / verdict", "lower"),
        ("SGD / BN − plain", "verdict", "higher"),
        ("SGD / BN − plain #2", "shared / verdict", "higher"),
        ("SGD / BN − plain #2", "verdict", ""),
    ]
    assert verdict_rows(pd.DataFrame({"mean": [1.0]})) == []


def tiny_lesson(
    chosen_print: str = "mc.chosen('chosen threads', torch.get_num_threads())",
) -> nbformat.NotebookNode:
    """A lesson that shows a verdict table (the answer depends on the thread count), another table, and a choice."""
    return new_notebook(
        cells=[
            new_markdown_cell("# A lesson"),
            new_code_cell(
                "import pandas as pd, torch\nimport mnist_course as mc\n"
                "one = torch.get_num_threads() == 1"
            ),
            new_code_cell(
                "display(pd.DataFrame({'mean': [0.5]}))\n"
                "pd.DataFrame({'verdict': ['higher' if one else 'lower', 'reference']}, index=['one', 'ref'])"
            ),
            new_code_cell(chosen_print),
            new_code_cell(
                "print(f'Made with: torch {torch.__version__}, device cpu, '\n"
                "      f'{torch.get_num_threads()} CPU threads')"
            ),
        ]
    )


def committed_run(
    tmp_path: Path, nb: nbformat.NotebookNode, lines: list[str], threads: int = 2
) -> tuple[Path, Path]:
    """`nb` as a committed lesson in tmp_path/notebooks/ (its last cell's stored Made with line shows
    `threads`) and its record in tmp_path/records/; returns (notebook, records folder)."""
    nb.cells[-1].outputs = [
        new_output("stream", name="stdout", text=MADE_WITH.format(threads) + "\n")
    ]
    path = tmp_path / "notebooks" / "01_tiny.ipynb"
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, path)
    records = tmp_path / "records"
    records.mkdir(exist_ok=True)
    (records / "01_tiny.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, records


@pytest.mark.slow
def test_a_real_run_records_where_tables_are_shown_and_gets_the_thread_count(
    tmp_path: Path, capsys
) -> None:
    """Executes a tiny notebook through the tool at --threads 1: the kernel records the displayed verdicts
    (cell 2, table 2) and the choice, and sees 1 torch thread."""
    path, records = committed_run(
        tmp_path,
        tiny_lesson(),
        [
            verdict(2, "one", "lower", table=2),
            verdict(2, "ref", "reference", table=2),
            choice(3, "chosen threads", 2),
        ],
    )
    before = path.read_bytes()
    scratch = tmp_path / "_verdicts"
    assert (
        verdicts.main(
            ["--threads", "1", "--scratch", str(scratch), "--records", str(records), str(path)]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "| cell 2 (table 2): one · verdict | lower | higher | **flipped** |" in text
    assert "| cell 2 (table 2): ref · verdict | reference | reference | same |" in text
    assert "| cell 3: chosen threads | 2 | 1 | **changed** |" in text
    assert "2 verdicts: 1 same, 1 flipped; 1 choices: 0 same, 1 changed" in text
    assert "- rerun: Made with: torch" in text and ", 1 CPU threads" in text
    assert path.read_bytes() == before, "the committed notebook is only read"
    rerun = nbformat.read(scratch / "01_tiny.ipynb", as_version=4)
    assert verdicts.rerun_threads(rerun) == 1
    assert rerun.cells[3].outputs[0].text == "chosen threads: 1\n", "mc.chosen prints the choice"

    # The executed copy and its record compare again without running (--from-executed).
    assert (
        verdicts.main(
            [
                "--from-executed",
                str(scratch / "01_tiny.ipynb"),
                "--records",
                str(records),
                "--markdown",
                str(tmp_path / "report.md"),
                str(path),
            ]
        )
        == 0
    )
    assert "2 verdicts: 1 same, 1 flipped; 1 choices: 0 same, 1 changed" in capsys.readouterr().out
    assert (
        (tmp_path / "report.md")
        .read_text(encoding="utf-8")
        .startswith("### 01_tiny.ipynb: committed run vs `")
    )

    # A reworded print changes nothing: only what mc.chosen and the tables record is compared.
    reworded = tiny_lesson(
        "print('The number of threads we settled on is', torch.get_num_threads())\n"
        "mc.chosen('chosen threads', torch.get_num_threads())"
    )
    path, records = committed_run(
        tmp_path,
        reworded,
        [
            verdict(2, "one", "higher", table=2),
            verdict(2, "ref", "reference", table=2),
            choice(3, "chosen threads", 1),
        ],
        threads=1,
    )
    assert (
        verdicts.main(
            ["--threads", "1", "--scratch", str(scratch), "--records", str(records), str(path)]
        )
        == 0
    )
    assert "2 verdicts: 2 same, 0 flipped; 1 choices: 1 same, 0 changed" in capsys.readouterr().out


@pytest.mark.slow
def test_failures_and_missing_files(tmp_path: Path, capsys) -> None:
    records = tmp_path / "records"
    records.mkdir()
    broken = tmp_path / "notebooks" / "02_broken.ipynb"
    broken.parent.mkdir()
    nbformat.write(
        new_notebook(
            cells=[
                new_markdown_cell("# x"),
                new_code_cell("x = 1"),
                new_code_cell("raise ValueError('boom')"),
            ]
        ),
        broken,
    )
    (records / "02_broken.jsonl").write_text("", encoding="utf-8")
    scratch = tmp_path / "_verdicts"
    assert verdicts.main(["--scratch", str(scratch), "--records", str(records), str(broken)]) == 1
    err = capsys.readouterr().err
    assert "02_broken.ipynb failed in code cell 2" in err and "boom" in err

    wrong = tmp_path / "notebooks" / "03_wrong.ipynb"
    nbformat.write(
        new_notebook(
            cells=[new_code_cell("print('Made with: torch x, device cpu, 4 CPU threads')")]
        ),
        wrong,
    )
    (records / "03_wrong.jsonl").write_text("", encoding="utf-8")
    assert (
        verdicts.main(
            ["--threads", "2", "--scratch", str(scratch), "--records", str(records), str(wrong)]
        )
        == 1
    )
    assert "shows 4 CPU threads, not 2" in capsys.readouterr().err

    assert verdicts.main([str(tmp_path / "nowhere.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    (records / "03_wrong.jsonl").unlink()
    assert verdicts.main(["--records", str(records), str(wrong)]) == 2
    assert "no record" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        verdicts.main(["--help"])
    assert "--threads" in capsys.readouterr().out


@pytest.mark.parametrize("path", lesson_notebooks(), ids=lambda p: p.name)
def test_the_committed_record_is_the_committed_runs(path: Path) -> None:
    """benchmarks/records/<lesson>.jsonl (written by `make execute`) belongs to the committed outputs: each
    recorded verdict stands in a table its cell shows, each choice is printed by its cell."""
    import html

    record = verdicts.record_path(path)
    if not record.is_file():
        pytest.skip(
            f"no record for {path.name} yet: `make execute NB=notebooks/{path.name}` writes it"
        )
    found = verdicts.read_record(record)
    assert not found.notes, found.notes
    code = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    for key, value in found.verdicts.items():
        assert key.cell is not None and 1 <= key.cell <= len(code), key
        tables = [
            "".join(o.data["text/html"])
            for o in code[key.cell - 1].get("outputs", [])
            if "text/html" in o.get("data", {})
        ]
        assert len(tables) >= key.table, f"{key}: its cell shows {len(tables)} tables"
        assert html.escape(value) in tables[key.table - 1] or value in tables[key.table - 1], (
            key,
            value,
        )
    for key in found.choices:
        assert key.cell is not None and 1 <= key.cell <= len(code), key
        printed = "".join(o.get("text", "") for o in code[key.cell - 1].get("outputs", []))
        assert key.name.split(" #")[0] + ":" in printed, f"{key}: its cell does not print it"
