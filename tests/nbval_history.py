"""pytest plugin for the notebook tests (`make nbtest`): run cells with history on, as Jupyter does.

nbval executes cells with `store_history=False`; IPython then decides whether a trailing `;`
silences a cell by reading the previous history entry, so a plotting cell ending in `;` shows its
figure twice and no longer matches its stored output (nbval issue #194, IPython issue #14162).
"""

from __future__ import annotations

from nbval.kernel import RunningKernel


def _execute_with_history(
    self: RunningKernel, cell_input: str, allow_stdin: bool | None = None
) -> str:
    return self.kc.execute(
        cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False
    )


RunningKernel.execute_cell_input = _execute_with_history
