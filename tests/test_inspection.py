"""Inspection: parameter counts, receptive fields against hand-computed tables, summaries."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mnist_course as mc

COLUMNS = ["layer", "n_in", "k", "s", "p", "n_out", "r_in", "j_in", "r_out", "j_out"]


def as_rows(table) -> list[tuple]:
    assert list(table.columns) == COLUMNS
    return [tuple(row) for row in table.itertuples(index=False)]


def test_count_parameters() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.BatchNorm1d(10))
    assert mc.count_parameters(model) == 784 * 10 + 10 + 2 * 10
    model[1].weight.requires_grad_(False)
    assert (
        mc.count_parameters(model) == 10 + 20
        and mc.count_parameters(model, trainable_only=False) == 7870
    )


def test_receptive_fields_with_max_pool_1x1_conv_and_global_pool() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3),
        nn.ReLU(),  # 28 -> 26
        nn.Conv2d(8, 8, 3),
        nn.BatchNorm2d(8),  # 26 -> 24
        nn.MaxPool2d(2),  # 24 -> 12
        nn.Conv2d(8, 4, 1),  # 1x1 transition
        nn.Conv2d(4, 8, 3, padding=1),  # 12 -> 12
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 10),
    )
    # Worked by hand with r_out = r_in + (k - 1) j_in and j_out = j_in s, starting from r = j = 1.
    assert as_rows(mc.receptive_field_table(model)) == [
        ("0 (Conv2d)", 28, 3, 1, 0, 26, 1, 1, 3, 1),
        ("2 (Conv2d)", 26, 3, 1, 0, 24, 3, 1, 5, 1),
        ("4 (MaxPool2d)", 24, 2, 2, 0, 12, 5, 1, 6, 2),
        ("5 (Conv2d)", 12, 1, 1, 0, 12, 6, 2, 6, 2),
        ("6 (Conv2d)", 12, 3, 1, 1, 12, 6, 2, 10, 2),
        ("7 (AdaptiveAvgPool2d)", 12, 12, 12, 0, 1, 10, 2, 32, 24),
    ]


class Strided(nn.Module):
    """Nested blocks, a strided conv with padding, an average pool, a dilated conv."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, 4, 5, stride=2, padding=2), nn.BatchNorm2d(4), nn.ReLU()
        )
        self.body = nn.Sequential(
            nn.Conv2d(4, 4, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(4, 4, 3, stride=2)
        )
        self.head = nn.Conv2d(4, 10, 3, padding=2, dilation=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x))).mean((2, 3))


def test_receptive_fields_with_stride_padding_avg_pool_and_dilation() -> None:
    assert as_rows(mc.receptive_field_table(Strided())) == [
        ("stem.0 (Conv2d)", 28, 5, 2, 2, 14, 1, 1, 5, 2),
        ("body.0 (Conv2d)", 14, 3, 1, 1, 14, 5, 2, 9, 2),
        ("body.1 (AvgPool2d)", 14, 2, 2, 0, 7, 9, 2, 11, 4),
        ("body.2 (Conv2d)", 7, 3, 2, 0, 3, 11, 4, 19, 8),
        ("head (Conv2d)", 3, 5, 1, 2, 3, 19, 8, 51, 8),  # dilation 2: a 3x3 kernel spans 5
    ]


def test_receptive_field_table_restores_training_mode() -> None:
    model = Strided()
    mc.receptive_field_table(model)
    assert model.training and not model._forward_hooks and not model.head._forward_hooks


class FunctionalPool(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 4, 3), nn.Conv2d(4, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.max_pool2d(self.conv1(x), 2))


@pytest.mark.parametrize(
    "model, message",
    [
        (FunctionalPool(), "grid changed from 26 to 13 before layer conv2"),
        (
            nn.Sequential(nn.Conv2d(1, 2, 3), nn.Upsample(scale_factor=2)),
            r"layer 1 \(Upsample\) changes the grid",
        ),
        (nn.Sequential(nn.Conv2d(1, 2, (3, 5))), r"kernel_size=\(3, 5\); only square"),
        (nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), "no conv or pool layer"),
    ],
)
def test_receptive_field_table_refuses_what_it_cannot_trace(model: nn.Module, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mc.receptive_field_table(model)


def test_summary_matches_the_parameter_count() -> None:
    model = Strided()
    stats = mc.summary(model)
    assert stats.total_params == mc.count_parameters(model)
    assert "Conv2d" in str(stats) and "[1, 10, 3, 3]" in str(stats)


def test_summary_runs_in_eval_mode_and_prints_plain_numbers() -> None:
    """A model in train mode: batch-norm statistics stay as they are, the mode is restored, and the
    text has no enum label (`Units.MEGABYTES`) that a torchinfo or Python release could change."""
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4 * 26 * 26, 10)
    )
    before = {k: v.clone() for k, v in model[1].state_dict().items()}
    text = str(mc.summary(model))
    assert model.training
    assert all(torch.equal(before[k], v) for k, v in model[1].state_dict().items()), (
        "BN statistics changed"
    )
    assert "Units." not in text
    # torchinfo counts parameters x output positions: conv 40 x 26 x 26, batch norm 8, linear 27,050.
    assert "\nTotal mult-adds: 54,098\n" in text


def test_multiply_adds_is_the_lessons_count() -> None:
    """mc.multiply_adds agrees with the teaching copy lesson 4 writes out (read from the notebook), layer by
    layer, on the lesson's plain and budget CNNs; a model's mode is kept; the units are per image."""
    from lessons import lesson_factory  # tools/lessons.py

    lesson_count = lesson_factory("04_cnn_budget.ipynb", "multiply_adds")
    for factory in ("make_plain_cnn", "make_budget_cnn"):
        model = lesson_factory("04_cnn_budget.ipynb", factory)()
        ours, theirs = mc.multiply_adds(model), lesson_count(model)
        assert ours.to_dict() == {k: int(v) for k, v in theirs.items()} and ours.dtype == "int64", (
            factory
        )
        assert model.training, "the model's own mode is restored"
    plain = lesson_factory("04_cnn_budget.ipynb", "make_plain_cnn")()
    assert mc.multiply_adds(plain).sum() == 1_178_784  # the total lesson 4 prints
    linear = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    assert mc.multiply_adds(linear).to_dict() == {"1": 7840}
    assert (
        mc.multiply_adds(nn.Sequential(nn.Conv2d(1, 4, 3, groups=1)), (1, 1, 5, 5)).sum()
        == 4 * 3 * 3 * 9
    )
