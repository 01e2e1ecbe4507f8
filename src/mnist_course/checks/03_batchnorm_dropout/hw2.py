"""Lesson 3, homework 2 (why `model.eval()` matters for BN).

(a) `hw2_model` is a trained BN model of the ablation, as it was trained (no forward pass in training mode
since); `hw2_digits` a table with one row per digit 0-9 and the columns "eval mode (%)" (the model in eval
mode on that digit's validation images) and "train mode (%)" (a copy in training mode, that digit's
validation images as one batch). The check recomputes both from `hw2_model` (forward passes only).
(b) `hw2_runs` is an `mc.compare` result with the BN MLP at BN's default momentum and with `momentum=None`
in every BN layer, otherwise as in the ablation (SGD at the shared rate, `EPOCHS`, the lesson's seeds);
`hw2_same_weights` says whether the trained weights of the two configs are equal in every seed, and
`hw2_momentum` is the verdict of `momentum=None` against the default, from `mc.paired_differences`.

Both columns of (a) are measured by the check on `hw2_model` (forward passes only, on copies). A model with
dropout draws new masks in training mode at every pass, so its train-mode accuracy is a random number: the
check draws it three times with fixed seeds (the notebook's random state is left as it was) and accepts the
student's number within five binomial standard deviations of their mean (plus the spread of the three draws and
two images' worth of rounding); a column copied from the eval column, or invented, is far outside. (b) holds
everything but BN's momentum to the lesson's recipe as the runs recorded it (`recipes.of("03_batchnorm_dropout",
"hw2")`: the BN MLP without dropout, SGD with momentum 0.9, EPOCHS epochs, the lesson's seeds, all training
images, the validation split, batches of 128, no schedule), and the rate to SHARED_LR["SGD"]."""

import copy
import math
import numbers
from collections import Counter

import numpy as np
import torch
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

EVAL, TRAIN = "eval mode (%)", "train mode (%)"
MODEL_HINT = 'set it to the BN model you classify with, e.g. ablation.models["BN | SGD", SEEDS[0]]'
TABLE_HINT = (
    f'a DataFrame with the digits 0 to 9 as its index and the columns "{EVAL}" and "{TRAIN}", '
    "in percent"
)
RUNS_HINT = (
    'assign the result of mc.compare(partial(MLP, bn=True), {"momentum 0.1": {...}, "momentum None": '
    '{"model": <a function that returns MLP(bn=True) with momentum None in its BN layers>, ...}}, '
    "SEEDS, data, EPOCHS)"
)
COPY = "do the train-mode pass on a copy of the model (copy.deepcopy), as the question says"


def norms(model):
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def counted(model):
    """The number of training batches the model's first BN layer has seen (None if it does not count)."""
    found = norms(model)
    tracked = found[0].num_batches_tracked if found else None
    return None if tracked is None else int(tracked)


def bn_models(ablation):
    return [m for m in ablation.models.values() if norms(m)]


def same_parameters(a, b):
    pa, pb = list(a.parameters()), list(b.parameters())
    return len(pa) == len(pb) and all(
        p.shape == q.shape and torch.equal(p, q) for p, q in zip(pa, pb)
    )


def model(hw2_model):
    found = s.given(hw2_model, "hw2_model", MODEL_HINT)
    assert isinstance(found, nn.Module) and norms(found), (
        f"`hw2_model` should be a trained model with BN layers, not a {type(found).__name__}: {MODEL_HINT}"
    )
    return found


def digits(hw2_digits):
    table = s.table(hw2_digits, "hw2_digits", TABLE_HINT, [EVAL, TRAIN])
    try:
        index = sorted(int(d) for d in table.index)
    except (TypeError, ValueError):
        index = None
    assert index == list(range(10)), (
        f"`hw2_digits` should have one row per digit, 0 to 9, as its index: {TABLE_HINT}"
    )
    for column in (EVAL, TRAIN):
        values = list(table[column])
        assert all(
            isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in values
        ), (
            f'`hw2_digits`: the column "{column}" should hold numbers (percentages such as 97.25), not '
            f"{s._type(next(v for v in values if not isinstance(v, numbers.Real) or isinstance(v, (bool, np.bool_))))}"
        )
    return table.set_axis([int(d) for d in table.index])


def percent(answer, ours, allowed, name, digit, what):
    """`answer` (the student's %) is within `allowed` points of `ours`; a fraction instead of a percentage is named."""
    if math.isclose(answer, ours, abs_tol=allowed):
        return
    if 0 <= answer <= 1 and math.isclose(answer * 100, ours, abs_tol=allowed):
        raise AssertionError(
            f"`hw2_digits`: the {what} accuracy of digit {digit} is a fraction ({answer:.4g}); "
            f'the column "{name}" is in percent (multiply by 100)'
        )
    raise AssertionError(
        f"`hw2_digits`: the {what} accuracy of digit {digit} is {answer:.4g} %, but hw2_model gives "
        f"{ours:.2f} % ({'give or take ' + format(allowed, '.2g') + ' points' if allowed > 1 else ''})"
    )


def tolerance(n):
    """Two images of n, plus rounding to 0.01: another batching may flip a borderline image."""
    return 200 / n + 0.01


def has_dropout(model):
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


DRAWS = 3  # train-mode passes of a model with dropout, each with its own fixed seed


def train_mode_accuracy(model, images, labels):
    """(mean, spread) of the accuracy (%) of a copy of `model` in training mode on `images` as one batch: one
    pass without dropout, DRAWS passes with fixed seeds with it; the random state is restored afterwards."""
    device = next(model.parameters()).device
    images, labels = images.to(device), labels.to(device)
    results = []
    with torch.no_grad(), torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for draw in range(DRAWS if has_dropout(model) else 1):
            torch.manual_seed(1000 + draw)
            clone = copy.deepcopy(model).train()
            results.append((clone(images).argmax(1) == labels).float().mean().item() * 100)
    return sum(results) / len(results), max(results) - min(results)


@test_case(name="(a) a trained BN model of the ablation, left as trained")
def from_ablation(hw2_model, ablation):
    found = model(hw2_model)
    candidates = bn_models(ablation)
    assert any(m is found or same_parameters(m, found) for m in candidates), (
        "`hw2_model` is not one of the ablation's trained BN models: take one of ablation.models, e.g. "
        'ablation.models["BN | SGD", SEEDS[0]]'
    )
    # the training batches of every ablation run
    usual = Counter(counted(m) for m in candidates).most_common(1)[0][0]
    seen = counted(found)
    assert seen is None or usual is None or seen <= usual, (
        f"`hw2_model` has run {seen - usual} more batches in training mode since its training, and each one moved "
        f"its running statistics towards that batch's: {COPY}, and rerun the ablation cells to get the model back"
    )


@test_case(name="(a) the eval-mode accuracy of each digit")
def eval_mode(hw2_digits, hw2_model, data):
    table = digits(hw2_digits)
    found = model(hw2_model)
    for digit in range(10):
        images, labels = data.x_val[data.y_val == digit], data.y_val[data.y_val == digit]
        ours = mc.evaluate(copy.deepcopy(found), images, labels)[1]
        try:
            percent(
                float(table.loc[digit, EVAL]),
                ours,
                tolerance(len(labels)),
                EVAL,
                digit,
                "eval-mode",
            )
        except AssertionError as error:
            raise AssertionError(
                f"{error}: evaluate with model.eval() (mc.evaluate does it, a plain model(x) runs in the mode the "
                f"model is in), and {COPY}"
            ) from None


@test_case(name="(a) the train-mode accuracy of each digit")
def train_mode(hw2_digits, hw2_model, data):
    table = digits(hw2_digits)
    found = model(hw2_model)
    for digit in range(10):
        images, labels = data.x_val[data.y_val == digit], data.y_val[data.y_val == digit]
        n = len(labels)
        ours, spread = train_mode_accuracy(found, images, labels)
        allowed = tolerance(n)
        # a random number: five binomial standard deviations, and the draws' own spread
        if has_dropout(found):
            share = min(max(ours / 100, 1 / n), 1 - 1 / n)
            allowed += 5 * 100 * math.sqrt(share * (1 - share) / n) + spread
        try:
            percent(float(table.loc[digit, TRAIN]), ours, allowed, TRAIN, digit, "train-mode")
        except AssertionError as error:
            raise AssertionError(
                f"{error}: call .train() on a copy of hw2_model (copy.deepcopy) and pass all the validation images "
                "of that digit in one forward pass, under torch.no_grad(); the check reruns exactly that"
                + (
                    " (dropout makes it a little random: one run of it is enough)"
                    if has_dropout(found)
                    else ""
                )
            ) from None


def momenta(runs):
    """(config with momentum None, config with the default momentum), checked."""
    configs = s.configs(runs)
    assert len(configs) == 2, (
        f"`hw2_runs` has {len(configs)} configs; the question compares two, BN's default "
        "momentum and momentum=None"
    )
    kinds = {}
    for config in configs:
        layers = norms(s.model_of(runs, config))
        assert layers, (
            f"`hw2_runs`: the model of config {config!r} has no BN layer; (b) retrains the BN MLP"
        )
        values = [m.momentum for m in layers]
        if all(v is None for v in values):
            kinds.setdefault("none", []).append(config)
        elif any(v is None for v in values):
            raise AssertionError(
                f"`hw2_runs`: in config {config!r}, only {values.count(None)} of the {len(values)} BN layers "
                f"{'has' if values.count(None) == 1 else 'have'} momentum None: set it in every BN layer "
                "(model.bn1.momentum = model.bn2.momentum = None)"
            )
        else:
            kinds.setdefault("default", []).append(config)
    assert len(kinds.get("none", [])) == 1 and len(kinds.get("default", [])) == 1, (
        "`hw2_runs` should have one config whose BN layers have momentum None and one with BN's default momentum; "
        f"it has {len(kinds.get('none', []))} and {len(kinds.get('default', []))}: set model.bn1.momentum = "
        "model.bn2.momentum = None in the function that builds the model of one config"
    )
    return kinds["none"][0], kinds["default"][0]


@test_case(name="(b) momentum=None in every BN layer")
def momentum_none(hw2_runs):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    momenta(runs)


@test_case(name="(b) only BN's momentum changes")
def same_rest(hw2_runs, SHARED_LR):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    s.same_setting(runs, "hw2_runs", "model", "model")
    s.keeps_recipe(runs, "hw2_runs", recipes.of("03_batchnorm_dropout", "hw2"))
    lr = float(s.same_setting(runs, "hw2_runs", "max_lr", "learning rate"))
    shared = s.real(
        s.given(SHARED_LR, "SHARED_LR", "run the lesson's cells above the homework first")["SGD"],
        'SHARED_LR["SGD"]',
        "run the lesson's cells above the homework first",
    )
    assert math.isclose(lr, shared, rel_tol=1e-6), (
        f"`hw2_runs` trains SGD at lr={lr:g}; the question asks for the shared rate of section 4, "
        f'SHARED_LR["SGD"] = {shared:g}'
    )


@test_case(name="(b) the trained weights of the two configs")
def same_weights(hw2_runs, hw2_same_weights):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    answer = s.boolean(
        hw2_same_weights,
        "hw2_same_weights",
        "set it to True or False, whether the two configs end with the same weights in every seed",
    )
    none, default = momenta(runs)
    seeds = sorted(runs.final["seed"].unique())
    equal = all(
        same_parameters(runs.models[none, seed], runs.models[default, seed]) for seed in seeds
    )
    assert equal, (
        "`hw2_runs`: the two configs end with different weights, so more than BN's momentum changed "
        "between them: build both from the same model, optimizer and data, and change only the momentum"
    )
    s.agrees(
        answer,
        equal,
        "hw2_same_weights",
        f"the parameters of hw2_runs.models[{none!r}, seed] and hw2_runs.models[{default!r}, seed] "
        "(torch.equal, for every seed)",
    )


@test_case(name="(b) the verdict on momentum=None")
def verdict(hw2_runs, hw2_momentum):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    s.is_verdict(hw2_momentum, "hw2_momentum")
    none, default = momenta(runs)
    s.agrees(
        hw2_momentum,
        s.verdict(runs, none, default),
        "hw2_momentum",
        f'the "verdict" column of mc.paired_differences(hw2_runs, {default!r}), row {none!r}',
    )
