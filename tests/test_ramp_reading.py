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


class Run:
    """The parts of a RangeTestResult that the readings use."""

    def __init__(self, lrs, acc, validation=None):
        self.lrs = np.asarray(lrs, dtype=float)
        self._acc = np.asarray(acc, dtype=float)
        self.validation = validation

    def __len__(self):
        return len(self.lrs)

    def smoothed_metric(self, name):
        assert name == "accuracy"
        return self._acc


def test_usable_rates_are_read_before_each_seeds_first_fall():
    from lr_lessons.lab.ramp_reading import usable_rates

    lr = [0.1, 0.2, 0.3, 0.4, 0.5]
    runs = [
        Run(lr, [0] * 5, {"lr": lr, "accuracy": [0.2, 0.6, 0.7, 0.1, 0.9]}),
        Run(lr, [0] * 5, {"lr": lr, "accuracy": [0.2, 0.5, 0.6, 0.62, 0.63]}),
    ]
    falls, rates = usable_rates(runs, tol=0.05)
    np.testing.assert_allclose(rates, [0.3, 0.5])
    acc, lrs = runs[0].validation["accuracy"], runs[0].validation["lr"]
    assert falls[0].describe(acc, lrs) == "accuracy 0.70 at 0.3, then falls to 0.10 at 0.4"
    acc, lrs = runs[1].validation["accuracy"], runs[1].validation["lr"]
    assert falls[1].describe(acc, lrs) == "accuracy 0.63 at 0.5, then never falls"


def test_accuracy_peak_reads_the_seed_mean_and_skips_the_start():
    from lr_lessons.lab.ramp_reading import accuracy_peak

    lr = np.geomspace(1e-3, 1, 10)
    lucky = Run(lr, [0.9, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.5, 0.3, 0.1])
    other = Run(lr, [0.1, 0.2, 0.3, 0.4, 0.5, 0.8, 0.6, 0.5, 0.3, 0.1, 0.0])
    # the lucky first batch is skipped; the mean of the two curves peaks at index 5
    assert accuracy_peak([lucky, other]) == pytest.approx(lr[5])
    assert accuracy_peak([lucky]) == pytest.approx(lr[6])
    assert accuracy_peak([lucky], skip=0.0) == pytest.approx(lr[0])
    with pytest.raises(ValueError, match="skip"):
        accuracy_peak([lucky], skip=1.0)
