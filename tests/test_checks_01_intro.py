"""Lesson 1's homework checks on real (tiny) runs: the right work passes, seeded wrong work fails its own check.

The runs train a small MLP for one epoch on 512 images, like the lesson's homework but in seconds."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from torch import nn

import mnist_course as mc

SEEDS = [0, 1, 2]
grader = mc.checks.Homework("01_intro")


def make_mlp(activation=nn.ReLU):
    return nn.Sequential(mc.Normalize(), nn.Flatten(), nn.Linear(784, 16), activation(), nn.Linear(16, 10))


def sgd(lr=0.1, **options):
    return partial(torch.optim.SGD, lr=lr, **options)


@pytest.fixture(scope="module")
def tiny(mnist: mc.MNISTSplits) -> mc.MNISTSplits:
    return mnist.subset(train=512, val=512, test=64)


def run(tiny, configs, seeds=SEEDS, epochs=1, **options):
    return mc.compare(make_mlp, configs, seeds, tiny, epochs, progress=False, **options)


def best(result, column):
    return result.settings.loc[result.summary["val_acc_mean"].idxmax(), column]


def verdict(result, config, reference):
    return mc.paired_differences(result, reference).loc[config, "verdict"]


def other(answer):
    return next(v for v in ("higher", "lower", "no detectable difference") if v != answer)


def outcome(question, **env):
    result = grader.check(question, {"SEEDS": SEEDS, **env})
    return result.passed, repr(result)


@pytest.fixture(scope="module")
def hw1(tiny):
    runs = run(tiny, {str(b): {"optimizer": sgd(), "batch_size": b} for b in [32, 64, 128, 256, 512]})
    return {"hw1_runs": runs, "hw1_best": int(best(runs, "batch_size"))}


def test_hw1(tiny, hw1) -> None:
    assert outcome("hw1", **hw1) == (True, "hw1: passed (3 checks)")
    best_size = hw1["hw1_best"]
    passed, text = outcome("hw1", **{**hw1, "hw1_best": 64 if best_size != 64 else 32})
    assert not passed and "`hw1_best`" in text and "does not agree with your own results" in text
    # another learning rate for the largest batch: not only the batch size changes
    unfair = run(tiny, {str(b): {"optimizer": sgd(0.4 if b == 512 else 0.1), "batch_size": b} for b in [32, 64, 128, 256, 512]})
    passed, text = outcome("hw1", hw1_runs=unfair, hw1_best=int(best(unfair, "batch_size")))
    assert not passed and "differ in their learning rate" in text
    # one seed instead of the lesson's three
    one_seed = run(tiny, {str(b): {"optimizer": sgd(), "batch_size": b} for b in [32, 64, 128, 256, 512]}, seeds=[0])
    passed, text = outcome("hw1", hw1_runs=one_seed, hw1_best=int(best(one_seed, "batch_size")))
    assert not passed and "ran seeds [0]" in text
    # three batch sizes only
    few = run(tiny, {str(b): {"optimizer": sgd(), "batch_size": b} for b in [64, 128, 256]})
    passed, text = outcome("hw1", hw1_runs=few, hw1_best=int(best(few, "batch_size")))
    assert not passed and "no config with batch size 32, 512" in text


@pytest.fixture(scope="module")
def hw2(tiny):
    runs = run(tiny, {str(lr): {"optimizer": sgd(lr)} for lr in [0.01, 0.1, 0.3, 1.0]}, batch_size=64)
    top = str(runs.summary["val_acc_mean"].idxmax())
    return {"hw2_runs": runs, "hw2_best": float(best(runs, "lr")), "hw2_largest": verdict(runs, "1.0", top)}


def test_hw2(tiny, hw2) -> None:
    assert outcome("hw2", **hw2) == (True, "hw2: passed (4 checks)")
    passed, text = outcome("hw2", **{**hw2, "hw2_largest": other(hw2["hw2_largest"])})
    assert not passed and "`hw2_largest`" in text and "paired_differences(hw2_runs" in text
    passed, text = outcome("hw2", **{**hw2, "hw2_largest": "worse"})
    assert not passed and "a verdict is one of" in text
    # Adam instead of SGD
    adam = run(tiny, {str(lr): {"optimizer": partial(torch.optim.Adam, lr=lr)} for lr in [0.01, 0.1, 0.3, 1.0]}, batch_size=64)
    passed, text = outcome("hw2", **{**hw2, "hw2_runs": adam})
    assert not passed and "about SGD" in text
    # rates that stop at 0.3
    narrow = run(tiny, {str(lr): {"optimizer": sgd(lr)} for lr in [0.01, 0.03, 0.1, 0.3]}, batch_size=64)
    passed, text = outcome("hw2", **{**hw2, "hw2_runs": narrow})
    assert not passed and "from 0.01 up to 1" in text


@pytest.fixture(scope="module")
def hw3(tiny):
    acts = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "GELU": nn.GELU}
    runs = run(tiny, {n: {"model": partial(make_mlp, a), "optimizer": sgd()} for n, a in acts.items()}, batch_size=64)
    return {"hw3_runs": runs, "hw3_best": str(runs.summary["val_acc_mean"].idxmax()),
            "hw3_sigmoid": verdict(runs, "Sigmoid", "ReLU")}


def test_hw3(tiny, hw3) -> None:
    assert outcome("hw3", **hw3) == (True, "hw3: passed (4 checks)")
    passed, text = outcome("hw3", **{**hw3, "hw3_sigmoid": other(hw3["hw3_sigmoid"])})
    assert not passed and "`hw3_sigmoid`" in text
    # the model factory forgotten: every config trains make_mlp() with ReLU
    same = run(tiny, {n: {"optimizer": sgd()} for n in ["ReLU", "Sigmoid", "Tanh", "GELU"]}, batch_size=64)
    passed, text = outcome("hw3", **{**hw3, "hw3_runs": same})
    assert not passed and "no config with GELU, Sigmoid, Tanh" in text


@pytest.fixture(scope="module")
def hw4(tiny):
    def schedules(cycle_momentum):
        return {"constant": {"optimizer": sgd()},
                "StepLR": {"optimizer": sgd(), "scheduler": lambda o: torch.optim.lr_scheduler.StepLR(o, 1, 0.1)},
                "OneCycleLR": {"optimizer": sgd(), "scheduler": lambda o: torch.optim.lr_scheduler.OneCycleLR(
                    o, max_lr=0.1, total_steps=8, cycle_momentum=cycle_momentum)}}
    runs = run(tiny, schedules(False), batch_size=64)
    default = run(tiny, schedules(True), batch_size=64)
    return {"hw4_runs": runs, "hw4_step": verdict(runs, "StepLR", "constant"),
            "hw4_one_cycle": verdict(runs, "OneCycleLR", "constant"), "default": default}


def test_hw4(tiny, hw4) -> None:
    env = {k: v for k, v in hw4.items() if k != "default"}
    assert outcome("hw4", **env) == (True, "hw4: passed (3 checks)")
    # OneCycleLR's default cycle_momentum turns momentum on: two things change at once
    passed, text = outcome("hw4", **{**env, "hw4_runs": hw4["default"]})
    assert not passed and "differ in their momentum" in text and "cycle_momentum=False" in text
    passed, text = outcome("hw4", **{**env, "hw4_one_cycle": other(env["hw4_one_cycle"])})
    assert not passed and "`hw4_one_cycle`" in text and "row 'OneCycleLR'" in text
