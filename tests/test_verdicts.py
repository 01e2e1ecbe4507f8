"""tools/verdicts.py (`make verdicts`): the verdicts and chosen settings it reads from a notebook's outputs,
its same/flipped report, and one real run of a tiny notebook that shows the thread count reaches the kernel."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import verdicts  # noqa: E402  (tools/verdicts.py)
from verdicts import ChoiceKey, VerdictKey  # noqa: E402

MADE_WITH = ("Run time of this notebook: 0.1 min\n"
             "Made with: torch 2.14.1, device cpu (x86_64), {} CPU threads, Python 3.11.7\n")


def paired(verdict_of_adamw: str = "no detectable difference") -> pd.DataFrame:
    """A table shaped like mc.paired_differences' output."""
    table = pd.DataFrame({"seed 0": [-13.3, -0.2, 0.2], "seed 1": [-12.1, -0.2, 0.05], "mean": [-12.7, -0.2, 0.13],
                          "ci_low": [-14.0, -0.3, -0.06], "ci_high": [-11.0, -0.1, 0.24], "wins": [0, 0, 2], "n": 2,
                          "verdict": ["lower", "lower", verdict_of_adamw]},
                         index=pd.Index(["SGD", "RMSprop", "AdamW"], name="config"))
    return table


def shown(df: pd.DataFrame, kind: str = "execute_result") -> nbformat.NotebookNode:
    """A DataFrame output as Jupyter stores it (text/html and text/plain)."""
    data = {"text/html": df._repr_html_(), "text/plain": repr(df)}
    return new_output(kind, data=data, **({"execution_count": 1} if kind == "execute_result" else {}))


def printed(text: str) -> nbformat.NotebookNode:
    return new_output("stream", name="stdout", text=text)


def lesson(verdict_of_adamw: str = "no detectable difference", sgd_lr: str = "0.316", threads: int = 2):
    """A small 'lesson' with stored outputs: a markdown cell, a verdict table, a chosen line, a Made with line."""
    return new_notebook(cells=[
        new_markdown_cell("# A lesson"),
        new_code_cell("mc.paired_differences(result, 'Adam')", outputs=[shown(paired(verdict_of_adamw))]),
        new_code_cell("print(chosen)", outputs=[printed(
            f"training ...\nchosen peak learning rates: {{'SGD': {sgd_lr},   'Adam': 0.01}}\n")]),
        new_code_cell("print(mc.environment_info())", outputs=[printed(MADE_WITH.format(threads))]),
    ])


def test_a_flipped_verdict_and_a_changed_choice_are_reported() -> None:
    committed, rerun = lesson(), lesson("higher", sgd_lr="0.1", threads=1)
    found = verdicts.extract(committed)
    assert found.verdicts == {VerdictKey(1, 1, "SGD", "verdict"): "lower",
                              VerdictKey(1, 1, "RMSprop", "verdict"): "lower",
                              VerdictKey(1, 1, "AdamW", "verdict"): "no detectable difference"}
    assert found.choices == {ChoiceKey(2, "chosen peak learning rates"): "{'SGD': 0.316, 'Adam': 0.01}"}
    assert not found.notes

    text = verdicts.report("02_x.ipynb", committed, rerun, "a rerun at 1 CPU thread")
    assert "| cell 1: SGD · verdict | lower | lower | same |" in text
    assert "| cell 1: RMSprop · verdict | lower | lower | same |" in text
    assert "| cell 1: AdamW · verdict | no detectable difference | higher | **flipped** |" in text
    assert ("| cell 2: chosen peak learning rates | {'SGD': 0.316, 'Adam': 0.01} | {'SGD': 0.1, 'Adam': 0.01} "
            "| **changed** |") in text
    assert "02_x.ipynb: 3 verdicts: 2 same, 1 flipped; 1 choices: 0 same, 1 changed" in text
    assert "- committed: Made with: torch 2.14.1, device cpu (x86_64), 2 CPU threads, Python 3.11.7" in text
    assert "- rerun: Made with: torch 2.14.1, device cpu (x86_64), 1 CPU threads, Python 3.11.7" in text

    same = verdicts.report("02_x.ipynb", committed, lesson(), "itself")
    assert "3 verdicts: 3 same, 0 flipped; 1 choices: 1 same, 0 changed" in same and "**" not in same


def test_wide_tables_with_named_verdict_columns() -> None:
    """Lesson 2's wide tables: `shared: verdict`, `tuned: verdict`, a blank reference row; MultiIndex columns."""
    wide = pd.DataFrame({"shared η=0.01: val acc (%)": ["85.12 ± 1.11", "96.81 ± 0.12"],
                         "shared: minus Adam": ["-11.69", "reference"], "shared: verdict": ["lower", "reference"],
                         "tuned: verdict": ["no detectable difference", "reference"],
                         "verdicts counted": [3, 3], "minus λ=0: verdict": ["", "lower"]}, index=["SGD", "Adam"])
    columns = pd.MultiIndex.from_tuples([("shared", "verdict"), ("tuned", "mean"), ("tuned", "verdict")])
    multi = pd.DataFrame([["lower", 0.5, "higher"]], columns=columns, index=["SGD"])
    nb = new_notebook(cells=[new_code_cell("wide", outputs=[shown(wide)]),
                             new_code_cell("multi", outputs=[shown(multi, "display_data")])])
    assert verdicts.extract(nb).verdicts == {
        VerdictKey(1, 1, "SGD", "shared: verdict"): "lower",
        VerdictKey(1, 1, "SGD", "tuned: verdict"): "no detectable difference",
        VerdictKey(1, 1, "SGD", "minus λ=0: verdict"): "",
        VerdictKey(1, 1, "Adam", "shared: verdict"): "reference",
        VerdictKey(1, 1, "Adam", "tuned: verdict"): "reference",
        VerdictKey(1, 1, "Adam", "minus λ=0: verdict"): "lower",
        VerdictKey(2, 1, "SGD", "shared / verdict"): "lower",
        VerdictKey(2, 1, "SGD", "tuned / verdict"): "higher",
    }
    rerun = copy.deepcopy(nb)
    rerun.cells[0].outputs = [shown(wide.assign(**{"tuned: verdict": ["lower", "reference"]}))]
    text = verdicts.report("x.ipynb", nb, rerun, "a rerun")
    assert "| cell 1: SGD · tuned: verdict | no detectable difference | lower | **flipped** |" in text
    assert "| cell 1: SGD · shared: verdict | lower | lower | same |" in text
    assert "SGD · minus λ=0: verdict" not in text, "a cell empty in both runs is not a verdict"
    assert "7 verdicts: 6 same, 1 flipped; 0 choices" in text


def test_row_labels_of_a_multiindex_and_numbered_tables() -> None:
    """Lesson 3's (optimizer, contrast) rows; a cell that shows two tables; a truncated table's `...` row."""
    rows = pd.MultiIndex.from_product([["SGD", "Adam"], ["BN − plain", "dropout − plain"]],
                                      names=["optimizer", "contrast"])
    contrasts = pd.DataFrame({"mean": [0.8, 0.4, 0.6, -0.1],
                              "verdict": ["higher", "higher", "higher", "no detectable difference"]}, index=rows)
    summary = pd.DataFrame({"val_acc_mean": [96.1, 96.5]}, index=["plain", "BN"])
    nb = new_notebook(cells=[new_code_cell("show both", outputs=[shown(summary, "display_data"), shown(contrasts)])])
    found = verdicts.extract(nb)
    assert found.tables == {1: 2}
    assert found.verdicts == {VerdictKey(1, 2, "SGD / BN − plain", "verdict"): "higher",
                              VerdictKey(1, 2, "SGD / dropout − plain", "verdict"): "higher",
                              VerdictKey(1, 2, "Adam / BN − plain", "verdict"): "higher",
                              VerdictKey(1, 2, "Adam / dropout − plain", "verdict"): "no detectable difference"}
    assert "| cell 1 (table 2): Adam / dropout − plain · verdict |" in verdicts.report("x", nb, nb, "itself")

    with pd.option_context("display.max_rows", 4, "display.min_rows", 2):
        long = pd.DataFrame({"verdict": ["lower"] * 10}, index=[f"c{i}" for i in range(10)])
        truncated = new_notebook(cells=[new_code_cell("long", outputs=[shown(long)])])
    assert list(verdicts.extract(truncated).verdicts) == [VerdictKey(1, 1, "c0", "verdict"),
                                                         VerdictKey(1, 1, "c9", "verdict")]


def test_chosen_settings_and_a_block_under_a_colon() -> None:
    """Lesson 3's `chosen learning rates:` block, lesson 4's recipe lines; other lines are not choices."""
    lines = ("validation accuracy (%) after 1 epoch, seed 0:\n\nSGD\nlr   plain\n0.01  93.87\n\n"
             "chosen learning rates:\noptimizer         SGD   Adam\nvariant                     \n"
             "plain            0.10  0.003\nBN               0.03  0.003\n\n"
             "chosen rates at an edge of their grid: none\n"
             "the chosen rate is not a choice line\n")
    recipe = ("Variants detectably better than the recipe: none\n"
              "final recipe: recipe (augmentation RandomAffine(degrees=7), schedule: one-cycle, max lr 0.1)\n")
    progress = new_output("stream", name="stderr", text="chosen: x\n")  # not printed output (stderr)
    nb = new_notebook(cells=[new_code_cell("grid", outputs=[printed(lines[:40]), printed(lines[40:])]),
                             new_code_cell("recipe", outputs=[printed(recipe), progress])])
    assert verdicts.extract(nb).choices == {
        ChoiceKey(1, "chosen learning rates"): "optimizer SGD Adam; variant; plain 0.10 0.003; BN 0.03 0.003",
        ChoiceKey(1, "chosen rates at an edge of their grid"): "none",
        ChoiceKey(2, "Variants detectably better than the recipe"): "none",
        ChoiceKey(2, "final recipe"): "recipe (augmentation RandomAffine(degrees=7), schedule: one-cycle, max lr 0.1)",
    }
    rerun = copy.deepcopy(nb)
    rerun.cells[0].outputs = [printed(lines.replace("0.10  0.003", "0.30  0.003"))]
    text = verdicts.report("03_x.ipynb", nb, rerun, "a rerun")
    assert ("| cell 1: chosen learning rates | optimizer SGD Adam; variant; plain 0.10 0.003; BN 0.03 0.003 | "
            "optimizer SGD Adam; variant; plain 0.30 0.003; BN 0.03 0.003 | **changed** |") in text
    assert "0 verdicts: 0 same, 0 flipped; 4 choices: 3 same, 1 changed" in text


def test_what_only_one_run_has_and_what_cannot_be_read() -> None:
    committed = lesson()
    rerun = copy.deepcopy(committed)
    rerun.cells[1].outputs = [new_output("execute_result", execution_count=1,
                                         data={"text/plain": repr(paired())})]  # a verdict table without HTML
    text = verdicts.report("x.ipynb", committed, rerun, "a rerun")
    assert "| cell 1: AdamW · verdict | no detectable difference | – | **only committed** |" in text
    assert "3 verdicts: 0 same, 0 flipped, 3 only committed" in text
    assert "cell 1: an output mentions 'verdict' but has no HTML table (not compared)" in text


def test_main_from_executed_appends_markdown_and_refuses_missing_notebooks(tmp_path: Path, capsys) -> None:
    committed, rerun = tmp_path / "02_x.ipynb", tmp_path / "elsewhere" / "02_x.ipynb"
    rerun.parent.mkdir()
    nbformat.write(lesson(), committed)
    nbformat.write(lesson("lower", threads=1), rerun)
    before = committed.read_bytes()
    out = tmp_path / "report.md"
    out.write_text("# earlier\n", encoding="utf-8")
    assert verdicts.main(["--from-executed", str(rerun), str(committed), "--markdown", str(out)]) == 0
    printed_report = capsys.readouterr().out
    assert "**flipped**" in printed_report and "3 verdicts: 2 same, 1 flipped" in printed_report
    assert out.read_text(encoding="utf-8").startswith("# earlier\n### 02_x.ipynb: committed run vs `")
    assert committed.read_bytes() == before

    assert verdicts.main([str(tmp_path / "nowhere.ipynb")]) == 2
    assert "no such notebook" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        verdicts.main(["--help"])
    assert "--threads" in capsys.readouterr().out


def test_a_real_run_gets_the_thread_count_and_names_a_failing_cell(tmp_path: Path, capsys) -> None:
    """Executes a tiny notebook through the tool at --threads 1: the kernel sees 1 torch thread."""
    committed = new_notebook(cells=[
        new_code_cell("import pandas as pd, torch\n"
                      "one = torch.get_num_threads() == 1\n"
                      "pd.DataFrame({'verdict': ['higher' if one else 'lower']}, index=['one'])",
                      outputs=[shown(pd.DataFrame({"verdict": ["lower"]}, index=["one"]))]),
        new_code_cell("print(f'chosen threads: {torch.get_num_threads()}')", outputs=[printed("chosen threads: 2\n")]),
        new_code_cell("print(f'Made with: torch {torch.__version__}, device cpu, '\n"
                      "      f'{torch.get_num_threads()} CPU threads')",
                      outputs=[printed(MADE_WITH.format(2))]),
    ])
    path = tmp_path / "notebooks" / "01_tiny.ipynb"
    path.parent.mkdir()
    nbformat.write(committed, path)
    before = path.read_bytes()
    scratch = tmp_path / "_verdicts"
    assert verdicts.main(["--threads", "1", "--scratch", str(scratch), str(path)]) == 0
    text = capsys.readouterr().out
    assert "| cell 1: one · verdict | lower | higher | **flipped** |" in text
    assert "| cell 2: chosen threads | 2 | 1 | **changed** |" in text
    assert "- rerun: Made with: torch" in text and ", 1 CPU threads" in text
    assert path.read_bytes() == before, "the committed notebook is only read"
    assert verdicts.rerun_threads(nbformat.read(scratch / "01_tiny.ipynb", as_version=4)) == 1

    broken = tmp_path / "notebooks" / "02_broken.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell("# x"), new_code_cell("x = 1"),
                                       new_code_cell("raise ValueError('boom')")]), broken)
    assert verdicts.main(["--scratch", str(scratch), str(broken)]) == 1
    err = capsys.readouterr().err
    assert "02_broken.ipynb failed in code cell 2" in err and "boom" in err

    wrong = tmp_path / "notebooks" / "03_wrong.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("print('Made with: torch x, device cpu, 4 CPU threads')")]), wrong)
    assert verdicts.main(["--threads", "2", "--scratch", str(scratch), str(wrong)]) == 1
    assert "shows 4 CPU threads, not 2" in capsys.readouterr().err
