"""The seeds a lesson draws, shifted by one environment variable to rerun it with fresh seeds.

A lesson takes every seed through `seed(n)` or `seeds(k)`: with `MNIST_COURSE_SEED_OFFSET` unset (the
committed runs) they are the seeds written in the lesson, `seed(0) == 0` and `seeds(3) == [0, 1, 2]`;
with `MNIST_COURSE_SEED_OFFSET=100` they become `100` and `[100, 101, 102]`. A conclusion that holds
for the committed seeds and for a fresh draw is a property of the recipe, not of three lucky seeds
(`tools/verdicts.py --fresh-seeds`). The data split (`load_mnist`'s `split_seed`) is not a lesson
seed and never moves.
"""

from __future__ import annotations

import os

SEED_OFFSET_VARIABLE = "MNIST_COURSE_SEED_OFFSET"


def seed_offset() -> int:
    """The offset added to every lesson seed: `MNIST_COURSE_SEED_OFFSET` as an integer >= 0, else 0.

    Read at every call, so a test (or a kernel started with the variable) sees the current value.
    Raises ValueError for a value that is not a whole number >= 0.
    """
    text = os.environ.get(SEED_OFFSET_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        offset = int(text)
    except ValueError:
        raise ValueError(
            f"{SEED_OFFSET_VARIABLE}={text!r}: expected a whole number >= 0, e.g. 100"
        ) from None
    if offset < 0:
        raise ValueError(f"{SEED_OFFSET_VARIABLE}={text!r}: expected a whole number >= 0, e.g. 100")
    return offset


def seed(n: int) -> int:
    """The lesson's seed `n`, shifted by `seed_offset()` (`n` itself in the committed runs)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"a seed is a whole number >= 0, got {n!r}")
    return n + seed_offset()


def seeds(count: int) -> list[int]:
    """`count` seeds for a comparison over seeds: `[0, 1, ..., count - 1]`, each shifted by `seed_offset()`."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"seeds(count) needs a whole number >= 1, got {count!r}")
    offset = seed_offset()
    return [offset + n for n in range(count)]
