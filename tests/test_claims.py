"""The claims module: one definition of 'final', per-seed verdicts, diverged seeds."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.views import claims
from lr_lessons.views.claims import (
    CONFIRMED,
    NOT_REPRODUCED,
    PARTLY,
    WITHIN_NOISE,
    ClaimsTable,
    combine,
    diverged,
    final,
    seed_verdict,
    summary,
)


def test_final_is_the_mean_of_the_last_10_epochs_or_last_tenth():
    runs = np.arange(400, dtype=float).reshape(2, 200)
    np.testing.assert_allclose(final(runs), runs[:, -10:].mean(axis=1))
    short = np.arange(30, dtype=float).reshape(1, 30)
    np.testing.assert_allclose(final(short), [short[0, -3:].mean()])
    assert final(np.array([[0.2, 0.7]]))[0] == 0.7
    assert final(runs, last=1)[1] == 399
    assert claims.FINAL_EPOCHS == 10 and "10" in claims.FINAL_DEFINITION


def test_seed_verdict_says_within_noise_when_seeds_disagree():
    assert seed_verdict([True, True, True]) == CONFIRMED
    assert seed_verdict([True, False, True]) == WITHIN_NOISE
    assert seed_verdict([False, False]) == NOT_REPRODUCED
    assert seed_verdict([False, False], partly=True) == PARTLY
    with pytest.raises(ValueError, match="at least one"):
        seed_verdict([])


def test_combine_parts():
    assert combine(CONFIRMED, CONFIRMED) == CONFIRMED
    assert combine(CONFIRMED, WITHIN_NOISE) == WITHIN_NOISE
    assert combine(CONFIRMED, NOT_REPRODUCED) == PARTLY
    assert combine(NOT_REPRODUCED, NOT_REPRODUCED) == NOT_REPRODUCED


def test_diverged_runs_are_found_and_named_apart_in_the_summary():
    loss = np.array(
        [np.linspace(1.0, 0.3, 50), np.full(50, 1.0), np.r_[np.linspace(1, 5, 25), [np.nan] * 25]]
    )
    loss[1, -10:] = 3.0  # ends worse than it started
    assert diverged(loss).tolist() == [False, True, True]
    text = summary([0.9, 0.2, 0.1], diverged=diverged(loss))
    assert text.startswith("0.900") and "2/3 seeds diverged (0.200, 0.100)" in text
    assert summary([0.8, 0.9]) == "0.850 [0.800, 0.900]"
    assert summary([0.8, np.nan]) == "0.800 (1/2 seeds)"
    with pytest.raises(ValueError, match="one per seed"):
        summary([1.0, 2.0], diverged=[True])


def test_table_rejects_unknown_verdicts():
    table = ClaimsTable()
    table.add("a", "b", CONFIRMED)
    table.add("a", "b", "superseded: LRFinder restores the weights")
    with pytest.raises(ValueError, match="not one of"):
        table.add("a", "b", "sort of")
    assert table.verdicts() == [CONFIRMED, "superseded: LRFinder restores the weights"]


def test_a_seed_dependent_row_says_so():
    table = ClaimsTable()
    table.add("a", "0.5 [0.4, 0.6]", WITHIN_NOISE, seed_dependent=True)
    table.add("b", "0.5", CONFIRMED)
    assert table.rows[0].measured.endswith(claims.SEED_DEPENDENT)
    assert claims.SEED_DEPENDENT not in table.rows[1].measured
