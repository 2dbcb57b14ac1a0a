"""Smith's linear-ramp reading: the first fall of the accuracy, not its global peak."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab.ramp_reading import fall_tolerance, first_fall


def test_tolerance_is_three_standard_errors_of_a_coin_flip():
    assert fall_tolerance(1000) == pytest.approx(3 * 0.5 / np.sqrt(1000))
    assert fall_tolerance(100, sigmas=2) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="positive whole number"):
        fall_tolerance(0)


def test_collapse_then_recovery_reads_the_point_before_the_collapse():
    # rises to 0.68, collapses to 0.13, recovers to a higher global peak of 0.75 later
    acc = [0.1, 0.3, 0.5, 0.66, 0.68, 0.13, 0.2, 0.5, 0.75, 0.7]
    f = first_fall(acc, tol=0.05)
    assert (f.peak, f.fall) == (4, 5)
    assert int(np.argmax(acc)) == 8  # the naive reading would pick the recovery


def test_noise_below_the_tolerance_is_not_a_fall():
    acc = [0.1, 0.4, 0.6, 0.58, 0.62, 0.61, 0.65, 0.64, 0.66]
    f = first_fall(acc, tol=0.05)
    assert f.fall is None and f.peak == 8
    f = first_fall([0.1, np.nan, 0.5, 0.3], tol=0.05)
    assert (f.peak, f.fall) == (2, 3)


def test_bad_input():
    with pytest.raises(ValueError, match="finite"):
        first_fall([np.nan, np.nan], 0.05)
    with pytest.raises(ValueError, match="tol"):
        first_fall([0.1, 0.2], 0.0)
