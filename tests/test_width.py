"""Chapter 11's width studies: muP on the stacked engine against `model.fit` and the tool.

- `MupSpec` builds exactly the weights `lr_lessons.tools.mup.set_base` gives the Keras
  model, and at the base width exactly SP's;
- a `MupSpec` run alone on the stacked engine (per-layer kernel AND bias multipliers)
  follows `model.fit` with the same per-variable rates exactly (the reasoning of
  tests/test_stacked_dense.py), for Adam and SGD;
- the spec's form of muP (the readout's `1/m` after the output layer, the output bias's
  rate made up for) trains the same network as the tool's (`mup.Readout` with `MuAdam`
  / `MuSGD` in `model.fit`), up to float32 rounding;
- the sweep's bookkeeping and the coordinate check read their arrays right.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.lab import width
from lr_lessons.lab.cache import function_code
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.engines import fit, stacked
from lr_lessons.lab.models import DenseSpec
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools import mup

WIDTH, BASE = 32, 8  # m = 4
RATES = {"adam": 0.01, "sgd": 0.05}


def images(n_train: int = 96, n_test: int = 48, seed: int = 0) -> Dataset:
    """MNIST-shaped synthetic data: 784 features in [0, 1], 10 classes, one-hot."""
    rng = np.random.default_rng(seed)
    centers = rng.random((10, 784)).astype("float32")
    labels = rng.integers(0, 10, n_train + n_test)
    x = np.clip(centers[labels] + 0.3 * rng.normal(size=(len(labels), 784)), 0, 1)
    y = np.eye(10, dtype="float32")[labels]
    n = n_train
    return Dataset(x[:n].astype("float32"), y[:n], x[n:].astype("float32"), y[n:], "synthetic")


def tool_model(seed: int, width_: int = WIDTH, base: int = BASE) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = width.keras_mlp(width_, "mup")
    mup.set_base(model, width.keras_mlp(base, "mup"))
    return model


def test_mup_spec_builds_the_tools_weights_and_rates():
    spec = width.spec(WIDTH, "mup", "sgd", base_width=BASE)
    keras.utils.set_random_seed(5)
    mine = spec.build().get_weights()
    theirs = tool_model(5).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(mine, theirs))
    assert spec.output_multiplier == 1 / 4
    # SGD: input kernel and bias x m, hidden kernel x 1 and bias x m, readout kernel x m,
    # readout bias x 1 in the tool, x m**2 here (the spec scales it by 1/m as well)
    assert spec.rate_multipliers() == [4.0, 4.0, 1.0, 4.0, 4.0, 16.0]
    adam = width.spec(WIDTH, "mup", "adam", base_width=BASE)
    assert adam.rate_multipliers() == [1.0, 1.0, 0.25, 1.0, 1.0, 4.0]
    assert adam.init_scales == spec.init_scales and adam.init_scales[1] == 1.0


def test_mup_is_sp_at_the_base_width():
    sp, mu = width.spec(BASE, "sp"), width.spec(BASE, "mup", "adam", base_width=BASE)
    assert mu.rate_multipliers() == [1.0] * 6 and mu.output_multiplier == 1.0
    for seed in (0, 1):
        a, b = stacked.initial_weights(sp, seed), stacked.initial_weights(mu, seed)
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_a_mup_run_alone_follows_model_fit_exactly(optimizer):
    """Per-layer kernel and bias multipliers: the engine's run alone is fit's arithmetic."""
    data = images()
    setting = Setting(optimizer, optimizer, RATES[optimizer])
    spec = width.spec(WIDTH, "mup", optimizer, base_width=BASE)
    study = Study("alone", "alone", (setting,), 3, 32, model=spec)
    mine = stacked.train(study, [1], data, shuffle=False)
    theirs = fit.fit_one(study, setting, 1, data, shuffle=False)
    for metric in METRICS:
        want = np.asarray(theirs[metric], dtype="float64")
        # the reported means are sums in another order: (31 + 2) half-ulps at most
        bound = 33 * 2.0**-24 * np.maximum(np.abs(want), 1.0)
        got = mine[metric][0, 0]
        assert np.all(np.abs(got - want) <= bound), (metric, got, want)
    assert theirs["loss"][-1] < theirs["loss"][0]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_the_specs_form_of_mup_trains_the_tools_network(optimizer):
    """`MupSpec` (1/m after the output layer) vs `mup.Readout` + `MuAdam`/`MuSGD`: the
    same network, computed in another order: equal to float32 rounding, grown a little
    over 9 steps."""
    data = images()
    rate = RATES[optimizer]
    spec = width.spec(WIDTH, "mup", optimizer, base_width=BASE)
    setting = Setting(optimizer, optimizer, rate)
    study = Study("form", "form", (setting,), 3, 32, model=spec)
    mine = fit.fit_one(study, setting, 2, data, shuffle=False)
    model = tool_model(2)
    kind = {"adam": mup.MuAdam, "sgd": mup.MuSGD}[optimizer]
    opt = kind(rate, multipliers=mup.lr_multipliers(model, width.keras_mlp(BASE, "mup"), optimizer))
    model.compile(opt, "categorical_crossentropy", metrics=["accuracy"])
    theirs = model.fit(
        data.x_train,
        data.y_train,
        batch_size=32,
        epochs=3,
        shuffle=False,
        verbose=0,
        validation_data=(data.x_test, data.y_test),
    ).history
    for metric in ("loss", "val_loss"):
        np.testing.assert_allclose(mine[metric], theirs[metric], rtol=1e-5)
    assert mine["loss"][-1] < mine["loss"][0]


def test_bad_mup_specs_are_refused_naming_the_field():
    with pytest.raises(InputError, match="bias_lr_multipliers"):
        width.MupSpec(784, (8, 8), 10, bias_lr_multipliers=(1.0, 1.0))
    with pytest.raises(InputError, match="init_scales"):
        width.MupSpec(784, (8, 8), 10, init_scales=(1.0, -1.0, 1.0))
    with pytest.raises(InputError, match="parametrization"):
        width.spec(16, "ntk")


def test_mup_specs_of_other_widths_and_rules_are_other_results():
    a, b = width.spec(32, "mup", "adam"), width.spec(32, "mup", "sgd")
    assert a != b and a.to_dict() != b.to_dict()
    assert a.to_dict()["bias_lr_multipliers"] == list(a.bias_lr_multipliers)
    # the class's code is part of the definition: an edit of MupSpec never reads old results
    assert a.to_dict()["code"] == function_code(width.MupSpec)
    assert width.spec(64, "mup", "adam") != DenseSpec(784, (64, 64), 10)


def test_sweep_reads_the_best_rate_and_counts_divergence_as_infinite():
    loss = np.full((2, 1, 3, 1, 1), 1.0)
    loss[0, 0, 1] = 0.5  # SP: the middle rate is best
    loss[0, 0, 2] = np.nan  # the largest diverged
    metrics = {m: loss for m in ("loss", "val_loss", "accuracy", "val_accuracy")}
    s = width.Sweep(metrics, [8], [0.1, 0.2, 0.4], [0])
    assert s.best_rate("sp").tolist() == [[0.2]]
    assert np.isinf(s.final("sp")[0, 2, 0])
    assert s.final("mup").shape == (1, 3, 1)


def test_coord_check_base_width_is_the_same_model_and_ratios_are_read_right():
    data = images(n_train=64)
    check = width.coord_check(data, [8, 16], [0], learning_rate=0.01, steps=2, batch_size=16)
    assert check.size.shape == (2, 2, 1, len(width.LAYERS), 3)
    # At the base width muP is SP (same weights, every multiplier 1): same sizes, every step.
    np.testing.assert_allclose(check.size[0, 0], check.size[1, 0], rtol=1e-6)
    assert not np.allclose(check.size[0, 1], check.size[1, 1])  # and not at 16
    sp = check.size[0, :, :, :, -1]
    np.testing.assert_allclose(check.growth("sp"), sp[-1] / sp[0])
    np.testing.assert_allclose(check.spread("sp"), sp.max(axis=0) / sp.min(axis=0))


def synthetic_sweep(sp_best: list[int], mup_best: list[int], widths=(8, 16, 32, 64)):
    """A sweep whose loss is lowest at the given grid index per width (every seed alike),
    and a little lower for a wider model at the same distance from its best."""
    rates = [2.0**k for k in range(-8, 0)]
    loss = np.ones((2, len(widths), len(rates), 3, 1))
    for p, best in enumerate((sp_best, mup_best)):
        for w, b in enumerate(best):
            distance = np.abs(np.arange(len(rates)) - b)[:, None, None]
            loss[p, w] = 0.5 + 0.1 * distance - 0.01 * w
    metrics = {m: loss for m in ("loss", "val_loss", "accuracy", "val_accuracy")}
    return width.Sweep(metrics, list(widths), rates, [0, 1, 2], meta={"data_source": "test"})


def test_claims_are_decided_per_seed_at_the_fixed_thresholds():
    from lr_lessons.views import width_claims

    size = np.ones((2, 2, 3, len(width.LAYERS), 2))
    size[0, 1, :, 2] = 5.0  # SP's logits 5x at the wider width
    check = width.CoordCheck(size, [8, 16], [0, 1, 2], {"data_source": "test"})
    shifting = synthetic_sweep([6, 5, 4, 3], [6, 6, 6, 6])  # SP: 8x; muP: put
    rows = width_claims.table(shifting, check).rows
    assert [(r.verdict.passed, r.verdict.total) for r in rows[:3]] == [(3, 3)] * 3
    parts = dict(rows[3].verdict.parts)
    assert parts["flat under muP"].passed == 3 and parts["grows under SP"].passed == 3
    still = synthetic_sweep([6, 6, 5, 5], [6, 4, 6, 6])  # SP: 2x; muP: 4x apart
    rows = width_claims.table(still, check).rows
    assert rows[0].verdict.passed == 0 and rows[1].verdict.passed == 0
    assert rows[2].verdict.passed == 0  # at the base's best rate width 16 is off its best
