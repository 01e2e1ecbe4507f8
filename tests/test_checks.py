"""The homework self-checks' machinery (mnist_course.checks): every lesson's questions have a test file,
results read clearly, and an unset skeleton fails every question. Each lesson's own wrong answers are
tested in tests/test_checks_<lesson>.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

import mnist_course as mc
from lessons import lesson_notebooks  # tools/lessons.py (tools/ is on pytest's pythonpath)
from mnist_course.checks import support

ROOT = Path(__file__).resolve().parent.parent
LESSONS = [p.stem for p in lesson_notebooks(ROOT / "notebooks")]
CHECK_CALL = re.compile(r'^grader\.check\("(\w+)"\)$')


def check_cells(lesson: str) -> list[str]:
    """The questions whose check cell `grader.check("hwN")` the lesson has, in order."""
    cells = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text())["cells"]
    return [
        m.group(1)
        for c in cells
        if c["cell_type"] == "code"
        for m in [CHECK_CALL.match("".join(c["source"]).strip())]
        if m
    ]


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_question_has_a_check_cell_and_a_test_file(lesson: str) -> None:
    questions = mc.checks.Homework(lesson).questions
    assert questions, f"{lesson} has no homework checks"
    assert check_cells(lesson) == questions


ANSWER_HEADING = re.compile(r"^#+\s*Homework (\d+): your answer\s*$")


def _code(cell: dict) -> str:
    """A code cell's Python (IPython's magics and shell lines dropped)."""
    return "\n".join(
        line
        for line in "".join(cell["source"]).splitlines()
        if not line.lstrip().startswith(("%", "!"))
    )


def _assigned(source: str) -> set[str]:
    """The global names that `source` binds: assignments (also unpacked and annotated), for and with targets,
    functions, classes and imports."""
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def answer_cells(cells: list[dict]) -> dict[str, str]:
    """Question ("hw1") -> the code of its "your answer" cell: the code cell after the markdown heading
    "#### Homework N: your answer"."""
    found = {}
    for k, cell in enumerate(cells):
        heading = (
            "".join(cell["source"]).strip().splitlines()[:1]
            if cell["cell_type"] == "markdown"
            else []
        )
        match = ANSWER_HEADING.match(heading[0]) if heading else None
        if match:
            following = next((c for c in cells[k + 1 :] if c["cell_type"] == "code"), None)
            assert following is not None and "solution" not in following["metadata"].get(
                "tags", []
            ), f"Homework {match.group(1)}: no untagged code cell follows its 'your answer' heading"
            found[f"hw{match.group(1)}"] = _code(following)
    return found


def answer_mismatches(lesson: str, cells: list[dict]) -> list[str]:
    """What is wrong between `lesson`'s "your answer" cells and its checks: a question whose cell assigns a name
    its check does not read (a misspelt name), a name the check reads that neither that cell nor the lesson's main
    text (the cells not tagged `solution`) assigns, or a question without such a cell."""
    from mnist_course.checks import runner

    grader = mc.checks.Homework(lesson)
    answers = answer_cells(cells)
    main_text = set()
    for cell in cells:
        if cell["cell_type"] == "code" and "solution" not in cell["metadata"].get("tags", []):
            source = _code(cell)
            if source not in answers.values():
                main_text |= _assigned(source)
    problems = []
    for question in grader.questions:
        if question not in answers:
            problems.append(f"{lesson} {question}: no 'your answer' cell")
            continue
        read = {
            name
            for case in runner.cases(runner.load(grader.tests_dir / f"{question}.py"))
            for name in case.arguments
        }
        assigned = _assigned(answers[question])
        asked = read - main_text
        if assigned != asked:
            problems.append(
                f"{lesson} {question}: the answer cell assigns {sorted(assigned)}, its check reads "
                f"{sorted(asked)} besides the main text's names"
            )
    return problems


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_answer_cell_assigns_exactly_the_names_its_check_reads(lesson: str) -> None:
    """A misspelt name in a "your answer" cell would otherwise still print "not set yet" with a passing test run;
    and every other name a check reads is the lesson's main text's (never a solution's: the student copy lacks it)."""
    cells = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text())["cells"]
    assert answer_mismatches(lesson, cells) == []


def test_a_misspelt_answer_name_is_found() -> None:
    """The test above fails when an answer cell's name differs from the check's (here lesson 1's hw1_best)."""
    cells = json.loads((ROOT / "notebooks" / f"{LESSONS[0]}.ipynb").read_text())["cells"]
    target = next(
        c
        for c in cells
        if c["cell_type"] == "code" and "".join(c["source"]).startswith("hw1_runs = ...")
    )
    target["source"] = "".join(target["source"]).replace("hw1_best", "hw1_bset")
    problems = answer_mismatches(LESSONS[0], cells)
    assert len(problems) == 1 and "'hw1_bset'" in problems[0] and "'hw1_best'" in problems[0]


def test_unknown_lesson_and_question_name_what_exists() -> None:
    with pytest.raises(ValueError, match="lessons with checks: 01_intro"):
        mc.checks.Homework("05_transformers")
    with pytest.raises(ValueError, match="its checks: hw1, hw2"):
        mc.checks.Homework("01_intro").check("hw9", {})


@pytest.mark.parametrize("lesson", LESSONS)
def test_an_untouched_skeleton_fails_every_question_with_a_hint(lesson: str) -> None:
    grader = mc.checks.Homework(lesson)
    for question in grader.questions:
        result = grader.check(question, {})
        assert not result.passed and result.problems
        text = repr(result)
        assert text.startswith(f"{question}: not yet (0 of {result.checks} checks passed)")
        assert "not set yet" in text and "Traceback" not in text


def test_a_verdict_must_be_one_of_the_three() -> None:
    assert support.is_verdict("lower", "x") == "lower"
    with pytest.raises(AssertionError, match="a verdict is one of 'higher'"):
        support.is_verdict("worse", "x")


def test_the_test_files_are_package_data() -> None:
    """The wheel/installed package ships them (a notebook opened alone in Colab reads them from there)."""
    text = (ROOT / "pyproject.toml").read_text()
    assert '"checks/*/*.py"' in text
    for lesson in LESSONS:
        assert list(mc.checks.tests_dir(lesson).glob("hw*.py"))


def test_the_checks_run_without_otter_grader() -> None:
    """The runner replaced otter-grader (whose install changes Colab's preinstalled packages): importing the
    package and running every check, on nothing and on wrong values, imports no module of otter, and works
    where importing otter fails."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "sys.modules['otter'] = None  # `import otter` now raises ImportError\n"
        "import mnist_course as mc\n"
        "for lesson in ('01_intro', '02_optimizers', '03_batchnorm_dropout', '04_cnn_budget'):\n"
        "    grader = mc.checks.Homework(lesson)\n"
        "    for question in grader.questions:\n"
        "        for env in ({}, {'hw1_runs': 3, 'hw2_runs': 'x', 'hw3_runs': [], 'SEEDS': [0]}):\n"
        "            assert not grader.check(question, env).passed\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'otter' and sys.modules[m] is not None)\n"
        "print('otter modules:', loaded)\n"
        "assert not loaded\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "otter modules: []" in done.stdout


def test_the_runner_passes_what_a_test_case_reads(tmp_path: Path) -> None:
    """A test file's cases run in their order, each with the globals its arguments name (None for a name
    the notebook lacks); an AssertionError prints its hint, another exception that the case could not run;
    the file is imported afresh at every check, and nothing is written where the notebook runs."""
    import os

    from mnist_course.checks import runner

    lesson = tmp_path / "99_demo"
    lesson.mkdir()
    (lesson / "hw1.py").write_text(
        "from mnist_course.checks.runner import test_case\n"
        "from mnist_course.checks import support as s\n\n"
        "@test_case(name='first')\n"
        "def first(hw1_x):\n"
        "    s.given(hw1_x, 'hw1_x', 'set it to 2')\n"
        "    assert hw1_x == 2, '`hw1_x` should be 2'\n\n"
        "@test_case(name='second')\n"
        "def second(hw1_x, LESSON):\n"
        "    return hw1_x + LESSON\n"
    )
    grader = mc.checks.Homework.__new__(mc.checks.Homework)
    grader.lesson, grader.tests_dir = "99_demo", lesson
    before = set(os.listdir())
    assert repr(grader.check("hw1", {"hw1_x": 2, "LESSON": 1})) == "hw1: passed (2 checks)"
    assert repr(grader.check("hw1", {"hw1_x": 3, "LESSON": 1})) == (
        "hw1: not yet (1 of 2 checks passed)\n  - `hw1_x` should be 2"
    )
    text = repr(grader.check("hw1", {}))
    assert text.startswith(
        "hw1: not yet (0 of 2 checks passed)\n  - `hw1_x` is not set yet (still `...` or undefined)"
    )
    assert (
        "  - second could not run (TypeError: unsupported operand" in text
        and "something other than" in text
    )
    result = grader.check("hw1", {"hw1_x": 3, "LESSON": 1})
    assert [r.name for r in result.results] == [
        "first",
        "second",
    ] and "Traceback" in result.results[0].traceback
    (lesson / "hw1.py").write_text((lesson / "hw1.py").read_text().replace("== 2", "== 3"))
    # the edited file, without a restart
    assert grader.check("hw1", {"hw1_x": 3, "LESSON": 1}).passed
    assert set(os.listdir()) == before  # no log file (otter wrote .OTTER_LOG)
    assert not runner.test_case.__test__


# ---- shared by tests/test_checks_<lesson>.py: recipe mutations and the time of a check ----


def timed(grader, question: str, env: dict) -> tuple[bool, str]:
    """(passed, printed text) of a check, asserting that the check's own run takes under a second (the fastest of
    up to three tries, on one torch thread: on a test machine busy with other work, two threads wait for each
    other and only add time)."""
    import time

    import torch

    times, threads = [], torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        while len(times) < 3 and (not times or min(times) >= 1.0):
            start = time.perf_counter()
            result = grader.check(question, env)
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    assert min(times) < 1.0, f"{grader.lesson} {question}: the check took {min(times):.2f} s"
    return result.passed, repr(result)


def _other(value):
    """A recorded setting changed into another of its kind."""
    import numbers

    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return not value
    if value is None or value == "none":
        return "RandomAffine"
    if isinstance(value, numbers.Real):
        return float(value) * 2 if value else 0.5
    if isinstance(value, tuple):
        return tuple(v * 2 for v in value) if value else (0.5,)
    if isinstance(value, dict):
        return {k: (v * 2 if isinstance(v, numbers.Real) else v) for k, v in value.items()}
    return {
        "SGD": "Adam",
        "Adam": "SGD",
        "AdamW": "SGD",
        "OneCycleLR": "StepLR",
        "StepLR": "OneCycleLR",
    }.get(value, value + "2")


def mutations(result: mc.Comparison, recipe, changes=()):
    """For the right answer `result`, every recipe mutation the rule covers, as (what, a Comparison that records
    that mutation, what the hint must say): each setting of `support.RULE` that the question keeps changed in one
    config (the configs then differ) and, where the recipe fixes it, in every config; the test set read; fewer
    training and validation images; a seed missing; one config trained for fewer epochs; a one-cycle schedule
    that does not span its run. The settings table is edited, as if mc.compare had recorded these runs."""
    from mnist_course.checks.support import RULE

    def with_settings(column, values):
        settings = result.settings.copy()
        settings[column] = pd.Series(values, index=settings.index, dtype=object)
        return result._replace(settings=settings)

    configs = list(result.settings.index)
    out = []
    for column, what in RULE:
        if column in changes:
            continue
        first = result.settings[column].iloc[0]
        one = [_other(first) if c == configs[0] else v for c, v in result.settings[column].items()]
        out.append(
            (
                f"{column} changed in one config",
                with_settings(column, one),
                f"differ in their {what}",
            )
        )
        expected = recipe.lr if column == "max_lr" else getattr(recipe, column)
        if expected is not None and expected != "any":
            out.append(
                (
                    f"{column} changed in every config",
                    with_settings(column, [_other(first)] * len(configs)),
                    f"trains with {what}",
                )
            )
    out.append(
        ("the test set read", with_settings("test", [True] * len(configs)), "read the test set")
    )
    for column, what in [("train_images", "training images"), ("val_images", "validation images")]:
        out.append(
            (
                f"fewer {what}",
                with_settings(
                    column,
                    [
                        recipe.train_images // 2
                        if column == "train_images"
                        else recipe.val_images // 2
                    ]
                    * len(configs),
                ),
                what,
            )
        )
    seeds = sorted(set(result.final["seed"]))
    out.append(
        (
            "a seed missing",
            result._replace(final=result.final[result.final["seed"] != seeds[-1]]),
            "ran seeds",
        )
    )
    last = result.history["epoch"].max()
    if last > 1:
        shorter = result.history[
            ~((result.history["config"] == configs[0]) & (result.history["epoch"] == last))
        ]
        out.append(
            (
                "one config trained for fewer epochs",
                result._replace(history=shorter),
                "numbers of epochs",
            )
        )
    if recipe.epochs is not None:
        out.append(
            (
                "fewer epochs in every config",
                result._replace(
                    history=result.history[result.history["epoch"] < last]
                    if last > 1
                    else result.history.assign(epoch=result.history["epoch"] + 1)
                ),
                "trained for",
            )
        )
    cycling = [c for c in configs if result.settings.loc[c, "scheduler"] == "OneCycleLR"]
    if cycling:
        steps = [
            2 * int(v) if c in cycling else v for c, v in result.settings["scheduler_steps"].items()
        ]
        out.append(
            (
                "a one-cycle schedule longer than its run",
                with_settings("scheduler_steps", steps),
                "spans",
            )
        )
    return out


def all_mutations_fail(grader, question, env, runs_name, recipe, changes=()):
    """Every recipe mutation of env[runs_name] fails the check with its hint."""
    missed = []
    for what, mutated, hint in mutations(env[runs_name], recipe, changes):
        result = grader.check(question, {**env, runs_name: mutated})
        passed, text = result.passed, repr(result)
        if passed or hint not in text:
            missed.append(f"{what}: {text}")
    assert not missed, "\n".join(missed)
