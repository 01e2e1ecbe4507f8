"""The notebook tests pass on every device: nbval's sanitizers (tests/nbval_sanitize.cfg) hide what a
lesson prints about the machine it ran on.

A notebook whose stored output says `device: cuda` (made on a GPU) is re-run here on the CPU, with
`pytest --nbval` exactly as `make nbtest` calls it: it must pass with the project's sanitizers and fail
without them (so the test can fail). Takes a few seconds (one kernel start per run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

pytestmark = pytest.mark.slow  # each test runs pytest --nbval in a subprocess

ROOT = Path(__file__).resolve().parent.parent
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"


def _notebook(tmp_path: Path, stored: str) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = new_code_cell(
        'print("device: cpu")\nprint("training images: 50,000")', execution_count=1
    )
    cell.outputs = [
        new_output("stream", name="stdout", text=f"device: {stored}\ntraining images: 50,000\n")
    ]
    nb.cells = [cell]
    path = tmp_path / f"stored_on_{stored.replace(':', '_')}.ipynb"
    nbformat.write(nb, path)
    return path


def _nbval(path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            str(path),
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
    )


@pytest.mark.parametrize("stored", ["cuda", "cuda:0", "mps"])
def test_outputs_made_on_a_gpu_pass_on_the_cpu(tmp_path: Path, stored: str) -> None:
    path = _notebook(tmp_path, stored)
    run = _nbval(path, "--nbval-sanitize-with", str(SANITIZE))
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def test_without_the_sanitizer_the_device_line_fails(tmp_path: Path) -> None:
    run = _nbval(_notebook(tmp_path, "cuda"))
    assert run.returncode != 0 and "device: cuda" in run.stdout, run.stdout[-2000:]
