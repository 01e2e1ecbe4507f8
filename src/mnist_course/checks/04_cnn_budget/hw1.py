"""Lesson 4, homework 1 (remove conv5): `hw1_model` is the budget CNN without `conv5` (nn.Identity() or
absent) and its head shrunk to read conv4's 16 channels; `hw1_saved_parameters` and
`hw1_saved_multiply_adds` what it saves against the budget CNN, recomputed here from the student's model
with `mc.count_parameters` and the lesson's `multiply_adds`; `hw1_coverage` the lesson's `coverage` table
of that model; `hw1_runs` the brief runs (`mc.compare`: the budget CNN and the model without conv5, the
recipe's augmentation, OneCycleLR, the lesson's DESIGN_SEEDS, the same epochs); `hw1_verdict` the
verdict of the model without conv5 against the budget CNN in the student's own paired differences."""

import math
import numbers

import torch
from otter.test_files import test_case
from torch import nn

import mnist_course as mc
from mnist_course.checks import support as s

OK_FORMAT = False  # otter's exception-based format
name = "hw1"
MODEL_HINT = ("build the budget CNN, replace conv5 by nn.Identity() and its head by a smaller one, and assign that "
              "model (not the function that builds it)")
RUNS_HINT = ('assign the result of mc.compare(make_budget_cnn, {"budget CNN": {...}, "without conv5": {"model": ..., ...}}, '
             "DESIGN_SEEDS, data, epochs, batch_size=BATCH_SIZE) with the recipe's optimizer, augmentation and one-cycle schedule")
COVERAGE = ["first_pixel", "last_pixel", "pixels_seen"]


# ---- helpers (lesson 4's hw1 and hw2 share them; each test file is self-contained) ----

def lesson(value, name):
    """A global of the lesson's main text (a function or constant); None if its cell has not run."""
    if value is None:
        raise AssertionError(f"`{name}` is not defined: run the lesson's cells above the homework first")
    return value


def fresh(factory, name):
    """A new model from the lesson's factory, built without touching the notebook's random state."""
    factory = lesson(factory, name)
    with torch.random.fork_rng(devices=[]):
        return factory()


def own_model(value, name, hint, working=True):
    """`value` as a model (an nn.Module), not its factory; if `working`, one that classifies an image."""
    s.given(value, name, hint)
    if not isinstance(value, nn.Module):
        what = "a function: call it" if callable(value) else f"a {type(value).__name__}"
        raise AssertionError(f"`{name}` should be a model (an nn.Module), not {what}: {hint}")
    if working:
        logits(value, name)
    return value


def number(value, name, hint):
    """`value` as one number (a Python or NumPy number, not a Series, tensor or bool)."""
    s.given(value, name, hint)
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        raise AssertionError(f"`{name}` should be one number, not a {type(value).__name__}: {hint}")
    return value


def convs(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def shapes(layers):
    return [tuple(m.weight.shape) for m in layers]


def architecture(model):
    """The names and shapes of a model's parameters and buffers, and its layers with their settings (a
    convolution's stride and padding): equal for models of the same design."""
    layers = tuple(repr(m) for m in model.modules() if not list(m.children()))
    return tuple((k, tuple(v.shape)) for k, v in model.state_dict().items()), layers


def logits(model, name):
    """The model's output on two blank images (eval mode, no gradients; its mode is restored)."""
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            return model(torch.zeros(2, 1, 28, 28, device=mc.model_device(model)))
    except RuntimeError as err:
        raise AssertionError(f"`{name}` cannot classify an image ({str(err).splitlines()[0]}): its head should "
                             "read as many features as the layer before it gives") from None
    finally:
        model.train(was_training)


def same_table(table, expected, name, source, columns):
    """`table` equals `expected` (recomputed from the student's model) in `columns`."""
    ok = len(table) == len(expected)
    if ok:
        try:
            ok = all([float(a) for a in table[c]] == [float(b) for b in expected[c]] for c in columns)
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise AssertionError(f"`{name}` does not agree with {source}: compute it for that model, not for another one")


def roles(result, name, reference_model, what):
    """(the budget CNN's config, the variant's config) of a two-config comparison."""
    found = s.configs(result)
    if len(found) != 2:
        raise AssertionError(f"`{name}` should have two configs, the budget CNN and {what}; it has {len(found)}")
    budget = [c for c in found if architecture(s.model_of(result, c)) == architecture(reference_model)]
    if len(budget) != 1:
        raise AssertionError(f"`{name}` should train the budget CNN (make_budget_cnn) in one config and {what} in the "
                             f"other; {len(budget)} of its configs train the budget CNN")
    return budget[0], next(c for c in found if c != budget[0])


def brief_runs(result, name, augment, seeds, batch_size):
    """The brief runs of the homework: the recipe (its optimizer, augmentation, one-cycle schedule and batch
    size) in every config, the same epochs, the lesson's design seeds, the same learning rate at every epoch."""
    for column, what in [("optimizer", "optimizer"), ("max_lr", "peak learning rate"), ("momentum", "momentum"),
                         ("weight_decay", "weight decay"), ("batch_size", "batch size"), ("augment", "augmentation"),
                         ("scheduler", "learning-rate schedule")]:
        s.same_setting(result, name, column, what)
    config = s.configs(result)[0]
    scheduler = s.setting(result, config, "scheduler")
    assert scheduler == "OneCycleLR", (f"`{name}` trains with {scheduler or 'a constant rate'}: the question asks for "
                                       "the recipe's one-cycle schedule (one_cycle, a OneCycleLR) in every config")
    kind = getattr(lesson(augment, "augment"), "__name__", type(augment).__name__)
    assert s.setting(result, config, "augment") == kind, (
        f"`{name}` trains without the recipe's augmentation: put the lesson's augment ({augment}) in every config")
    size = lesson(batch_size, "BATCH_SIZE")
    assert s.setting(result, config, "batch_size") == size, (
        f"`{name}` trains with batches of {s.setting(result, config, 'batch_size')}: use the recipe's BATCH_SIZE")
    s.same_epochs(result, name)
    s.same_seeds(result, name, lesson(seeds, "DESIGN_SEEDS"))
    rates = [list(run["lr"]) for _, run in result.history.groupby(["config", "seed"], sort=False)]
    assert all(len(r) == len(rates[0]) and all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(r, rates[0]))
               for r in rates), (f"`{name}`: the learning rates of the runs differ from epoch to epoch: give every "
                                 "config the same one-cycle schedule over the same epochs")


# ---- the test cases ----

@test_case(name="conv5 removed")
def removed(hw1_model, make_budget_cnn):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT, working=False)
    reference = fresh(make_budget_cnn, "make_budget_cnn")
    conv5 = getattr(model, "conv5", None)
    assert conv5 is None or not convs(conv5), (
        "`hw1_model` still has a convolution in conv5: replace the whole block by nn.Identity() (model.conv5 = nn.Identity())")
    assert shapes(convs(model)) == shapes(convs(reference))[:-1], (
        "`hw1_model`'s convolutions should be the budget CNN's conv1 to conv4, unchanged: remove conv5 and nothing else")


@test_case(name="the head reads conv4's channels")
def head(hw1_model, make_budget_cnn):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT, working=False)
    channels = convs(fresh(make_budget_cnn, "make_budget_cnn"))[-2].out_channels   # conv4's
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert linears and linears[-1].in_features == channels and linears[-1].out_features == 10, (
        f"`hw1_model`'s head should be a linear layer from conv4's {channels} channels to the 10 classes: shrink it "
        "to match what global average pooling now reads")
    assert tuple(logits(model, "hw1_model").shape) == (2, 10), "`hw1_model` should give 10 logits per image"


@test_case(name="parameters and multiply-adds saved")
def saved(hw1_model, hw1_saved_parameters, hw1_saved_multiply_adds, make_budget_cnn, multiply_adds):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT)
    number(hw1_saved_parameters, "hw1_saved_parameters",
           "set it to how many fewer parameters hw1_model has than the budget CNN (mc.count_parameters)")
    number(hw1_saved_multiply_adds, "hw1_saved_multiply_adds",
           "set it to how many fewer multiply-adds per image hw1_model needs than the budget CNN (the totals of multiply_adds(model).sum())")
    reference = fresh(make_budget_cnn, "make_budget_cnn")
    count = lesson(multiply_adds, "multiply_adds")
    for answer, own, theirs, var, how in [
            (hw1_saved_parameters, mc.count_parameters(model), mc.count_parameters(reference), "hw1_saved_parameters",
             "mc.count_parameters"),
            (hw1_saved_multiply_adds, int(count(model).sum()), int(count(reference).sum()), "hw1_saved_multiply_adds",
             "multiply_adds(...).sum()")]:
        if answer == own != theirs - own:
            raise AssertionError(f"`{var}` is the count of hw1_model itself; the question asks what it saves: the "
                                 f"budget CNN's {how} minus hw1_model's")
        if answer == own - theirs != theirs - own:
            raise AssertionError(f"`{var}` has the wrong sign: what the model saves is the budget CNN's {how} minus "
                                 "hw1_model's")
        s.agrees(answer, theirs - own, var, f"{how} of make_budget_cnn() minus that of hw1_model")


@test_case(name="the coverage of your model")
def covered(hw1_model, hw1_coverage, coverage):
    model = own_model(hw1_model, "hw1_model", MODEL_HINT)
    table = s.table(hw1_coverage, "hw1_coverage", "assign coverage(hw1_model), the lesson's table of the pixels each "
                    "position of the last layer sees", COVERAGE)
    same_table(table, lesson(coverage, "coverage")(model), "hw1_coverage", "coverage(hw1_model)", COVERAGE)


@test_case(name="the brief runs")
def runs(hw1_runs, hw1_model, make_budget_cnn, augment, DESIGN_SEEDS, BATCH_SIZE):
    result = s.comparison(hw1_runs, "hw1_runs", RUNS_HINT)
    model = own_model(hw1_model, "hw1_model", MODEL_HINT)
    _, variant = roles(result, "hw1_runs", fresh(make_budget_cnn, "make_budget_cnn"), "the model without conv5")
    assert architecture(s.model_of(result, variant)) == architecture(model), (
        f"`hw1_runs`: config {variant!r} does not train a model like hw1_model: make hw1_model's factory the "
        "model of that config")
    brief_runs(result, "hw1_runs", augment, DESIGN_SEEDS, BATCH_SIZE)


@test_case(name="the verdict")
def verdict(hw1_runs, hw1_verdict, make_budget_cnn):
    result = s.comparison(hw1_runs, "hw1_runs", RUNS_HINT)
    s.is_verdict(hw1_verdict, "hw1_verdict")
    reference, variant = roles(result, "hw1_runs", fresh(make_budget_cnn, "make_budget_cnn"), "the model without conv5")
    s.agrees(hw1_verdict, s.verdict(result, variant, reference), "hw1_verdict",
             f'the "verdict" column of mc.paired_differences(hw1_runs, {reference!r}), row {variant!r}')
