"""tools/verdicts.py --fresh-seeds: a lesson rerun with every seed shifted (MNIST_COURSE_SEED_OFFSET),
at the committed run's thread count, and its record compared with the committed one."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import verdicts  # tools/verdicts.py (tools/ is on pytest's pythonpath)


def _tiny(path: Path, records: Path) -> None:
    """A lesson whose verdict says whether its seed was shifted; committed with the unshifted answer."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import pandas as pd, torch\nimport mnist_course as mc\n"
                "pd.DataFrame({'verdict': ['higher' if mc.seed(0) > 0 else 'lower']}, index=['seed'])"
            ),
            new_code_cell("mc.chosen('chosen seeds', mc.seeds(2))"),
            new_code_cell(
                "print(f'Made with: torch {torch.__version__}, device cpu, {torch.get_num_threads()} CPU threads')",
                outputs=[
                    new_output(
                        "stream",
                        name="stdout",
                        text="Made with: torch x, device cpu, 1 CPU threads\n",
                    )
                ],
            ),
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    records.mkdir(parents=True, exist_ok=True)
    lines = [
        {
            "kind": "verdict",
            "cell": 1,
            "table": 1,
            "row": "seed",
            "column": "verdict",
            "value": "lower",
        },
        {"kind": "choice", "cell": 2, "name": "chosen seeds", "value": [0, 1]},
    ]
    (records / f"{path.stem}.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8"
    )


@pytest.mark.slow
def test_fresh_seeds_shift_every_seed_and_keep_the_thread_count(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.delenv(verdicts.SEED_OFFSET, raising=False)
    path, records = tmp_path / "notebooks" / "01_tiny.ipynb", tmp_path / "records"
    _tiny(path, records)
    scratch = tmp_path / "_verdicts"
    assert (
        verdicts.main(
            ["--fresh-seeds", "7", "--scratch", str(scratch), "--records", str(records), str(path)]
        )
        == 0
    )
    out = capsys.readouterr()
    assert "| cell 1: seed · verdict | lower | higher | **flipped** |" in out.out
    assert "| cell 2: chosen seeds | 0, 1 | 7, 8 | **changed** |" in out.out
    assert "fresh seeds (every seed + 7) at 1 CPU thread" in out.out
    assert "seeds shifted by 7" in out.err

    # The variable itself, as `MNIST_COURSE_SEED_OFFSET=1000 make verdicts` sets it, means the same.
    monkeypatch.setenv(verdicts.SEED_OFFSET, "1000")
    assert verdicts.main(["--scratch", str(scratch), "--records", str(records), str(path)]) == 0
    assert "| cell 2: chosen seeds | 0, 1 | 1000, 1001 | **changed** |" in capsys.readouterr().out


def test_fresh_seeds_refuse_an_offset_of_zero(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(verdicts.SEED_OFFSET, raising=False)
    with pytest.raises(SystemExit):
        verdicts.main(["--fresh-seeds", "0", str(tmp_path / "x.ipynb")])
