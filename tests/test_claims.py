"""The claims module: one definition of 'final', tables of `Verdict`s, diverged seeds."""

from __future__ import annotations

import numpy as np
import pytest

from lr_lessons.views import claims, verdicts
from lr_lessons.views.claims import Claim, ClaimsTable, diverged, final, summary


def test_final_is_the_mean_of_the_last_10_epochs_or_last_tenth():
    runs = np.arange(400, dtype=float).reshape(2, 200)
    np.testing.assert_allclose(final(runs), runs[:, -10:].mean(axis=1))
    short = np.arange(30, dtype=float).reshape(1, 30)
    np.testing.assert_allclose(final(short), [short[0, -3:].mean()])
    assert final(np.array([[0.2, 0.7]]))[0] == 0.7
    assert final(runs, last=1)[1] == 399
    assert claims.FINAL_EPOCHS == 10 and "10" in claims.FINAL_DEFINITION


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


def test_table_takes_verdicts_and_shows_each_with_its_count():
    table = ClaimsTable(note="the note")
    table.add("a|b", "0.9", verdicts.decide(np.ones(30, bool)))
    table.add("c", "d", verdicts.superseded("LRFinder restores the weights"))
    table.add("e", "f", verdicts.measured())
    with pytest.raises(TypeError, match="verdicts.Verdict"):
        table.add("a", "b", "confirmed")
    assert [v.word for v in table.verdicts()] == ["confirmed", "superseded", "measured"]
    md = table.markdown()
    assert "| a\\|b | 0.9 | confirmed: 30/30 seeds, 95% CI [89%, 100%] |" in md
    assert "| c | d | superseded: LRFinder restores the weights |" in md
    assert md.rstrip().endswith("the note")


def test_a_two_column_table_needs_two_verdicts_per_row():
    one, other = verdicts.decide(np.ones(5, bool)), verdicts.decide(np.zeros(5, bool))
    table = ClaimsTable(columns=("new order", "repeated order"))
    table.add("a", "b", one, other)
    with pytest.raises(ValueError, match="2 verdict"):
        table.add("c", "d", one)
    with pytest.raises(ValueError, match="1 verdict"):
        ClaimsTable([Claim("a", "b", one, other)])
    header = table.markdown().splitlines()[0]
    assert header.endswith("| new order | repeated order |")
    assert "mostly holds: 5/5 seeds" in table.markdown()
    assert "mostly fails: 0/5 seeds, 95% CI [0%, 43%]" in table.markdown()


def test_numbers_note_names_the_seeds_the_measures_and_the_policy():
    from lr_lessons.lab.results import Results

    r = Results(
        "s", ["a"], list(range(30)), {"loss": np.zeros((1, 30, 3))}, {"data_source": "blobs"}
    )
    note = claims.numbers_note(r, "extra words")
    assert "30 seeds (0-29)" in note and "last 5 epochs" in note and "Wilson" in note
    assert note.endswith("extra words") and "blobs; 3 epochs" in note
    assert claims.seed_range([0, 2]) == "2 seeds (0, 2)"


def test_per_setting_keys_by_setting_and_applies_a_per_seed_measure():
    from lr_lessons.lab.results import Results

    loss = np.array([[[3.0, 2.0, 1.0], [4.0, 2.0, 2.0]], [[1.0, 1.0, 1.0], [2.0, 3.0, 4.0]]])
    results = Results("s", ["a", "b"], [0, 1], {"loss": loss})
    runs = claims.per_setting(results, "loss")
    assert list(runs) == ["a", "b"]
    np.testing.assert_array_equal(runs["b"], results.get("loss", "b"))
    firsts = claims.per_setting(results, "loss", lambda r: r[:, 0])
    np.testing.assert_array_equal(firsts["a"], results.get("loss", "a")[:, 0])


def test_summaries_join_one_summary_per_entry_with_optional_names():
    values = {"lr=0.1": np.array([0.5, 0.7]), "lr=0.01": np.array([0.25])}
    assert claims.summaries(values) == "lr=0.1: 0.600 [0.500, 0.700]; lr=0.01: 0.250"
    named = claims.summaries(values, ".1f", names={"lr=0.1": "0.1"})
    assert named == "0.1: 0.6 [0.5, 0.7]; lr=0.01: 0.2"


def test_never_is_last_ranks_never_after_every_epoch():
    late = claims.never_is_last(np.array([3.0, np.nan]))
    assert late[0] == 3 and np.isposinf(late[1])
    assert (late > 1000).tolist() == [False, True]


def test_first_epoch_below_and_rate_drops_read_rate_curves():
    rates = np.array(
        [
            [0.01, 0.01, 0.001, 0.001, 1e-4, 1e-7],
            [0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
            [0.01, 0.001, 0.001, 0.001, 0.001, 0.001],
        ]
    )
    np.testing.assert_array_equal(claims.first_epoch_below(rates, 1e-6), [6, np.nan, np.nan])
    np.testing.assert_array_equal(claims.first_epoch_below(rates, 0.01), [3, np.nan, 2])
    np.testing.assert_array_equal(claims.rate_drops(rates), [3, 0, 1])
    np.testing.assert_array_equal(claims.first_drop(rates), [2, np.nan, 1])


def test_every_needs_all_conditions_per_seed():
    got = claims.every(np.array([True, True, False]), np.array([True, False, False]))
    assert got.tolist() == [True, False, False]
    with pytest.raises(ValueError, match="at least one"):
        claims.every()


@pytest.mark.parametrize(
    ("value", "quoted", "reads"),
    [
        (0.000476, "0.0004", True),  # truncated to one digit
        (0.00758, "0.0075", True),  # truncated to two digits
        (3.116e-5, "3.1e-5", True),  # rounded (and truncated)
        (0.00749, "0.0075", True),  # rounded
        (0.00768, "0.0075", False),  # rounds to 0.0077, truncates to 0.0076
        (0.0005, "0.0004", False),
        (0.00041, "4e-4", True),
    ],
)
def test_reads_as_accepts_rounding_or_truncation_to_the_quoted_digits(value, quoted, reads):
    assert claims.reads_as(value, quoted) is reads
