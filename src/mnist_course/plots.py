"""Figures every lesson uses: learning curves, digit grids, failure cases, a confusion matrix."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from .train import predict

#: How each history column is labelled on an axis.
LABELS = {
    "train_loss": "training loss (cross-entropy)",
    "val_loss": "validation loss (cross-entropy)",
    "train_acc": "training accuracy (%)",
    "val_acc": "validation accuracy (%)",
    "lr": "learning rate",
    "seconds": "seconds per epoch",
}


#: The width of the site's lesson column at a 1280 px wide desktop window, in CSS pixels (measured): a figure
#: wider than this is shown shrunk to it.
DESKTOP_COLUMN_PX = 790


def plot_history(
    history: pd.DataFrame,
    metrics: tuple[str, ...] = ("loss", "acc"),
    hue: str | None = None,
    title: str | None = None,
    each_seed: bool = True,
) -> Figure:
    """Learning curves, one panel per metric: `"loss"` / `"acc"` show train (dashed) and validation
    (solid), named in the legend; any other column (e.g. `"val_acc"`, `"lr"`) is shown alone. With `hue` (e.g. `"config"`)
    one colour per value. When `history` has several seeds, every seed is drawn as its own thin
    line (`each_seed=True`, the default), or as the mean with a +-1 sd band (`each_seed=False`)."""
    several = "seed" in history and history["seed"].nunique() > 1
    lines = several and each_seed
    # Narrower panels from three on, so that the figure, shrunk to the site's lesson column, keeps its text
    # at least 8 px high (DESKTOP_COLUMN_PX; tests/test_plots.py measures it).
    fig, axes = plt.subplots(
        1,
        len(metrics),
        figsize=((5.5 if len(metrics) < 3 else 4.2) * len(metrics), 3.8),
        squeeze=False,
    )
    for ax, metric in zip(axes[0], metrics):
        columns = [f"train_{metric}", f"val_{metric}"] if metric in ("loss", "acc") else [metric]
        ids = [c for c in ("epoch", hue, "seed" if lines else None) if c]
        long = history.melt(id_vars=list(dict.fromkeys(ids)), value_vars=columns, var_name="split")
        long["split"] = (
            long["split"]
            .str.split("_")
            .str[0]
            .map({"train": "train", "val": "validation"})
            .fillna(metric)
        )
        sns.lineplot(
            data=long,
            x="epoch",
            y="value",
            hue=hue,
            style="split" if len(columns) > 1 else None,
            style_order=["validation", "train"] if len(columns) > 1 else None,
            units="seed" if lines else None,
            estimator=None if lines else "mean",
            errorbar=None if lines else "sd",
            marker="o",
            markersize=4 if lines else 6,
            linewidth=1 if lines else 1.5,
            alpha=0.8 if lines else 1,
            ax=ax,
        )
        ax.set(xlabel="epoch", ylabel=_axis_label(metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
        if ax.get_legend() is not None:
            # long handles, so that the legend shows validation solid and train dashed
            sns.move_legend(
                ax,
                "upper left",
                bbox_to_anchor=(1.01, 1),
                frameon=False,
                fontsize=10,
                handlelength=3.5,
            )
    legends = [ax.get_legend() for ax in axes[0]]
    # a legend that a later panel repeats is shown once, on the right
    for k, legend in enumerate(legends):
        labels = legend and [t.get_text() for t in legend.get_texts()]
        if legend and any(
            later and [t.get_text() for t in later.get_texts()] == labels
            for later in legends[k + 1 :]
        ):
            legend.remove()
    if title:
        fig.suptitle(
            title + (f" ({history['seed'].nunique()} seeds, one line each)" if lines else "")
        )
    fig.tight_layout()
    return fig


#: Colours and markers of the seeds in `plot_paired`: colour-blind safe, no two neighbours alike (the
#: palette's orange and vermillion are never both among the first five), and a shape per seed as well.
SEED_COLOURS = [sns.color_palette("colorblind")[k] for k in (0, 1, 2, 4, 9, 3, 5, 6, 8, 7)]
SEED_MARKERS = ["o", "s", "^", "v", "P", "X", "<", ">", "*", "h"]
#: Colours and markers of the variants in `plot_lr_search` (a lesson can reuse them for its other figures).
VARIANT_COLOURS = [sns.color_palette("colorblind")[k] for k in (0, 1, 2, 4, 7, 9, 3, 5, 6, 8)]
VARIANT_MARKERS = ["o", "s", "D", "^", "P", "X", "<", ">", "*", "h"]


def plot_paired(
    differences: pd.DataFrame, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Dot plot of `paired_differences`: one row per config, one dot per seed (its own colour and
    shape), the mean as a black diamond with its confidence interval, and a line at 0 (no difference
    from the reference)."""
    seeds = [c for c in differences.columns if str(c).startswith("seed ")]
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.55 * len(differences) + 1.4))
    rows = range(len(differences))[::-1]
    for k, seed in enumerate(seeds):
        offset = (k - (len(seeds) - 1) / 2) * 0.06
        ax.scatter(
            differences[seed],
            [r + offset for r in rows],
            color=SEED_COLOURS[k % len(SEED_COLOURS)],
            marker=SEED_MARKERS[k % len(SEED_MARKERS)],
            s=22,
            label=seed,
            zorder=3,
        )
    mean, low, high = (differences[c].to_numpy(dtype=float) for c in ("mean", "ci_low", "ci_high"))
    # arrays: no pandas FutureWarning
    ax.errorbar(
        mean,
        list(rows),
        xerr=np.vstack([mean - low, high - mean]),
        fmt="D",
        color="black",
        capsize=4,
        markersize=6,
        zorder=2,
        label=f"mean, {differences.attrs.get('confidence', 0.95):.0%} CI",
    )
    ax.axvline(0, color="grey", linewidth=1, linestyle="--")
    ax.set_yticks(list(rows), [str(c) for c in differences.index])
    metric, reference = (
        differences.attrs.get("metric", "metric"),
        differences.attrs.get("reference", "reference"),
    )
    unit = " (percentage points)" if metric.endswith("acc") else ""
    ax.set_xlabel(f"{LABELS.get(metric, metric).split(' (')[0]}: config minus {reference}{unit}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    ax.set_title(title or f"Paired differences against {reference}, one dot per seed")
    ax.figure.tight_layout()
    return ax


def plot_lr_search(
    runs: pd.DataFrame,
    chosen: dict[tuple[str, str], float] | None = None,
    shared: dict[str, float] | None = None,
    metric: str = "val_acc",
    floor: float | None = None,
    title: str | None = None,
) -> Figure:
    """A learning-rate search: one panel per optimizer, `metric` (validation accuracy) against the rate
    on a log axis.

    `runs` has one row per run, with the columns `variant`, `optimizer`, `lr`, `seed` and `metric`.
    Each variant has its own colour and marker (`VARIANT_COLOURS`, `VARIANT_MARKERS`, in the order of
    `runs`): a line through the mean over the seeds and a small
    marker per seed; `chosen[variant, optimizer]`, the rate chosen for a variant, is circled, and
    `shared[optimizer]`, a rate for every variant, is a dashed vertical line. The axis starts at
    `floor` (default: 1 below the lowest value above 80, so that the good runs are readable); a run
    below it failed (a diverged run scores about 10%): it is drawn as a triangle on the bottom edge
    (the failed runs of several variants at one rate side by side, slightly off their rate),
    a large one for a mean and a small one for a single seed, and the legend says so (the table of
    the search has the values)."""
    variants = list(dict.fromkeys(runs["variant"]))
    optimizers = list(dict.fromkeys(runs["optimizer"]))
    colours, markers = dict(zip(variants, VARIANT_COLOURS)), dict(zip(variants, VARIANT_MARKERS))
    means = runs.groupby(["optimizer", "variant", "lr"], sort=False)[metric].mean().reset_index()
    if floor is None:
        good = runs[metric][runs[metric] > 80]
        floor = float(np.floor(good.min()) - 1) if len(good) else 0.0
    edge = floor + 0.15  # where a failed run is drawn
    fig, axes = plt.subplots(1, len(optimizers), figsize=(6 * len(optimizers), 4.4), squeeze=False)
    for ax, o in zip(axes[0], optimizers):
        for k, v in enumerate(variants):
            # failed runs of several variants share a rate: side by side (log axis, about ±10% per variant)
            beside = 10 ** (0.045 * (k - (len(variants) - 1) / 2))
            line = means[(means["optimizer"] == o) & (means["variant"] == v)]
            seeds = runs[(runs["optimizer"] == o) & (runs["variant"] == v)]
            ok, low = seeds[seeds[metric] >= floor], seeds[seeds[metric] < floor]
            ax.plot(
                line["lr"],
                line[metric].clip(lower=edge),
                marker=markers[v],
                ms=5,
                lw=1.2,
                color=colours[v],
                label=v,
            )
            ax.scatter(ok["lr"], ok[metric], marker=markers[v], s=12, color=colours[v], alpha=0.5)
            ax.scatter(
                low["lr"] * beside, [edge] * len(low), marker="v", s=14, color=colours[v], alpha=0.5
            )
            failed = line[line[metric] < floor]
            ax.scatter(
                failed["lr"] * beside,
                [edge] * len(failed),
                marker="v",
                s=70,
                color=colours[v],
                zorder=3,
            )
            if chosen and (v, o) in chosen:
                pick = line[line["lr"] == chosen[v, o]]
                ax.scatter(
                    pick["lr"],
                    pick[metric].clip(lower=edge),
                    s=160,
                    facecolors="none",
                    edgecolors=colours[v],
                    lw=1.5,
                )
        if shared and o in shared:
            ax.axvline(shared[o], color="grey", ls="--", lw=1, label="shared rate")
        ax.set_xscale("log")
        ax.set_ylim(floor, None)
        ax.set(
            title=f"{o}: {runs['seed'].nunique()} seeds per rate",
            xlabel="learning rate (log scale)",
            ylabel=LABELS.get(metric, metric),
        )
    handles, labels = axes[0][-1].get_legend_handles_labels()
    handles.append(plt.Line2D([], [], marker="v", ls="", color="black", ms=8))
    labels.append("below the axis: a failed run\n(large: the mean, small: one seed)")
    axes[0][-1].legend(
        handles,
        labels,
        title="variant: mean of the seeds\n(small markers: each seed;\ncircle: chosen rate)",
        loc="upper left",
        bbox_to_anchor=(1.02, 1),
        frameon=False,
        fontsize=8,
    )
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _axis_label(metric: str) -> str:
    return {"loss": "loss (cross-entropy)", "acc": "accuracy (%)"}.get(metric) or LABELS.get(
        metric, metric
    )


def show_digits(
    x: Tensor,
    labels: list[str] | Tensor | None = None,
    ncols: int = 8,
    size: float = 1.3,
    title: str | None = None,
) -> Figure:
    """A grid of digit images (`[N, 1, 28, 28]`), each titled with its label (a number or a string)."""
    n = len(x)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(size * ncols, (size + 0.25) * nrows), squeeze=False
    )
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])  # keep the frame: it shows where the 28x28 image ends
        if i >= n:
            ax.axis("off")
        else:
            ax.imshow(x[i].detach().cpu().squeeze(0).numpy(), cmap="gray_r", vmin=0, vmax=1)
            if labels is not None:
                label = labels[i]
                ax.set_title(str(label.item() if isinstance(label, Tensor) else label), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def most_confident_mistakes(model: nn.Module, x: Tensor, y: Tensor, n: int = 16) -> pd.DataFrame:
    """The `n` misclassified examples the model was surest of, from all of `(x, y)`:
    columns `index`, `true`, `predicted`, `confidence` (%), plus `n_errors` as an attribute."""
    probs = predict(model, x).softmax(1)
    confidence, predicted = probs.max(1)
    wrong = (predicted != y.cpu()).nonzero().squeeze(1)
    worst = wrong[confidence[wrong].argsort(descending=True)][:n]
    table = pd.DataFrame(
        {
            "index": worst,
            "true": y.cpu()[worst],
            "predicted": predicted[worst],
            "confidence": confidence[worst] * 100,
        }
    )
    table.attrs["n_errors"] = len(wrong)
    return table


def plot_failures(
    model: nn.Module, x: Tensor, y: Tensor, n: int = 16, ncols: int = 8, split: str = ""
) -> Figure:
    """The `n` most confident mistakes on all of `(x, y)`, titled "predicted (confidence) / true";
    `split` (e.g. "validation") names the images in the figure's title."""
    table = most_confident_mistakes(model, x, y, n)
    labels = [
        f"pred {r.predicted} ({r.confidence:.0f}%)\ntrue {r.true}" for r in table.itertuples()
    ]
    fig = show_digits(x[table["index"].tolist()], labels, ncols=ncols, size=1.5)
    fig.suptitle(
        f"The {len(table)} most confident of {table.attrs['n_errors']:,} mistakes on {len(y):,} {split + ' ' if split else ''}images"
    )
    fig.tight_layout()
    return fig


def confusion_matrix(model: nn.Module, x: Tensor, y: Tensor, num_classes: int = 10) -> pd.DataFrame:
    """Counts of (true label, predicted label) over all of `(x, y)`: rows true, columns predicted."""
    predicted = predict(model, x).argmax(1)
    counts = torch.bincount(y.cpu() * num_classes + predicted, minlength=num_classes**2)
    return pd.DataFrame(
        counts.reshape(num_classes, num_classes).numpy(),
        index=pd.Index(range(num_classes), name="true label"),
        columns=pd.Index(range(num_classes), name="predicted label"),
    )


def plot_confusion(
    model: nn.Module, x: Tensor, y: Tensor, ax: Axes | None = None, split: str = "validation"
) -> Axes:
    """The confusion matrix as an annotated heatmap of the mistakes: the colours show only the
    off-diagonal counts (the diagonal, the correct predictions, would use up the colour scale
    otherwise) and the diagonal counts are written in bold. `split` names the images in the title."""
    matrix = confusion_matrix(model, x, y)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    counts = matrix.to_numpy()
    diagonal = np.eye(len(matrix), dtype=bool)
    sns.heatmap(
        matrix,
        mask=diagonal,
        annot=True,
        fmt="d",
        cmap="Reds",
        linewidths=0.5,
        linecolor="white",
        cbar_kws={"label": "number of mistakes"},
        ax=ax,
    )
    for i in range(len(matrix)):
        ax.text(
            i + 0.5,
            i + 0.5,
            f"{counts[i, i]:,}",
            ha="center",
            va="center",
            fontsize=8,
            fontweight="bold",
        )
    accuracy = counts.trace() / counts.sum() * 100
    ax.set_title(
        f"Confusion matrix, {len(y):,} {split} images (accuracy {accuracy:.2f}%)\n"
        "colours: mistakes only; bold diagonal: correct"
    )
    return ax
