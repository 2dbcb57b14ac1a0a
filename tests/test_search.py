"""Coarse-to-fine search: the grid rules, a real search on blobs, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lr_lessons.lab.search import DECADES, coarse_to_fine, fine_grid, pick_decade
from lr_lessons.lab.studies import Setting, Study

BASE = Study("test_search", "SGD on blobs", (Setting("sgd", "sgd"),), epochs=200)


def test_decades_span_1e7_to_1():
    assert DECADES[0] == pytest.approx(1e-7) and DECADES[-1] == 1.0
    np.testing.assert_allclose(np.diff(np.log10(DECADES)), 1.0)


def test_fine_grid_is_log_even_and_strictly_inside():
    grid = fine_grid(0.01, 0.1, 4)
    np.testing.assert_allclose(grid, [0.01 * 10 ** (k / 5) for k in range(1, 5)])
    assert 0.01 < min(grid) and max(grid) < 0.1


@pytest.mark.parametrize(
    "means, metric, expected",
    [
        ([0.3, 0.5, 0.8, 0.7], "val_accuracy", (1e-2, 1e-1)),  # better neighbour above
        ([0.3, 0.75, 0.8, 0.4], "val_accuracy", (1e-3, 1e-2)),  # better neighbour below
        ([0.9, 0.5, 0.4, 0.3], "val_accuracy", (1e-4, 1e-3)),  # best at the low end
        ([0.3, 0.5, 0.6, 0.9], "val_accuracy", (1e-2, 1e-1)),  # best at the high end
        ([1.0, 0.6, 0.4, 0.5], "val_loss", (1e-2, 1e-1)),  # lower is better for a loss
        ([0.3, -np.inf, 0.8, 0.7], "val_accuracy", (1e-2, 1e-1)),  # diverged scores worst
    ],
)
def test_pick_decade(means, metric, expected):
    assert pick_decade([1e-4, 1e-3, 1e-2, 1e-1], means, metric) == pytest.approx(expected)


def test_search_on_blobs_keeps_every_trial_and_picks_the_best():
    decades = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    result = coarse_to_fine(
        BASE, decades=decades, fine=2, epochs=4, seeds=[0, 1], subset=200, progress=False
    )
    assert [t.stage for t in result.trials] == ["coarse"] * 5 + ["fine"] * 2
    coarse = {t.learning_rate: t.mean for t in result.trials[:5]}
    best_coarse = max(coarse, key=coarse.get)
    assert best_coarse in result.decade
    low, high = result.decade
    assert math.isclose(high / low, 10.0)
    assert all(low < t.learning_rate < high for t in result.trials[5:])
    assert result.chosen == max(result.trials, key=lambda t: t.mean).learning_rate
    # scores are the runner's numbers: mean test accuracy of the last 3 epochs per seed
    for t, setting in zip(result.trials[:5], result.coarse.settings):
        want = result.coarse.get("val_accuracy", setting)[:, -3:].mean(axis=1)
        np.testing.assert_allclose(t.scores, want)
    # SGD at 1E-4 for 4 short epochs cannot beat the better rates on blobs
    assert coarse[1e-4] < max(coarse.values()) - 0.05
    assert (
        result.n_train == 200 and "first 200 training points" in result.coarse.meta["data_source"]
    )
    assert result.training_epochs == 7 * 2 * 4
    assert result.updates == result.training_epochs * math.ceil(200 / 32)
    assert result.wall_time_s > 0
    assert len(result.table()) == 7


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(decades=()), "empty"),
        (dict(decades=(0.1,)), "at least two"),
        (dict(decades=(0.0, 0.1)), "positive"),
        (dict(decades=(-1e-3, 0.1)), "positive"),
        (dict(decades=(0.1, 0.1)), "repeats"),
        (dict(fine=0), "fine"),
        (dict(epochs=0), "epochs"),
        (dict(metric="f1"), "metric"),
        (dict(last=0), "last"),
        (dict(subset=0), "subset"),
    ],
)
def test_search_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        coarse_to_fine(BASE, progress=False, **kwargs)


def test_search_needs_one_template_setting():
    two = Study("t", "t", (Setting("a", "sgd"), Setting("b", "adam")))
    with pytest.raises(ValueError, match="exactly one setting"):
        coarse_to_fine(two, progress=False)


@pytest.mark.parametrize("low, high, points", [(0.1, 0.01, 3), (0.0, 0.1, 3), (0.01, 0.1, 0)])
def test_fine_grid_rejects_bad_input(low, high, points):
    with pytest.raises(ValueError):
        fine_grid(low, high, points)
