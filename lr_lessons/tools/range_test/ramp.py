"""The ramp of rates, the stop reasons, and the checks of a range test's settings."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

MODES = ("exponential", "linear")
STOP_END = "end_lr reached"
STOP_DIVERGED = "loss diverged"
STOP_NONFINITE = "non-finite loss"
STOP_CHANCE = "loss back at chance level"
STOP_DATA = "training ended before end_lr"
STOP_INTERRUPTED = "interrupted"

STOP_REASONS = {
    STOP_END: "every rate of the ramp was used: the last batch ran at end_lr.",
    STOP_DIVERGED: "the smoothed loss (bias-corrected EMA) exceeded `diverge` times its "
    "lowest value so far (fastai and the original tutorials use 4).",
    STOP_NONFINITE: "a batch loss was NaN or infinite; that batch is not recorded "
    "(`stop_lr` is its rate).",
    STOP_CHANCE: "classification only, when the chance-level loss is known: after the "
    "smoothed loss had fallen below half the chance level, it climbed back to within 5% "
    "of chance. The network has unlearned to a constant guess, a divergence that a "
    "4x-the-best rule misses when the best loss is above a quarter of chance.",
    STOP_DATA: "the data ran out before the ramp ended (a generator, or `fit` given fewer "
    "batches than `steps`).",
    STOP_INTERRUPTED: "an exception (e.g. KeyboardInterrupt) ended training; the curve "
    "up to that batch is kept and the model was restored.",
}


def positive(value: Any, what: str) -> float:
    """``value`` as a float if it is a finite number above zero, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return float(value)


def whole(value: Any, what: str, minimum: int = 1) -> int:
    """``value`` as an int if it is a whole number ``>= minimum``, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def check_range(start_lr: Any, end_lr: Any, mode: str) -> tuple[float, float]:
    """Checked ``(start_lr, end_lr)`` of a ramp in ``mode``."""
    start_lr = positive(start_lr, "start_lr")
    end_lr = positive(end_lr, "end_lr")
    if end_lr <= start_lr:
        raise ValueError(f"end_lr ({end_lr!r}) must be larger than start_lr ({start_lr!r})")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {list(MODES)}")
    return start_lr, end_lr


def check_steps(steps: Any, window: int) -> int:
    """Checked number of ramp steps: more than the smoothing ``window``."""
    steps = whole(steps, "steps", 2)
    if steps <= window:
        raise ValueError(
            f"steps={steps} is too few for the smoothing window of {window} batches: "
            f"use more than {window} steps (a range test needs a few hundred) or a smaller window"
        )
    return steps


def ramp(start_lr: float, end_lr: float, steps: int, mode: str = "exponential") -> np.ndarray:
    """The learning rate of each of ``steps`` updates: ``start_lr`` first, ``end_lr`` last.

    Exponential: ``start * (end / start) ** (k / (steps - 1))``, equal steps per decade.
    Linear: ``start + (end - start) * k / (steps - 1)``, Smith's original ramp.

    Args:
        start_lr: The first rate.
        end_lr: The last rate.
        steps: The number of rates.
        mode: "exponential" or "linear".

    Returns:
        The rates (float64).
    """
    start_lr, end_lr = check_range(start_lr, end_lr, mode)
    steps = whole(steps, "steps", 2)
    t = np.arange(steps, dtype="float64") / (steps - 1)
    if mode == "exponential":
        return start_lr * (end_lr / start_lr) ** t
    return start_lr + (end_lr - start_lr) * t
