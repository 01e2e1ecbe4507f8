"""Where the time of one epoch goes, piece by piece, in the two pipelines of pipeline.py.

Each piece is timed alone over the 50,000 training images (or 10,000 validation images):
the data path of each pipeline without a model, and the model's work on in-memory batches
(which both pipelines do alike). Run it like the benchmark, alone on the cores:

    python benchmarks/breakdown.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import default_collate
from torchvision import transforms

import mnist_course as mc
from pipeline import (
    BATCH_SIZE,
    DEGREES,
    TRANSLATE,
    course_train_indices,
    link_raw_files,
    make_cnn,
    make_mlp,
    make_optimizer,
    seed_loader,
    torchvision_mnist,
)


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def train_in_memory(model, data, memory_format=torch.contiguous_format) -> None:
    """The model's share of an epoch: forward, backward and step on ready-made batches."""
    model = model.to(memory_format=memory_format)
    optimizer = make_optimizer(model.parameters())
    for xb, yb in mc.batches(data.x_train, data.y_train, BATCH_SIZE):
        loss = F.cross_entropy(model(xb.contiguous(memory_format=memory_format)), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main() -> None:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; one epoch = 50,000 training images"
    )
    rows = [("load: mc.load_mnist()", seconds(mc.load_mnist))]
    data = mc.load_mnist()
    with tempfile.TemporaryDirectory() as tmp:
        link_raw_files(Path(tmp))
        rows.append(
            (
                "load: torchvision MNIST (extract + read)",
                seconds(lambda: torchvision_mnist(Path(tmp), transforms.ToTensor())),
            )
        )
        affine = transforms.RandomAffine(DEGREES, translate=(TRANSLATE, TRANSLATE))
        plain = torchvision_mnist(Path(tmp), transforms.ToTensor())
        augmented = torchvision_mnist(
            Path(tmp), transforms.Compose([affine, transforms.ToTensor()])
        )
        indices = course_train_indices(data, plain.data)

        def iterate(loader) -> None:
            for _ in loader:
                pass

        rows.append(
            (
                "seed data: DataLoader, ToTensor",
                seconds(lambda: iterate(seed_loader(plain, indices, 1))),
            )
        )
        rows.append(
            (
                "seed data: DataLoader, RandomAffine + ToTensor",
                seconds(lambda: iterate(seed_loader(augmented, indices, 1))),
            )
        )
    rows.append(
        (
            "course data: mc.batches",
            seconds(lambda: iterate(mc.batches(data.x_train, data.y_train, 128))),
        )
    )
    augment = mc.RandomAffine(DEGREES, TRANSLATE)
    rows.append(
        (
            "course data: mc.batches + mc.RandomAffine",
            seconds(lambda: [augment(xb) for xb, _ in mc.batches(data.x_train, data.y_train, 128)]),
        )
    )
    for make in (make_mlp, make_cnn):  # each lambda is timed (called) at once, in its own iteration
        name = make.__name__[5:].upper()
        rows.append(
            (
                f"model (both): {name} forward+backward+step",
                seconds(lambda make=make: train_in_memory(make(), data)),
            )
        )
        for batch_size in (2000, 250):
            rows.append(
                (
                    f"model (both): {name} mc.predict on 10,000 val images, batch {batch_size}",
                    seconds(
                        lambda make=make, b=batch_size: mc.predict(make(), data.x_val, batch_size=b)
                    ),
                )
            )
    rows.append(
        (
            "model: CNN forward+backward+step, channels_last",
            seconds(lambda: train_in_memory(make_cnn(), data, torch.channels_last)),
        )
    )
    for name, s in rows:
        print(f"{name:<62} {s:7.2f} s")

    # The seed's per-image steps, timed on 10,000 images (microseconds per image).
    images = plain.data[:10_000]
    start = time.perf_counter()
    pil = [Image.fromarray(a.numpy(), mode="L") for a in images]
    steps = [("Image.fromarray (in MNIST.__getitem__)", time.perf_counter() - start)]
    start = time.perf_counter()
    moved = [affine(p) for p in pil]
    steps.append(("PIL RandomAffine", time.perf_counter() - start))
    start = time.perf_counter()
    tensors = [transforms.functional.to_tensor(p) for p in moved]
    steps.append(("ToTensor", time.perf_counter() - start))
    start = time.perf_counter()
    for i in range(0, len(tensors), BATCH_SIZE):
        default_collate([(x, 0) for x in tensors[i : i + BATCH_SIZE]])
    steps.append(("default_collate", time.perf_counter() - start))
    for name, s in steps:
        print(f"seed per image: {name:<46} {s / len(images) * 1e6:7.1f} us")


if __name__ == "__main__":
    main()
