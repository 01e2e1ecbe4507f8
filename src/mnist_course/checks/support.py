"""Assertions shared by the homework test files: each raises `AssertionError` with a message that
says what is wrong and how to fix it, never what the answer is."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..experiments import Comparison, paired_differences

VERDICTS = ("higher", "lower", "no detectable difference")


def given(value: Any, name: str, hint: str) -> Any:
    """`value`, unless it is still the skeleton's `...` (or undefined, which the runner passes as None)."""
    if value is ... or value is None:
        raise AssertionError(f"`{name}` is not set yet (still `...` or undefined): {hint}")
    return value


def _type(value: Any) -> str:
    """A value's type as a hint names it: "a str ('batch 32')", "a Series", ..."""
    kind = type(value).__name__
    return (
        f"a {kind} ({value!r})"
        if isinstance(value, (str, bool, np.bool_)) and len(repr(value)) < 40
        else f"a {kind}"
    )


def real(value: Any, name: str, hint: str, example: str = "0.1") -> float:
    """`value` as one number: any real number (int, float, NumPy's), not a bool, a str or a table."""
    given(value, name, hint)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise AssertionError(
            f"`{name}` should be a number (e.g. {example}), not {_type(value)}: {hint}"
        )
    return float(value)


def whole(value: Any, name: str, hint: str, example: str = "128") -> int:
    """`value` as one whole number: an int, a NumPy integer or a float without a fraction (128.0)."""
    number = real(value, name, hint, example)
    if not number.is_integer():
        raise AssertionError(
            f"`{name}` = {number!r} should be a whole number (e.g. {example}): {hint}"
        )
    return int(number)


def boolean(value: Any, name: str, hint: str) -> bool:
    """`value` as True or False (Python's or NumPy's bool)."""
    given(value, name, hint)
    if not isinstance(value, (bool, np.bool_)):
        raise AssertionError(
            f"`{name}` should be True or False (a bool), not {_type(value)}: {hint}"
        )
    return bool(value)


def close(answer: float, expected: float, rel_tol: float = 1e-6, abs_tol: float = 0.0) -> bool:
    return math.isclose(float(answer), float(expected), rel_tol=rel_tol, abs_tol=abs_tol)


def comparison(value: Any, name: str, hint: str) -> Comparison:
    """`value` as the result of `mc.compare`."""
    given(value, name, hint)
    if not isinstance(value, Comparison) or value.settings is None:
        raise AssertionError(
            f"`{name}` should be what `mc.compare(...)` returns, not a {type(value).__name__}: {hint}"
        )
    if "train_images" not in value.settings:
        raise AssertionError(
            f"`{name}` was made by an older mnist_course, which did not record everything the check "
            "reads: rerun the install cell at the top of the lesson, restart, and run the runs again"
        )
    return value


def configs(result: Comparison) -> list[str]:
    """The config names of `result`, in their order."""
    return list(result.final["config"].drop_duplicates())


def same_seeds(
    result: Comparison, name: str, seeds: Iterable[int], seeds_name: str = "SEEDS"
) -> None:
    """Every config of `result` ran every seed of `seeds` (the lesson's, called `seeds_name` there), and only those."""
    seeds = sorted(int(s) for s in seeds)
    for config, ran in result.final.groupby("config", sort=False)["seed"]:
        if sorted(int(s) for s in ran) != seeds:
            raise AssertionError(
                f"`{name}`: config {config!r} ran seeds {sorted(int(s) for s in ran)}, the question asks "
                f"for the lesson's seeds {seeds} ({seeds_name} as the lesson sets it): pass them as the "
                "seeds of mc.compare"
            )


def same_epochs(result: Comparison, name: str, epochs: int | None = None) -> int:
    """The number of epochs, checked to be the same for every run (and equal to `epochs` if given)."""
    counts = result.history.groupby(["config", "seed"], sort=False)["epoch"].max()
    if counts.nunique() != 1:
        raise AssertionError(
            f"`{name}`: the runs trained for different numbers of epochs ({sorted(counts.unique())}): "
            "compare every variant after the same number of epochs"
        )
    ran = int(counts.iloc[0])
    if epochs is not None and ran != epochs:
        raise AssertionError(
            f"`{name}`: the runs trained for {ran} epochs, the question asks for {epochs}"
        )
    return ran


def _key(value: Any) -> str:
    """A setting as a comparable string: numbers as floats rounded to 9 significant digits (0 and 0.0 alike),
    None and NaN as "none", tuples and dicts element by element."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.9g}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_key(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_key(v)}" for k, v in sorted(value.items())) + "}"
    return str(value)


def shown(value: Any) -> str:
    """A setting as a hint shows it: numbers with up to 6 significant digits, None for a missing value."""
    if _key(value) == "none":
        return "None"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.6g}"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(shown(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) + "}"
    return str(value)


def same_setting(result: Comparison, name: str, column: str, what: str) -> Any:
    """The one value of `column` in `result.settings`, checked to be the same for every config."""
    values = result.settings[column]
    if len({_key(v) for v in values}) != 1:
        listed = ", ".join(f"{c}: {shown(v)}" for c, v in values.items())
        raise AssertionError(
            f"`{name}`: the configs differ in their {what} ({listed}); change only what the question "
            f"asks for and keep the {what} the same"
        )
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
    given(value, name, f"set it to one of {', '.join(map(repr, VERDICTS))}.")
    if not isinstance(value, str):
        raise AssertionError(
            f"`{name}` should be a verdict, a str: one of {', '.join(map(repr, VERDICTS))}; not "
            f"{_type(value)}."
        )
    if value not in VERDICTS:
        raise AssertionError(
            f"`{name}` is {value!r}; a verdict is one of {', '.join(map(repr, VERDICTS))}."
        )
    return value


def agrees(answer: Any, expected: Any, name: str, source: str, rel_tol: float = 1e-6) -> None:
    """`answer` equals `expected`, which was read from the student's own results (`source` says where); numbers
    (any real number, not a bool) within `rel_tol`, so that a rounding the question allows passes."""
    numeric = [
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
        for v in (answer, expected)
    ]
    if all(numeric):
        ok = math.isclose(float(answer), float(expected), rel_tol=rel_tol, abs_tol=1e-12)
    else:
        ok = answer == expected
    if not ok:
        raise AssertionError(
            f"`{name}` = {answer!r} does not agree with your own results: look again at {source}."
        )


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
        raise AssertionError(
            f"`{name}` should be a table (a pandas DataFrame), not a {type(value).__name__}: {hint}"
        )
    missing = [c for c in columns if c not in value.columns]
    if missing:
        raise AssertionError(f"`{name}` lacks the columns {', '.join(missing)}: {hint}")
    return value


def distinct(result: Comparison, name: str, column: str, what: str) -> list[Any]:
    """The values of `column` in `result.settings`, checked to differ from config to config."""
    values = list(result.settings[column])
    keys = [_key(v) for v in values]
    if len(set(keys)) != len(values):
        listed = ", ".join(f"{c}: {shown(v)}" for c, v in result.settings[column].items())
        if len(set(keys)) == 1:
            raise AssertionError(
                f"`{name}`: all {len(values)} configs have the same {what} ({listed}); give each config "
                f"its own {what}"
            )
        twins = [c for c, k in zip(result.settings.index, keys) if keys.count(k) > 1]
        raise AssertionError(
            f"`{name}`: the configs {', '.join(map(repr, twins))} have the same {what} ({listed}); "
            f"give each config its own {what}"
        )
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
        raise AssertionError(
            f"`{name}` should have exactly one config with {what}; it has {len(found)}"
        )
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
            handles.append(
                module.register_forward_hook(lambda m, args, out, name=name: ran.append((name, m)))
            )
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            clone(x)
    finally:
        for handle in handles:
            handle.remove()
    return ran


# ---- the one rule: only the asked-for setting differs, everything else is the lesson's recipe ----

#: The recorded settings the rule compares, in the order a hint reports them, with how a hint names them.
RULE = [
    ("optimizer", "optimizer"),
    ("max_lr", "learning rate (a schedule's peak)"),
    ("momentum", "momentum"),
    ("nesterov", "Nesterov momentum"),
    ("weight_decay", "weight decay"),
    ("scheduler", "learning-rate schedule"),
    ("batch_size", "batch size"),
    ("augment", "augmentation"),
    ("augment_options", "augmentation's strength"),
    ("parameters", "number of parameters"),
    ("dropout", "dropout rates"),
    ("label_smoothing", "label smoothing"),
]


def _recipe_value(recipe: Any, column: str) -> Any:
    return recipe.lr if column == "max_lr" else getattr(recipe, column, None)


def keeps_recipe(
    result: Comparison,
    name: str,
    recipe: Any,
    changes: Iterable[str] = (),
    seeds_name: str = "SEEDS",
    data_hint: str = "pass the lesson's data to mc.compare",
) -> None:
    """The one rule of every check: the runs of `result` differ only in the settings `changes` (columns of
    `Comparison.settings`, the question's own), and in everything else they are the same for every config and
    equal to the lesson's `recipe` (`recipes.Recipe`; a field of None is only required to be the same): the
    validation split and never the test set, the number of training and validation images, the seeds (the
    lesson's `seeds_name`), the epochs, the optimizer and its arguments, the rate, the schedule (and that a
    one-cycle schedule spans its run), the batch size, the augmentation and its strength, the model's size
    and its dropout, label smoothing."""
    changes = set(changes)
    settings = result.settings
    if any(bool(v) for v in settings["test"]):
        raise AssertionError(
            f"`{name}` read the test set (mc.compare(..., test=True)): the course compares on the "
            "validation split and reads the test set once, at the end, for the final model only; run "
            "the comparison without test=True"
        )
    for column, what, expected in [
        ("train_images", "training images", recipe.train_images),
        ("val_images", "validation images", recipe.val_images),
    ]:
        value = same_setting(result, name, column, f"number of {what}")
        if int(value) != expected:
            raise AssertionError(
                f"`{name}` trained and validated with {int(value):,} {what}; the question asks for "
                f"the lesson's {expected:,}: {data_hint}"
            )
    same_seeds(result, name, recipe.seeds, seeds_name)
    epochs = same_epochs(result, name, recipe.epochs)
    for column, what in RULE:
        if column in changes:
            continue
        value = same_setting(result, name, column, what)
        expected = _recipe_value(recipe, column)
        if expected is None or expected == "any":
            continue
        if _key(value) != _key(expected):
            raise AssertionError(
                f"`{name}` trains with {what} {shown(value)} in every config; the question changes "
                f"only {', '.join(sorted(changes)) or 'what it names'} and keeps the lesson's "
                f"{what}, {shown(expected)}"
            )
    spans_run(result, name, epochs)


def one_cycle_rates(
    max_lr: float, total_steps: int, steps: Iterable[int], **options: Any
) -> list[float]:
    """The learning rates of PyTorch's OneCycleLR (peak `max_lr` over `total_steps`, `options` as its other
    arguments, the defaults otherwise) at the training steps `steps`, computed by OneCycleLR itself."""
    import torch

    probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=max_lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        probe, max_lr=max_lr, total_steps=total_steps, cycle_momentum=False, **options
    )
    rates = []
    with warnings.catch_warnings():
        # get_lr outside step() warns; it computes the rate of last_epoch
        warnings.simplefilter("ignore")
        for step in steps:
            schedule.last_epoch = int(step)
            rates.append(float(schedule.get_lr()[0]))
    return rates


def spans_run(result: Comparison, name: str, epochs: int) -> None:
    """Every one-cycle schedule of `result` spans its own run: `total_steps` = epochs x the run's batches per epoch
    (ceil(training images / batch size)), and the rate at the start of each epoch is that of PyTorch's
    OneCycleLR with its default shape (warm-up over 30% of the steps from peak / 25, cosine, down to peak / 25e4)."""
    for config, row in result.settings.iterrows():
        if setting(result, config, "scheduler") != "OneCycleLR":
            continue
        per_epoch = math.ceil(int(row["train_images"]) / int(row["batch_size"]))
        total = setting(result, config, "scheduler_steps")
        if total is None or int(total) != epochs * per_epoch:
            raise AssertionError(
                f"`{name}`: the one-cycle schedule of config {config!r} spans {shown(total)} steps, but its runs take "
                f"{epochs} epochs of {per_epoch} batches ({epochs * per_epoch} steps): build it for this run, with "
                f"epochs={epochs} and steps_per_epoch=math.ceil(training images / batch size), "
                f"{int(row['train_images']):,} / {int(row['batch_size'])} here"
            )
        history = result.history[result.history["config"] == config]
        starts = sorted(set(int(e) for e in history["epoch"]))
        expected = one_cycle_rates(
            float(row["max_lr"]), int(total), [(e - 1) * per_epoch for e in starts]
        )
        for epoch, rate in zip(starts, expected):
            ran = history.loc[history["epoch"] == epoch, "lr"]
            if not all(close(r, rate, rel_tol=1e-4, abs_tol=1e-12) for r in ran):
                raise AssertionError(
                    f"`{name}`: config {config!r} starts epoch {epoch} at the rate {float(ran.iloc[0]):.3g}, where the "
                    f"lesson's one-cycle schedule (peak {float(row['max_lr']):.3g}, PyTorch's default shape) is at "
                    f"{rate:.3g}: keep OneCycleLR's other arguments at their defaults, as the lesson does"
                )


def rate_falls(result: Comparison, name: str, config: str, what: str) -> None:
    """The schedule of `config` lowers the learning rate within the run (its last epoch starts below its first)."""
    history = result.history[result.history["config"] == config]
    for _seed, run in history.groupby("seed", sort=False):
        rates = list(run.sort_values("epoch")["lr"])
        if not rates[-1] < rates[0] * (1 - 1e-6):
            raise AssertionError(
                f"`{name}`: the {what} of config {config!r} never lowers the learning rate within its "
                f"{len(rates)} epochs (it starts every epoch at {rates[0]:.3g}): choose a step_size "
                "smaller than the number of epochs, so that the step falls inside the run"
            )


def layer_trace(model: Any, x: Any) -> list[tuple[str, Any]]:
    """What a forward pass of `x` through `model` computes, layer by layer, as (kind, size): "conv" (its output
    channels), "linear" (its output features, and whether it has a bias: (features, bias)), "batchnorm" (its
    features), "activation" (the function's name: relu, gelu, ...), "pool" and "dropout" (None), in the order
    they run. Modules and plain functions alike (F.relu, F.max_pool2d, x.relu(), ...) are seen: the pass runs
    under a torch function mode that records every call, on a copy in eval mode, without gradients, with the
    random state restored, so `model` stays as it is."""
    import copy

    import torch
    from torch.overrides import TorchFunctionMode

    kinds = {
        "relu": "activation",
        "relu_": "activation",
        "gelu": "activation",
        "sigmoid": "activation",
        "tanh": "activation",
        "silu": "activation",
        "elu": "activation",
        "leaky_relu": "activation",
        "relu6": "activation",
        "hardtanh": "activation",
        "softplus": "activation",
        "mish": "activation",
        "max_pool1d": "pool",
        "max_pool2d": "pool",
        "max_pool3d": "pool",
        "avg_pool1d": "pool",
        "avg_pool2d": "pool",
        "avg_pool3d": "pool",
        "adaptive_max_pool2d": "pool",
        "adaptive_avg_pool2d": "pool",
        "lp_pool2d": "pool",
        "dropout": "dropout",
        "dropout1d": "dropout",
        "dropout2d": "dropout",
        "dropout3d": "dropout",
        "alpha_dropout": "dropout",
        "feature_alpha_dropout": "dropout",
        "layer_norm": "norm",
        "group_norm": "norm",
        "instance_norm": "norm",
    }
    trace: list[tuple[str, Any]] = []

    class Recorder(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            called = getattr(func, "__name__", "")
            if called in ("conv1d", "conv2d", "conv3d") and len(args) > 1:
                trace.append(("conv", int(args[1].shape[0])))
            elif called == "linear" and len(args) > 1:
                bias = args[2] if len(args) > 2 else kwargs.get("bias")
                trace.append(("linear", (int(args[1].shape[0]), bias is not None)))
            elif called == "batch_norm" and len(args) > 1:
                trace.append(("batchnorm", int(args[0].shape[1])))
            elif called in kinds:
                trace.append((kinds[called], called if kinds[called] == "activation" else None))
            return func(*args, **kwargs)

    clone = copy.deepcopy(model).eval()
    with torch.no_grad(), torch.random.fork_rng(devices=[]), Recorder():
        clone(x)
    return trace
