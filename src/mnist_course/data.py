"""MNIST in memory: find (or download) the files, verify them, split, batch and augment.

The whole data set is ~220 MB as float32, so it lives in memory as tensors and every
epoch is plain tensor indexing: no `Dataset`, no `DataLoader`, no PIL in the hot loop.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import secrets
import struct
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields, replace
from http.client import IncompleteRead
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

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

#: Where downloads come from, in order. Both serve the original files; the original host
#: (yann.lecun.com) now answers with an HTML page. `$MNIST_MIRRORS` replaces the list.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MIRRORS_VAR = "MNIST_MIRRORS"
#: Seconds a mirror may stay silent (connecting, or between two reads) before the next one is tried.
TIMEOUT = 30
PART_SUFFIX = ".part"
GZIP_MAGIC = b"\x1f\x8b"
HEADERS = {"User-Agent": "mnist-course (Python urllib)"}


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
        return replace(
            self, **{f.name: getattr(self, f.name)[: n[f.name[2:]]] for f in fields(self)}
        )

    def train_plus_val(self) -> MNISTSplits:
        """The splits for the final refit: train = train + validation (60,000 images with the default
        split, validation images after the training ones), an empty validation split, the same test set.

        Use it once a recipe has been chosen on the validation split: the final model then learns from
        every labelled training image, and the test set is still read once per reported model.
        `fit` reports NaN validation metrics for these splits (there is nothing left to validate on).
        """
        return replace(
            self,
            x_train=torch.cat([self.x_train, self.x_val]),
            y_train=torch.cat([self.y_train, self.y_val]),
            x_val=self.x_val[:0],
            y_val=self.y_val[:0],
        )

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(getattr(self, 'y_' + s)):,}" for s in ("train", "val", "test"))
        return f"MNISTSplits({sizes}, image shape={tuple(self.x_train.shape[1:])})"


def cache_dir() -> Path:
    """The per-user folder that downloads go to (e.g. `~/.cache/mnist-course` on Linux)."""
    return Path(platformdirs.user_cache_dir("mnist-course"))


def mirrors() -> list[str]:
    """The base URLs downloads are tried from, in order: `$MNIST_MIRRORS` (comma-separated) if set,
    else `MIRRORS`. Each gets a trailing `/`; a file's URL is the base URL + its name."""
    urls = [
        url.strip() for url in os.environ.get(MIRRORS_VAR, "").split(",") if url.strip()
    ] or list(MIRRORS)
    return [url if url.endswith("/") else url + "/" for url in urls]


def load_mnist(
    root: str | os.PathLike[str] | None = None, *, val_size: int = 10_000, split_seed: int = 0
) -> MNISTSplits:
    """Load MNIST into memory, with a fixed train/validation split.

    Looks for `<dir>/MNIST/raw/*.gz` (or `<dir>/raw/*.gz` when `<dir>` is the `MNIST` folder)
    in `root`, then `$MNIST_DATA_DIR`, then `cache_dir()`; files are md5-checked. If none has
    the files, they are downloaded into `cache_dir()` (see `find_mnist`).

    The split: `val_size` images drawn at random (generator seeded with `split_seed`) from
    the 60,000 training images form the validation set; the rest, in file order, are the
    training set. The 10,000 test images are untouched. `val_size=0` trains on all 60,000.
    """
    raw = find_mnist(root)
    x_all, y_all = (
        _read_images(raw / "train-images-idx3-ubyte.gz"),
        _read_labels(raw / "train-labels-idx1-ubyte.gz"),
    )
    train_idx, val_idx = split_indices(len(y_all), val_size, split_seed)
    return MNISTSplits(
        x_all[train_idx],
        y_all[train_idx],
        x_all[val_idx],
        y_all[val_idx],
        _read_images(raw / "t10k-images-idx3-ubyte.gz"),
        _read_labels(raw / "t10k-labels-idx1-ubyte.gz"),
    )


def split_indices(n: int, val_size: int, split_seed: int = 0) -> tuple[Tensor, Tensor]:
    """Sorted indices of the training and validation parts of `n` training images (see `load_mnist`)."""
    if not 0 <= val_size < n:
        raise ValueError(f"val_size must be between 0 and {n - 1}, got {val_size}")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(split_seed))
    return perm[val_size:].sort().values, perm[:val_size].sort().values


def find_mnist(root: str | os.PathLike[str] | None = None) -> Path:
    """The `raw` folder holding the four verified .gz files.

    Folders the user names (`root`, then `$MNIST_DATA_DIR`) are only read: the first that has all
    four files is used, and a file there that fails its md5 check raises `DataError` naming it
    (it is never changed). Then the package's own `cache_dir()/MNIST/raw`: files missing there,
    or failing their md5 check, are downloaded (see `_download`).
    """
    candidates = [Path(d).expanduser() for d in (root, os.environ.get(ENV_VAR)) if d]
    for folder in candidates:
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
    raw = cache_dir() / "MNIST" / "raw"
    if all(check_integrity(str(raw / name), md5) for name, md5 in FILES.items()):
        return raw
    return _download(raw, searched=candidates)


def _download(raw: Path, searched: Sequence[Path] = ()) -> Path:
    """Download the files of `FILES` that `raw` lacks (or holds damaged) and return `raw`.

    Each file is tried from every mirror in turn (`mirrors()`); any failure (HTTP error, a page
    instead of the file, a dropped connection, a timeout, a wrong md5) moves on to the next one.
    A file is written under a temporary name in `raw` and renamed only once its md5 matches, so
    an interrupted download never leaves a partial file behind. Prints one line. Meant for the
    package's cache folder: it replaces damaged files there. Raises `DataError` listing each
    mirror and its reason, and where to put the files by hand (`searched`: folders looked in).
    """
    try:
        raw.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=raw):
            pass
    except OSError as e:
        raise DataError(
            f"MNIST was not found, and the download folder {raw} cannot be written ({e}). "
            f"Make it writable, or put the files in a folder of your own and set {ENV_VAR}."
        ) from e
    _remove_stale_parts(raw)
    todo = [name for name, md5 in FILES.items() if not check_integrity(str(raw / name), md5)]
    print(
        f"MNIST: downloading {len(todo)} file{'s' * (len(todo) != 1)} into the cache folder ...",
        end="",
        flush=True,
    )
    start, size, done = time.perf_counter(), 0, False
    try:
        for name in todo:
            failures = []
            for url in mirrors():
                try:
                    size += _fetch(url + name, raw / name, FILES[name])
                    break
                except Exception as e:  # any failure of one mirror: try the next one
                    failures.append(f"  {url}: {_reason(e)}")
            else:
                raise DataError(_download_failed_message(name, failures, raw, searched))
        done = True
    finally:
        print(
            f" done ({size / 1e6:.1f} MB in {time.perf_counter() - start:.1f} s)"
            if done
            else " failed",
            flush=True,
        )
    return raw


class _BadDownload(Exception):
    """A mirror answered, but not with the file."""


def _fetch(url: str, target: Path, md5: str) -> int:
    """Download `url` into `target` through a temporary file next to it; returns the size in bytes."""
    # A name of its own (not mkstemp: that file would be private to the user, unlike a normal download).
    part = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{PART_SUFFIX}"
    try:
        digest, size = hashlib.md5(), 0
        with (
            open(part, "xb") as out,
            urlopen(Request(url, headers=HEADERS), timeout=TIMEOUT) as response,
        ):
            expected = response.headers.get("Content-Length")
            try:
                while chunk := response.read(1 << 16):
                    if size == 0 and not chunk.startswith(GZIP_MAGIC):
                        kind = (
                            "an HTML page"
                            if chunk.lstrip()[:1] == b"<"
                            else "something that is not a .gz file"
                        )
                        raise _BadDownload(
                            f"sent {kind} instead of the file (it starts with {chunk[:30]!r})"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            except IncompleteRead as e:
                size += len(e.partial)
            if expected is not None and expected.isdigit() and size < int(expected):
                raise _BadDownload(
                    f"the connection was dropped after {size:,} of {int(expected):,} bytes"
                )
        if digest.hexdigest() != md5:
            raise _BadDownload(f"sent {size:,} bytes with md5 {digest.hexdigest()}, expected {md5}")
        os.replace(part, target)
        return size
    finally:
        part.unlink(missing_ok=True)


def _reason(e: Exception) -> str:
    """One line on why a mirror failed."""
    if isinstance(e, HTTPError):
        return f"HTTP error {e.code} {e.reason}"
    if isinstance(e, URLError):
        return f"could not connect ({e.reason})"
    if isinstance(e, TimeoutError):
        return f"no answer within {TIMEOUT} s"
    if isinstance(e, _BadDownload):
        return str(e)
    return f"{type(e).__name__}: {e}"


def _download_failed_message(
    name: str, failures: list[str], raw: Path, searched: Sequence[Path]
) -> str:
    looked = "".join(f"\n  {p}/MNIST/raw/" for p in searched)
    return (
        f"MNIST could not be downloaded: {name} failed from every mirror:\n"
        + "\n".join(failures)
        + "\n"
        f"Looked for the files in:{looked}\n  {raw}/\n"
        f"Fix: download the four files {', '.join(FILES)} by hand and put them into\n  {raw}/\n"
        f"or into <dir>/MNIST/raw/ and set the environment variable {ENV_VAR}=<dir>. "
        f"Or set {MIRRORS_VAR} to a comma-separated list of base URLs that serve them."
    )


def _remove_stale_parts(raw: Path, age: float = 3600) -> None:
    """Delete temporary download files in `raw` older than `age` seconds (left by a killed process)."""
    for part in raw.glob(f".*{PART_SUFFIX}"):
        try:
            if time.time() - part.stat().st_mtime > age:
                part.unlink()
        except OSError:
            pass


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
    x: Tensor,
    y: Tensor,
    batch_size: int,
    *,
    shuffle: bool = True,
    generator: torch.Generator | None = None,
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

    def __init__(
        self,
        degrees: float = 10.0,
        translate: float = 0.1,
        scale: tuple[float, float] | None = None,
    ):
        self.degrees, self.translate, self.scale = degrees, translate, scale

    def __call__(self, x: Tensor) -> Tensor:
        return random_affine(x, self.degrees, self.translate, self.scale)

    def __repr__(self) -> str:
        return (
            f"RandomAffine(degrees={self.degrees}, translate={self.translate}, scale={self.scale})"
        )
