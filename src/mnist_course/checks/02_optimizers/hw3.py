"""Lesson 2, homework 3 (the rotated valley): `hw3_valley` is the valley of section 1 rotated by 45° (a
function of θ like `valley`), `hw3_start` the start rotated with it, `hw3_tuned` the table `tune_on`
returns for the rotated valley from that start, `hw3_rmsprop_rank` and `hw3_adam_rank` the places of
RMSprop and Adam in it by the worst loss over the last 10 steps (1 = lowest). The check recomputes the
paths at the tuned rates and at their grid neighbours (a few hundred steps on two parameters, no training)."""

import math

import numpy as np
import pandas as pd
import torch

from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

WORST = "worst loss, last 10 steps"
RATE = "tuned η"
TABLE_HINT = "assign the table that tune_on(your rotated valley, your rotated start) returns (its first result)"


def rotation(degrees):
    angle = math.radians(degrees)
    return torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])


def loss_of(fn, theta, name):
    try:
        out = fn(theta)
    except Exception as error:  # noqa: BLE001 (the student's function, whatever it raises)
        raise AssertionError(
            f"`{name}` could not be evaluated on a tensor of points of shape {tuple(theta.shape)} "
            f"({type(error).__name__}: {error}): write it like `valley`, for torch tensors whose "
            "last dimension holds θ1 and θ2"
        ) from None
    return torch.as_tensor(out, dtype=torch.float32).detach()


def rotated_valley_check(hw3_valley, valley):
    s.given(
        hw3_valley,
        "hw3_valley",
        "set it to your rotated loss function (a function of θ, like valley)",
    )
    assert callable(hw3_valley), (
        f"`hw3_valley` should be a function of θ, like valley, not a {type(hw3_valley).__name__}"
    )
    points = torch.randn(200, 2, generator=torch.Generator().manual_seed(0)) * 3
    ours = loss_of(hw3_valley, points, "hw3_valley")
    assert ours.shape == (200,), (
        f"`hw3_valley` on 200 points (a tensor of shape (200, 2)) returned shape "
        f"{tuple(ours.shape)}: it should return one loss per point, like valley"
    )
    # valley(R^T θ) for a rotation R by ±45° (rotations by 180° more give the same function)
    if not any(
        torch.allclose(ours, valley(points @ rotation(a)), rtol=1e-4, atol=1e-5) for a in (45, -45)
    ):
        raise AssertionError(
            "`hw3_valley` is not the valley of section 1 rotated by 45°: its value at a point θ should "
            "be valley at θ turned back by the rotation (e.g. valley(θ @ R) with R the 45° rotation "
            "matrix), so that its steep and gentle directions lie along the diagonals"
        )


def rotated_start_check(hw3_start, hw3_valley, valley, START):
    s.given(
        hw3_start,
        "hw3_start",
        "set it to the start of section 1 rotated with the valley (a tensor of two numbers)",
    )
    start = torch.as_tensor(hw3_start, dtype=torch.float32).detach()
    assert start.shape == (2,), (
        f"`hw3_start` should be a tensor of two numbers, like START, not of shape {tuple(start.shape)}"
    )
    assert math.isclose(start.norm().item(), START.norm().item(), rel_tol=1e-4), (
        "`hw3_start` is not at START's distance from the minimum: rotate START (a rotation keeps its length)"
    )
    here, there = loss_of(hw3_valley, start, "hw3_valley").item(), valley(START).item()
    assert math.isclose(here, there, rel_tol=1e-4), (
        "the loss of your rotated valley at `hw3_start` differs from valley(START): rotate START with the same "
        "rotation as the valley, in the same direction, so that it sits at the same place relative to the valley"
    )


def trajectory(make_optimizer, loss_fn, start, steps=60):
    "The points a torch.optim optimizer visits, as the lesson's trajectory computes them."
    theta = start.clone().requires_grad_(True)
    optimizer = make_optimizer([theta])
    path = [theta.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(theta).backward()
        optimizer.step()
        path.append(theta.detach().clone())
    return torch.stack(path)


def worst(make, lr, loss_fn, start):
    # TOY_OPTIMIZERS[name](params, lr=...)
    value = (
        loss_fn(trajectory(lambda params: make(params, lr=float(lr)), loss_fn, start)[-10:])
        .max()
        .item()
    )
    return math.inf if math.isnan(value) else value


@test_case(name="the rotated valley")
def rotated(hw3_valley, valley):
    rotated_valley_check(hw3_valley, valley)


@test_case(name="the rotated start")
def start(hw3_start, hw3_valley, valley, START):
    rotated_start_check(hw3_start, hw3_valley, valley, START)


@test_case(name="every optimizer tuned on the rotated valley")
def tuned(hw3_tuned, hw3_valley, hw3_start, valley, START, TOY_OPTIMIZERS, TOY_LRS):
    table = s.table(hw3_tuned, "hw3_tuned", TABLE_HINT, [RATE, WORST])
    rotated_valley_check(hw3_valley, valley)
    rotated_start_check(hw3_start, hw3_valley, valley, START)
    missing = [n for n in TOY_OPTIMIZERS if n not in table.index]
    assert not missing, (
        f"`hw3_tuned` has no row for {', '.join(missing)}: tune every optimizer of TOY_OPTIMIZERS"
    )
    start = torch.as_tensor(hw3_start, dtype=torch.float32).detach()
    grid = np.asarray(TOY_LRS, dtype=float)
    for optimizer, make in TOY_OPTIMIZERS.items():
        lr = float(table.loc[optimizer, RATE])
        at = np.flatnonzero(np.isclose(grid, lr, rtol=1e-6))
        assert len(at), (
            f"`hw3_tuned`: the rate {lr:.3g} of {optimizer} is not on the grid TOY_LRS: tune on that grid"
        )
        k = int(at[0])
        mine = worst(make, grid[k], hw3_valley, start)
        assert math.isclose(
            mine, float(table.loc[optimizer, WORST]), rel_tol=1e-4, abs_tol=1e-30
        ), (
            f"`hw3_tuned`: {optimizer}'s worst loss over the last 10 steps at η = {lr:.3g} is not what its path on your "
            "rotated valley from your rotated start gives: make the table with tune_on(your rotated valley, your rotated start)"
        )
        for j in (k - 1, k + 1):
            if 0 <= j < len(grid):
                assert worst(make, grid[j], hw3_valley, start) >= mine, (
                    f"`hw3_tuned`: {optimizer} has a lower worst loss at a neighbouring rate of the grid than at "
                    f"its rate {lr:.3g}: that rate is not the tuned one; tune on the rotated valley, as tune_on does"
                )


def rank_check(answer, var, optimizer, hw3_tuned):
    table = s.table(hw3_tuned, "hw3_tuned", TABLE_HINT, [WORST])
    place = s.whole(
        answer,
        var,
        f"set it to {optimizer}'s place in hw3_tuned by the worst loss over the last 10 steps "
        f"(a whole number, 1 = lowest, {len(table)} = highest)",
        example="2",
    )
    assert optimizer in table.index, f"`hw3_tuned` has no row {optimizer!r}"
    expected = int(pd.to_numeric(table[WORST]).rank(method="min")[optimizer])
    s.agrees(
        place,
        expected,
        var,
        f'the column "{WORST}" of hw3_tuned, ordered from lowest (place 1) to highest',
    )


@test_case(name="RMSprop's place on the rotated valley")
def rmsprop(hw3_tuned, hw3_rmsprop_rank):
    rank_check(hw3_rmsprop_rank, "hw3_rmsprop_rank", "RMSprop", hw3_tuned)


@test_case(name="Adam's place on the rotated valley")
def adam(hw3_tuned, hw3_adam_rank):
    rank_check(hw3_adam_rank, "hw3_adam_rank", "Adam", hw3_tuned)
