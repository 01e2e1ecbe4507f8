"""Self-checks for the homework, run by otter-grader (https://otter-grader.readthedocs.io).

In a lesson, near its homework::

    grader = mc.checks.Homework("01_intro")   # the lesson's tests, shipped inside this package
    ...                                       # the student's work, which assigns hw1_runs, hw1_best
    grader.check("hw1")                       # prints "hw1: passed" or what is wrong, with a hint

The tests live in `mnist_course/checks/<lesson>/<question>.py` in otter's exception-based format
(`otter.test_files.test_case`): each test case is a function whose argument names are read from the
notebook's global variables and which raises `AssertionError` with a hint when a property of the
student's own work does not hold (the runs that were asked for, the same seeds and data order, an
answer that agrees with the student's own table). They never train and never contain a solution.
Because the tests are package data, a notebook opened alone (in Colab, after its install cell) finds
them; tests beside a notebook or in its metadata are what break otter in Colab
(ucbds-infra/otter-grader#630, #901).

`support` holds the small assertions that the test files share.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["CheckResult", "Homework", "tests_dir"]


def tests_dir(lesson: str) -> Path:
    """The folder of `lesson`'s test files (a lesson's file name without `.ipynb`, e.g. "01_intro").

    Raises ValueError, naming the lessons that have checks, if there is no such folder.
    """
    root = Path(str(resources.files(__name__)))
    folder = root / lesson.removesuffix(".ipynb")
    if not folder.is_dir():
        known = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))
        raise ValueError(f"no homework checks for lesson {lesson!r}; lessons with checks: {', '.join(known)}")
    return folder


@dataclass
class CheckResult:
    """The outcome of one question's check: `passed`, and one line per failed test case (`problems`).

    Shown in a notebook as plain text: "hw1: passed (3 checks)" or "hw1: not yet, ..." with the hints.
    `results` is otter's own `TestFile` (with otter's full messages, line numbers included).
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
        done = self.passed_checks if self.passed_checks is not None else self.checks - len(self.problems)
        lines = [f"{self.question}: not yet ({done} of {self.checks} checks passed)"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


_ASSERTION = re.compile(r"\nAssertionError: (.*)\Z", re.S)
_OTHER = re.compile(r"\n(\w+(?:Error|Exception)): (.*)\Z", re.S)


def _problem(name: str, message: str) -> str:
    """Otter's message of a failed test case reduced to the hint it raised."""
    found = _ASSERTION.search(message)
    if found:
        return found.group(1).strip()
    found = _OTHER.search(message)
    if found:
        return (f"{name} could not run ({found.group(1)}: {found.group(2).strip()}): "
                "a variable probably holds something other than what the question asks for")
    return message.strip().splitlines()[-1]


class Homework:
    """The checks of one lesson's homework, run by otter-grader's `otter.Notebook(tests_dir=...)`.

    `check(question)` runs `<question>.py` against the caller's global variables (a notebook's)
    and returns a `CheckResult`; it never raises for a wrong answer, only for a question that has
    no test file (ValueError, listing the questions). Otter writes its log, `.OTTER_LOG`, in the
    working folder.
    """

    def __init__(self, lesson: str):
        try:
            import otter  # imported here: a second or two, only for the lessons that check homework
        except ImportError as err:
            raise ImportError("the homework checks need otter-grader, a dependency of mnist_course that is missing "
                              "here: run `pip install otter-grader` (or reinstall the course's package), then run "
                              "this cell again") from err

        self.lesson = lesson.removesuffix(".ipynb")
        self.tests_dir = tests_dir(self.lesson)
        self._notebook = otter.Notebook(tests_dir=str(self.tests_dir))

    @property
    def questions(self) -> list[str]:
        """The questions that have a check, e.g. ["hw1", "hw2"]."""
        return sorted(p.stem for p in self.tests_dir.glob("*.py") if not p.name.startswith("_"))

    def check(self, question: str, global_env: dict[str, Any] | None = None) -> CheckResult:
        """Run the check of `question` on `global_env` (default: the calling notebook's globals)."""
        if question not in self.questions:
            raise ValueError(f"lesson {self.lesson} has no check {question!r}; its checks: {', '.join(self.questions)}")
        if global_env is None:
            global_env = inspect.currentframe().f_back.f_globals
        results = self._notebook.check(question, global_env)
        cases = results.test_case_results
        failed = [_problem(r.test_case.name, r.message) for r in cases if not r.passed]
        problems = list(dict.fromkeys(failed))  # one line per hint: an unset name fails every case alike
        return CheckResult(question, not failed, len(cases), problems, results, len(cases) - len(failed))

    def check_all(self, global_env: dict[str, Any] | None = None) -> dict[str, CheckResult]:
        """Every question's check, by question."""
        env = global_env if global_env is not None else inspect.currentframe().f_back.f_globals
        return {q: self.check(q, env) for q in self.questions}
