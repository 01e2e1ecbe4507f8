"""After the Colab install cell: say when the runtime must restart to use what pip just installed.

Colab preloads torch, numpy, pandas, matplotlib and more. `%pip install` leaves a package that already
satisfies the course's floors alone, but if a floor is newer than Colab's copy, pip upgrades it on disk
while the old version stays imported, and `-q` can hide Colab's restart prompt. `restart_needed` finds
such packages by comparing each imported module's version with the one now installed.
"""

from __future__ import annotations

import sys
from importlib import metadata

#: Distributions the course needs that Colab preloads: (distribution name, module name).
PRELOADED = (("torch", "torch"), ("torchvision", "torchvision"), ("numpy", "numpy"), ("pandas", "pandas"),
             ("matplotlib", "matplotlib"), ("seaborn", "seaborn"), ("scipy", "scipy"), ("tqdm", "tqdm"),
             ("platformdirs", "platformdirs"))


def restart_needed(packages: tuple[tuple[str, str], ...] = PRELOADED) -> list[str]:
    """`"name: imported X, installed Y"` for each package whose imported version differs from the one
    installed on disk (empty when nothing needs a restart). Modules not yet imported are fine."""
    stale = []
    for dist, module in packages:
        loaded = getattr(sys.modules.get(module), "__version__", None)
        if loaded is None:
            continue
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        if installed.split("+")[0] != loaded.split("+")[0]:  # 2.5.1+cu121 is the 2.5.1 that pip sees
            stale.append(f"{dist}: imported {loaded}, installed {installed}")
    return stale


def warn_if_restart_needed() -> bool:
    """Print what to do when `restart_needed()` finds a package; True if it did."""
    stale = restart_needed()
    if stale:
        print("The install upgraded packages that this runtime had already imported:\n  " + "\n  ".join(stale) +
              "\nRestart the runtime (Runtime > Restart session), then run the notebook again from the top.")
    return bool(stale)
