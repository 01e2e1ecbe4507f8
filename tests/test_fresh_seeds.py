"""tools/verdicts.py --fresh-seeds: a lesson rerun with every seed shifted (MNIST_COURSE_SEED_OFFSET),
at the committed run's thread count, and its verdicts compared with the committed ones."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pandas as pd
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import verdicts  # noqa: E402  (tools/verdicts.py)


def _shown(frame: pd.DataFrame):
    return new_output("execute_result", data={"text/html": frame.to_html(), "text/plain": frame.to_string()},
                      execution_count=1)


def _tiny(path: Path) -> None:
    """A lesson whose verdict says whether its seed was shifted; committed with the unshifted answer."""
    nb = new_notebook(cells=[
        new_code_cell("import pandas as pd, torch\nimport mnist_course as mc\n"
                      "pd.DataFrame({'verdict': ['higher' if mc.seed(0) > 0 else 'lower']}, index=['seed'])",
                      outputs=[_shown(pd.DataFrame({"verdict": ["lower"]}, index=["seed"]))]),
        new_code_cell("print(f'chosen seeds: {mc.seeds(2)}')",
                      outputs=[new_output("stream", name="stdout", text="chosen seeds: [0, 1]\n")]),
        new_code_cell("print(f'Made with: torch {torch.__version__}, device cpu, {torch.get_num_threads()} CPU threads')",
                      outputs=[new_output("stream", name="stdout", text="Made with: torch x, device cpu, 1 CPU threads\n")]),
    ])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def test_fresh_seeds_shift_every_seed_and_keep_the_thread_count(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv(verdicts.SEED_OFFSET, raising=False)
    path = tmp_path / "notebooks" / "01_tiny.ipynb"
    _tiny(path)
    scratch = tmp_path / "_verdicts"
    assert verdicts.main(["--fresh-seeds", "7", "--scratch", str(scratch), str(path)]) == 0
    out = capsys.readouterr()
    assert "| cell 1: seed · verdict | lower | higher | **flipped** |" in out.out
    assert "| cell 2: chosen seeds | [0, 1] | [7, 8] | **changed** |" in out.out
    assert "fresh seeds (every seed + 7) at 1 CPU thread" in out.out
    assert "seeds shifted by 7" in out.err

    # The variable itself, as `MNIST_COURSE_SEED_OFFSET=1000 make verdicts` sets it, means the same.
    monkeypatch.setenv(verdicts.SEED_OFFSET, "1000")
    assert verdicts.main(["--scratch", str(scratch), str(path)]) == 0
    assert "| cell 2: chosen seeds | [0, 1] | [1000, 1001] | **changed** |" in capsys.readouterr().out


def test_fresh_seeds_refuse_an_offset_of_zero(tmp_path: Path, monkeypatch) -> None:
    import pytest

    monkeypatch.delenv(verdicts.SEED_OFFSET, raising=False)
    with pytest.raises(SystemExit):
        verdicts.main(["--fresh-seeds", "0", str(tmp_path / "x.ipynb")])
