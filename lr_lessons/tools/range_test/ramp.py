"""The ramp of rates, the stop reasons, and the checks of a range test's settings."""

from __future__ import annotations

from typing import Any

import numpy as np

from lr_lessons.checks import InputError, one_of, positive_number, whole_number

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


def check_range(start_lr: Any, end_lr: Any, mode: Any) -> tuple[float, float]:
    """Checked `(start_lr, end_lr)` of a ramp in `mode`.

    Args:
        start_lr: The first rate of the ramp.
        end_lr: The last rate of the ramp.
        mode: How the rate grows, one of `MODES`.

    Returns:
        `(start_lr, end_lr)` as floats.

    Raises:
        InputError: If a rate is not a positive number, `end_lr <= start_lr`, or the
            mode is not one of `MODES`.
    """
    start_lr = positive_number(start_lr, "start_lr")
    end_lr = positive_number(end_lr, "end_lr")
    if end_lr <= start_lr:
        raise InputError(
            f"end_lr ({end_lr!r}) must be larger than start_lr ({start_lr!r}): swap them"
        )
    one_of(mode, MODES, "mode")
    return start_lr, end_lr


def check_steps(steps: Any, window: int) -> int:
    """Checked number of ramp steps: a whole number above the smoothing `window`.

    Args:
        steps: The number of steps to check.
        window: The smoothing window, in steps.

    Returns:
        `steps` as an int.

    Raises:
        InputError: If `steps` is not a whole number above `window`.
    """
    steps = whole_number(steps, "steps", minimum=2)
    if steps <= window:
        raise InputError(
            f"steps={steps} is too few for the smoothing window of {window} batches: "
            f"use more than {window} steps (a range test needs a few hundred) or a smaller window"
        )
    return steps


def ramp(start_lr: float, end_lr: float, steps: int, mode: str = "exponential") -> np.ndarray:
    """The learning rate of each of `steps` updates: `start_lr` first, `end_lr` last.

    Exponential: `start * (end / start) ** (k / (steps - 1))`, equal steps per decade.
    Linear: `start + (end - start) * k / (steps - 1)`, Smith's original ramp.

    Args:
        start_lr: The first rate.
        end_lr: The last rate.
        steps: The number of rates.
        mode: "exponential" or "linear".

    Returns:
        The rates (float64).
    """
    start_lr, end_lr = check_range(start_lr, end_lr, mode)
    steps = whole_number(steps, "steps", minimum=2)
    t = np.arange(steps, dtype="float64") / (steps - 1)
    if mode == "exponential":
        return start_lr * (end_lr / start_lr) ** t
    return start_lr + (end_lr - start_lr) * t
