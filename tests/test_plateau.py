"""The stacked engine's plateau rule against the real keras.callbacks.ReduceLROnPlateau.

Both are fed the same recorded sequences of a monitored value; the learning rate in force
in every epoch must be identical (float32 equality), edge cases included.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.lab.engines.plateau import PlateauRule, PlateauRules

LR0 = 0.01


def _dummy_model(learning_rate: float) -> keras.Model:
    """A compiled model whose metrics are built, so mode="auto" can look them up."""
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    x = np.zeros((4, 2), "float32")
    y = np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    model.evaluate(x, y, verbose=0)  # builds the compiled metrics
    return model


def keras_rates(kwargs: dict, values: np.ndarray, learning_rate: float = LR0) -> np.ndarray:
    """Learning rate in force in each epoch when the real callback sees ``values``."""
    model = _dummy_model(learning_rate)
    callback = keras.callbacks.ReduceLROnPlateau(**kwargs)
    callback.set_model(model)
    callback.on_train_begin()
    monitor = callback.monitor
    rates = []
    for epoch, value in enumerate(values):
        rates.append(np.float32(model.optimizer.learning_rate.numpy()))
        # Keras' logs hold Python floats made from float32 metrics.
        callback.on_epoch_end(epoch, {monitor: float(np.float32(value))})
    return np.array(rates, dtype="float32")


def engine_rates(
    kwargs_list: list[dict | None], values: np.ndarray, learning_rate: float = LR0
) -> np.ndarray:
    """The same for many runs at once through PlateauRules (values: (epochs, runs))."""
    rules = PlateauRules([None if k is None else PlateauRule.from_kwargs(k) for k in kwargs_list])
    state = rules.initial_state(np.full(len(kwargs_list), learning_rate))
    rates = []
    for row in values:
        rates.append(state.learning_rate.numpy())
        metrics = {
            m: np.asarray(row, "float32") for m in ("loss", "accuracy", "val_loss", "val_accuracy")
        }
        state = rules.step(state, rules.select(metrics))
    return np.array(rates, dtype="float32")


def _compare(kwargs: dict, values: np.ndarray, learning_rate: float = LR0) -> np.ndarray:
    expected = keras_rates(kwargs, values, learning_rate)
    got = engine_rates([kwargs], np.asarray(values)[:, None], learning_rate)[:, 0]
    np.testing.assert_array_equal(got, expected)
    return expected


def test_patience_and_reduction_match_keras():
    values = np.array([1.0, 0.9, 0.9, 0.9, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85, 0.85])
    rates = _compare({"patience": 2, "factor": 0.5}, values)
    assert np.count_nonzero(np.diff(rates)) >= 2  # the rate really dropped, twice


@pytest.mark.parametrize("base", [0.5, 0.1234567, 2.0])
def test_ties_at_min_delta_match_keras(base):
    # Improvements of exactly min_delta, just under and just over it, at float32 precision.
    delta = 1e-7
    b = np.float32(base)
    steps = [0, -delta, -delta, -0.5 * delta, -2 * delta, 0, -delta * 1.5, -delta, 0, 0, 0]
    values = np.float32(b + np.cumsum(steps))
    rates = _compare({"patience": 1, "min_delta": delta, "factor": 0.5}, values)
    assert rates[-1] < LR0


def test_ties_with_coarse_min_delta_match_keras():
    values = np.array([1.0, 0.99, 0.98, 0.97, 0.97, 0.96, 0.94, 0.93, 0.93, 0.92])
    rates = _compare({"patience": 1, "min_delta": 0.01, "factor": 0.1}, values)
    assert rates[-1] < LR0


def test_cooldown_matches_keras():
    values = np.ones(14)
    rates = _compare({"patience": 1, "cooldown": 3, "factor": 0.5}, values)
    drops = np.flatnonzero(np.diff(rates)) + 1
    assert len(drops) >= 2 and np.all(np.diff(drops) > 1)  # cooldown spaced the drops


def test_min_lr_clamps_and_stops_like_keras():
    values = np.ones(12)
    rates = _compare({"patience": 1, "factor": 0.1, "min_lr": 3e-4}, values)
    assert rates.min() == np.float32(3e-4)  # clamped at min_lr, then never lower


def test_max_mode_and_auto_accuracy_match_keras():
    values = np.array([0.5, 0.6, 0.6, 0.55, 0.62, 0.62, 0.62, 0.7, 0.7, 0.7])
    auto = _compare({"monitor": "val_accuracy", "patience": 1, "factor": 0.5}, values)
    explicit = _compare({"monitor": "val_accuracy", "mode": "max", "patience": 1}, values)
    assert auto[-1] < LR0 and explicit[-1] < LR0


def test_nan_values_match_keras():
    values = np.array([np.nan, 1.0, 0.5, np.nan, np.nan, 0.4, np.nan, np.nan, np.nan])
    _compare({"patience": 2, "factor": 0.5}, values)
    values = np.array([1.0, np.nan, np.nan, np.nan, 0.5])
    _compare({"patience": 2, "factor": 0.5}, values)


def test_random_sequences_match_keras_run_together():
    """Many rules and tie-prone random walks, all runs stepped as one vector."""
    rng = np.random.default_rng(7)
    n_runs, n_epochs = 24, 40
    kwargs_list: list[dict | None] = []
    for i in range(n_runs):
        if i % 8 == 7:
            kwargs_list.append(None)  # a run without the callback keeps its rate
            continue
        kwargs_list.append(
            {
                "patience": int(rng.integers(0, 4)),
                "cooldown": int(rng.integers(0, 3)),
                "factor": float(rng.choice([0.1, 0.5, 0.3])),
                "min_delta": float(rng.choice([0.0, 1e-7, 1e-3])),
                "min_lr": float(rng.choice([0.0, 1e-4, 2.5e-3])),
                "mode": str(rng.choice(["auto", "min"])),
            }
        )
    grid = np.array([0.0, 1e-7, 2e-7, 1e-3, 2e-3, 5e-3])
    steps = rng.choice(np.concatenate([-grid, grid[1:]]), size=(n_epochs, n_runs))
    values = np.float32(0.5 + np.cumsum(steps, axis=0))
    got = engine_rates(kwargs_list, values)
    n_changed = 0
    for i, kwargs in enumerate(kwargs_list):
        if kwargs is None:
            np.testing.assert_array_equal(got[:, i], np.float32(LR0))
            continue
        expected = keras_rates(kwargs, values[:, i])
        np.testing.assert_array_equal(got[:, i], expected, err_msg=f"run {i}: {kwargs}")
        n_changed += int(expected[-1] != expected[0])
    assert n_changed >= n_runs // 2  # the sequences really exercise the rule


def test_rule_reads_keras_defaults_and_checks():
    rule = PlateauRule.from_kwargs({})
    default = keras.callbacks.ReduceLROnPlateau()
    assert (rule.factor, rule.patience, rule.min_delta, rule.cooldown, rule.min_lr) == (
        default.factor,
        default.patience,
        default.min_delta,
        default.cooldown,
        default.min_lr,
    )
    assert rule.minimize
    with pytest.raises(ValueError, match="factor"):
        PlateauRule.from_kwargs({"factor": 1.5})
    with pytest.raises(ValueError, match="learning_rate"):
        PlateauRule.from_kwargs({"monitor": "learning_rate"})
