"""mc.chosen prints a choice and records it as one JSON line when MNIST_COURSE_RECORD is set."""

import json

import numpy as np
import pandas as pd
import pytest

import mnist_course as mc


def test_chosen_prints_and_records(tmp_path, monkeypatch, capsys):
    path = tmp_path / "record.jsonl"
    monkeypatch.setenv("MNIST_COURSE_RECORD", str(path))
    mc.chosen("peak learning rate", np.float64(0.1))
    mc.chosen("variants better", [])
    mc.chosen("rates", pd.Series({"SGD": 0.3, "Adam": 0.003}))
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == ["peak learning rate: 0.1", "variants better: none", "rates:"]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["name"] for r in rows] == ["peak learning rate", "variants better", "rates"]
    assert (
        rows[0]["value"] == 0.1
        and rows[1]["value"] == []
        and rows[2]["value"] == {"SGD": 0.3, "Adam": 0.003}
    )
    assert all(r["kind"] == "choice" for r in rows)


def test_chosen_without_the_variable_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MNIST_COURSE_RECORD", raising=False)
    monkeypatch.chdir(tmp_path)
    mc.chosen("x", 1)
    assert capsys.readouterr().out == "x: 1\n" and not list(tmp_path.iterdir())


@pytest.mark.slow
def test_displayed_verdicts_are_recorded_and_the_outputs_stay_the_same(tmp_path):
    """A notebook run on a real kernel with and without MNIST_COURSE_RECORD: the same outputs (the
    recorder's formatter returns nothing), and with it one line per displayed verdict, keyed by the
    cell's execution count and the table's number in that cell."""
    import os
    import re

    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("import pandas as pd\nimport mnist_course as mc"),
            new_code_cell(
                "table = pd.DataFrame({'mean': [1.0, 2.0], 'verdict': ['higher', None]},\n"
                "                     index=pd.MultiIndex.from_tuples([('SGD', 'a'), ('Adam', 'b')]))\n"
                "display(pd.DataFrame({'x': [1]}))\ntable"
            ),
            new_code_cell("mc.chosen('chosen lr', {'SGD': 0.1})\ntable.style.format(precision=1)"),
        ]
    )
    path = tmp_path / "record.jsonl"
    runs = []
    for record in (None, path):
        run = nbformat.from_dict(nb)
        env = {k: v for k, v in os.environ.items() if k != "MNIST_COURSE_RECORD"}
        env.update({"MNIST_COURSE_RECORD": str(record)} if record else {})
        NotebookClient(run, kernel_name="python3", record_timing=False).execute(env=env)
        # a Styler's HTML has a random id, its text form a memory address: the same with and without
        runs.append(re.sub(r"T_[0-9a-f]{5}|0x[0-9a-f]+", "X", nbformat.writes(run)))
    assert runs[0] == runs[1]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["kind"], r["cell"], r.get("table"), r.get("row"), r.get("value")) for r in rows] == [
        ("verdict", 2, 2, "SGD / a", "higher"),
        ("verdict", 2, 2, "Adam / b", ""),
        ("choice", 3, None, None, {"SGD": 0.1}),
        ("verdict", 3, 1, "SGD / a", "higher"),
        ("verdict", 3, 1, "Adam / b", ""),
    ]


def test_the_recorder_needs_ipython():
    from mnist_course.record import install_recorder

    assert install_recorder(object()) is False  # no display formatter: nothing registered
