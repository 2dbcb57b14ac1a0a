"""Shared arithmetic of the engine-equivalence tests (tests/test_stacked_engine.py explains
the reasoning): the summation-order bound, the one-ulp input perturbation, and the runs
both tests compare."""

from __future__ import annotations

import numpy as np

from lr_lessons.lab.data import Dataset
from lr_lessons.lab.engines import fit, stacked
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Study

# Keras averages 32-sample batch means over up to 16 batches; another summation order
# moves a float32 sum of n terms by at most (n - 1) * 2**-24 of its magnitude.
ROUNDING = (31 + 15) * 2.0**-24
PERTURBATIONS = 4


def summation_bound(values: np.ndarray) -> np.ndarray:
    """How far summing in another order can move a reported mean."""
    return ROUNDING * np.maximum(np.abs(values), 1.0)


def perturbed(data: Dataset, draw: int) -> Dataset:
    """``data`` with a random half of its training inputs moved by one unit in the last
    place, up or down at random: a float32 rounding perturbation."""
    rng = np.random.default_rng(draw)
    x = data.x_train
    direction = np.where(rng.random(x.shape) < 0.5, np.inf, -np.inf).astype(x.dtype)
    moved = np.where(rng.random(x.shape) < 0.5, np.nextafter(x, direction), x)
    return Dataset(moved.astype(x.dtype), data.y_train, data.x_test, data.y_test, "perturbed")


def stacked_and_fit_runs(study: Study, seed: int, data: Dataset):
    """Every setting of ``study`` stacked, the rounding envelope, and each setting under fit.

    Both sides round: the stacked run and fit's run are each one float32 trajectory, and
    training can amplify a last-bit difference on either side. So the envelope is measured
    on both: the stacked study and fit's run of each setting are repeated on inputs moved
    by one unit in the last place (PERTURBATIONS draws), and the envelope is the larger
    of the two spreads around the unperturbed runs. If each side lies within its own
    spread of the exact trajectory, the triangle inequality bounds stacked-vs-fit by the
    sum of the two spreads, which twice their maximum covers.

    Returns:
        ``(mine, envelope, theirs)``: the stacked metrics, the envelope (per metric,
        setting, epoch, shaped like ``mine``), and fit's history per setting name; all
        with ``shuffle=False``.
    """
    mine = stacked.train(study, [seed], data, shuffle=False)
    moved = [perturbed(data, draw) for draw in range(PERTURBATIONS)]
    runs = [stacked.train(study, [seed], d, shuffle=False) for d in moved]
    envelope = {m: np.max([np.abs(p[m] - mine[m]) for p in runs], axis=0) for m in METRICS}
    theirs = {s.name: fit.fit_one(study, s, seed, data, shuffle=False) for s in study.settings}
    for i, s in enumerate(study.settings):
        for d in moved:
            other = fit.fit_one(study, s, seed, d, shuffle=False)
            for m in METRICS:
                spread = np.abs(np.asarray(other[m]) - np.asarray(theirs[s.name][m]))
                envelope[m][i, 0] = np.maximum(envelope[m][i, 0], spread)
    return mine, envelope, theirs


def assert_within_summation_bound(got: np.ndarray, want: np.ndarray, metric: str) -> None:
    """A run alone: equal to fit up to the order of the reported sums, at every epoch."""
    assert got.shape == want.shape
    bound = summation_bound(want)
    assert np.all(np.abs(got - want) <= bound), (
        f"{metric}: largest difference {np.abs(got - want).max():.3g} exceeds the "
        f"summation bound {bound.max():.3g}"
    )


def assert_within_envelope(
    got: np.ndarray, want: np.ndarray, envelope: np.ndarray, metric: str
) -> None:
    """Stacked runs: within twice the rounding envelope plus the summation bound."""
    tolerance = 2 * envelope + summation_bound(want)
    worst = int(np.argmax(np.abs(got - want) - tolerance))
    assert np.all(np.abs(got - want) <= tolerance), (
        f"{metric} at epoch {worst + 1}: stacked {got[worst]:.7g}, fit {want[worst]:.7g}, "
        f"tolerance {tolerance[worst]:.3g} (rounding envelope {envelope[worst]:.3g})"
    )
