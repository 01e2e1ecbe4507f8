"""mc.chosen prints a choice and records it as one JSON line when MNIST_COURSE_RECORD is set."""

import json

import numpy as np
import pandas as pd

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
    assert rows[0]["value"] == 0.1 and rows[1]["value"] == [] and rows[2]["value"] == {"SGD": 0.3, "Adam": 0.003}
    assert all(r["kind"] == "choice" for r in rows)


def test_chosen_without_the_variable_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MNIST_COURSE_RECORD", raising=False)
    monkeypatch.chdir(tmp_path)
    mc.chosen("x", 1)
    assert capsys.readouterr().out == "x: 1\n" and not list(tmp_path.iterdir())
