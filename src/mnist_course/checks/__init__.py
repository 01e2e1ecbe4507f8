"""Self-checks for the homework, run by a small runner of the course's own (`runner`).

In a lesson, near its homework::

    grader = mc.checks.Homework("01_intro")   # the lesson's tests, shipped inside this package
    ...                                       # the student's work, which assigns hw1_runs, hw1_best
    grader.check("hw1")                       # prints "hw1: passed" or what is wrong, with a hint

The tests live in `mnist_course/checks/<lesson>/<question>.py`: each test case is a function decorated
with `@test_case(name=...)` (`mnist_course.checks.runner.test_case`, the format of otter-grader's
exception-based test files), whose argument names are read from the notebook's global variables and which
raises `AssertionError` with a hint when a property of the student's own work does not hold (the runs that
were asked for, with the lesson's recipe in everything the question does not change, an answer that agrees
with the student's own table). They never train and never contain a solution. Because the tests are
package data, a notebook opened alone (in Colab, after its install cell) finds them. The course ran them
with otter-grader until its install turned out to change Colab's preinstalled packages; `runner` needs
nothing but the standard library (see its docstring).

`support` holds the small assertions that the test files share (among them `keeps_recipe`, the one rule
of every check on runs), `recipes` what each lesson's runs train with unless a question changes it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from . import runner

__all__ = ["CheckResult", "Homework", "tests_dir"]


def tests_dir(lesson: str) -> Path:
    """The folder of `lesson`'s test files (a lesson's file name without `.ipynb`, e.g. "01_intro").

    Raises ValueError, naming the lessons that have checks, if there is no such folder.
    """
    root = Path(str(resources.files(__name__)))
    folder = root / lesson.removesuffix(".ipynb")
    if not folder.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
        raise ValueError(
            f"no homework checks for lesson {lesson!r}; lessons with checks: {', '.join(known)}"
        )
    return folder


@dataclass
class CheckResult:
    """The outcome of one question's check: `passed`, and one line per failed test case (`problems`).

    Shown in a notebook as plain text: "hw1: passed (3 checks)" or "hw1: not yet, ..." with the hints.
    `results` is the runner's list of `runner.CaseResult`, one per test case (with the traceback of each
    exception, for whoever writes a check).
    """

    question: str
    passed: bool
    checks: int
    problems: list[str]
    results: Any = None
    passed_checks: int | None = None

    def __repr__(self) -> str:
        if self.passed:
            return f"{self.question}: passed ({self.checks} check{'s' * (self.checks != 1)})"
        done = (
            self.passed_checks
            if self.passed_checks is not None
            else self.checks - len(self.problems)
        )
        lines = [f"{self.question}: not yet ({done} of {self.checks} checks passed)"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def _problem(name: str, error: BaseException) -> str:
    """The line a failed test case called `name` prints: the hint of its AssertionError, or, for another
    exception, that the case could not run and why."""
    message = str(error).strip()
    if isinstance(error, AssertionError):
        return message or f"{name}: not yet (the check gave no hint)"
    return (
        f"{name} could not run ({type(error).__name__}: {message}): "
        "a variable probably holds something other than what the question asks for"
    )


class Homework:
    """The checks of one lesson's homework.

    `check(question)` runs `<question>.py` against the caller's global variables (a notebook's), with
    `runner.run`, and returns a `CheckResult`; it never raises for a wrong answer, only for a question
    that has no test file (ValueError, listing the questions). It writes no file.
    """

    def __init__(self, lesson: str):
        self.lesson = lesson.removesuffix(".ipynb")
        self.tests_dir = tests_dir(self.lesson)

    @property
    def questions(self) -> list[str]:
        """The questions that have a check, e.g. ["hw1", "hw2"]."""
        return sorted(p.stem for p in self.tests_dir.glob("*.py") if not p.name.startswith("_"))

    def check(self, question: str, global_env: dict[str, Any] | None = None) -> CheckResult:
        """Run the check of `question` on `global_env` (default: the calling notebook's globals)."""
        if question not in self.questions:
            raise ValueError(
                f"lesson {self.lesson} has no check {question!r}; its checks: {', '.join(self.questions)}"
            )
        if global_env is None:
            global_env = inspect.currentframe().f_back.f_globals
        cases = runner.run(self.tests_dir / f"{question}.py", global_env)
        failed = [_problem(r.name, r.error) for r in cases if not r.passed]
        # one line per hint: an unset name fails every case alike
        problems = list(dict.fromkeys(failed))
        return CheckResult(
            question, not failed, len(cases), problems, cases, len(cases) - len(failed)
        )

    def check_all(self, global_env: dict[str, Any] | None = None) -> dict[str, CheckResult]:
        """Every question's check, by question."""
        env = global_env if global_env is not None else inspect.currentframe().f_back.f_globals
        return {q: self.check(q, env) for q in self.questions}
