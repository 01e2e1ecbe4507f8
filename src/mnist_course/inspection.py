"""Looking inside a model: parameter counts, receptive fields (traced, not typed) and summaries."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch
import torchinfo
from torch import nn

from .train import model_device

#: Layers that change the spatial grid and that `receptive_field_table` knows how to read.
GRID_LAYERS = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def summary(
    model: nn.Module, input_size: tuple[int, ...] = (1, 1, 28, 28), **kwargs: Any
) -> torchinfo.ModelStatistics:
    """torchinfo's layer-by-layer table (output shapes, parameters); displays in a notebook.

    The forward pass runs in eval mode (`mode="eval"`, so batch-norm statistics are not updated;
    the model's own mode is restored), and mult-adds are printed as a plain count, without a
    units label (torchinfo 1.8 on Python 3.11+ prints its enum, `Units.MEGABYTES`).
    """
    kwargs.setdefault("col_names", ("output_size", "num_params"))
    kwargs.setdefault("mode", "eval")
    stats = torchinfo.summary(
        model, input_size=input_size, device=model_device(model), verbose=0, **kwargs
    )
    if hasattr(stats, "formatting") and hasattr(stats.formatting, "macs_units"):
        stats.formatting.macs_units = torchinfo.Units.NONE
    return stats


def _square(value: int | tuple[int, ...], what: str, layer: str) -> int:
    """`value` as one int; the table assumes square kernels, strides and paddings."""
    values = {value} if isinstance(value, int) else set(value)
    if len(values) != 1 or not isinstance(next(iter(values)), int):
        raise ValueError(
            f"receptive_field_table: layer {layer} has {what}={value}; only square ones are supported"
        )
    return values.pop()


def receptive_field_table(model: nn.Module, input_size: int = 28) -> pd.DataFrame:
    """Receptive field of every conv/pool layer, traced from one forward pass.

    Columns: `layer`, input size `n_in`, kernel `k`, stride `s`, padding `p`, output size `n_out`,
    and receptive field `r` and jump `j` (distance in input pixels between neighbouring
    outputs) before and after: r_out = r_in + (k - 1) * j_in, j_out = j_in * s. A dilated
    kernel counts as its effective size. The model must be a chain (no branches); a layer
    that changes the grid in a way the table cannot read raises a ValueError naming it.
    """
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    r, j, n = 1, 1, input_size

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal r, j, n
        name = f"{names[module]} ({type(module).__name__})"
        n_in, n_out = inputs[0].shape[-1], output.shape[-1]
        if errors:
            return
        if n_in != n:
            errors.append(
                f"the grid changed from {n} to {n_in} before layer {name}, in an operation "
                "the table cannot see (a functional call or an unsupported layer)"
            )
            return
        if isinstance(module, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
            if n_in % n_out:
                errors.append(f"layer {name} pools {n_in} to {n_out}, which is not a whole kernel")
                return
            k = s = n_in // n_out
            p = 0
        else:
            k, s, p = (
                _square(getattr(module, a), a, name) for a in ("kernel_size", "stride", "padding")
            )
            k = _square(getattr(module, "dilation", 1), "dilation", name) * (k - 1) + 1
        rows.append(
            dict(
                layer=name,
                n_in=n_in,
                k=k,
                s=s,
                p=p,
                n_out=n_out,
                r_in=r,
                j_in=j,
                r_out=r + (k - 1) * j,
                j_out=j * s,
            )
        )
        r, j, n = r + (k - 1) * j, j * s, n_out

    def check(module: nn.Module, inputs: tuple[Any, ...], output: Any) -> None:
        shapes = [
            t.shape for t in (inputs[0] if inputs else None, output) if isinstance(t, torch.Tensor)
        ]
        if (
            len(shapes) == 2
            and all(len(s) == 4 for s in shapes)
            and shapes[0][-2:] != shapes[1][-2:]
            and not errors
        ):
            errors.append(
                f"layer {names[module]} ({type(module).__name__}) changes the grid from "
                f"{tuple(shapes[0][-2:])} to {tuple(shapes[1][-2:])} and is not supported"
            )

    names = {m: name for name, m in model.named_modules()}
    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [
        m.register_forward_hook(hook if isinstance(m, GRID_LAYERS) else check) for m in leaves
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, 1, input_size, input_size, device=model_device(model)))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    if errors:
        raise ValueError(f"receptive_field_table: {errors[0]}")
    if not rows:
        raise ValueError("receptive_field_table: the model has no conv or pool layer")
    return pd.DataFrame(rows)


def multiply_adds(model: nn.Module, input_size: tuple[int, ...] = (1, 1, 28, 28)) -> pd.Series:
    """Multiply-adds per image of each convolution and linear layer, from one traced forward pass.

    Every output value of a convolution or linear layer costs one multiply-add per weight of its
    filter (c_in/groups x k x k, or in_features), so a layer costs (output values per image) x
    (weights per filter). Batch norm, ReLU and pooling (a few operations per value) are not counted.
    Returns a Series of integers (unit: multiply-adds per image), indexed by the layers' names in
    `model.named_modules()` (`conv1.0`, `fc`), in the order they run; `.sum()` is the model's total.
    The pass runs on one all-zero batch of `input_size` (N, C, H, W), in eval mode without gradients,
    on the model's device; the model's own mode is restored. Lesson 4 writes the same function in
    its text (tests/test_inspection.py checks that the two agree).
    """
    counts: dict[str, int] = {}
    names = {m: name for name, m in model.named_modules()}

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        counts[names[module]] = output[0].numel() * module.weight[0].numel()

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    handles = [m.register_forward_hook(hook) for m in layers]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(*input_size, device=model_device(model)))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return pd.Series(counts, name="multiply-adds per image", dtype="int64")
