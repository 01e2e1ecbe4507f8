"""Lesson 2, homework 2 (batch size and learning rate): `hw2_runs` is an `mc.compare` result of SGD +
momentum with the one-cycle schedule on the tuning seeds: batch 128 at the peak rate chosen for it, and
batches 32 and 512 once at that same peak rate and once at that rate × batch / 128. `hw2_same` and
`hw2_scaled` map 32 and 512 to the verdict of that run against batch 128 (same rate, scaled rate);
`hw2_fastest` is the batch size of the run with the fewest seconds per epoch.

Everything but the batch size and the peak rate is held to the lesson's recipe as the runs recorded it
(`recipes.of("02_optimizers", "hw2")`): SGD with momentum 0.9, EPOCHS epochs, the tuning seeds, all training
images and the validation split, the lesson's MLP, and in every config a one-cycle schedule that spans its own
run (epochs x ceil(training images / its batch size) steps)."""

import math

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

SIZES = (32, 512)
HINT = (
    'assign the result of mc.compare(make_mlp, {"batch 128": {"optimizer": partial(torch.optim.SGD, lr=..., '
    'momentum=0.9), "batch_size": 128, "scheduler": partial(one_cycle, batch_size=128)}, ...}, TUNE_SEEDS, data, EPOCHS)'
)


def base(CHOSEN_LR):
    lesson = s.given(
        CHOSEN_LR,
        "CHOSEN_LR",
        "run the lesson's cells above the homework first (section 3 tunes the rates)",
    )
    return s.real(
        lesson["SGD + momentum"],
        'CHOSEN_LR["SGD + momentum"]',
        "run the lesson's cells above the homework first",
    )


def config_of(runs, batch_size, rate, what):
    """The config of `runs` with this batch size and peak rate (AssertionError naming `what` if none)."""
    found = [
        c
        for c, row in runs.settings.iterrows()
        if int(row["batch_size"]) == batch_size
        and math.isclose(float(row["max_lr"]), rate, rel_tol=1e-6)
    ]
    assert found, (
        f"`hw2_runs` has no config with batch size {batch_size} at {what}: give it "
        f'"batch_size": {batch_size} and that peak rate'
    )
    return found[0]


def wanted(runs, CHOSEN_LR):
    """(batch size, "same" or "scaled") -> config, and the batch-128 reference."""
    rate = base(CHOSEN_LR)
    reference = config_of(
        runs, 128, rate, 'the peak rate chosen for SGD + momentum, CHOSEN_LR["SGD + momentum"]'
    )
    configs = {}
    for b in SIZES:
        configs[b, "same"] = config_of(
            runs, b, rate, 'the same peak rate as batch 128, CHOSEN_LR["SGD + momentum"]'
        )
        configs[b, "scaled"] = config_of(
            runs,
            b,
            rate * b / 128,
            f'the scaled peak rate, CHOSEN_LR["SGD + momentum"] × {b} / 128 (the linear rule)',
        )
    return reference, configs


@test_case(name="batches 32, 128 and 512 at the same and at the scaled peak rate")
def batches(hw2_runs, CHOSEN_LR):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.same_setting(runs, "hw2_runs", "optimizer", "optimizer")
    assert runs.settings["optimizer"].iloc[0] == "SGD", (
        "`hw2_runs`: the question is about SGD + momentum: use partial(torch.optim.SGD, lr=..., momentum=0.9) in every config"
    )
    wanted(runs, CHOSEN_LR)


@test_case(name="only the batch size and the rate change")
def same_rest(hw2_runs):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.same_setting(runs, "hw2_runs", "model", "model")
    momentum = s.same_setting(runs, "hw2_runs", "momentum", "momentum")
    assert s.numbers_in([momentum]) and float(momentum) > 0, (
        "`hw2_runs`: the runs have no momentum: the question is about SGD + momentum (momentum=0.9)"
    )
    try:
        s.keeps_recipe(
            runs,
            "hw2_runs",
            recipes.of("02_optimizers", "hw2"),
            changes={"batch_size", "max_lr"},
            seeds_name="TUNE_SEEDS",
        )
    except AssertionError as error:
        if "one-cycle schedule" in str(error):
            raise AssertionError(
                f'{error}; give each config "scheduler": partial(one_cycle, batch_size=b) with its '
                "own batch size b (a schedule built for batch 128 does not fit the steps of another)"
            ) from None
        raise


def verdicts(answer, var, runs, CHOSEN_LR, kind):
    s.given(
        answer,
        var,
        "set it to a dict {32: verdict, 512: verdict} of the verdicts against batch 128",
    )
    assert isinstance(answer, dict), (
        f"`{var}` should be a dict {{32: verdict, 512: verdict}}, not {s._type(answer)}"
    )
    assert all(b in answer for b in SIZES), (
        f"`{var}` should have the numbers 32 and 512 as its keys, e.g. {{32: ..., 512: ...}}; its keys: {list(answer)}"
    )
    reference, configs = wanted(runs, CHOSEN_LR)
    for b in SIZES:
        s.is_verdict(answer[b], f"{var}[{b}]")
        s.agrees(
            answer[b],
            s.verdict(runs, configs[b, kind], reference),
            f"{var}[{b}]",
            f'the "verdict" column of mc.paired_differences(hw2_runs, {reference!r}), row {configs[b, kind]!r}',
        )


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
    answer = s.whole(
        hw2_fastest,
        "hw2_fastest",
        "set it to the batch size (a number, e.g. 512, not the config's name) "
        "whose run took the fewest seconds per epoch",
        example="512",
    )
    quickest = str(runs.summary["seconds_per_epoch"].idxmin())
    s.agrees(
        answer,
        int(s.setting(runs, quickest, "batch_size")),
        "hw2_fastest",
        'the "seconds_per_epoch" column of hw2_runs.summary and the batch size of each config',
    )
