"""Lesson 2, homework 1 (weight decay in Adam and AdamW): `hw1_runs` holds the runs, one `mc.compare`
result or a list of them (the runs at λ = 0 and at AdamW's λ = 0.01 may be reused from sections 4 and 4a):
Adam with `weight_decay` λ ∈ {0, 1e-4, 1e-3, 1e-2} and AdamW with λ ∈ {0.01, 0.1, 1}, all at Adam's chosen
peak rate with the one-cycle schedule, on the evaluation seeds. `hw1_shrink` maps each AdamW λ to the factor
the weights would shrink by without gradients; `hw1_from` is the smallest AdamW λ whose verdict against
λ = 0 is not "no detectable difference" ("none" if there is none); `hw1_stronger` names the optimizer,
"Adam" or "AdamW", whose weights end smaller at λ = 0.01.

Everything but the optimizer and λ is held to the lesson's recipe as the runs recorded it (`recipes.of(
"02_optimizers", "hw1")`): EPOCHS epochs, the evaluation seeds, all training images and the validation split,
beta1 0.9, batches of 128, the lesson's MLP, and a one-cycle schedule that spans each run (PyTorch's default
shape, cycle_momentum=False). The shrink factors are computed from that recipe's schedule, not from the
notebook's variables."""

import math
import numbers

import numpy as np
import pandas as pd
import torch

from mnist_course import Comparison
from mnist_course.checks import recipes
from mnist_course.checks import support as s
from mnist_course.checks.runner import test_case

ADAM = [0.0, 1e-4, 1e-3, 1e-2]  # Adam's weight_decay, 0 being the reference
ADAMW = [0.01, 0.1, 1.0]  # AdamW's weight_decay
REFERENCE = "Adam, λ=0"
HINT = (
    'assign the result of mc.compare(make_mlp, {"Adam, λ=0.0001": {"optimizer": partial(torch.optim.Adam, '
    'lr=..., weight_decay=1e-4), "scheduler": one_cycle}, ...}, SEEDS, data, EPOCHS), or a list of such results '
    "(e.g. [tuned, adamw_same, your_runs]) that together hold every config asked for"
)


def shown(value):
    "A value as the message shows it (numbers without numpy's repr)."
    return repr(float(value)) if isinstance(value, np.floating) else repr(value)


def label(optimizer, decay):
    return f"{optimizer}, λ={decay:g}"


def results(value):
    """`hw1_runs` as a list of mc.compare results (one result, or a list or tuple of them)."""
    s.given(value, "hw1_runs", HINT)
    # a Comparison is a tuple too
    found = (
        list(value)
        if isinstance(value, (list, tuple)) and not isinstance(value, Comparison)
        else [value]
    )
    unique = []
    for i, result in enumerate(found):
        s.comparison(result, "hw1_runs" if len(found) == 1 else f"hw1_runs[{i}]", HINT)
        if not any(result is u for u in unique):
            unique.append(result)
    return unique


def asked(value, CHOSEN_LR):
    """The runs asked for, as one mc.compare result with the configs named "Adam, λ=0", ..., "AdamW, λ=1":
    for each (optimizer, λ), the first config of `hw1_runs` with that optimizer and weight_decay, preferring
    one at Adam's chosen peak rate."""
    found = {}
    for result in results(value):
        for config, row in result.settings.iterrows():
            if row["optimizer"] not in ("Adam", "AdamW"):
                continue
            for decay in ADAM if row["optimizer"] == "Adam" else ADAMW:
                if math.isclose(float(row["weight_decay"]), decay, rel_tol=1e-6, abs_tol=1e-12):
                    found.setdefault(label(row["optimizer"], decay), []).append((result, config))
    missing = [label("Adam", d) for d in ADAM if label("Adam", d) not in found]
    missing += [label("AdamW", d) for d in ADAMW if label("AdamW", d) not in found]
    assert not missing, (
        f"`hw1_runs` has no run of {', '.join(missing)} (read from each config's optimizer and "
        "weight_decay): add them, or pass a list of results that holds them"
    )
    lesson = s.given(
        CHOSEN_LR,
        "CHOSEN_LR",
        "run the lesson's cells above the homework first (section 3 tunes the rates)",
    )
    rate = s.real(
        lesson["Adam"], 'CHOSEN_LR["Adam"]', "run the lesson's cells above the homework first"
    )
    chosen = {}
    # a run at Adam's chosen rate if there is one; `at_chosen_rate` checks it
    for key, candidates in found.items():
        at_rate = [
            c
            for c in candidates
            if math.isclose(float(c[0].settings.loc[c[1], "max_lr"]), rate, rel_tol=1e-6)
        ]
        chosen[key] = (at_rate or candidates)[0]
    order = [label("Adam", d) for d in ADAM] + [label("AdamW", d) for d in ADAMW]
    parts = {key: chosen[key] for key in order}
    history = pd.concat(
        [r.history[r.history["config"] == c].assign(config=k) for k, (r, c) in parts.items()],
        ignore_index=True,
    )
    final = pd.concat(
        [r.final[r.final["config"] == c].assign(config=k) for k, (r, c) in parts.items()],
        ignore_index=True,
    )
    settings = pd.DataFrame({k: r.settings.loc[c] for k, (r, c) in parts.items()}).T.rename_axis(
        "config"
    )
    models = {
        (k, seed): r.models[c, seed]
        for k, (r, c) in parts.items()
        for seed in r.final.loc[r.final["config"] == c, "seed"]
    }
    return Comparison(history, None, models, final, settings)


def recipe():
    return recipes.of("02_optimizers", "hw1")


def same_runs(runs, CHOSEN_LR):
    """Only the optimizer (Adam or AdamW) and its weight_decay differ; everything else is the lesson's recipe, at
    Adam's chosen peak rate."""
    s.same_setting(runs, "hw1_runs", "model", "model")
    s.keeps_recipe(runs, "hw1_runs", recipe(), changes={"optimizer", "weight_decay"})
    rate = float(CHOSEN_LR["Adam"])
    for config, row in runs.settings.iterrows():
        assert math.isclose(float(row["max_lr"]), rate, rel_tol=1e-6), (
            f"`hw1_runs`: {config} ran at the peak rate {float(row['max_lr']):.3g}; the question asks for Adam's chosen "
            f'rate, CHOSEN_LR["Adam"] = {rate:.3g}, for every λ: pass lr=CHOSEN_LR["Adam"] to Adam and AdamW'
        )


def rates_of_run(peak):
    """The rate of every training step of the recipe's one-cycle schedule peaking at `peak`."""
    total = recipe().epochs * recipe().steps_per_epoch
    return np.asarray(s.one_cycle_rates(peak, total, range(total)), dtype=float)


def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


@test_case(name="Adam and AdamW at each λ, at Adam's chosen rate")
def runs_asked(hw1_runs, CHOSEN_LR):
    same_runs(asked(hw1_runs, CHOSEN_LR), CHOSEN_LR)


@test_case(name="the shrink factors of AdamW's decay")
def shrink(hw1_shrink, CHOSEN_LR):
    hint = "set it to a dict {0.01: factor, 0.1: factor, 1: factor}, each factor a number"
    s.given(hw1_shrink, "hw1_shrink", hint)
    assert isinstance(hw1_shrink, dict), (
        f"`hw1_shrink` should be a dict {{λ: factor}} for AdamW's λ = 0.01, 0.1 and 1, "
        f"not {s._type(hw1_shrink)}"
    )
    rates = rates_of_run(float(CHOSEN_LR["Adam"]))
    for decay in ADAMW:
        keys = [
            k for k in hw1_shrink if is_number(k) and math.isclose(float(k), decay, rel_tol=1e-9)
        ]
        assert keys, (
            f"`hw1_shrink` has no factor for λ = {decay:g}: give one for each of AdamW's λ = 0.01, 0.1 and 1, "
            'with the numbers as keys (0.01, not "0.01")'
        )
        factor = s.real(hw1_shrink[keys[0]], f"hw1_shrink[{decay:g}]", hint, example="0.96")
        exact, approx = float(np.prod(1 - rates * decay)), math.exp(-decay * rates.sum())
        assert any(
            math.isclose(factor, f, rel_tol=0.01, abs_tol=0.005 + 1e-9) for f in (exact, approx)
        ), (
            f"`hw1_shrink[{decay:g}]` = {shown(factor)} is not the factor the weights shrink by over a run: multiply "
            "(1 - η_t λ) over every training step, or take exp(-λ Σ η_t), with the rates of one_cycle_rates at "
            'Adam\'s chosen peak rate CHOSEN_LR["Adam"] (rounded to 2 decimals or more, or not at all)'
        )


@test_case(name="from which λ AdamW's decay shows")
def shows_from(hw1_runs, hw1_from, CHOSEN_LR):
    runs = asked(hw1_runs, CHOSEN_LR)
    hint = 'set it to one of AdamW\'s λ (the number 0.01, 0.1 or 1), or to the str "none" if no λ shows'
    s.given(hw1_from, "hw1_from", hint)
    assert hw1_from == "none" or is_number(hw1_from), (
        f'`hw1_from` should be a number (0.01, 0.1 or 1) or the str "none", not {s._type(hw1_from)}: {hint}'
    )
    same_runs(runs, CHOSEN_LR)
    shows = [
        d
        for d in ADAMW
        if s.verdict(runs, label("AdamW", d), REFERENCE) != "no detectable difference"
    ]
    expected = shows[0] if shows else "none"
    ok = (
        (hw1_from == "none")
        if expected == "none"
        else (is_number(hw1_from) and math.isclose(float(hw1_from), expected, rel_tol=1e-9))
    )
    assert ok, (
        f"`hw1_from` = {shown(hw1_from)} does not agree with your own results: it is the smallest of AdamW's λ whose "
        'verdict against λ = 0 is "higher" or "lower" (or "none" if every one is "no detectable difference"), '
        "from the paired differences of the final validation accuracy over your seeds"
    )


@test_case(name="the same λ in Adam and AdamW")
def stronger(hw1_runs, hw1_stronger, CHOSEN_LR):
    runs = asked(hw1_runs, CHOSEN_LR)
    s.given(
        hw1_stronger,
        "hw1_stronger",
        'set it to "Adam" or "AdamW", the one whose weights end smaller at λ = 0.01',
    )
    assert isinstance(hw1_stronger, str), (
        f'`hw1_stronger` should be a str, "Adam" or "AdamW", not {s._type(hw1_stronger)}'
    )
    assert hw1_stronger in ("Adam", "AdamW"), (
        f'`hw1_stronger` is {hw1_stronger!r}; set it to "Adam" or "AdamW", '
        "the one whose weights end smaller at λ = 0.01"
    )

    def norm(config):
        models = [m for (c, _), m in runs.models.items() if c == config]
        return np.mean(
            [
                torch.cat([p.detach().flatten() for p in m.parameters()]).norm().item()
                for m in models
            ]
        )

    expected = "Adam" if norm(label("Adam", 0.01)) < norm(label("AdamW", 0.01)) else "AdamW"
    s.agrees(
        hw1_stronger,
        expected,
        "hw1_stronger",
        "the norm of all the weights of your λ = 0.01 models (Adam's and AdamW's), averaged over the seeds",
    )
