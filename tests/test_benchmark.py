"""The pipeline benchmark (benchmarks/pipeline.py) runs end to end in its smoke mode.

This checks that the script works and reports sane values; it does not check any speed (the
benchmark itself is run by `make bench`, see benchmarks/README.md).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import TensorDataset

import mnist_course as mc

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "pipeline.py"


def load_benchmark(name: str):
    "Import benchmarks/<name>.py (its folder on sys.path, as when it runs as a script)."
    folder = str(SCRIPT.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, SCRIPT.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_pipeline():
    return load_benchmark("pipeline")


def test_same_data_order() -> None:
    """In the first epoch, the seed's DataLoader and mc.fit's batches see the same images in the
    same order. (RandomSampler also draws an empty permutation at the end of each epoch, so from
    the second epoch on each side has its own order.)"""
    pipeline = load_pipeline()
    numbers = torch.arange(1000, 3000)
    indices = torch.arange(0, 2000, 2)  # a subset, like the training split
    loader = pipeline.seed_loader(TensorDataset(numbers, numbers), indices, seed=1)
    generator = torch.Generator().manual_seed(1)
    subset = numbers[indices]
    seed_order = torch.cat([xb for xb, _ in loader])
    course_order = torch.cat([xb for xb, _ in mc.batches(subset, subset, 128, generator=generator)])
    assert torch.equal(seed_order, course_order)
    assert [len(yb) for _, yb in loader] == [128] * 7 + [1000 - 7 * 128]


def test_models() -> None:
    pipeline = load_pipeline()
    assert mc.count_parameters(pipeline.make_cnn()) < 8_000
    x = torch.rand(4, 1, 28, 28)
    for make in (pipeline.make_mlp, pipeline.make_cnn):
        assert make()(x).shape == (4, 10)


@pytest.mark.slow
def test_smoke_json(raw_dir: Path) -> None:
    env_dir = str(raw_dir.parent.parent)  # the data the other tests use (found or downloaded once)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=SCRIPT.parent.parent,
        env={**os.environ, "MNIST_DATA_DIR": env_dir},
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)  # stdout holds the JSON and nothing else
    assert isinstance(rows, list) and len(rows) == 2
    assert any("mlp" in r["case"] for r in rows) and any("cnn" in r["case"] for r in rows)
    for r in rows:
        for key in (
            "seed_s",
            "course_s",
            "speedup",
            "seed_load_s",
            "course_load_s",
            "course_img_per_s",
        ):
            assert isinstance(r[key], (int, float)) and r[key] > 0, (key, r)
        assert abs(r["speedup"] - r["seed_s"] / r["course_s"]) <= 0.02 * r["speedup"] + 0.01
        for key in ("seed_val_acc", "course_val_acc"):
            assert 0 <= r[key] <= 100, (key, r)
        assert r["train_images"] == 2_000 and r["epochs"] == 1 and r["threads"] >= 1
    cnn = next(r for r in rows if "cnn" in r["case"])
    assert cnn["params"] < 8_000


def test_lesson4_seeds_trains_the_notebooks_model() -> None:
    seeds = load_benchmark("lesson4_seeds")
    seeds.check_against_notebook()  # SystemExit if the script's copy of make_budget_cnn is stale
    assert mc.count_parameters(seeds.make_budget_cnn()) < 8_000


def test_lesson4_search_early_pool_is_the_lessons_model() -> None:
    seeds, search = load_benchmark("lesson4_seeds"), load_benchmark("lesson4_search")
    torch.manual_seed(0)
    ours = search.build(search.ARCHITECTURES["early-pool"]).eval()
    torch.manual_seed(0)
    lessons = seeds.make_budget_cnn().eval()
    x = torch.rand(3, 1, 28, 28)
    # same layers in the same order: the same initial weights
    assert torch.equal(ours(x), lessons(x))
    # every layout builds; only the named reference is over
    for name, plan in search.ARCHITECTURES.items():
        model = search.build(plan).eval()
        assert model(x).shape == (3, 10)
        assert (mc.count_parameters(model) < 8_000) == (name not in search.OVER_BUDGET), name
