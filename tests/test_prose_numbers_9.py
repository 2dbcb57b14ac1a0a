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


def test_ch9_good_region_widths_from_half_a_decade_to_nearly_three():
    quoted(
        "09_landscape",
        "the good region within 0.01 of the best is from about half a decade (RMSprop) "
        "to nearly three (Adam-HD) wide",
    )
    rates = np.array(landscape.RATES)
    width = {
        k: landscape.good_region(rates, v.T, landscape.GOOD_TOLERANCE).width.mean()
        for k, v in curves().items()
    }
    assert min(width, key=width.get) == "RMSprop" and 0.5 <= width["RMSprop"] < 1.0
    assert max(width, key=width.get) == "Adam-HD" and 2.5 <= width["Adam-HD"] < 3.0


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
