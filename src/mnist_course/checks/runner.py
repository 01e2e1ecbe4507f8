"""The runner of the homework's test files: a few dozen lines instead of otter-grader.

A test file, `mnist_course/checks/<lesson>/<question>.py`, holds functions decorated with
`@test_case(name=...)` (imported from here). Each one's argument names are global variables of the
notebook; it raises `AssertionError` with a hint when a property of the student's work does not hold.
`run(path, env)` imports the file afresh (an edited test file is picked up without restarting the
kernel), calls every test case in the order the file defines them with the values `env` has for its
arguments (None for a name that `env` lacks, as otter-grader passed it, so that
`support.given` says "not set yet"), and returns one `CaseResult` per case: passed, or the
exception it raised. It writes nothing (no log file) and never raises for a failing case.

The format is otter-grader's exception-based one (`otter.test_files.test_case`), and the course used
otter until its install turned out to change Colab's preinstalled packages (ipywidgets, wrapt, ...)
and to download about 280 MB; this runner keeps the test files and needs nothing but the standard
library.
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["CaseResult", "TestCase", "cases", "load", "run", "test_case"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__mnist_course_test_case__"
_loads = itertools.count()


@dataclass(frozen=True)
class TestCase:
    """One test case of a test file: its name and the function, whose argument names are the globals it reads."""

    __test__ = False  # not a pytest test class

    name: str
    function: Callable[..., Any]

    @property
    def arguments(self) -> list[str]:
        return list(inspect.signature(self.function).parameters)


@dataclass
class CaseResult:
    """What one test case did: `passed`, else the exception it raised (`error`) and its `traceback` text."""

    name: str
    passed: bool
    error: BaseException | None = None
    traceback: str = ""
    seconds: float = 0.0


def test_case(name: str | None = None) -> Callable[[F], F]:
    """Mark a function of a test file as a test case called `name` (default: the function's name)."""

    def mark(function: F) -> F:
        setattr(function, _ATTRIBUTE, TestCase(name or function.__name__, function))
        return function

    return mark


test_case.__test__ = False  # type: ignore[attr-defined]  # pytest: a decorator, not a test


def load(path: str | Path) -> ModuleType:
    """The test file at `path`, imported afresh (under a name of its own, not kept in `sys.modules`)."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(
        f"mnist_course_checks_{path.parent.name}_{path.stem}_{next(_loads)}", path
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import the test file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cases(module: ModuleType) -> list[TestCase]:
    """The test cases that `module` itself defines, in the order it defines them."""
    found = []
    for value in vars(module).values():
        case = getattr(value, _ATTRIBUTE, None)
        if isinstance(case, TestCase) and getattr(value, "__module__", None) == module.__name__:
            found.append(case)
    return found


def run(path: str | Path, env: Mapping[str, Any]) -> list[CaseResult]:
    """Run every test case of the test file at `path` on the variables `env` (a notebook's globals)."""
    results = []
    for case in cases(load(path)):
        arguments = {name: env.get(name) for name in case.arguments}
        start = time.perf_counter()
        try:
            case.function(**arguments)
        except Exception as error:  # noqa: BLE001 (a failing case, whatever it raised, is a result)
            results.append(
                CaseResult(
                    case.name, False, error, traceback.format_exc(), time.perf_counter() - start
                )
            )
        else:
            results.append(CaseResult(case.name, True, seconds=time.perf_counter() - start))
    return results
