"""Fair comparisons: the same initial weights and the same data order for every config, and
their analysis as per-seed paired differences."""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch import nn

from .data import DataError, MNISTSplits
from .train import evaluate, fit

METRICS = ("train_loss", "train_acc", "val_loss", "val_acc")
FIT_BATCH_SIZE = inspect.signature(fit).parameters["batch_size"].default


def set_seed(seed: int) -> None:
    """Seed Python's, NumPy's and torch's random number generators (CPU and every GPU).

    Also asks cuDNN for deterministic convolution algorithms, so that a rerun on the same GPU
    gives the same numbers where PyTorch allows it.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False


class Comparison(NamedTuple):
    """What `compare` returns.

    `history`: one row per (config, seed, epoch); `summary`: final-epoch mean and sd over
    seeds, one row per config; `models`: the trained models by `(config, seed)`; `final`: one
    row per (config, seed) with the final-epoch metrics (and `test_acc` with `test=True`), the
    input of `paired_differences`; `settings`: one row per config saying what it ran with (see
    `run_settings`; `compare` adds `label_smoothing`, `epochs`, `train_images` and `val_images`, the
    sizes of the training and validation splits it was given, and `test`, whether it read the test
    set), so that a table can be checked against what was asked (the homework checks).
    """

    history: pd.DataFrame
    summary: pd.DataFrame
    models: dict[tuple[str, int], nn.Module]
    final: pd.DataFrame
    settings: pd.DataFrame | None = None


def run_settings(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    batch_size: int,
    augment: Callable | None,
) -> dict[str, Any]:
    """What one run trains with, as read from its objects once they are built (the scheduler too,
    as `OneCycleLR` changes the optimizer's rate and momentum when it is created): the model's
    class and parameter count, the optimizer's class, `lr`, `max_lr` (OneCycleLR's peak, else
    `lr`), `momentum` (SGD's, or Adam's beta1; NaN if none), `nesterov`, `weight_decay`, the
    scheduler's class (None for a constant rate) and `scheduler_steps` (the training steps a
    OneCycleLR spans, its `total_steps`; None for other schedulers), `batch_size`, the
    augmentation's name (None without) and `augment_options` (its settings, e.g. RandomAffine's
    `{"degrees": 7, "translate": 0.1, "scale": None}`; None for a plain function), and `dropout`,
    the rate `p` of every dropout layer of the model with p > 0, in the model's order (a tuple, empty
    without dropout)."""
    group = optimizer.param_groups[0]
    momentum = group.get("momentum", group.get("betas", (float("nan"),))[0])
    return {
        "model": type(model).__name__,
        "parameters": sum(p.numel() for p in model.parameters()),
        "optimizer": type(optimizer).__name__,
        "lr": group.get("initial_lr", group["lr"]),
        "max_lr": group.get("max_lr", group.get("initial_lr", group["lr"])),
        "momentum": momentum,
        "nesterov": bool(group.get("nesterov", False)),
        "weight_decay": group.get("weight_decay", 0.0),
        "scheduler": type(scheduler).__name__ if scheduler is not None else None,
        "scheduler_steps": getattr(scheduler, "total_steps", None)
        if scheduler is not None
        else None,
        "batch_size": batch_size,
        "augment": getattr(augment, "__name__", type(augment).__name__)
        if augment is not None
        else None,
        "augment_options": _plain_options(augment),
        "dropout": tuple(
            float(m.p)
            for m in model.modules()
            if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0
        ),
    }


def _plain_options(augment: Any) -> dict[str, Any] | None:
    """The public attributes of an augmentation object that are plain values (numbers, strings, None, and
    tuples or lists of those), by name; None for a function, a lambda or no augmentation."""
    if augment is None or inspect.isroutine(augment) or not hasattr(augment, "__dict__"):
        return None

    def plain(value: Any) -> bool:
        if isinstance(value, (tuple, list)):
            return all(plain(v) for v in value)
        return value is None or isinstance(value, (int, float, str))

    return {
        k: (tuple(v) if isinstance(v, list) else v)
        for k, v in vars(augment).items()
        if not k.startswith("_") and k != "training" and plain(v)
    }


def compare(
    make_model: Callable[[], nn.Module],
    configs: Mapping[str, Mapping[str, Any]],
    seeds: Iterable[int],
    data: MNISTSplits,
    epochs: int,
    *,
    test: bool = False,
    device: torch.device | str | None = None,
    progress: bool = False,
    **fit_kwargs: Any,
) -> Comparison:
    """Train every config for every seed, each run from the same start, and tabulate.

    A config is a dict with an `optimizer` factory (`params -> Optimizer`) and, optionally,
    a `model` factory (replacing `make_model`), a `scheduler` factory (`optimizer -> scheduler`),
    an `init` (see below) and any other `fit` keyword (`batch_size`, `augment`, ...). For each
    seed, `make_model()` builds the reference initial weights and every config's model starts from
    them (all parameters and buffers whose name and shape match). A config that asks for another
    initialization gives it as `init`, a function that changes the model in place (its return
    value is ignored): it is applied after the shared start is copied in, so that the shared start
    does not undo it, with the random generators seeded with the seed again. An `init` that
    rescales the shared start (He's uniform init is PyTorch's default draw times sqrt(6)) keeps the
    runs paired: the same random numbers, scaled; one that draws new weights gives that config its
    own start (the same for every call with that seed). Every run sees the same data order (its
    own CPU generator seeded with the seed) and the same global RNG state (dropout,
    augmentation). Models are built on the CPU, so the initial weights are the same on every
    device, then moved to `device` (default: the device of `data`). With `test=True` the test
    accuracy of each final model is added (`final.test_acc`, `summary.test_acc_mean/sd`).
    `progress=True` shows each run's `fit` progress bar (off by default: one bar per run and seed
    would fill a lesson's output).
    """
    device = torch.device(device) if device is not None else data.x_train.device
    history, models, settings = [], {}, {}
    for seed in seeds:
        set_seed(seed)
        reference = make_model().state_dict()
        for name, config in configs.items():
            config = dict(config)
            set_seed(seed)
            model = config.pop("model", make_model)()
            own = model.state_dict()
            model.load_state_dict(
                {k: v for k, v in reference.items() if k in own and own[k].shape == v.shape},
                strict=False,
            )
            init = config.pop("init", None)
            # the config's own initialization, applied to the shared start (not undone by it)
            if init is not None:
                set_seed(seed)
                with torch.no_grad():
                    init(model)
            model.to(device)
            optimizer = config.pop("optimizer")(model.parameters())
            make_scheduler = config.pop("scheduler", None)
            scheduler = make_scheduler(optimizer) if make_scheduler else None
            options = {"progress": progress, **fit_kwargs, **config}
            settings.setdefault(
                name,
                {
                    **run_settings(
                        model,
                        optimizer,
                        scheduler,
                        options.get("batch_size", FIT_BATCH_SIZE),
                        options.get("augment"),
                    ),
                    "label_smoothing": options.get("label_smoothing", 0.0),
                    "epochs": epochs,
                    "train_images": len(data.y_train),
                    "val_images": len(data.y_val),
                    "test": bool(test),
                },
            )
            set_seed(seed)
            run = fit(
                model,
                data,
                optimizer,
                epochs,
                scheduler=scheduler,
                generator=torch.Generator().manual_seed(seed),
                **options,
            )
            history.append(run.assign(config=name, seed=seed))
            models[name, seed] = model
    tidy = pd.concat(history, ignore_index=True)
    tidy = tidy[["config", "seed", *[c for c in tidy.columns if c not in ("config", "seed")]]]
    final = final_epoch(tidy)
    if test:
        final["test_acc"] = [
            evaluate(models[c, s], data.x_test, data.y_test)[1]
            for c, s in zip(final["config"], final["seed"])
        ]
    summary = summarize(tidy, final=final)
    return Comparison(
        tidy,
        summary,
        models,
        final,
        pd.DataFrame.from_dict(settings, orient="index").rename_axis("config"),
    )


def final_epoch(history: pd.DataFrame) -> pd.DataFrame:
    """The last epoch's row of each (config, seed) run, in the order the runs appear."""
    last = history.groupby(["config", "seed"], sort=False)["epoch"].transform("max")
    return history[history["epoch"] == last].reset_index(drop=True)


def summarize(
    history: pd.DataFrame, metrics: Iterable[str] = METRICS, final: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Final-epoch mean and sd over seeds of each metric (and of `test_acc` when `final` has it),
    one row per config, plus `seconds_per_epoch`: the mean training time of one epoch."""
    final = final_epoch(history) if final is None else final
    metrics = [*metrics, *(["test_acc"] if "test_acc" in final else [])]
    table = {}
    for m in metrics:
        by_config = final.groupby("config", sort=False)[m]
        table[f"{m}_mean"], table[f"{m}_sd"] = by_config.mean(), by_config.std()
    table["seconds_per_epoch"] = history.groupby("config", sort=False)["seconds"].mean()
    return pd.DataFrame(table)


def paired_differences(
    result: Comparison | pd.DataFrame,
    reference: str,
    metric: str = "val_acc",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per-seed differences `config - reference` of a final-epoch metric, and what they show.

    Runs with the same seed share their start and data order, so their difference removes the
    luck of the seed that both runs share. For every config other than `reference`, the table
    has one column per seed (`seed 0`, `seed 1`, ...), then `mean`, its standard error
    `se = sd / sqrt(n)`, a Student-t confidence interval `ci_low`..`ci_high` with n - 1 degrees
    of freedom (a paired t-test in interval form), `wins` (seeds where the config is higher, of
    `n`) and `verdict`: "higher" or "lower" when the interval excludes 0, else "no detectable
    difference". `result` is a `Comparison` or its `final` table (columns config, seed, metric).
    Units are those of the metric (percentage points for accuracies).

    Raises ValueError if `reference` or `metric` is missing, if fewer than 2 seeds are shared,
    or if a config lacks a seed the reference has.
    """
    final = result.final if isinstance(result, Comparison) else result
    if metric not in final:
        raise ValueError(
            f"no column {metric!r} in the results (columns: {', '.join(final.columns)}); "
            "for test accuracy, run compare(..., test=True)"
        )
    wide = final.pivot(index="config", columns="seed", values=metric)
    wide = wide.reindex(final["config"].drop_duplicates())
    if reference not in wide.index:
        raise ValueError(
            f"reference config {reference!r} not found; configs: {', '.join(map(str, wide.index))}"
        )
    missing = [f"{c} seed {s}" for (c, s), v in wide.stack(future_stack=True).items() if pd.isna(v)]
    if missing:
        raise ValueError(
            f"runs cannot be paired: no run for {', '.join(missing)}; "
            "run every config with the same seeds"
        )
    n = wide.shape[1]
    if n < 2:
        raise ValueError(f"paired differences need at least 2 seeds, got {n}")
    diffs = wide.drop(index=reference) - wide.loc[reference]
    diffs.columns = [f"seed {s}" for s in diffs.columns]
    mean, se = diffs.mean(axis=1), diffs.std(axis=1, ddof=1) / np.sqrt(n)
    half = stats.t.ppf(0.5 + confidence / 2, df=n - 1) * se
    table = diffs.assign(
        mean=mean, se=se, ci_low=mean - half, ci_high=mean + half, wins=(diffs > 0).sum(axis=1), n=n
    )
    table["verdict"] = np.where(
        table["ci_low"] > 0,
        "higher",
        np.where(table["ci_high"] < 0, "lower", "no detectable difference"),
    )
    table.index.name = "config"
    table.attrs.update(reference=reference, metric=metric, confidence=confidence)
    return table


def read_runs(url: str) -> pd.DataFrame:
    """Recorded runs of the course's benchmarks (a JSON-lines file in `benchmarks/`), one row per line.

    `url` is the file on GitHub, `https://raw.githubusercontent.com/<owner>/<repo>/<branch>/benchmarks/<name>`
    (`make badges` points it at the course's repository). Inside a clone of the course, that is when
    `benchmarks/<name>` exists in the working directory or one of its parents (a lesson runs from
    `notebooks/`), the local file is read instead: the lesson then runs offline and shows the
    committed numbers. Elsewhere (Colab) the file is downloaded.

    Raises ValueError for a URL that does not name a `benchmarks/*.jsonl` file, and DataError, naming
    the URL and what to do, when the file can be neither found nor downloaded.
    """
    folder, _, name = url.rstrip("/").rpartition("/")
    if not folder.endswith("/benchmarks") or not name.endswith(".jsonl"):
        raise ValueError(
            f"{url!r} is not a JSON-lines file of the course's benchmarks/ folder "
            "(https://raw.githubusercontent.com/<owner>/<repo>/<branch>/benchmarks/<name>.jsonl)"
        )
    for parent in (Path.cwd(), *Path.cwd().parents):
        local = parent / "benchmarks" / name
        if local.is_file():
            return pd.read_json(local, lines=True)
    try:
        return pd.read_json(url, lines=True)
    except (OSError, ValueError) as err:  # urllib's URLError and HTTPError are OSErrors
        raise DataError(
            f"could not read the recorded runs {name} from {url} ({err}): check the internet "
            "connection, or run the lesson inside a clone of the course, whose benchmarks/ "
            "folder has the file"
        ) from err
