"""Lesson 4's homework checks on real (tiny) runs: the right work passes, seeded wrong work fails its own check,
and so does every mutation of the recipe (tests/test_checks.py: `mutations`).

The model, `multiply_adds`, `coverage`, `sgd`, `augment` and `one_cycle` are the lesson's own, read from its main
text; the brief runs train the budget CNN for one epoch on 512 images, like the homework but in seconds (the
checks' recipe is patched to these images and this epoch)."""

from __future__ import annotations

import ast
import dataclasses
import json
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from test_checks import all_mutations_fail, timed

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "04_cnn_budget.ipynb"
SEEDS = [0, 1, 2]
BATCH_SIZE = 128
grader = mc.checks.Homework("04_cnn_budget")


def lesson_definitions(*names: str) -> dict:
    """The functions and classes of the main-text cells that define `names`, run with the lesson's imports."""
    cells = [
        c
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["cell_type"] == "code" and "solution" not in c["metadata"].get("tags", [])
    ]
    namespace = {
        "math": math,
        "OrderedDict": OrderedDict,
        "pd": pd,
        "torch": torch,
        "nn": nn,
        "mc": mc,
        "BATCH_SIZE": BATCH_SIZE,
    }
    for name in names:
        source = next("".join(c["source"]) for c in cells if f"def {name}(" in "".join(c["source"]))
        tree = ast.Module(
            [n for n in ast.parse(source).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))],
            [],
        )
        exec(compile(tree, f"04_cnn_budget: {name}", "exec"), namespace)
    return namespace


L = lesson_definitions("make_budget_cnn", "multiply_adds", "coverage", "sgd", "one_cycle")
make_budget_cnn, multiply_adds, coverage, sgd, one_cycle = (
    L[n] for n in ("make_budget_cnn", "multiply_adds", "coverage", "sgd", "one_cycle")
)
augment = mc.RandomAffine(degrees=7, translate=0.1)
MAIN_TEXT = {
    "make_budget_cnn": make_budget_cnn,
    "multiply_adds": multiply_adds,
    "coverage": coverage,
    "augment": augment,
    "DESIGN_SEEDS": SEEDS,
    "BATCH_SIZE": BATCH_SIZE,
    "BUDGET": 8_000,
    "device": torch.device("cpu"),
}


def make_without_conv5():
    model = make_budget_cnn()
    model.conv5 = nn.Identity()
    model.head = nn.Linear(16, 10)
    return model


def make_strided(stride=2):
    model = make_budget_cnn()
    model.pool = nn.Conv2d(8, 8, 3, stride=stride, padding=1)
    return model


@pytest.fixture(autouse=True)
def tiny_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lesson's recipe for the brief runs, for the tiny data of these tests: 512 images, 1 epoch."""
    real = recipes.of
    monkeypatch.setattr(
        recipes,
        "of",
        lambda lesson, question, quick=False: dataclasses.replace(
            real(lesson, question, quick), train_images=512, val_images=512, epochs=1
        ),
    )


def test_the_recipe_is_the_lessons() -> None:
    """The recipe's augmentation and the budget CNN's size are the lesson's."""
    recipe = recipes.of("04_cnn_budget", "hw1", quick=False)
    assert {k: getattr(augment, k) for k in recipe.augment_options} == recipe.augment_options
    assert mc.count_parameters(make_budget_cnn()) == 7_766


def outcome(question, **env):
    result = grader.check(question, {**MAIN_TEXT, **env})
    return result.passed, repr(result)


def other(answer):
    return next(v for v in ("higher", "lower", "no detectable difference") if v != answer)


@pytest.fixture(scope="module")
def tiny(mnist: mc.MNISTSplits) -> mc.MNISTSplits:
    return mnist.subset(train=512, val=512, test=64)


def brief(
    tiny,
    variant,
    name,
    seeds=SEEDS,
    schedule=True,
    augmentation=(True, True),
    optimizer=sgd,
    max_lr=0.1,
    strength=augment,
):
    """The homework's brief runs, budget CNN against `variant`: 1 epoch on the tiny data."""

    def config(with_augment, **extra):
        scheduler = (
            (lambda opt: one_cycle(opt, 1, len(tiny.y_train), max_lr=max_lr)) if schedule else None
        )
        return dict(
            optimizer=optimizer,
            augment=strength if with_augment else None,
            scheduler=scheduler,
            **extra,
        )

    return mc.compare(
        make_budget_cnn,
        {"budget CNN": config(augmentation[0]), name: config(augmentation[1], model=variant)},
        seeds,
        tiny,
        1,
        batch_size=BATCH_SIZE,
        progress=False,
    )


def verdict(runs, config):
    return mc.paired_differences(runs, "budget CNN").loc[config, "verdict"]


@pytest.fixture(scope="module")
def hw1(tiny):
    model = make_without_conv5()
    runs = brief(tiny, make_without_conv5, "without conv5")
    return {
        "hw1_model": model,
        "hw1_runs": runs,
        "hw1_verdict": verdict(runs, "without conv5"),
        "hw1_saved_parameters": mc.count_parameters(make_budget_cnn()) - mc.count_parameters(model),
        "hw1_saved_multiply_adds": multiply_adds(make_budget_cnn()).sum()
        - multiply_adds(model).sum(),
        "hw1_coverage": coverage(model),
    }


def test_hw1(tiny, hw1) -> None:
    assert timed(grader, "hw1", {**MAIN_TEXT, **hw1}) == (True, "hw1: passed (6 checks)")
    all_mutations_fail(
        grader,
        "hw1",
        {**MAIN_TEXT, **hw1},
        "hw1_runs",
        recipes.of("04_cnn_budget", "hw1"),
        changes={"parameters"},
    )
    # numbers of NumPy's kinds are numbers
    assert outcome("hw1", **{**hw1, "hw1_saved_parameters": np.int64(hw1["hw1_saved_parameters"])})[
        0
    ]
    # the recipe changed in both configs alike: Adam, a one-cycle peak of 1.0, a stronger augmentation
    for wrong, hint in [
        (dict(optimizer=lambda p: torch.optim.Adam(p, lr=1e-3)), "trains with optimizer Adam"),
        (dict(max_lr=1.0), "trains with learning rate (a schedule's peak) 1 in every config"),
        (dict(strength=mc.RandomAffine(degrees=45, translate=0.3)), "augmentation's strength"),
    ]:
        unfair = brief(tiny, make_without_conv5, "without conv5", **wrong)
        passed, text = outcome(
            "hw1", **{**hw1, "hw1_runs": unfair, "hw1_verdict": verdict(unfair, "without conv5")}
        )
        assert not passed and hint in text, text
    # conv5 shrunk to 16 channels instead of removed
    kept = make_budget_cnn()
    kept.conv5, kept.head = L["conv_bn"](16, 16), nn.Linear(16, 10)
    passed, text = outcome("hw1", **{**hw1, "hw1_model": kept})
    assert not passed and "still has a convolution in conv5" in text
    # conv5 removed, the head not shrunk: it still expects 20 features
    unshrunk = make_budget_cnn()
    unshrunk.conv5 = nn.Identity()
    passed, text = outcome("hw1", **{**hw1, "hw1_model": unshrunk})
    assert not passed and "head should be a linear layer from conv4's 16 channels" in text
    # the parameter count of the model itself, not what it saves
    passed, text = outcome(
        "hw1", **{**hw1, "hw1_saved_parameters": mc.count_parameters(hw1["hw1_model"])}
    )
    assert not passed and "`hw1_saved_parameters` is the count of hw1_model itself" in text
    # the layer-by-layer difference of two multiply_adds tables (a Series with conv5 as NaN), not one number
    series = multiply_adds(make_budget_cnn()) - multiply_adds(hw1["hw1_model"])
    passed, text = outcome("hw1", **{**hw1, "hw1_saved_multiply_adds": series})
    assert not passed and "`hw1_saved_multiply_adds` should be one number, not a Series" in text
    # the coverage of the budget CNN, not of the model without conv5
    passed, text = outcome("hw1", **{**hw1, "hw1_coverage": coverage(make_budget_cnn())})
    assert not passed and "`hw1_coverage` does not agree with coverage(hw1_model)" in text
    # the verdict of someone else's table
    passed, text = outcome("hw1", **{**hw1, "hw1_verdict": other(hw1["hw1_verdict"])})
    assert not passed and "`hw1_verdict`" in text and "row 'without conv5'" in text
    # runs with other seeds
    others = brief(tiny, make_without_conv5, "without conv5", seeds=[3, 4, 5])
    passed, text = outcome(
        "hw1", **{**hw1, "hw1_runs": others, "hw1_verdict": verdict(others, "without conv5")}
    )
    assert not passed and "ran seeds [3, 4, 5]" in text
    # another schedule: a constant rate instead of the recipe's one-cycle
    constant = brief(tiny, make_without_conv5, "without conv5", schedule=False)
    passed, text = outcome(
        "hw1", **{**hw1, "hw1_runs": constant, "hw1_verdict": verdict(constant, "without conv5")}
    )
    assert (
        not passed and "trains with learning rate (a schedule's peak) 0.03 in every config" in text
    )
    # the variant trained without the recipe's augmentation: two things change at once
    unfair = brief(tiny, make_without_conv5, "without conv5", augmentation=(True, False))
    passed, text = outcome(
        "hw1", **{**hw1, "hw1_runs": unfair, "hw1_verdict": verdict(unfair, "without conv5")}
    )
    assert not passed and "differ in their augmentation" in text
    # the lesson's cells not run (a restarted kernel): say so instead of failing obscurely
    result = grader.check(
        "hw1", {**hw1, **{k: v for k, v in MAIN_TEXT.items() if k != "multiply_adds"}}
    )
    assert not result.passed and "`multiply_adds` is not defined: run the lesson's cells" in repr(
        result
    )


def no_padding_coverage(model):
    """Coverage computed by hand as if no layer padded: every window starts at pixel 0 + i * j."""
    last = mc.receptive_field_table(model).iloc[-1]
    rows = []
    for i in range(last["n_out"]):
        lo, hi = i * last["j_out"], min(i * last["j_out"] + last["r_out"] - 1, 27)
        rows.append(dict(position=i, first_pixel=lo, last_pixel=hi, pixels_seen=hi - lo + 1))
    return pd.DataFrame(rows).set_index("position")


@pytest.fixture(scope="module")
def hw2(tiny):
    model = make_strided()
    runs = brief(tiny, make_strided, "strided")
    return {
        "hw2_model": model,
        "hw2_runs": runs,
        "hw2_verdict": verdict(runs, "strided"),
        "hw2_parameters": mc.count_parameters(model),
        "hw2_fits": mc.count_parameters(model) < 8_000,
        "hw2_multiply_adds": multiply_adds(model).sum(),
        "hw2_receptive_field": mc.receptive_field_table(model),
        "hw2_coverage": coverage(model),
    }


def test_hw2(tiny, hw2) -> None:
    assert timed(grader, "hw2", {**MAIN_TEXT, **hw2}) == (True, "hw2: passed (7 checks)")
    all_mutations_fail(
        grader,
        "hw2",
        {**MAIN_TEXT, **hw2},
        "hw2_runs",
        recipes.of("04_cnn_budget", "hw2"),
        changes={"parameters"},
    )
    passed, text = outcome("hw2", **{**hw2, "hw2_fits": "False"})
    assert not passed and "`hw2_fits` should be True or False (a bool), not a str ('False')" in text
    # the strided model is over the budget: the check reads it from the model
    assert hw2["hw2_fits"] is False
    # stride left at 1: the convolution does not downsample
    passed, text = outcome("hw2", **{**hw2, "hw2_model": make_strided(stride=1)})
    assert not passed and "has stride 1" in text
    # the strided convolution added after the max-pool instead of replacing it
    beside = make_budget_cnn()
    beside.pool = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, stride=2, padding=1))
    passed, text = outcome("hw2", **{**hw2, "hw2_model": beside})
    assert not passed and "still has a pooling layer (MaxPool2d)" in text
    # "it fits": the verdict of the budget CNN's count
    passed, text = outcome("hw2", **{**hw2, "hw2_fits": True})
    assert not passed and "`hw2_fits` = True does not agree" in text
    # the parameters and multiply-adds of the budget CNN, not of the strided model
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_parameters": mc.count_parameters(make_budget_cnn())}
    )
    assert not passed and "`hw2_parameters` is the budget CNN's count" in text
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_multiply_adds": multiply_adds(make_budget_cnn()).sum()}
    )
    assert not passed and "`hw2_multiply_adds` is the budget CNN's count" in text
    # the receptive field of another model, and a coverage that forgets the padding
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_receptive_field": mc.receptive_field_table(make_budget_cnn())}
    )
    assert (
        not passed
        and "`hw2_receptive_field` does not agree with mc.receptive_field_table(hw2_model)" in text
    )
    passed, text = outcome("hw2", **{**hw2, "hw2_coverage": no_padding_coverage(hw2["hw2_model"])})
    assert not passed and "`hw2_coverage` does not agree with coverage(hw2_model)" in text
    # the verdict of someone else's table
    passed, text = outcome("hw2", **{**hw2, "hw2_verdict": other(hw2["hw2_verdict"])})
    assert not passed and "`hw2_verdict`" in text and "row 'strided'" in text
    # the variant trained without augmentation: two things change at once
    unfair = brief(tiny, make_strided, "strided", augmentation=(True, False))
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_runs": unfair, "hw2_verdict": verdict(unfair, "strided")}
    )
    assert not passed and "differ in their augmentation" in text
    # runs of another model than hw2_model: the stride-1 convolution trained, the stride-2 one reported
    stride1 = brief(tiny, lambda: make_strided(stride=1), "strided")
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_runs": stride1, "hw2_verdict": verdict(stride1, "strided")}
    )
    assert not passed and "does not train a model like hw2_model" in text


@pytest.fixture(scope="module")
def one_thread():
    """Timings on one torch thread: on a test machine whose cores are busy with other work, two threads wait for
    each other and a step can take 20 times longer from one measurement to the next."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def hw3(tiny, one_thread):
    """The student's timings, as mc.time_ms gives them: here the medians the check's own timer measures (on this
    shared test machine, two timings minutes apart can differ far more than on a student's)."""
    from mnist_course.checks import runner

    batch = tiny.x_train[:BATCH_SIZE]
    (_, augment_ms), (_, step_ms) = runner.load(grader.tests_dir / "hw3.py").measured(
        batch, make_budget_cnn
    )
    return {
        "hw3_batch": batch,
        "hw3_augment_ms": augment_ms,
        "hw3_step_ms": step_ms,
        "hw3_share": augment_ms / (augment_ms + step_ms),
    }


def test_hw3(tiny, hw3, one_thread) -> None:
    assert timed(grader, "hw3", {**MAIN_TEXT, "data": tiny, **hw3}) == (
        True,
        "hw3: passed (3 checks)",
    )
    a, b = hw3["hw3_augment_ms"], hw3["hw3_step_ms"]
    env = {"data": tiny, **hw3}
    # a share rounded to two decimals, and NumPy's numbers, are right too
    assert outcome("hw3", **{**env, "hw3_share": round(a / (a + b), 2)})[0]
    assert outcome(
        "hw3", **{**env, "hw3_augment_ms": np.float64(a), "hw3_share": np.float32(a / (a + b))}
    )[0]
    # the augmentation's time divided by the step's alone
    passed, text = outcome(
        "hw3", **{**env, "hw3_augment_ms": 2.0, "hw3_step_ms": 8.0, "hw3_share": 0.25}
    )
    assert not passed and "divide by their sum" in text
    # a percentage instead of a fraction
    passed, text = outcome("hw3", **{**env, "hw3_share": 100 * a / (a + b)})
    assert not passed and "looks like a percentage" in text
    # a share that is not the own timings' (copied from someone else)
    passed, text = outcome("hw3", **{**env, "hw3_share": a / (a + b) + 0.05})
    assert not passed and "does not agree with your own timings" in text
    # invented timings, and times in seconds instead of milliseconds: the check measures both itself
    for wrong in [
        {"hw3_augment_ms": 1000 * a, "hw3_step_ms": b},
        {"hw3_augment_ms": a, "hw3_step_ms": b / 50},
        {"hw3_augment_ms": a / 1000, "hw3_step_ms": b / 1000},
    ]:
        passed, text = outcome(
            "hw3",
            **{
                **env,
                **wrong,
                "hw3_share": wrong["hw3_augment_ms"]
                / (wrong["hw3_augment_ms"] + wrong["hw3_step_ms"]),
            },
        )
        assert not passed and "takes" in text and "here and now" in text and "mc.time_ms" in text, (
            text
        )
    # the timing of the wrong thing: augment on one image instead of a training batch
    passed, text = outcome("hw3", **{**env, "hw3_batch": tiny.x_train[:1]})
    assert not passed and "`hw3_batch` has the shape (1, 1, 28, 28)" in text
    # a batch of zeros, not training images
    passed, text = outcome("hw3", **{**env, "hw3_batch": torch.zeros(BATCH_SIZE, 1, 28, 28)})
    assert not passed and "is not made of images of the training set" in text
    # the step time of the lesson's timing table, a column of four models
    speed = pd.Series([23.9, b, 18.3, 20.9], name="ms_per_step")
    passed, text = outcome("hw3", **{**env, "hw3_step_ms": speed})
    assert not passed and "`hw3_step_ms` should be a number (e.g. 7.5), not a Series" in text
    # start minus end: a negative time
    passed, text = outcome("hw3", **{**env, "hw3_augment_ms": -a, "hw3_share": -a / (b - a)})
    assert not passed and "a time is a positive number" in text
