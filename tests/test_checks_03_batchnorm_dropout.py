"""Lesson 3's homework checks on real (tiny) runs: the right work passes, seeded wrong work fails its own check,
and so does every mutation of the lesson's recipe (tests/test_checks.py: `mutations`).

The runs use the lesson's own MLP and SmallCNN (read from the notebook) on 512 images, for one epoch (the CNN
for the question's two), so that the whole file takes seconds; the checks' recipe is patched to these images,
seeds and epochs."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
import math
from collections import OrderedDict
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from test_checks import all_mutations_fail, mutations, timed

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "03_batchnorm_dropout.ipynb"
SEEDS = [2, 3]
EPOCHS = 1
SHARED_LR = {"SGD": 0.03, "Adam": 1e-3}
# the lesson's main-text globals the checks read
MAIN = {"SEEDS": SEEDS, "EPOCHS": EPOCHS, "SHARED_LR": SHARED_LR}
grader = mc.checks.Homework("03_batchnorm_dropout")


def lesson_class(name: str) -> type:
    """The class (or model-building function) `name` exactly as the lesson defines it (the class and function
    definitions of its cell)."""
    cells = [
        "".join(c["source"])
        for c in json.loads(LESSON.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    source = next(c for c in cells if f"class {name}(" in c or f"def {name}(" in c)
    definitions = ast.Module(
        [n for n in ast.parse(source).body if isinstance(n, (ast.ClassDef, ast.FunctionDef))], []
    )
    namespace = {
        "nn": nn,
        "torch": torch,
        "mc": mc,
        "math": math,
        "F": F,
        "OrderedDict": OrderedDict,
    }
    exec(compile(definitions, f"{LESSON.name}: {name}", "exec"), namespace)
    return namespace[name]


MLP = lesson_class("MLP")
SmallCNN = lesson_class("SmallCNN")


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
            seeds=tuple(SEEDS),
            epochs=2 if question == "hw1" else EPOCHS,
        ),
    )


def test_the_recipe_is_the_lessons() -> None:
    """The lesson's BN MLP has the recipe's size; its seeds, epochs and images are the recipe's."""
    assert (
        mc.count_parameters(MLP(bn=True))
        == recipes.of("03_batchnorm_dropout", "hw2", quick=False).parameters
        == 270_346
    )
    full, quick = recipes._batchnorm("hw2", False), recipes._batchnorm("hw2", True)
    assert (
        full.seeds == (2, 3, 4, 5, 6)
        and full.epochs == 3
        and quick.seeds == (2, 3)
        and quick.epochs == 1
    )
    assert (
        recipes._batchnorm("hw1", False).train_images == 10_000
        and recipes._batchnorm("hw1", False).epochs == 2
    )


def optimizer(kind: str, lr: float | None = None):
    lr = SHARED_LR[kind] if lr is None else lr
    return (
        partial(torch.optim.SGD, lr=lr, momentum=0.9)
        if kind == "SGD"
        else partial(torch.optim.Adam, lr=lr)
    )


def other(answer: str) -> str:
    return next(v for v in ("higher", "lower", "no detectable difference") if v != answer)


def outcome(question: str, **env):
    result = grader.check(question, {**MAIN, **env})
    return result.passed, repr(result)


@pytest.fixture(scope="module")
def tiny(mnist: mc.MNISTSplits) -> mc.MNISTSplits:
    return mnist.subset(train=512, val=512, test=64)


# Homework 1: BN in a small CNN


def cnn_runs(data, make=SmallCNN, kind="Adam", epochs=2):
    return mc.compare(
        make,
        {
            "CNN": {"model": partial(make, bn=False), "optimizer": optimizer(kind)},
            "CNN + BN": {"model": partial(make, bn=True), "optimizer": optimizer(kind)},
        },
        SEEDS,
        data.subset(train=10_000),
        epochs,
        progress=False,
    )


def bn_verdict(runs):
    return mc.paired_differences(runs, "CNN").loc["CNN + BN", "verdict"]


class HalfBN(SmallCNN):
    """BN after the first convolution only."""

    def __init__(self, bn=False):
        super().__init__(bn)
        self.bn2 = nn.Identity()


class WideCNN(SmallCNN):
    """The skeleton with 16 and 32 channels instead of 8 and 16."""

    def __init__(self, bn=False):
        super().__init__(bn)
        self.conv1, self.conv2 = (
            nn.Conv2d(1, 16, 3, padding=1, bias=not bn),
            nn.Conv2d(16, 32, 3, padding=1, bias=not bn),
        )
        self.bn1 = nn.BatchNorm2d(16) if bn else nn.Identity()
        self.bn2 = nn.BatchNorm2d(32) if bn else nn.Identity()
        self.out = nn.Linear(32 * 7 * 7, 10)


class BNAfterReLU(SmallCNN):
    """BN after each ReLU (functional): the modules run in the right order, the functions do not."""

    def forward(self, x):
        x = F.max_pool2d(self.bn1(F.relu(self.conv1(mc.normalize(x)))), 2)
        x = F.max_pool2d(self.bn2(F.relu(self.conv2(x))), 2)
        return self.out(x.flatten(1))


class BNAfterPool(SmallCNN):
    """BN after ReLU and pooling."""

    def forward(self, x):
        x = self.bn1(F.max_pool2d(F.relu(self.conv1(mc.normalize(x))), 2))
        x = self.bn2(F.max_pool2d(x.relu() if False else torch.relu(self.conv2(x)), 2))
        return self.out(x.flatten(1))


@pytest.fixture(scope="module")
def hw1(tiny):
    runs = cnn_runs(tiny)
    return {"hw1_runs": runs, "hw1_bn": bn_verdict(runs), "data": tiny}


def test_hw1(tiny, hw1) -> None:
    assert timed(grader, "hw1", {**MAIN, **hw1}) == (True, "hw1: passed (3 checks)")
    # the verdict of someone else's table
    passed, text = outcome("hw1", **{**hw1, "hw1_bn": other(hw1["hw1_bn"])})
    assert (
        not passed
        and "`hw1_bn`" in text
        and "paired_differences(hw1_runs, 'CNN'), row 'CNN + BN'" in text
    )
    # BN after the first convolution only
    half = cnn_runs(tiny, HalfBN)
    passed, text = outcome("hw1", **{**hw1, "hw1_runs": half, "hw1_bn": bn_verdict(half)})
    assert (
        not passed
        and "runs conv 8 -> BN -> relu -> pool -> conv 16 -> relu -> pool -> linear" in text
    )
    assert "add it there" in text
    # BN after the ReLU, and after ReLU and pooling: measured through the functions, not the modules' order
    for wrong, seen in [
        (BNAfterReLU, "conv 8 -> relu -> BN -> pool -> conv 16 -> relu -> BN -> pool"),
        (BNAfterPool, "conv 8 -> relu -> pool -> BN -> conv 16 -> relu -> pool -> BN"),
    ]:
        moved = cnn_runs(tiny, wrong)
        passed, text = outcome("hw1", **{**hw1, "hw1_runs": moved, "hw1_bn": bn_verdict(moved)})
        assert (
            not passed
            and seen in text
            and "right after each convolution" in text
            and "move it there" in text
        ), text
    # a CNN with other channel counts
    wide = cnn_runs(tiny, WideCNN)
    passed, text = outcome("hw1", **{**hw1, "hw1_runs": wide, "hw1_bn": bn_verdict(wide)})
    assert not passed and "give [16, 32] channels" in text and "1 -> 8 and 8 -> 16 channels" in text
    # half the training images (the question's 10,000 are here the 512 of the tiny data)
    fewer = cnn_runs(tiny.subset(train=256))
    passed, text = outcome("hw1", **{**hw1, "hw1_runs": fewer, "hw1_bn": bn_verdict(fewer)})
    assert (
        not passed
        and "trained and validated with 256 training images; the question asks for the lesson's 512"
        in text
    )
    assert "data.subset(train=10_000)" in text
    # SGD instead of Adam
    sgd = cnn_runs(tiny, kind="SGD", epochs=2)
    passed, text = outcome("hw1", **{**hw1, "hw1_runs": sgd, "hw1_bn": bn_verdict(sgd)})
    assert (
        not passed
        and "trains with optimizer SGD in every config" in text
        and "the lesson's optimizer, Adam" in text
    )
    # Adam at another rate than the shared one
    fast = mc.compare(
        SmallCNN,
        {
            "CNN": {"model": partial(SmallCNN, bn=False), "optimizer": optimizer("Adam", 3e-3)},
            "CNN + BN": {"model": partial(SmallCNN, bn=True), "optimizer": optimizer("Adam", 3e-3)},
        },
        SEEDS,
        tiny,
        2,
        progress=False,
    )
    passed, text = outcome("hw1", **{**hw1, "hw1_runs": fast, "hw1_bn": bn_verdict(fast)})
    assert (
        not passed
        and 'trains Adam at lr=0.003; the question asks for the shared rate of section 4, SHARED_LR["Adam"]'
        in text
    )
    # SEEDS shortened to one seed in the student's namespace: the check keeps the lesson's
    one = mc.compare(
        SmallCNN,
        {
            "CNN": {"model": partial(SmallCNN, bn=False), "optimizer": optimizer("Adam")},
            "CNN + BN": {"model": partial(SmallCNN, bn=True), "optimizer": optimizer("Adam")},
        },
        SEEDS[:1],
        tiny,
        2,
        progress=False,
    )
    passed, text = outcome(
        "hw1", **{**hw1, "hw1_runs": one, "hw1_bn": "no detectable difference", "SEEDS": SEEDS[:1]}
    )
    assert not passed and "ran seeds [2], the question asks for the lesson's seeds [2, 3]" in text
    all_mutations_fail(
        grader,
        "hw1",
        {**MAIN, **hw1},
        "hw1_runs",
        recipes.of("03_batchnorm_dropout", "hw1"),
        changes={"parameters"},
    )


def test_hw1_epochs(tiny) -> None:
    short = cnn_runs(tiny, epochs=1)
    passed, text = outcome("hw1", hw1_runs=short, hw1_bn=bn_verdict(short), data=tiny)
    assert not passed and "trained for 1 epochs, the question asks for 2" in text


# Homework 2: why model.eval() matters for BN


def per_digit(model, data, eval_in_train_mode=False, on_a_copy=True):
    """The solution's table; with eval_in_train_mode, the 'eval mode' column is computed without model.eval()
    (on a copy, in the mode the trained model was left in: training); with on_a_copy=False the train-mode
    passes run on the model itself."""
    import pandas as pd

    rows = {}
    for digit in range(10):
        images, labels = data.x_val[data.y_val == digit], data.y_val[data.y_val == digit]
        train_mode = (copy.deepcopy(model) if on_a_copy else model).train()
        with torch.no_grad():
            batch_acc = (train_mode(images).argmax(1) == labels).float().mean().item() * 100
        eval_acc = batch_acc if eval_in_train_mode else mc.evaluate(model, images, labels)[1]
        rows[digit] = {
            "images": len(labels),
            "eval mode (%)": eval_acc,
            "train mode (%)": batch_acc,
        }
    return pd.DataFrame(rows).T.round(2)


def cumulative_bn():
    model = MLP(bn=True)
    model.bn1.momentum = model.bn2.momentum = None
    return model


def half_cumulative_bn():
    model = MLP(bn=True)
    model.bn1.momentum = None  # bn2 forgotten
    return model


def on_the_mlp():
    model = MLP(bn=True)
    model.momentum = None  # an attribute of the MLP: no BN layer reads it
    return model


def momentum_runs(data, make_none=cumulative_bn):
    sgd = optimizer("SGD")
    return mc.compare(
        partial(MLP, bn=True),
        {
            "momentum 0.1": {"optimizer": sgd},
            "momentum None": {"model": make_none, "optimizer": sgd},
        },
        SEEDS,
        data,
        EPOCHS,
        progress=False,
    )


def momentum_verdict(runs):
    return mc.paired_differences(runs, "momentum 0.1").loc["momentum None", "verdict"]


def bn_ablation(data):
    return mc.compare(
        partial(MLP, bn=True),
        {
            **{f"BN | {o}": {"optimizer": optimizer(o)} for o in SHARED_LR},
            "BN + dropout | SGD": {
                "model": partial(MLP, bn=True, dropout=0.2),
                "optimizer": optimizer("SGD"),
            },
        },
        SEEDS,
        data,
        EPOCHS,
        progress=False,
    )


@pytest.fixture(scope="module")
def hw2(tiny):
    ablation = bn_ablation(tiny)
    model = ablation.models["BN | SGD", SEEDS[0]]
    runs = momentum_runs(tiny)
    return {
        "hw2_model": model,
        "hw2_digits": per_digit(model, tiny),
        "hw2_runs": runs,
        "hw2_same_weights": True,
        "hw2_momentum": momentum_verdict(runs),
        "ablation": ablation,
        "data": tiny,
    }


def test_hw2(tiny, hw2) -> None:
    assert timed(grader, "hw2", {**MAIN, **hw2}) == (True, "hw2: passed (7 checks)")
    # the table rounded to one decimal, and NumPy's numbers in it
    assert outcome("hw2", **{**hw2, "hw2_digits": hw2["hw2_digits"].round(1)})[0]
    assert outcome("hw2", **{**hw2, "hw2_same_weights": np.bool_(True)})[0]
    model = hw2["hw2_model"]
    # BN left in train mode when evaluating: the "eval mode" column is what a forward pass in training mode gives
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_digits": per_digit(model, tiny, eval_in_train_mode=True)}
    )
    assert not passed and "not yet (6 of 7" in text and "evaluate with model.eval()" in text
    # a model that is not from the ablation
    passed, text = outcome("hw2", **{**hw2, "hw2_model": MLP(bn=True)})
    assert not passed and "is not one of the ablation's trained BN models" in text
    # the train-mode passes on the ablation's model itself, not on a copy: its running statistics moved
    ablation = copy.deepcopy(hw2["ablation"])
    spoilt = ablation.models["BN | SGD", SEEDS[0]]
    passed, text = outcome(
        "hw2",
        **{
            **hw2,
            "ablation": ablation,
            "hw2_model": spoilt,
            "hw2_digits": per_digit(spoilt, tiny, on_a_copy=False),
        },
    )
    assert (
        not passed
        and "has run 10 more batches in training mode" in text
        and "copy.deepcopy" in text
    )
    # the weights compared wrongly, and the verdict of someone else's table
    passed, text = outcome("hw2", **{**hw2, "hw2_same_weights": False})
    assert not passed and "`hw2_same_weights` = False does not agree" in text
    passed, text = outcome("hw2", **{**hw2, "hw2_momentum": other(hw2["hw2_momentum"])})
    assert not passed and "`hw2_momentum`" in text and "row 'momentum None'" in text
    passed, text = outcome("hw2", **{**hw2, "hw2_same_weights": "True"})
    assert (
        not passed
        and "`hw2_same_weights` should be True or False (a bool), not a str ('True')" in text
    )
    # a fraction instead of a percentage, and text in the table
    passed, text = outcome(
        "hw2",
        **{
            **hw2,
            "hw2_digits": hw2["hw2_digits"].assign(
                **{"eval mode (%)": lambda d: d["eval mode (%)"] / 100}
            ),
        },
    )
    assert not passed and "is in percent (multiply by 100)" in text
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_digits": hw2["hw2_digits"].astype({"train mode (%)": str})}
    )
    assert (
        not passed
        and 'the column "train mode (%)" should hold numbers (percentages such as 97.25), not a str'
        in text
    )
    # SEEDS and EPOCHS in the student's namespace do not change what the runs must be
    all_mutations_fail(
        grader, "hw2", {**MAIN, **hw2}, "hw2_runs", recipes.of("03_batchnorm_dropout", "hw2")
    )


def test_hw2_train_mode_with_dropout(tiny, hw2) -> None:
    """A BN + dropout model of the ablation: the train-mode column is measured too (dropout draws fresh masks, so
    the check accepts a number within a few binomial standard deviations of its own draws)."""
    model = hw2["ablation"].models["BN + dropout | SGD", SEEDS[0]]
    right = per_digit(model, tiny)
    env = {**hw2, "hw2_model": model, "hw2_digits": right}
    assert timed(grader, "hw2", {**MAIN, **env}) == (True, "hw2: passed (7 checks)")
    torch.manual_seed(123)  # another draw of the masks passes too
    assert outcome("hw2", **{**env, "hw2_digits": per_digit(model, tiny)})[0]
    # the train column copied from the eval column
    copied = right.assign(**{"train mode (%)": right["eval mode (%)"]})
    passed, text = outcome("hw2", **{**env, "hw2_digits": copied})
    assert (
        not passed
        and "the train-mode accuracy of digit 0 is" in text
        and "call .train() on a copy" in text
    )
    # an invented train column: plausible-looking numbers
    invented = right.assign(**{"train mode (%)": [50.0 + d for d in range(10)]})
    passed, text = outcome("hw2", **{**env, "hw2_digits": invented})
    assert not passed and "the train-mode accuracy of digit" in text
    # the notebook's random state is left as it was
    torch.manual_seed(7)
    before = torch.rand(3)
    torch.manual_seed(7)
    grader.check("hw2", {**MAIN, **env})
    assert torch.equal(torch.rand(3), before)


def test_hw2_momentum_not_set(tiny, hw2) -> None:
    # momentum None in bn1 only
    half = momentum_runs(tiny, half_cumulative_bn)
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_runs": half, "hw2_momentum": momentum_verdict(half)}
    )
    assert not passed and "only 1 of the 2 BN layers has momentum None" in text
    # momentum set on the MLP, where BN does not read it: both configs train and evaluate the same
    unset = momentum_runs(tiny, on_the_mlp)
    passed, text = outcome(
        "hw2", **{**hw2, "hw2_runs": unset, "hw2_momentum": momentum_verdict(unset)}
    )
    assert not passed and "should have one config whose BN layers have momentum None" in text


# Homework 3: a bias before BN is wasted


def without_bias(layers=("fc1", "fc2")):
    model = MLP(bn=True)
    for name in layers:
        old = getattr(model, name)
        setattr(model, name, nn.Linear(old.in_features, old.out_features, bias=False))
    return model


def frozen_zero_bias():
    model = MLP(bn=True)
    for layer in (model.fc1, model.fc2):
        nn.init.zeros_(layer.bias)
        layer.bias.requires_grad_(False)
    return model


def bias_runs(data, make=without_bias):
    return {
        o: mc.compare(
            partial(MLP, bn=True),
            {
                "BN": {"optimizer": optimizer(o)},
                "BN, no bias before BN": {"model": make, "optimizer": optimizer(o)},
            },
            SEEDS,
            data,
            EPOCHS,
            progress=False,
        )
        for o in SHARED_LR
    }


def bias_verdicts(runs):
    return {
        o: mc.paired_differences(r, "BN").loc["BN, no bias before BN", "verdict"]
        for o, r in runs.items()
    }


@pytest.fixture(scope="module")
def hw3(tiny):
    runs = bias_runs(tiny)
    model = MLP(bn=True)
    return {
        "hw3_redundant": model.fc1.bias.numel() + model.fc2.bias.numel(),
        "hw3_runs": runs,
        "hw3_verdicts": bias_verdicts(runs),
        "MLP": MLP,
    }


def test_hw3(tiny, hw3) -> None:
    assert timed(grader, "hw3", {**MAIN, **hw3}) == (True, "hw3: passed (4 checks)")
    # NumPy's integers are numbers: a count from np.int64, or from a pandas sum

    for right in (
        np.int64(hw3["hw3_redundant"]),
        pd.Series([hw3["hw3_redundant"] - 12, 12]).sum(),
        512.0,
    ):
        assert outcome("hw3", **{**hw3, "hw3_redundant": right})[0]
    passed, text = outcome("hw3", **{**hw3, "hw3_redundant": "512"})
    assert not passed and "`hw3_redundant` should be a number (e.g. 100), not a str ('512')" in text
    # the wrong count: the output layer's bias counted too (no BN follows it), or BN's own γ and β
    for wrong in (522, 1024):
        passed, text = outcome("hw3", **{**hw3, "hw3_redundant": wrong})
        assert not passed and f"`hw3_redundant` = {wrong} does not agree" in text
    # the verdicts of someone else's table
    swapped = {o: other(v) for o, v in hw3["hw3_verdicts"].items()}
    passed, text = outcome("hw3", **{**hw3, "hw3_verdicts": swapped})
    assert not passed and "`hw3_verdicts['SGD']`" in text
    # only fc1 without a bias
    half = bias_runs(tiny, partial(without_bias, ["fc1"]))
    passed, text = outcome("hw3", **{**hw3, "hw3_runs": half, "hw3_verdicts": bias_verdicts(half)})
    assert not passed and "fc2 still has a bias before BN" in text
    # the biases set to 0 and frozen instead of removed
    frozen = bias_runs(tiny, frozen_zero_bias)
    passed, text = outcome(
        "hw3", **{**hw3, "hw3_runs": frozen, "hw3_verdicts": bias_verdicts(frozen)}
    )
    assert (
        not passed
        and "built with bias=False (a bias set to 0 or frozen is still a parameter)" in text
    )
    # the output layer's bias removed as well
    also_out = bias_runs(tiny, partial(without_bias, ["fc1", "fc2", "out"]))
    passed, text = outcome(
        "hw3", **{**hw3, "hw3_runs": also_out, "hw3_verdicts": bias_verdicts(also_out)}
    )
    assert not passed and "out has no bias, but no BN follows it" in text
    # one optimizer only
    passed, text = outcome("hw3", **{**hw3, "hw3_runs": {"SGD": hw3["hw3_runs"]["SGD"]}})
    assert not passed and "should be a dict with the keys 'SGD', 'Adam'" in text
    passed, text = outcome("hw3", **{**hw3, "hw3_verdicts": "higher"})
    assert (
        not passed and "`hw3_verdicts` should be a dict" in text and "not a str ('higher')" in text
    )
    # Adam at the SGD rate
    wrong_rate = {
        **hw3["hw3_runs"],
        "Adam": mc.compare(
            partial(MLP, bn=True),
            {
                "BN": {"optimizer": optimizer("Adam", 0.03)},
                "BN, no bias before BN": {
                    "model": without_bias,
                    "optimizer": optimizer("Adam", 0.03),
                },
            },
            SEEDS,
            tiny,
            EPOCHS,
            progress=False,
        ),
    }
    passed, text = outcome(
        "hw3", **{**hw3, "hw3_runs": wrong_rate, "hw3_verdicts": bias_verdicts(wrong_rate)}
    )
    assert not passed and "`hw3_runs['Adam']` trains Adam at lr=0.03" in text


def test_hw3_mutations(hw3) -> None:
    """Every recipe mutation of either optimizer's runs fails, with its hint."""
    missed = []
    for o in ("SGD", "Adam"):
        recipe = dataclasses.replace(recipes.of("03_batchnorm_dropout", "hw3"), optimizer=o)
        for what, mutated, hint in mutations(hw3["hw3_runs"][o], recipe, changes={"parameters"}):
            result = grader.check(
                "hw3", {**MAIN, **hw3, "hw3_runs": {**hw3["hw3_runs"], o: mutated}}
            )
            if result.passed or hint not in repr(result):
                missed.append(f"{o}, {what}: {result!r}")
    assert not missed, "\n".join(missed)
