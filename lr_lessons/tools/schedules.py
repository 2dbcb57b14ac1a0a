"""Cyclical learning rates (Smith 2015) and the one-cycle policy (Smith 2018) for Keras 3.

Both are `keras.optimizers.schedules.LearningRateSchedule` subclasses, so they work with
any Keras optimizer (`SGD(learning_rate=CyclicalLearningRate(...))`), are called by the
optimizer on its step counter (a Python number, a NumPy array or a symbolic tensor inside
`tf.function`), and are registered with Keras' serialization: a model compiled with them
saves to `.keras` and loads back, and `keras.optimizers.schedules.deserialize` rebuilds
them from `serialize`'s output.

The rate is computed in float32 as a linear interpolation `(1 - t) * a + t * b` between
the two corner rates `a` and `b` of the current segment, so it equals the corner rates
exactly (in float32) at the corners of a cycle.

This module depends on Keras, NumPy and, for its input checks, `lr_lessons.checks`.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from lr_lessons import checks
from lr_lessons.checks import InputError

CLR_MODES = ("triangular", "triangular2", "exp_range")

__all__ = ["CLR_MODES", "CyclicalLearningRate", "OneCycle", "rates"]


def _steps(value: Any, what: str) -> float:
    steps = checks.number_in(value, f"{what} (a number of steps)", at_least=1)
    return int(steps) if steps.is_integer() else steps


def _lerp(a, b, t):
    """`a` at `t = 0` and `b` at `t = 1`, exactly."""
    return ops.add(ops.multiply(ops.subtract(1.0, t), a), ops.multiply(t, b))


@keras.saving.register_keras_serializable(package="lr_lessons")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's cyclical learning rate (2015, "Cyclical Learning Rates for Training Neural
    Networks"): the rate climbs linearly from `base_lr` to `max_lr` over `step_size`
    updates and falls back over the next `step_size`, again and again.

    With `iteration` the update count (the optimizer's step), as in the paper:

        cycle = floor(1 + iteration / (2 * step_size))
        x     = |iteration / step_size - 2 * cycle + 1|
        lr    = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale

    where `scale` is 1 (`"triangular"`), `1 / 2 ** (cycle - 1)` (`"triangular2"`:
    the height halves every cycle) or `gamma ** iteration` (`"exp_range"`).
    Smith's advice: `step_size` of 2 to 10 epochs' worth of updates, `max_lr` where a
    range test's accuracy stops rising, `base_lr` a third to a quarter of it.

    Args:
        base_lr: The lowest rate (positive, below `max_lr`).
        max_lr: The highest rate.
        step_size: Updates from `base_lr` to `max_lr` (half a cycle; at least 1).
        mode: `"triangular"`, `"triangular2"` or `"exp_range"`.
        gamma: The decay factor per update of `"exp_range"`, in (0, 1] (checked in
            every mode; only `"exp_range"` uses it).
        name: The name scope of the computation.

    Raises:
        InputError: Naming the bad argument and value.

    Example:

    ```python
    from lr_lessons import CyclicalLearningRate

    # 8 updates from 0.01 up to 0.1, 8 back down, and again
    clr = CyclicalLearningRate(base_lr=0.01, max_lr=0.1, step_size=8)
    model.compile(optimizer=keras.optimizers.SGD(clr), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=32, epochs=2, verbose=0)
    ```
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        step_size: float,
        mode: str = "triangular",
        gamma: float = 1.0,
        name: str = "CyclicalLearningRate",
    ) -> None:
        super().__init__()
        self.base_lr = checks.positive_number(base_lr, "base_lr")
        self.max_lr = checks.positive_number(max_lr, "max_lr")
        if self.base_lr >= self.max_lr:
            raise InputError(f"base_lr must be below max_lr, got base_lr={base_lr!r} >= {max_lr!r}")
        self.step_size = _steps(step_size, "step_size")
        self.mode = checks.one_of(mode, CLR_MODES, "mode")
        self.gamma = checks.number_in(gamma, "gamma", above=0, at_most=1)
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            iteration = ops.cast(step, "float32")
            step_size = ops.cast(self.step_size, "float32")
            cycle = ops.floor(1.0 + iteration / (2.0 * step_size))
            x = ops.abs(iteration / step_size - 2.0 * cycle + 1.0)
            t = ops.maximum(0.0, 1.0 - x)
            if self.mode == "triangular2":
                t = t / ops.power(2.0, cycle - 1.0)
            elif self.mode == "exp_range":
                t = t * ops.power(ops.cast(self.gamma, "float32"), iteration)
            base = ops.cast(self.base_lr, "float32")
            top = ops.cast(self.max_lr, "float32")
            return _lerp(base, top, t)

    def get_config(self) -> dict[str, Any]:
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "step_size": self.step_size,
            "mode": self.mode,
            "gamma": self.gamma,
            "name": self.name,
        }


@keras.saving.register_keras_serializable(package="lr_lessons")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's one-cycle policy (2018, "A disciplined approach to neural network
    hyper-parameters: Part 1"): one triangle from `base_lr` up to `max_lr` and back,
    then a short "annihilation" phase down to `final_lr`, far below `base_lr`.

    Over `total_steps` updates: the cycle takes the first
    `cycle_steps = round(total_steps * (1 - annihilation))` (half rising, half falling,
    both linear), the rest fall linearly from `base_lr` to `final_lr` (default
    `base_lr / 100`, "several orders of magnitude less"). After `total_steps` the
    rate stays at `final_lr`. Corners: `base_lr` at 0, `max_lr` at
    `cycle_steps / 2`, `base_lr` at `cycle_steps`, `final_lr` at `total_steps`.

    Args:
        base_lr: The rate at the start and end of the cycle (positive, below `max_lr`).
        max_lr: The rate at the top of the cycle.
        total_steps: Updates in all (a whole number; the cycle needs at least 2).
        annihilation: The share of `total_steps` after the cycle, in [0, 1).
        final_lr: The rate at the end (at most `base_lr`); None: `base_lr / 100`.
        name: The name scope of the computation.

    Raises:
        InputError: Naming the bad argument and value.

    Example:

    ```python
    from lr_lessons import OneCycle

    epochs, batch_size = 3, 32
    total_steps = epochs * -(-len(x_train) // batch_size)  # every update of the fit
    schedule = OneCycle(base_lr=0.01, max_lr=0.1, total_steps=total_steps)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0)
    ```
    """

    def __init__(
        self,
        base_lr: float,
        max_lr: float,
        total_steps: int,
        annihilation: float = 0.1,
        final_lr: float | None = None,
        name: str = "OneCycle",
    ) -> None:
        super().__init__()
        self.base_lr = checks.positive_number(base_lr, "base_lr")
        self.max_lr = checks.positive_number(max_lr, "max_lr")
        if self.base_lr >= self.max_lr:
            raise InputError(f"base_lr must be below max_lr, got base_lr={base_lr!r} >= {max_lr!r}")
        self.total_steps = checks.whole_number(total_steps, "total_steps", minimum=2)
        self.annihilation = checks.probability(annihilation, "annihilation (a fraction)")
        self.cycle_steps = int(round(self.total_steps * (1 - self.annihilation)))
        if self.cycle_steps < 2:
            raise InputError(
                f"total_steps={total_steps!r} with annihilation={annihilation!r} leaves a cycle "
                f"of {self.cycle_steps} steps; it needs at least 2"
            )
        self.final_lr = (
            self.base_lr / 100 if final_lr is None else checks.positive_number(final_lr, "final_lr")
        )
        if self.final_lr > self.base_lr:
            raise InputError(
                f"final_lr must not exceed base_lr, got final_lr={final_lr!r} > {base_lr!r}"
            )
        self.name = name

    def __call__(self, step):
        with keras.name_scope(self.name):
            s = ops.cast(step, "float32")
            half = ops.cast(self.cycle_steps / 2, "float32")
            cycle = ops.cast(self.cycle_steps, "float32")
            base = ops.cast(self.base_lr, "float32")
            top = ops.cast(self.max_lr, "float32")
            final = ops.cast(self.final_lr, "float32")
            up = _lerp(base, top, ops.clip(s / half, 0.0, 1.0))
            down = _lerp(top, base, ops.clip((s - half) / half, 0.0, 1.0))
            tail_steps = self.total_steps - self.cycle_steps
            if tail_steps > 0:
                t = ops.clip((s - cycle) / ops.cast(tail_steps, "float32"), 0.0, 1.0)
                tail = _lerp(base, final, t)
            else:
                tail = ops.add(ops.multiply(s, 0.0), base)
            return ops.where(s <= half, up, ops.where(s <= cycle, down, tail))

    def get_config(self) -> dict[str, Any]:
        return {
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "annihilation": self.annihilation,
            "final_lr": self.final_lr,
            "name": self.name,
        }


def rates(schedule: keras.optimizers.schedules.LearningRateSchedule, steps: int) -> np.ndarray:
    """The rate `schedule` gives updates `0 .. steps - 1` (float64 copy of float32 values).

    Evaluated on the whole step vector at once where the schedule allows it (every
    schedule here and Keras' own decays), else one step at a time.

    Args:
        schedule: A Keras `LearningRateSchedule` (or any callable on a step number).
        steps: How many updates (a positive whole number).

    Returns:
        The rates, shape `(steps,)`.

    Raises:
        InputError: If `steps` is not a positive whole number or `schedule` is not
            callable.
    """
    checks.whole_number(steps, "steps", minimum=1)
    if not callable(schedule):
        raise InputError(f"schedule must be callable on a step, got {schedule!r}")
    grid = np.arange(steps, dtype="int64")
    try:
        values = np.asarray(ops.convert_to_numpy(schedule(grid)), dtype="float64")
        if values.shape == (steps,):
            return values
    except Exception:  # a schedule that only takes a scalar step
        pass
    return np.array([float(ops.convert_to_numpy(schedule(int(s)))) for s in grid])
