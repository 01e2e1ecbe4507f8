"""The glass-box model of the draw-a-digit page: lesson 4's exported CNN with its feature maps as outputs.

    python tools/feature_maps.py [SOURCE.onnx [OUT.onnx]]   (tools/site_assets.py runs it for `make site`)

The lesson's file (notebooks/models/lesson4_cnn.onnx, written by `mc.export_onnx`) stays the source:
this reads it with the `onnx` package and writes a copy whose graph also outputs, next to `logits`,
the activation of every convolution (the output of the ReLU, batch norm or other element-wise layers
that directly follow it), with their shapes from ONNX shape inference. Nothing else changes: same
nodes, same weights, so the page runs one session and gets the answer and the feature maps together.

Next to the model it writes a manifest (same name, `.json`) that the page reads: the graph's input and
logits names, and every layer that changes the spatial grid (Conv, MaxPool, AveragePool), in order,
with its kernel `k`, stride `s`, padding `p` and output size; for each convolution also the output
holding its feature maps and their channel count. The page applies the lesson's receptive-field
arithmetic (`mc.receptive_field_table`) to these numbers. Needs only `onnx` (no torch), so the Pages
workflow can run it.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import onnx
from onnx import helper, shape_inference

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "notebooks" / "models" / "lesson4_cnn.onnx"
OUT = ROOT / "demo" / "feature-maps" / "lesson4_cnn_feature_maps.onnx"
#: Layers that change the grid, as the lesson's receptive-field table counts them (conv and pooling).
GRID_OPS = {"Conv", "MaxPool", "AveragePool"}
#: Layers that keep the grid and act on each value (or channel) alone: a convolution's feature map is
#: read after the chain of these that follows it (in the lesson's CNN: the ReLU; batch norm is fused).
ELEMENTWISE_OPS = {
    "BatchNormalization",
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Elu",
    "Selu",
    "Celu",
    "Gelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Clip",
    "Softplus",
    "Mish",
    "Dropout",
    "Identity",
}


def _square(node: onnx.NodeProto, name: str, default: int) -> int:
    """Attribute `name` of `node` (kernel_shape, strides, pads, dilations) as one int, or ValueError."""
    attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    values = set(attrs.get(name, [default]))
    if len(values) != 1:
        raise ValueError(
            f"feature maps: layer {node.name!r} ({node.op_type}) has {name}={attrs[name]}; "
            "only square kernels, strides and paddings are supported"
        )
    return values.pop()


def _layer_name(node: onnx.NodeProto, initializers: set[str]) -> str:
    """The PyTorch module name of `node`, as `mc.receptive_field_table` writes it: for a convolution its
    weight's name without `.weight` (e.g. `conv1.0`), else the innermost module of the exporter's
    `namespace` note (e.g. `pool`), else the ONNX node name."""
    weight = node.input[1] if node.op_type == "Conv" and len(node.input) > 1 else ""
    if weight in initializers and weight.endswith(".weight"):
        return weight.removesuffix(".weight")
    notes = {p.key: p.value for p in node.metadata_props}
    modules = [part.split(":")[0].strip() for part in notes.get("namespace", "").split("/")]
    modules = [m for m in modules[1:-1] if m]  # drop the root model and the aten operator
    return modules[-1] if modules else node.name


def derive(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict]:
    """(model with every convolution's feature maps as extra graph outputs, manifest for the page).

    `model`: an ONNX model with one input `[N, 1, H, W]` and one output (the logits), whose conv and
    pooling layers form a chain (each one reads what the previous one, through element-wise layers,
    wrote), as `mc.export_onnx` writes the lessons' CNNs. The manifest is a dict: `input`, `logits`
    (names), `size` (H), `layers` (per grid layer: `name`, `op`, `k`, `s`, `p`, `n_out`, and for a
    convolution `output`, `after` (the ops between the convolution and `output`) and `channels`).
    Raises ValueError for a model that does not fit, naming why.
    """
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ValueError(
            f"feature maps: the model should have one input and one output (the logits), "
            f"it has {len(graph.input)} and {len(graph.output)}"
        )
    inferred = shape_inference.infer_shapes(model, strict_mode=True)
    types = {
        v.name: v
        for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    }

    def shape(name: str) -> list[int | str]:
        return [d.dim_value or d.dim_param for d in types[name].type.tensor_type.shape.dim]

    input_name = graph.input[0].name
    in_shape = shape(input_name)
    if (
        len(in_shape) != 4
        or in_shape[1] != 1
        or in_shape[2] != in_shape[3]
        or not isinstance(in_shape[2], int)
    ):
        raise ValueError(f"feature maps: the input should be [N, 1, H, H] images, it is {in_shape}")
    initializers = {t.name for t in graph.initializer}
    producer = {out: node for node in graph.node for out in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    graph_outputs = {o.name for o in graph.output}

    def activation(name: str) -> tuple[str, list[str]]:
        """(the end of the chain of element-wise layers that reads `name` and nothing else, their ops)."""
        ops = []
        while name not in graph_outputs and len(consumers.get(name, [])) == 1:
            (node,) = consumers[name]
            if node.op_type not in ELEMENTWISE_OPS or node.input[0] != name:
                break
            name = node.output[0]
            ops.append(node.op_type)
        return name, ops

    def reads_from(node: onnx.NodeProto, source: str) -> bool:
        """Does `node` read `source`, through nothing but non-grid layers' first inputs?"""
        name = node.input[0]
        while name != source and name in producer and producer[name].op_type not in GRID_OPS:
            name = producer[name].input[0]
        return name == source

    layers, previous = [], input_name
    for node in graph.node:
        if node.op_type not in GRID_OPS:
            continue
        name = _layer_name(node, initializers)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ValueError(
                f"feature maps: layer {name} uses auto_pad={attrs['auto_pad']!r}; export with explicit padding"
            )
        if not reads_from(node, previous):
            raise ValueError(
                f"feature maps: layer {name} does not read the previous conv or pooling layer's "
                "output: the model's layers must form a chain"
            )
        # a dilated kernel's span
        k = _square(node, "dilations", 1) * (_square(node, "kernel_shape", 1) - 1) + 1
        out_shape = shape(node.output[0])
        layer = dict(
            name=name,
            op=node.op_type,
            k=k,
            s=_square(node, "strides", 1),
            p=_square(node, "pads", 0),
            n_out=out_shape[-1],
        )
        if node.op_type == "Conv":
            output, after = activation(node.output[0])
            layer.update(output=output, after=after, channels=out_shape[1])
        layers.append(layer)
        previous = node.output[0]
    if not any(layer["op"] == "Conv" for layer in layers):
        raise ValueError("feature maps: the model has no convolution")

    derived = onnx.ModelProto()
    derived.CopyFrom(model)
    for layer in layers:
        if "output" in layer and layer["output"] not in graph_outputs:
            derived.graph.output.append(types[layer["output"]])
    onnx.checker.check_model(derived, full_check=True)
    manifest = dict(input=input_name, logits=graph.output[0].name, size=in_shape[2], layers=layers)
    return derived, manifest


def write(source: Path = SOURCE, out: Path = OUT) -> dict:
    """Derive the glass-box model of `source` into `out` and its manifest into `out` with `.json`
    (adds `model`, the file name, and `source` with its sha256); returns the manifest."""
    derived, manifest = derive(onnx.load(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(derived, out)
    manifest = dict(
        model=out.name,
        source=dict(file=source.name, sha256=hashlib.sha256(source.read_bytes()).hexdigest()),
        **manifest,
    )
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    source, out = (Path(args[0]) if args else SOURCE), (Path(args[1]) if len(args) > 1 else OUT)
    manifest = write(source, out)
    maps = [
        f"{layer['name']} {layer['channels']}x{layer['n_out']}x{layer['n_out']}"
        for layer in manifest["layers"]
        if "output" in layer
    ]
    print(
        f"feature_maps: {out.name} ({out.stat().st_size:,} bytes) from {source.name}: {', '.join(maps)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
