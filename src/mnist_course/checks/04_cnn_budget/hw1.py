"""Lesson 4, homework 1 (remove conv5): `hw1_model` is the budget CNN without `conv5` (nn.Identity() or
absent) and its head shrunk to read conv4's 16 channels; `hw1_saved_parameters` and
`hw1_saved_multiply_adds` what it saves against the budget CNN, recomputed here from the student's model
with `mc.count_parameters` and the lesson's `multiply_adds`; `hw1_coverage` the lesson's `coverage` table
of that model; `hw1_runs` the brief runs (`mc.compare`: the budget CNN and the model without conv5, the
lesson's recipe in everything but the model: its optimizer, augmentation 7°/0.1 and one-cycle schedule
peaking at 0.1 over the run, 2 epochs on the first 10,000 training images, the lesson's DESIGN_SEEDS); `hw1_verdict` the
verdict of the model without conv5 against the budget CNN in the student's own paired differences."""

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
    "build the budget CNN, replace conv5 by nn.Identity() and its head by a smaller one, and assign that "
    "model (not the function that builds it)"
)
RUNS_HINT = (
    'assign the result of mc.compare(make_budget_cnn, {"budget CNN": {...}, "without conv5": {"model": ..., ...}}, '
    "DESIGN_SEEDS, data, epochs, batch_size=BATCH_SIZE) with the recipe's optimizer, augmentation and one-cycle schedule"
)
COVERAGE = ["first_pixel", "last_pixel", "pixels_seen"]


# ---- the test cases ----


@test_case(name="conv5 removed")
def removed(hw1_model, make_budget_cnn):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT, working=False)
    reference = budget_cnn(make_budget_cnn)
    conv5 = getattr(model, "conv5", None)
    assert conv5 is None or not convs(conv5), (
        "`hw1_model` still has a convolution in conv5: replace the whole block by nn.Identity() (model.conv5 = nn.Identity())"
    )
    assert shapes(convs(model)) == shapes(convs(reference))[:-1], (
        "`hw1_model`'s convolutions should be the budget CNN's conv1 to conv4, unchanged: remove conv5 and nothing else"
    )


@test_case(name="the head reads conv4's channels")
def head(hw1_model, make_budget_cnn):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT, working=False)
    channels = convs(budget_cnn(make_budget_cnn))[-2].out_channels  # conv4's
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears and linears[-1].in_features == channels and linears[-1].out_features == 10, (
        f"`hw1_model`'s head should be a linear layer from conv4's {channels} channels to the 10 classes: shrink it "
        "to match what global average pooling now reads"
    )
    assert tuple(logits(model, "hw1_model").shape) == (2, 10), (
        "`hw1_model` should give 10 logits per image"
    )


@test_case(name="parameters and multiply-adds saved")
def saved(hw1_model, hw1_saved_parameters, hw1_saved_multiply_adds, make_budget_cnn, multiply_adds):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT)
    number(
        hw1_saved_parameters,
        "hw1_saved_parameters",
        "set it to how many fewer parameters hw1_model has than the budget CNN (mc.count_parameters)",
    )
    number(
        hw1_saved_multiply_adds,
        "hw1_saved_multiply_adds",
        "set it to how many fewer multiply-adds per image hw1_model needs than the budget CNN (the totals of multiply_adds(model).sum())",
    )
    reference = budget_cnn(make_budget_cnn)
    count = lesson(multiply_adds, "multiply_adds")
    for answer, own, theirs, var, how in [
        (
            hw1_saved_parameters,
            mc.count_parameters(model),
            mc.count_parameters(reference),
            "hw1_saved_parameters",
            "mc.count_parameters",
        ),
        (
            hw1_saved_multiply_adds,
            int(count(model).sum()),
            int(count(reference).sum()),
            "hw1_saved_multiply_adds",
            "multiply_adds(...).sum()",
        ),
    ]:
        if answer == own != theirs - own:
            raise AssertionError(
                f"`{var}` is the count of hw1_model itself; the question asks what it saves: the "
                f"budget CNN's {how} minus hw1_model's"
            )
        if answer == own - theirs != theirs - own:
            raise AssertionError(
                f"`{var}` has the wrong sign: what the model saves is the budget CNN's {how} minus "
                "hw1_model's"
            )
        s.agrees(answer, theirs - own, var, f"{how} of make_budget_cnn() minus that of hw1_model")


@test_case(name="the coverage of your model")
def covered(hw1_model, hw1_coverage, coverage):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT)
    table = s.table(
        hw1_coverage,
        "hw1_coverage",
        "assign coverage(hw1_model), the lesson's table of the pixels each "
        "position of the last layer sees",
        COVERAGE,
    )
    same_table(
        table, lesson(coverage, "coverage")(model), "hw1_coverage", "coverage(hw1_model)", COVERAGE
    )


@test_case(name="the brief runs")
def runs(hw1_runs, hw1_model, make_budget_cnn):
    result = s.comparison(hw1_runs, "hw1_runs", RUNS_HINT)
    model = own_model(hw1_model, "hw1_model", MODEL_HINT)
    variant_runs(
        result,
        "hw1_runs",
        model,
        "hw1_model",
        budget_cnn(make_budget_cnn),
        "the model without conv5",
        "hw1",
    )


@test_case(name="the verdict")
def verdict(hw1_runs, hw1_verdict, make_budget_cnn):
    result = s.comparison(hw1_runs, "hw1_runs", RUNS_HINT)
    variant_verdict(
        result,
        "hw1_runs",
        hw1_verdict,
        "hw1_verdict",
        budget_cnn(make_budget_cnn),
        "the model without conv5",
    )
