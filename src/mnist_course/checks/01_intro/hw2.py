"""Lesson 1, homework 2 (learning rate): `hw2_runs` is an `mc.compare` result with SGD at one learning
rate per config, at least four from 0.01 to 1, everything else the lesson's recipe; `hw2_best` the rate with
the highest mean final validation accuracy; `hw2_largest` the verdict of the largest rate against the best
one, from `mc.paired_differences`."""

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

HINT = 'assign the result of mc.compare(make_mlp, {name: {"optimizer": sgd(lr)}, ...}, SEEDS, data, epochs)'


@test_case(name="learning rates from 0.01 to 1")
def rates(hw2_runs):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.same_setting(runs, "hw2_runs", "optimizer", "optimizer")
    assert runs.settings["optimizer"].iloc[0] == "SGD", (
        "`hw2_runs`: the question is about SGD: use sgd(lr) in every config"
    )
    lrs = [float(v) for v in s.distinct(runs, "hw2_runs", "max_lr", "learning rate")]
    assert len(lrs) >= 4 and min(lrs) <= 0.01 * 1.001 and max(lrs) >= 1 / 1.001, (
        f"`hw2_runs` has the learning rates {sorted(lrs)}: the question asks for at least four, from 0.01 up to 1"
    )


@test_case(name="only the learning rate changes")
def same_rest(hw2_runs):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.keeps_recipe(runs, "hw2_runs", recipes.of("01_intro", "hw2"), changes={"max_lr"})


@test_case(name="the best learning rate")
def best(hw2_runs, hw2_best):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    answer = s.real(
        hw2_best,
        "hw2_best",
        "set it to the learning rate (a number, e.g. 0.1, not the config's name) "
        "with the best mean validation accuracy",
    )
    s.agrees(
        answer,
        float(s.setting(runs, s.best(runs), "max_lr")),
        "hw2_best",
        "the mean final validation accuracy of each rate in hw2_runs.summary",
        rel_tol=0.005,
    )


@test_case(name="the largest rate against the best")
def largest(hw2_runs, hw2_largest):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.is_verdict(hw2_largest, "hw2_largest")
    lrs = runs.settings["max_lr"].astype(float)
    top, winner = str(lrs.idxmax()), s.best(runs)
    assert top != winner, (
        "`hw2_runs`: your largest rate is also your best: add larger rates to see what too large does"
    )
    s.agrees(
        hw2_largest,
        s.verdict(runs, top, winner),
        "hw2_largest",
        f'the "verdict" column of mc.paired_differences(hw2_runs, {winner!r}), row {top!r}',
    )
