"""Shared fixtures: the real MNIST (found or downloaded once per session) and an isolated cache."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

import mnist_course as mc  # noqa: E402


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


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No MNIST_DATA_DIR and a per-user cache folder that is empty (XDG_CACHE_HOME on Linux)."""
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setattr(mc.data, "cache_dir", lambda: tmp_path / "cache" / "mnist-course")
    return tmp_path / "cache" / "mnist-course"


@pytest.fixture(scope="session")
def published_build(tmp_path_factory: pytest.TempPathFactory):
    """The site as GitHub Pages publishes it (tests/site_build.py), built once per test session; skips
    without Quarto or npm, which the build needs."""
    import shutil

    import site_build

    quarto, how = site_build.find_quarto()
    if quarto is None:
        pytest.skip(how)
    if shutil.which("npm") is None:
        pytest.skip("npm not found: the Pages workflow installs ONNX Runtime Web with it (install Node.js)")
    try:
        result = site_build.build(tmp_path_factory.mktemp("clone"), quarto, how)
    except LookupError as err:
        pytest.skip(str(err))
    print(f"\nthe Pages workflow's build steps took {result.seconds:.1f} s (Quarto {how})")
    return result
