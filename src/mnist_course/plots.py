"""Figures every lesson uses: learning curves, digit grids, failure cases, a confusion matrix."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from .train import predict

#: How each history column is labelled on an axis.
LABELS = {
    "train_loss": "training loss (cross-entropy)", "val_loss": "validation loss (cross-entropy)",
    "train_acc": "training accuracy (%)", "val_acc": "validation accuracy (%)",
    "lr": "learning rate", "seconds": "seconds per epoch",
}


def plot_history(
    history: pd.DataFrame, metrics: tuple[str, ...] = ("loss", "acc"), hue: str | None = None, title: str | None = None
) -> Figure:
    """Learning curves, one panel per metric: `"loss"` / `"acc"` show train (dashed) and validation
    (solid); any other column (e.g. `"val_acc"`, `"lr"`) is shown alone. With `hue` (e.g. `"config"`)
    one colour per value, and the mean over seeds with a +-1 sd band when there are several."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        columns = [f"train_{metric}", f"val_{metric}"] if metric in ("loss", "acc") else [metric]
        long = history.melt(id_vars=[c for c in ("epoch", hue) if c], value_vars=columns, var_name="split")
        long["split"] = long["split"].str.split("_").str[0].map({"train": "train", "val": "validation"}).fillna(metric)
        sns.lineplot(data=long, x="epoch", y="value", hue=hue, style="split" if len(columns) > 1 else None,
                     style_order=["validation", "train"] if len(columns) > 1 else None,
                     errorbar="sd", marker="o", ax=ax)
        ax.set(xlabel="epoch", ylabel=_axis_label(metric))
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _axis_label(metric: str) -> str:
    return {"loss": "loss (cross-entropy)", "acc": "accuracy (%)"}.get(metric) or LABELS.get(metric, metric)


def show_digits(
    x: Tensor, labels: list[str] | Tensor | None = None, ncols: int = 8, size: float = 1.3, title: str | None = None
) -> Figure:
    """A grid of digit images (`[N, 1, 28, 28]`), each titled with its label (a number or a string)."""
    n = len(x)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.25) * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
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
    table = pd.DataFrame({"index": worst, "true": y.cpu()[worst], "predicted": predicted[worst],
                          "confidence": confidence[worst] * 100})
    table.attrs["n_errors"] = len(wrong)
    return table


def plot_failures(model: nn.Module, x: Tensor, y: Tensor, n: int = 16, ncols: int = 8) -> Figure:
    """The `n` most confident mistakes on all of `(x, y)`, titled "predicted (confidence) / true"."""
    table = most_confident_mistakes(model, x, y, n)
    labels = [f"pred {r.predicted} ({r.confidence:.0f}%)\ntrue {r.true}" for r in table.itertuples()]
    fig = show_digits(x[table["index"].tolist()], labels, ncols=ncols, size=1.5)
    fig.suptitle(f"The {len(table)} most confident of {table.attrs['n_errors']:,} mistakes on {len(y):,} images")
    fig.tight_layout()
    return fig


def confusion_matrix(model: nn.Module, x: Tensor, y: Tensor, num_classes: int = 10) -> pd.DataFrame:
    """Counts of (true label, predicted label) over all of `(x, y)`: rows true, columns predicted."""
    predicted = predict(model, x).argmax(1)
    counts = torch.bincount(y.cpu() * num_classes + predicted, minlength=num_classes**2)
    return pd.DataFrame(counts.reshape(num_classes, num_classes).numpy(),
                        index=pd.Index(range(num_classes), name="true label"),
                        columns=pd.Index(range(num_classes), name="predicted label"))


def plot_confusion(model: nn.Module, x: Tensor, y: Tensor, ax: Axes | None = None) -> Axes:
    """The confusion matrix as an annotated heatmap (diagonal = correct)."""
    matrix = confusion_matrix(model, x, y)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 5.5))
    sns.heatmap(matrix, annot=True, fmt="d", cmap="Blues", cbar_kws={"label": "number of images"}, ax=ax)
    accuracy = matrix.to_numpy().trace() / matrix.to_numpy().sum() * 100
    ax.set_title(f"Confusion matrix on {len(y):,} images (accuracy {accuracy:.2f}%)")
    return ax
