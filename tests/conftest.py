"""Shared fixtures: the real MNIST (found or downloaded once per session), an isolated cache, and lesson 4's
saved CNN (the PyTorch side of the draw-a-digit page's feature maps); and the markers `site` and
`browser`, given here to every test that builds the site or opens it in a browser (`slow` is given in the
test files). `make unit-fast` runs the tests without any of the three (pyproject.toml registers them)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from torch import nn

matplotlib.use("Agg")

import mnist_course as mc  # noqa: E402
from lessons import lesson_factory  # noqa: E402  (tools/lessons.py; tests import it from here too)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: Fixtures that build the site as the Pages workflow does (Quarto and npm: minutes).
SITE_FIXTURES = {"published_build"}
#: Fixtures that open the built site in Chromium (tests/site_browser.py).
BROWSER_FIXTURES = {
    "published",
    "audit",
    "browser",
    "demo",
    "phone",
    "site_url",
    "_browser_available",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `site` every test that needs the built site and `browser` every test that opens it."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if names & (SITE_FIXTURES | BROWSER_FIXTURES):
            item.add_marker(pytest.mark.site)
        if names & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def raw_dir() -> Path:
    """The folder with the four original .gz files (via MNIST_DATA_DIR, the cache, or a download)."""
    return mc.find_mnist()


@pytest.fixture(scope="session")
def mnist(raw_dir: Path) -> mc.MNISTSplits:
    return mc.load_mnist(raw_dir.parent.parent)


@pytest.fixture(scope="session")
def small(mnist: mc.MNISTSplits) -> mc.MNISTSplits:
    """A small real subset for quick training tests."""
    return mnist.subset(train=3000, val=1000, test=1000)


@pytest.fixture(scope="session")
def lesson4_cnn() -> nn.Module:
    """Lesson 4's final CNN as the lesson saved it (notebooks/models/lesson4_cnn.pt, committed with the
    ONNX file it exported), loaded the package's way: mc.load_model(make_budget_cnn, path), eval mode."""
    return mc.load_model(
        lesson_factory("04_cnn_budget.ipynb", "make_budget_cnn"),
        NOTEBOOKS / "models" / "lesson4_cnn.pt",
    )


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No MNIST_DATA_DIR and a per-user cache folder that is empty (XDG_CACHE_HOME on Linux)."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setattr(mc.data, "cache_dir", lambda: tmp_path / "cache" / "mnist-course")
    return tmp_path / "cache" / "mnist-course"


@pytest.fixture(scope="session")
def published_build(tmp_path_factory: pytest.TempPathFactory):
    """The site as GitHub Pages publishes it (tests/site_build.py), built once per test session; skips
    without Quarto or npm, which the build needs (fails instead in CI: tests/site_browser.py)."""
    import shutil

    import site_build
    from site_browser import unavailable_or_fail

    quarto, how = site_build.find_quarto()
    if quarto is None:
        unavailable_or_fail(how)
    if shutil.which("npm") is None:
        unavailable_or_fail(
            "npm not found: the Pages workflow installs ONNX Runtime Web with it (install Node.js)"
        )
    try:
        result = site_build.build(tmp_path_factory.mktemp("clone"), quarto, how)
    except LookupError as err:
        unavailable_or_fail(str(err))
    print(f"\nthe Pages workflow's build steps took {result.seconds:.1f} s (Quarto {how})")
    return result
