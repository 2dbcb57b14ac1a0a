"""Smith's reading of a linear-ramp range test: where accuracy stops rising.

Smith (2015) ramps the rate *linearly* and watches the accuracy: "note the learning
rate value when the accuracy starts to increase and when the accuracy slows, becomes
ragged, or starts to fall"; the latter is the largest usable rate. Read literally on a
noisy curve, "the highest accuracy" is a poor rule: after a collapse the accuracy can
recover and peak again at a far larger rate (the model has kept training while the rate
grew), so the global maximum may lie past the point where training broke down.

`first_fall` reads the curve from the left instead: the first point where the
accuracy falls more than `tol` below the best value seen so far marks where it turned
ragged or fell, and the best point before it is the largest usable rate. A sensible
`tol` is a few standard errors of an accuracy measured on `n` examples
(`fall_tolerance`), so sampling noise alone rarely triggers it.
`usable_rates` applies it to every seed of a validated range test.

On an exponential ramp, read on the (smoothed) training accuracy, `accuracy_peak`
takes the rate where the accuracy is highest, skipping the first stretch of the ramp.

Pure NumPy; the runs are `lr_lessons.tools.range_test.RangeTestResult`s (anything with
their `validation`, `lrs` and `smoothed_metric`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lr_lessons import checks

__all__ = ["Fall", "accuracy_peak", "fall_tolerance", "first_fall", "usable_rates"]


def fall_tolerance(n: int, sigmas: float = 3.0) -> float:
    """How far an accuracy measured on `n` examples must drop to count as a fall.

    Args:
        n: Number of examples the accuracy is measured on.
        sigmas: How many standard errors; the standard error of an accuracy `p` on
            `n` examples is `sqrt(p (1 - p) / n)`, at most `sqrt(0.25 / n)`.

    Returns:
        `sigmas * sqrt(0.25 / n)` (0.047 for 1,000 examples and 3 sigmas).
    """
    n = checks.whole_number(n, "n (a number of examples)", minimum=1)
    sigmas = checks.positive_number(sigmas, "sigmas")
    return float(sigmas * math.sqrt(0.25 / n))


@dataclass(frozen=True)
class Fall:
    """Where a rising accuracy curve first fell.

    Attributes:
        peak: Index of the best point before the fall (the largest usable rate).
        fall: Index of the first point more than `tol` below the best so far, or None
            when the curve never fell (then `peak` is its overall best point).
        tol: The tolerance used.
    """

    peak: int
    fall: int | None
    tol: float

    def describe(self, values: Sequence[float], lrs: Sequence[float]) -> str:
        """The reading in words, e.g. "accuracy 0.68 at 0.0754, then falls to 0.12 at 0.0911".

        Args:
            values: The curve this fall was read on.
            lrs: The rate at each of its points.

        Returns:
            The best point before the fall and the fall (or "then never falls").
        """
        text = f"accuracy {values[self.peak]:.2f} at {lrs[self.peak]:.3g}, then "
        if self.fall is None:
            return text + "never falls"
        return text + f"falls to {values[self.fall]:.2f} at {lrs[self.fall]:.3g}"


def first_fall(values: Sequence[float] | np.ndarray, tol: float) -> Fall:
    """The first point where `values` drops more than `tol` below its running best.

    Args:
        values: An accuracy (higher is better) per point of the ramp, in ramp order.
            NaN points are skipped.
        tol: The drop that counts as a fall (e.g. `fall_tolerance`).

    Returns:
        A `Fall`: the best point before the first fall, and the fall.
    """
    v = np.asarray(values, dtype="float64")
    if v.ndim != 1 or not np.isfinite(v).any():
        raise ValueError("values must be a 1-D curve with at least one finite value")
    tol = checks.positive_number(tol, "tol")
    best, peak = -math.inf, None
    for i, x in enumerate(v):
        if not math.isfinite(x):
            continue
        if peak is not None and x < best - tol:
            return Fall(peak, i, float(tol))
        if x > best:
            best, peak = x, i
    return Fall(int(peak), None, float(tol))


def usable_rates(
    runs: Sequence, tol: float, metric: str = "accuracy"
) -> tuple[list[Fall], np.ndarray]:
    """Smith's reading of each run's validation curve: the rate before the first fall.

    Args:
        runs: Range-test runs recorded with validation data (their `validation` dict
            holds `metric` and `"lr"` per validation point).
        tol: The drop that counts as a fall (e.g. `fall_tolerance`).
        metric: The validation metric read (higher is better).

    Returns:
        Each run's `Fall`, and each run's largest usable rate (the rate at the
        best point before its first fall).
    """
    falls = [first_fall(run.validation[metric], tol) for run in runs]
    rates = np.array([run.validation["lr"][f.peak] for run, f in zip(runs, falls)])
    return falls, rates


def accuracy_peak(runs: Sequence, skip: float = 0.1) -> float:
    """The rate where the seed-mean smoothed training accuracy is highest.

    The first `skip` of the ramp is ignored, where a lucky first batch can look best.

    Args:
        runs: Range-test runs of the same ramp (one per seed), recorded with an
            accuracy metric.
        skip: The share of the ramp (in batches) left out at its start.

    Returns:
        The learning rate at the peak of the mean curve (over the batches all runs
        reached).
    """
    if not 0 <= skip < 1:
        raise ValueError(f"skip must be a share of the ramp in [0, 1), got {skip!r}")
    n = min(len(r) for r in runs)
    curve = np.mean([r.smoothed_metric("accuracy")[:n] for r in runs], axis=0)
    start = int(skip * n)
    return float(runs[0].lrs[start + int(np.nanargmax(curve[start:]))])
