"""Plots: labels say what is plotted; failures come from the whole set; the confusion matrix adds up."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch
from torch import nn

import mnist_course as mc

# Any warning a plotting helper prints is an error here: on Colab's versions (pandas 2.2.3, matplotlib 3.10.0)
# a warning shows under the student's figure (`make colab` runs the lessons on those versions).
pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def trained(small: mc.MNISTSplits) -> nn.Module:
    mc.set_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    mc.fit(model, small, torch.optim.SGD(model.parameters(), lr=0.1), 2, progress=False)
    return model


def history(seeds: int = 1) -> pd.DataFrame:
    rows = [dict(config=c, seed=s, epoch=e, lr=0.1, train_loss=1 / e, val_loss=1.2 / e, train_acc=90 + e,
                 val_acc=89 + e + s, seconds=1.0) for c in ("a", "b") for s in range(seeds) for e in (1, 2, 3)]
    return pd.DataFrame(rows)


def test_learning_curves_are_labelled_by_what_they_plot() -> None:
    fig = mc.plot_history(history()[lambda h: h.config == "a"], title="linear model")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss (cross-entropy)" and acc_ax.get_ylabel() == "accuracy (%)"
    assert loss_ax.get_xlabel() == "epoch" and fig._suptitle.get_text() == "linear model"
    legend = acc_ax.get_legend()
    assert {t.get_text() for t in legend.get_texts()} >= {"train", "validation"}
    styles = {t.get_text(): h.get_linestyle() for t, h in zip(legend.get_texts(), legend.legend_handles)}
    assert styles["train"] != styles["validation"] and legend.handlelength >= 3  # long enough to see the dashes
    top = max(max(line.get_ydata()) for line in acc_ax.get_lines() if len(line.get_ydata()))
    assert top == pytest.approx(93)  # the accuracy panel holds accuracies, not losses


def test_learning_curves_of_a_comparison_show_each_seed_or_sd_bands() -> None:
    fig = mc.plot_history(history(seeds=3), metrics=("val_acc", "lr"), hue="config", title="t")
    acc_ax, lr_ax = fig.axes
    assert acc_ax.get_ylabel() == "validation accuracy (%)" and lr_ax.get_ylabel() == "learning rate"
    assert len([line for line in acc_ax.get_lines() if len(line.get_xdata()) == 3]) == 2 * 3  # a line per run
    assert {t.get_text() for t in acc_ax.get_legend().get_texts()} >= {"a", "b"}
    assert "3 seeds, one line each" in fig._suptitle.get_text()
    fig = mc.plot_history(history(seeds=3), metrics=("val_acc",), hue="config", each_seed=False)
    assert len(fig.axes[0].collections) >= 2  # one +-sd band per config


def test_show_digits_titles_each_image(small: mc.MNISTSplits) -> None:
    fig = mc.show_digits(small.x_train[:10], small.y_train[:10], ncols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 12 and len(shown) == 10
    assert [ax.get_title() for ax in shown] == [str(v) for v in small.y_train[:10].tolist()]


def test_most_confident_mistakes_come_from_the_whole_set(trained: nn.Module, small: mc.MNISTSplits) -> None:
    table = mc.most_confident_mistakes(trained, small.x_test, small.y_test, n=10)
    predicted = mc.predict(trained, small.x_test).argmax(1)
    assert table.attrs["n_errors"] == int((predicted != small.y_test).sum())
    assert (table["true"] != table["predicted"]).all() and table["confidence"].is_monotonic_decreasing
    assert table["index"].max() > 64  # not only the first batch
    top = mc.predict(trained, small.x_test).softmax(1).max(1).values[predicted != small.y_test].max() * 100
    assert table["confidence"].iloc[0] == pytest.approx(top.item())


def test_plot_failures_shows_predicted_and_true(trained: nn.Module, small: mc.MNISTSplits) -> None:
    fig = mc.plot_failures(trained, small.x_test, small.y_test, n=8, ncols=4)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 8 and all(t.startswith("pred ") and "\ntrue " in t for t in titles)
    assert "most confident" in fig._suptitle.get_text()


def test_confusion_matrix_adds_up(trained: nn.Module, small: mc.MNISTSplits) -> None:
    matrix = mc.confusion_matrix(trained, small.x_test, small.y_test)
    assert matrix.shape == (10, 10) and matrix.to_numpy().sum() == len(small.y_test)
    assert (matrix.sum(axis=1).to_numpy() == torch.bincount(small.y_test, minlength=10).numpy()).all()
    accuracy = mc.evaluate(trained, small.x_test, small.y_test)[1]
    assert matrix.to_numpy().trace() == round(accuracy * len(small.y_test) / 100)
    ax = mc.plot_confusion(trained, small.x_test, small.y_test)
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    assert f"{accuracy:.2f}%" in ax.get_title()


@pytest.mark.parametrize("configs", [1, 3])
def test_paired_dot_plot_has_a_dot_per_seed_and_the_interval(configs: int) -> None:
    """One row (lesson 3's single contrast) or several; the interval's ends are the table's."""
    rows = [dict(config=c, seed=s, val_acc=90 + k + 0.1 * s * (k + 1)) for k, c in enumerate(["ref", "x", "y", "z"][:configs + 1])
            for s in range(3)]
    differences = mc.paired_differences(pd.DataFrame(rows), "ref")
    ax = mc.plot_paired(differences)
    assert len(ax.collections) >= 3  # one scatter per seed
    bars = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    ends = sorted(x for segment in bars[0].get_segments() for x in segment[:, 0])
    expected = sorted(list(differences["ci_low"]) + list(differences["ci_high"]))
    assert ends == pytest.approx(expected)
    assert ax.get_xlabel().startswith("validation accuracy: config minus ref")
