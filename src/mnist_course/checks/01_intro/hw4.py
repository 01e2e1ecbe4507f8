"""Lesson 1, homework 4 (learning-rate scheduler): `hw4_runs` is an `mc.compare` result with a constant
rate, StepLR and OneCycleLR, everything else the lesson's recipe (the same highest rate, LR, and no momentum:
OneCycleLR with cycle_momentum=False), a StepLR whose step falls inside the run and a OneCycleLR that spans
it; `hw4_step` and `hw4_one_cycle` are the verdicts of StepLR and OneCycleLR against the constant rate,
from `mc.paired_differences`."""

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

HINT = (
    'assign the result of mc.compare(make_mlp, {"constant": {"optimizer": sgd()}, "StepLR": {"optimizer": sgd(), '
    '"scheduler": lambda opt: ...}, "OneCycleLR": ...}, SEEDS, data, epochs)'
)


@test_case(name="a constant rate, StepLR and OneCycleLR")
def schedules(hw4_runs):
    runs = s.comparison(hw4_runs, "hw4_runs", HINT)
    used = s.settings_of(runs, "scheduler")
    for kind in (None, "StepLR", "OneCycleLR"):
        assert used.count(kind) == 1, (
            f"`hw4_runs` should have exactly one config with "
            f"{'a constant rate (no scheduler)' if kind is None else kind}; its schedulers: {used}"
        )
    s.rate_falls(
        runs,
        "hw4_runs",
        s.reference_config(runs, "hw4_runs", "scheduler", "StepLR", "StepLR"),
        "StepLR",
    )


@test_case(name="only the schedule changes")
def same_rest(hw4_runs):
    runs = s.comparison(hw4_runs, "hw4_runs", HINT)
    s.same_setting(
        runs,
        "hw4_runs",
        "momentum",
        "momentum (OneCycleLR turns it on unless cycle_momentum=False)",
    )
    s.keeps_recipe(runs, "hw4_runs", recipes.of("01_intro", "hw4"), changes={"scheduler"})


@test_case(name="the verdicts against the constant rate")
def verdicts(hw4_runs, hw4_step, hw4_one_cycle):
    runs = s.comparison(hw4_runs, "hw4_runs", HINT)
    s.is_verdict(hw4_step, "hw4_step")
    s.is_verdict(hw4_one_cycle, "hw4_one_cycle")
    constant = s.reference_config(runs, "hw4_runs", "scheduler", None, "a constant rate")
    for answer, kind, var in [
        (hw4_step, "StepLR", "hw4_step"),
        (hw4_one_cycle, "OneCycleLR", "hw4_one_cycle"),
    ]:
        config = s.reference_config(runs, "hw4_runs", "scheduler", kind, kind)
        s.agrees(
            answer,
            s.verdict(runs, config, constant),
            var,
            f'the "verdict" column of mc.paired_differences(hw4_runs, {constant!r}), row {config!r}',
        )
