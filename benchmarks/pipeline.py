"""Benchmark: the course's data pipeline against the original tutorials' pipeline, in one run.

Two models (the lesson-1 MLP and a lesson-4-style CNN trained with augmentation) are trained
for the same epochs, from the same initial weights, on the same 50,000 training images (in
the same order in the first epoch), with the same optimizer, in this one process with the
same torch threads:

  seed    the original tutorials' pipeline: torchvision's `MNIST` dataset (PIL images),
          `ToTensor()` (after a PIL `RandomAffine` for the CNN), `DataLoader(batch_size=128,
          shuffle=True)` and a plain training loop;
  course  the course's pipeline: `mc.load_mnist()` tensors in memory, `mc.RandomAffine` on
          whole batches, `mc.fit(batch_size=128)`.

Both sides are then evaluated with `mc.evaluate` on the same validation split. See
benchmarks/README.md for what is timed and the measured results.

    python benchmarks/pipeline.py              # the full benchmark (1 epoch, fastest of 3 runs)
    python benchmarks/pipeline.py --epochs 2 --json
    python benchmarks/pipeline.py --smoke      # 2,000 training images: checks that it runs
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, RandomSampler, Subset
from torchvision import datasets, transforms

import mnist_course as mc

BATCH_SIZE = 128
# Augmentation of the same strength on both sides (lesson 4's): rotations up to +-7 degrees, shifts up to
# 10% of the image (2.8 px). torchvision's RandomAffine works on one PIL image at a time
# (nearest-neighbour, its default as in the tutorials); mc.RandomAffine on a whole batch (bilinear).
DEGREES, TRANSLATE = 7.0, 0.1


# ----------------------------------------------------------------------------------------------
# The two models. Keep each in its own function: make_cnn() is to be aligned with the final
# model of notebooks/04_cnn_budget.ipynb.
# ----------------------------------------------------------------------------------------------
def make_mlp() -> nn.Module:
    """The lesson-1 MLP (notebooks/01_intro.ipynb): 784-50-50-50-10 with ReLU and dropout 0.1."""
    layers: list[nn.Module] = [mc.Normalize(), nn.Flatten()]  # takes images in [0, 1]
    for width_in, width_out in [(784, 50), (50, 50), (50, 50)]:
        layers += [nn.Linear(width_in, width_out), nn.ReLU(), nn.Dropout(0.1)]
    return nn.Sequential(*layers, nn.Linear(50, 10))


def make_cnn() -> nn.Module:
    """The final lesson-4 CNN (notebooks/04_cnn_budget.ipynb, dropout 0): 7,850 parameters."""

    def conv_bn(c_in: int, c_out: int, kernel_size: int = 3) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel_size, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
        )

    return nn.Sequential(
        mc.Normalize(),
        conv_bn(1, 8),
        conv_bn(8, 16),  # 28 -> 24
        nn.MaxPool2d(2),  # -> 12
        conv_bn(16, 8, kernel_size=1),  # 1x1 transition
        conv_bn(8, 12),
        conv_bn(12, 16),
        conv_bn(16, 16),  # 12 -> 6
        nn.Conv2d(16, 10, 3, padding=1),  # one map per class
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def make_optimizer(params) -> torch.optim.Optimizer:
    """The same optimizer and learning rate for both pipelines (and both models)."""
    return torch.optim.SGD(params, lr=0.05, momentum=0.9)


# ----------------------------------------------------------------------------------------------
# (i) The original tutorials' pipeline
# ----------------------------------------------------------------------------------------------
def torchvision_mnist(folder: Path, transform) -> datasets.MNIST:
    """torchvision's MNIST training set from a writable folder holding links to the four files.

    torchvision extracts the .gz files next to themselves, so it gets a temporary folder of
    its own (MNIST_DATA_DIR may be read-only or shared); `download=True` finds the files there,
    verifies them and extracts them without any network access.
    """
    with contextlib.redirect_stdout(io.StringIO()):  # keep stdout clean for --json
        return datasets.MNIST(str(folder), train=True, download=True, transform=transform)


def link_raw_files(folder: Path) -> None:
    """Symlink the four original .gz files (found like `mc.load_mnist` finds them) into `folder/MNIST/raw`."""
    source, raw = mc.find_mnist(), folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in mc.FILES:
        (raw / name).symlink_to((source / name).resolve())


def seed_loader(dataset, indices, seed: int, workers: int = 0) -> DataLoader:
    """The tutorials' DataLoader(batch_size=128, shuffle=True) over the course's training images.

    It is what shuffle=True builds, with the sampler given its own generator, so that the
    first epoch's order of the images is the one mc.fit draws from the same seed (later epochs
    differ: RandomSampler draws one more, empty, permutation at the end of each epoch).
    """
    train_set = Subset(dataset, indices.tolist())
    sampler = RandomSampler(train_set, generator=torch.Generator().manual_seed(seed))
    return DataLoader(train_set, batch_size=BATCH_SIZE, sampler=sampler, num_workers=workers)


def train_seed(model, dataset, indices, epochs, data, seed, workers=0) -> tuple[float, float]:
    """The tutorials' plain loop over the DataLoader, then mc.evaluate on the validation split
    after every epoch (as fit does). Returns (wall seconds, seconds of the training loops alone)."""
    optimizer = make_optimizer(model.parameters())
    start, train_s = time.perf_counter(), 0.0
    loader = seed_loader(dataset, indices, seed, workers)
    for _ in range(epochs):
        model.train()
        epoch_start = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        train_s += time.perf_counter() - epoch_start
        mc.evaluate(model, data.x_val, data.y_val)
    return time.perf_counter() - start, train_s


# ----------------------------------------------------------------------------------------------
# (ii) The course's pipeline
# ----------------------------------------------------------------------------------------------
def train_course(model, data, epochs, augment, seed) -> tuple[float, float]:
    """mc.fit on the in-memory tensors. Returns (wall seconds, seconds of the training loops alone)."""
    optimizer = make_optimizer(model.parameters())
    start = time.perf_counter()
    history = mc.fit(
        model,
        data,
        optimizer,
        epochs,
        batch_size=BATCH_SIZE,
        augment=augment,
        generator=torch.Generator().manual_seed(seed),
        progress=False,
    )
    return time.perf_counter() - start, float(history["seconds"].sum())


# ----------------------------------------------------------------------------------------------
def course_train_indices(data: mc.MNISTSplits, train_images: torch.Tensor) -> torch.Tensor:
    """Indices into the 60,000 training images of the course's training split (`load_mnist`'s
    default split, from `mc.split_indices`), checked image by image against `data.x_train`."""
    indices, _ = mc.split_indices(len(train_images), val_size=len(data.y_val))
    assert torch.equal(train_images[indices].unsqueeze(1).float().div(255), data.x_train), (
        "split differs"
    )
    return indices


def warm_up(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """A few steps on a copy, so that neither side pays the first call's one-off costs."""
    model = copy.deepcopy(model)
    optimizer = make_optimizer(model.parameters())
    for xb, yb in zip(x.split(BATCH_SIZE)[:3], y.split(BATCH_SIZE)[:3]):
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    mc.evaluate(model, x[:1000], y[:1000])


def run(args: argparse.Namespace) -> tuple[list[dict], dict]:
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    data = mc.load_mnist()
    course_load_s = time.perf_counter() - start

    with tempfile.TemporaryDirectory(prefix="mnist-bench-") as tmp:
        link_raw_files(Path(tmp))
        start = time.perf_counter()
        plain = torchvision_mnist(Path(tmp), transforms.ToTensor())
        seed_load_s = time.perf_counter() - start
        augmented = torchvision_mnist(
            Path(tmp),
            transforms.Compose(
                [
                    transforms.RandomAffine(DEGREES, translate=(TRANSLATE, TRANSLATE)),
                    transforms.ToTensor(),
                ]
            ),
        )
        indices = course_train_indices(data, plain.data)
        if args.smoke:  # the first 2,000 images of the same training split on both sides
            data, indices = data.subset(2_000, 1_000), indices[:2_000]
        n_train = len(data.y_train)

        cases = [
            ("mlp", make_mlp, plain, None),
            ("cnn+augment", make_cnn, augmented, mc.RandomAffine(DEGREES, TRANSLATE)),
        ]
        rows = []
        for case, make_model, dataset, augment in cases:
            mc.set_seed(0)
            initial = make_model().state_dict()

            # the same initial weights
            def fresh_model(make_model=make_model, initial=initial) -> nn.Module:
                model = make_model()
                model.load_state_dict(initial)
                return model

            warm_up(fresh_model(), data.x_train, data.y_train)
            # (wall seconds, training-loop seconds, val acc) per run
            runs = {"seed": [], "course": []}
            for _ in range(args.repeats):  # the sides alternate, so a busy moment can hit either
                model = fresh_model()
                mc.set_seed(1)  # the same dropout and augmentation random numbers in every run
                times = train_seed(
                    model, dataset, indices, args.epochs, data, seed=1, workers=args.workers
                )
                runs["seed"].append((*times, mc.evaluate(model, data.x_val, data.y_val)[1]))
                model = fresh_model()
                mc.set_seed(1)
                times = train_course(model, data, args.epochs, augment, seed=1)
                runs["course"].append((*times, mc.evaluate(model, data.x_val, data.y_val)[1]))

            # The fastest run of each side: other jobs on the cores can only add time.
            seed_s, course_s = (min(r[0] for r in runs[side]) for side in ("seed", "course"))
            images = n_train * args.epochs
            row = dict(
                case=case,
                seed_s=round(seed_s, 4),
                course_s=round(course_s, 4),
                speedup=round(seed_s / course_s, 2),
            )
            for side in ("seed", "course"):
                row[f"{side}_val_acc"] = runs[side][0][2]  # the same in every run (same seeds)
            for side in ("seed", "course"):
                row[f"{side}_img_per_s"] = round(images / min(r[1] for r in runs[side]))
            for side in ("seed", "course"):
                row[f"{side}_runs_s"] = [round(r[0], 4) for r in runs[side]]
            row.update(
                seed_load_s=round(seed_load_s, 4),
                course_load_s=round(course_load_s, 4),
                total_speedup=round((seed_load_s + seed_s) / (course_load_s + course_s), 2),
                params=mc.count_parameters(model),
                train_images=n_train,
                epochs=args.epochs,
                repeats=args.repeats,
                seed_workers=args.workers,
            )
            rows.append(row)
            spread = max(
                max(r[0] for r in runs[side]) / min(r[0] for r in runs[side]) for side in runs
            )
            if spread > 1.3:
                print(
                    f"warning: {case}: the runs of one side differ by {spread:.1f}x; were other jobs "
                    f"running on the cores? (runs: {row['seed_runs_s']} / {row['course_runs_s']} s)",
                    file=sys.stderr,
                )
    machine = dict(
        threads=torch.get_num_threads(),
        nproc=os.cpu_count(),
        cpu=cpu_model(),
        torch=torch.__version__,
        python=platform.python_version(),
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    return rows, machine


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(rows: list[dict], machine: dict) -> None:
    r0 = rows[0]
    print(
        f"{r0['epochs']} epoch(s) on {r0['train_images']:,} training images, batch size {BATCH_SIZE}, "
        f"fastest of {r0['repeats']} run(s) per pipeline; "
        f"{machine['threads']} torch threads, {machine['nproc']} cores ({machine['cpu']}), "
        f"torch {machine['torch']}"
    )
    print(
        f"load MNIST: seed {r0['seed_load_s']:.2f} s (torchvision MNIST, extracts the .gz files), "
        f"course {r0['course_load_s']:.2f} s (mc.load_mnist); not included in the times below"
    )
    header = (
        f"{'case':<12} {'seed (s)':>9} {'course (s)':>11} {'speedup':>8} "
        f"{'seed val acc':>13} {'course val acc':>15} {'seed img/s':>11} {'course img/s':>13}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['case']:<12} {r['seed_s']:>9.2f} {r['course_s']:>11.2f} {r['speedup']:>7.1f}x "
            f"{r['seed_val_acc']:>12.2f}% {r['course_val_acc']:>14.2f}% "
            f"{r['seed_img_per_s']:>11,} {r['course_img_per_s']:>13,}"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per case (default 1)")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help=f"torch threads for both pipelines (default: torch's default, {torch.get_num_threads()}; "
        "1 with --smoke, so that other jobs on the cores do not slow it down much)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="runs per pipeline and case, alternating; the fastest is reported "
        "(default 3, 1 with --smoke)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="DataLoader worker processes of the seed pipeline (default 0, as in the tutorials)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a quick check that it runs: 2,000 training and 1,000 validation images",
    )
    parser.add_argument("--json", action="store_true", help="print the results as a JSON list")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.smoke else 3
    if args.threads is None:
        args.threads = 1 if args.smoke else torch.get_num_threads()
    rows, machine = run(args)
    if args.json:
        print(json.dumps([{**r, **machine} for r in rows], indent=1))
    else:
        print_table(rows, machine)


if __name__ == "__main__":
    sys.exit(main())
