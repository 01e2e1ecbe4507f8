"""Print the constraints file: the exact versions of what `make setup` installs, except PyTorch.

    python tools/lock.py > constraints.txt      (run with the Python of an environment set up from pyproject.toml)

`make lock` runs it in a fresh temporary environment; run by hand, it pins what the running
environment has. The set pinned is everything `mnist-course[dev]` requires, directly or not, as
installed here; torch and torchvision are left out, and so is what only they require (CUDA
libraries, triton, sympy, ...), because `TORCH_SPEC` chooses them. Each line carries the marker
`python_version == "X.Y"` of this Python: on another Python the file pins nothing and
pyproject.toml's ranges apply.
"""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata

try:
    from packaging.requirements import Requirement
except ImportError:  # pip always brings a copy
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]

PROJECT = "mnist-course"
EXTRAS = ("dev",)
#: Set by TORCH_SPEC, so neither they nor what only they need are pinned.
NOT_PINNED = {"torch", "torchvision"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(project: str = PROJECT, extras: tuple[str, ...] = EXTRAS) -> dict[str, str]:
    """{canonical name: installed version} of everything `project[extras]` requires, transitively,
    without descending into the packages in NOT_PINNED; raises SystemExit if one is missing."""
    found: dict[str, str] = {}
    todo = [(canonical(project), set(extras))]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, frozenset(wanted)) in seen:
            continue
        seen.add((name, frozenset(wanted)))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise SystemExit(
                f"lock: {name} is required but not installed here; install the project first "
                f"(pip install -e '.[dev]')"
            ) from None
        found[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker and not any(req.marker.evaluate({"extra": e}) for e in wanted | {""}):
                continue
            dep = canonical(req.name)
            if dep not in NOT_PINNED:
                todo.append((dep, set(req.extras)))
    found.pop(canonical(project))
    return found


def constraints() -> str:
    python = ".".join(platform.python_version_tuple()[:2])
    lines = [
        "# Exact versions that `make setup` and CI install (pip install -c constraints.txt), so that a new",
        "# release of a dependency cannot change a test result overnight. torch and torchvision are not here:",
        "# TORCH_SPEC sets them. pyproject.toml keeps the ranges (students who pip install the package).",
        f"# Made by `make lock` (tools/lock.py) with Python {platform.python_version()}; each pin applies to",
        f"# Python {python} only (on another Python, pyproject.toml's ranges apply).",
    ]
    marker = f'; python_version == "{python}"'
    pins = closure()
    lines += [f"{name}=={pins[name]}{marker}" for name in sorted(pins)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) > 1:
        sys.exit(__doc__)
    sys.stdout.write(constraints())
