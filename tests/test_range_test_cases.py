"""The range test where a Keras 3 user trains: mixed precision, schedules, gradient
accumulation, any data, initial_epoch, interrupts, fine-tuning, validation mode."""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from lr_lessons.checks import InputError
from lr_lessons.tools.range_test import (
    STOP_CHANCE,
    STOP_DATA,
    STOP_END,
    STOP_INTERRUPTED,
    LRFinder,
    RangeTestResult,
    ramp,
    range_test,
)
from lr_lessons.tools.schedules import CyclicalLearningRate, OneCycle

N, D, BATCH = 256, 5, 32


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype("float32")
    y = (x @ rng.normal(size=(D, 1)) + 0.1 * rng.normal(size=(N, 1))).astype("float32")
    return x, y


def regressor(optimizer=None, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [keras.Input((D,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(1)]
    )
    model.compile(optimizer=optimizer or keras.optimizers.SGD(0.01), loss="mse")
    return model


def state(model) -> list[np.ndarray]:
    return [
        keras.ops.convert_to_numpy(v).copy() for v in model.variables + model.optimizer.variables
    ]


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


class RateProbe(keras.callbacks.Callback):
    """Reads the optimizer's rate back before every batch, and its update counter."""

    def __init__(self):
        super().__init__()
        self.rates, self.iterations = [], []

    def on_train_batch_begin(self, batch, logs=None):
        opt = self.model.optimizer
        self.rates.append(float(keras.ops.convert_to_numpy(opt.learning_rate)))
        inner = getattr(opt, "inner_optimizer", opt)
        self.iterations.append(int(keras.ops.convert_to_numpy(inner._iterations)))


class Interrupt(keras.callbacks.Callback):
    def __init__(self, after: int, error=KeyboardInterrupt):
        super().__init__()
        self.after, self.error, self.seen = after, error, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            raise self.error("stop")


# --- mixed precision, schedules, accumulation -------------------------------------------


def test_mixed_float16_ramps_the_inner_optimizers_rate(data):
    x, y = data
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = regressor(keras.optimizers.SGD(0.01))
        assert hasattr(model.optimizer, "inner_optimizer")  # a LossScaleOptimizer
        probe = RateProbe()
        finder = LRFinder(1e-4, 1.0, steps=40, diverge=None)
        model.fit(x, y, batch_size=BATCH, epochs=10, callbacks=[finder, probe], verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    r = finder.result
    assert r.stop_reason == STOP_END and len(r) == 40
    # one point per real update; each recorded rate is the rate read back from the
    # inner optimizer before that update (steps skipped for overflow are not points)
    its = np.array(probe.iterations[: len(probe.rates)])
    updated = np.flatnonzero(np.diff(np.append(its, its[-1] + 1)) > 0)[:40]
    np.testing.assert_array_equal(r.lrs, np.array(probe.rates)[updated])
    np.testing.assert_allclose(r.lrs, ramp(1e-4, 1.0, 40), rtol=1e-6)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_schedule_optimizer_variables_and_save_load_round_trip(data, tmp_path):
    x, y = data
    model = regressor(
        keras.optimizers.RMSprop(keras.optimizers.schedules.ExponentialDecay(1e-3, 100, 0.9))
    )
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    variables = list(model.optimizer.variables)
    for _ in range(3):
        range_test(model, x, y, batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=30)
    assert model.optimizer.variables == variables  # same list, same objects, same length
    path = tmp_path / "m.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'Skipping variable loading for optimizer' fails
        back = keras.models.load_model(path)
    assert same(state(model), state(back))
    assert any(np.abs(v).sum() > 0 for v in state(back)[len(model.variables) + 2 :])


def test_gradient_accumulation_records_one_point_per_real_update(data):
    x, y = data
    model = regressor(keras.optimizers.SGD(0.01, gradient_accumulation_steps=4))
    probe = RateProbe()
    finder = LRFinder(1e-4, 0.1, diverge=None)
    # 256 / 16 = 16 batches per epoch x 8 epochs = 128 batches = 32 real updates
    model.fit(x, y, batch_size=16, epochs=8, shuffle=False, callbacks=[finder, probe], verbose=0)
    r = finder.result
    assert len(r) == 32 and r.stop_reason == STOP_END
    assert r.settings["accumulation"] == 4
    # the rate of update k is the one the optimizer holds on its 4 batches
    rates = np.array(probe.rates).reshape(32, 4)
    assert (rates == rates[:, :1]).all()
    np.testing.assert_array_equal(r.lrs, rates[:, 0])
    np.testing.assert_allclose(r.lrs, ramp(1e-4, 0.1, 32), rtol=1e-6)


def test_initial_epoch_plans_the_batches_fit_runs(data):
    x, y = data
    finder = LRFinder(1e-4, 0.1, diverge=None)
    regressor().fit(x, y, batch_size=BATCH, epochs=6, initial_epoch=2, callbacks=[finder],
                    verbose=0)  # fmt: skip
    assert len(finder.result) == 4 * N // BATCH
    assert finder.result.stop_reason == STOP_END
    assert finder.result.lrs[-1] == pytest.approx(0.1, rel=1e-6)


# --- any data ------------------------------------------------------------------------------


def two_input_model(list_inputs: bool) -> keras.Model:
    keras.utils.set_random_seed(0)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
    model = keras.Model([a, b] if list_inputs else {"a": a, "b": b}, out)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    return model


@pytest.mark.parametrize("kind", ["dict", "list"])
def test_multi_input_models_take_dicts_and_lists(data, kind):
    x, y = data
    inputs = {"a": x[:, :3], "b": x[:, 3:]}
    if kind == "list":
        inputs = [inputs["a"], inputs["b"]]
    r = range_test(two_input_model(kind == "list"), inputs, y, batch_size=BATCH, start_lr=1e-4,
                   end_lr=0.1, steps=30, diverge=None)  # fmt: skip
    assert len(r) == 30 and r.stop_reason == STOP_END
    with pytest.raises(ValueError, match="differ in length"):
        range_test(two_input_model(False), {"a": x[:, :3], "b": x[:100, 3:]}, y, steps=30)


def test_python_generator(data):
    x, y = data

    def batches():
        while True:
            for i in range(0, N, BATCH):
                yield x[i : i + BATCH], y[i : i + BATCH]

    r = range_test(regressor(), batches(), start_lr=1e-4, end_lr=0.1, steps=30, diverge=None)
    assert len(r) == 30 and r.stop_reason == STOP_END

    def short():
        for i in range(0, 10 * BATCH, BATCH):
            yield x[i : i + BATCH], y[i : i + BATCH]

    # A generator cannot be cycled: the test says the data ran out.
    r2 = range_test(regressor(), short(), start_lr=1e-4, end_lr=0.1, steps=30, diverge=None)
    assert r2.stop_reason == STOP_DATA and len(r2) == 8


def test_dataset_of_unknown_length_is_cycled(data):
    x, y = data
    ds = tf.data.Dataset.from_tensor_slices((x, y)).filter(lambda a, b: True).batch(BATCH)
    assert int(ds.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    r = range_test(regressor(), ds, start_lr=1e-4, end_lr=0.1, steps=50, diverge=None)
    assert len(r) == 50 and r.stop_reason == STOP_END  # 8 batches a pass, cycled


def test_tf_data_validation_set(data):
    x, y = data
    val = tf.data.Dataset.from_tensor_slices((x[:64], y[:64])).batch(32)  # 2 batches
    r = range_test(regressor(), x, y, batch_size=BATCH, start_lr=1e-4, end_lr=0.1, steps=30,
                   validation_data=val, validate_every=10)  # fmt: skip
    np.testing.assert_array_equal(r.validation["step"], [9, 19, 29])
    assert np.isfinite(r.validation["loss"]).all()
    with pytest.raises(ValueError, match="validation_data must be"):
        LRFinder(validation_data=[x[:64], y[:64], y[:64], y[:64]])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda x, y: (x[:0], y[:0], {}), "0 samples"),
        (lambda x, y: (x, y, {"batch_size": 0}), "batch_size must be .*, got 0"),
        (lambda x, y: (x, y, {"batch_size": -4}), "batch_size must be .*, got -4"),
        (lambda x, y: (x, y, {"batch_size": 2.5}), "batch_size must be .*whole number, got 2.5"),
        (lambda x, y: (x, y[:10], {}), "x and y differ in length"),
        (
            lambda x, y: (tf.data.Dataset.from_tensor_slices((x, y)).batch(8).take(0), None, {}),
            "empty",
        ),
    ],
)
def test_bad_data_is_refused_before_training(data, make, message):
    x, y = data
    model = regressor()
    before = state(model)
    xx, yy, kw = make(x, y)
    with pytest.raises(InputError, match=message):
        range_test(model, xx, yy, steps=30, **kw)
    assert same(before, state(model))


# --- interrupts ----------------------------------------------------------------------------


def _pretrained(x, y):
    model = regressor(
        keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-3, 5, 0.7))
    )
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    return model


def test_interrupted_range_test_restores_and_returns_the_partial_curve(data):
    x, y = data
    model = _pretrained(x, y)
    before, schedule = state(model), model.optimizer._learning_rate
    with pytest.warns(UserWarning, match="interrupted after 25 points"):
        r = _interrupted(model, x, y)
    assert r.stop_reason == STOP_INTERRUPTED and len(r) == 25
    assert same(before, state(model)) and model.optimizer._learning_rate is schedule


def _interrupted(model, x, y):
    # range_test() with a callback that raises KeyboardInterrupt after 25 batches.
    original = model.fit

    def fit(*args, callbacks=(), **kwargs):
        return original(*args, callbacks=[*callbacks, Interrupt(25)], **kwargs)

    model.fit = fit
    try:
        return range_test(model, x, y, batch_size=BATCH, steps=100, diverge=None)
    finally:
        del model.fit


def test_an_error_inside_fit_restores_then_raises(data):
    x, y = data
    model = _pretrained(x, y)
    before = state(model)
    original = model.fit
    model.fit = lambda *a, callbacks=(), **k: original(
        *a, callbacks=[*callbacks, Interrupt(10, RuntimeError)], **k
    )
    with pytest.raises(RuntimeError, match="stop"):
        range_test(model, x, y, batch_size=BATCH, steps=100)
    del model.fit
    assert same(before, state(model))


def test_context_manager_restores_an_interrupted_fit_and_keeps_the_curve(data):
    x, y = data
    model = _pretrained(x, y)
    before, schedule = state(model), model.optimizer._learning_rate
    with pytest.raises(KeyboardInterrupt):
        with LRFinder(1e-4, 1.0, steps=100) as finder:
            model.fit(x, y, batch_size=BATCH, epochs=20, callbacks=[finder, Interrupt(25)],
                      verbose=0)  # fmt: skip
    assert finder.result.stop_reason == STOP_INTERRUPTED and len(finder.result) == 25
    assert same(before, state(model)) and model.optimizer._learning_rate is schedule
    # and training goes on as if the test never ran
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)


def test_restore_model_by_hand_after_an_interrupted_fit(data):
    x, y = data
    model = _pretrained(x, y)
    before = state(model)
    finder = LRFinder(1e-4, 1.0, steps=100)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=BATCH, epochs=20, callbacks=[finder, Interrupt(25)],
                  verbose=0)  # fmt: skip
    assert not same(before, state(model))  # Keras does not end the callback
    finder.restore_model()
    finder.restore_model()  # a second call changes nothing
    assert same(before, state(model)) and len(finder.result) == 25


# --- fine-tuning, suggestions in use, chance level ----------------------------------------


def test_reset_optimizer_runs_on_fresh_slots_and_restores_the_old_ones(data):
    x, y = data
    old = regressor(keras.optimizers.SGD(0.01, momentum=0.9))
    old.fit(x, y, batch_size=BATCH, epochs=3, verbose=0)
    before = state(old)
    fresh = regressor(keras.optimizers.SGD(0.01, momentum=0.9))
    fresh.set_weights(old.get_weights())
    kw = dict(batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=40, diverge=None,
              shuffle=False)  # fmt: skip
    reset = range_test(old, x, y, reset_optimizer=True, **kw)
    assert same(before, state(old))
    plain = range_test(fresh, x, y, **kw)
    np.testing.assert_allclose(reset.losses, plain.losses, rtol=1e-6)
    stale = range_test(old, x, y, **kw)  # the old momentum changes the curve
    assert not np.allclose(stale.losses, plain.losses, rtol=1e-3)


def test_suggestion_apply_and_cyclical_bounds(data):
    x, y = data
    model = regressor(keras.optimizers.SGD(0.01))
    r = range_test(model, x, y, batch_size=BATCH, start_lr=1e-4, end_lr=10.0, steps=60, beta=0.9)
    s = r.suggestion("valley")
    assert s.apply(model) == s.lr
    assert float(model.optimizer.learning_rate) == pytest.approx(s.lr, rel=1e-6)
    base, top = r.cyclical_bounds(0.25)  # no accuracy recorded: read on the loss
    assert (base, top) == (top / 4, r.max_usable_lr("loss"))
    clr = CyclicalLearningRate(*r.cyclical_bounds(), step_size=10)
    assert float(clr(0)) == pytest.approx(base, rel=1e-6)
    assert float(OneCycle(*s.cyclical_bounds(1 / 3), total_steps=100)(45)) == (
        pytest.approx(s.lr, rel=1e-5)
    )
    scheduled = regressor(
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5))
    )
    with pytest.raises(ValueError, match="cannot be set"):
        s.apply(scheduled)
    flat = RangeTestResult(np.logspace(-4, 0, 50), np.full(50, 2.0), STOP_END, {"beta": 0.0})
    with pytest.raises(ValueError, match="unreliable"):
        flat.suggestion("valley").apply(model)


def test_chance_level_stop_for_a_classifier_that_unlearns():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 8)).astype("float32")
    y = (x[:, :4].argmax(1)).astype("int32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
         keras.layers.Dense(4, activation="softmax")]
    )  # fmt: skip
    model.compile(optimizer=keras.optimizers.SGD(), loss="sparse_categorical_crossentropy")
    kw = dict(batch_size=32, start_lr=1e-2, end_lr=1e4, steps=300, beta=0.9)
    r = range_test(model, x, y, diverge=None, **kw)
    assert r.settings["chance_loss"] == pytest.approx(math.log(4))
    assert r.stop_reason == STOP_CHANCE
    assert r.smoothed.min() < 0.5 * math.log(4)
    assert r.smoothed[-1] >= 0.95 * math.log(4)
    off = range_test(model, x, y, diverge=None, chance_loss=None, **kw)
    assert off.stop_reason != STOP_CHANCE and len(off) > len(r)


# --- validation mode to the end -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["numpy", "tf.data"])
def test_validation_loss_drives_the_curve(data, kind):
    x, y = data
    xv, yv = x[:64] * 1.0, y[:64]
    val = (xv, yv) if kind == "numpy" else tf.data.Dataset.from_tensor_slices((xv, yv)).batch(16)
    model = regressor()
    r = range_test(model, x, y, batch_size=BATCH, start_lr=1e-4, end_lr=10.0, steps=60,
                   monitor="val_loss", validation_data=val, validate_every=2)  # fmt: skip
    assert r.monitor == "val_loss"
    n = len(r)
    np.testing.assert_array_equal(r.losses, r.validation["loss"][:n])
    np.testing.assert_array_equal(r.lrs, r.train["lr"][1::2][:n])
    assert len(r.train["loss"]) >= 2 * n - 1
    # suggestions and divergence read the validation curve
    s = r.suggestion("valley")
    assert r.lrs[s.index] == s.lr
    if r.stop_reason == "loss diverged":
        assert r.smoothed[-1] > 4 * r.smoothed.min()
    with pytest.raises(ValueError, match="monitor='val_loss' needs validation_data"):
        LRFinder(monitor="val_loss")
