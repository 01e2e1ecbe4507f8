"""Lesson 4, homework 2 (a learned downsampling): `hw2_model` is the budget CNN with its max-pool replaced by
a 3x3 convolution with stride 2 and padding 1 (8 -> 8 channels); `hw2_parameters` its parameter count and
`hw2_fits` whether that is under BUDGET; `hw2_multiply_adds` its multiply-adds per image (the lesson's
`multiply_adds`); `hw2_receptive_field` and `hw2_coverage` its `mc.receptive_field_table` and the lesson's
`coverage` table, all recomputed here from the student's model; `hw2_runs` the brief runs (`mc.compare`: the
budget CNN and the strided model, the lesson's recipe in everything but the model, as in homework 1);
`hw2_verdict` the verdict of the strided model against the budget CNN in the student's own paired
differences."""

from torch import nn

import mnist_course as mc
from mnist_course.checks import support as s
from mnist_course.checks.cnn import (
    budget_cnn,
    convs,
    lesson,
    logits,
    number,
    own_model,
    same_table,
    shapes,
    variant_runs,
    variant_verdict,
)
from mnist_course.checks.runner import test_case

MODEL_HINT = (
    "build the budget CNN, replace its max-pool by nn.Conv2d(8, 8, 3, stride=2, padding=1), and assign that "
    "model (not the function that builds it)"
)
RUNS_HINT = (
    'assign the result of mc.compare(make_budget_cnn, {"budget CNN": {...}, "strided": {"model": ..., ...}}, '
    "DESIGN_SEEDS, data, epochs, batch_size=BATCH_SIZE) with the recipe's optimizer, augmentation and one-cycle schedule"
)
COVERAGE = ["first_pixel", "last_pixel", "pixels_seen"]
RECEPTIVE_FIELD = ["k", "s", "p", "n_out", "r_out", "j_out"]
BUDGET = 8_000  # the lesson's budget: fewer than 8,000 parameters


# ---- the test cases ----


@test_case(name="a strided convolution where the pool was")
def strided(hw2_model, make_budget_cnn):
    model = own_model(hw2_model, "hw2_model", MODEL_HINT, working=False)
    reference = budget_cnn(make_budget_cnn)
    pools = [
        type(m).__name__ for m in model.modules() if isinstance(m, (nn.MaxPool2d, nn.AvgPool2d))
    ]
    assert not pools, (
        f"`hw2_model` still has a pooling layer ({', '.join(pools)}): replace the max-pool itself by "
        "the convolution (model.pool = nn.Conv2d(...)) instead of adding one beside it"
    )
    own, theirs = convs(model), convs(reference)
    assert len(own) == len(theirs) + 1 and shapes(own[:1] + own[2:]) == shapes(theirs), (
        "`hw2_model` should be the budget CNN with one more convolution, where the pool was (after conv1), "
        "and its other layers unchanged"
    )
    down = own[1]
    assert tuple(down.stride) == (2, 2), (
        f"the convolution where the pool was has stride {down.stride[0]}: it should "
        "halve the grid like the pool did, with stride=2"
    )
    assert (tuple(down.kernel_size), tuple(down.padding), down.in_channels, down.out_channels) == (
        (3, 3),
        (1, 1),
        8,
        8,
    ), (
        "the question asks for a 3x3 convolution with stride 2 and padding 1, from 8 to 8 channels, where the pool was"
    )
    assert tuple(logits(model, "hw2_model").shape) == (2, 10), (
        "`hw2_model` should give 10 logits per image"
    )


@test_case(name="its parameters and the budget")
def within(hw2_model, hw2_parameters, hw2_fits, make_budget_cnn):
    model = own_model(hw2_model, "hw2_model", MODEL_HINT)
    number(
        hw2_parameters,
        "hw2_parameters",
        "set it to the number of parameters of hw2_model (mc.count_parameters)",
    )
    s.boolean(
        hw2_fits,
        "hw2_fits",
        "set it to True if hw2_model has fewer than BUDGET parameters, else False",
    )
    expected = mc.count_parameters(model)
    if hw2_parameters != expected and hw2_parameters == mc.count_parameters(
        budget_cnn(make_budget_cnn)
    ):
        raise AssertionError(
            "`hw2_parameters` is the budget CNN's count: count the parameters of hw2_model, the "
            "strided model"
        )
    s.agrees(hw2_parameters, expected, "hw2_parameters", "mc.count_parameters(hw2_model)")
    s.agrees(
        bool(hw2_fits),
        expected < BUDGET,
        "hw2_fits",
        "the parameters of hw2_model against BUDGET (a model fits if it has fewer)",
    )


@test_case(name="its multiply-adds")
def cost(hw2_model, hw2_multiply_adds, multiply_adds, make_budget_cnn):
    model = own_model(hw2_model, "hw2_model", MODEL_HINT)
    number(
        hw2_multiply_adds,
        "hw2_multiply_adds",
        "set it to the multiply-adds per image of hw2_model, the total of multiply_adds(hw2_model)",
    )
    count = lesson(multiply_adds, "multiply_adds")
    expected = int(count(model).sum())
    if hw2_multiply_adds != expected and hw2_multiply_adds == int(
        count(budget_cnn(make_budget_cnn)).sum()
    ):
        raise AssertionError(
            "`hw2_multiply_adds` is the budget CNN's count: count those of hw2_model, the strided model"
        )
    s.agrees(hw2_multiply_adds, expected, "hw2_multiply_adds", "multiply_adds(hw2_model).sum()")


@test_case(name="its receptive field")
def receptive_field(hw2_model, hw2_receptive_field):
    model = own_model(hw2_model, "hw2_model", MODEL_HINT)
    table = s.table(
        hw2_receptive_field,
        "hw2_receptive_field",
        "assign mc.receptive_field_table(hw2_model)",
        RECEPTIVE_FIELD,
    )
    same_table(
        table,
        mc.receptive_field_table(model),
        "hw2_receptive_field",
        "mc.receptive_field_table(hw2_model)",
        RECEPTIVE_FIELD,
    )


@test_case(name="the coverage of your model")
def covered(hw2_model, hw2_coverage, coverage):
    model = own_model(hw2_model, "hw2_model", MODEL_HINT)
    table = s.table(
        hw2_coverage,
        "hw2_coverage",
        "assign coverage(hw2_model), the lesson's table of the pixels each "
        "position of the last layer sees (it counts the padding)",
        COVERAGE,
    )
    same_table(
        table,
        lesson(coverage, "coverage")(model),
        "hw2_coverage",
        "coverage(hw2_model), which counts the padding",
        COVERAGE,
    )


@test_case(name="the brief runs")
def runs(hw2_runs, hw2_model, make_budget_cnn):
    result = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    model = own_model(hw2_model, "hw2_model", MODEL_HINT)
    variant_runs(
        result,
        "hw2_runs",
        model,
        "hw2_model",
        budget_cnn(make_budget_cnn),
        "the strided model",
        "hw2",
    )


@test_case(name="the verdict")
def verdict(hw2_runs, hw2_verdict, make_budget_cnn):
    result = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    variant_verdict(
        result,
        "hw2_runs",
        hw2_verdict,
        "hw2_verdict",
        budget_cnn(make_budget_cnn),
        "the strided model",
    )
