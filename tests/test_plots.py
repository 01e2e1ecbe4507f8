"""Plots: labels say what is plotted; failures come from the whole set; the confusion matrix adds up."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
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
    rows = [
        dict(
            config=c,
            seed=s,
            epoch=e,
            lr=0.1,
            train_loss=1 / e,
            val_loss=1.2 / e,
            train_acc=90 + e,
            val_acc=89 + e + s,
            seconds=1.0,
        )
        for c in ("a", "b")
        for s in range(seeds)
        for e in (1, 2, 3)
    ]
    return pd.DataFrame(rows)


def test_learning_curves_are_labelled_by_what_they_plot() -> None:
    fig = mc.plot_history(history()[lambda h: h.config == "a"], title="linear model")
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss (cross-entropy)" and acc_ax.get_ylabel() == "accuracy (%)"
    assert loss_ax.get_xlabel() == "epoch" and fig._suptitle.get_text() == "linear model"
    legend = acc_ax.get_legend()
    assert {t.get_text() for t in legend.get_texts()} >= {"train", "validation"}
    styles = {
        t.get_text(): h.get_linestyle() for t, h in zip(legend.get_texts(), legend.legend_handles)
    }
    # long enough to see the dashes
    assert styles["train"] != styles["validation"] and legend.handlelength >= 3
    top = max(max(line.get_ydata()) for line in acc_ax.get_lines() if len(line.get_ydata()))
    assert top == pytest.approx(93)  # the accuracy panel holds accuracies, not losses


def test_learning_curves_of_a_comparison_show_each_seed_or_sd_bands() -> None:
    fig = mc.plot_history(history(seeds=3), metrics=("val_acc", "lr"), hue="config", title="t")
    acc_ax, lr_ax = fig.axes
    assert (
        acc_ax.get_ylabel() == "validation accuracy (%)" and lr_ax.get_ylabel() == "learning rate"
    )
    # a line per run
    assert len([line for line in acc_ax.get_lines() if len(line.get_xdata()) == 3]) == 2 * 3
    assert acc_ax.get_legend() is None  # the same legend as lr_ax's: shown once, on the right
    assert {t.get_text() for t in lr_ax.get_legend().get_texts()} >= {"a", "b"}
    assert "3 seeds, one line each" in fig._suptitle.get_text()
    fig = mc.plot_history(history(seeds=3), metrics=("val_acc",), hue="config", each_seed=False)
    assert len(fig.axes[0].collections) >= 2  # one +-sd band per config


def test_show_digits_titles_each_image(small: mc.MNISTSplits) -> None:
    fig = mc.show_digits(small.x_train[:10], small.y_train[:10], ncols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 12 and len(shown) == 10
    assert [ax.get_title() for ax in shown] == [str(v) for v in small.y_train[:10].tolist()]


def test_most_confident_mistakes_come_from_the_whole_set(
    trained: nn.Module, small: mc.MNISTSplits
) -> None:
    table = mc.most_confident_mistakes(trained, small.x_test, small.y_test, n=10)
    predicted = mc.predict(trained, small.x_test).argmax(1)
    assert table.attrs["n_errors"] == int((predicted != small.y_test).sum())
    assert (table["true"] != table["predicted"]).all() and table[
        "confidence"
    ].is_monotonic_decreasing
    assert table["index"].max() > 64  # not only the first batch
    top = (
        mc.predict(trained, small.x_test).softmax(1).max(1).values[predicted != small.y_test].max()
        * 100
    )
    assert table["confidence"].iloc[0] == pytest.approx(top.item())


def test_plot_failures_shows_predicted_and_true(trained: nn.Module, small: mc.MNISTSplits) -> None:
    fig = mc.plot_failures(trained, small.x_test, small.y_test, n=8, ncols=4)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(titles) == 8 and all(t.startswith("pred ") and "\ntrue " in t for t in titles)
    assert "most confident" in fig._suptitle.get_text()


def test_confusion_matrix_adds_up(trained: nn.Module, small: mc.MNISTSplits) -> None:
    matrix = mc.confusion_matrix(trained, small.x_test, small.y_test)
    assert matrix.shape == (10, 10) and matrix.to_numpy().sum() == len(small.y_test)
    assert (
        matrix.sum(axis=1).to_numpy() == torch.bincount(small.y_test, minlength=10).numpy()
    ).all()
    accuracy = mc.evaluate(trained, small.x_test, small.y_test)[1]
    assert matrix.to_numpy().trace() == round(accuracy * len(small.y_test) / 100)
    ax = mc.plot_confusion(trained, small.x_test, small.y_test)
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    assert f"{accuracy:.2f}%" in ax.get_title()


@pytest.mark.parametrize("configs", [1, 3])
def test_paired_dot_plot_has_a_dot_per_seed_and_the_interval(configs: int) -> None:
    """One row (lesson 3's single contrast) or several; the interval's ends are the table's."""
    rows = [
        dict(config=c, seed=s, val_acc=90 + k + 0.1 * s * (k + 1))
        for k, c in enumerate(["ref", "x", "y", "z"][: configs + 1])
        for s in range(3)
    ]
    differences = mc.paired_differences(pd.DataFrame(rows), "ref")
    ax = mc.plot_paired(differences)
    assert len(ax.collections) >= 3  # one scatter per seed
    bars = [c for c in ax.collections if type(c).__name__ == "LineCollection"]
    ends = sorted(x for segment in bars[0].get_segments() for x in segment[:, 0])
    expected = sorted(list(differences["ci_low"]) + list(differences["ci_high"]))
    assert ends == pytest.approx(expected)
    assert ax.get_xlabel().startswith("validation accuracy: config minus ref")


def test_paired_dot_plot_gives_every_seed_its_own_colour_and_shape() -> None:
    """Five seeds (lesson 3's): no two dots alike, and no two colours close (orange and vermillion were)."""
    rows = [
        dict(config=c, seed=s, val_acc=90 + k + 0.1 * s)
        for k, c in enumerate(["ref", "x"])
        for s in range(2, 7)
    ]
    ax = mc.plot_paired(mc.paired_differences(pd.DataFrame(rows), "ref"))
    dots = [c for c in ax.collections if type(c).__name__ == "PathCollection"]
    assert len(dots) == 5
    colours = [tuple(c.get_facecolor()[0][:3]) for c in dots]
    assert (
        min(
            sum((a - b) ** 2 for a, b in zip(p, q)) ** 0.5
            for i, p in enumerate(colours)
            for q in colours[i + 1 :]
        )
        > 0.25
    )
    assert len({mc.plots.SEED_MARKERS[k] for k in range(5)}) == 5


def lr_runs() -> pd.DataFrame:
    rows = []
    for o, grid in {"SGD": [0.01, 0.1, 1.0], "Adam": [1e-4, 1e-3, 1e-2]}.items():
        for v in ["plain", "BN"]:
            for k, lr in enumerate(grid):
                for seed in (0, 1):
                    failed = v == "plain" and o == "SGD" and k == 2  # diverged: about 10%
                    rows.append(
                        dict(
                            variant=v,
                            optimizer=o,
                            lr=lr,
                            seed=seed,
                            val_acc=9.8
                            if failed
                            else 95 + k - abs(k - 1) * 2 + seed * 0.2 + (v == "BN"),
                        )
                    )
    return pd.DataFrame(rows)


def test_lr_search_figure_marks_choices_and_failed_runs_on_the_bottom_edge() -> None:
    runs = lr_runs()
    fig = mc.plots.plot_lr_search(
        runs,
        chosen={
            ("plain", "SGD"): 0.1,
            ("BN", "SGD"): 0.1,
            ("plain", "Adam"): 1e-3,
            ("BN", "Adam"): 1e-3,
        },
        shared={"SGD": 0.1, "Adam": 1e-3},
    )
    sgd, adam = fig.axes
    assert sgd.get_title().startswith("SGD") and adam.get_title().startswith("Adam")
    assert sgd.get_xscale() == "log" and sgd.get_xlabel() == "learning rate (log scale)"
    assert sgd.get_ylabel() == "validation accuracy (%)"
    floor = np.floor(runs["val_acc"][runs["val_acc"] > 80].min()) - 1
    assert sgd.get_ylim()[0] == pytest.approx(floor)
    # the failed mean (plain, SGD, lr=1) is a large triangle on the bottom edge, inside the axes
    big = [
        c
        for c in sgd.collections
        if type(c).__name__ == "PathCollection" and len(c.get_offsets()) and c.get_sizes()[0] == 70
    ]
    # drawn beside its rate (failed runs of several variants at one rate side by side): within ±15%
    assert len(big) == 1 and big[0].get_offsets()[0][0] == pytest.approx(1.0, rel=0.15)
    assert floor < big[0].get_offsets()[0][1] < floor + 1
    assert not [
        c
        for c in adam.collections
        if type(c).__name__ == "PathCollection" and len(c.get_offsets()) and c.get_sizes()[0] == 70
    ], "no failed run with Adam"
    circles = [
        c
        for c in sgd.collections
        if type(c).__name__ == "PathCollection" and len(c.get_offsets()) and c.get_sizes()[0] == 160
    ]
    assert len(circles) == 2  # one chosen rate per variant
    assert any(line.get_linestyle() == "--" and line.get_xdata()[0] == 0.1 for line in sgd.lines)
    labels = [t.get_text() for t in adam.get_legend().get_texts()]
    assert (
        labels[:2] == ["plain", "BN"]
        and "shared rate" in labels
        and any("failed run" in t for t in labels)
    )


def displayed_text_px(fig) -> float:
    """The smallest visible text of `fig` in CSS pixels as the site shows it: drawn at 100 dpi with a tight
    bounding box (as the notebooks' inline figures are), then shrunk to the lesson column if wider."""
    fig.canvas.draw()
    width_px = fig.get_tightbbox().width * 100  # inches -> px at 100 dpi
    scale = min(1.0, mc.plots.DESKTOP_COLUMN_PX / width_px)
    sizes = [
        t.get_fontsize() * 100 / 72
        for t in fig.findobj(plt.Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes) * scale


@pytest.mark.parametrize(
    "metrics",
    [("loss", "acc"), ("train_loss", "val_loss", "val_acc"), ("train_loss", "train_acc", "lr")],
)
def test_learning_curves_stay_readable_on_a_desktop(metrics: tuple[str, ...]) -> None:
    """Issue 44: at 1280 px, three-panel figures were shown at 0.47 of their size with 5 px legends."""
    data = history(seeds=2).assign(train_loss=lambda h: h.train_loss, lr=0.1)
    fig = mc.plot_history(data, metrics=metrics, hue="config", title="t")
    assert displayed_text_px(fig) >= 8
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    texts = [tuple(t.get_text() for t in legend.get_texts()) for legend in legends]
    assert len(texts) == len(set(texts))  # the same legend is not repeated panel after panel


def test_lr_search_failed_runs_of_two_variants_at_one_rate_do_not_hide_each_other() -> None:
    runs = lr_runs()
    both = runs[(runs["optimizer"] == "SGD") & (runs["lr"] == 1.0)].index
    runs.loc[both, "val_acc"] = 9.8  # plain and BN both fail at lr=1
    fig = mc.plots.plot_lr_search(runs)
    big = [
        c.get_offsets()[0]
        for c in fig.axes[0].collections
        if type(c).__name__ == "PathCollection" and len(c.get_offsets()) and c.get_sizes()[0] == 70
    ]
    assert len(big) == 2 and big[0][0] != big[1][0]
    assert all(x == pytest.approx(1.0, rel=0.15) for x, _ in big)
