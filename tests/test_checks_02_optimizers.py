"""Lesson 2's homework checks on real (tiny) runs: the right work passes, seeded wrong work fails its own check,
and so does every mutation of the lesson's recipe (tests/test_checks.py: `mutations`).

Homeworks 1 and 2 train the lesson's own make_mlp (read from the notebook) for two epochs on 512 images with the
lesson's one-cycle schedule (the checks' recipe is patched to these images, these seeds and epochs); homework 3
uses the lesson's own valley, optimizers and grid (read from the notebook)."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from test_checks import all_mutations_fail, timed

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "02_optimizers.ipynb"
SEEDS = [2, 3, 4]
TUNE_SEEDS = [0, 1]
CHOSEN_LR = {"SGD + momentum": 0.1, "Adam": 0.01}
grader = mc.checks.Homework("02_optimizers")


EPOCHS = 2


def lesson_code(marker: str, namespace: dict) -> dict:
    """The function definitions and UPPER-CASE constants of the lesson's code cell that contains `marker`, run in
    `namespace` (the lesson's imports)."""
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    source = next("".join(c["source"]) for c in cells if marker in "".join(c["source"]))
    keep = [
        n
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef)
        or (
            isinstance(n, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.isupper() for t in n.targets)
        )
    ]
    exec(compile(ast.Module(keep, []), f"02_optimizers: {marker}", "exec"), namespace)
    return namespace


make_mlp = lesson_code("def make_mlp(", {"nn": nn, "torch": torch, "mc": mc})["make_mlp"]


@pytest.fixture(autouse=True)
def tiny_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lesson's recipe, for the tiny data, seeds and epochs of these tests."""
    real = recipes.of
    monkeypatch.setattr(
        recipes,
        "of",
        lambda lesson, question, quick=False: dataclasses.replace(
            real(lesson, question, quick),
            train_images=512,
            val_images=512,
            epochs=EPOCHS,
            seeds=tuple(TUNE_SEEDS if question == "hw2" else SEEDS),
        ),
    )


def test_the_recipe_is_the_lessons() -> None:
    """make_mlp as the lesson defines it has the recipe's size; the lesson's seeds and epochs are the recipe's."""
    assert (
        mc.count_parameters(make_mlp())
        == recipes.of("02_optimizers", "hw1", quick=False).parameters
        == 55_050
    )
    real = recipes._optimizers("hw1", False)
    assert real.seeds == (2, 3, 4, 5, 6) and real.epochs == 2 and real.train_images == 50_000
    assert (
        recipes._optimizers("hw2", False).seeds == (0, 1)
        and recipes._optimizers("hw1", True).epochs == 1
    )


@pytest.fixture(scope="module")
def tiny(mnist: mc.MNISTSplits) -> mc.MNISTSplits:
    return mnist.subset(train=512, val=512, test=64)


def schedule(tiny, epochs):
    """The lesson's one_cycle and one_cycle_rates for `tiny` and `epochs`."""

    def one_cycle(optimizer, batch_size=128):
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=optimizer.param_groups[0]["lr"],
            epochs=epochs,
            steps_per_epoch=math.ceil(len(tiny.y_train) / batch_size),
            cycle_momentum=False,
        )

    def one_cycle_rates(peak, batch_size=128):
        probe = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
        scheduler, rates = one_cycle(probe, batch_size), []
        for _ in range(scheduler.total_steps):
            rates.append(probe.param_groups[0]["lr"])
            probe.step()
            scheduler.step()
        return np.array(rates)

    return one_cycle, one_cycle_rates


def run(tiny, configs, seeds, epochs=EPOCHS):
    return mc.compare(make_mlp, configs, seeds, tiny, epochs, progress=False)


def other(answer):
    return next(v for v in ("higher", "lower", "no detectable difference") if v != answer)


def outcome(question, **env):
    result = grader.check(
        question, {"SEEDS": SEEDS, "TUNE_SEEDS": TUNE_SEEDS, "CHOSEN_LR": CHOSEN_LR, **env}
    )
    return result.passed, repr(result)


# Homework 1: weight decay in Adam and AdamW


def decay_configs(one_cycle, lr=CHOSEN_LR["Adam"], adamw_lr=None, scheduler=True):
    configs = {}
    for decay in [1e-4, 1e-3, 1e-2]:
        configs[f"Adam, λ={decay:g}"] = {
            "optimizer": partial(torch.optim.Adam, lr=lr, weight_decay=decay)
        }
    for decay in [0.1, 1]:
        configs[f"AdamW, λ={decay:g}"] = {
            "optimizer": partial(torch.optim.AdamW, lr=adamw_lr or lr, weight_decay=decay)
        }
    if scheduler:
        for config in configs.values():
            config["scheduler"] = one_cycle
    return configs


@pytest.fixture(scope="module")
def hw1(tiny):
    one_cycle, one_cycle_rates = schedule(tiny, EPOCHS)
    lr = CHOSEN_LR["Adam"]
    # the contest's runs, as the lesson's `tuned` (with an optimizer the check must ignore), and the new runs
    contest = run(
        tiny,
        {
            name: {
                "optimizer": partial(make, lr=lr if name != "SGD" else 0.1),
                "scheduler": one_cycle,
            }
            for name, make in [
                ("SGD", torch.optim.SGD),
                ("Adam", torch.optim.Adam),
                ("AdamW", torch.optim.AdamW),
            ]
        },
        SEEDS,
    )
    decay = run(tiny, decay_configs(one_cycle), SEEDS)
    final = pd.concat(
        [contest.final[contest.final["config"] != "SGD"], decay.final], ignore_index=True
    )
    final["config"] = final["config"].replace({"Adam": "λ=0", "AdamW": "AdamW, λ=0.01"})
    diffs = mc.paired_differences(final, "λ=0")
    shows = [
        d
        for d in [0.01, 0.1, 1]
        if diffs.loc[f"AdamW, λ={d:g}", "verdict"] != "no detectable difference"
    ]
    models = {
        ("λ=0" if c == "Adam" else "AdamW, λ=0.01", s): m
        for (c, s), m in contest.models.items()
        if c != "SGD"
    } | decay.models
    norm = {
        c: np.mean(
            [
                torch.cat([p.detach().flatten() for p in m.parameters()]).norm().item()
                for (k, _), m in models.items()
                if k == c
            ]
        )
        for c in ["Adam, λ=0.01", "AdamW, λ=0.01"]
    }
    rates = one_cycle_rates(lr)
    return {
        "hw1_runs": [contest, decay],
        "hw1_shrink": {d: math.exp(-d * rates.sum()) for d in [0.01, 0.1, 1]},
        "hw1_from": shows[0] if shows else "none",
        "hw1_stronger": "Adam" if norm["Adam, λ=0.01"] < norm["AdamW, λ=0.01"] else "AdamW",
        "one_cycle_rates": one_cycle_rates,
        "one_cycle": one_cycle,
        "contest": contest,
    }


def hw1_env(hw1):
    return {
        "SEEDS": SEEDS,
        "TUNE_SEEDS": TUNE_SEEDS,
        "CHOSEN_LR": CHOSEN_LR,
        **{k: v for k, v in hw1.items() if k not in ("one_cycle", "contest")},
    }


def test_hw1(tiny, hw1) -> None:
    env = hw1_env(hw1)
    assert timed(grader, "hw1", env) == (True, "hw1: passed (4 checks)")
    contest, one_cycle = hw1["contest"], hw1["one_cycle"]
    # the same runs in one result pass too, and so does the exact product of the factors, and factors rounded
    single = run(
        tiny,
        {
            "Adam": {"optimizer": partial(torch.optim.Adam, lr=0.01), "scheduler": one_cycle},
            "AdamW": {"optimizer": partial(torch.optim.AdamW, lr=0.01), "scheduler": one_cycle},
            **decay_configs(one_cycle),
        },
        SEEDS,
    )
    rates = hw1["one_cycle_rates"](0.01)
    exact = {d: float(np.prod(1 - d * rates)) for d in [0.01, 0.1, 1]}
    assert outcome("hw1", **{**env, "hw1_runs": single, "hw1_shrink": exact}) == (
        True,
        "hw1: passed (4 checks)",
    )
    for digits in (2, 3):
        rounded = {d: round(f, digits) for d, f in env["hw1_shrink"].items()}
        assert outcome("hw1", **{**env, "hw1_shrink": rounded})[0], rounded
    # NumPy's numbers as keys and factors, and as λ
    as_numpy = {np.float64(d): np.float32(f) for d, f in env["hw1_shrink"].items()}
    assert outcome("hw1", **{**env, "hw1_shrink": as_numpy})[0]
    if env["hw1_from"] != "none":
        assert outcome("hw1", **{**env, "hw1_from": np.float64(env["hw1_from"])})[0]
    # the decay runs on the tuning seeds instead of the evaluation seeds
    tuning = run(tiny, decay_configs(one_cycle), TUNE_SEEDS)
    passed, text = outcome("hw1", **{**env, "hw1_runs": [contest, tuning]})
    assert (
        not passed
        and "ran seeds [0, 1], the question asks for the lesson's seeds [2, 3, 4]" in text
    )
    # SEEDS shortened in the student's namespace: the check keeps the lesson's
    passed, text = outcome("hw1", **{**env, "hw1_runs": [contest, tuning], "SEEDS": TUNE_SEEDS})
    assert not passed and "the question asks for the lesson's seeds [2, 3, 4]" in text
    # AdamW left at its default rate 0.001
    default = run(tiny, decay_configs(one_cycle, adamw_lr=0.001), SEEDS)
    passed, text = outcome("hw1", **{**env, "hw1_runs": [contest, default]})
    assert not passed and "differ in their learning rate" in text and "AdamW, λ=0.1: 0.001" in text
    # every run at another peak rate than Adam's chosen one
    other_rate = {
        name: {
            **c,
            "optimizer": partial(c["optimizer"].func, **{**c["optimizer"].keywords, "lr": 0.003}),
        }
        for name, c in {
            "Adam": {"optimizer": partial(torch.optim.Adam, lr=0.01), "scheduler": one_cycle},
            "AdamW": {"optimizer": partial(torch.optim.AdamW, lr=0.01), "scheduler": one_cycle},
            **decay_configs(one_cycle),
        }.items()
    }
    passed, text = outcome("hw1", **{**env, "hw1_runs": run(tiny, other_rate, SEEDS)})
    assert (
        not passed
        and "ran at the peak rate 0.003; the question asks for Adam's chosen rate" in text
    )
    # the decay runs without the one-cycle schedule
    constant = run(tiny, decay_configs(one_cycle, scheduler=False), SEEDS)
    passed, text = outcome("hw1", **{**env, "hw1_runs": [contest, constant]})
    assert not passed and "differ in their learning-rate schedule" in text
    # every run trained for 1 epoch instead of EPOCHS (and the schedule built for that epoch)
    one_epoch, _ = schedule(tiny, 1)
    short = run(
        tiny,
        {
            "Adam": {"optimizer": partial(torch.optim.Adam, lr=0.01), "scheduler": one_epoch},
            "AdamW": {"optimizer": partial(torch.optim.AdamW, lr=0.01), "scheduler": one_epoch},
            **decay_configs(one_epoch),
        },
        SEEDS,
        epochs=1,
    )
    passed, text = outcome("hw1", **{**env, "hw1_runs": short, "EPOCHS": 1})
    assert not passed and "the runs trained for 1 epochs, the question asks for 2" in text
    # a one-cycle schedule of the wrong length (built for 3 epochs, run for 2): the class alone is not enough
    long_cycle, _ = schedule(tiny, 3)
    stretched = run(
        tiny,
        {
            "Adam": {"optimizer": partial(torch.optim.Adam, lr=0.01), "scheduler": long_cycle},
            "AdamW": {"optimizer": partial(torch.optim.AdamW, lr=0.01), "scheduler": long_cycle},
            **decay_configs(long_cycle),
        },
        SEEDS,
    )
    passed, text = outcome("hw1", **{**env, "hw1_runs": stretched})
    assert (
        not passed and "spans 12 steps, but its runs take 2 epochs of 4 batches (8 steps)" in text
    )
    # only the contest's runs: the new runs forgotten
    passed, text = outcome("hw1", **{**env, "hw1_runs": [contest]})
    assert (
        not passed
        and "has no run of Adam, λ=0.0001, Adam, λ=0.001, Adam, λ=0.01, AdamW, λ=0.1, AdamW, λ=1"
        in text
    )
    # the total decay λ·Σηt instead of the factor
    passed, text = outcome(
        "hw1", **{**env, "hw1_shrink": {d: d * rates.sum() for d in [0.01, 0.1, 1]}}
    )
    assert not passed and "`hw1_shrink[0.01]`" in text and "is not the factor" in text
    # wrong types: each hint names the type expected
    passed, text = outcome(
        "hw1", **{**env, "hw1_shrink": {str(d): f for d, f in env["hw1_shrink"].items()}}
    )
    assert not passed and "with the numbers as keys" in text
    passed, text = outcome(
        "hw1", **{**env, "hw1_shrink": {d: f"{f:.2f}" for d, f in env["hw1_shrink"].items()}}
    )
    assert not passed and "`hw1_shrink[0.01]` should be a number (e.g. 0.96), not a str" in text
    passed, text = outcome("hw1", **{**env, "hw1_shrink": list(env["hw1_shrink"].values())})
    assert not passed and "`hw1_shrink` should be a dict" in text and "not a list" in text
    passed, text = outcome("hw1", **{**env, "hw1_from": "0.1"})
    assert (
        not passed
        and "`hw1_from` should be a number (0.01, 0.1 or 1) or the str \"none\", not a str ('0.1')"
        in text
    )
    passed, text = outcome("hw1", **{**env, "hw1_from": True})
    assert not passed and "not a bool (True)" in text
    passed, text = outcome("hw1", **{**env, "hw1_stronger": 1})
    assert not passed and '`hw1_stronger` should be a str, "Adam" or "AdamW", not a int' in text
    # another answer than the own table's, and the other optimizer
    wrong = 0.1 if hw1["hw1_from"] == "none" else "none"
    passed, text = outcome("hw1", **{**env, "hw1_from": wrong})
    assert not passed and "`hw1_from`" in text and "does not agree with your own results" in text
    passed, text = outcome(
        "hw1", **{**env, "hw1_stronger": {"Adam": "AdamW", "AdamW": "Adam"}[hw1["hw1_stronger"]]}
    )
    assert (
        not passed and "`hw1_stronger`" in text and "does not agree with your own results" in text
    )
    # every recipe setting the rule covers, changed
    all_mutations_fail(
        grader,
        "hw1",
        {**env, "hw1_runs": single},
        "hw1_runs",
        recipes.of("02_optimizers", "hw1"),
        changes={"optimizer", "weight_decay"},
    )


# Homework 2: batch size and learning rate


def batch_configs(one_cycle, scale=lambda b: b / 128, own_schedule=True):
    base, configs = CHOSEN_LR["SGD + momentum"], {}
    for batch_size, scaled in [(128, False), (32, False), (32, True), (512, False), (512, True)]:
        lr = base * scale(batch_size) if scaled else base
        configs[f"batch {batch_size}, {'scaled' if scaled else 'same'}"] = {
            "optimizer": partial(torch.optim.SGD, lr=lr, momentum=0.9),
            "batch_size": batch_size,
            "scheduler": partial(
                one_cycle, batch_size=batch_size if own_schedule or batch_size == 32 else 128
            ),
        }
    return configs


def verdicts_of(runs):
    diffs = mc.paired_differences(runs, "batch 128, same")
    return (
        {b: diffs.loc[f"batch {b}, same", "verdict"] for b in (32, 512)},
        {b: diffs.loc[f"batch {b}, scaled", "verdict"] for b in (32, 512)},
    )


@pytest.fixture(scope="module")
def hw2(tiny):
    one_cycle, one_cycle_rates = schedule(tiny, 2)
    runs = run(tiny, batch_configs(one_cycle), TUNE_SEEDS, epochs=2)
    same, scaled = verdicts_of(runs)
    fastest = int(runs.settings.loc[runs.summary["seconds_per_epoch"].idxmin(), "batch_size"])
    return {
        "hw2_runs": runs,
        "hw2_same": same,
        "hw2_scaled": scaled,
        "hw2_fastest": fastest,
        "EPOCHS": 2,
        "one_cycle_rates": one_cycle_rates,
        "one_cycle": one_cycle,
    }


def test_hw2(tiny, hw2) -> None:
    env = {
        "SEEDS": SEEDS,
        "TUNE_SEEDS": TUNE_SEEDS,
        "CHOSEN_LR": CHOSEN_LR,
        **{k: v for k, v in hw2.items() if k != "one_cycle"},
    }
    one_cycle = hw2["one_cycle"]
    assert timed(grader, "hw2", env) == (True, "hw2: passed (5 checks)")
    assert outcome("hw2", **{**env, "hw2_fastest": np.int64(env["hw2_fastest"])})[0]
    assert outcome("hw2", **{**env, "hw2_fastest": float(env["hw2_fastest"])})[0]
    # the square-root rule instead of the linear one
    root = run(
        tiny, batch_configs(one_cycle, scale=lambda b: math.sqrt(b / 128)), TUNE_SEEDS, epochs=2
    )
    same, scaled = verdicts_of(root)
    passed, text = outcome(
        "hw2", **{**env, "hw2_runs": root, "hw2_same": same, "hw2_scaled": scaled}
    )
    assert not passed and "no config with batch size 32 at the scaled peak rate" in text
    # batch 512 with the schedule built for batch 128: it stops in the middle of its warmup
    stale = run(tiny, batch_configs(one_cycle, own_schedule=False), TUNE_SEEDS, epochs=2)
    same, scaled = verdicts_of(stale)
    passed, text = outcome(
        "hw2", **{**env, "hw2_runs": stale, "hw2_same": same, "hw2_scaled": scaled}
    )
    assert not passed and "one-cycle schedule of config 'batch 512, same' spans 8 steps" in text
    assert "partial(one_cycle, batch_size=b)" in text
    # the evaluation seeds instead of the tuning seeds
    evaluation = run(tiny, batch_configs(one_cycle), SEEDS, epochs=2)
    passed, text = outcome("hw2", **{**env, "hw2_runs": evaluation})
    assert (
        not passed
        and "ran seeds [2, 3, 4], the question asks for the lesson's seeds [0, 1] (TUNE_SEEDS"
        in text
    )
    # every run for 1 epoch, with EPOCHS shortened in the student's namespace: the check keeps the lesson's
    one_epoch, _ = schedule(tiny, 1)
    short = run(tiny, batch_configs(one_epoch), TUNE_SEEDS, epochs=1)
    same, scaled = verdicts_of(short)
    passed, text = outcome(
        "hw2", **{**env, "hw2_runs": short, "hw2_same": same, "hw2_scaled": scaled, "EPOCHS": 1}
    )
    assert not passed and "the runs trained for 1 epochs, the question asks for 2" in text
    # plain SGD (no momentum)
    plain = {
        k: {**c, "optimizer": partial(torch.optim.SGD, lr=c["optimizer"].keywords["lr"])}
        for k, c in batch_configs(one_cycle).items()
    }
    passed, text = outcome("hw2", **{**env, "hw2_runs": run(tiny, plain, TUNE_SEEDS, epochs=2)})
    assert not passed and "the runs have no momentum" in text
    # a verdict of another table
    passed, text = outcome(
        "hw2", **{**env, "hw2_scaled": {**env["hw2_scaled"], 512: other(env["hw2_scaled"][512])}}
    )
    assert not passed and "`hw2_scaled[512]`" in text and "row 'batch 512, scaled'" in text
    passed, text = outcome("hw2", **{**env, "hw2_same": {32: "worse", 512: env["hw2_same"][512]}})
    assert not passed and "a verdict is one of" in text
    passed, text = outcome(
        "hw2", **{**env, "hw2_same": {"32": env["hw2_same"][32], "512": env["hw2_same"][512]}}
    )
    assert not passed and "should have the numbers 32 and 512 as its keys" in text
    passed, text = outcome("hw2", **{**env, "hw2_fastest": 32 if env["hw2_fastest"] != 32 else 512})
    assert not passed and "`hw2_fastest`" in text and "does not agree" in text
    passed, text = outcome("hw2", **{**env, "hw2_fastest": "batch 512, same"})
    assert not passed and "`hw2_fastest` should be a number (e.g. 512), not a str" in text
    all_mutations_fail(
        grader,
        "hw2",
        env,
        "hw2_runs",
        recipes.of("02_optimizers", "hw2"),
        changes={"batch_size", "max_lr"},
    )


# Homework 3: the rotated valley


def lesson_toy():
    """The lesson's valley, START, TOY_OPTIMIZERS, TOY_LRS and tune_on, from the notebook's section 1 cell."""
    cells = [c for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    source = next("".join(c["source"]) for c in cells if "def valley(" in "".join(c["source"]))
    keep = [
        n
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef)
        or (
            isinstance(n, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.isupper() for t in n.targets)
        )
    ]
    namespace = {"torch": torch, "np": np, "pd": pd, "partial": partial}
    exec(compile(ast.Module(keep, []), "02_optimizers: section 1", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def hw3():
    toy = lesson_toy()
    angle = torch.tensor(math.pi / 4)
    rotation = torch.stack(
        [torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])]
    )

    def rotated_valley(theta):
        return toy["valley"](theta @ rotation)

    start = rotation @ toy["START"]
    table, _ = toy["tune_on"](rotated_valley, start)
    places = table["worst loss, last 10 steps"].rank(method="min")
    env = {
        "hw3_valley": rotated_valley,
        "hw3_start": start,
        "hw3_tuned": table,
        "hw3_rmsprop_rank": int(places["RMSprop"]),
        "hw3_adam_rank": int(places["Adam"]),
    }
    lesson = {k: toy[k] for k in ("valley", "START", "TOY_OPTIMIZERS", "TOY_LRS")}
    return env, lesson, toy, rotation


def test_hw3(hw3) -> None:
    env, lesson, toy, rotation = hw3
    assert timed(
        grader,
        "hw3",
        {"SEEDS": SEEDS, "TUNE_SEEDS": TUNE_SEEDS, "CHOSEN_LR": CHOSEN_LR, **env, **lesson},
    ) == (True, "hw3: passed (5 checks)")
    assert outcome(
        "hw3",
        **{
            **env,
            "hw3_rmsprop_rank": np.int64(env["hw3_rmsprop_rank"]),
            "hw3_adam_rank": float(env["hw3_adam_rank"]),
        },
        **lesson,
    )[0]
    # the lesson's finding: from best on the aligned valley to worst
    assert env["hw3_rmsprop_rank"] == 5
    # the start left where it was
    passed, text = outcome("hw3", **{**env, "hw3_start": lesson["START"]}, **lesson)
    assert not passed and "differs from valley(START)" in text
    # the start rotated the other way
    passed, text = outcome("hw3", **{**env, "hw3_start": rotation.T @ lesson["START"]}, **lesson)
    assert not passed and "in the same direction" in text
    # a valley rotated by 30° instead of 45°
    angle = math.radians(30)
    by_30 = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    passed, text = outcome(
        "hw3", **{**env, "hw3_valley": lambda theta: toy["valley"](theta @ by_30)}, **lesson
    )
    assert not passed and "is not the valley of section 1 rotated by 45°" in text
    # the table of the aligned valley, and RMSprop's place read from it
    aligned, _ = toy["tune_on"](lesson["valley"], lesson["START"])
    passed, text = outcome("hw3", **{**env, "hw3_tuned": aligned, "hw3_rmsprop_rank": 1}, **lesson)
    assert (
        not passed
        and "is not what its path on your rotated valley from your rotated start gives" in text
    )
    # the aligned valley's rates kept, with the losses they give on the rotated valley: not tuned
    kept = aligned.copy()
    for name, make in lesson["TOY_OPTIMIZERS"].items():
        path = toy["trajectory"](
            make, float(kept.loc[name, "tuned η"]), env["hw3_valley"], env["hw3_start"]
        )
        kept.loc[name, "worst loss, last 10 steps"] = env["hw3_valley"](path[-10:]).max().item()
    passed, text = outcome("hw3", **{**env, "hw3_tuned": kept}, **lesson)
    assert not passed and "has a lower worst loss at a neighbouring rate of the grid" in text
    # RMSprop's place on the aligned valley
    passed, text = outcome("hw3", **{**env, "hw3_rmsprop_rank": 1}, **lesson)
    assert not passed and "`hw3_rmsprop_rank` = 1 does not agree with your own results" in text
    passed, text = outcome("hw3", **{**env, "hw3_adam_rank": "2"}, **lesson)
    assert not passed and "`hw3_adam_rank` should be a number (e.g. 2), not a str ('2')" in text
    passed, text = outcome("hw3", **{**env, "hw3_adam_rank": 2.5}, **lesson)
    assert not passed and "should be a whole number" in text
