"""Lesson 1, homework 1 (batch size): `hw1_runs` is an `mc.compare` result with one config per batch size
(32, 64, 128, 256, 512), everything else the lesson's recipe; `hw1_best` the batch size (a number) with the
highest mean final validation accuracy in it."""

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

ASKED = [32, 64, 128, 256, 512]
HINT = "assign the result of mc.compare(make_mlp, configs, SEEDS, data, epochs) with one config per batch size"


@test_case(name="the batch sizes asked for")
def batch_sizes(hw1_runs):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    sizes = s.distinct(runs, "hw1_runs", "batch_size", "batch size")
    missing = sorted(set(ASKED) - {int(b) for b in sizes})
    assert not missing, (
        f"`hw1_runs` has no config with batch size {', '.join(map(str, missing))}: put "
        '"batch_size": b in the config of each batch size'
    )


@test_case(name="only the batch size changes")
def same_rest(hw1_runs):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    s.keeps_recipe(runs, "hw1_runs", recipes.of("01_intro", "hw1"), changes={"batch_size"})


@test_case(name="the best batch size")
def best(hw1_runs, hw1_best):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    answer = s.whole(
        hw1_best,
        "hw1_best",
        "set it to the batch size (a number, e.g. 128, not the config's name) "
        "with the best mean validation accuracy",
    )
    expected = int(s.setting(runs, s.best(runs), "batch_size"))
    s.agrees(
        answer,
        expected,
        "hw1_best",
        "the mean final validation accuracy of each batch size in hw1_runs.summary",
    )
