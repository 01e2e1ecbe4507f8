"""Helpers of lesson 4's homework checks (a CNN, its layers and its brief runs), shared by
`04_cnn_budget/hw1.py`, `hw2.py` and `hw3.py`. Each raises `AssertionError` with a hint, like `support`."""

from __future__ import annotations

import numbers

import torch
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from mnist_course.checks import support as s


def lesson(value, name):
    """A global of the lesson's main text (a function or constant); None if its cell has not run."""
    if value is None:
        raise AssertionError(
            f"`{name}` is not defined: run the lesson's cells above the homework first"
        )
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
    """`value` as one whole number (a Python or NumPy number without a fraction, not a Series, tensor or bool)."""
    s.given(value, name, hint)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AssertionError(f"`{name}` should be one number, not a {type(value).__name__}: {hint}")
    return s.whole(value, name, hint, "1234")


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
        raise AssertionError(
            f"`{name}` cannot classify an image ({str(err).splitlines()[0]}): its head should "
            "read as many features as the layer before it gives"
        ) from None
    finally:
        model.train(was_training)


def same_table(table, expected, name, source, columns):
    """`table` equals `expected` (recomputed from the student's model) in `columns`."""
    ok = len(table) == len(expected)
    if ok:
        try:
            ok = all(
                [float(a) for a in table[c]] == [float(b) for b in expected[c]] for c in columns
            )
        except (TypeError, ValueError):
            ok = False
    if not ok:
        raise AssertionError(
            f"`{name}` does not agree with {source}: compute it for that model, not for another one"
        )


def roles(result, name, reference_model, what):
    """(the budget CNN's config, the variant's config) of a two-config comparison."""
    found = s.configs(result)
    if len(found) != 2:
        raise AssertionError(
            f"`{name}` should have two configs, the budget CNN and {what}; it has {len(found)}"
        )
    budget = [
        c for c in found if architecture(s.model_of(result, c)) == architecture(reference_model)
    ]
    if len(budget) != 1:
        raise AssertionError(
            f"`{name}` should train the budget CNN (make_budget_cnn) in one config and {what} in the "
            f"other; {len(budget)} of its configs train the budget CNN"
        )
    return budget[0], next(c for c in found if c != budget[0])


def variant_runs(result, name, model, model_name, reference, what, question):
    """`result` trains the budget CNN and, in its other config, a model like `model` (the student's), as brief
    runs: everything but the model is the lesson's recipe for them (recipes.of("04_cnn_budget", question))."""
    _, variant = roles(result, name, reference, what)
    assert architecture(s.model_of(result, variant)) == architecture(model), (
        f"`{name}`: config {variant!r} does not train a model like {model_name}: make {model_name}'s factory the "
        "model of that config"
    )
    s.keeps_recipe(
        result,
        name,
        recipes.of("04_cnn_budget", question),
        changes={"parameters"},
        seeds_name="DESIGN_SEEDS",
        data_hint="train on the first 10,000 training images (data.subset(train=10_000, val=len(data.y_val), "
        "test=len(data.y_test))) with the lesson's validation split",
    )


def variant_verdict(result, name, answer, answer_name, reference, what):
    """`answer` is the verdict of the variant against the budget CNN in the student's own paired differences."""
    s.is_verdict(answer, answer_name)
    budget, variant = roles(result, name, reference, what)
    s.agrees(
        answer,
        s.verdict(result, variant, budget),
        answer_name,
        f'the "verdict" column of mc.paired_differences({name}, {budget!r}), row {variant!r}',
    )


BUDGET_CNN_PARAMETERS = 7_766  # make_budget_cnn() of the lesson


def budget_cnn(make_budget_cnn):
    """A new budget CNN from the lesson's factory, checked to be the lesson's (its parameter count)."""
    model = fresh(make_budget_cnn, "make_budget_cnn")
    count = sum(p.numel() for p in model.parameters())
    assert count == BUDGET_CNN_PARAMETERS, (
        f"`make_budget_cnn()` builds a model with {count:,} parameters, not the lesson's budget CNN "
        f"({BUDGET_CNN_PARAMETERS:,}): run the cell that defines it again, unchanged"
    )
    return model
