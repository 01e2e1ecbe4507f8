"""Lesson 1, homework 2 (learning rate): `hw2_runs` is an `mc.compare` result with SGD at one learning
rate per config, from 0.01 to 1; `hw2_best` the rate with the highest mean final validation accuracy;
`hw2_largest` the verdict of the largest rate against the best one, from `mc.paired_differences`."""

from mnist_course.checks.runner import test_case

from mnist_course.checks import support as s

HINT = 'assign the result of mc.compare(make_mlp, {name: {"optimizer": sgd(lr)}, ...}, SEEDS, data, epochs)'


@test_case(name="learning rates from 0.01 to 1")
def rates(hw2_runs):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.same_setting(runs, "hw2_runs", "optimizer", "optimizer")
    assert runs.settings["optimizer"].iloc[0] == "SGD", "`hw2_runs`: the question is about SGD: use sgd(lr) in every config"
    lrs = s.distinct(runs, "hw2_runs", "lr", "learning rate")
    assert len(lrs) >= 4 and min(lrs) <= 0.01 * 1.001 and max(lrs) >= 1 / 1.001, (
        f"`hw2_runs` has the learning rates {sorted(lrs)}: the question asks for at least four, from 0.01 up to 1")


@test_case(name="only the learning rate changes")
def same_rest(hw2_runs, SEEDS):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    for column, what in [("model", "model"), ("momentum", "momentum"), ("batch_size", "batch size"),
                         ("scheduler", "learning-rate schedule")]:
        s.same_setting(runs, "hw2_runs", column, what)
    s.same_epochs(runs, "hw2_runs")
    s.same_seeds(runs, "hw2_runs", SEEDS)


@test_case(name="the best learning rate")
def best(hw2_runs, hw2_best):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.given(hw2_best, "hw2_best", "set it to the learning rate (a number) with the best mean validation accuracy")
    s.agrees(hw2_best, float(s.setting(runs, s.best(runs), "lr")), "hw2_best",
             "the mean final validation accuracy of each rate in hw2_runs.summary")


@test_case(name="the largest rate against the best")
def largest(hw2_runs, hw2_largest):
    runs = s.comparison(hw2_runs, "hw2_runs", HINT)
    s.is_verdict(hw2_largest, "hw2_largest")
    lrs = runs.settings["lr"]
    top, winner = str(lrs.idxmax()), s.best(runs)
    assert top != winner, "`hw2_runs`: your largest rate is also your best: add larger rates to see what too large does"
    s.agrees(hw2_largest, s.verdict(runs, top, winner), "hw2_largest",
             f'the "verdict" column of mc.paired_differences(hw2_runs, {winner!r}), row {top!r}')
