"""The training loop of lesson 1 (`fit`), evaluation, devices, timing and the quick-mode switch."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from .data import MNISTSplits, batches

#: True when `MNIST_COURSE_QUICK=1`: lessons then train on a subset for fewer epochs.
QUICK: bool = os.environ.get("MNIST_COURSE_QUICK", "0") == "1"

#: Schedulers that change the learning rate after every batch rather than every epoch.
PER_BATCH_SCHEDULERS = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)


def default_device() -> torch.device:
    """CUDA if present (e.g. a Colab GPU runtime), else Apple's MPS, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a model without parameters)."""
    return next(model.parameters(), torch.empty(0)).device


def synchronize(device: torch.device | str) -> None:
    """Wait until every queued kernel on `device` has finished (a no-op on the CPU).

    GPUs run asynchronously: without this, a clock read after a CUDA or MPS call measures the
    time to *queue* the work, not to do it.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_ms(
    step: Callable[[], object],
    device: torch.device | str = "cpu",
    repeats: int = 20,
    warmup: int = 3,
) -> float:
    """Median wall time of one call of `step()` in milliseconds, over `repeats` timed calls.

    `warmup` untimed calls come first (caches, lazy initialization, cuDNN's algorithm choice);
    the device is synchronized before each clock read, so GPU times are real.
    """
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        step()
        synchronize(device)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def environment_info(device: torch.device | str | None = None) -> str:
    """One line saying what produced a notebook's numbers: torch version, device, threads, Python.

    Results depend slightly on all of these (floating-point sums in another order), so every
    lesson prints this line at its end.
    """
    device = torch.device(device) if device is not None else default_device()
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    return (
        f"Made with: torch {torch.__version__}, device {device.type} ({name}), "
        f"{torch.get_num_threads()} CPU threads, Python {platform.python_version()}"
    )


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 2000) -> Tensor:
    """Logits `[N, 10]` for all of `x` (`[N, ...]`, on any device), in eval mode, in batches and
    without building the autograd graph (no gradients: the logits do not require grad).

    Each batch is moved to the model's device; the logits come back on the CPU, so that
    NumPy, pandas and matplotlib can use them directly.
    """
    was_training, device = model.training, model_device(model)
    model.eval()
    logits = torch.cat([model(xb.to(device)).cpu() for xb in x.split(batch_size)])
    model.train(was_training)
    return logits


def evaluate(model: nn.Module, x: Tensor, y: Tensor) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (%) of `model` on `(x, y)` (any device), in eval mode."""
    logits = predict(model, x)
    y = y.cpu()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).sum().item() * 100 / len(y)


def fit(
    model: nn.Module,
    data: MNISTSplits,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    *,
    batch_size: int = 128,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    augment: Callable[[Tensor], Tensor] | None = None,
    generator: torch.Generator | None = None,
    label_smoothing: float = 0.0,
    progress: bool = True,
) -> pd.DataFrame:
    """Train `model` on `data.x_train` and return one row of metrics per epoch.

    Each epoch sees every training image once, in a fresh random order (`generator`, or
    torch's global one). Train loss/accuracy are averaged over the epoch's batches as the
    model trains; validation metrics are measured after the epoch (NaN if there is no
    validation split). `lr` is the rate at the start of the epoch; `seconds` is the epoch's
    training time (the device synchronized before the clock is read). OneCycleLR/CyclicLR step
    after each batch, other schedulers each epoch. The loss is cross-entropy, with
    `label_smoothing` in [0, 1) (`F.cross_entropy`'s; Szegedy et al. 2016) applied to the training
    loss only: train_loss includes it, val_loss never does.

    The model and `data` must be on the same device (`model.to(device)`, `data.to(device)`), else
    ValueError: a model left on the CPU would otherwise train there silently. The shuffling order
    is drawn on the CPU (`generator` must be a CPU generator), so it is the same on every device.
    """
    device, rows = model_device(model), []
    if data.x_train.device != device:
        raise ValueError(
            f"the model is on {device} but the training data on {data.x_train.device}: move both to one "
            "device once, e.g. `device = mc.default_device(); model.to(device); data = data.to(device)`"
        )
    bar = tqdm(range(1, epochs + 1), desc="epochs", unit="epoch", disable=not progress, ascii=True)
    for epoch in bar:
        model.train()
        lr, start = optimizer.param_groups[0]["lr"], time.perf_counter()
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        for xb, yb in batches(data.x_train, data.y_train, batch_size, generator=generator):
            if augment is not None:
                xb = augment(xb)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb, label_smoothing=label_smoothing)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if isinstance(scheduler, PER_BATCH_SCHEDULERS):
                scheduler.step()
            loss_sum += loss.detach() * len(yb)
            correct += (logits.argmax(1) == yb).sum()
        if scheduler is not None and not isinstance(scheduler, PER_BATCH_SCHEDULERS):
            scheduler.step()
        synchronize(device)
        seconds, n = time.perf_counter() - start, len(data.y_train)
        val_loss, val_acc = (
            evaluate(model, data.x_val, data.y_val) if len(data.y_val) else (float("nan"),) * 2
        )
        rows.append(
            dict(
                epoch=epoch,
                lr=lr,
                train_loss=loss_sum.item() / n,
                train_acc=correct.item() * 100 / n,
                val_loss=val_loss,
                val_acc=val_acc,
                seconds=seconds,
            )
        )
        bar.set_postfix(train_loss=f"{rows[-1]['train_loss']:.4f}", val_acc=f"{val_acc:.2f}%")
    return pd.DataFrame(rows)
