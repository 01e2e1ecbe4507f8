"""The site as GitHub Pages publishes it: the Pages workflow's own `run` steps on a clean copy of the repo.

Shared by tests/test_site.py (the HTML of both editions, every page in a browser) and tests/test_demo.py
(the draw-a-digit page), through the session fixture `published_build` in conftest.py: one build per
test session. Quarto is taken from PATH; otherwise, when ../shared/quarto/install.sh exists (this
project's machines and CI), that script installs Quarto 1.7.34 into the user's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
QUARTO_INSTALLER = ROOT.parent / "shared" / "quarto" / "install.sh"


@dataclass
class Build:
    """A finished Pages build: the clean copy it ran in, its output folder, how long it took."""

    clone: Path
    seconds: float
    quarto: str  # how Quarto was found

    @property
    def site(self) -> Path:
        """What Pages serves: the instructor edition, the student edition under student/."""
        return self.clone / "_site"


def workflow(name: str) -> dict:
    """A workflow of .github/workflows as a dict (with the `on` key as written)."""
    path = ROOT / ".github" / "workflows" / name
    assert path.is_file(), f".github/workflows/{name} is missing"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def find_quarto() -> tuple[str | None, str]:
    """(path of quarto, how it was found) or (None, why not)."""
    found = shutil.which("quarto")
    if found:
        return found, "on PATH"
    if QUARTO_INSTALLER.is_file():
        result = subprocess.run(
            ["bash", str(QUARTO_INSTALLER)], capture_output=True, text=True, timeout=600
        )
        lines = result.stdout.strip().splitlines()
        if result.returncode == 0 and lines and Path(lines[-1]).is_file():
            return lines[-1], f"installed by {QUARTO_INSTALLER}"
        return None, f"{QUARTO_INSTALLER} failed: {result.stderr.strip()[-500:]}"
    return None, (
        "Quarto not found: install Quarto 1.7 or newer (https://quarto.org/docs/get-started/) "
        "and put `quarto` on PATH to run the render tests"
    )


def clean_copy(out: Path) -> Path:
    """The files a fresh clone of this repository would hold (tracked, plus new files git does not
    ignore: the working tree as it would be committed), copied into `out`; no node_modules/, demo/ort/,
    _site/ or venv. Raises LookupError outside a git checkout."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if listed.returncode != 0:
        raise LookupError(f"not a git checkout, so no clean copy to build: {listed.stderr.strip()}")
    for rel in filter(None, listed.stdout.split("\0")):
        source = ROOT / rel
        if source.is_file():  # a deleted, not yet committed file is still listed
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / rel)
    return out


def pages_build_steps() -> list[tuple[str, str]]:
    """(name, bash script) of each `run` step of the Pages workflow's build job, in order."""
    job = workflow("pages.yml")["jobs"]["build"]
    return [(step.get("name", step["run"]), step["run"]) for step in job["steps"] if "run" in step]


def build(out: Path, quarto: str, how: str) -> Build:
    """Run the Pages workflow's build steps on a clean copy in `out`; AssertionError with the step's
    output when one fails. SITE_BUILD_REUSE=<folder> (for working on the site's CSS and scripts, never in
    CI) takes a finished build's clean copy instead: the folder that holds its _site/."""
    reuse = os.environ.get("SITE_BUILD_REUSE")
    if reuse and not os.environ.get("CI"):
        assert (Path(reuse) / "_site" / "index.html").is_file(), (
            f"SITE_BUILD_REUSE={reuse}: no _site/index.html there"
        )
        return Build(Path(reuse), 0.0, f"{how}; the build reused from {reuse}")
    clone = clean_copy(out)
    env = {
        **os.environ,
        "PATH": f"{Path(quarto).parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
        f"{os.environ.get('PATH', '')}",
    }
    for key in ("QUARTO_PROFILE", "QUARTO_PYTHON"):
        env.pop(key, None)
    start = time.perf_counter()
    for name, script in pages_build_steps():
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=clone,
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )
        assert run.returncode == 0, (
            f"Pages workflow step {name!r} failed:\n{run.stdout[-2000:]}\n{run.stderr[-4000:]}"
        )
    return Build(clone, time.perf_counter() - start, how)
