"""The ramp of rates, the stop reasons, and the checks of a range test's settings."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from lr_lessons.checks import InputError, is_whole, one_of, positive_number, whole_number
from lr_lessons.tools.range_test.rules import too_short

MODES = ("exponential", "linear")
STOP_END = "end_lr reached"
STOP_DIVERGED = "loss diverged"
STOP_NONFINITE = "non-finite loss"
STOP_CHANCE = "loss back at chance level"
STOP_DATA = "training ended before end_lr"
STOP_INTERRUPTED = "interrupted"

# The longest ramp accepted (in updates, and in batches with gradient accumulation): a
# range test reads a few hundred updates; a million is a mistake, refused before any work.
MAX_STEPS = 1_000_000

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


def check_steps(steps: Any, beta: float | None = None, accumulation: int = 1) -> int:
    """Checked number of ramp steps: a whole number from 2 to `MAX_STEPS`.

    A ramp shorter than `MIN_SPANS` times the loss smoothing's span (`1 / (1 - beta)`
    points, 50 at `beta = 0.98`) is accepted with a warning: its suggestions will be
    marked unreliable ("too short", see `lr_lessons.tools.range_test.rules`).

    Args:
        steps: The number of steps (optimizer updates) to check.
        beta: The loss smoothing, for the warning (None: no warning).
        accumulation: The optimizer's gradient accumulation steps: each update takes
            that many batches, and `steps * accumulation` batches must not exceed
            `MAX_STEPS` either.

    Returns:
        `steps` as an int.

    Raises:
        InputError: If `steps` is not a whole number in `[2, MAX_STEPS]`, or the
            batches it takes exceed `MAX_STEPS`.
    """
    if is_whole(steps) and steps > MAX_STEPS:
        raise InputError(
            f"steps={steps} is absurd for a range test (at most {MAX_STEPS:,}; a few "
            "hundred updates are enough): give steps=300 or so"
        )
    steps = whole_number(steps, "steps", minimum=2)
    if steps * accumulation > MAX_STEPS:
        raise InputError(
            f"gradient_accumulation_steps={accumulation} makes the {steps} updates of the "
            f"ramp take {steps * accumulation:,} batches (at most {MAX_STEPS:,}): compile "
            "the model with an optimizer that accumulates over a few batches at most"
        )
    if beta is not None and (reason := too_short(steps, beta)):
        warnings.warn(
            f"steps={steps}: every suggestion will be unreliable ({reason})", stacklevel=3
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
