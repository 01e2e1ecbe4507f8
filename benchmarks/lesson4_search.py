"""The design search behind lesson 4's second edition: 15-epoch runs judged on the validation split.

Before lesson 4's final recipe was fixed, a few alternatives were trained for the full 15 epochs on the
50,000 training images, seeds 0 and 1, and judged by their final-epoch validation accuracy (the test
set is never read here). A second round, after the lesson's test reads, added label smoothing, zoom,
a smaller training set, padded and depthwise-separable layouts and an over-budget reference.
`benchmarks/README.md` records the results of both. Each run trains one model in
one process with one torch thread, so that two runs can share the 2 cores:

    python benchmarks/lesson4_search.py early-pool 0                # the lesson's budget CNN, seed 0
    python benchmarks/lesson4_search.py early-pool 1 --weight-decay 5e-4 --out search.jsonl
    python benchmarks/lesson4_search.py --list                      # the architectures

Defaults are the lesson's recipe: SGD with Nesterov momentum 0.9, one-cycle to 0.1 (momentum cycled),
augmentation 7 degrees / 10%, batch size 128, 15 epochs.
"""

from __future__ import annotations

import argparse
import json
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

import mnist_course as mc
from lesson4_seeds import GlobalAvgPool, conv_bn, multiply_adds

# channel plans: an int is a 3x3 convolution (no padding) with BN and ReLU, "8p" the same with padding 1
# (the size is kept: more positions, more multiply-adds, the same parameters), "d32" a depthwise-separable
# convolution to 32 channels (3x3 per channel, then 1x1 across channels, BN, ReLU; MobileNet's, Howard et al.
# 2017: more channels for the parameters), "P" a 2x2 max-pool
ARCHITECTURES = {
    "late-pool": [8, 8, "P", 16, 16, 24],  # the second edition's first design (7,954 parameters)
    "early-pool": [8, "P", 10, 16, 16, 20],  # the lesson's budget CNN (7,766 parameters)
    "early-pool-wider": [10, "P", 12, 14, 16, 18],
    "early-pool-wide-last": [8, "P", 8, 12, 16, 28],  # more channels into the read-out
    "padded-early": ["8p", "P", "10p", 16, 16, 20],  # 28 -> 14 -> 14 -> 12 -> 10 -> 8
    "padded-middle": [8, "P", "10p", "16p", 16, 20],  # 26 -> 13 -> 13 -> 13 -> 11 -> 9
    "separable": [8, "P", "d32", "d40", "d48", "d50"],
    # 30,210 parameters: is the budget the limit?
    "four-times-budget": [16, "P", 20, 32, 32, 40],
}
# a reference only: every other layout has fewer than 8,000 parameters
OVER_BUDGET = {"four-times-budget"}


def separable(c_in: int, c_out: int) -> nn.Sequential:
    "A depthwise-separable 3x3 convolution (no padding, no bias), batch norm and ReLU."
    return nn.Sequential(
        nn.Conv2d(c_in, c_in, 3, groups=c_in, bias=False),
        nn.Conv2d(c_in, c_out, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(),
    )


def build(plan: list) -> nn.Sequential:
    """A budget CNN from a channel plan: Normalize, the layers, global average pooling, a linear read-out."""
    layers, channels = OrderedDict(normalize=mc.Normalize()), 1
    for i, item in enumerate(plan):
        if item == "P":
            layers[f"pool{i}"] = nn.MaxPool2d(2)
        elif str(item).startswith("d"):
            layers[f"conv{i}"], channels = separable(channels, int(item[1:])), int(item[1:])
        else:
            out = int(str(item).rstrip("p"))
            layers[f"conv{i}"] = conv_bn(channels, out, padding=int(str(item).endswith("p")))
            channels = out
    layers["gap"], layers["head"] = GlobalAvgPool(), nn.Linear(channels, 10)
    return nn.Sequential(layers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("architecture", nargs="?", choices=sorted(ARCHITECTURES))
    parser.add_argument("seed", nargs="?", type=int)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument(
        "--max-lr", type=float, default=0.1, help="one-cycle peak learning rate (default 0.1)"
    )
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument(
        "--no-cycle-momentum", action="store_true", help="OneCycleLR(cycle_momentum=False)"
    )
    parser.add_argument(
        "--degrees",
        type=float,
        default=7.0,
        help="augmentation: rotation (degrees); 0 with --translate 0: none",
    )
    parser.add_argument(
        "--translate", type=float, default=0.1, help="augmentation: shift (fraction of the image)"
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=0.0,
        help="augmentation: zoom in [1 - s, 1 + s] (default 0: none)",
    )
    parser.add_argument(
        "--label-smoothing", type=float, default=0.0, help="fit(label_smoothing=...) (default 0)"
    )
    parser.add_argument(
        "--train-size", type=int, help="train on the first N training images only (learning curve)"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="append the result to this JSON-lines file")
    parser.add_argument(
        "--list",
        action="store_true",
        help="print the architectures, their parameters and multiply-adds per image",
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, plan in ARCHITECTURES.items():
            model = build(plan)
            print(
                f"{name}: {plan}, {mc.count_parameters(model):,} parameters, "
                f"{multiply_adds(model):,} multiply-adds per image"
            )
        return
    if args.architecture is None or args.seed is None:
        parser.error("give an architecture and a seed (or --list)")

    torch.set_num_threads(args.threads)
    data = mc.load_mnist()
    if args.train_size:
        data = data.subset(train=args.train_size)
    steps = -(-len(data.y_train) // args.batch_size)
    scale = (1 - args.scale, 1 + args.scale) if args.scale else None
    augment = (
        mc.RandomAffine(args.degrees, args.translate, scale)
        if args.degrees or args.translate or scale
        else None
    )
    config = dict(
        optimizer=lambda p: torch.optim.SGD(
            p, lr=0.03, momentum=0.9, nesterov=True, weight_decay=args.weight_decay
        ),
        scheduler=lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o,
            max_lr=args.max_lr,
            epochs=args.epochs,
            steps_per_epoch=steps,
            cycle_momentum=not args.no_cycle_momentum,
        ),
        augment=augment,
        label_smoothing=args.label_smoothing,
    )
    result = mc.compare(
        lambda: build(ARCHITECTURES[args.architecture]),
        {"run": config},
        [args.seed],
        data,
        args.epochs,
        batch_size=args.batch_size,
        progress=False,
    )
    row = dict(
        architecture=args.architecture,
        seed=args.seed,
        epochs=args.epochs,
        max_lr=args.max_lr,
        weight_decay=args.weight_decay,
        cycle_momentum=not args.no_cycle_momentum,
        degrees=args.degrees,
        translate=args.translate,
        scale=args.scale,
        label_smoothing=args.label_smoothing,
        train_size=len(data.y_train),
        batch_size=args.batch_size,
        threads=args.threads,
        val_acc=float(result.final["val_acc"].iloc[0]),
        train_acc=float(result.final["train_acc"].iloc[0]),
        seconds_per_epoch=float(result.history["seconds"].mean()),
    )
    print(json.dumps(row))
    if args.out:
        with args.out.open("a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
