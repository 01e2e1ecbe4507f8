"""Fair comparisons: the same initial weights and the same data order for every config."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from .data import MNISTSplits
from .train import evaluate, fit

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's (CPU and CUDA) random number generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Comparison(NamedTuple):
    """What `compare` returns: per-epoch `history`, final-epoch `summary`, and the trained `models`."""

    history: pd.DataFrame
    summary: pd.DataFrame
    models: dict[tuple[str, int], nn.Module]


def compare(
    make_model: Callable[[], nn.Module],
    configs: Mapping[str, Mapping[str, Any]],
    seeds: Iterable[int],
    data: MNISTSplits,
    epochs: int,
    *,
    test: bool = False,
    **fit_kwargs: Any,
) -> Comparison:
    """Train every config for every seed, each run from the same start, and tabulate.

    A config is a dict with an `optimizer` factory (`params -> Optimizer`) and, optionally,
    a `model` factory (replacing `make_model`), a `scheduler` factory (`optimizer -> scheduler`)
    and any other `fit` keyword (`batch_size`, `augment`, ...). For each seed, `make_model()`
    builds the reference initial weights and every config's model starts from them (all
    parameters and buffers whose name and shape match); every run sees the same data order
    (its own generator seeded with the seed) and the same global RNG state (dropout,
    augmentation). With `test=True` the summary adds the test accuracy of each final model.
    """
    history, models = [], {}
    for seed in seeds:
        set_seed(seed)
        reference = make_model().state_dict()
        for name, config in configs.items():
            config = dict(config)
            set_seed(seed)
            model = config.pop("model", make_model)()
            own = model.state_dict()
            model.load_state_dict({k: v for k, v in reference.items() if k in own and own[k].shape == v.shape},
                                  strict=False)
            optimizer = config.pop("optimizer")(model.parameters())
            make_scheduler = config.pop("scheduler", None)
            set_seed(seed)
            run = fit(model, data, optimizer, epochs,
                      scheduler=make_scheduler(optimizer) if make_scheduler else None,
                      generator=torch.Generator().manual_seed(seed), **{**fit_kwargs, **config})
            history.append(run.assign(config=name, seed=seed))
            models[name, seed] = model
    tidy = pd.concat(history, ignore_index=True)
    tidy = tidy[["config", "seed", *[c for c in tidy.columns if c not in ("config", "seed")]]]
    summary = summarize(tidy)
    if test:
        acc = pd.Series({key: evaluate(m, data.x_test, data.y_test)[1] for key, m in models.items()})
        by_config = acc.groupby(level=0, sort=False)
        summary["test_acc_mean"], summary["test_acc_sd"] = by_config.mean(), by_config.std()
    return Comparison(tidy, summary, models)


def summarize(history: pd.DataFrame, metrics: Iterable[str] = METRICS) -> pd.DataFrame:
    """Final-epoch mean and sd over seeds of each metric, one row per config, plus total seconds."""
    final = history[history["epoch"] == history.groupby(["config", "seed"])["epoch"].transform("max")]
    seconds = history.groupby(["config", "seed"], sort=False)["seconds"].sum().groupby("config", sort=False)
    table = {}
    for m in metrics:
        by_config = final.groupby("config", sort=False)[m]
        table[f"{m}_mean"], table[f"{m}_sd"] = by_config.mean(), by_config.std()
    table["seconds_mean"] = seconds.mean()
    return pd.DataFrame(table)
