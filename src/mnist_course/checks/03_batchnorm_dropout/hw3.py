"""Lesson 3, homework 3 (a bias before BN is wasted).

(a) `hw3_redundant` is the number of parameters of the lesson's BN MLP, `MLP(bn=True)`, that BN makes
redundant: the biases of the layers whose output goes straight into a BN layer (the check finds them
with a forward pass of the lesson's own `MLP`). (b) `hw3_runs` is a dict with one `mc.compare` result per
optimizer, `{"SGD": ..., "Adam": ...}`, each with the BN MLP and the BN MLP whose layers before BN have no
bias (`nn.Linear(..., bias=False)`), otherwise as in the ablation (that optimizer at its shared rate,
`EPOCHS`, the lesson's seeds: the lesson's recipe as the runs recorded it, `recipes.of("03_batchnorm_dropout",
"hw3")`); `hw3_verdicts` holds, per optimizer, the verdict of the bias-free MLP
against the MLP with the biases, from `mc.paired_differences`."""

import dataclasses
import math

import torch
from torch import nn

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

OPTIMIZERS = ("SGD", "Adam")
HINT = (
    'a dict {"SGD": mc.compare(partial(MLP, bn=True), {"BN": {...}, "BN, no bias before BN": {"model": '
    '<a function that returns MLP(bn=True) with bias-free fc1 and fc2>, ...}}, SEEDS, data, EPOCHS), "Adam": ...}'
)


def before_bn(model):
    """(name, layer, whether a BN layer runs right after it) for every Linear or convolution of `model`."""
    device = next(model.parameters()).device
    ran = s.leaf_order(model, torch.zeros(2, 1, 28, 28, device=device))
    return [
        (n, m, k + 1 < len(ran) and isinstance(ran[k + 1][1], nn.modules.batchnorm._BatchNorm))
        for k, (n, m) in enumerate(ran)
        if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd))
    ]


def runs_of(hw3_runs):
    s.given(hw3_runs, "hw3_runs", HINT)
    assert isinstance(hw3_runs, dict) and set(OPTIMIZERS) <= set(hw3_runs), (
        f"`hw3_runs` should be a dict with the keys {', '.join(map(repr, OPTIMIZERS))}, one mc.compare result per "
        f"optimizer: {HINT}"
    )
    return {o: s.comparison(hw3_runs[o], f"hw3_runs[{o!r}]", HINT) for o in OPTIMIZERS}


def variants(runs, o):
    """(bias-free config, config with the biases) of the runs of optimizer `o`, checked."""
    label = f"hw3_runs[{o!r}]"
    configs = s.configs(runs)
    assert len(configs) == 2, (
        f"`{label}` has {len(configs)} configs; the question compares two, the BN MLP with "
        "and without the biases before BN"
    )
    kinds = {}
    for config in configs:
        layers = before_bn(s.model_of(runs, config))
        feeding = [(n, m) for n, m, to_bn in layers if to_bn]
        assert feeding, (
            f"`{label}`: the model of config {config!r} has no BN layer after a Linear layer; (b) retrains the BN MLP"
        )
        others = [n for n, m, to_bn in layers if not to_bn and m.bias is None]
        assert not others, (
            f"`{label}`: in config {config!r}, {', '.join(others)} has no bias, but no BN follows it, "
            "so its bias is not redundant: remove only the biases of the layers before BN"
        )
        biased = [n for n, m in feeding if m.bias is not None]
        if len(biased) == len(feeding):
            kinds.setdefault("with", []).append(config)
        elif not biased:
            kinds.setdefault("without", []).append(config)
        else:
            raise AssertionError(
                f"`{label}`: in config {config!r}, {', '.join(biased)} still has a bias before BN: "
                "use bias=False in every Linear layer that BN follows (fc1 and fc2)"
            )
    assert len(kinds.get("with", [])) == 1 and len(kinds.get("without", [])) == 1, (
        f"`{label}` should have one config with the biases before BN and one whose Linear layers before BN are built "
        f"with bias=False (a bias set to 0 or frozen is still a parameter); it has {len(kinds.get('with', []))} with "
        f"and {len(kinds.get('without', []))} without"
    )
    return kinds["without"][0], kinds["with"][0]


@test_case(name="(a) the redundant parameters of the BN MLP")
def redundant(hw3_redundant, MLP):
    answer = s.whole(
        hw3_redundant,
        "hw3_redundant",
        "set it to the number of parameters that BN makes redundant",
        example="100",
    )
    # building a model draws random weights: leave the notebook's state
    with torch.random.fork_rng(devices=[]):
        model = MLP(bn=True)
    expected = sum(
        m.bias.numel() for _, m, to_bn in before_bn(model) if to_bn and m.bias is not None
    )
    s.agrees(
        answer,
        expected,
        "hw3_redundant",
        "which parameters of MLP(bn=True) cannot change its output in training mode: the biases of the "
        "layers whose output goes straight into BN (BN's own parameters are not among them)",
    )


@test_case(name="(b) both optimizers, with and without the biases before BN")
def bias_free(hw3_runs):
    runs = runs_of(hw3_runs)
    for o in OPTIMIZERS:
        variants(runs[o], o)


@test_case(name="(b) only the biases change")
def same_rest(hw3_runs, SHARED_LR):
    runs = runs_of(hw3_runs)
    recipe = recipes.of("03_batchnorm_dropout", "hw3")
    for o in OPTIMIZERS:
        label = f"hw3_runs[{o!r}]"
        optimizer = s.same_setting(runs[o], label, "optimizer", "optimizer")
        assert optimizer == o, (
            f"`{label}` trains with optimizer {optimizer}; put the {o} runs under the key {o!r}"
        )
        s.same_setting(runs[o], label, "model", "model")
        s.keeps_recipe(
            runs[o], label, dataclasses.replace(recipe, optimizer=o), changes={"parameters"}
        )
        lr = float(s.same_setting(runs[o], label, "max_lr", "learning rate"))
        shared = s.real(
            s.given(SHARED_LR, "SHARED_LR", "run the lesson's cells above the homework first")[o],
            f"SHARED_LR[{o!r}]",
            "run the lesson's cells above the homework first",
        )
        assert math.isclose(lr, shared, rel_tol=1e-6), (
            f"`{label}` trains {o} at lr={lr:g}; the question asks for the shared rate of section 4, "
            f"SHARED_LR[{o!r}] = {shared:g}"
        )


@test_case(name="(b) the verdicts without the biases")
def verdicts(hw3_runs, hw3_verdicts):
    runs = runs_of(hw3_runs)
    s.given(hw3_verdicts, "hw3_verdicts", 'set it to {"SGD": <verdict>, "Adam": <verdict>}')
    assert isinstance(hw3_verdicts, dict) and set(OPTIMIZERS) <= set(hw3_verdicts), (
        '`hw3_verdicts` should be a dict {"SGD": <verdict>, "Adam": <verdict>}, one verdict per optimizer, not '
        f"{s._type(hw3_verdicts) if not isinstance(hw3_verdicts, dict) else 'a dict with the keys ' + repr(list(hw3_verdicts))}"
    )
    for o in OPTIMIZERS:
        s.is_verdict(hw3_verdicts[o], f"hw3_verdicts[{o!r}]")
        without, with_ = variants(runs[o], o)
        s.agrees(
            hw3_verdicts[o],
            s.verdict(runs[o], without, with_),
            f"hw3_verdicts[{o!r}]",
            f'the "verdict" column of mc.paired_differences(hw3_runs[{o!r}], {with_!r}), row {without!r}',
        )
