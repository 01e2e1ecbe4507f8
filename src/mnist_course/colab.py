"""After the Colab install cell: say when the runtime must restart to use what pip just installed.

The course's install cell first writes every installed package's version to `PINS`
(`pip list --format=freeze`), then installs the course with those versions as constraints (`pip install
-c PINS ...`), so pip only adds packages and the runtime needs no restart. This module is the safety net
for when that does not hold (a changed cell, a package installed by hand): a package that pip replaced on
disk while its old version is still imported (Colab imports torch, numpy, pandas, matplotlib, ipywidgets,
google.protobuf and more before the first cell runs) keeps running the old code until the runtime restarts,
and `-q` can hide Colab's own restart prompt.
"""

from __future__ import annotations

import re
import sys
import tempfile
from importlib import metadata
from pathlib import Path

#: The list of packages (`name==version` lines) that the install cell writes before it installs (in the
#: temporary folder, /tmp in Colab).
PINS = Path(tempfile.gettempdir()) / "colab-pins.txt"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _public(version: str) -> str:
    return version.split("+")[0]  # 2.11.0+cpu is the 2.11.0 that pip sees


def _read_pins(path: Path) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines of `path` ({} if there is no such file)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return {}
    pins = {}
    for line in lines:
        name, sep, version = line.strip().partition("==")
        if sep and name and not name.startswith("#"):
            pins[_canonical(name)] = version.strip()
    return pins


def restart_needed(before: str | Path | None = PINS) -> list[str]:
    """One line per package whose imported code is not the code now installed (empty when nothing
    needs a restart).

    Every imported top-level module that an installed distribution provides is looked at, not a fixed
    list: `"name: imported X, installed Y"` when the module's `__version__` is not its distribution's
    installed version, and, with `before` (the `name==version` list the install cell wrote before it
    installed; skipped when the file does not exist), `"name: X before the install, Y now"` for an imported
    package whose version the install changed (modules without `__version__`, e.g. `google.protobuf`'s
    namespace). Packages not imported are fine; so are packages the install added.
    """
    old = _read_pins(Path(before)) if before is not None else {}
    stale: dict[str, str] = {}
    for module_name, dist_names in metadata.packages_distributions().items():
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for dist_name in dict.fromkeys(dist_names):
            try:
                installed = metadata.version(dist_name)
            except metadata.PackageNotFoundError:
                continue
            key = _canonical(dist_name)
            if key in stale:
                continue
            loaded = getattr(module, "__version__", None)
            if (
                len(dist_names) == 1
                and isinstance(loaded, str)
                and _public(loaded) != _public(installed)
            ):
                stale[key] = f"{dist_name}: imported {loaded}, installed {installed}"
            elif key in old and _public(old[key]) != _public(installed):
                stale[key] = f"{dist_name}: {old[key]} before the install, {installed} now"
    return sorted(stale.values())


def warn_if_restart_needed(before: str | Path | None = PINS) -> bool:
    """Print what to do when `restart_needed(before)` finds a package; True if it did."""
    stale = restart_needed(before)
    if stale:
        print(
            "The install replaced packages that this runtime had already imported:\n  "
            + "\n  ".join(stale)
            + "\nRestart the runtime (Runtime > Restart session), then run the notebook again from the top."
        )
    return bool(stale)
