"""Chapter 8's study helpers and claims rows, on small hand-made arrays."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.lab import hypergradient_study as hd
from lr_lessons.lab.results import Results
from lr_lessons.views import hypergradient_claims as hc
from lr_lessons.views.verdicts import CONFIRMED, NOT_REPRODUCED, Verdict

RATES = (1e-3, 1e-1)


def part(verdict: Verdict, name: str) -> tuple:
    """One part of a composite verdict as (word, passed, total)."""
    v = dict(verdict.parts)[name]
    return v.word, v.passed, v.total


def holds(verdict: Verdict) -> bool:
    """Every part holds on every seed (or, checked exactly, is confirmed)."""
    return all(
        v.word == CONFIRMED if v.total is None else v.passed == v.total for _, v in verdict.parts
    )


def test_setting_names_and_beta_checks():
    assert hd.setting("sgd", 0.1).name == "sgd lr=0.1"
    s = hd.setting("adam_hd", 1e-4, 1e-5)
    assert s.name == "adam_hd beta=1e-05 lr=0.0001" and s.options == {"hypergrad_lr": 1e-5}
    m = hd.mnist_setting("sgd_hd", 1e-3, 1e-3)
    assert m.name == "SGD-HD lr=0.001 beta=0.001" and m.options == {"hypergrad_lr": 1e-3}
    assert hd.mnist_setting("adam", 1e-5).name == "Adam lr=1e-05"
    with pytest.raises(InputError, match="beta"):
        hd.setting("sgd_hd", 0.1)
    with pytest.raises(InputError, match="beta"):
        hd.setting("sgd", 0.1, 1e-3)
    names = [s.name for s in hd.rate_settings(["sgd", "sgd_hd"], RATES, {"sgd_hd": 0.01})]
    assert names == [
        "sgd lr=0.001",
        "sgd lr=0.1",
        "sgd_hd beta=0.01 lr=0.001",
        "sgd_hd beta=0.01 lr=0.1",
    ]


def fake_results(values: dict[str, np.ndarray], metric: str = "val_accuracy") -> Results:
    """Results whose setting `name` holds `values[name]` (seeds, epochs) for `metric`."""
    names = list(values)
    stacked = np.stack([values[n] for n in names])
    return Results("fake", names, list(range(stacked.shape[1])), {metric: stacked})


def test_by_rate_reads_each_optimizer_and_rate_in_order():
    values = {
        s.name: np.full((2, 4), i, float)
        for i, s in enumerate(hd.rate_settings(["sgd", "sgd_hd"], RATES, {"sgd_hd": 0.01}))
    }
    r = fake_results(values)
    assert hd.by_rate(r, "sgd_hd", RATES[::-1], 0.01).shape == (2, 2, 4)
    assert hd.by_rate(r, "sgd_hd", RATES[::-1], 0.01)[:, 0, 0].tolist() == [3, 2]
    finals = hd.finals_by_rate(r, ["sgd", "sgd_hd"], RATES, {"sgd_hd": 0.01})
    assert finals["sgd"].tolist() == [[0, 0], [1, 1]]
    assert hd.adapted_rates(fake_results(values, "learning_rate"), "sgd_hd", RATES, 0.01)[
        "start 0.1"
    ][0].tolist() == [0.1, 3, 3, 3, 3]


def test_range_and_best_rate():
    finals = np.array([[0.5, 0.7], [0.9, 0.8], [0.6, np.nan]])  # (rates, seeds)
    assert np.allclose(hd.range_over_rates(finals), [0.4, 0.1])
    assert hd.best_initial_rate(finals, (1, 2, 3)) == 2


def test_beta_harm_counts_each_run_under_one_harm():
    epochs = 12
    rate = np.full((2, 3, epochs), 0.05)
    loss = np.tile(np.linspace(1.0, 0.1, epochs), (2, 3, 1))
    loss[0, 0, 5:] = np.nan  # diverged (and its rate also went negative: counted once)
    rate[0, 0, 6] = -1.0
    rate[0, 1, 3] = -0.01  # negative
    rate[1, 2, -1] = 1e-6  # collapsed: below a tenth of its start and of the plain best
    rate[1, 1, -1] = 0.02  # lower, but not a tenth of either
    harm = hd.beta_harm(rate, loss, starts=(0.01, 0.1), plain_best=0.1)
    assert harm.diverged.tolist() == [[True, False, False], [False, False, False]]
    assert harm.negative.tolist() == [[False, True, False], [False, False, False]]
    assert harm.collapsed.tolist() == [[False, False, False], [False, False, True]]
    assert harm.any()
    assert harm.describe().startswith("1 diverged, 1 negative, 1 collapsed of 6 runs")
    calm = hd.beta_harm(np.full((1, 2, 12), 0.05), loss[1:, :2], (0.05,), 0.05)
    assert not calm.any() and calm.describe() == "no run harmed"


def finals_for(sgd, sgd_hd, adam, adam_hd) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, float) for k, v in locals().items()}


def test_less_sensitive_needs_half_the_range_and_the_best_level():
    flat_and_good = finals_for(
        sgd=[[0.4, 0.5], [0.9, 0.9]], sgd_hd=[[0.85, 0.88], [0.9, 0.89]], adam=0, adam_hd=0
    )
    assert holds(hc.less_sensitive(flat_and_good, "sgd", "sgd_hd", RATES).verdict)
    flat_and_low = dict(flat_and_good, sgd_hd=np.array([[0.6, 0.6], [0.6, 0.6]]))
    row = hc.less_sensitive(flat_and_low, "sgd", "sgd_hd", RATES)
    assert part(row.verdict, "best start as good")[1:] == (0, 2) and "0/2 seeds" in row.measured
    one_seed = dict(flat_and_good, sgd_hd=np.array([[0.85, 0.5], [0.9, 0.89]]))
    row = hc.less_sensitive(one_seed, "sgd", "sgd_hd", RATES)
    assert part(row.verdict, "range at most half of SGD's")[1:] == (1, 2)


def test_never_worse_is_judged_at_every_rate_per_seed():
    base = np.array([[0.8, 0.8], [0.9, 0.9]])
    ok = finals_for(sgd=base, sgd_hd=base - 0.005, adam=base, adam_hd=base + 0.1)
    assert holds(hc.never_worse(ok, RATES).verdict)
    worse = dict(ok, sgd_hd=base - np.array([[0.0, 0.0], [0.02, 0.0]]))
    row = hc.never_worse(worse, RATES)
    assert part(row.verdict, "SGD-HD at every rate")[1:] == (1, 2) and "0.1: 1" in row.measured


def test_raised_then_decays():
    rising = np.array([[0.01, 0.5, 0.4], [0.02, 0.3, 0.2]])
    assert holds(hc.raised_then_decays(rising, 1e-4).verdict)
    slow = hc.raised_then_decays(rising, 0.01).verdict
    assert part(slow, "raised 10x in the first epoch")[1:] == (0, 2)
    never_down = np.array([[0.01, 0.5, 0.6]])
    row = hc.raised_then_decays(never_down, 1e-4)
    assert part(row.verdict, "below its peak at the end")[1:] == (0, 1)


def sweep_with(harmed: bool, wide: bool) -> hd.BetaSweep:
    good = np.array([[0.8, 0.8], [0.82, 0.81]])
    finals = {1e-3: good, 1e-2: good - (0.3 if wide else 0) * np.array([[1, 1], [0, 0]])}
    harm = {
        b: hd.beta_harm(np.full((2, 2, 10), 0.1), np.ones((2, 2, 10)), RATES, 0.1) for b in finals
    }
    if harmed:
        harm[1e-2] = harm[1e-2]._replace(negative=np.array([[True, False], [False, False]]))
    return hd.BetaSweep("sgd_hd", RATES, 1e-3, finals, harm, good - 0.1, 0.1)


def test_little_tuning_is_decided_per_beta_over_the_seeds():
    calm = hc.little_tuning({"sgd_hd": sweep_with(False, False)}, [0, 1])
    assert holds(calm.verdict) and len(calm.verdict.parts) == 2
    row = hc.little_tuning({"sgd_hd": sweep_with(True, False)}, [0, 1])
    assert "1 negative of 4 runs" in row.measured and "harmless in 1/2 seeds" in row.measured
    assert part(row.verdict, "SGD-HD beta=0.01 harmless")[1:] == (1, 2)
    assert part(row.verdict, "SGD-HD beta=0.001 harmless")[1:] == (2, 2)
    assert "betas harmless" not in str(row.verdict)  # seeds are counted, not betas
    wide = hc.harmless_seeds(sweep_with(False, True))
    assert wide[1e-3].tolist() == [True, True] and wide[1e-2].tolist() == [False, False]
    curves = sweep_with(False, False).curves()
    assert list(curves) == ["beta = 0.001 (as above)", "beta = 0.01"]


def test_rescues_mnist_needs_a_gain_of_0_05_for_each_hd():
    names = {
        o: hd.mnist_setting(o, 1e-3, 1e-3 if hd.is_hypergradient(o) else None).name
        for o in hd.LABELS
    }
    accuracy = {"sgd": 0.1, "sgd_hd": 0.6, "adam": 0.5, "adam_hd": 0.52}
    r = fake_results({names[o]: np.full((1, 3), a) for o, a in accuracy.items()})
    v = hc.rescues_mnist(r, names).verdict
    assert part(v, "SGD-HD rescues")[1:] == (1, 1) and part(v, "Adam-HD rescues")[1:] == (0, 1)
    accuracy["adam_hd"] = 0.56
    r = fake_results({names[o]: np.full((1, 3), a) for o, a in accuracy.items()})
    assert holds(hc.rescues_mnist(r, names).verdict)


def test_little_extra_cost():
    def cost(ms, state):
        return {"ms_per_step": min(ms), "all_ms": ms, "weights": 100, "optimizer_state": state}

    costs = {
        "SGD": cost([10, 10], 0),
        "SGD-HD": cost([11, 12], 100),
        "Adam": cost([10, 10], 200),
        "Adam-HD": cost([10, 10], 200),
    }
    assert holds(hc.little_extra_cost(costs, 40, 2, 128).verdict)
    costs["SGD-HD"] = cost([11, 13], 100)  # one round 1.3x slower
    v = hc.little_extra_cost(costs, 40, 2, 128).verdict
    assert part(v, "little extra time")[1:] == (3, 4) and "3/4 rounds" in str(v)
    costs["SGD-HD"] = cost([11, 12], 200)  # two extra copies
    assert part(hc.little_extra_cost(costs, 40, 2, 128).verdict, "memory")[0] == NOT_REPRODUCED


def test_step_costs_measure_every_optimizer_and_its_state():
    def tiny():
        return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])

    x = np.random.default_rng(0).normal(size=(20, 4)).astype("float32")
    y = np.arange(20) % 3
    rec = hd.step_costs(
        x,
        y,
        {"SGD": lambda: keras.optimizers.SGD(0.1), "Adam": lambda: keras.optimizers.Adam()},
        steps=3,
        rounds=2,
        batch=8,
        build=tiny,
    )
    assert set(rec.values) == {"SGD", "Adam"}
    for v in rec.values.values():
        assert len(v["all_ms"]) == 2 and v["ms_per_step"] == min(v["all_ms"]) > 0
        assert v["weights"] == 15
    assert rec.values["Adam"]["optimizer_state"] >= 2 * 15
    assert "verdict" not in hd.describe_step_costs(rec.values)
