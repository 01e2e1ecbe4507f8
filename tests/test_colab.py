"""mnist_course.colab: after the Colab install cell, a restart is asked for exactly when pip upgraded a
package that was already imported."""

from __future__ import annotations

import sys
import types
from importlib import metadata

import pytest

import mnist_course as mc


def test_nothing_to_do_when_imported_versions_are_installed(capsys: pytest.CaptureFixture[str]) -> None:
    import pandas  # noqa: F401  (imported, and the installed version)

    assert mc.restart_needed() == []
    assert mc.warn_if_restart_needed() is False and capsys.readouterr().out == ""


def test_an_upgraded_preloaded_package_asks_for_a_restart(monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    old = types.ModuleType("pandas")
    old.__version__ = "1.5.3"  # what the runtime imported before pip upgraded pandas on disk
    monkeypatch.setitem(sys.modules, "pandas", old)
    assert mc.restart_needed() == [f"pandas: imported 1.5.3, installed {metadata.version('pandas')}"]
    assert mc.warn_if_restart_needed() is True
    assert "Restart the runtime (Runtime > Restart session)" in capsys.readouterr().out


def test_every_notebook_install_cell_checks_for_a_restart() -> None:
    from pathlib import Path

    import nbformat

    root = Path(__file__).resolve().parent.parent
    for folder in ("notebooks", "student/notebooks"):
        for path in sorted((root / folder).glob("0*.ipynb")):
            source = nbformat.read(path, as_version=4).cells[1].source
            assert "warn_if_restart_needed()" in source.split("%pip install", 1)[-1], path
