"""Lesson 3, homework 1 (BN in a small CNN): `hw1_runs` is an `mc.compare` result with two configs, the
small CNN (conv 1 -> 8, conv 8 -> 16, linear) without BN and with `nn.BatchNorm2d` right after each
convolution, trained on the first 10,000 training images for 2 epochs with Adam at the lesson's shared
rate and the lesson's seeds; `hw1_bn` is the verdict of the CNN with BN against the CNN without, from
`mc.paired_differences` of those runs.

The layer order is measured, not read from the model's attributes: a forward pass of each config's trained
model runs under a torch function mode (`support.layer_trace`) that records every convolution, batch norm,
activation and pooling, modules and plain functions (F.relu, F.max_pool2d) alike, so a BN placed after the
ReLU or after the pooling is seen. Everything but BN is held to the lesson's recipe as the runs recorded it
(`recipes.of("03_batchnorm_dropout", "hw1")`: Adam with its default betas, 2 epochs, the first 10,000 training
images, the validation split, the lesson's seeds, batches of 128, no schedule, no augmentation, no dropout),
and the rate to the lesson's shared rate for Adam, SHARED_LR["Adam"]."""

import math

import torch

from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

HINT = (
    'assign the result of mc.compare(SmallCNN, {"CNN": {"model": partial(SmallCNN, bn=False), ...}, '
    '"CNN + BN": {"model": partial(SmallCNN, bn=True), ...}}, SEEDS, data.subset(train=10_000), 2)'
)
ORDER = "conv 8 -> BN -> ReLU -> pool -> conv 16 -> BN -> ReLU -> pool -> linear"


def trace(model):
    """What a forward pass of two blank images through `model` computes, in order (see support.layer_trace)."""
    device = next(model.parameters()).device
    return s.layer_trace(model, torch.zeros(2, 1, 28, 28, device=device))


def describe(ran):
    names = {
        "conv": "conv {}",
        "batchnorm": "BN",
        "activation": "{}",
        "pool": "pool",
        "linear": "linear",
        "dropout": "dropout",
        "norm": "norm",
    }
    return " -> ".join(
        names[kind].format(size) if kind in ("conv", "activation") else names[kind]
        for kind, size in ran
    )


def with_bn(runs):
    """(config with BN, config without), checked: two configs, the question's convolutions, and in the BN
    config a batch norm of matching width right after each convolution (measured), in the other no BN at all."""
    configs = s.configs(runs)
    assert len(configs) == 2, (
        f"`hw1_runs` has {len(configs)} configs; the question compares two, "
        "the CNN without BN and the CNN with BN"
    )
    found = {}
    for config in configs:
        ran = trace(s.model_of(runs, config))
        widths = [size for kind, size in ran if kind == "conv"]
        assert widths == [8, 16], (
            f"`hw1_runs`: the convolutions of config {config!r} give {widths} channels; the question's CNN has two, "
            f"1 -> 8 and 8 -> 16 channels ({ORDER}, without the BN in the CNN without BN)"
        )
        if not any(kind == "batchnorm" for kind, _ in ran):
            found.setdefault("without", []).append(config)
            continue
        after = [
            ran[k + 1] if k + 1 < len(ran) else None
            for k, (kind, _) in enumerate(ran)
            if kind == "conv"
        ]
        wrong = [w for w, nxt in zip(widths, after) if nxt != ("batchnorm", w)]
        extra = sum(kind == "batchnorm" for kind, _ in ran) - (len(widths) - len(wrong))
        assert not wrong and not extra, (
            f"`hw1_runs`: in config {config!r} the forward pass runs {describe(ran)}; the question puts "
            "nn.BatchNorm2d right after each convolution, before the ReLU and the pooling "
            f"({ORDER}): {'move' if extra else 'add'} it there"
        )
        found.setdefault("with", []).append(config)
    assert len(found.get("with", [])) == 1 and len(found.get("without", [])) == 1, (
        "`hw1_runs` should have one config with BN after each convolution and one without any BN (nn.Identity in "
        f"the BN slots); it has {len(found.get('with', []))} with BN and {len(found.get('without', []))} without"
    )
    return found["with"][0], found["without"][0]


@test_case(name="a CNN without and with BN")
def cnns(hw1_runs):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    with_bn(runs)


@test_case(name="only BN changes")
def same_rest(hw1_runs, SHARED_LR):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    s.keeps_recipe(
        runs,
        "hw1_runs",
        recipes.of("03_batchnorm_dropout", "hw1"),
        changes={"parameters"},
        data_hint="train on the first 10,000 training images, data.subset(train=10_000), as the question says",
    )
    lr = float(s.same_setting(runs, "hw1_runs", "max_lr", "learning rate"))
    shared = s.real(
        s.given(SHARED_LR, "SHARED_LR", "run the lesson's cells above the homework first")["Adam"],
        'SHARED_LR["Adam"]',
        "run the lesson's cells above the homework first",
    )
    assert math.isclose(lr, shared, rel_tol=1e-6), (
        f"`hw1_runs` trains Adam at lr={lr:g}; the question asks for the shared rate of section 4, "
        f'SHARED_LR["Adam"] = {shared:g}'
    )


@test_case(name="the verdict on BN")
def verdict(hw1_runs, hw1_bn):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    s.is_verdict(hw1_bn, "hw1_bn")
    bn_config, plain = with_bn(runs)
    s.agrees(
        hw1_bn,
        s.verdict(runs, bn_config, plain),
        "hw1_bn",
        f'the "verdict" column of mc.paired_differences(hw1_runs, {plain!r}), row {bn_config!r}',
    )
