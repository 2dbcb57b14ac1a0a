"""Numbers quoted in chapter 9's prose, checked against the saved full-size results.

As for chapters 6-8 (`test_prose_numbers_6_8.py`): each test finds the quoted phrase in
the chapter (editing the prose means editing the test) and recomputes the number from
`results/` as `lr-lessons figures` wrote it. Nothing trains.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_prose_numbers_6_8 import quoted, results

from lr_lessons.lab import landscape
from lr_lessons.views import landscape_tables as tables

pytestmark = pytest.mark.slow


def curves() -> dict[str, np.ndarray]:
    """Final test accuracy (rates, seeds) per optimizer, as the chapter gathers it."""
    m = tables.rate_map(landscape.momentum_grid(), results("landscape_momentum"))
    o = tables.rate_map(landscape.optimizer_grid(), results("landscape_optimizers"))
    hd_grid = landscape.optimizer_grid(landscape.HD_ROWS, name="landscape_hd")
    hd = tables.rate_map(hd_grid, results("landscape_hd"))
    mus = list(landscape.MOMENTA)
    return {
        "SGD": m.accuracy[mus.index(0.0)],
        "SGD, momentum 0.9": m.accuracy[mus.index(0.9)],
        **dict(zip(o.rows, o.accuracy)),
        **dict(zip(hd.rows, hd.accuracy)),
    }


def test_ch9_good_region_widths_from_under_a_decade_to_more_than_two():
    quoted(
        "09_landscape",
        "the good region within 0.01 of the best is from under a decade (RMSprop) to more "
        "than two decades (Adam-HD, whose region reaches the end of our grid in some seeds, "
        "so its width is a lower bound)",
    )
    rates = np.array(landscape.RATES)
    regions = {
        k: landscape.good_region(rates, v.T, landscape.GOOD_TOLERANCE) for k, v in curves().items()
    }
    width = {k: r.width.mean() for k, r in regions.items()}
    assert min(width, key=width.get) == "RMSprop" and width["RMSprop"] < 1.0
    assert max(width, key=width.get) == "Adam-HD" and width["Adam-HD"] > 2.0
    assert regions["Adam-HD"].censored.any()


def test_ch9_the_largest_usable_rate_falls_but_by_less_than_1_minus_mu():
    quoted(
        "09_landscape",
        "The largest rate that still learns falls with momentum, by more than a factor of "
        "two from $\\mu = 0$ to $0.99$ but by less than $1-\\mu$",
    )
    m = tables.rate_map(landscape.momentum_grid(), results("landscape_momentum"))
    rates = np.asarray(landscape.RATES, dtype=float)
    learns = m.accuracy >= landscape.TARGET  # (momenta, rates, seeds)
    top = np.where(learns.any(1), np.max(np.where(learns, rates[:, None], 0), axis=1), np.nan)
    mus = np.asarray(landscape.MOMENTA, dtype=float)
    assert np.all(top[0] / top[-1] > 2)
    slope = landscape.slope_per_seed(1 - mus, top)
    assert np.all(slope < 1)


def test_ch9_run_counts():
    quoted("09_landscape", "A map needs this 3,240 times for momentum alone (18 rates x 6 "
           "momenta x 30 seeds), and more than three times as many again")  # fmt: skip
    names = ["landscape_momentum", "landscape_optimizers", "landscape_hd", "landscape_decay",
             "landscape_plateau"]  # fmt: skip
    names += [f"landscape_batch_{b}" for b in (8, 16, 64, 128, 256, 500)]
    runs = {n: len(results(n).settings) * len(results(n).seeds) for n in names}
    assert runs["landscape_momentum"] == 18 * 6 * 30
    assert sum(runs.values()) - runs["landscape_momentum"] > 3 * runs["landscape_momentum"]


def test_ch9_adam_best_rate_moves_with_the_batch():
    quoted("09_landscape", "Adam's best rate moved too")
    rates = np.array(landscape.RATES)
    small = landscape.batch_grid(8)
    large = landscape.batch_grid(500)
    best = [
        landscape.best_rate(
            rates, tables.rate_map(g, results(g.study.name)).accuracy[g.rows.index("adam")].T
        )
        for g in (small, large)
    ]
    assert np.all(best[1] > 10 * best[0])  # seed by seed, more than a decade
