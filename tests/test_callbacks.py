"""LearningRateMonitor records the rate the optimizer really applied.

The check is independent of Keras' bookkeeping: a linear model without bias trained on
the whole data set in one batch per epoch, with plain SGD and mean squared error, moves
its weights by exactly ``-rate * gradient``, and the gradient is computed here by hand.
So the rate each epoch used is ``(w_before - w_after) / gradient``.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.tools.callbacks import LearningRateMonitor, learning_rate_used

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + RNG.normal(0, 3.0, size=(64, 1))).astype("float32")


class WeightTrace(keras.callbacks.Callback):
    """Keeps the kernel before training and after every epoch."""

    def on_train_begin(self, logs=None):
        self.weights = [self.model.layers[0].kernel.numpy().copy()]

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.layers[0].kernel.numpy().copy())


def applied_rates(weights: list[np.ndarray]) -> np.ndarray:
    rates = []
    for before, after in zip(weights[:-1], weights[1:]):
        grad = 2.0 / len(X) * X.T @ (X @ before.astype("float64") - Y)
        k = np.argmax(np.abs(grad))
        rates.append((before[k, 0] - after[k, 0]) / grad[k, 0])
    return np.array(rates)


def train(learning_rate, callbacks, epochs=8):
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(keras.optimizers.SGD(learning_rate=learning_rate), loss="mse")
    trace = WeightTrace()
    history = model.fit(
        X,
        Y,
        batch_size=len(X),
        epochs=epochs,
        validation_data=(X, Y),
        callbacks=[*callbacks, trace],
        verbose=0,
        shuffle=False,
    )
    return applied_rates(trace.weights), history


def test_records_a_constant_rate():
    monitor = LearningRateMonitor()
    used, history = train(0.05, [monitor], epochs=3)
    np.testing.assert_allclose(used, 0.05, rtol=1e-4)
    np.testing.assert_allclose(monitor.rates, used, rtol=1e-4)
    np.testing.assert_allclose(history.history["learning_rate"], used, rtol=1e-4)


@pytest.mark.parametrize("monitor_first", [True, False])
def test_records_the_rate_used_under_reduce_on_plateau(monitor_first):
    monitor = LearningRateMonitor()
    # min_delta so large that only the first epoch counts as an improvement.
    plateau = keras.callbacks.ReduceLROnPlateau(
        monitor="val_loss", factor=0.5, patience=2, min_delta=1e6
    )
    callbacks = [monitor, plateau] if monitor_first else [plateau, monitor]
    used, _ = train(0.04, callbacks, epochs=9)
    assert len(set(np.round(used, 6))) >= 3, "the rate should have been cut at least twice"
    np.testing.assert_allclose(monitor.rates, used, rtol=1e-4)
    # Keras' own record (written by ReduceLROnPlateau before it cuts) agrees.
    assert monitor.rates[:3] == pytest.approx([0.04, 0.04, 0.04], rel=1e-6)


def test_records_the_rate_used_under_a_schedule():
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.05, decay_steps=1, decay_rate=0.5)
    monitor = LearningRateMonitor()
    used, _ = train(schedule, [monitor], epochs=6)
    expected = [0.05 / (1 + 0.5 * t) for t in range(6)]
    np.testing.assert_allclose(used, expected, rtol=1e-4)
    np.testing.assert_allclose(monitor.rates, expected, rtol=1e-5)


def test_per_batch_rates_follow_the_schedule_step_by_step():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9)
    monitor = LearningRateMonitor(per_batch=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    model.fit(X, Y, batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    np.testing.assert_allclose(monitor.batch_rates, 0.1 * 0.9 ** np.arange(8), rtol=1e-5)
    np.testing.assert_allclose(monitor.rates, [0.1 * 0.9**3, 0.1 * 0.9**7], rtol=1e-5)
    # Reading optimizer.learning_rate now would give the *next* update's rate.
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1 * 0.9**8, rel=1e-5)
    assert learning_rate_used(model.optimizer) == pytest.approx(0.1 * 0.9**7, rel=1e-5)


def test_per_batch_rates_under_mixed_precision_are_those_of_the_updates_made():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9)
    monitor = LearningRateMonitor(per_batch=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(learning_rate=schedule))
    model.compile(optimizer, loss="mse")
    model.fit(X, Y, batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    np.testing.assert_allclose(monitor.batch_rates, 0.1 * 0.9 ** np.arange(8), rtol=1e-5)
    assert learning_rate_used(model.optimizer) == pytest.approx(0.1 * 0.9**7, rel=1e-5)


def test_works_with_adaptive_optimizers_variable_rate():
    monitor = LearningRateMonitor()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(learning_rate=0.003), loss="mse")
    model.fit(X, Y, batch_size=32, epochs=2, callbacks=[monitor], verbose=0)
    assert monitor.rates == pytest.approx([0.003, 0.003], rel=1e-6)
