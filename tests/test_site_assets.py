"""tools/site_assets.py: ONNX Runtime Web for the draw-a-digit page, or a clear message without npm; and
tools/feature_maps.py, the page's copy of lesson 4's CNN with its feature maps as outputs."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper

import feature_maps  # tools/feature_maps.py
import mnist_course as mc
from conftest import lesson_factory

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("site_assets", ROOT / "tools" / "site_assets.py")
site_assets = importlib.util.module_from_spec(spec)
spec.loader.exec_module(site_assets)

LESSON4 = ROOT / "notebooks" / "models" / "lesson4_cnn.onnx"


def test_runtime_is_pinned_in_package_json_and_its_lock() -> None:
    wanted = json.loads((ROOT / "package.json").read_text())["dependencies"]["onnxruntime-web"]
    assert wanted == site_assets.pinned_version()  # an exact version, the one the lock file holds
    assert wanted[0].isdigit()


def test_without_npm_it_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(site_assets, "PACKAGE", tmp_path / "node_modules" / "onnxruntime-web")
    monkeypatch.setattr(site_assets, "TARGET", tmp_path / "demo" / "ort")
    monkeypatch.setattr(site_assets.shutil, "which", lambda name: None)
    assert site_assets.main() == 0  # the rest of the site still renders
    out = capsys.readouterr().out
    assert "npm not found" in out and "Install Node.js" in out and "make site" in out
    assert not (tmp_path / "demo").exists()


def test_copies_the_three_files_the_page_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "node_modules" / "onnxruntime-web"
    (package / "dist").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"version": site_assets.pinned_version()}))
    for name in site_assets.FILES:
        (package / "dist" / name).write_text(name)
    monkeypatch.setattr(site_assets, "PACKAGE", package)
    monkeypatch.setattr(site_assets, "TARGET", tmp_path / "demo" / "ort")
    model = site_assets.FEATURE_MAP_MODEL
    monkeypatch.setattr(
        site_assets, "FEATURE_MAP_MODEL", tmp_path / "demo" / "feature-maps" / "cnn.onnx"
    )
    monkeypatch.setattr(
        site_assets.shutil, "which", lambda name: pytest.fail("npm ci run although installed")
    )
    assert site_assets.main() == 0
    assert sorted(p.name for p in (tmp_path / "demo" / "ort").iterdir()) == sorted(
        [*site_assets.FILES, "sizes.json"]
    )
    # the sizes the page's progress bar divides by (a compressing server's Content-Length is not the size)
    sizes = json.loads((tmp_path / "demo" / "ort" / "sizes.json").read_text())
    assert sizes == {name: len(name) for name in site_assets.FILES}
    assert sorted(p.name for p in (tmp_path / "demo" / "feature-maps").iterdir()) == [
        "cnn.json",
        "cnn.onnx",
    ]
    assert site_assets.FEATURE_MAP_SOURCE == LESSON4
    # demo.js loads exactly these (ort.wasm.min.js from demo.qmd, the others through ort.env.wasm.wasmPaths)
    page = (ROOT / "demo.qmd").read_text() + (ROOT / "demo" / "demo.js").read_text()
    assert 'src="demo/ort/ort.wasm.min.js"' in page and 'RUNTIME = "demo/ort/"' in page
    # ... and the feature-map model through the manifest tools/feature_maps.py writes next to it
    assert 'FEATURE_MAPS = "demo/feature-maps/lesson4_cnn_feature_maps.json"' in page
    assert model.relative_to(ROOT).as_posix() == "demo/feature-maps/lesson4_cnn_feature_maps.onnx"
    assert "  - demo/feature-maps/*" in (ROOT / "demo.qmd").read_text()


# --- tools/feature_maps.py ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The feature-map model of the committed lesson 4 export, and its manifest, as the site gets them."""
    out = tmp_path_factory.mktemp("feature-maps") / "lesson4_cnn_feature_maps.onnx"
    return out, feature_maps.write(LESSON4, out)


def test_feature_map_model_is_the_lesson_model_with_more_outputs(
    derived: tuple[Path, dict], lesson4_cnn: torch.nn.Module, mnist: mc.MNISTSplits
) -> None:
    """Same nodes and weights as lesson4_cnn.onnx; its logits are the lesson file's, bit for bit, and
    its extra outputs are the five convolutions' activations after ReLU, PyTorch's within 1e-4."""
    import onnxruntime as ort

    path, manifest = derived
    source, model = onnx.load(LESSON4), onnx.load(path)
    assert (
        model.graph.node == source.graph.node
        and model.graph.initializer == source.graph.initializer
    )
    convs = [layer for layer in manifest["layers"] if layer["op"] == "Conv"]
    assert [o.name for o in model.graph.output] == ["logits"] + [layer["output"] for layer in convs]
    assert manifest["source"] == {
        "file": "lesson4_cnn.onnx",
        "sha256": hashlib.sha256(LESSON4.read_bytes()).hexdigest(),
    }
    assert (manifest["input"], manifest["logits"], manifest["size"], manifest["model"]) == (
        "pixels",
        "logits",
        28,
        path.name,
    )
    assert json.loads(path.with_suffix(".json").read_text()) == manifest

    x = mnist.x_test[:16]
    new = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"pixels": x.numpy()}
    )
    old = ort.InferenceSession(str(LESSON4), providers=["CPUExecutionProvider"]).run(
        None, {"pixels": x.numpy()}
    )
    np.testing.assert_array_equal(new[0], old[0])
    hooked = {}
    handles = [
        lesson4_cnn.get_submodule(f"conv{i}").register_forward_hook(
            lambda m, i, out, name=f"conv{i}.0": hooked.__setitem__(name, out.numpy())
        )
        for i in range(1, 6)
    ]
    with torch.no_grad():
        lesson4_cnn(x)
    for h in handles:
        h.remove()
    for layer, maps in zip(convs, new[1:]):
        assert (
            maps.shape
            == (16, layer["channels"], layer["n_out"], layer["n_out"])
            == hooked[layer["name"]].shape
        )
        np.testing.assert_allclose(maps, hooked[layer["name"]], atol=1e-4, err_msg=layer["name"])
        assert layer["after"] == ["Relu"]


def test_feature_map_manifest_has_the_receptive_field_tables_layers(
    derived: tuple[Path, dict],
) -> None:
    """Layer names, kernels, strides, paddings and sizes are those mc.receptive_field_table reads from
    lesson 4's PyTorch model (the page applies the table's formulas to them)."""
    table = mc.receptive_field_table(lesson_factory("04_cnn_budget.ipynb", "make_budget_cnn")())
    _, manifest = derived
    rows = [
        (
            f"{layer['name']} ({'Conv2d' if layer['op'] == 'Conv' else layer['op'] + '2d'})",
            layer["k"],
            layer["s"],
            layer["p"],
            layer["n_out"],
        )
        for layer in manifest["layers"]
    ]
    assert rows == list(table[["layer", "k", "s", "p", "n_out"]].itertuples(index=False, name=None))


def _model(nodes: list, inputs: list, outputs: list, initializers: list = ()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


def _image(name: str = "x", shape: tuple = ("N", 1, 28, 28)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _weight(name: str, *shape: int):
    return helper.make_tensor(
        name, TensorProto.FLOAT, shape, np.zeros(shape, np.float32).ravel().tolist()
    )


def test_feature_maps_refuses_models_it_cannot_read() -> None:
    conv = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], name="conv")
    ok = _model([conv], [_image()], [_image("y", ("N", 2, 26, 26))], [_weight("w", 2, 1, 3, 3)])
    assert feature_maps.derive(ok)[1]["layers"] == [
        dict(name="conv", op="Conv", k=3, s=1, p=0, n_out=26, output="y", after=[], channels=2)
    ]
    with pytest.raises(ValueError, match="one input and one output"):
        extra = _model(
            [conv, helper.make_node("Relu", ["y"], ["z"])],
            [_image()],
            [_image("y", None), _image("z", None)],
            [_weight("w", 2, 1, 3, 3)],
        )
        feature_maps.derive(extra)
    with pytest.raises(ValueError, match="only square kernels"):
        wide = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 5], name="conv")
        feature_maps.derive(
            _model([wide], [_image()], [_image("y", None)], [_weight("w", 2, 1, 3, 5)])
        )
    with pytest.raises(ValueError, match=r"\[N, 1, H, H\]"):
        feature_maps.derive(
            _model(
                [conv],
                [_image("x", ("N", 3, 28, 28))],
                [_image("y", None)],
                [_weight("w", 2, 3, 3, 3)],
            )
        )
    # conv2 reads the input, not conv1's output
    with pytest.raises(ValueError, match="must form a chain"):
        branch = [
            conv,
            helper.make_node("Conv", ["x", "w"], ["y2"], kernel_shape=[3, 3], name="conv2"),
            helper.make_node("Add", ["y", "y2"], ["z"]),
        ]
        feature_maps.derive(
            _model(branch, [_image()], [_image("z", None)], [_weight("w", 2, 1, 3, 3)])
        )
    with pytest.raises(ValueError, match="no convolution"):
        pool = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
        feature_maps.derive(_model([pool], [_image()], [_image("y", None)]))
