"""Devices (issue 14), tested on the CPU with explicit devices since CI has no GPU, plus a check that
every lesson picks a device, moves its data there and trains only models it moved."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib.pyplot as plt
import nbformat
import pytest
import torch
from torch import nn

import mnist_course as mc
import student  # tools/student.py: which files are lessons

ROOT = Path(__file__).resolve().parent.parent
CPU = torch.device("cpu")


def mlp() -> nn.Module:
    return nn.Sequential(
        mc.Normalize(), nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 10)
    )


def test_default_device_is_a_device_that_works() -> None:
    device = mc.default_device()
    assert isinstance(device, torch.device)
    assert torch.ones(2, device=device).sum().item() == 2


def test_every_public_function_accepts_an_explicit_device(small: mc.MNISTSplits) -> None:
    data = small.subset(600, 200, 200).to(CPU)
    assert data.x_train.device == CPU and data.y_test.device == CPU
    mc.set_seed(0)
    model = mlp().to(CPU)
    history = mc.fit(
        model,
        data,
        torch.optim.SGD(model.parameters(), lr=0.1),
        1,
        progress=False,
        augment=mc.RandomAffine(),
        generator=torch.Generator().manual_seed(0),
    )
    assert history["val_acc"].iloc[-1] > 30
    assert mc.predict(model, data.x_val).device == CPU  # results come back on the CPU
    loss, acc = mc.evaluate(model, data.x_val, data.y_val)
    assert 0 < acc <= 100 and loss > 0
    assert mc.confusion_matrix(model, data.x_val, data.y_val).to_numpy().sum() == len(data.y_val)
    assert len(mc.most_confident_mistakes(model, data.x_val, data.y_val, n=4)) <= 4
    for fig in (
        mc.plot_failures(model, data.x_val, data.y_val, n=4).figure,
        mc.plot_confusion(model, data.x_val, data.y_val).figure,
        mc.show_digits(data.x_val[:4], data.y_val[:4]),
    ):
        plt.close(fig)
    assert mc.time_ms(lambda: model(data.x_val[:32]), CPU, repeats=3, warmup=1) > 0
    mc.synchronize(CPU)
    assert "device cpu" in mc.environment_info(CPU)


def test_compare_builds_models_on_the_data_device_with_the_same_start(
    small: mc.MNISTSplits,
) -> None:
    data = small.subset(300, 100).to(CPU)
    starts = {}

    def recording(name):
        def make(params):
            params = list(params)
            starts[name] = [p.detach().clone() for p in params]
            assert all(p.device == CPU for p in params)
            return torch.optim.SGD(params, lr=0.1)

        return make

    result = mc.compare(mlp, {"a": {"optimizer": recording("a")}}, [0], data, 1, progress=False)
    assert mc.model_device(result.models["a", 0]) == CPU
    result = mc.compare(
        mlp, {"b": {"optimizer": recording("b")}}, [0], data, 1, device="cpu", progress=False
    )
    assert all(torch.equal(x, y) for x, y in zip(starts["a"], starts["b"]))


def test_fit_refuses_a_model_on_another_device_than_the_data(small: mc.MNISTSplits) -> None:
    model = mlp().to("meta")  # a second device that exists on every machine
    with pytest.raises(ValueError, match=r"model is on meta.*data on cpu.*model.to\(device\)"):
        mc.fit(
            model,
            small.subset(64, 16),
            torch.optim.SGD(model.parameters(), lr=0.1),
            1,
            progress=False,
        )


def test_random_affine_is_drawn_on_the_cpu_and_reproducible() -> None:
    x = torch.rand(8, 1, 28, 28)
    a = mc.random_affine(x, generator=torch.Generator().manual_seed(3))
    b = mc.random_affine(x.to(CPU), generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


# --- the lessons --------------------------------------------------------------------------------


LESSONS = student.lesson_notebooks(ROOT / "notebooks")


def _code(path: Path) -> ast.Module:
    nb = nbformat.read(path, as_version=4)

    def python(line: str) -> str:  # IPython magics and shell lines become `pass`
        stripped = line.lstrip()
        return (
            line[: len(line) - len(stripped)] + "pass" if stripped.startswith(("%", "!")) else line
        )

    source = "\n".join(
        "\n".join(map(python, c.source.splitlines()))
        for c in nb.cells
        if c.cell_type == "code" and "solution" not in c.metadata.get("tags", [])
    )
    return ast.parse(source)


def _ends_with_to_device(node: ast.AST) -> bool:
    """`<expr>.to(device)` (possibly followed by more calls, e.g. `.to(device).eval()`)."""
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "to" and any(
            isinstance(a, ast.Name) and a.id == "device" for a in node.args
        ):
            return True
        node = node.func.value
    return False


def device_problems(tree: ast.Module) -> list[str]:
    """What a lesson misses of: `device = mc.default_device()`, printing it, data moved to it, and every
    model given to `mc.fit` moved to it (directly or in every assignment of its name)."""
    problems, assigned = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    picks = [v for v in assigned.get("device", []) if ast.unparse(v) == "mc.default_device()"]
    if not picks:
        problems.append("no `device = mc.default_device()`")
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    if not any(ast.unparse(c.func) == "print" and "device" in ast.unparse(c) for c in calls):
        problems.append("the device is never printed")
    if not any(
        _ends_with_to_device(v) for name in ("data", "full") for v in assigned.get(name, [])
    ):
        problems.append("the data is never moved to the device (`data = ....to(device)`)")
    for call in calls:
        if ast.unparse(call.func) == "mc.fit" and call.args:
            model = call.args[0]
            moved = _ends_with_to_device(model) or (
                isinstance(model, ast.Name)
                and assigned.get(model.id)
                and all(_ends_with_to_device(v) for v in assigned[model.id])
            )
            if not moved:
                problems.append(
                    f"`{ast.unparse(call)[:60]}...` trains a model not moved with .to(device)"
                )
    return problems


def test_device_problems_catches_a_lesson_that_forgets_the_device() -> None:
    good = ast.parse(
        "device = mc.default_device()\nprint(f'device: {device}')\ndata = mc.load_mnist().to(device)\n"
        "model = make().to(device)\nmc.fit(model, data, opt, 1)\nmc.fit(make().to(device), data, opt, 1)"
    )
    assert device_problems(good) == []
    bad = ast.parse("data = mc.load_mnist()\nmodel = make()\nmc.fit(model, data, opt, 1)")
    assert len(device_problems(bad)) == 4


@pytest.mark.parametrize("path", LESSONS, ids=[p.name for p in LESSONS])
def test_lesson_uses_the_device(path: Path) -> None:
    assert device_problems(_code(path)) == []
