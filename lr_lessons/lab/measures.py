"""What a run's curves say: its final value, when it reached a level, whether it diverged.

Measures read from saved results, one definition each, shared by the lab's analyses
(`lab.landscape`, `lab.hypergradient_study`, ...) and the claims tables of
`lr_lessons.views.claims`, which re-exports them:

- **final** (`final`): the mean of a run's last `FINAL_EPOCHS` (10) epochs;
  a run shorter than 100 epochs uses its last tenth (at least one epoch).
- **diverged** (`diverged`): a run whose loss became non-finite, or whose final
  loss is above its first epoch's loss (training made it worse).
- **epochs to a level** (`epochs_to_sustain`): the first epoch whose trailing mean
  over `SUSTAIN_EPOCHS` (5) epochs reaches the level. A single epoch that touches it
  does not count: with a new batch order every epoch, the first touch measures the
  noise of one epoch more than the speed of learning.
- **floor epoch** (`floor_epoch`): the first epoch whose learning rate is below
  `RATE_FLOOR` (1E-6, four tenfold drops below a start of 0.01): the rate has become
  too small to move the weights.
- **drops** (`rate_drops`, `first_drop`): how often, and first when, the learning
  rate fell from one epoch to the next.

Every chapter that states a claim about one of these quantities, including a later
chapter restating an earlier one, calls the same function at the same threshold.

Pure NumPy; arrays are `(seeds, epochs)` unless a docstring says otherwise (the epoch
functions also take more leading axes, e.g. `(momenta, seeds, epochs)`: epochs are the
last axis).
"""

from __future__ import annotations

import numpy as np

FINAL_EPOCHS = 10


FINAL_DEFINITION = "final = mean of the last 10 epochs"
SUSTAIN_EPOCHS = 5
SUSTAIN_DEFINITION = (
    "epochs to a level = the first epoch whose mean over the last 5 epochs reaches it"
)
RATE_FLOOR = 1e-6


def final_epochs(epochs: int) -> int:
    """How many trailing epochs `final` averages for a run of `epochs` epochs.

    Args:
        epochs: Length of the run.

    Returns:
        `FINAL_EPOCHS` (10), or a tenth of the run (at least 1) when that is shorter.
    """
    return max(1, min(FINAL_EPOCHS, int(epochs) // 10))


def final(runs: np.ndarray, last: int | None = None) -> np.ndarray:
    """Per run: the 'final' value, the mean of the last epochs (see the module docstring).

    Args:
        runs: Array of shape `(seeds, epochs)`.
        last: Number of trailing epochs to average. Leave it `None` for the one
            definition every chapter uses (`final_epochs`); pass `1` only for
            a quantity that exists once per run (e.g. a rate after the last update).

    Returns:
        Array of shape `(seeds,)`.
    """
    runs = np.asarray(runs, dtype=float)
    n = final_epochs(runs.shape[-1]) if last is None else int(last)
    return np.nanmean(runs[..., -n:], axis=-1)


def epochs_to_reach(runs: np.ndarray, threshold: float) -> np.ndarray:
    """Per run: the first epoch (1-based) whose value reaches `threshold`.

    Args:
        runs: Array of shape `(seeds, epochs)`, e.g. test accuracy per epoch.
        threshold: The level to reach (a value `>= threshold` counts).

    Returns:
        Array of shape `(seeds,)`: the epoch, or NaN for a run that never reaches it.
    """
    runs = np.asarray(runs, dtype=float)
    hit = runs >= threshold
    first = np.argmax(hit, axis=1).astype(float) + 1
    first[~hit.any(axis=1)] = np.nan
    return first


def epochs_to_sustain(
    runs: np.ndarray, threshold: float, window: int = SUSTAIN_EPOCHS
) -> np.ndarray:
    """Per run: the first epoch (1-based) whose trailing `window`-epoch mean reaches `threshold`.

    The trailing mean at epoch `e` averages epochs `e - window + 1` to `e`, so the
    earliest possible answer is epoch `window`. A NaN epoch (a diverged run) makes every
    window holding it fail.

    Args:
        runs: Array of shape `(seeds, epochs)` (or `(..., seeds, epochs)`), e.g. test
            accuracy per epoch.
        threshold: The level to reach (a mean `>= threshold` counts).
        window: Epochs in the trailing mean (`SUSTAIN_EPOCHS`, 5, everywhere).

    Returns:
        Array of shape `(seeds,)` (the leading shape of `runs`): the epoch, or NaN for a
        run whose trailing mean never reaches it (or that is shorter than `window`).
    """
    runs = np.asarray(runs, dtype=float)
    if runs.ndim < 1:
        raise ValueError("runs is a single number: pass epochs along the last axis")
    if not (isinstance(window, int | np.integer) and window >= 1):
        raise ValueError(f"window={window!r}: must be a whole number of epochs, at least 1")
    out = np.full(runs.shape[:-1], np.nan)
    if runs.shape[-1] < window:
        return out
    trailing = np.lib.stride_tricks.sliding_window_view(runs, window, axis=-1).mean(axis=-1)
    with np.errstate(invalid="ignore"):
        hit = trailing >= threshold
    found = hit.any(axis=-1)
    first = np.argmax(hit, axis=-1) + window
    return np.where(found, first, out)


def floor_epoch(rates: np.ndarray, floor: float = RATE_FLOOR) -> np.ndarray:
    """Per run: the first epoch (1-based) whose learning rate is below `floor`.

    Args:
        rates: The rate in force during each epoch, shape `(seeds, epochs)`.
        floor: The floor (`RATE_FLOOR`, 1E-6, everywhere).

    Returns:
        Array of shape `(seeds,)`: the epoch, or NaN for a run that never gets there.
    """
    return first_epoch_below(rates, floor)


def median_epochs(epochs: np.ndarray) -> float:
    """Median of per-seed epoch counts, counting "never reached" (NaN) as infinitely late."""
    e = np.asarray(epochs, dtype=float)
    return float(np.median(np.where(np.isnan(e), np.inf, e)))


def volatility(runs: np.ndarray, start: int = 0) -> np.ndarray:
    """Per run: mean absolute change between consecutive epochs, from epoch `start` on."""
    runs = np.asarray(runs, dtype=float)[:, start:]
    return np.nanmean(np.abs(np.diff(runs, axis=1)), axis=1)


def diverged(loss: np.ndarray) -> np.ndarray:
    """Per run: did training diverge?

    Args:
        loss: Training loss per epoch, shape `(seeds, epochs)`.

    Returns:
        Boolean array `(seeds,)`: True where the loss became NaN or infinite, or where
        the final loss (`final`) is above the first epoch's loss.
    """
    loss = np.asarray(loss, dtype=float)
    blew_up = ~np.isfinite(loss).all(axis=-1)
    with np.errstate(invalid="ignore"):
        worse = final(np.where(np.isfinite(loss), loss, np.nan)) > loss[..., 0]
    return blew_up | worse


def never_is_last(epochs: np.ndarray) -> np.ndarray:
    """Epoch counts with "never" (NaN) replaced by infinity.

    Comparisons then rank a seed that never got there after every seed that did
    ("sooner than" is False for it), instead of NaN making every comparison False.

    Args:
        epochs: Per-seed epoch counts, NaN for never (as from `epochs_to_reach`).

    Returns:
        The same counts as floats, `inf` where the input was NaN.
    """
    e = np.asarray(epochs, dtype=float)
    return np.where(np.isnan(e), np.inf, e)


def first_epoch_below(runs: np.ndarray, threshold: float) -> np.ndarray:
    """Per run: the first epoch (1-based) whose value is below `threshold`.

    Args:
        runs: Array of shape `(seeds, epochs)`, e.g. the learning rate per epoch.
        threshold: The level to fall below (strictly).

    Returns:
        Array of shape `(seeds,)`: the epoch, or NaN for a run that never falls below.
    """
    below = np.asarray(runs, dtype=float) < threshold
    first = np.argmax(below, axis=-1).astype(float) + 1
    return np.where(below.any(axis=-1), first, np.nan)


def rate_drops(rates: np.ndarray) -> np.ndarray:
    """Per run: how many times the learning rate fell from one epoch to the next.

    Args:
        rates: The rate in force during each epoch, shape `(seeds, epochs)`.

    Returns:
        Integer array of shape `(seeds,)`.
    """
    return (np.diff(np.asarray(rates, dtype=float), axis=-1) < 0).sum(axis=-1)


def first_drop(rates: np.ndarray) -> np.ndarray:
    """Per run: the epoch (1-based) after which the learning rate first fell.

    Args:
        rates: The rate in force during each epoch, shape `(seeds, epochs)`.

    Returns:
        Array of shape `(seeds,)`: the epoch, or NaN for a run whose rate never fell.
    """
    fell = np.diff(np.asarray(rates, dtype=float), axis=-1) < 0
    first = np.argmax(fell, axis=-1).astype(float) + 1
    return np.where(fell.any(axis=-1), first, np.nan)
