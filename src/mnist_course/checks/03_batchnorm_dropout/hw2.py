"""Lesson 3, homework 2 (why `model.eval()` matters for BN).

(a) `hw2_model` is a trained BN model of the ablation, as it was trained (no forward pass in training mode
since); `hw2_digits` a table with one row per digit 0-9 and the columns "eval mode (%)" (the model in eval
mode on that digit's validation images) and "train mode (%)" (a copy in training mode, that digit's
validation images as one batch). The check recomputes both from `hw2_model` (forward passes only).
(b) `hw2_runs` is an `mc.compare` result with the BN MLP at BN's default momentum and with `momentum=None`
in every BN layer, otherwise as in the ablation (SGD at the shared rate, `EPOCHS`, the lesson's seeds);
`hw2_same_weights` says whether the trained weights of the two configs are equal in every seed, and
`hw2_momentum` is the verdict of `momentum=None` against the default, from `mc.paired_differences`."""

import copy
import math
from collections import Counter

import torch
from mnist_course.checks.runner import test_case
from torch import nn

import mnist_course as mc
from mnist_course.checks import support as s

EVAL, TRAIN = "eval mode (%)", "train mode (%)"
MODEL_HINT = 'set it to the BN model you classify with, e.g. ablation.models["BN | SGD", SEEDS[0]]'
TABLE_HINT = (f'a DataFrame with the digits 0 to 9 as its index and the columns "{EVAL}" and "{TRAIN}", '
              "in percent")
RUNS_HINT = ('assign the result of mc.compare(partial(MLP, bn=True), {"momentum 0.1": {...}, "momentum None": '
             '{"model": <a function that returns MLP(bn=True) with momentum None in its BN layers>, ...}}, '
             "SEEDS, data, EPOCHS)")
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
    return len(pa) == len(pb) and all(p.shape == q.shape and torch.equal(p, q) for p, q in zip(pa, pb))


def model(hw2_model):
    found = s.given(hw2_model, "hw2_model", MODEL_HINT)
    assert isinstance(found, nn.Module) and norms(found), (
        f"`hw2_model` should be a trained model with BN layers, not a {type(found).__name__}: {MODEL_HINT}")
    return found


def digits(hw2_digits):
    table = s.table(hw2_digits, "hw2_digits", TABLE_HINT, [EVAL, TRAIN])
    try:
        index = sorted(int(d) for d in table.index)
    except (TypeError, ValueError):
        index = None
    assert index == list(range(10)), f"`hw2_digits` should have one row per digit, 0 to 9, as its index: {TABLE_HINT}"
    return table.set_axis([int(d) for d in table.index])


def tolerance(n):
    """Two images of n, plus rounding to 0.01: another batching may flip a borderline image."""
    return 200 / n + 0.01


def has_dropout(model):
    return any(isinstance(m, nn.Dropout) and m.p > 0 for m in model.modules())


@test_case(name="(a) a trained BN model of the ablation, left as trained")
def from_ablation(hw2_model, ablation):
    found = model(hw2_model)
    candidates = bn_models(ablation)
    assert any(m is found or same_parameters(m, found) for m in candidates), (
        "`hw2_model` is not one of the ablation's trained BN models: take one of ablation.models, e.g. "
        'ablation.models["BN | SGD", SEEDS[0]]')
    usual = Counter(counted(m) for m in candidates).most_common(1)[0][0]  # the training batches of every ablation run
    seen = counted(found)
    assert seen is None or usual is None or seen <= usual, (
        f"`hw2_model` has run {seen - usual} more batches in training mode since its training, and each one moved "
        f"its running statistics towards that batch's: {COPY}, and rerun the ablation cells to get the model back")


@test_case(name="(a) the eval-mode accuracy of each digit")
def eval_mode(hw2_digits, hw2_model, data):
    table = digits(hw2_digits)
    found = model(hw2_model)
    for digit in range(10):
        images, labels = data.x_val[data.y_val == digit], data.y_val[data.y_val == digit]
        ours = mc.evaluate(copy.deepcopy(found), images, labels)[1]
        assert math.isclose(float(table.loc[digit, EVAL]), ours, abs_tol=tolerance(len(labels))), (
            f"`hw2_digits`: the eval-mode accuracy of digit {digit} is not what hw2_model gives in eval mode on "
            "the validation images of that digit: evaluate with model.eval() (mc.evaluate does it, a plain "
            f"model(x) runs in the mode the model is in), and {COPY}")


@test_case(name="(a) the train-mode accuracy of each digit")
def train_mode(hw2_digits, hw2_model, data):
    table = digits(hw2_digits)
    found = model(hw2_model)
    if has_dropout(found):
        return  # dropout's masks are random in training mode: nothing to recompute exactly
    device = next(found.parameters()).device
    for digit in range(10):
        images, labels = data.x_val[data.y_val == digit], data.y_val[data.y_val == digit]
        clone = copy.deepcopy(found).train()
        with torch.no_grad():
            ours = (clone(images.to(device)).argmax(1) == labels.to(device)).float().mean().item() * 100
        assert math.isclose(float(table.loc[digit, TRAIN]), ours, abs_tol=tolerance(len(labels))), (
            f"`hw2_digits`: the train-mode accuracy of digit {digit} is not what a copy of hw2_model in training "
            "mode gives with all the validation images of that digit as one batch: call .train() on a copy and "
            "pass the digit's images in one forward pass (under torch.no_grad())")


def momenta(runs):
    """(config with momentum None, config with the default momentum), checked."""
    configs = s.configs(runs)
    assert len(configs) == 2, (f"`hw2_runs` has {len(configs)} configs; the question compares two, BN's default "
                               "momentum and momentum=None")
    kinds = {}
    for config in configs:
        layers = norms(s.model_of(runs, config))
        assert layers, f"`hw2_runs`: the model of config {config!r} has no BN layer; (b) retrains the BN MLP"
        values = [m.momentum for m in layers]
        if all(v is None for v in values):
            kinds.setdefault("none", []).append(config)
        elif any(v is None for v in values):
            raise AssertionError(
                f"`hw2_runs`: in config {config!r}, only {values.count(None)} of the {len(values)} BN layers "
                f"{'has' if values.count(None) == 1 else 'have'} momentum None: set it in every BN layer "
                "(model.bn1.momentum = model.bn2.momentum = None)")
        else:
            kinds.setdefault("default", []).append(config)
    assert len(kinds.get("none", [])) == 1 and len(kinds.get("default", [])) == 1, (
        "`hw2_runs` should have one config whose BN layers have momentum None and one with BN's default momentum; "
        f"it has {len(kinds.get('none', []))} and {len(kinds.get('default', []))}: set model.bn1.momentum = "
        "model.bn2.momentum = None in the function that builds the model of one config")
    return kinds["none"][0], kinds["default"][0]


@test_case(name="(b) momentum=None in every BN layer")
def momentum_none(hw2_runs):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    momenta(runs)


@test_case(name="(b) only BN's momentum changes")
def same_rest(hw2_runs, SEEDS, SHARED_LR, EPOCHS):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    optimizer = s.same_setting(runs, "hw2_runs", "optimizer", "optimizer")
    assert optimizer == "SGD", f"`hw2_runs` trains with {optimizer}; the question asks for SGD at the shared rate"
    lr = float(s.same_setting(runs, "hw2_runs", "lr", "learning rate"))
    assert math.isclose(lr, float(SHARED_LR["SGD"]), rel_tol=1e-6), (
        f"`hw2_runs` trains SGD at lr={lr:g}; the question asks for the shared rate of section 4, SHARED_LR[\"SGD\"]")
    for column, what in [("model", "model"), ("parameters", "number of parameters"), ("momentum", "SGD momentum"),
                         ("weight_decay", "weight decay"), ("batch_size", "batch size"),
                         ("scheduler", "learning-rate schedule"), ("augment", "augmentation")]:
        s.same_setting(runs, "hw2_runs", column, what)
    s.same_epochs(runs, "hw2_runs", EPOCHS)
    s.same_seeds(runs, "hw2_runs", SEEDS)


@test_case(name="(b) the trained weights of the two configs")
def same_weights(hw2_runs, hw2_same_weights):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    s.given(hw2_same_weights, "hw2_same_weights", "set it to True or False")
    assert isinstance(hw2_same_weights, bool), f"`hw2_same_weights` should be True or False, not {hw2_same_weights!r}"
    none, default = momenta(runs)
    seeds = sorted(runs.final["seed"].unique())
    equal = all(same_parameters(runs.models[none, seed], runs.models[default, seed]) for seed in seeds)
    assert equal, ("`hw2_runs`: the two configs end with different weights, so more than BN's momentum changed "
                   "between them: build both from the same model, optimizer and data, and change only the momentum")
    s.agrees(hw2_same_weights, equal, "hw2_same_weights",
             f"the parameters of hw2_runs.models[{none!r}, seed] and hw2_runs.models[{default!r}, seed] "
             "(torch.equal, for every seed)")


@test_case(name="(b) the verdict on momentum=None")
def verdict(hw2_runs, hw2_momentum):
    runs = s.comparison(hw2_runs, "hw2_runs", RUNS_HINT)
    s.is_verdict(hw2_momentum, "hw2_momentum")
    none, default = momenta(runs)
    s.agrees(hw2_momentum, s.verdict(runs, none, default), "hw2_momentum",
             f'the "verdict" column of mc.paired_differences(hw2_runs, {default!r}), row {none!r}')
