"""Lesson 1, homework 3 (activation function): `hw3_runs` is an `mc.compare` result with one config per
activation (ReLU, Sigmoid, Tanh, GELU: `make_mlp(nn.Sigmoid)`, ...), everything else the lesson's
recipe; `hw3_best` the name of the activation with the highest mean final validation accuracy,
`hw3_sigmoid` the verdict of Sigmoid against ReLU from `mc.paired_differences`."""

from torch import nn

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

ASKED = (nn.ReLU, nn.Sigmoid, nn.Tanh, nn.GELU)
HINT = (
    'assign the result of mc.compare(make_mlp, {"Sigmoid": {"model": lambda: make_mlp(nn.Sigmoid), '
    '"optimizer": sgd()}, ...}, SEEDS, data, epochs)'
)


def activations(runs):
    """Config -> the name of the one activation its model uses (AssertionError if none or several)."""
    found = {}
    for config in s.configs(runs):
        kinds = s.module_kinds(s.model_of(runs, config), ASKED)
        assert len(kinds) == 1, (
            f"`hw3_runs`: the model of config {config!r} uses {sorted(kinds) or 'none'} of "
            "ReLU, Sigmoid, Tanh and GELU; each config should use exactly one (make_mlp(nn.Tanh), ...)"
        )
        found[config] = kinds.pop()
    return found


@test_case(name="the four activations")
def four(hw3_runs):
    runs = s.comparison(hw3_runs, "hw3_runs", HINT)
    used = activations(runs)
    missing = sorted({a.__name__ for a in ASKED} - set(used.values()))
    assert not missing, f"`hw3_runs` has no config with {', '.join(missing)}"
    assert len(set(used.values())) == len(used), "`hw3_runs`: two configs use the same activation"


@test_case(name="only the activation changes")
def same_rest(hw3_runs):
    runs = s.comparison(hw3_runs, "hw3_runs", HINT)
    s.keeps_recipe(runs, "hw3_runs", recipes.of("01_intro", "hw3"))


@test_case(name="the best activation")
def best(hw3_runs, hw3_best):
    runs = s.comparison(hw3_runs, "hw3_runs", HINT)
    s.given(hw3_best, "hw3_best", 'set it to the name of the best activation, e.g. "GELU"')
    assert isinstance(hw3_best, str), (
        f'`hw3_best` should be the name of an activation, a str such as "GELU", not a '
        f"{type(hw3_best).__name__}"
    )
    expected = activations(runs)[s.best(runs)]
    s.agrees(
        expected if hw3_best.strip().lower() == expected.lower() else hw3_best,
        expected,
        "hw3_best",
        "the mean final validation accuracy of each activation in hw3_runs.summary",
    )


@test_case(name="Sigmoid against ReLU")
def sigmoid(hw3_runs, hw3_sigmoid):
    runs = s.comparison(hw3_runs, "hw3_runs", HINT)
    s.is_verdict(hw3_sigmoid, "hw3_sigmoid")
    by_name = {a: c for c, a in activations(runs).items()}
    s.agrees(
        hw3_sigmoid,
        s.verdict(runs, by_name["Sigmoid"], by_name["ReLU"]),
        "hw3_sigmoid",
        f'the "verdict" column of mc.paired_differences(hw3_runs, {by_name["ReLU"]!r}), row {by_name["Sigmoid"]!r}',
    )
