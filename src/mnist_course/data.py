"""MNIST in memory: find (or download) the files, verify them, split, batch and augment.

The whole data set is ~220 MB as float32, so it lives in memory as tensors and every
epoch is plain tensor indexing: no `Dataset`, no `DataLoader`, no PIL in the hot loop.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

import platformdirs
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.datasets import MNIST
from torchvision.datasets.utils import check_integrity

#: Mean and standard deviation of the 60,000 MNIST training images (pixels in [0, 1]).
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081

#: The four files of the original distribution and their md5 sums (as torchvision knows them).
FILES: dict[str, str] = dict(MNIST.resources)

ENV_VAR = "MNIST_DATA_DIR"


class DataError(RuntimeError):
    """MNIST could not be found, verified or downloaded; the message says how to fix it."""


@dataclass(frozen=True)
class MNISTSplits:
    """Train / validation / test tensors: images float32 `[N, 1, 28, 28]` in [0, 1], labels int64."""

    x_train: Tensor
    y_train: Tensor
    x_val: Tensor
    y_val: Tensor
    x_test: Tensor
    y_test: Tensor

    def to(self, device: torch.device | str) -> MNISTSplits:
        """All six tensors on `device` (done once, so training never copies batches)."""
        return replace(self, **{f.name: getattr(self, f.name).to(device) for f in fields(self)})

    def subset(self, train: int, val: int | None = None, test: int | None = None) -> MNISTSplits:
        """The first `train` / `val` / `test` examples of each split (quick runs); None keeps all."""
        n = {"train": train, "val": val, "test": test}
        return replace(self, **{f.name: getattr(self, f.name)[: n[f.name[2:]]] for f in fields(self)})

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(getattr(self, 'y_' + s)):,}" for s in ("train", "val", "test"))
        return f"MNISTSplits({sizes}, image shape={tuple(self.x_train.shape[1:])})"


def cache_dir() -> Path:
    """The per-user folder that downloads go to (e.g. `~/.cache/mnist-course` on Linux)."""
    return Path(platformdirs.user_cache_dir("mnist-course"))


def load_mnist(
    root: str | os.PathLike[str] | None = None, *, val_size: int = 10_000, split_seed: int = 0
) -> MNISTSplits:
    """Load MNIST into memory, with a fixed train/validation split.

    Looks for `<dir>/MNIST/raw/*.gz` (or `<dir>/raw/*.gz` when `<dir>` is the `MNIST` folder)
    in `root`, then `$MNIST_DATA_DIR`, then `cache_dir()`; existing files are md5-checked.
    If none has the files, torchvision downloads them into `cache_dir()`.

    The split: `val_size` images drawn at random (generator seeded with `split_seed`) from
    the 60,000 training images form the validation set; the rest, in file order, are the
    training set. The 10,000 test images are untouched. `val_size=0` trains on all 60,000.
    """
    raw = find_mnist(root)
    x_all, y_all = _read_images(raw / "train-images-idx3-ubyte.gz"), _read_labels(raw / "train-labels-idx1-ubyte.gz")
    train_idx, val_idx = split_indices(len(y_all), val_size, split_seed)
    return MNISTSplits(
        x_all[train_idx], y_all[train_idx], x_all[val_idx], y_all[val_idx],
        _read_images(raw / "t10k-images-idx3-ubyte.gz"), _read_labels(raw / "t10k-labels-idx1-ubyte.gz"),
    )


def split_indices(n: int, val_size: int, split_seed: int = 0) -> tuple[Tensor, Tensor]:
    """Sorted indices of the training and validation parts of `n` training images (see `load_mnist`)."""
    if not 0 <= val_size < n:
        raise ValueError(f"val_size must be between 0 and {n - 1}, got {val_size}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def find_mnist(root: str | os.PathLike[str] | None = None) -> Path:
    """The `raw` folder holding the four verified .gz files: the first of `root`, `$MNIST_DATA_DIR`
    and `cache_dir()` that has them, else a fresh download into `cache_dir()`."""
    candidates = [Path(d).expanduser() for d in (root, os.environ.get(ENV_VAR)) if d]
    for folder in [*candidates, cache_dir()]:
        for raw in (folder / "MNIST" / "raw", folder / "raw"):
            present = [name for name in FILES if (raw / name).is_file()]
            for name in present:
                if not check_integrity(str(raw / name), FILES[name]):
                    raise DataError(
                        f"{raw / name} fails its md5 check (expected {FILES[name]}): the file is "
                        "damaged or not the original. It was left as it is: delete or replace it "
                        "with a fresh copy of the original file, then run again."
                    )
            if len(present) == len(FILES):
                return raw
    return _download(cache_dir(), searched=candidates)


def _download(folder: Path, searched: list[Path]) -> Path:
    """Download the four files into `folder/MNIST/raw` through torchvision, or explain the fix."""
    raw = folder / "MNIST" / "raw"
    try:
        raw.mkdir(parents=True, exist_ok=True)
        (raw / ".write-test").touch()
        (raw / ".write-test").unlink()
    except OSError as e:
        raise DataError(
            f"MNIST was not found, and the download folder {raw} cannot be written ({e}). "
            f"Make it writable, or put the files in a folder of your own and set {ENV_VAR}."
        ) from e
    try:
        MNIST(str(folder), train=True, download=True)
        MNIST(str(folder), train=False, download=True)
    except Exception as e:  # torchvision raises RuntimeError, URLError, OSError, ... per mirror
        looked = "".join(f"\n  {p}/MNIST/raw/" for p in searched)
        raise DataError(
            f"MNIST could not be downloaded ({type(e).__name__}: {e}).\n"
            f"Looked in:{looked}\n  {raw}/\n"
            f"Fix: put the four files {', '.join(FILES)} into\n  {raw}/\n"
            f"or into <dir>/MNIST/raw/ and set the environment variable {ENV_VAR}=<dir>."
        ) from e
    return raw


def _read_idx(path: Path) -> Tensor:
    """A gzip-compressed IDX file (the original MNIST format) as a uint8 tensor."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8).reshape(shape)


def _read_images(path: Path) -> Tensor:
    return _read_idx(path).unsqueeze(1).float().div_(255)


def _read_labels(path: Path) -> Tensor:
    return _read_idx(path).long()


def normalize(x: Tensor) -> Tensor:
    """Standardize images in [0, 1] with MNIST's mean and standard deviation."""
    return (x - MNIST_MEAN) / MNIST_STD


class Normalize(nn.Module):
    """`normalize` as a layer, so a model can take images in [0, 1] (the form augmentation needs)."""

    def forward(self, x: Tensor) -> Tensor:
        return normalize(x)


def batches(
    x: Tensor, y: Tensor, batch_size: int, *, shuffle: bool = True, generator: torch.Generator | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """Mini-batches of `(x, y)`: a fresh shuffle per call, every example once, last batch kept."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = torch.randperm(len(y), generator=generator) if shuffle else torch.arange(len(y))
    order = order.to(x.device)
    for idx in order.split(batch_size):
        yield x[idx], y[idx]


def random_affine(
    x: Tensor,
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rotate, shift (and optionally scale) each image of a batch by its own random amount.

    Angles are uniform in [-degrees, degrees], shifts in [-translate, translate] of the image
    size, scale factors in `scale`. One `affine_grid` + `grid_sample` call does the whole
    batch; the background (0) fills what comes in from outside.
    """
    def uniform(lo: float, hi: float) -> Tensor:  # drawn on the CPU (`generator` is a CPU one)
        return (torch.rand(len(x), generator=generator) * (hi - lo) + lo).to(x)

    angle = uniform(-degrees, degrees) * (math.pi / 180)
    zoom = uniform(*scale) if scale else torch.ones_like(angle)
    # affine_grid maps output to input coordinates, so the matrix is the inverse transform.
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    shift = torch.stack([uniform(-translate, translate), uniform(-translate, translate)], 1) * 2
    theta = torch.stack([torch.stack([cos, -sin], 1), torch.stack([sin, cos], 1)], 1)
    theta = torch.cat([theta, -(theta @ shift.unsqueeze(2))], 2)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


class RandomAffine:
    """`random_affine` with fixed strengths, as a callable for `fit(..., augment=...)`."""

    def __init__(self, degrees: float = 10.0, translate: float = 0.1, scale: tuple[float, float] | None = None):
        self.degrees, self.translate, self.scale = degrees, translate, scale

    def __call__(self, x: Tensor) -> Tensor:
        return random_affine(x, self.degrees, self.translate, self.scale)

    def __repr__(self) -> str:
        return f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale})"
