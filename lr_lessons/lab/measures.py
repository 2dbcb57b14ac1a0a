"""What a run's curves say: its final value, when it reached a level, whether it diverged.

Measures read from saved results, one definition each, shared by the lab's analyses
(`lab.landscape`, `lab.hypergradient_study`, ...) and the claims tables of
`lr_lessons.views.claims`, which re-exports them:

- **final** (`final`): the mean of a run's last `FINAL_EPOCHS` (10) epochs;
  a run shorter than 100 epochs uses its last tenth (at least one epoch).
- **diverged** (`diverged`): a run whose loss became non-finite, or whose final
  loss is above its first epoch's loss (training made it worse).

Pure NumPy; arrays are `(seeds, epochs)` unless a docstring says otherwise.
"""

from __future__ import annotations

import numpy as np

FINAL_EPOCHS = 10


FINAL_DEFINITION = "final = mean of the last 10 epochs"


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
    first = np.argmax(below, axis=1).astype(float) + 1
    first[~below.any(axis=1)] = np.nan
    return first


def rate_drops(rates: np.ndarray) -> np.ndarray:
    """Per run: how many times the learning rate fell from one epoch to the next.

    Args:
        rates: The rate in force during each epoch, shape `(seeds, epochs)`.

    Returns:
        Integer array of shape `(seeds,)`.
    """
    return (np.diff(np.asarray(rates, dtype=float), axis=1) < 0).sum(axis=1)


def first_drop(rates: np.ndarray) -> np.ndarray:
    """Per run: the epoch (1-based) after which the learning rate first fell.

    Args:
        rates: The rate in force during each epoch, shape `(seeds, epochs)`.

    Returns:
        Array of shape `(seeds,)`: the epoch, or NaN for a run whose rate never fell.
    """
    fell = np.diff(np.asarray(rates, dtype=float), axis=1) < 0
    first = np.argmax(fell, axis=1).astype(float) + 1
    first[~fell.any(axis=1)] = np.nan
    return first
