"""Lesson 4, homework 3 (the time share of augmentation): `hw3_batch` is the batch the augmentation was
timed on (BATCH_SIZE training images on `device`), `hw3_augment_ms` the time of `augment` on it and
`hw3_step_ms` the time of a training step of the budget CNN (`train_step_ms`), both in milliseconds;
`hw3_share` augmentation's share of the two together, hw3_augment_ms / (hw3_augment_ms + hw3_step_ms).
Timings differ from run to run, so the checks test what they are, not their values."""

import math
import numbers

import torch
from mnist_course.checks.runner import test_case

from mnist_course.checks import support as s



def lesson(value, name):
    """A global of the lesson's main text; None if its cell has not run."""
    if value is None:
        raise AssertionError(f"`{name}` is not defined: run the lesson's cells above the homework first")
    return value


def milliseconds(value, name, hint):
    """`value` as one positive, finite time in milliseconds."""
    s.given(value, name, hint)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise AssertionError(f"`{name}` should be one number (milliseconds), not a {type(value).__name__}: {hint}")
    if not (math.isfinite(value) and value > 0):
        raise AssertionError(f"`{name}` is {value!r}: a time is a positive number of milliseconds; mc.time_ms measures one")
    return float(value)


@test_case(name="a batch of BATCH_SIZE images on the device")
def batch(hw3_batch, BATCH_SIZE, device):
    s.given(hw3_batch, "hw3_batch", "assign the images you timed augment on, e.g. data.x_train[:BATCH_SIZE]")
    assert isinstance(hw3_batch, torch.Tensor), (
        f"`hw3_batch` should be the tensor of images you timed augment on, not a {type(hw3_batch).__name__}")
    size = lesson(BATCH_SIZE, "BATCH_SIZE")
    assert tuple(hw3_batch.shape) == (size, 1, 28, 28), (
        f"`hw3_batch` has the shape {tuple(hw3_batch.shape)}: time augment on one training batch, BATCH_SIZE images "
        "of 1 x 28 x 28 pixels, as a training step sees it")
    assert hw3_batch.device.type == torch.device(lesson(device, "device")).type, (
        f"`hw3_batch` is on {hw3_batch.device.type}, the training runs on {device}: time augment where training "
        "augments, on the images of data.to(device)")


@test_case(name="two timings")
def timings(hw3_augment_ms, hw3_step_ms):
    milliseconds(hw3_augment_ms, "hw3_augment_ms", "set it to mc.time_ms(lambda: augment(hw3_batch), device)")
    milliseconds(hw3_step_ms, "hw3_step_ms", "set it to the time of one training step of the budget CNN, train_step_ms(model)")


@test_case(name="the share of augmentation")
def share(hw3_augment_ms, hw3_step_ms, hw3_share):
    augment = milliseconds(hw3_augment_ms, "hw3_augment_ms", "set it to mc.time_ms(lambda: augment(hw3_batch), device)")
    step = milliseconds(hw3_step_ms, "hw3_step_ms", "set it to the time of one training step of the budget CNN, train_step_ms(model)")
    s.given(hw3_share, "hw3_share", "set it to hw3_augment_ms / (hw3_augment_ms + hw3_step_ms), a fraction")
    assert not isinstance(hw3_share, bool) and isinstance(hw3_share, numbers.Real), (
        f"`hw3_share` should be one number (a fraction), not a {type(hw3_share).__name__}")
    expected = augment / (augment + step)
    if math.isclose(hw3_share, 100 * expected, rel_tol=0.01):
        raise AssertionError("`hw3_share` looks like a percentage: give it as a fraction between 0 and 1")
    if math.isclose(hw3_share, augment / step, rel_tol=0.001) and not math.isclose(hw3_share, expected, rel_tol=0.01):
        raise AssertionError("`hw3_share` is hw3_augment_ms / hw3_step_ms: a training step with augmentation takes "
                             "both times, so divide by their sum")
    assert 0 < hw3_share < 1 and math.isclose(hw3_share, expected, rel_tol=0.01), (
        "`hw3_share` does not agree with your own timings: compute it from hw3_augment_ms and hw3_step_ms, "
        "hw3_augment_ms / (hw3_augment_ms + hw3_step_ms), without rounding")
