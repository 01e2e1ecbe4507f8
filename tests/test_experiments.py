"""Fair comparisons: seeds, identical starts, identical data order, the summary."""

from __future__ import annotations

import functools
import random
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import mnist_course as mc


class MLP(nn.Module):
    def __init__(self, bn: bool = False) -> None:
        super().__init__()
        self.fc1, self.bn1, self.fc2 = (
            nn.Linear(784, 32),
            nn.BatchNorm1d(32) if bn else nn.Identity(),
            nn.Linear(32, 10),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.bn1(self.fc1(x.flatten(1)))))


def test_set_seed_repeats_all_generators() -> None:
    draws = []
    for _ in range(2):
        mc.set_seed(7)
        draws.append((random.random(), np.random.rand(), torch.rand(1).item()))
    assert draws[0] == draws[1]


def test_compare_starts_every_config_from_identical_weights(small: mc.MNISTSplits) -> None:
    starts: dict[tuple[str, int], list[torch.Tensor]] = {}

    def recording(name: str, seed: int, lr: float):
        def make(params):
            params = list(params)
            starts[name, seed] = [p.detach().clone() for p in params]
            return torch.optim.SGD(params, lr=lr)

        return make

    configs = {
        name: {"optimizer": recording(name, s, lr)}
        for name, lr in [("slow", 0.01), ("fast", 0.1)]
        for s in [0]
    }
    result = mc.compare(
        MLP, configs, seeds=[0], data=small.subset(500, 200), epochs=1, progress=False
    )
    assert all(torch.equal(a, b) for a, b in zip(starts["slow", 0], starts["fast", 0]))
    assert set(result.models) == {("slow", 0), ("fast", 0)}

    configs = {"a": {"optimizer": recording("a", 1, 0.1)}}
    mc.compare(MLP, configs, seeds=[1], data=small.subset(500, 200), epochs=1, progress=False)
    assert not torch.equal(starts["a", 1][0], starts["slow", 0][0])  # another seed, another start


def test_compare_shares_weights_of_the_layers_variants_have_in_common(
    small: mc.MNISTSplits,
) -> None:
    starts = {}

    def recording(name: str):
        def make(params):
            params = list(params)
            starts[name] = [p.detach().clone() for p in params]
            return torch.optim.SGD(params, lr=0.1)

        return make

    configs = {
        "plain": {"optimizer": recording("plain")},
        "bn": {"optimizer": recording("bn"), "model": lambda: MLP(bn=True)},
    }
    mc.compare(MLP, configs, seeds=[3], data=small.subset(300, 100), epochs=1, progress=False)
    plain, bn = starts["plain"], starts["bn"]  # bn has fc1.w, fc1.b, bn1.w, bn1.b, fc2.w, fc2.b
    assert torch.equal(plain[0], bn[0]) and torch.equal(plain[1], bn[1])
    assert torch.equal(plain[2], bn[4]) and torch.equal(plain[3], bn[5])


def test_compare_applies_a_configs_init_to_the_shared_start(small: mc.MNISTSplits) -> None:
    """An init a config asks for is not undone by the shared start: He's uniform init, the default draw
    times sqrt(6), starts from sqrt(6) x the other configs' weights of the same seed, and trains paired."""
    starts = {}

    def recording(name: str, lr: float = 0.1):
        def make(params):
            params = list(params)
            starts[name] = [p.detach().clone() for p in params]
            return torch.optim.SGD(params, lr=lr)

        return make

    def he_scale(model: nn.Module) -> None:
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                layer.weight.mul_(6**0.5)

    redrawn = []

    def redraw(model: nn.Module) -> None:  # an init that draws new random numbers
        nn.init.normal_(model.fc1.weight)
        redrawn.append(model.fc1.weight.detach().clone())

    configs = {
        "default": {"optimizer": recording("default")},
        "he": {"optimizer": recording("he"), "init": he_scale},
        "he, no training": {"optimizer": recording("frozen", lr=0.0), "init": he_scale},
        "redrawn": {"optimizer": recording("redrawn"), "init": redraw},
        "none": {"optimizer": recording("none"), "init": None},
    }
    result = mc.compare(
        MLP, configs, seeds=[4], data=small.subset(300, 100), epochs=1, progress=False
    )
    default, he = starts["default"], starts["he"]  # fc1.w, fc1.b, fc2.w, fc2.b
    assert torch.allclose(he[0], 6**0.5 * default[0]) and torch.allclose(he[2], 6**0.5 * default[2])
    assert not torch.equal(he[0], default[0])
    assert torch.equal(he[1], default[1]) and torch.equal(he[3], default[3]), (
        "the biases are not scaled"
    )
    assert torch.equal(starts["none"][0], default[0]), "init=None is no init"
    assert not torch.equal(starts["redrawn"][0], default[0]) and torch.equal(
        starts["redrawn"][2], default[2]
    )
    assert torch.equal(result.models["he, no training", 4].fc1.weight, he[0]), (
        "the init is applied once, before training"
    )
    mc.compare(
        MLP,
        {"redrawn": {"optimizer": recording("again"), "init": redraw}},
        seeds=[4],
        data=small.subset(300, 100),
        epochs=1,
        progress=False,
    )
    assert torch.equal(redrawn[0], redrawn[1]), (
        "an init that draws is seeded: the same start for the same seed"
    )


def test_compare_same_config_twice_gives_the_same_history(small: mc.MNISTSplits) -> None:
    """Same start, same data order, same dropout masks: identical runs."""

    def make_model() -> nn.Module:
        return nn.Sequential(
            nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10)
        )

    sgd = {"optimizer": lambda p: torch.optim.SGD(p, lr=0.1)}
    result = mc.compare(
        make_model,
        {"x": sgd, "y": sgd},
        seeds=[0],
        data=small.subset(1000, 200),
        epochs=2,
        progress=False,
        augment=mc.RandomAffine(),
    )
    h = result.history
    cols = ["train_loss", "train_acc", "val_loss", "val_acc"]
    assert np.array_equal(h[h.config == "x"][cols].to_numpy(), h[h.config == "y"][cols].to_numpy())


def test_compare_history_summary_and_test_accuracy(small: mc.MNISTSplits) -> None:
    configs = {
        "sgd": {"optimizer": lambda p: torch.optim.SGD(p, lr=0.1), "batch_size": 64},
        "adam": {
            "optimizer": lambda p: torch.optim.Adam(p, lr=1e-3),
            "scheduler": lambda o: torch.optim.lr_scheduler.StepLR(o, 1, 0.5),
        },
    }
    result = mc.compare(
        MLP, configs, seeds=[0, 1, 2], data=small, epochs=2, test=True, progress=False
    )
    h = result.history
    assert list(h.columns[:3]) == ["config", "seed", "epoch"] and len(h) == 2 * 3 * 2
    assert h[h.config == "adam"]["lr"].tolist() == pytest.approx([1e-3, 5e-4] * 3)
    s = result.summary
    assert list(s.index) == ["sgd", "adam"]
    final = h[(h.config == "sgd") & (h.epoch == 2)]["val_acc"]
    assert s.loc["sgd", "val_acc_mean"] == pytest.approx(final.mean())
    assert s.loc["sgd", "val_acc_sd"] == pytest.approx(final.std())
    expected_test = np.mean(
        [mc.evaluate(result.models["adam", s_], small.x_test, small.y_test)[1] for s_ in range(3)]
    )
    assert s.loc["adam", "test_acc_mean"] == pytest.approx(expected_test)
    assert s.loc["sgd", "seconds_per_epoch"] == pytest.approx(
        h[h.config == "sgd"]["seconds"].mean()
    )
    assert (s[["val_acc_mean", "train_acc_mean"]] > 70).all().all()


def _final(values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"config": c, "seed": s, "val_acc": v}
            for c, vs in values.items()
            for s, v in enumerate(vs)
        ]
    )


def test_paired_differences_per_seed_mean_se_and_interval() -> None:
    final = _final(
        {"ref": [90.0, 92.0, 91.0], "up": [90.5, 92.6, 91.4], "noisy": [91.0, 91.0, 92.0]}
    )
    table = mc.paired_differences(final, "ref")
    assert list(table.index) == ["up", "noisy"]
    assert table.loc["up", ["seed 0", "seed 1", "seed 2"]].tolist() == pytest.approx(
        [0.5, 0.6, 0.4]
    )
    assert table.loc["up", "mean"] == pytest.approx(0.5)
    assert table.loc["up", "se"] == pytest.approx(0.1 / np.sqrt(3))
    half = 4.302652729911275 * 0.1 / np.sqrt(3)  # t(0.975, df=2)
    assert table.loc["up", "ci_low"] == pytest.approx(0.5 - half)
    assert table.loc["up", "verdict"] == "higher" and table.loc["up", "wins"] == 3
    # +1, -1, +1: the mean is positive but the interval holds 0
    assert table.loc["noisy", "verdict"] == "no detectable difference"
    assert table.attrs == {"reference": "ref", "metric": "val_acc", "confidence": 0.95}
    lower = mc.paired_differences(_final({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.1, 1.9]}), "a")
    assert lower.loc["b", "verdict"] == "lower"


def test_paired_differences_pairing_removes_the_shared_seed_luck() -> None:
    # seeds differ by a lot, the configs by a constant: unpaired sds overlap, paired differences do not
    final = _final({"ref": [80.0, 95.0, 88.0], "better": [80.3, 95.3, 88.3]})
    assert mc.paired_differences(final, "ref").loc["better", "verdict"] == "higher"


def test_paired_differences_refuses_what_cannot_be_paired() -> None:
    final = _final({"ref": [90.0, 91.0], "x": [90.0, 92.0]})
    with pytest.raises(ValueError, match="reference config 'nope' not found"):
        mc.paired_differences(final, "nope")
    with pytest.raises(ValueError, match="no column 'test_acc'.*test=True"):
        mc.paired_differences(final, "ref", metric="test_acc")
    with pytest.raises(ValueError, match="no run for x seed 1"):
        mc.paired_differences(final.drop(index=3), "ref")
    with pytest.raises(ValueError, match="at least 2 seeds"):
        mc.paired_differences(final[final.seed == 0], "ref")


def test_compare_final_table_feeds_paired_differences(small: mc.MNISTSplits) -> None:
    configs = {lr: {"optimizer": functools.partial(torch.optim.SGD, lr=lr)} for lr in (0.01, 0.1)}
    result = mc.compare(
        MLP,
        {str(k): v for k, v in configs.items()},
        seeds=[0, 1],
        data=small.subset(500, 200),
        epochs=1,
        test=True,
        progress=False,
    )
    assert list(result.final.columns[:3]) == ["config", "seed", "epoch"] and len(result.final) == 4
    table = mc.paired_differences(result, "0.01", metric="test_acc")
    by_seed = result.final.pivot(index="config", columns="seed", values="test_acc")
    assert table.loc["0.1", "seed 1"] == pytest.approx(
        by_seed.loc["0.1", 1] - by_seed.loc["0.01", 1]
    )
    ax = mc.plot_paired(table)
    assert "percentage points" in ax.get_xlabel() and len(ax.collections) >= 2


RUNS = '{"seed": 0, "test_acc": 99.48}\n{"seed": 1, "test_acc": 99.47}\n'


def test_read_runs_prefers_the_clone_s_benchmarks_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "x_runs.jsonl").write_text(RUNS)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")  # where a lesson runs
    # nothing listens on port 9
    runs = mc.read_runs("http://127.0.0.1:9/nowhere/benchmarks/x_runs.jsonl")
    assert runs.to_dict("records") == [
        {"seed": 0, "test_acc": 99.48},
        {"seed": 1, "test_acc": 99.47},
    ]


def test_read_runs_downloads_outside_a_clone_and_explains_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = tmp_path / "site" / "owner" / "repo" / "main" / "benchmarks"
    served.mkdir(parents=True)
    (served / "x_runs.jsonl").write_text(RUNS)
    elsewhere = tmp_path / "colab"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/owner/repo/main/benchmarks"
        assert mc.read_runs(f"{base}/x_runs.jsonl")["test_acc"].tolist() == [99.48, 99.47]
        with pytest.raises(
            mc.DataError, match=r"could not read the recorded runs y_runs\.jsonl .*internet"
        ):
            mc.read_runs(f"{base}/y_runs.jsonl")  # 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    with pytest.raises(ValueError, match="benchmarks/ folder"):
        mc.read_runs("https://example.org/results.csv")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


def test_compare_records_what_each_config_ran_with(small: mc.MNISTSplits) -> None:
    """`Comparison.settings`, read from the built objects: OneCycleLR's peak and the momentum it turns on."""
    from functools import partial

    configs = {
        "constant": {"optimizer": partial(torch.optim.SGD, lr=0.1)},
        "one-cycle": {
            "optimizer": partial(torch.optim.SGD, lr=0.1),
            "batch_size": 256,
            "scheduler": lambda opt: torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=0.1, total_steps=100
            ),
        },
        "Adam": {
            "optimizer": partial(torch.optim.Adam, lr=1e-3, weight_decay=1e-4),
            "augment": mc.RandomAffine(5, 0.1),
        },
    }
    result = mc.compare(MLP, configs, [0], small.subset(train=256, val=256), 1, progress=False)
    s = result.settings
    assert list(s.index) == ["constant", "one-cycle", "Adam"]
    assert s.loc["constant", ["optimizer", "lr", "max_lr", "momentum", "batch_size"]].tolist() == [
        "SGD",
        0.1,
        0.1,
        0,
        128,
    ]
    assert s.loc["one-cycle", "scheduler"] == "OneCycleLR" and s.loc["one-cycle", "max_lr"] == 0.1
    assert (
        s.loc["one-cycle", "lr"] == pytest.approx(0.1 / 25)
        and s.loc["one-cycle", "momentum"] == 0.95
    )
    assert s.loc["one-cycle", "batch_size"] == 256
    assert s.loc["Adam", ["optimizer", "momentum", "weight_decay", "augment"]].tolist() == [
        "Adam",
        0.9,
        1e-4,
        "RandomAffine",
    ]
    assert s["parameters"].nunique() == 1 and s.loc["Adam", "model"] == "MLP"


def test_compare_records_the_run_and_the_recipe(small: mc.MNISTSplits) -> None:
    """What the homework checks hold a run to: the epochs, the images of each split, whether the test set was
    read, Nesterov, a one-cycle schedule's length in steps, the augmentation's strength, the dropout rates and
    label smoothing, as recorded from the built objects."""
    from functools import partial

    def with_dropout():
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 16),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Dropout(0.0),
            nn.Linear(16, 10),
        )

    data = small.subset(train=300, val=200, test=100)
    configs = {
        "plain": {"optimizer": partial(torch.optim.SGD, lr=0.1)},
        "recipe": {
            "optimizer": partial(torch.optim.SGD, lr=0.03, momentum=0.9, nesterov=True),
            "batch_size": 64,
            "scheduler": lambda opt: torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=0.1, epochs=2, steps_per_epoch=5
            ),
            "augment": mc.RandomAffine(degrees=7, translate=0.1),
            "label_smoothing": 0.1,
            "model": with_dropout,
        },
    }
    result = mc.compare(MLP, configs, [0], data, 2, test=True, progress=False)
    s = result.settings
    assert s.loc[
        "plain", ["epochs", "train_images", "val_images", "test", "nesterov"]
    ].tolist() == [2, 300, 200, True, False]
    assert pd.isna(s.loc["plain", "scheduler_steps"]) and s.loc["plain", "augment_options"] is None
    assert s.loc["plain", "dropout"] == () and s.loc["plain", "label_smoothing"] == 0.0
    assert s.loc["recipe", ["nesterov", "scheduler_steps", "max_lr", "momentum"]].tolist() == [
        True,
        10,
        0.1,
        0.95,
    ]
    assert s.loc["recipe", "augment_options"] == {"degrees": 7, "translate": 0.1, "scale": None}
    assert s.loc["recipe", "dropout"] == (0.25,) and s.loc["recipe", "label_smoothing"] == 0.1
    assert not mc.compare(
        MLP, {"plain": configs["plain"]}, [0], data, 1, progress=False
    ).settings.loc["plain", "test"]
