"""The homework self-checks' machinery (mnist_course.checks): every lesson's questions have a test file,
results read clearly, and an unset skeleton fails every question. Each lesson's own wrong answers are
tested in tests/test_checks_<lesson>.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import mnist_course as mc
from mnist_course.checks import support

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.stem for p in (ROOT / "notebooks").glob("0*.ipynb"))
CHECK_CALL = re.compile(r'^grader\.check\("(\w+)"\)$')


def check_cells(lesson: str) -> list[str]:
    """The questions whose check cell `grader.check("hwN")` the lesson has, in order."""
    cells = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text())["cells"]
    return [m.group(1) for c in cells if c["cell_type"] == "code"
            for m in [CHECK_CALL.match("".join(c["source"]).strip())] if m]


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_question_has_a_check_cell_and_a_test_file(lesson: str) -> None:
    questions = mc.checks.Homework(lesson).questions
    assert questions, f"{lesson} has no homework checks"
    assert check_cells(lesson) == questions


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


def test_without_otter_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "otter", None)  # `import otter` now raises ImportError
    with pytest.raises(ImportError, match="pip install otter-grader"):
        mc.checks.Homework("01_intro")
