"""save_model / load_model / export_onnx / check_onnx, and the committed ONNX files against their lessons."""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from pathlib import Path

import onnx
import pytest
import torch
from torch import nn

import mnist_course as mc

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# The lessons whose final models the draw-a-digit page (demo.qmd) runs, and the files they export.
EXPORTS = {"01_intro.ipynb": "lesson1_mlp.onnx", "04_cnn_budget.ipynb": "lesson4_cnn.onnx"}
DESCRIBE_LINE = re.compile(
    r"(?P<path>\S+\.onnx): (?P<size>[\d,]+) bytes, sha256 (?P<sha>[0-9a-f]{64})"
)


def make_cnn() -> nn.Module:
    """A small CNN with the lessons' parts (Normalize first, BN, dropout, global average pooling)."""
    return nn.Sequential(
        OrderedDict(
            normalize=mc.Normalize(),
            conv1=nn.Sequential(
                nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Dropout(0.1)
            ),
            pool=nn.MaxPool2d(2),
            classifier=nn.Conv2d(4, 10, 3, padding=1),
            gap=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
        )
    )


@pytest.fixture(scope="module")
def trained(small: mc.MNISTSplits) -> nn.Module:
    """The small CNN after one short epoch on real MNIST (so BN has non-trivial running statistics)."""
    mc.set_seed(0)
    model = make_cnn()
    mc.fit(
        model,
        small.subset(train=1000),
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        1,
        generator=torch.Generator().manual_seed(0),
        progress=False,
    )
    return model.eval()


def test_save_and_load_round_trip(
    trained: nn.Module, small: mc.MNISTSplits, tmp_path: Path
) -> None:
    path = mc.save_model(trained, tmp_path / "sub" / "model.pt")
    assert path == tmp_path / "sub" / "model.pt" and path.is_file()
    reloaded = mc.load_model(make_cnn, path)
    assert not reloaded.training and mc.model_device(reloaded).type == "cpu"
    for (name, a), (_, b) in zip(trained.state_dict().items(), reloaded.state_dict().items()):
        assert torch.equal(a, b), name
    assert mc.evaluate(reloaded, small.x_test, small.y_test) == mc.evaluate(
        trained, small.x_test, small.y_test
    )


def test_load_model_errors(trained: nn.Module, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="mc.save_model"):
        mc.load_model(make_cnn, tmp_path / "missing.pt")
    path = mc.save_model(trained, tmp_path / "cnn.pt")
    with pytest.raises(RuntimeError, match="do not fit the model"):
        mc.load_model(lambda: nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), path)


def test_export_is_one_quiet_deterministic_file(
    trained: nn.Module,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    recwarn: pytest.WarningsRecorder,
) -> None:
    trained.train()  # export_onnx must use eval mode on a copy and leave the model as it was
    path = mc.export_onnx(trained, tmp_path / "models" / "cnn.onnx")
    assert trained.training and mc.model_device(trained).type == "cpu"
    assert capfd.readouterr() == ("", "") and len(recwarn) == 0
    # no external-data side file
    assert sorted(p.name for p in path.parent.iterdir()) == ["cnn.onnx"]
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert {o.domain or "ai.onnx": o.version for o in model.opset_import}[
        "ai.onnx"
    ] == mc.export.ONNX_OPSET
    (pixels,), (logits,) = model.graph.input, model.graph.output
    assert (pixels.name, logits.name) == ("pixels", "logits")
    dims = [d.dim_param or d.dim_value for d in pixels.type.tensor_type.shape.dim]
    assert isinstance(dims[0], str) and dims[1:] == [1, 28, 28]  # dynamic batch axis
    assert pixels.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    again = mc.export_onnx(trained, tmp_path / "again.onnx")
    assert again.read_bytes() == path.read_bytes()


def test_check_onnx_agrees_on_real_images(
    trained: nn.Module, small: mc.MNISTSplits, tmp_path: Path
) -> None:
    path = mc.export_onnx(trained, tmp_path / "cnn.onnx")
    # uneven last batch
    result = mc.check_onnx(path, trained, small.x_test, small.y_test, batch_size=300)
    assert result["images"] == len(small.y_test) == 1000
    assert result["class mismatches"] == 0 and result["max |logit difference|"] <= 1e-4
    _, acc = mc.evaluate(trained, small.x_test, small.y_test)
    assert (
        result["PyTorch accuracy (%)"] == pytest.approx(acc) == result["ONNX Runtime accuracy (%)"]
    )
    assert "ONNX Runtime accuracy (%)" not in mc.check_onnx(path, trained, small.x_test[:10])


def test_check_onnx_catches_a_stale_export(
    trained: nn.Module, small: mc.MNISTSplits, tmp_path: Path
) -> None:
    path = mc.export_onnx(trained, tmp_path / "cnn.onnx")
    changed = mc.load_model(make_cnn, mc.save_model(trained, tmp_path / "cnn.pt"))
    with torch.no_grad():
        changed.classifier.bias[3] += 0.01  # a small change: logits differ, classes may not
    with pytest.raises(mc.ExportError, match="disagrees with PyTorch"):
        mc.check_onnx(path, changed, small.x_test[:100])


def test_export_onnx_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\.onnx"):
        mc.export_onnx(make_cnn(), tmp_path / "cnn.pt")
    with pytest.raises(ValueError, match=r"\[N, 10\]"):
        mc.export_onnx(nn.Flatten(), tmp_path / "flat.onnx")


def test_describe_file(tmp_path: Path) -> None:
    path = tmp_path / "x.onnx"
    path.write_bytes(b"abc" * 1000)
    line = mc.describe_file(path)
    match = DESCRIBE_LINE.fullmatch(line)
    assert match and match["path"] == path.as_posix() and match["size"] == "3,000"
    assert match["sha"] == hashlib.sha256(b"abc" * 1000).hexdigest()


def test_models_dir_keeps_quick_runs_away_from_the_committed_models(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mc.export, "QUICK", False)
    assert mc.models_dir() == Path("models")
    monkeypatch.setattr(mc.export, "QUICK", True)
    quick = mc.models_dir()
    assert quick.is_absolute() and quick.resolve() != (Path.cwd() / "models").resolve()


# --- the committed exports against the lessons that wrote them -----------------------------------------


def export_status(notebook: Path, committed: Path) -> tuple[str, str]:
    """("ok" | "skip" | "fail", why): is `committed` the ONNX file that `notebook`'s committed run exported?

    The lesson prints `mc.describe_file(path)` after exporting; its sha256 must be the committed file's.
    """
    nb = json.loads(notebook.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if not any("export_onnx" in "".join(c["source"]) for c in code):
        return (
            "skip",
            f"{notebook.name} has no mc.export_onnx cell yet (issue 21: lessons 1 and 4 export their final models)",
        )
    text = "".join(
        "".join(o.get("text", "")) + "".join(o.get("data", {}).get("text/plain", ""))
        for c in code
        for o in c.get("outputs", [])
    )
    printed = {Path(m["path"]).name: m for m in DESCRIBE_LINE.finditer(text)}
    if committed.name not in printed:
        return "fail", (
            f"{notebook.name} exports a model but its committed outputs have no line "
            f"'models/{committed.name}: <size> bytes, sha256 <hex>' "
            f"(print mc.describe_file(path), then make execute NB=notebooks/{notebook.name})"
        )
    if not committed.is_file():
        return "fail", f"{committed} is missing: commit the file {notebook.name} wrote"
    line, want = mc.describe_file(committed), printed[committed.name]
    if not line.endswith(f"sha256 {want['sha']}"):
        return "fail", (
            f"{committed} is not the file {notebook.name} exported in its committed run "
            f"(printed: {want['size']} bytes, sha256 {want['sha']}; committed: {line}). Re-run the "
            f"lesson (make execute NB=notebooks/{notebook.name}) and commit {committed.name} with it."
        )
    return "ok", line


@pytest.mark.parametrize("notebook, onnx_name", EXPORTS.items())
def test_committed_model_is_the_one_the_lesson_exported(notebook: str, onnx_name: str) -> None:
    """The file the site serves has the sha256 its lesson printed, so a changed model means a new export."""
    status, why = export_status(NOTEBOOKS / notebook, NOTEBOOKS / "models" / onnx_name)
    if status == "skip":
        pytest.skip(why)
    assert status == "ok", why


def test_committed_lesson4_weights_are_the_exported_model(
    lesson4_cnn: nn.Module, mnist: mc.MNISTSplits
) -> None:
    """notebooks/models/lesson4_cnn.pt (the state_dict lesson 4 saved, which the draw-a-digit page's
    feature-map test runs in PyTorch) is the model behind the committed lesson4_cnn.onnx."""
    try:
        mc.check_onnx(NOTEBOOKS / "models" / "lesson4_cnn.onnx", lesson4_cnn, mnist.x_test[:500])
    except mc.ExportError as error:
        pytest.fail(
            f"notebooks/models/lesson4_cnn.pt is not the model of lesson4_cnn.onnx ({error}): commit "
            "both files that make execute NB=notebooks/04_cnn_budget.ipynb wrote"
        )


def test_export_status_fails_on_a_stale_file(tmp_path: Path) -> None:
    model = tmp_path / "models" / "m.onnx"
    model.parent.mkdir()
    model.write_bytes(b"the model the lesson exported")
    printed = mc.describe_file(model).replace(model.as_posix(), "models/m.onnx")

    def lesson(source: str, output: str) -> Path:
        cell = {
            "cell_type": "code",
            "source": [source],
            "metadata": {},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": [output]}],
        }
        path = tmp_path / "lesson.ipynb"
        path.write_text(
            json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
        )
        return path

    export = (
        "path = mc.export_onnx(model, mc.models_dir() / 'm.onnx')\nprint(mc.describe_file(path))"
    )
    assert export_status(lesson("print(1)", "1\n"), model)[0] == "skip"
    assert export_status(lesson(export, printed + "\n"), model)[0] == "ok"
    assert export_status(lesson(export, "nothing printed\n"), model)[0] == "fail"
    assert (
        export_status(lesson(export, printed + "\n"), tmp_path / "models" / "other.onnx")[0]
        == "fail"
    )
    model.write_bytes(b"a retrained model, not exported again")
    status, why = export_status(lesson(export, printed + "\n"), model)
    assert status == "fail" and "make execute" in why
