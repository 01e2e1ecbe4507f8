"""Data: the split, the look-up and its errors, batches and batch augmentation."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch

import mnist_course as mc
from mnist_course import data as data_module


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def copy_raw(raw_dir: Path, root: Path) -> Path:
    """A private copy of the four files in torchvision's layout `root/MNIST/raw`."""
    dest = root / "MNIST" / "raw"
    dest.mkdir(parents=True)
    for name in mc.FILES:
        shutil.copy(raw_dir / name, dest / name)
    return dest


# --- the split -----------------------------------------------------------------------------------


def test_split_sizes_types_and_range(mnist: mc.MNISTSplits) -> None:
    for x, y, n in [
        (mnist.x_train, mnist.y_train, 50_000),
        (mnist.x_val, mnist.y_val, 10_000),
        (mnist.x_test, mnist.y_test, 10_000),
    ]:
        assert x.shape == (n, 1, 28, 28) and x.dtype == torch.float32
        assert y.shape == (n,) and y.dtype == torch.int64
        assert 0 <= x.min() and x.max() <= 1 and x.max() > 0.99
        assert set(y.unique().tolist()) == set(range(10))


def test_split_indices_disjoint_complete_and_deterministic() -> None:
    train, val = mc.split_indices(60_000, 10_000, 0)
    assert len(train) == 50_000 and len(val) == 10_000
    assert torch.equal(torch.cat([train, val]).sort().values, torch.arange(60_000))
    assert torch.equal(train, mc.split_indices(60_000, 10_000, 0)[0])
    assert not torch.equal(val, mc.split_indices(60_000, 10_000, 1)[1])
    with pytest.raises(ValueError, match="val_size"):
        mc.split_indices(60_000, 60_000)


def test_load_mnist_uses_the_documented_split(raw_dir: Path, mnist: mc.MNISTSplits) -> None:
    all_y = data_module._read_labels(raw_dir / "train-labels-idx1-ubyte.gz")
    train, val = mc.split_indices(60_000, 10_000, 0)
    assert torch.equal(mnist.y_train, all_y[train]) and torch.equal(mnist.y_val, all_y[val])
    other = mc.load_mnist(raw_dir.parent.parent, val_size=5_000, split_seed=3)
    assert (len(other.y_train), len(other.y_val)) == (55_000, 5_000)
    assert torch.equal(other.y_val, all_y[mc.split_indices(60_000, 5_000, 3)[1]])


def test_subset_and_repr(mnist: mc.MNISTSplits) -> None:
    sub = mnist.subset(train=100, val=20)
    assert (len(sub.x_train), len(sub.y_val), len(sub.y_test)) == (100, 20, 10_000)
    assert torch.equal(sub.x_train, mnist.x_train[:100])
    assert "train=50,000" in repr(mnist) and sub.to("cpu").x_val.device.type == "cpu"


def test_train_plus_val_is_the_refit_training_set(mnist: mc.MNISTSplits) -> None:
    full = mnist.train_plus_val()
    assert (len(full.y_train), len(full.x_train), len(full.y_val), len(full.x_val)) == (
        60_000,
        60_000,
        0,
        0,
    )
    assert torch.equal(full.x_train[:50_000], mnist.x_train) and torch.equal(
        full.y_train[50_000:], mnist.y_val
    )
    assert full.x_val.shape[1:] == (1, 28, 28) and torch.equal(full.x_test, mnist.x_test)
    assert "train=60,000, val=0" in repr(full)


def test_normalize_uses_mnist_statistics(mnist: mc.MNISTSplits) -> None:
    z = mc.normalize(mnist.x_train)
    assert abs(z.mean().item()) < 0.01 and abs(z.std().item() - 1) < 0.01
    assert torch.equal(mc.Normalize()(mnist.x_val[:5]), mc.normalize(mnist.x_val[:5]))


# --- where the files come from (downloads: tests/test_download.py) ----------------------------


@pytest.mark.parametrize("layout", ["parent", "MNIST folder"])
def test_root_in_either_layout_and_env_var(
    raw_dir: Path, tmp_path: Path, empty_cache: Path, monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    copy_raw(raw_dir, tmp_path / "data")
    root = tmp_path / "data" if layout == "parent" else tmp_path / "data" / "MNIST"
    assert mc.find_mnist(root) == tmp_path / "data" / "MNIST" / "raw"
    monkeypatch.setenv("MNIST_DATA_DIR", str(root))
    assert mc.find_mnist() == tmp_path / "data" / "MNIST" / "raw"
    assert not empty_cache.exists()  # found without touching the cache


def test_checksum_failure_names_the_file_and_leaves_it(
    raw_dir: Path, tmp_path: Path, empty_cache: Path
) -> None:
    raw = copy_raw(raw_dir, tmp_path / "data")
    damaged = raw / "t10k-labels-idx1-ubyte.gz"
    damaged.write_bytes(damaged.read_bytes()[:-10])
    before = md5(damaged)
    with pytest.raises(
        mc.DataError, match="t10k-labels-idx1-ubyte.gz fails its md5 check"
    ) as error:
        mc.load_mnist(tmp_path / "data")
    assert "fresh copy" in str(error.value)
    assert damaged.exists() and md5(damaged) == before  # neither deleted nor overwritten
    assert all((raw / name).exists() for name in mc.FILES)


def test_unwritable_cache_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setattr(data_module, "cache_dir", lambda: blocker / "mnist-course")
    with pytest.raises(mc.DataError, match="cannot be written") as error:
        mc.find_mnist()
    assert "MNIST_DATA_DIR" in str(error.value) and blocker.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_cache_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setattr(data_module, "cache_dir", lambda: locked / "mnist-course")
    with pytest.raises(mc.DataError, match="cannot be written"):
        mc.find_mnist()


def test_cache_dir_is_per_user() -> None:
    assert mc.cache_dir().name == "mnist-course" and mc.cache_dir().is_absolute()


# --- batches and augmentation ----------------------------------------------------------------


def test_batches_cover_every_example_once_and_keep_the_last() -> None:
    x, y = torch.arange(10.0).view(10, 1), torch.arange(10)
    out = list(mc.batches(x, y, 4, generator=torch.Generator().manual_seed(0)))
    assert [len(b) for _, b in out] == [4, 4, 2]
    seen = torch.cat([b for _, b in out])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(torch.equal(xb.view(-1).long(), yb) for xb, yb in out)  # pairs stay together


def test_batches_reshuffle_each_epoch_and_repeat_with_a_seed() -> None:
    x, y = torch.zeros(100, 1), torch.arange(100)
    g = torch.Generator().manual_seed(1)
    first, second = (torch.cat([b for _, b in mc.batches(x, y, 32, generator=g)]) for _ in range(2))
    assert not torch.equal(first, second)
    again = torch.cat(
        [b for _, b in mc.batches(x, y, 32, generator=torch.Generator().manual_seed(1))]
    )
    assert torch.equal(first, again)
    assert torch.equal(torch.cat([b for _, b in mc.batches(x, y, 32, shuffle=False)]), y)
    with pytest.raises(ValueError, match="batch_size"):
        next(mc.batches(x, y, 0))


def test_random_affine_keeps_shape_and_differs_per_sample(mnist: mc.MNISTSplits) -> None:
    x = mnist.x_train[:1].repeat(64, 1, 1, 1)
    out = mc.random_affine(
        x, degrees=15, translate=0.1, scale=(0.9, 1.1), generator=torch.Generator().manual_seed(0)
    )
    assert out.shape == x.shape and out.dtype == x.dtype
    assert 0 <= out.min() and out.max() <= 1
    flat = out.flatten(1)
    assert torch.cdist(flat, flat).add(torch.eye(64) * 1e9).min() > 0.1  # no two samples alike
    assert not torch.allclose(out, x)


def test_random_affine_without_movement_is_identity(mnist: mc.MNISTSplits) -> None:
    x = mnist.x_train[:8]
    assert torch.allclose(mc.random_affine(x, degrees=0, translate=0), x, atol=1e-5)


def test_random_affine_shifts_by_the_drawn_amount() -> None:
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 14, 14] = 1
    shifted = mc.random_affine(x, degrees=0, translate=0.25 + 1e-9)  # at most 7 pixels
    row, col = divmod(int(shifted.flatten().argmax()), 28)
    assert max(abs(row - 14), abs(col - 14)) <= 7 and shifted.sum() > 0.9
