"""Lesson 4, homework 3 (the time share of augmentation): `hw3_batch` is the batch the augmentation was
timed on (BATCH_SIZE = 128 training images of `data`, on `device`), `hw3_augment_ms` the time of `augment` on it
and `hw3_step_ms` the time of a training step of the budget CNN (`train_step_ms`), both in milliseconds;
`hw3_share` augmentation's share of the two together, hw3_augment_ms / (hw3_augment_ms + hw3_step_ms), as a
fraction (rounded or not). Timings differ from run to run, so the check measures both itself, on the student's
batch and device (the recipe's augmentation, 7° and 0.1, and a training step of a fresh budget CNN, a few
tenths of a second), and accepts a time from a quarter of its fastest measurement (nothing runs much faster
than that) to 25 times its median one (a busy machine only adds time): a time in seconds, or an invented one
far off, is not plausible."""

import math
import statistics
import time

import torch
from torch import nn

import mnist_course as mc
from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.cnn import budget_cnn, lesson
from mnist_course.checks.runner import test_case

# a time below 1/4 of the check's fastest measurement or over 25 x its median is not plausible
FASTER, SLOWER = 4, 25
AUGMENT_HINT = "set it to mc.time_ms(lambda: augment(hw3_batch), device)"
STEP_HINT = "set it to the time of one training step of the budget CNN, train_step_ms(model)"


def batch_size():
    return recipes.of("04_cnn_budget", "hw3").batch_size


def milliseconds(value, name, hint):
    """`value` as one positive, finite time in milliseconds."""
    number = s.real(value, name, hint, example="7.5")
    if not (math.isfinite(number) and number > 0):
        raise AssertionError(
            f"`{name}` is {value!r}: a time is a positive number of milliseconds; mc.time_ms measures one"
        )
    return number


def in_training_set(batch, data):
    """Whether every image of `batch` is an image of data.x_train (compared through a random projection, then exactly)."""
    train = data.x_train
    if batch.shape[1:] != train.shape[1:]:
        return False
    direction = torch.rand(
        train[0].numel(), generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    keys = train.flatten(1).double().cpu() @ direction
    order = keys.argsort()
    wanted = batch.flatten(1).double().cpu() @ direction
    spots = torch.searchsorted(keys[order], wanted)
    for k in range(len(batch)):
        candidates = order[max(0, int(spots[k]) - 2) : int(spots[k]) + 2]
        if not any(torch.equal(train[i].cpu(), batch[k].cpu()) for i in candidates.tolist()):
            return False
    return True


def fastest_and_median(step, device, repeats, warmup=1):
    """The fastest and the median time of `step()` in ms, over `repeats` timed calls (the device synchronized)."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        mc.synchronize(device)
        start = time.perf_counter()
        step()
        mc.synchronize(device)
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def measured(hw3_batch, make_budget_cnn):
    """(augment's, a training step's) (fastest, median) time on `hw3_batch`'s device, measured now, in ms."""
    device = hw3_batch.device
    augment = mc.RandomAffine(
        **{k: v for k, v in recipes.of("04_cnn_budget", "hw3").augment_options.items()}
    )
    model = budget_cnn(make_budget_cnn).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, nesterov=True)
    labels = torch.zeros(len(hw3_batch), dtype=torch.long, device=device)

    def step():
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(hw3_batch), labels).backward()
        optimizer.step()

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        return (
            fastest_and_median(lambda: augment(hw3_batch), device, repeats=5),
            fastest_and_median(step, device, repeats=3),
        )


@test_case(name="a batch of BATCH_SIZE training images on the device")
def batch(hw3_batch, data, device):
    s.given(
        hw3_batch,
        "hw3_batch",
        "assign the images you timed augment on, e.g. data.x_train[:BATCH_SIZE]",
    )
    assert isinstance(hw3_batch, torch.Tensor), (
        f"`hw3_batch` should be the tensor of images you timed augment on, not a {type(hw3_batch).__name__}"
    )
    size = batch_size()
    assert tuple(hw3_batch.shape) == (size, 1, 28, 28), (
        f"`hw3_batch` has the shape {tuple(hw3_batch.shape)}: time augment on one training batch, BATCH_SIZE = {size} "
        "images of 1 x 28 x 28 pixels, as a training step sees it"
    )
    assert hw3_batch.device.type == torch.device(lesson(device, "device")).type, (
        f"`hw3_batch` is on {hw3_batch.device.type}, the training runs on {device}: time augment where training "
        "augments, on the images of data.to(device)"
    )
    assert in_training_set(hw3_batch, lesson(data, "data")), (
        "`hw3_batch` is not made of images of the training set: time augment on real training images, e.g. "
        "data.x_train[:BATCH_SIZE] (a batch of zeros or of random numbers is not what training augments)"
    )


@test_case(name="two timings")
def timings(hw3_augment_ms, hw3_step_ms, hw3_batch, make_budget_cnn):
    times = {
        "hw3_augment_ms": milliseconds(hw3_augment_ms, "hw3_augment_ms", AUGMENT_HINT),
        "hw3_step_ms": milliseconds(hw3_step_ms, "hw3_step_ms", STEP_HINT),
    }
    s.given(
        hw3_batch,
        "hw3_batch",
        "assign the images you timed augment on, e.g. data.x_train[:BATCH_SIZE]",
    )
    assert isinstance(hw3_batch, torch.Tensor) and tuple(hw3_batch.shape) == (
        batch_size(),
        1,
        28,
        28,
    ), "`hw3_batch` should be the batch you timed augment on (see the first check)"
    own = dict(zip(times, measured(hw3_batch, make_budget_cnn)))
    for name, what, hint in [
        ("hw3_augment_ms", "augment on hw3_batch", AUGMENT_HINT),
        ("hw3_step_ms", "a training step of the budget CNN on a batch like it", STEP_HINT),
    ]:
        fastest, median = own[name]
        assert fastest / FASTER <= times[name] <= median * SLOWER, (
            f"`{name}` = {times[name]:.4g} ms, but {what} takes {median:.3g} ms here and now (at best "
            f"{fastest:.3g} ms), {'far less' if times[name] > median else 'far more'}: measure it with mc.time_ms, "
            f"which gives milliseconds ({hint})"
        )


@test_case(name="the share of augmentation")
def share(hw3_augment_ms, hw3_step_ms, hw3_share):
    augment = milliseconds(hw3_augment_ms, "hw3_augment_ms", AUGMENT_HINT)
    step = milliseconds(hw3_step_ms, "hw3_step_ms", STEP_HINT)
    answer = s.real(
        hw3_share,
        "hw3_share",
        "set it to hw3_augment_ms / (hw3_augment_ms + hw3_step_ms), a fraction",
        example="0.06",
    )
    expected = augment / (augment + step)

    def agrees(value, target):  # the fraction, or any rounding of it to 2 or more decimals
        return math.isclose(value, target, rel_tol=0.01, abs_tol=0.005 + 1e-9)

    if answer > 1 and agrees(answer / 100, expected):
        raise AssertionError(
            "`hw3_share` looks like a percentage: give it as a fraction between 0 and 1"
        )
    if agrees(answer, augment / step) and not agrees(answer, expected):
        raise AssertionError(
            "`hw3_share` is hw3_augment_ms / hw3_step_ms: a training step with augmentation takes "
            "both times, so divide by their sum"
        )
    assert 0 <= answer < 1 and agrees(answer, expected), (
        f"`hw3_share` = {answer!r} does not agree with your own timings: compute it from hw3_augment_ms and "
        "hw3_step_ms, hw3_augment_ms / (hw3_augment_ms + hw3_step_ms) (rounded to 2 decimals or more, or not at all)"
    )
