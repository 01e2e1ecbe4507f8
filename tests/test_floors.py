"""The version floors in pyproject.toml (tools/floors.py; `make floors` installs and tests them).

`make floors` is the real test (minutes: a venv with every floor, the unit tests, lesson 1). These check
in milliseconds that the floors found by it stay in place: each API the package uses that is newer than
an old release keeps its package's floor at or above the release that has it.
"""

from __future__ import annotations

from pathlib import Path

import floors

ROOT = Path(__file__).resolve().parent.parent

SOURCE = "\n".join(p.read_text() for p in (ROOT / "src" / "mnist_course").glob("*.py"))

# (what the package uses, the package, the first version that has it; found by `make floors`)
NEEDS = [
    # DataFrame.stack(future_stack=...) is new in 2.1
    ("future_stack=True", "pandas", (2, 1)),
    # torch.onnx.export(dynamo=True, dynamic_shapes=...)
    ("dynamic_shapes=", "torch", (2, 6)),
    # torch 2.11+ needs 0.6+; 0.6 prints its rewrites
    ("dynamo=True", "onnxscript", (0, 7)),
    ("dynamo=True", "onnx", (1, 17)),  # what onnxscript 0.6+ requires
    # reads ONNX IR version 10 (onnx 1.17's files)
    ("onnxruntime", "onnxruntime", (1, 18)),
]


def _floor(name: str) -> tuple[int, ...]:
    pins = dict(pin.split("==") for pin in floors.floors())
    return tuple(int(part) for part in pins[name].split(".")[:2])


def test_every_dependency_has_a_floor() -> None:
    pins = {pin.split("==")[0] for pin in floors.floors()}
    assert {"torch", "torchvision", "numpy", "pandas", "onnx", "onnxruntime", "onnxscript"} <= pins


def test_floors_cover_the_apis_the_package_uses() -> None:
    problems = [
        f"{package}>={'.'.join(map(str, needed))} (the package uses {api!r}), pyproject.toml allows "
        f"{'.'.join(map(str, _floor(package)))}"
        for api, package, needed in NEEDS
        if api in SOURCE and _floor(package) < needed
    ]
    assert not problems, "\n".join(problems)


def test_floors_skip_what_is_asked(tmp_path: Path) -> None:
    project = tmp_path / "pyproject.toml"
    project.write_text(
        '[project]\nname = "x"\ndependencies = ["torch>=2.6", "tqdm", "pandas>=2.1,<4"]\n'
        '[project.optional-dependencies]\ndev = ["pytest>=8"]\n'
    )
    assert floors.floors(project) == ["torch==2.6", "pytest==8"]
    assert floors.floors(project, skip={"torch"}) == ["pytest==8"]
