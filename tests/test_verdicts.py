"""The one verdict policy: k/n seeds, the 95% Wilson interval, words from fixed thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from lr_lessons.views import verdicts as V


def wilson_closed_form(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson (1927) score interval, written out: an independent check of SciPy's."""
    z = norm.ppf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize("n", [1, 2, 3, 5, 10, 30, 100])
def test_wilson_matches_the_closed_form(n):
    for k in range(n + 1):
        low, high = V.wilson(k, n)
        want = wilson_closed_form(k, n)
        assert low == pytest.approx(max(want[0], 0.0), abs=1e-12)
        assert high == pytest.approx(min(want[1], 1.0), abs=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "word"),
    [
        (30, 30, V.CONFIRMED),
        (29, 30, V.CONFIRMED),
        (16, 16, V.CONFIRMED),
        (5, 5, V.MOSTLY_HOLDS),
        (24, 30, V.MOSTLY_HOLDS),
        (3, 3, V.FEW_ALL),
        (4, 5, V.SPLIT_HOLDS),
        (15, 30, V.SPLIT),
        (1, 2, V.SPLIT),
        (1, 5, V.SPLIT_FAILS),
        (0, 3, V.FEW_NONE),
        (0, 5, V.MOSTLY_FAILS),
        (6, 30, V.MOSTLY_FAILS),
        (1, 30, V.NOT_REPRODUCED),
        (0, 30, V.NOT_REPRODUCED),
    ],
)
def test_the_words_of_the_policy_table(k, n, word):
    assert V.word(k, n) == word


@pytest.mark.parametrize("n", range(1, 61))
def test_no_word_covers_both_a_low_and_a_high_pass_rate(n):
    low = {V.word(k, n) for k in range(n + 1) if k <= 0.2 * n}
    high = {V.word(k, n) for k in range(n + 1) if k >= 0.8 * n}
    assert not low & high, f"n={n}: {low & high} covers both"


@pytest.mark.parametrize("n", range(1, 61))
def test_more_passing_seeds_never_give_a_weaker_word(n):
    ranks = [V.SEED_WORDS.index(V.word(k, n)) for k in range(n + 1)]
    assert all(a >= b for a, b in zip(ranks, ranks[1:])), ranks


def test_confirmed_needs_enough_seeds():
    smallest = next(n for n in range(1, 100) if V.word(n, n) == V.CONFIRMED)
    assert smallest == 16  # 15 of 15 gives [80% - a hair, 100%]
    assert V.word(29, 30) == V.CONFIRMED and V.word(28, 30) == V.MOSTLY_HOLDS


def test_decide_counts_and_prints_the_interval():
    v = V.decide(np.array([True] * 4 + [False]))
    assert (v.word, v.passed, v.total) == (V.SPLIT_HOLDS, 4, 5)
    assert str(v) == "seed-dependent, mostly holds: 4/5 seeds, 95% CI [38%, 96%]"
    assert v.rate == 0.8
    rounds = V.decide([True, False, True], unit="rounds", reason="timed")
    assert str(rounds) == "seed-dependent, mostly holds: 2/3 rounds, 95% CI [21%, 94%] (timed)"
    with pytest.raises(ValueError, match="boolean"):
        V.decide(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="at least one seed"):
        V.decide(np.array([], bool))


def test_composite_takes_its_weakest_part_and_shows_every_part():
    good, split = V.decide(np.ones(30, bool)), V.decide(np.r_[np.ones(1), np.zeros(9)] > 0)
    both = V.composite({"fast": good, "accurate": split})
    assert both.word == split.word == V.MOSTLY_FAILS
    assert str(both).startswith("mostly fails (fast: confirmed: 30/30 seeds")
    assert "accurate: mostly fails: 1/10 seeds" in str(both)
    nested = V.composite({"outer": both, "formula": V.checked(True)})
    assert nested.word == V.MOSTLY_FAILS and dict(nested.parts)["outer"] is both
    with pytest.raises(ValueError, match="decided on seeds"):
        V.composite({"a": V.measured()})
    with pytest.raises(ValueError, match="at least one part"):
        V.composite({})


def test_the_words_outside_the_seed_count():
    assert str(V.measured()) == "measured"
    assert str(V.superseded("LRFinder restores the weights")) == (
        "superseded: LRFinder restores the weights"
    )
    with pytest.raises(ValueError, match="reason"):
        V.superseded("")
    assert str(V.checked(False)) == "not reproduced: checked exactly, no seeds"
    assert V.checked(np.bool_(True)).word == V.CONFIRMED
    with pytest.raises(ValueError, match="True or False"):
        V.checked(np.array([True, False]))


def test_the_policy_text_states_the_thresholds():
    for number in ("95%", "80%", "50%", "20%"):
        assert number in V.POLICY
    assert V.NEARLY_ALL == 0.8 and V.MOST == 0.5 and V.NEARLY_NONE == 0.2
