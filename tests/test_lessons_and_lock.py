"""Which files are lessons (tools/lessons.py), and that the Makefile and tools/execute.py use that rule;
the locked test environment (constraints.txt, tools/lock.py, `make setup`, `make lock`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

import execute  # tools/execute.py
import lessons  # tools/lessons.py
import lock  # tools/lock.py

ROOT = Path(__file__).resolve().parent.parent


needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
PIN = re.compile(r'^([a-z0-9-]+)==([^;\s]+); python_version == "(\d+\.\d+)"$')


def folder_with_strays(folder: Path) -> Path:
    """Two lessons and every kind of file that is not one."""
    nb = nbformat.writes(new_notebook())
    for name in [
        "01_a.ipynb",
        "02_b.ipynb",
        "01_a.out.ipynb",
        ".~01_a.ipynb",
        "_scratch.ipynb",
        "02_b-checkpoint.ipynb",
        ".ipynb_checkpoints/01_a-checkpoint.ipynb",
        "sub/03_c.ipynb",
    ]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(nb, encoding="utf-8")
    (folder / "_metadata.yml").write_text("x: 1\n", encoding="utf-8")
    return folder


# --- which files are lessons -------------------------------------------------------------------


def test_lesson_rule(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    folder = folder_with_strays(tmp_path / "notebooks")
    assert lessons.lesson_notebooks(folder) == [folder / "01_a.ipynb", folder / "02_b.ipynb"]
    assert lessons.main([str(folder)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{folder.as_posix()}/01_a.ipynb",
        f"{folder.as_posix()}/02_b.ipynb",
    ]
    assert lessons.main([str(tmp_path / "nowhere")]) == 1


def test_the_real_lessons_follow_the_rule() -> None:
    found = lessons.lesson_notebooks()
    assert found == sorted(
        p for p in (ROOT / "notebooks").glob("[0-9]*.ipynb") if not p.name.endswith(".out.ipynb")
    )


@needs_make
def test_make_nbtest_and_studenttest_run_only_lessons(tmp_path: Path) -> None:
    """Run the real recipes in a copy of the Makefile, with a stand-in Python that records its arguments."""
    for name in ["Makefile", "tools/lessons.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    # lessons, student copies
    for folder in ["notebooks", "student/notebooks", "_student/notebooks"]:
        folder_with_strays(tmp_path / folder)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    log = tmp_path / "calls.txt"
    fake = venv / "bin" / "python"
    fake.write_text(
        f'#!/bin/sh\nif [ "$1" = tools/lessons.py ]; then exec "{sys.executable}" "$@"; fi\n'
        f'echo "$*" >> "{log}"\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    stamp = venv / "stamp"
    for name in ["pyproject.toml", "constraints.txt", str(stamp)]:
        (tmp_path / name).write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    for target in ["nbtest", "studenttest"]:
        subprocess.run(
            ["make", "--no-print-directory", target, f"VENV={venv}", f"STAMP={stamp}"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
    pytest_calls = [
        line.split() for line in log.read_text().splitlines() if line.startswith("-m pytest")
    ]
    assert len(pytest_calls) == 2
    nbval, student = pytest_calls
    assert [a for a in nbval if a.endswith(".ipynb")] == [
        "notebooks/01_a.ipynb",
        "notebooks/02_b.ipynb",
    ]
    assert [Path(a).name for a in student if a.endswith(".ipynb")] == ["01_a.ipynb", "02_b.ipynb"]


def test_execute_refuses_what_is_not_a_lesson(tmp_path: Path) -> None:
    folder = folder_with_strays(tmp_path / "notebooks")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "execute.py"), str(folder / "01_a.out.ipynb")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        result.returncode == 1
        and "not a lesson" in result.stderr
        and "01_a.out.ipynb" in result.stderr
    )


def test_execute_reports_what_the_outputs_were_made_with() -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("print(1)", outputs=[new_output("stream", name="stdout", text="1\n")]),
            new_code_cell(
                "print(mc.environment_info())",
                outputs=[
                    new_output(
                        "stream",
                        name="stdout",
                        text="Run time: 0.1 min\nMade with: torch 2.14.1, device cpu (x86_64), 2 CPU threads\n",
                    )
                ],
            ),
        ]
    )
    assert execute.made_with(nb) == "Made with: torch 2.14.1, device cpu (x86_64), 2 CPU threads"
    nb.cells[-1].outputs = []
    assert execute.made_with(nb) is None


# --- the locked environment ----------------------------------------------------------------------


def pins() -> dict[str, tuple[str, str]]:
    lines = [
        line
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    bad = [line for line in lines if not PIN.match(line)]
    assert not bad, f'lines that are not `name==version; python_version == "X.Y"`: {bad}'
    return {m.group(1): (m.group(2), m.group(3)) for m in map(PIN.match, lines)}


def test_constraints_pin_the_dependencies_but_not_pytorch() -> None:
    locked = pins()
    names = list(locked)
    assert names == sorted(names) and len(names) > 50
    assert not {"torch", "torchvision", "triton"} & set(names)
    assert not [n for n in names if n.startswith(("nvidia-", "cuda-"))], (
        "CUDA libraries come with TORCH_SPEC"
    )
    assert len({python for _, python in locked.values()}) == 1, "locked with one Python"
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = project["dependencies"] + project["optional-dependencies"]["dev"]
    wanted = {
        lock.canonical(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0]) for req in direct
    } - lock.NOT_PINNED
    assert not wanted - set(names), (
        "run `make lock`: pyproject.toml has dependencies that constraints.txt lacks"
    )
    for package in ["pandas", "matplotlib", "torchinfo", "nbval", "numpy"]:
        assert package in locked, (
            f"{package} formats outputs that nbval compares; it must be pinned"
        )


def test_the_environment_is_the_locked_one() -> None:
    """In a venv made by `make setup` (with the Python the lock was made with), every pinned package has
    the locked version, and nothing `make setup` installs is missing from the lock."""
    python = next(iter(pins().values()))[1]
    if not list(Path(sys.prefix).glob(".installed-*")):
        pytest.skip("not a venv made by `make setup`")
    if f"{sys.version_info.major}.{sys.version_info.minor}" != python:
        pytest.skip(f"the lock is for Python {python}")
    expected = {name: version for name, (version, _) in pins().items()}
    assert lock.closure() == expected, (
        "run `make setup` (installs the locked versions); if pyproject.toml changed, `make lock`"
    )


@needs_make
def test_make_setup_installs_with_the_constraints_and_passes_torch_spec_through(
    tmp_path: Path,
) -> None:
    cpu = "torch==2.14.1 torchvision==0.29.1 --index-url https://download.pytorch.org/whl/cpu"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}

    def dry_run(*args: str) -> str:
        return subprocess.run(
            ["make", "-n", "--no-print-directory", "setup", f"VENV={tmp_path / 'v'}", *args],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        ).stdout

    default = dry_run()
    assert "pip install --quiet -c constraints.txt -e '.[dev]'" in default
    assert "pip install --quiet torch==2.14.1 torchvision==0.29.1\n" in default
    assert f"pip install --quiet {cpu}\n" in dry_run(f"TORCH_SPEC={cpu}")
    assert "pip install --quiet  -e '.[dev]'" in dry_run("CONSTRAINTS=")


def test_environment_yml_lists_every_dependency() -> None:
    """The conda environment has what pyproject.toml requires (torch is called pytorch on conda-forge)."""
    import yaml

    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    direct = project["dependencies"] + project["optional-dependencies"]["dev"]
    wanted = {lock.canonical(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0]) for req in direct}
    deps = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))["dependencies"]
    listed = [d for d in deps if isinstance(d, str)] + [
        d for e in deps if isinstance(e, dict) for d in e.get("pip", [])
    ]
    names = {lock.canonical(re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0]) for d in listed}
    names = {"torch" if n == "pytorch" else n for n in names}
    assert not wanted - names, f"add to environment.yml: {sorted(wanted - names)}"
