"""Keras' `ReduceLROnPlateau` decision rule on tensors, for many runs at once.

The stacked engine trains every setting and seed of a study inside one TensorFlow
program, so it cannot call a Keras callback between epochs. This module restates the
callback's `on_epoch_end` as tensor operations, one entry per run, down to Keras'
floating-point details: the monitored value arrives as a Python float made from a
float32 metric, `current -/+ min_delta` is formed in float64 and then compared with the
best value in float32 (Keras' `ops.less`/`ops.greater` turn Python floats into
float32 tensors), and the new rate `max(old * factor, min_lr)` is formed in float64
and stored in the optimizer's float32 variable. The rule's parameters are read from a real
`keras.callbacks.ReduceLROnPlateau` built from the setting, so Keras' defaults and checks
apply. `tests/test_plateau.py` drives the real callback and this rule with the same
recorded sequences and compares the learning-rate trajectories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

MONITORED = ("loss", "accuracy", "val_loss", "val_accuracy")


@dataclass(frozen=True)
class PlateauRule:
    """The parameters of one `ReduceLROnPlateau` callback, as Keras holds them."""

    monitor: str
    factor: float
    patience: int
    min_delta: float
    cooldown: int
    min_lr: float
    minimize: bool

    @classmethod
    def from_callback(cls, callback: keras.callbacks.ReduceLROnPlateau) -> PlateauRule:
        """Read the rule off a Keras callback (its `mode="auto"` resolved as Keras does)."""
        if callback.monitor not in MONITORED:
            raise ValueError(
                f"ReduceLROnPlateau monitors {callback.monitor!r}; the stacked engine "
                f"records only {list(MONITORED)}"
            )
        if callback.mode == "auto":
            # Keras: names ending in "loss" are minimised; "accuracy" has direction "up".
            minimize = callback.monitor.removeprefix("val_") == "loss"
        else:
            minimize = callback.mode == "min"
        return cls(
            monitor=callback.monitor,
            factor=float(callback.factor),
            patience=int(callback.patience),
            min_delta=abs(float(callback.min_delta)),
            cooldown=int(callback.cooldown),
            min_lr=float(callback.min_lr),
            minimize=minimize,
        )

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> PlateauRule:
        """The rule of `keras.callbacks.ReduceLROnPlateau(**kwargs)`."""
        return cls.from_callback(keras.callbacks.ReduceLROnPlateau(**kwargs))


class PlateauState(NamedTuple):
    """Per-run state of the callback plus the rate it controls (all shape `(n_runs,)`)."""

    learning_rate: tf.Tensor  # float32, as the optimizer's variable holds it
    best: tf.Tensor  # float64, Keras' Python float
    has_best: tf.Tensor  # bool, False where Keras' ``best`` is still None
    wait: tf.Tensor  # int32
    cooldown_counter: tf.Tensor  # int32


class PlateauRules:
    """Several runs' rules as vectors; runs without a rule (`None`) keep their rate.

    `vectors` names the per-run attributes (a stacked program takes them as inputs:
    `select` and `step` read them from their `values` argument, by default `values()`).
    """

    vectors = (
        "active",
        "monitor_index",
        "factor",
        "patience",
        "signed_delta",
        "cooldown",
        "min_lr",
        "min_lr32",
        "minimize",
    )

    def __init__(self, rules: Sequence[PlateauRule | None]) -> None:
        self.n = len(rules)
        self.active_any = any(r is not None for r in rules)
        dummy = PlateauRule("val_loss", 0.1, 1, 0.0, 0, 0.0, True)
        filled = [r if r is not None else dummy for r in rules]
        self.active = tf.constant([r is not None for r in rules])
        self.monitor_index = tf.constant([MONITORED.index(r.monitor) for r in filled], tf.int32)
        self.factor = tf.constant([r.factor for r in filled], tf.float64)
        self.patience = tf.constant([r.patience for r in filled], tf.int32)
        # MonitorCallback flips the sign of min_delta for "less", then tests current - delta.
        self.signed_delta = tf.constant(
            [-r.min_delta if r.minimize else r.min_delta for r in filled], tf.float64
        )
        self.cooldown = tf.constant([r.cooldown for r in filled], tf.int32)
        self.min_lr = tf.constant([r.min_lr for r in filled], tf.float64)
        self.min_lr32 = tf.constant(np.float32([r.min_lr for r in filled]))
        self.minimize = tf.constant([r.minimize for r in filled])

    def values(self) -> dict[str, tf.Tensor]:
        """The per-run vectors, by name (`vectors`)."""
        return {name: getattr(self, name) for name in self.vectors}

    def initial_state(self, learning_rate: Any) -> PlateauState:
        """The state at `on_train_begin`: no best value yet, counters at zero."""
        lr = tf.convert_to_tensor(np.asarray(learning_rate, dtype="float32").reshape(self.n))
        zeros = tf.zeros([self.n], tf.int32)
        return PlateauState(
            lr, tf.zeros([self.n], tf.float64), tf.zeros([self.n], tf.bool), zeros, zeros
        )

    def select(
        self, metrics: Mapping[str, tf.Tensor], values: Mapping[str, Any] | None = None
    ) -> tf.Tensor:
        """Each run's monitored value from float32 metric vectors keyed as in MONITORED."""
        v = self.values() if values is None else values
        stacked = tf.stack([metrics[m] for m in MONITORED], axis=1)
        return tf.gather(stacked, v["monitor_index"][:, None], batch_dims=1)[:, 0]

    def step(
        self, state: PlateauState, current: tf.Tensor, values: Mapping[str, Any] | None = None
    ) -> PlateauState:
        """`on_epoch_end` for every run.

        Args:
            state: The runs' callback state before this epoch's end.
            current: The monitored value of every run (float32).
            values: The per-run vectors by name (default: this object's, `values()`).

        Returns:
            The new state (and rate) of every run.
        """
        v = self.values() if values is None else values
        current = tf.cast(current, tf.float64)
        in_cooldown = state.cooldown_counter > 0
        counter = tf.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
        wait = tf.where(in_cooldown, 0, state.wait)

        shifted = tf.cast(current - v["signed_delta"], tf.float32)
        best32 = tf.cast(state.best, tf.float32)
        better = tf.where(v["minimize"], shifted < best32, shifted > best32)
        improved = tf.logical_or(tf.logical_not(state.has_best), better)
        best = tf.where(improved, current, state.best)
        has_best = tf.logical_or(state.has_best, improved)
        wait = tf.where(improved, 0, wait)

        waiting = tf.logical_and(tf.logical_not(improved), tf.logical_not(counter > 0))
        wait = tf.where(waiting, wait + 1, wait)
        due = tf.logical_and(waiting, wait >= v["patience"])
        reduce = tf.logical_and(due, state.learning_rate > v["min_lr32"])
        new_lr = tf.maximum(tf.cast(state.learning_rate, tf.float64) * v["factor"], v["min_lr"])
        lr = tf.where(reduce, tf.cast(new_lr, tf.float32), state.learning_rate)
        counter = tf.where(reduce, v["cooldown"], counter)
        wait = tf.where(reduce, 0, wait)

        keep = tf.logical_not(v["active"])
        return PlateauState(
            tf.where(keep, state.learning_rate, lr),
            tf.where(keep, state.best, best),
            tf.where(keep, state.has_best, has_best),
            tf.where(keep, state.wait, wait),
            tf.where(keep, state.cooldown_counter, counter),
        )
