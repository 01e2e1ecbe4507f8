"""The browser of the site tests (tests/test_site.py, tests/test_demo.py, tests/test_site_reading.py).

Which Chromium: $CHROMIUM if set, else the system's (`chromium` on PATH or /usr/bin/chromium: Debian's,
`apt-get install -y chromium`), else Playwright's own (`python -m playwright install --with-deps chromium`,
what .ci/run installs on a runner that is not root, such as GitHub's). Driven by Playwright (dev extras).

Where no browser (or Playwright, Quarto, npm, axe-core) can be found, the tests are skipped with the
reason, except in CI (the environment variable CI is `true`, as on GitHub Actions and in .ci/run's
documented use): there the run fails, so that a green job always means the browser tests ran.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SYSTEM_CHROMIUM = "/usr/bin/chromium"


def in_ci() -> bool:
    """True on a CI machine (CI=true, as GitHub Actions sets it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def unavailable_or_fail(reason: str) -> None:
    """Skip the test with `reason`, or fail it in CI, where the browser tests must run."""
    if in_ci():
        pytest.fail(f"CI=true and the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def system_chromium() -> str | None:
    """$CHROMIUM, else `chromium` on PATH, else /usr/bin/chromium, whichever exists."""
    for candidate in (
        os.environ.get("CHROMIUM"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
        SYSTEM_CHROMIUM,
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def find() -> tuple[str | None, str | None]:
    """(executable, None): the Chromium to launch (None: Playwright's own), or (None, why none can run)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None, "Playwright is not installed: pip install playwright (it is in the dev extras)"
    if os.environ.get("CHROMIUM") and not Path(os.environ["CHROMIUM"]).is_file():
        return None, f"CHROMIUM={os.environ['CHROMIUM']} does not exist"
    system = system_chromium()
    if system:
        return system, None
    try:
        with sync_playwright() as p:
            own = p.chromium.executable_path
    except Exception as error:  # noqa: BLE001  (no driver: Playwright's own error says why)
        return None, f"Playwright cannot start: {error}"
    if own and Path(own).is_file():
        return None, None
    return None, (
        "no Chromium: apt-get install -y chromium (Debian/Ubuntu, as root), or "
        "python -m playwright install --with-deps chromium (Playwright's own)"
    )


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    return find()[1]


def require() -> None:
    """Skip (fail in CI) unless a browser can be launched."""
    reason = missing()
    if reason:
        unavailable_or_fail(reason)


def launch(playwright: object, **options: object) -> object:
    """Headless Chromium (the system's, else Playwright's own: as find() picks) with the tests' flags.
    (Looks only at the system's here: find() may not start a second Playwright inside `playwright`'s.)"""
    executable = system_chromium()
    if executable:
        return playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_FLAGS, **options
        )
    return playwright.chromium.launch(args=CHROMIUM_FLAGS[1:], **options)


def axe_script(*roots: Path) -> Path:
    """node_modules/axe-core/axe.min.js under the first of `roots` that has it (npm ci installs it from
    package-lock.json); skips (fails in CI) without it."""
    for root in roots:
        path = root / "node_modules" / "axe-core" / "axe.min.js"
        if path.is_file():
            return path
    unavailable_or_fail("axe-core is not installed (npm ci installs it from package-lock.json)")
    raise AssertionError("unreachable")
