"""What each homework's runs train with, apart from what its question changes: the lesson's recipe.

A check holds every run to one rule: only the setting that the question asks about differs between the
configs, and everything else is the lesson's recipe (its seeds, epochs, training images, optimizer and
its arguments, rate, schedule, batch size, augmentation, model size and dropout, the validation split).
The recipe is written here, in the package, and compared with what the runs recorded
(`Comparison.settings`, the history), never read from the notebook's variables: a student who shortens
`SEEDS` or `EPOCHS` to get a result sooner would otherwise be checked against the shortened values.

`of(lesson, question)` is the recipe of one question, for the lesson as it runs now: in quick mode
(`MNIST_COURSE_QUICK=1`, the lessons' test runs) with the lesson's quick-mode numbers, and every seed
shifted by `mnist_course.seeds.seed_offset()` as the lessons shift theirs. A value of None is not part
of the recipe (the question leaves it free, or the check reads it from the lesson's results, such as
a tuned learning rate, and compares it there); "none" is a recorded None (no scheduler, no augmentation). The numbers below are the lessons' own (their first
code cell and the cells the question names); a lesson that changes them changes them here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from .. import train
from ..seeds import seed_offset

__all__ = ["Recipe", "of"]


@dataclass(frozen=True)
class Recipe:
    """The settings a question's runs keep: each field is a column of `Comparison.settings` (or, for
    `seeds`, the seeds in `Comparison.final`); None leaves a setting to the question's own check."""

    seeds: tuple[int, ...]
    train_images: int
    val_images: int
    epochs: int | None = None  # None: any number of epochs, the same for every config
    optimizer: str | None = "SGD"
    # the starting rate of a constant rate (or OneCycleLR's peak, max_lr)
    lr: float | None = None
    # what the optimizer runs with (OneCycleLR with cycle_momentum sets its own)
    momentum: float | None = 0.0
    nesterov: bool | None = False
    weight_decay: float | None = 0.0
    # a scheduler's class name, "none" for a constant rate ("any": the question's)
    scheduler: str | None = "none"
    batch_size: int | None = 128
    augment: str | None = "none"  # the augmentation's name, "none" for none
    augment_options: dict[str, Any] | str | None = "none"
    # the model's parameter count, where the question keeps the model
    parameters: int | None = None
    dropout: tuple[float, ...] | None = ()
    label_smoothing: float | None = 0.0

    @property
    def steps_per_epoch(self) -> int | None:
        return None if self.batch_size is None else math.ceil(self.train_images / self.batch_size)


def _shifted(seeds: tuple[int, ...]) -> tuple[int, ...]:
    offset = seed_offset()
    return tuple(offset + s for s in seeds)


def _intro(question: str, quick: bool) -> Recipe:
    # Lesson 1: make_mlp() (3 hidden layers of 50, dropout 0.1: 44,860 parameters), plain SGD at LR = 0.1,
    # batches of BATCH_SIZE = 64, all training images, SEEDS = [0, 1, 2]; epochs are the student's choice.
    base = Recipe(
        seeds=(0, 1, 2),
        train_images=5_000 if quick else 50_000,
        val_images=1_000 if quick else 10_000,
        lr=0.1,
        batch_size=64,
        parameters=44_860,
        dropout=(0.1, 0.1, 0.1),
    )
    if question == "hw1":
        return replace(base, batch_size=None)  # the batch size is the question
    if question == "hw2":
        return replace(base, lr=None)  # the learning rate is the question
    if question == "hw4":
        # the schedule is the question (its peak stays LR)
        return replace(base, scheduler="any")
    return base


def _optimizers(question: str, quick: bool) -> Recipe:
    # Lesson 2: make_mlp() (784-64-64-10: 55,050 parameters), EPOCHS = 2 with the one-cycle schedule over
    # each run's own steps (cycle_momentum=False), batches of 128, all training images; the peak rates
    # are the lesson's tuned CHOSEN_LR (read from the lesson, checked against each other by the check).
    base = Recipe(
        seeds=(2, 3, 4, 5, 6),
        train_images=2_000 if quick else 50_000,
        val_images=500 if quick else 10_000,
        epochs=1 if quick else 2,
        optimizer=None,
        lr=None,
        momentum=None,
        scheduler="OneCycleLR",
        parameters=55_050,
    )
    if question == "hw1":  # Adam and AdamW (beta1 0.9), weight decay is the question
        return replace(base, momentum=0.9, weight_decay=None)
    # SGD + momentum 0.9 on the tuning seeds; batch size and rate are the question
    if question == "hw2":
        return replace(base, seeds=(0, 1), optimizer="SGD", momentum=0.9, batch_size=None)
    return base


def _batchnorm(question: str, quick: bool) -> Recipe:
    # Lesson 3: the BN MLP, MLP(bn=True) (270,346 parameters, no dropout), trained EPOCHS = 3 epochs at the
    # shared rates of section 4 (SGD with momentum 0.9, or Adam), batches of 128, all training images,
    # SEEDS = 2 to 6 (quick mode: 2 and 3). Homework 1: the small CNN on the first 10,000 training images
    # for 2 epochs with Adam.
    seeds = (2, 3) if quick else (2, 3, 4, 5, 6)
    base = Recipe(
        seeds=seeds,
        train_images=3_000 if quick else 50_000,
        val_images=1_000 if quick else 10_000,
        epochs=1 if quick else 3,
        optimizer=None,
        lr=None,
        momentum=None,
    )
    if question == "hw1":
        return replace(
            base, train_images=3_000 if quick else 10_000, epochs=2, optimizer="Adam", momentum=0.9
        )
    if question == "hw2":
        return replace(base, optimizer="SGD", momentum=0.9, parameters=270_346)
    # hw3: per optimizer (SGD's momentum and Adam's beta1 are both 0.9), no dropout; the biases, and so the
    # parameters, change; the check sets the optimizer of each of its two results
    return replace(base, momentum=0.9)


def _cnn_budget(question: str, quick: bool) -> Recipe:
    # Lesson 4: the recipe (SGD with Nesterov momentum, the one-cycle schedule peaking at 0.1 with PyTorch's
    # default momentum cycle, 0.95 at the start, augment = mc.RandomAffine(degrees=7, translate=0.1), batches
    # of BATCH_SIZE = 128), for the brief runs: 2 epochs on the first 10,000 training images, DESIGN_SEEDS.
    return Recipe(
        seeds=(0, 1, 2),
        train_images=2_000 if quick else 10_000,
        val_images=1_000 if quick else 10_000,
        epochs=1 if quick else 2,
        lr=0.1,
        momentum=0.95,
        nesterov=True,
        scheduler="OneCycleLR",
        augment="RandomAffine",
        augment_options={"degrees": 7, "translate": 0.1, "scale": None},
    )


_LESSONS = {
    "01_intro": _intro,
    "02_optimizers": _optimizers,
    "03_batchnorm_dropout": _batchnorm,
    "04_cnn_budget": _cnn_budget,
}


def of(lesson: str, question: str, quick: bool | None = None) -> Recipe:
    """The recipe that the runs of `question` (e.g. "hw1") of `lesson` (e.g. "01_intro") keep, in quick mode
    if `quick` (default: whether the lessons run in quick mode now), with the seeds shifted as the lesson's."""
    recipe = _LESSONS[lesson](question, train.QUICK if quick is None else quick)
    return replace(recipe, seeds=_shifted(recipe.seeds))
