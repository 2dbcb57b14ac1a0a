"""bracket_best: a grid grows until its best rate is interior."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.lab.search import bracket_best


def peaked(optimum: float, calls: list):
    """Scores of a score curve peaked at ``optimum`` (in log rate), two seeds each."""

    def evaluate(rates):
        calls.append(list(rates))
        return {r: np.array([1 - abs(np.log10(r / optimum))] * 2) for r in rates}

    return evaluate


def test_best_at_the_top_end_extends_upwards_until_interior():
    calls = []
    b = bracket_best([0.01, 0.03, 0.1, 0.3], peaked(2.0, calls))
    assert b.extended == [1.0, 3.33, 11.1]
    assert b.best == 3.33 and b.interior
    assert calls == [[0.01, 0.03, 0.1, 0.3], [1.0], [3.33], [11.1]]
    assert b.rates == [0.01, 0.03, 0.1, 0.3, 1.0, 3.33, 11.1]  # 11.1 tried above the best


def test_best_at_the_bottom_extends_downwards_and_interior_grid_is_left_alone():
    b = bracket_best([0.01, 0.1], peaked(0.002, []), factor=10)
    assert b.extended == [0.001, 0.0001] and b.best == 0.001 and b.interior
    calls = []
    b = bracket_best([0.01, 0.1, 1.0], peaked(0.1, calls))
    assert b.extended == [] and b.best == 0.1 and len(calls) == 1


def test_a_diverged_seed_scores_worst_and_the_cap_is_reported():
    def evaluate(rates):  # higher is better up to any rate; above 1 a seed diverges
        return {r: np.array([r, np.nan if r > 1 else r]) for r in rates}

    b = bracket_best([0.1, 0.3], evaluate, max_extensions=3)
    assert b.extended == [1.0, 3.33] and b.best == 1.0 and b.interior
    capped = bracket_best([0.1, 0.3], lambda rs: {r: np.array([r]) for r in rs}, max_extensions=2)
    assert not capped.interior and capped.best == capped.rates[-1]


def test_loss_scores_and_bad_input():
    b = bracket_best([0.1, 1.0], lambda rs: {r: np.array([abs(np.log10(r / 0.5))]) for r in rs},
                     higher_is_better=False, factor=10)  # fmt: skip
    assert b.best == 1.0 and b.extended == [10.0] and b.interior  # lowest loss, bracketed
    with pytest.raises(ValueError, match="factor"):
        bracket_best([0.1, 1.0], peaked(1, []), factor=1.0)
    with pytest.raises(ValueError, match="no scores"):
        bracket_best([0.1, 1.0], lambda rs: {})
