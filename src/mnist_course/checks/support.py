"""Assertions shared by the homework test files: each raises `AssertionError` with a message that
says what is wrong and how to fix it, never what the answer is."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..experiments import Comparison, paired_differences

VERDICTS = ("higher", "lower", "no detectable difference")


def given(value: Any, name: str, hint: str) -> Any:
    """`value`, unless it is still the skeleton's `...` (or undefined, which the runner passes as None)."""
    if value is ... or value is None:
        raise AssertionError(f"`{name}` is not set yet (still `...` or undefined): {hint}")
    return value


def comparison(value: Any, name: str, hint: str) -> Comparison:
    """`value` as the result of `mc.compare`."""
    given(value, name, hint)
    if not isinstance(value, Comparison) or value.settings is None:
        raise AssertionError(f"`{name}` should be what `mc.compare(...)` returns, not a {type(value).__name__}: {hint}")
    return value


def configs(result: Comparison) -> list[str]:
    """The config names of `result`, in their order."""
    return list(result.final["config"].drop_duplicates())


def same_seeds(result: Comparison, name: str, seeds: Iterable[int]) -> None:
    """Every config of `result` ran every seed of `seeds`, and only those."""
    seeds = sorted(seeds)
    for config, ran in result.final.groupby("config", sort=False)["seed"]:
        if sorted(ran) != seeds:
            raise AssertionError(f"`{name}`: config {config!r} ran seeds {sorted(ran)}, the question asks for the "
                                 f"lesson's seeds {seeds}: pass them as the seeds of mc.compare")


def same_epochs(result: Comparison, name: str, epochs: int | None = None) -> int:
    """The number of epochs, checked to be the same for every run (and equal to `epochs` if given)."""
    counts = result.history.groupby(["config", "seed"], sort=False)["epoch"].max()
    if counts.nunique() != 1:
        raise AssertionError(f"`{name}`: the runs trained for different numbers of epochs ({sorted(counts.unique())}): "
                             "compare every variant after the same number of epochs")
    ran = int(counts.iloc[0])
    if epochs is not None and ran != epochs:
        raise AssertionError(f"`{name}`: the runs trained for {ran} epochs, the question asks for {epochs}")
    return ran


def _key(value: Any) -> str:
    """A setting as a comparable string: numbers as floats (0 and 0.0 alike), None and NaN as "none"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(float(value))
    return str(value)


def same_setting(result: Comparison, name: str, column: str, what: str) -> Any:
    """The one value of `column` in `result.settings`, checked to be the same for every config."""
    values = result.settings[column]
    if len({_key(v) for v in values}) != 1:
        listed = ", ".join(f"{c}: {v}" for c, v in values.items())
        raise AssertionError(f"`{name}`: the configs differ in their {what} ({listed}); change only what the question "
                             f"asks for and keep the {what} the same")
    return values.iloc[0]


def setting(result: Comparison, config: str, column: str) -> Any:
    """The value of `column` in the settings of `config` (None where pandas stores a missing value as NaN)."""
    value = result.settings.loc[config, column]
    return None if _key(value) == "none" else value


def settings_of(result: Comparison, column: str) -> list[Any]:
    """The values of `column` in `result.settings`, one per config (missing values as None)."""
    return [setting(result, config, column) for config in result.settings.index]


def best(result: Comparison, metric: str = "val_acc") -> str:
    """The config with the highest mean final `metric`."""
    return str(result.summary[f"{metric}_mean"].idxmax())


def verdict(result: Comparison, config: str, reference: str, metric: str = "val_acc") -> str:
    """The paired-differences verdict of `config` against `reference` in `result`."""
    return str(paired_differences(result, reference, metric).loc[config, "verdict"])


def is_verdict(value: Any, name: str) -> str:
    """`value` as one of the three verdicts."""
    given(value, name, f'set it to one of {", ".join(map(repr, VERDICTS))}.')
    if value not in VERDICTS:
        raise AssertionError(f"`{name}` is {value!r}; a verdict is one of {', '.join(map(repr, VERDICTS))}.")
    return value


def agrees(answer: Any, expected: Any, name: str, source: str) -> None:
    """`answer` equals `expected`, which was read from the student's own results (`source` says where)."""
    if isinstance(expected, float) and isinstance(answer, (int, float)):
        ok = math.isclose(answer, expected, rel_tol=1e-6, abs_tol=1e-12)
    else:
        ok = answer == expected
    if not ok:
        raise AssertionError(f"`{name}` = {answer!r} does not agree with your own results: look again at {source}.")


def numbers_in(values: Iterable[Any]) -> list[float]:
    """`values` (config names or settings) as floats, where they are numbers."""
    out = []
    for v in values:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            continue
    return out


def table(value: Any, name: str, hint: str, columns: Iterable[str]) -> pd.DataFrame:
    """`value` as a DataFrame with at least `columns`."""
    given(value, name, hint)
    if not isinstance(value, pd.DataFrame):
        raise AssertionError(f"`{name}` should be a table (a pandas DataFrame), not a {type(value).__name__}: {hint}")
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise AssertionError(f"`{name}` lacks the columns {', '.join(missing)}: {hint}")
    return value


def distinct(result: Comparison, name: str, column: str, what: str) -> list[Any]:
    """The values of `column` in `result.settings`, checked to differ from config to config."""
    values = list(result.settings[column])
    if len({_key(v) for v in values}) != len(values):
        listed = ", ".join(f"{c}: {v}" for c, v in result.settings[column].items())
        raise AssertionError(f"`{name}`: two configs have the same {what} ({listed}); give each config its own {what}")
    return values


def model_of(result: Comparison, config: str) -> Any:
    """The trained model of `config` for the first seed of `result`."""
    seed = int(result.final["seed"].min())
    return result.models[config, seed]


def module_kinds(model: Any, kinds: Iterable[type]) -> set[str]:
    """The names of the classes in `kinds` that occur among `model`'s modules."""
    kinds = tuple(kinds)
    return {type(m).__name__ for m in model.modules() if isinstance(m, kinds)}


def reference_config(result: Comparison, name: str, column: str, value: Any, what: str) -> str:
    """The config of `result` whose setting `column` is `value` (e.g. the one without a scheduler)."""
    found = [c for c, v in result.settings[column].items() if _key(v) == _key(value)]
    if len(found) != 1:
        raise AssertionError(f"`{name}` should have exactly one config with {what}; it has {len(found)}")
    return found[0]


def leaf_order(model: Any, x: Any) -> list[tuple[str, Any]]:
    """The leaf modules of `model` other than `nn.Identity`, as (name, module), in the order in which a forward
    pass of `x` runs them (a module that runs twice appears twice): which layer follows which, e.g. whether a
    BatchNorm comes right after each convolution. The pass runs on a copy in eval mode, without gradients and
    with the CPU random state restored afterwards, so `model` and its running statistics stay as they are;
    the modules returned are the copy's (their settings are the model's)."""
    import copy

    import torch
    from torch import nn

    clone = copy.deepcopy(model).eval()
    ran, handles = [], []
    for name, module in clone.named_modules():
        if not list(module.children()) and not isinstance(module, nn.Identity):
            handles.append(module.register_forward_hook(lambda m, args, out, name=name: ran.append((name, m))))
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            clone(x)
    finally:
        for handle in handles:
            handle.remove()
    return ran
