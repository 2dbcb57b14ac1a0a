"""The measured quantities, one function each: sustained time to a level, floor, drops."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab import measures as M


def test_a_single_epoch_that_touches_the_level_does_not_count():
    spike = np.array([[0.5, 0.9, 0.5, 0.5, 0.5, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]])
    assert M.epochs_to_reach(spike, 0.75)[0] == 2  # the first touch
    # trailing 5-epoch means: epoch 9 is (0.5 + 4 * 0.8) / 5 = 0.74, epoch 10 is 0.8
    assert M.epochs_to_sustain(spike, 0.75)[0] == 10


def test_sustained_time_is_the_first_full_window_whose_mean_reaches_the_level():
    rising = np.linspace(0.0, 1.0, 11)[None]  # 0, 0.1, ..., 1.0
    # window ending at epoch e (1-based) averages values e-5 .. e-1 (0-based): mean 0.1*(e-3)
    got = M.epochs_to_sustain(rising, 0.5)
    assert got[0] == 8
    assert M.epochs_to_sustain(np.ones((1, 5)), 0.75)[0] == 5  # the earliest possible
    assert np.isnan(M.epochs_to_sustain(np.ones((1, 4)), 0.75)[0])  # shorter than a window
    assert np.isnan(M.epochs_to_sustain(np.zeros((2, 30)), 0.75)).all()
    with pytest.raises(ValueError, match="window"):
        M.epochs_to_sustain(rising, 0.5, window=0)


def test_sustained_time_takes_leading_axes_and_nan_never_reaches():
    rng = np.random.default_rng(0)
    grid = rng.uniform(0.6, 0.9, size=(3, 4, 6, 40))
    got = M.epochs_to_sustain(grid, 0.75)
    assert got.shape == (3, 4, 6)
    for i in range(3):
        np.testing.assert_array_equal(got[i, 1], M.epochs_to_sustain(grid[i, 1], 0.75))
    blown = np.ones((1, 20))
    blown[0, 2] = np.nan  # a diverged epoch: every window holding it fails
    assert M.epochs_to_sustain(blown, 0.75)[0] == 8
    by_hand = [
        next(e for e in range(5, 41) if grid[0, 0, j, e - 5 : e].mean() >= 0.75)
        if any(grid[0, 0, j, e - 5 : e].mean() >= 0.75 for e in range(5, 41))
        else np.nan
        for j in range(6)
    ]
    np.testing.assert_array_equal(got[0, 0], by_hand)


def test_floor_epoch_and_drops_read_rate_curves_with_any_leading_axes():
    rates = np.array([[0.01, 0.01, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7], [0.01] * 7])
    np.testing.assert_array_equal(M.floor_epoch(rates), [7, np.nan])
    assert M.RATE_FLOOR == 1e-6  # strictly below: 1e-6 itself is not yet the floor
    np.testing.assert_array_equal(M.rate_drops(rates), [5, 0])
    np.testing.assert_array_equal(M.first_drop(rates), [2, np.nan])
    stacked = np.stack([rates, rates[::-1]])
    assert M.rate_drops(stacked).tolist() == [[5, 0], [0, 5]]
    np.testing.assert_array_equal(M.floor_epoch(stacked)[1], [np.nan, 7])
