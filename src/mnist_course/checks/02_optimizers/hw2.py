"""Lesson 2, homework 2 (batch size and learning rate): `hw2_runs` is an `mc.compare` result of SGD +
momentum with the one-cycle schedule on the tuning seeds: batch 128 at the peak rate chosen for it, and
batches 32 and 512 once at that same peak rate and once at that rate × batch / 128. `hw2_same` and
`hw2_scaled` map 32 and 512 to the verdict of that run against batch 128 (same rate, scaled rate);
`hw2_fastest` is the batch size of the run with the fewest seconds per epoch."""

import math

import numpy as np
from mnist_course.checks.runner import test_case

from mnist_course.checks import support as s

SIZES = (32, 512)
HINT = ('assign the result of mc.compare(make_mlp, {"batch 128": {"optimizer": partial(torch.optim.SGD, lr=..., '
        'momentum=0.9), "batch_size": 128, "scheduler": partial(one_cycle, batch_size=128)}, ...}, TUNE_SEEDS, data, EPOCHS)')


def base(CHOSEN_LR):
    return float(CHOSEN_LR["SGD + momentum"])


def config_of(runs, batch_size, rate, what):
    """The config of `runs` with this batch size and peak rate (AssertionError naming `what` if none)."""
    found = [c for c, row in runs.settings.iterrows()
             if int(row["batch_size"]) == batch_size and math.isclose(float(row["max_lr"]), rate, rel_tol=1e-6)]
    assert found, (f"`hw2_runs` has no config with batch size {batch_size} at {what}: give it "
                   f'"batch_size": {batch_size} and that peak rate')
    return found[0]


def wanted(runs, CHOSEN_LR):
    """(batch size, "same" or "scaled") -> config, and the batch-128 reference."""
    rate = base(CHOSEN_LR)
    reference = config_of(runs, 128, rate, 'the peak rate chosen for SGD + momentum, CHOSEN_LR["SGD + momentum"]')
    configs = {}
    for b in SIZES:
        configs[b, "same"] = config_of(runs, b, rate, 'the same peak rate as batch 128, CHOSEN_LR["SGD + momentum"]')
        configs[b, "scaled"] = config_of(runs, b, rate * b / 128,
                                         f'the scaled peak rate, CHOSEN_LR["SGD + momentum"] × {b} / 128 (the linear rule)')
    return reference, configs


@test_case(name="batches 32, 128 and 512 at the same and at the scaled peak rate")
def batches(hw2_runs, CHOSEN_LR):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.same_setting(runs, "hw2_runs", "optimizer", "optimizer")
    assert runs.settings["optimizer"].iloc[0] == "SGD", (
        "`hw2_runs`: the question is about SGD + momentum: use partial(torch.optim.SGD, lr=..., momentum=0.9) in every config")
    wanted(runs, CHOSEN_LR)


def one_cycle_everywhere(runs):
    missing = [c for c in runs.settings.index if s.setting(runs, c, "scheduler") != "OneCycleLR"]
    assert not missing, (f"`hw2_runs`: {', '.join(map(repr, missing))} ran without the one-cycle schedule: give every "
                         'config "scheduler": partial(one_cycle, batch_size=b), with its own batch size b')


@test_case(name="only the batch size and the rate change")
def same_rest(hw2_runs, TUNE_SEEDS, EPOCHS):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    for column, what in [("model", "model"), ("optimizer", "optimizer"), ("weight_decay", "weight decay"),
                         ("scheduler", "learning-rate schedule")]:
        s.same_setting(runs, "hw2_runs", column, what)
    momentum = s.same_setting(runs, "hw2_runs", "momentum", "momentum")
    assert s.numbers_in([momentum]) and float(momentum) > 0, (
        "`hw2_runs`: the runs have no momentum: the question is about SGD + momentum (momentum=0.9)")
    one_cycle_everywhere(runs)
    s.same_epochs(runs, "hw2_runs", EPOCHS)
    s.same_seeds(runs, "hw2_runs", TUNE_SEEDS)


@test_case(name="the schedule follows the batch size")
def schedule(hw2_runs, EPOCHS, one_cycle_rates):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    one_cycle_everywhere(runs)
    s.same_epochs(runs, "hw2_runs", EPOCHS)
    for config, row in runs.settings.iterrows():
        rates = np.asarray(one_cycle_rates(float(row["max_lr"]), int(row["batch_size"])), dtype=float)
        steps = len(rates) // EPOCHS
        for _, epoch in runs.history[runs.history["config"] == config].iterrows():
            expected = rates[(int(epoch["epoch"]) - 1) * steps]
            assert math.isclose(float(epoch["lr"]), expected, rel_tol=1e-4), (
                f"`hw2_runs`: config {config!r} starts epoch {int(epoch['epoch'])} at the rate {float(epoch['lr']):.3g}, "
                f"where the lesson's one-cycle schedule for batch size {int(row['batch_size'])} is at {expected:.3g}: "
                "a schedule built for batch 128 does not fit the number of steps of another batch size; give each "
                'config "scheduler": partial(one_cycle, batch_size=b) with its own batch size b')


def verdicts(answer, var, runs, CHOSEN_LR, kind):
    s.given(answer, var, "set it to a dict {32: verdict, 512: verdict} of the verdicts against batch 128")
    assert isinstance(answer, dict) and all(b in answer for b in SIZES), (
        f"`{var}` should be a dict with the keys 32 and 512, e.g. {{32: ..., 512: ...}}")
    reference, configs = wanted(runs, CHOSEN_LR)
    for b in SIZES:
        s.is_verdict(answer[b], f"{var}[{b}]")
        s.agrees(answer[b], s.verdict(runs, configs[b, kind], reference), f"{var}[{b}]",
                 f'the "verdict" column of mc.paired_differences(hw2_runs, {reference!r}), row {configs[b, kind]!r}')


@test_case(name="the verdicts at the same peak rate")
def same(hw2_runs, hw2_same, CHOSEN_LR):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    verdicts(hw2_same, "hw2_same", runs, CHOSEN_LR, "same")


@test_case(name="the verdicts at the scaled peak rate")
def scaled(hw2_runs, hw2_scaled, CHOSEN_LR):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    verdicts(hw2_scaled, "hw2_scaled", runs, CHOSEN_LR, "scaled")


@test_case(name="the time per epoch")
def fastest(hw2_runs, hw2_fastest):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.given(hw2_fastest, "hw2_fastest", "set it to the batch size (a number) whose run took the fewest seconds per epoch")
    quickest = str(runs.summary["seconds_per_epoch"].idxmin())
    s.agrees(hw2_fastest, int(s.setting(runs, quickest, "batch_size")), "hw2_fastest",
             'the "seconds_per_epoch" column of hw2_runs.summary and the batch size of each config')
