"""Lesson 1's homework checks on real (tiny) runs: the right work passes, seeded wrong work fails its own check,
and so does every mutation of the lesson's recipe (tests/test_checks.py: `mutations`).

The runs train the lesson's own make_mlp (read from the notebook) with its recipe (plain SGD at 0.1, batches
of 64, seeds 0, 1, 2) for one or two epochs on 512 images: the checks' recipe is patched to these images."""

from __future__ import annotations

import ast
import dataclasses
import json
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from test_checks import all_mutations_fail, timed

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_intro.ipynb"
SEEDS = [0, 1, 2]
BATCH_SIZE = 64
grader = mc.checks.Homework("01_intro")


def lesson_make_mlp():
    """make_mlp exactly as the lesson defines it (with the constants of its cell, such as DROPOUT)."""
    cells = [
        "".join(c["source"])
        for c in json.loads(NOTEBOOK.read_text())["cells"]
        if c["cell_type"] == "code"
    ]
    source = next(c for c in cells if "def make_mlp(" in c)
    keep = [
        n
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef)
        or (
            isinstance(n, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id.isupper() for t in n.targets)
        )
    ]
    namespace = {"nn": nn, "torch": torch, "mc": mc}
    exec(compile(ast.Module(keep, []), "01_intro: make_mlp", "exec"), namespace)
    return namespace["make_mlp"]


make_mlp = lesson_make_mlp()


def sgd(lr=0.1, **options):
    return partial(torch.optim.SGD, lr=lr, **options)


@pytest.fixture(scope="module")
def tiny(mnist: mc.MNISTSplits) -> mc.MNISTSplits:
    return mnist.subset(train=512, val=512, test=64)


@pytest.fixture(autouse=True)
def tiny_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lesson's recipe, for the tiny data of these tests."""
    real = recipes.of
    monkeypatch.setattr(
        recipes,
        "of",
        lambda lesson, question, quick=False: dataclasses.replace(
            real(lesson, question, quick), train_images=512, val_images=512
        ),
    )


def recipe(question):
    return recipes.of("01_intro", question)


def run(tiny, configs, seeds=SEEDS, epochs=1, **options):
    return mc.compare(
        make_mlp,
        configs,
        seeds,
        tiny,
        epochs,
        progress=False,
        **{"batch_size": BATCH_SIZE, **options},
    )


def best(result, column):
    return result.settings.loc[result.summary["val_acc_mean"].idxmax(), column]


def verdict(result, config, reference):
    return mc.paired_differences(result, reference).loc[config, "verdict"]


def other(answer):
    return next(v for v in ("higher", "lower", "no detectable difference") if v != answer)


def outcome(question, **env):
    result = grader.check(question, env)
    return result.passed, repr(result)


def test_the_recipe_is_the_lessons() -> None:
    """make_mlp as the lesson defines it has the recipe's size and dropout."""
    model = make_mlp()
    assert (
        mc.count_parameters(model)
        == recipes.of("01_intro", "hw1", quick=False).parameters
        == 44_860
    )
    assert (
        tuple(m.p for m in model.modules() if isinstance(m, nn.Dropout))
        == recipes.of("01_intro", "hw1").dropout
    )


def batch_configs(sizes=(32, 64, 128, 256, 512), **extra):
    return {str(b): {"optimizer": sgd(), "batch_size": b, **extra} for b in sizes}


@pytest.fixture(scope="module")
def hw1(tiny):
    runs = run(tiny, batch_configs())
    return {"hw1_runs": runs, "hw1_best": int(best(runs, "batch_size"))}


def test_hw1(tiny, hw1) -> None:
    assert timed(grader, "hw1", hw1) == (True, "hw1: passed (3 checks)")
    assert outcome("hw1", **{**hw1, "hw1_best": float(hw1["hw1_best"])})[0]  # 128.0 is 128
    best_size = hw1["hw1_best"]
    passed, text = outcome("hw1", **{**hw1, "hw1_best": 64 if best_size != 64 else 32})
    assert not passed and "`hw1_best`" in text and "does not agree with your own results" in text
    # the config's name instead of the number: the hint asks for a number
    passed, text = outcome("hw1", **{**hw1, "hw1_best": f"batch {best_size}"})
    assert not passed and "`hw1_best` should be a number (e.g. 128), not a str ('batch" in text
    # another learning rate for the largest batch: not only the batch size changes
    unfair = run(
        tiny,
        {
            str(b): {"optimizer": sgd(0.4 if b == 512 else 0.1), "batch_size": b}
            for b in [32, 64, 128, 256, 512]
        },
    )
    passed, text = outcome("hw1", hw1_runs=unfair, hw1_best=int(best(unfair, "batch_size")))
    assert not passed and "differ in their learning rate" in text
    # SEEDS shortened to one seed in the student's namespace: the check keeps the lesson's three
    one_seed = run(tiny, batch_configs(), seeds=[0])
    passed, text = outcome(
        "hw1", hw1_runs=one_seed, hw1_best=int(best(one_seed, "batch_size")), SEEDS=[0]
    )
    assert (
        not passed and "ran seeds [0], the question asks for the lesson's seeds [0, 1, 2]" in text
    )
    # three batch sizes only
    few = run(tiny, batch_configs([64, 128, 256]))
    passed, text = outcome("hw1", hw1_runs=few, hw1_best=int(best(few, "batch_size")))
    assert not passed and "no config with batch size 32, 512" in text
    # the batch size forgotten: every config at the default
    same = run(tiny, {str(b): {"optimizer": sgd()} for b in [32, 64, 128, 256, 512]}, seeds=SEEDS)
    passed, text = outcome("hw1", hw1_runs=same, hw1_best=64)
    assert not passed and "all 5 configs have the same batch size" in text
    # a sweep that reads the test set
    tested = run(tiny, batch_configs(), test=True)
    passed, text = outcome("hw1", hw1_runs=tested, hw1_best=int(best(tested, "batch_size")))
    assert not passed and "read the test set" in text
    # dropout changed in one config
    configs = batch_configs()
    configs["512"]["model"] = partial(make_mlp, dropout=0.3)
    dropped = run(tiny, configs)
    passed, text = outcome("hw1", hw1_runs=dropped, hw1_best=int(best(dropped, "batch_size")))
    assert not passed and "differ in their dropout rates" in text
    all_mutations_fail(grader, "hw1", hw1, "hw1_runs", recipe("hw1"), changes={"batch_size"})


@pytest.fixture(scope="module")
def hw2(tiny):
    runs = run(tiny, {str(lr): {"optimizer": sgd(lr)} for lr in [0.01, 0.1, 0.3, 1.0]})
    top = str(runs.summary["val_acc_mean"].idxmax())
    return {
        "hw2_runs": runs,
        "hw2_best": float(best(runs, "lr")),
        "hw2_largest": verdict(runs, "1.0", top),
    }


def test_hw2(tiny, hw2) -> None:
    assert timed(grader, "hw2", hw2) == (True, "hw2: passed (4 checks)")
    passed, text = outcome("hw2", **{**hw2, "hw2_largest": other(hw2["hw2_largest"])})
    assert not passed and "`hw2_largest`" in text and "paired_differences(hw2_runs" in text
    passed, text = outcome("hw2", **{**hw2, "hw2_largest": "worse"})
    assert not passed and "a verdict is one of" in text
    passed, text = outcome("hw2", **{**hw2, "hw2_best": str(hw2["hw2_best"])})
    assert not passed and "`hw2_best` should be a number (e.g. 0.1), not a str" in text
    # Adam instead of SGD
    adam = run(
        tiny,
        {str(lr): {"optimizer": partial(torch.optim.Adam, lr=lr)} for lr in [0.01, 0.1, 0.3, 1.0]},
    )
    passed, text = outcome("hw2", **{**hw2, "hw2_runs": adam})
    assert not passed and "about SGD" in text
    # rates that stop at 0.3
    narrow = run(tiny, {str(lr): {"optimizer": sgd(lr)} for lr in [0.01, 0.03, 0.1, 0.3]})
    passed, text = outcome("hw2", **{**hw2, "hw2_runs": narrow})
    assert not passed and "from 0.01 up to 1" in text
    all_mutations_fail(grader, "hw2", hw2, "hw2_runs", recipe("hw2"), changes={"max_lr"})


@pytest.fixture(scope="module")
def hw3(tiny):
    acts = {"ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "GELU": nn.GELU}
    runs = run(
        tiny, {n: {"model": partial(make_mlp, a), "optimizer": sgd()} for n, a in acts.items()}
    )
    return {
        "hw3_runs": runs,
        "hw3_best": str(runs.summary["val_acc_mean"].idxmax()),
        "hw3_sigmoid": verdict(runs, "Sigmoid", "ReLU"),
    }


def test_hw3(tiny, hw3) -> None:
    assert timed(grader, "hw3", hw3) == (True, "hw3: passed (4 checks)")
    # "gelu" names GELU too
    assert outcome("hw3", **{**hw3, "hw3_best": hw3["hw3_best"].lower()})[0]
    passed, text = outcome("hw3", **{**hw3, "hw3_sigmoid": other(hw3["hw3_sigmoid"])})
    assert not passed and "`hw3_sigmoid`" in text
    # the model factory forgotten: every config trains make_mlp() with ReLU
    same = run(tiny, {n: {"optimizer": sgd()} for n in ["ReLU", "Sigmoid", "Tanh", "GELU"]})
    passed, text = outcome("hw3", **{**hw3, "hw3_runs": same})
    assert not passed and "no config with GELU, Sigmoid, Tanh" in text
    all_mutations_fail(grader, "hw3", hw3, "hw3_runs", recipe("hw3"))


def schedules(tiny, epochs, cycle_momentum=False, step_size=1):
    steps = -(-len(tiny.y_train) // BATCH_SIZE)
    return {
        "constant": {"optimizer": sgd()},
        "StepLR": {
            "optimizer": sgd(),
            "scheduler": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, 0.1),
        },
        "OneCycleLR": {
            "optimizer": sgd(),
            "scheduler": lambda o: torch.optim.lr_scheduler.OneCycleLR(
                o, max_lr=0.1, epochs=epochs, steps_per_epoch=steps, cycle_momentum=cycle_momentum
            ),
        },
    }


@pytest.fixture(scope="module")
def hw4(tiny):
    runs = run(tiny, schedules(tiny, 2), epochs=2)
    return {
        "hw4_runs": runs,
        "hw4_step": verdict(runs, "StepLR", "constant"),
        "hw4_one_cycle": verdict(runs, "OneCycleLR", "constant"),
    }


def test_hw4(tiny, hw4) -> None:
    assert timed(grader, "hw4", hw4) == (True, "hw4: passed (3 checks)")
    # OneCycleLR's default cycle_momentum turns momentum on: two things change at once
    default = run(tiny, schedules(tiny, 2, cycle_momentum=True), epochs=2)
    passed, text = outcome("hw4", **{**hw4, "hw4_runs": default})
    assert not passed and "differ in their momentum" in text and "cycle_momentum=False" in text
    passed, text = outcome("hw4", **{**hw4, "hw4_one_cycle": other(hw4["hw4_one_cycle"])})
    assert not passed and "`hw4_one_cycle`" in text and "row 'OneCycleLR'" in text
    # a StepLR whose step never falls inside the run (step_size 3 in a run of 2 epochs)
    late = run(tiny, schedules(tiny, 2, step_size=3), epochs=2)
    passed, text = outcome("hw4", **{**hw4, "hw4_runs": late})
    assert not passed and "never lowers the learning rate within its 2 epochs" in text
    # a OneCycleLR built for 4 epochs in a run of 2: it stops in the middle of its cycle
    long_cycle = run(
        tiny, {**schedules(tiny, 2), "OneCycleLR": schedules(tiny, 4)["OneCycleLR"]}, epochs=2
    )
    passed, text = outcome("hw4", **{**hw4, "hw4_runs": long_cycle})
    assert not passed and "spans 32 steps, but its runs take 2 epochs of 8 batches" in text
    all_mutations_fail(grader, "hw4", hw4, "hw4_runs", recipe("hw4"), changes={"scheduler"})
