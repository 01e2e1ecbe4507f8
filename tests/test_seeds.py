"""The seed helper: `mc.seed` / `mc.seeds` shift every lesson seed by MNIST_COURSE_SEED_OFFSET."""

import pytest

import mnist_course as mc
from mnist_course.seeds import SEED_OFFSET_VARIABLE


def test_without_the_variable_the_seeds_are_the_lessons(monkeypatch):
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    assert mc.seed_offset() == 0
    assert mc.seed(0) == 0 and mc.seed(7) == 7
    assert mc.seeds(3) == [0, 1, 2]


@pytest.mark.parametrize("text, offset", [("100", 100), (" 3 ", 3), ("0", 0), ("", 0)])
def test_the_offset_shifts_every_seed(monkeypatch, text, offset):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, text)
    assert mc.seed_offset() == offset
    assert mc.seed(0) == offset and mc.seed(2) == offset + 2
    assert mc.seeds(3) == [offset, offset + 1, offset + 2]


def test_the_variable_is_read_at_every_call(monkeypatch):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "10")
    first = mc.seeds(2)
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "20")
    assert (first, mc.seeds(2)) == ([10, 11], [20, 21])


@pytest.mark.parametrize("text", ["-1", "1.5", "abc", "1e3"])
def test_a_bad_offset_is_refused_with_the_variables_name(monkeypatch, text):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, text)
    with pytest.raises(ValueError, match=SEED_OFFSET_VARIABLE):
        mc.seeds(3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: mc.seed(-1),
        lambda: mc.seed(1.0),
        lambda: mc.seed(True),
        lambda: mc.seeds(0),
        lambda: mc.seeds(2.0),
    ],
)
def test_bad_arguments_are_refused(monkeypatch, call):
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    with pytest.raises(ValueError):
        call()


def test_shifted_seeds_change_what_compare_draws(monkeypatch):
    """The offset reaches the random numbers: a model built after set_seed(seed(0)) differs with an offset."""
    import torch

    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    mc.set_seed(mc.seed(0))
    committed = torch.nn.Linear(4, 2).weight.detach().clone()
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "100")
    mc.set_seed(mc.seed(0))
    fresh = torch.nn.Linear(4, 2).weight.detach().clone()
    mc.set_seed(100)
    seed_100 = torch.nn.Linear(4, 2).weight.detach().clone()
    assert not torch.equal(committed, fresh)
    assert torch.equal(fresh, seed_100)
