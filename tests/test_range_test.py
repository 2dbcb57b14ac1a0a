"""The range test: exact batch losses, bitwise restore, stopping, suggestions, repeats."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from lr_lessons.checks import InputError
from lr_lessons.tools.range_test import (
    STOP_DIVERGED,
    STOP_END,
    STOP_NONFINITE,
    LRFinder,
    RangeTestRepeats,
    RangeTestResult,
    ramp,
    range_test,
    range_test_repeats,
)
from lr_lessons.tools.range_test import rules as sug

N, D, BATCH = 230, 5, 32  # 230 = 7 x 32 + 6: every epoch ends with a partial batch


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype("float32")
    y = (x @ rng.normal(size=(D, 1)) + 0.1 * rng.normal(size=(N, 1))).astype("float32")
    return x, y


def regressor(optimizer=None, dropout: float = 0.0, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((D,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01), loss="mse", metrics=["mae"])
    return model


class BatchReference(keras.callbacks.Callback):
    """Computes each batch's loss independently, before the update, from the batch itself."""

    def __init__(self, x, y, w=None):
        super().__init__()
        self.x, self.y, self.w = x, y, w
        self.losses, self.mae, self.running, self.rates = [], [], [], []
        self.per_epoch = math.ceil(len(x) / BATCH)

    def on_train_batch_begin(self, batch, logs=None):
        sl = slice(batch * BATCH, (batch + 1) * BATCH)
        err = self.model(self.x[sl]).numpy().astype("float64") - self.y[sl]
        w = np.ones(len(err)) if self.w is None else self.w[sl]
        self.losses.append(float(np.sum(w * err[:, 0] ** 2) / len(err)))
        self.mae.append(float(np.mean(np.abs(err))))
        # the rate this batch's update will use, read back from the optimizer
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_train_batch_end(self, batch, logs=None):
        self.running.append(logs["loss"])


# --- the ramp and the batch losses -----------------------------------------------------


def test_ramp_shapes():
    exp = ramp(1e-4, 1.0, 9, "exponential")
    assert exp[0] == pytest.approx(1e-4) and exp[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(exp[1:] / exp[:-1], 10 ** (4 / 8))
    lin = ramp(0.01, 0.5, 8, "linear")
    np.testing.assert_allclose(np.diff(lin), 0.07)


@pytest.mark.parametrize("weighted", [False, True])
def test_records_each_batchs_own_loss_not_the_running_mean(data, weighted):
    x, y = data
    w = np.linspace(0.5, 2.0, N).astype("float32") if weighted else None
    model = regressor()
    ref = BatchReference(x, y, w)
    finder = LRFinder(1e-4, 0.1, steps=30, diverge=None)
    model.fit(x, y, sample_weight=w, batch_size=BATCH, epochs=5, shuffle=False,
              callbacks=[finder, ref], verbose=0)  # fmt: skip
    r = finder.result
    assert r.stop_reason == STOP_END and len(r) == 30
    expected = np.array(ref.losses[:30])
    np.testing.assert_allclose(r.losses, expected, rtol=2e-5)
    # the partial batches (6 rows) at the end of each epoch are covered
    assert 7 in range(30) and 15 in range(30)
    # recording Keras' logs["loss"] would be wrong by far more than that
    assert np.max(np.abs(np.array(ref.running[:30]) - expected) / expected) > 0.05
    # each rate recorded is the one the optimizer held for that batch
    np.testing.assert_array_equal(r.lrs, ref.rates[:30])
    if not weighted:
        np.testing.assert_allclose(r.metrics["mae"], ref.mae[:30], rtol=1e-4)


def test_callback_inside_fit_covers_all_batches_and_restores(data):
    x, y = data
    model = regressor(keras.optimizers.Adam(1e-3))
    before = [v.numpy().copy() for v in model.variables]
    finder = LRFinder(1e-5, 1e-1)
    model.fit(x, y, batch_size=BATCH, epochs=4, callbacks=[finder], verbose=0)
    assert len(finder.result) == 4 * math.ceil(N / BATCH)
    assert finder.result.lrs[-1] == pytest.approx(1e-1, rel=1e-6)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables))


def test_restore_false_leaves_the_trained_weights(data):
    x, y = data
    model = regressor()
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.fit(x, y, batch_size=BATCH, epochs=4, callbacks=[LRFinder(1e-3, 0.1, restore=False)],
              verbose=0)  # fmt: skip
    assert not all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables))
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)  # not the ramp's 0.1


def test_ramp_over_epochs_times_steps_per_epoch(data):
    x, y = data
    r = range_test(regressor(), x, y, batch_size=BATCH, start_lr=1e-4, end_lr=1e-1, steps=None,
                   epochs=3)  # fmt: skip
    assert len(r) == r.settings["steps"] == 3 * math.ceil(N / BATCH)
    np.testing.assert_allclose(r.lrs, ramp(1e-4, 1e-1, len(r)), rtol=1e-6)


def test_dataset_and_arrays_give_the_same_curve(data):
    x, y = data
    a = range_test(regressor(), x, y, batch_size=BATCH, start_lr=1e-4, end_lr=1e-1,
                   steps=25, shuffle=False)  # fmt: skip
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)
    b = range_test(regressor(), ds, start_lr=1e-4, end_lr=1e-1, steps=25)
    np.testing.assert_array_equal(a.lrs, b.lrs)
    np.testing.assert_allclose(a.losses, b.losses, rtol=1e-6)


# --- restore ---------------------------------------------------------------------------


def _optimizers():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.01, 5, 0.7)
    return {
        "sgd-momentum": lambda: keras.optimizers.SGD(0.01, momentum=0.9),
        "adam": lambda: keras.optimizers.Adam(1e-3),
        "adam-schedule": lambda: keras.optimizers.Adam(schedule),
    }


@pytest.mark.parametrize("name", list(_optimizers()))
def test_restores_weights_optimizer_and_rate_bitwise(data, name):
    x, y = data
    make = _optimizers()[name]
    tested, twin = regressor(make(), dropout=0.2), regressor(make(), dropout=0.2)
    for m in (tested, twin):  # a few real updates first: non-zero moments, iterations > 0
        keras.utils.set_random_seed(1)
        m.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    weights = [v.numpy().copy() for v in tested.variables]
    slots = [v.numpy().copy() for v in tested.optimizer.variables]
    rate = tested.optimizer._learning_rate
    result = range_test(tested, x, y, batch_size=BATCH, start_lr=1e-3, end_lr=10.0, steps=40)
    assert len(result) > 5
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(weights, tested.variables))
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(slots, tested.optimizer.variables))
    assert tested.optimizer._learning_rate is rate
    # training resumes exactly as if the test had never run
    for m in (tested, twin):
        keras.utils.set_random_seed(2)
        m.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(tested.variables, twin.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(tested.optimizer.learning_rate) == float(twin.optimizer.learning_rate)


# --- stopping ---------------------------------------------------------------------------


def test_stops_when_smoothed_loss_diverges(data):
    x, y = data
    r = range_test(regressor(), x, y, batch_size=BATCH, start_lr=1e-3, end_lr=1e3, steps=200,
                   diverge=4.0)  # fmt: skip
    assert r.stop_reason == STOP_DIVERGED and len(r) < 200
    assert r.smoothed[-1] > 4.0 * r.smoothed[:-1].min()
    assert np.isfinite(r.losses).all()


def test_stops_on_non_finite_loss_without_recording_it(data):
    x, y = data
    r = range_test(regressor(), x, y, batch_size=BATCH, start_lr=1e-2, end_lr=1e12, steps=300,
                   diverge=None)  # fmt: skip
    assert r.stop_reason == STOP_NONFINITE and len(r) < 300
    assert np.isfinite(r.losses).all() and np.isfinite(r.smoothed).all()
    assert r.stop_lr > r.lrs[-1]


# --- smoothing and suggestions on curves with known answers --------------------------


def test_ema_is_bias_corrected():
    np.testing.assert_allclose(sug.ema(np.full(50, 3.0), 0.98), 3.0)
    v = np.array([1.0, 2.0, 4.0])
    b = 0.9
    expected = [
        0.1 * 1 / (1 - b),
        (0.09 * 1 + 0.1 * 2) / (1 - b**2),
        (0.081 + 0.18 + 0.4) / (1 - b**3),
    ]
    np.testing.assert_allclose(sug.ema(v, b), expected)


def test_loss_delta_is_the_originals_window_difference():
    losses = np.arange(30, dtype=float) ** 2
    d = sug.loss_delta(losses, window=20)
    assert np.isnan(d[:20]).all()
    np.testing.assert_allclose(d[20:], (losses[20:] - losses[:10]) / 20)


LRS = np.logspace(-6, 0, 301)
LOG = np.log10(LRS)


def test_steepest_finds_the_inflection_and_skips_the_noisy_ends():
    loss = 2.0 - np.tanh((LOG + 3.0) / 0.4)  # steepest fall at 1e-3
    loss[:10] -= np.linspace(3, 0, 10)  # a wild start that the skip must ignore
    s = sug.suggest("steepest", LRS, loss)
    assert s.lr == pytest.approx(1e-3, rel=0.05)
    assert s.loss == loss[s.index]


def test_minimum_is_a_tenth_of_the_lowest_point():
    loss = (LOG + 2.0) ** 2  # lowest at 1e-2
    s = sug.suggest("minimum", LRS, loss)
    assert s.lr == pytest.approx(1e-3, rel=1e-9)
    assert LRS[s.index] == pytest.approx(1e-3, rel=0.03)


def test_valley_sits_half_way_down_the_longest_fall():
    n = len(LRS)
    rng = np.random.default_rng(0)
    a, b = 100, 250  # the loss falls from point 100 to point 250 and explodes after
    loss = np.empty(n)
    loss[:a] = 3.0 + 0.02 * rng.random(a)  # flat and noisy
    loss[a:b] = np.linspace(3.1, 0.5, b - a)
    loss[b:] = 0.5 + np.linspace(0, 20, n - b) ** 2 + 0.01
    s = sug.suggest("valley", LRS, loss)
    mid = (a + b) / 2
    assert abs(s.index - mid) <= 0.05 * (b - a)
    # a short, steeper dip elsewhere does not win: length counts, not depth
    loss2 = loss.copy()
    loss2[40:50] = np.linspace(3.0, 1.0, 10)
    assert abs(sug.valley(LRS, loss2) - mid) <= 0.05 * (b - a)


def test_suggestions_need_known_names():
    with pytest.raises(ValueError, match="unknown suggestion 'best'"):
        sug.suggest("best", LRS, LOG)


def _result(lrs, losses, **metrics):
    return RangeTestResult(lrs, losses, STOP_END, {"beta": 0.0, "window": 5}, metrics)


def test_max_usable_rate_and_cyclical_bounds():
    lrs = np.linspace(0.01, 1.0, 100)
    acc = np.minimum(lrs / 0.4, 1.0) - np.maximum(lrs - 0.4, 0) * 2  # peaks at 0.4
    r = _result(lrs, np.ones(100), accuracy=acc)
    top = lrs[np.argmax(acc)]
    assert r.max_usable_lr("accuracy") == top
    low, high = r.cyclical_bounds(0.25)
    assert (low, high) == (top / 4, top)
    with pytest.raises(ValueError, match="fraction"):
        r.cyclical_bounds(1.5)


# --- repeats, validation mode, saving, plots ------------------------------------------


def test_repeats_report_mean_band_and_spread(data, tmp_path):
    x, y = data
    rep = range_test_repeats(lambda seed: regressor(seed=seed), x, y, seeds=[0, 1, 2],
                             batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=60,
                             meta={"data": "synthetic"})  # fmt: skip
    lrs, values = rep.curves()
    assert values.shape[0] == 3 and not np.array_equal(values[0], values[1])
    _, mean, lo, hi = rep.mean_curve()
    np.testing.assert_allclose(mean, values.mean(0))
    assert (lo <= mean).all() and (mean <= hi).all()
    spread = rep.suggestion_spread("steepest")
    geo, smin, smax = rep.suggestion_summary("steepest")
    assert spread.shape == (3,) and smin <= geo <= smax
    assert [r.meta["seed"] for r in rep.runs] == [0, 1, 2]
    back = RangeTestRepeats.load(rep.save(tmp_path / "rep.npz"))
    assert back.seeds == [0, 1, 2] and back.meta == {"data": "synthetic"}
    np.testing.assert_array_equal(back.runs[1].losses, rep.runs[1].losses)
    assert back.runs[2].stop_reason == rep.runs[2].stop_reason


def test_validation_mode_evaluates_every_k_steps_without_disturbing_training(data):
    x, y = data
    kw = dict(batch_size=BATCH, start_lr=1e-4, end_lr=0.1, steps=30, shuffle=False)
    plain = range_test(regressor(), x, y, **kw)
    model = regressor()
    val = range_test(model, x, y, validation_data=(x[:64], y[:64]), validate_every=10, **kw)
    np.testing.assert_array_equal(plain.losses, val.losses)
    np.testing.assert_array_equal(val.validation["step"], [9, 19, 29])
    np.testing.assert_array_equal(val.validation["lr"], val.lrs[[9, 19, 29]])
    assert np.isfinite(val.validation["loss"]).all() and "mae" in val.validation


def test_result_save_load_round_trip(tmp_path):
    r = _result(LRS[:50], np.linspace(2, 1, 50), accuracy=np.linspace(0, 1, 50))
    r.meta = {"data_source": "test"}
    back = RangeTestResult.load(r.save(tmp_path / "r.npz"))
    np.testing.assert_array_equal(back.losses, r.losses)
    np.testing.assert_array_equal(back.metrics["accuracy"], r.metrics["accuracy"])
    assert back.meta == r.meta and back.settings == r.settings


def test_plots_draw_finite_curves_and_one_marker_per_suggestion():
    from lr_lessons.views.range_test_plots import plot_delta, plot_loss

    loss = 2.0 - np.tanh((LOG + 3.0) / 0.4)
    r = RangeTestResult(LRS, loss, STOP_END, {"beta": 0.9, "window": 20})
    fig = plot_loss({"run": r})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    for line in ax.get_lines():
        assert np.isfinite(np.asarray(line.get_ydata(), dtype=float)).all()
    markers = [ln for ln in ax.get_lines() if ln.get_marker() in ("v", "s", "o", "D")]
    assert len(markers) == len(sug.SUGGESTIONS) == 4
    assert len(ax.get_legend().get_texts()) == 5  # the curve + four rules
    fig2 = plot_delta({"run": r})
    assert fig2.axes[0].get_xscale() == "log"
    # repeats: identical seeds (zero spread) and a shorter run are drawn without error
    rep = RangeTestRepeats(
        [0, 1, 2], [r, r, RangeTestResult(LRS[:200], loss[:200], STOP_END, r.settings)]
    )
    ax3 = plot_loss({"rep": rep}).axes[0]
    assert max(len(line.get_xdata()) for line in ax3.get_lines()) == 200


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(start_lr=0.0), "start_lr"),
        (dict(start_lr=-1e-3), "start_lr"),
        (dict(start_lr=1e-2, end_lr=1e-3), "end_lr"),
        (dict(start_lr=1e-2, end_lr=1e-2), "end_lr"),
        (dict(steps=10**9), "steps=1000000000 is absurd"),
        (dict(mode="cosine"), "unknown mode 'cosine'"),
        (dict(beta=1.0), "beta"),
        (dict(steps=2.5), "steps must be .*whole number, got 2.5"),
        (dict(window=0), "window must be .*, got 0"),
        (dict(skip_start=-1), "skip_start"),
        (dict(monitor="val_acc"), "unknown monitor 'val_acc'"),
        (dict(chance_loss=-1.0), "chance_loss"),
        (dict(validation_data=[1, 2, 3, 4]), "validation_data"),
        (dict(seed=-1), "seed must be .*, got -1"),
    ],
)
def test_bad_settings_raise_input_error(data, kwargs, message):
    x, y = data
    with pytest.raises(InputError, match=message):
        range_test(regressor(), x, y, **kwargs)


def test_uncompiled_model_is_refused(data):
    x, y = data
    model = keras.Sequential([keras.Input((D,)), keras.layers.Dense(1)])
    with pytest.raises(InputError, match="not compiled"):
        range_test(model, x, y)


def test_steps_per_execution_above_one_is_refused(data):
    x, y = data
    model = regressor()
    model.compile(optimizer="sgd", loss="mse", steps_per_execution=4)
    with pytest.raises(InputError, match="steps_per_execution=4"):
        range_test(model, x, y, steps=30)


def test_unknown_suggestion_name_on_a_result():
    r = _result(LRS, 2.0 - np.tanh(LOG + 3.0))
    with pytest.raises(InputError, match="unknown suggestion 'steep'"):
        r.suggestion("steep")
