"""Optimizer update rules on stacked weights: Keras 3's `update_step`, one run per row.

Each rule restates one Keras optimizer (SGD with momentum and nesterov, RMSprop with
momentum and centered, Adagrad, Adam with amsgrad) or one of `lr_lessons.tools.
hypergradient`'s (SGD-HD, Adam-HD) for a group of runs whose hyperparameters are per-run
vectors. The vectors are passed to every call (`values`), so one traced program serves
any runs of the same make-up: the program takes them as inputs.

Per-layer rate multipliers (`multipliers`, one float per weight tensor) scale the rate
of that tensor's update, as Keras' `update_step(gradient, variable, learning_rate *
multiplier)` would (see `lr_lessons.lab.engines.fit.with_rate_multipliers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lr_lessons.tools.hypergradient import SGDHD, AdamHD

# Base-optimizer options the update rules do not implement, with their neutral values.
NEUTRAL_OPTIONS = {
    "weight_decay": (None, 0, 0.0),
    "clipnorm": (None,),
    "clipvalue": (None,),
    "global_clipnorm": (None,),
    "use_ema": (False,),
    "loss_scale_factor": (None, 1, 1.0),
    "gradient_accumulation_steps": (None, 1),
}


class Unsupported(ValueError):
    """A study this engine cannot train (the runner then uses the fit engine)."""


def f32(values: Sequence[float]) -> np.ndarray:
    """Python floats as Keras turns them into float32 (`1 - beta` formed in float64)."""
    return np.asarray(values, dtype="float64").astype("float32")


def per_run(vector: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Reshape a per-run vector so it broadcasts against a stacked weight tensor."""
    return tf.reshape(vector, [-1] + [1] * (like.shape.rank - 1))


def sum_per_run(values: tf.Tensor) -> tf.Tensor:
    """Each run's sum over all its elements (`ops.sum` of one run's tensor)."""
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def scaled(lr: tf.Tensor, multiplier: float) -> tf.Tensor:
    """`lr * multiplier` in float32, as Keras forms `learning_rate * multiplier`."""
    return lr if multiplier == 1 else lr * np.float32(multiplier)


class Rule:
    """One optimizer kind for a group of runs; hyperparameters are per-run vectors.

    `adapts_rate` rules (the hypergradient ones) change each run's learning rate at every
    update; the rate they return from `update_all` is both the rate applied and the
    new value of the run's rate variable. `values` holds the per-run vectors named by
    `vectors`; every method takes them as an argument (None: the rule's own), so a
    traced program can feed them in as inputs.
    """

    slots: tuple[str, ...] = ()
    adapts_rate = False

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        self.configs = configs
        self.values: dict[str, np.ndarray] = {}

    @property
    def vectors(self) -> tuple[str, ...]:
        """The names of the per-run vectors."""
        return tuple(self.values)

    def init_slot(
        self, name: str, param: tf.Tensor, values: Mapping[str, Any] | None = None
    ) -> tf.Tensor:
        """A slot's initial value for the stacked weight `param`."""
        return tf.zeros_like(param)

    def update(self, g, p, slots, lr, step, values=None):  # pragma: no cover - abstract
        """One weight tensor's update: returns the new weight and slots."""
        raise NotImplementedError

    def update_all(self, grads, params, slots, lr, step, values=None, multipliers=None):
        """One update of every parameter tensor: Keras' `apply` for each run.

        Args:
            grads: Stacked gradients, one per weight of the model.
            params: Stacked weights, one per weight of the model.
            slots: Slot name -> list of stacked tensors (one per weight).
            lr: The rate of each run for this update, shape `(runs,)`.
            step: The optimizer's `iterations` before this update.
            values: The per-run vectors (None: the rule's own).
            multipliers: One rate multiplier per weight tensor (None: all 1).

        Returns:
            `(params, slots, rate)`: the new weights and slots, and the rate applied.
        """
        values = self.values if values is None else values
        multipliers = multipliers or [1.0] * len(params)
        new_params, new_slots = [], {name: [] for name in self.slots}
        for k, (g, p) in enumerate(zip(grads, params)):
            mine = {name: slots[name][k] for name in self.slots}
            p, mine = self.update(g, p, mine, scaled(lr, multipliers[k]), step, values)
            new_params.append(p)
            for name in self.slots:
                new_slots[name].append(mine[name])
        return new_params, new_slots, lr


class SGDRule(Rule):
    """`keras.optimizers.SGD` (momentum, nesterov)."""

    def __init__(self, configs, momentum: bool, nesterov: bool) -> None:
        super().__init__(configs)
        self.has_momentum, self.nesterov = momentum, nesterov
        self.slots = ("momentum",) if momentum else ()
        self.values = {"momentum": f32([c["momentum"] for c in configs])}

    def update(self, g, p, slots, lr, step, values=None):
        values = self.values if values is None else values
        lr = per_run(lr, p)
        if not self.has_momentum:
            return p - g * lr, slots
        mom = per_run(values["momentum"], p)
        m = slots["momentum"] * mom - g * lr
        p = p + (m * mom - g * lr) if self.nesterov else p + m
        return p, {"momentum": m}


class RMSpropRule(Rule):
    """`keras.optimizers.RMSprop` (momentum, centered)."""

    def __init__(self, configs, momentum: bool, centered: bool) -> None:
        super().__init__(configs)
        self.has_momentum, self.centered = momentum, centered
        self.slots = ("velocity",) + (("momentum",) if momentum else ())
        self.slots += ("average_gradient",) if centered else ()
        self.values = {
            "rho": f32([c["rho"] for c in configs]),
            "one_minus_rho": f32([1 - c["rho"] for c in configs]),
            "momentum": f32([c["momentum"] for c in configs]),
            "epsilon": f32([c["epsilon"] for c in configs]),
        }

    def update(self, g, p, slots, lr, step, values=None):
        values = self.values if values is None else values
        lr, rho, rho1 = (per_run(v, p) for v in (lr, values["rho"], values["one_minus_rho"]))
        eps = per_run(values["epsilon"], p)
        new = dict(slots)
        velocity = rho * slots["velocity"] + rho1 * tf.square(g)
        new["velocity"] = velocity
        if self.centered:
            average = rho * slots["average_gradient"] + rho1 * g
            new["average_gradient"] = average
            denominator = velocity - tf.square(average) + eps
        else:
            denominator = velocity + eps
        increment = (lr * g) / tf.sqrt(denominator)
        if self.has_momentum:
            m = per_run(values["momentum"], p) * slots["momentum"] + increment
            new["momentum"] = m
            return p - m, new
        return p - increment, new


class AdagradRule(Rule):
    """`keras.optimizers.Adagrad`."""

    slots = ("accumulator",)

    def __init__(self, configs) -> None:
        super().__init__(configs)
        self.values = {
            "initial": f32([c["initial_accumulator_value"] for c in configs]),
            "epsilon": f32([c["epsilon"] for c in configs]),
        }

    def init_slot(self, name, param, values=None):
        values = self.values if values is None else values
        return tf.ones_like(param) * per_run(values["initial"], param)

    def update(self, g, p, slots, lr, step, values=None):
        values = self.values if values is None else values
        accumulator = slots["accumulator"] + tf.square(g)
        lr, eps = per_run(lr, p), per_run(values["epsilon"], p)
        return p - (lr * g) / tf.sqrt(accumulator + eps), {"accumulator": accumulator}


class AdamRule(Rule):
    """`keras.optimizers.Adam` (amsgrad)."""

    def __init__(self, configs, amsgrad: bool) -> None:
        super().__init__(configs)
        self.amsgrad = amsgrad
        self.slots = ("momentum", "velocity") + (("velocity_hat",) if amsgrad else ())
        self.values = {
            "beta_1": f32([c["beta_1"] for c in configs]),
            "beta_2": f32([c["beta_2"] for c in configs]),
            "one_minus_beta_1": f32([1 - c["beta_1"] for c in configs]),
            "one_minus_beta_2": f32([1 - c["beta_2"] for c in configs]),
            "epsilon": f32([c["epsilon"] for c in configs]),
        }

    def update(self, g, p, slots, lr, step, values=None):
        values = self.values if values is None else values
        local_step = tf.cast(step + 1, tf.float32)
        beta_1_power = tf.pow(values["beta_1"], local_step)
        beta_2_power = tf.pow(values["beta_2"], local_step)
        alpha = per_run(lr * tf.sqrt(1 - beta_2_power) / (1 - beta_1_power), p)
        m = slots["momentum"] + (g - slots["momentum"]) * per_run(values["one_minus_beta_1"], p)
        v = slots["velocity"] + (tf.square(g) - slots["velocity"]) * per_run(
            values["one_minus_beta_2"], p
        )
        new = {"momentum": m, "velocity": v}
        if self.amsgrad:
            v = tf.maximum(slots["velocity_hat"], v)
            new["velocity_hat"] = v
        return p - (m * alpha) / (tf.sqrt(v) + per_run(values["epsilon"], p)), new


class SGDHDRule(Rule):
    """`SGDHD`: `alpha += beta * g_t . g_{t-1}`, then SGD."""

    slots = ("previous_gradient",)
    adapts_rate = True

    def __init__(self, configs) -> None:
        super().__init__(configs)
        self.values = {"beta": f32([c["hypergrad_lr"] for c in configs])}

    def update_all(self, grads, params, slots, lr, step, values=None, multipliers=None):
        # The order of SGDHD._backend_update_step: agreement summed variable by variable
        # from zero, rate + beta * agreement, then every variable's SGD step at that rate.
        values = self.values if values is None else values
        agreement = tf.zeros_like(lr)
        for g, previous in zip(grads, slots["previous_gradient"]):
            agreement = agreement + sum_per_run(g * previous)
        rate = lr + values["beta"] * agreement
        new_params = [p - g * per_run(rate, p) for g, p in zip(grads, params)]
        return new_params, {"previous_gradient": list(grads)}, rate


class AdamHDRule(AdamRule):
    """`AdamHD`: `alpha += beta * g_t . d_{t-1}`, then Adam."""

    adapts_rate = True

    def __init__(self, configs, amsgrad: bool) -> None:
        super().__init__(configs, amsgrad)
        self.values["beta"] = f32([c["hypergrad_lr"] for c in configs])

    def update_all(self, grads, params, slots, lr, step, values=None, multipliers=None):
        # AdamHD._previous_direction: d = m / (sqrt(v) + eps) * c, with
        # c = sqrt(1 - beta_2**t) / (1 - beta_1**t) after t updates (0 before any).
        values = self.values if values is None else values
        done = tf.cast(step, tf.float32)
        bias_1 = 1 - tf.pow(values["beta_1"], done)
        bias_2 = 1 - tf.pow(values["beta_2"], done)
        started = done > 0
        scale = tf.where(
            started, tf.sqrt(bias_2) / tf.where(started, bias_1, tf.ones_like(bias_1)), 0.0
        )
        velocities = slots["velocity_hat"] if self.amsgrad else slots["velocity"]
        agreement = tf.zeros_like(lr)
        for g, m, v in zip(grads, slots["momentum"], velocities):
            eps = per_run(values["epsilon"], m)
            direction = (m / (tf.sqrt(v) + eps)) * per_run(scale, m)
            agreement = agreement + sum_per_run(g * direction)
        rate = lr + values["beta"] * agreement
        new_params, new_slots, _ = super().update_all(grads, params, slots, rate, step, values)
        return new_params, new_slots, rate


# kind -> (rule class, number of flags after the kind in a rule key)
RULES: dict[str, tuple[type[Rule], int]] = {
    "sgd": (SGDRule, 2),
    "rmsprop": (RMSpropRule, 2),
    "adagrad": (AdagradRule, 0),
    "adam": (AdamRule, 1),
    "sgd_hd": (SGDHDRule, 0),
    "adam_hd": (AdamHDRule, 1),
}


def rule_key(optimizer: keras.optimizers.Optimizer) -> tuple:
    """The static part of an optimizer (kind and flags); the rest becomes per-run vectors.

    Args:
        optimizer: A Keras optimizer (as `Setting.make_optimizer` makes it).

    Returns:
        `(kind, *flags)`, e.g. `("sgd", True, False)` for SGD with momentum.

    Raises:
        Unsupported: For an optimizer kind or option no rule implements.
    """
    config = optimizer.get_config()
    for option, neutral in NEUTRAL_OPTIONS.items():
        if config.get(option) not in neutral:
            raise Unsupported(f"optimizer option {option}={config.get(option)!r}")
    kind = type(optimizer)
    if kind is SGDHD:
        return ("sgd_hd",)
    if kind is AdamHD:
        return ("adam_hd", bool(config["amsgrad"]))
    if kind is keras.optimizers.SGD:
        return ("sgd", config["momentum"] != 0, bool(config["nesterov"]))
    if kind is keras.optimizers.RMSprop:
        return ("rmsprop", config["momentum"] > 0, bool(config["centered"]))
    if kind is keras.optimizers.Adagrad:
        return ("adagrad",)
    if kind is keras.optimizers.Adam:
        return ("adam", bool(config["amsgrad"]))
    raise Unsupported(
        f"optimizer {kind.__name__} has no stacked update rule; use one of "
        "SGD, RMSprop, Adagrad, Adam, SGDHD, AdamHD (or the fit engine)"
    )


def make_rule(key: tuple, configs: list[dict[str, Any]]) -> Rule:
    """The rule for `key` (from `rule_key`) over runs with these optimizer configs.

    Args:
        key: `(kind, *flags)` as `rule_key` gives it.
        configs: Each run's optimizer config (`get_config()`).

    Returns:
        The rule.

    Raises:
        Unsupported: For a key no rule implements (never a silent fallback).
    """
    kind, flags = key[0], key[1:]
    if kind not in RULES or len(flags) != RULES[kind][1]:
        raise Unsupported(
            f"no stacked update rule for optimizer key {key!r}; known kinds: {sorted(RULES)}"
        )
    return RULES[kind][0](configs, *flags)
