"""Training: evaluate, fit (learns, history, schedulers, augmentation), devices."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import mnist_course as mc


def linear() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def test_evaluate_counts_correct_predictions() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    with torch.no_grad():
        model[1].weight.copy_(torch.eye(3, 4))
    x = torch.tensor([[5.0, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0], [5, 0, 0, 0]]).view(4, 1, 2, 2)
    loss, acc = mc.evaluate(model, x, torch.tensor([0, 1, 2, 2]))
    assert acc == 75.0
    assert loss == pytest.approx(
        nn.functional.cross_entropy(model(x), torch.tensor([0, 1, 2, 2])).item()
    )
    assert model.training  # mode restored


def test_predict_runs_in_eval_mode_and_restores_it() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(784, 10))
    x = torch.rand(50, 1, 28, 28)
    logits = mc.predict(model, x, batch_size=7)
    assert model.training
    model.eval()  # dropout off: the same as one plain forward pass
    assert torch.allclose(logits, model(x), atol=1e-6)


def test_fit_learns_on_a_small_real_subset(small: mc.MNISTSplits) -> None:
    mc.set_seed(0)
    model = linear()
    history = mc.fit(
        model, small, torch.optim.SGD(model.parameters(), lr=0.1), epochs=3, progress=False
    )
    assert list(history.columns) == [
        "epoch",
        "lr",
        "train_loss",
        "train_acc",
        "val_loss",
        "val_acc",
        "seconds",
    ]
    assert history["epoch"].tolist() == [1, 2, 3]
    assert (
        history["train_loss"].is_monotonic_decreasing
        and history["val_acc"].iloc[-1] > history["val_acc"].iloc[0]
    )
    assert history["val_acc"].iloc[-1] > 85 and (history["seconds"] > 0).all()
    assert history["val_acc"].iloc[-1] == mc.evaluate(model, small.x_val, small.y_val)[1]


def test_fit_train_metrics_are_accumulated_during_the_epoch(small: mc.MNISTSplits) -> None:
    """With lr=0 the model never changes, so the running train metrics equal one evaluation."""
    model = linear()
    history = mc.fit(
        model, small, torch.optim.SGD(model.parameters(), lr=0.0), epochs=1, progress=False
    )
    loss, acc = mc.evaluate(model, small.x_train, small.y_train)
    assert history["train_loss"].iloc[0] == pytest.approx(loss, rel=1e-5)
    assert history["train_acc"].iloc[0] == pytest.approx(acc)


def test_fit_label_smoothing_changes_the_training_loss_only(small: mc.MNISTSplits) -> None:
    """With lr=0: train_loss is the smoothed cross-entropy of the unchanged model, val_loss the plain one."""
    mc.set_seed(0)
    model = linear()
    history = mc.fit(
        model,
        small,
        torch.optim.SGD(model.parameters(), lr=0.0),
        epochs=1,
        label_smoothing=0.2,
        progress=False,
    )
    with torch.no_grad():
        smoothed = nn.functional.cross_entropy(
            model(small.x_train), small.y_train, label_smoothing=0.2
        ).item()
    assert history["train_loss"].iloc[0] == pytest.approx(smoothed, rel=1e-5)
    assert smoothed != pytest.approx(mc.evaluate(model, small.x_train, small.y_train)[0], rel=1e-3)
    assert history["val_loss"].iloc[0] == pytest.approx(
        mc.evaluate(model, small.x_val, small.y_val)[0]
    )


def test_fit_with_augmentation_learns(small: mc.MNISTSplits) -> None:
    mc.set_seed(0)
    model = linear()
    history = mc.fit(
        model,
        small,
        torch.optim.Adam(model.parameters(), lr=3e-3),
        epochs=3,
        augment=mc.RandomAffine(degrees=10, translate=0.1),
        progress=False,
    )
    assert history["val_acc"].iloc[-1] > 80  # labels still match the augmented digits


def test_fit_steps_epoch_and_batch_schedulers(small: mc.MNISTSplits) -> None:
    model = linear()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = mc.fit(
        model,
        small,
        opt,
        3,
        scheduler=torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5),
        progress=False,
    )
    assert history["lr"].tolist() == pytest.approx([0.1, 0.05, 0.025])
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    steps = 3 * -(-len(small.y_train) // 100)
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=steps)
    history = mc.fit(model, small, opt, 3, batch_size=100, scheduler=one_cycle, progress=False)
    assert one_cycle.last_epoch == steps  # stepped once per batch, exactly to the end
    assert history["lr"].iloc[1] > history["lr"].iloc[0]


def test_fit_without_validation_split(mnist: mc.MNISTSplits) -> None:
    data = mnist.subset(train=500, val=0)
    model = linear()
    history = mc.fit(model, data, torch.optim.SGD(model.parameters(), lr=0.1), 1, progress=False)
    assert history[["val_loss", "val_acc"]].isna().all().all()


def test_fit_shows_a_plain_text_progress_bar(
    small: mc.MNISTSplits, capsys: pytest.CaptureFixture[str]
) -> None:
    model = linear()
    mc.fit(model, small.subset(300), torch.optim.SGD(model.parameters(), lr=0.1), 2)
    err = capsys.readouterr().err
    assert "epochs: 100%" in err and "2/2" in err and "val_acc=" in err
    mc.fit(model, small.subset(300), torch.optim.SGD(model.parameters(), lr=0.1), 1, progress=False)
    assert capsys.readouterr().err == ""


def test_default_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert mc.default_device() == torch.device("cpu")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert mc.default_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert mc.default_device() == torch.device("cuda")


def test_model_device() -> None:
    assert mc.model_device(linear()) == torch.device("cpu")
    assert mc.model_device(nn.ReLU()) == torch.device("cpu")
