"""The lowest versions pyproject.toml allows, as pip constraints (`make floors` installs and tests them).

    python tools/floors.py [--skip torch torchvision] > floors.txt

Every `name>=X` requirement of the package and its dev extras becomes `name==X`, so that a floor that
does not work (an API the code uses that is newer than the floor) fails the floors run instead of a
student's install. Requirements without a lower bound are left out.
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,;\s]*)\s*$")


def floors(pyproject: Path = ROOT / "pyproject.toml", skip: set[str] = frozenset()) -> list[str]:
    """`name==version` for every `name>=version` requirement (dependencies and every extra)."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    pins = []
    for requirement in requirements:
        match = FLOOR.match(requirement)
        if match and match.group(1).lower() not in skip:
            pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--skip", nargs="*", default=[], help="requirements to leave out (e.g. torch torchvision)"
    )
    args = parser.parse_args()
    print("\n".join(floors(skip={s.lower() for s in args.skip})))


if __name__ == "__main__":
    sys.exit(main())
