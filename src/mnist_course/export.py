"""Keep a trained model: save and reload its weights, export it to ONNX, check the export.

A lesson ends with its final model saved the way a practitioner would, reloaded into a fresh model,
and exported to ONNX for the site's draw-a-digit page (ONNX Runtime Web in the browser). The
sequence as lesson 4 runs it (`make_budget_cnn` is its model factory; lesson 1 does the same steps by hand):

    path = mc.save_model(final_model, mc.models_dir() / "lesson4_cnn.pt")      # the state_dict
    reloaded = mc.load_model(make_budget_cnn, path, mc.model_device(final_model))  # fresh, eval mode
    _, acc = mc.evaluate(final_model, data.x_val, data.y_val)   # not the test set: it was read once
    _, acc_reloaded = mc.evaluate(reloaded, data.x_val, data.y_val)
    print(f"validation accuracy: {acc:.2f}% trained, {acc_reloaded:.2f}% reloaded; equal: {acc == acc_reloaded}")
    onnx_path = mc.export_onnx(reloaded, mc.models_dir() / "lesson4_cnn.onnx")
    print(mc.check_onnx(onnx_path, reloaded, data.x_val, data.y_val).to_string())
    print(mc.describe_file(onnx_path))   # "models/lesson4_cnn.onnx: 52,512 bytes, sha256 ..."

`mc.models_dir()` is `models/` next to the notebook (the working directory; `/content/models` in
Colab), so the site serves `notebooks/models/*.onnx`. In quick mode (`MNIST_COURSE_QUICK=1`, the
notebook tests) it is a temporary folder instead, so a test run never overwrites the committed
models. The line `describe_file` prints is what tests/test_export.py compares with the committed file.
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from .train import QUICK, predict

#: ONNX operator set of the exports: ONNX Runtime 1.14+ and ONNX Runtime Web run it.
ONNX_OPSET = 18
#: Names of the exported graph's input (`[N, 1, 28, 28]` float32 pixels in [0, 1]) and output (`[N, 10]`).
INPUT_NAME, OUTPUT_NAME = "pixels", "logits"
#: The largest |logit difference| between PyTorch and ONNX Runtime that `check_onnx` accepts.
LOGIT_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """An exported model does not give the same results as the PyTorch model it came from."""


def models_dir() -> Path:
    """Where lessons write their models: `models/` (relative), or a temporary folder in quick mode."""
    if QUICK:
        return Path(tempfile.gettempdir()) / "mnist-course-quick-models"
    return Path("models")


def save_model(model: nn.Module, path: str | os.PathLike[str]) -> Path:
    """Save `model.state_dict()` (tensors moved to the CPU) with `torch.save`; creates the folder.

    Only the weights are saved, not the code: load them with `load_model(make_model, path)`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({name: t.detach().cpu() for name, t in model.state_dict().items()}, path)
    return path


def load_model(
    make_model: Callable[[], nn.Module],
    path: str | os.PathLike[str],
    device: torch.device | str | None = None,
) -> nn.Module:
    """A fresh `make_model()` with the weights saved at `path` (`weights_only=True`), in eval mode.

    `device`: where the model goes (default: the CPU). Raises FileNotFoundError when `path` is missing,
    and RuntimeError when the saved weights do not fit the architecture `make_model` builds.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no saved model at {path}: write one first with mc.save_model(model, path)"
        )
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = make_model()
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        raise RuntimeError(
            f"the weights in {path} do not fit the model that make_model() builds "
            f"(was it saved from another architecture?): {error}"
        ) from None
    return model.to(device or "cpu").eval()


def export_onnx(model: nn.Module, path: str | os.PathLike[str], *, opset: int = ONNX_OPSET) -> Path:
    """Export `model` to one self-contained ONNX file (no external-data side file) and return its path.

    Input `"pixels"`: float32 `[N, 1, 28, 28]` in [0, 1] with a dynamic batch size N; output
    `"logits"`: `[N, 10]`. Whatever the model does to its input (e.g. `mc.Normalize` as its first
    layer) is part of the export, so the browser feeds the same [0, 1] pixels. Exporter:
    `torch.onnx.export(..., dynamo=True)` (the `torch.export`-based exporter, which needs the
    `onnxscript` package), run quietly on a CPU copy of the model in eval mode; the model itself is
    left as it was. Exporting the same weights twice gives the same bytes.
    """
    path = Path(path)
    if path.suffix != ".onnx":
        raise ValueError(f"an ONNX file name should end in .onnx, got {path.name!r}")
    cpu_model = copy.deepcopy(model).cpu().eval()
    example = torch.rand(2, 1, 28, 28)
    with torch.no_grad():
        out = cpu_model(example)
    if tuple(out.shape) != (2, 10):
        raise ValueError(
            f"the model should map [N, 1, 28, 28] images to [N, 10] logits, got {tuple(out.shape)}"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # exporter deprecation notes would change the notebooks' outputs
        warnings.simplefilter("ignore")
        torch.onnx.export(
            cpu_model,
            (example,),
            path,
            dynamo=True,
            opset_version=opset,
            verbose=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            external_data=False,
        )
    return path


def check_onnx(
    path: str | os.PathLike[str],
    model: nn.Module,
    x: Tensor,
    y: Tensor | None = None,
    *,
    batch_size: int = 1000,
    tolerance: float = LOGIT_TOLERANCE,
) -> pd.Series:
    """Run the ONNX file with ONNX Runtime (CPU) on all of `x` and compare it with `model` in PyTorch.

    `x`: float32 `[N, 1, 28, 28]` in [0, 1]; `y`: optional labels `[N]`. Returns a Series: images,
    class mismatches, the largest |logit difference|, and with `y` both accuracies (%). Raises
    ExportError if any predicted class differs or a logit differs by more than `tolerance`.
    """
    import onnxruntime as ort  # imported here: only exporting lessons and tests need it

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: nothing noisy in the notebooks' outputs
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    x = x.detach().cpu().float()
    onnx_logits = np.concatenate(
        [session.run([OUTPUT_NAME], {INPUT_NAME: xb.numpy()})[0] for xb in x.split(batch_size)]
    )
    torch_logits = predict(model, x, batch_size=batch_size).numpy()
    mismatches = int((onnx_logits.argmax(1) != torch_logits.argmax(1)).sum())
    max_diff = float(np.abs(onnx_logits - torch_logits).max())
    result = {"images": len(x), "class mismatches": mismatches, "max |logit difference|": max_diff}
    if y is not None:
        y = y.cpu().numpy()
        result["PyTorch accuracy (%)"] = float((torch_logits.argmax(1) == y).mean() * 100)
        result["ONNX Runtime accuracy (%)"] = float((onnx_logits.argmax(1) == y).mean() * 100)
    if mismatches or not max_diff <= tolerance:
        raise ExportError(
            f"{path}: ONNX Runtime disagrees with PyTorch on {mismatches} of {len(x)} images "
            f"(largest |logit difference| {max_diff:.2e}, tolerance {tolerance:.0e}); "
            "export the model again with mc.export_onnx"
        )
    return pd.Series(result, name=Path(path).name, dtype=object)


def describe_file(path: str | os.PathLike[str]) -> str:
    """`"<path>: <size> bytes, sha256 <hex>"`: what a lesson prints about a file it wrote."""
    path = Path(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{path.as_posix()}: {path.stat().st_size:,} bytes, sha256 {digest}"
