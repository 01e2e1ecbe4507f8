"""Lesson 3, homework 1 (BN in a small CNN): `hw1_runs` is an `mc.compare` result with two configs, the
small CNN (conv 1 -> 8, conv 8 -> 16, linear) without BN and with `nn.BatchNorm2d` right after each
convolution, trained on the first 10,000 training images for 2 epochs with Adam at the lesson's shared
rate and the lesson's seeds; `hw1_bn` is the verdict of the CNN with BN against the CNN without, from
`mc.paired_differences` of those runs."""

import math

import torch
from mnist_course.checks.runner import test_case
from torch import nn

from mnist_course.checks import support as s

N_IMAGES, N_EPOCHS = 10_000, 2  # what the question asks for
HINT = ('assign the result of mc.compare(SmallCNN, {"CNN": {"model": partial(SmallCNN, bn=False), ...}, '
        '"CNN + BN": {"model": partial(SmallCNN, bn=True), ...}}, SEEDS, data.subset(train=10_000), 2)')


def layers(model):
    """The model's leaf layers in the order a forward pass of two blank images runs them."""
    device = next(model.parameters()).device
    return s.leaf_order(model, torch.zeros(2, 1, 28, 28, device=device))


def with_bn(runs):
    """(config with BN, config without), checked: two configs, the question's convolutions, and in the BN
    config a BatchNorm2d of matching width right after each convolution, in the other no BN at all."""
    configs = s.configs(runs)
    assert len(configs) == 2, (f"`hw1_runs` has {len(configs)} configs; the question compares two, "
                               "the CNN without BN and the CNN with BN")
    found = {}
    for config in configs:
        ran = layers(s.model_of(runs, config))
        convs = [m for _, m in ran if isinstance(m, nn.Conv2d)]
        widths = [(c.in_channels, c.out_channels) for c in convs]
        assert widths == [(1, 8), (8, 16)], (
            f"`hw1_runs`: the convolutions of config {config!r} map the channels {widths}; the question's CNN has "
            "two, 1 -> 8 and 8 -> 16 channels (conv 8 -> ReLU -> pool -> conv 16 -> ReLU -> pool -> linear)")
        norms = [m for _, m in ran if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        after = [ran[k + 1][1] if k + 1 < len(ran) else None for k, (_, m) in enumerate(ran) if isinstance(m, nn.Conv2d)]
        if not norms:
            found.setdefault("without", []).append(config)
            continue
        right = [isinstance(b, nn.BatchNorm2d) and b.num_features == c.out_channels for b, c in zip(after, convs)]
        missing = right.count(False)
        assert not missing, (
            f"`hw1_runs`: in config {config!r}, {missing} of the 2 convolutions {'is' if missing == 1 else 'are'} not "
            "followed directly by nn.BatchNorm2d with one feature per output channel: add it after each convolution, "
            "before the ReLU")
        found.setdefault("with", []).append(config)
    assert len(found.get("with", [])) == 1 and len(found.get("without", [])) == 1, (
        "`hw1_runs` should have one config with BN after each convolution and one without any BN (nn.Identity in "
        f"the BN slots); it has {len(found.get('with', []))} with BN and {len(found.get('without', []))} without")
    return found["with"][0], found["without"][0]


@test_case(name="a CNN without and with BN")
def cnns(hw1_runs):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    with_bn(runs)


@test_case(name="only BN changes")
def same_rest(hw1_runs, SEEDS, SHARED_LR):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    optimizer = s.same_setting(runs, "hw1_runs", "optimizer", "optimizer")
    assert optimizer == "Adam", f"`hw1_runs` trains with {optimizer}; the question asks for Adam at the shared rate of section 4"
    lr = float(s.same_setting(runs, "hw1_runs", "lr", "learning rate"))
    shared = float(SHARED_LR["Adam"])
    assert math.isclose(lr, shared, rel_tol=1e-6), (
        f"`hw1_runs` trains Adam at lr={lr:g}; the question asks for the shared rate of section 4, SHARED_LR[\"Adam\"]")
    for column, what in [("momentum", "Adam betas"), ("weight_decay", "weight decay"), ("batch_size", "batch size"),
                         ("scheduler", "learning-rate schedule"), ("augment", "augmentation")]:
        s.same_setting(runs, "hw1_runs", column, what)
    s.same_epochs(runs, "hw1_runs", N_EPOCHS)
    s.same_seeds(runs, "hw1_runs", SEEDS)


@test_case(name="the first 10,000 training images")
def images(hw1_runs, data):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    bn_config, _ = with_bn(runs)
    epochs = s.same_epochs(runs, "hw1_runs")
    batch_size = int(s.setting(runs, bn_config, "batch_size"))
    n = min(N_IMAGES, len(data.y_train))  # a quick run's data has fewer
    norms = [m for _, m in layers(s.model_of(runs, bn_config)) if isinstance(m, nn.BatchNorm2d)]
    counted = {None if m.num_batches_tracked is None else int(m.num_batches_tracked) for m in norms}
    assert None not in counted, ("`hw1_runs`: a BatchNorm2d layer does not track running statistics: keep its "
                                 "default track_running_stats=True, which eval mode needs")
    expected = epochs * math.ceil(n / batch_size)
    assert counted == {expected}, (
        f"`hw1_runs`: the BN layers counted {' or '.join(map(str, sorted(counted)))} training batches of {batch_size} "
        f"in {epochs} epochs, "
        f"but the first {n:,} training images make {expected}: train on data.subset(train=10_000), as the question says")


@test_case(name="the verdict on BN")
def verdict(hw1_runs, hw1_bn):
    runs = s.comparison(hw1_runs, "hw1_runs", HINT)
    s.is_verdict(hw1_bn, "hw1_bn")
    bn_config, plain = with_bn(runs)
    s.agrees(hw1_bn, s.verdict(runs, bn_config, plain), "hw1_bn",
             f'the "verdict" column of mc.paired_differences(hw1_runs, {plain!r}), row {bn_config!r}')
