"""The suggestion rules on synthetic curves with known answers (pure NumPy, no training)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lr_lessons.tools.range_test import STOP_END, RangeTestRepeats, RangeTestResult, rules

LRS = np.logspace(-6, 0, 301)
LOG = np.log10(LRS)


def blow_up_curve(fall_at: float = -3.0, min_at: float = -1.5, noise: float = 0.0, seed=0):
    """Flat at 2, falls around ``fall_at``, lowest at ``min_at``, then explodes to 20.

    ``noise`` is relative to the loss and only hits the blow-up, which is chaotic in
    real tests (the loss jumps up and down as the steps overshoot).
    """
    rng = np.random.default_rng(seed)
    loss = 2.0 - 1.5 * (1 + np.tanh((LOG - fall_at) / 0.3)) / 2
    after = LOG > min_at
    loss[after] = loss[after].min() + 12.0 * (LOG[after] - min_at) ** 2
    loss[after] *= np.exp(noise * rng.normal(size=int(after.sum())))
    return loss


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", rules.SUGGESTIONS)
def test_no_rule_suggests_a_rate_past_the_minimum(name, seed):
    # Noisy curves whose blow-up is steep: the old steepest rule read the blow-up's
    # downward noise and picked rates past the minimum.
    loss = rules.ema(blow_up_curve(noise=0.5, seed=seed), 0.9)
    lo, hi = rules.span(len(LRS))
    m = rules.minimum_index(loss, lo, hi)
    s = rules.suggest(name, LRS, loss)
    assert s.lr <= LRS[m] * (1 + 1e-12)
    assert s.index <= m


def test_steepest_at_the_known_inflection():
    loss = 2.0 - np.tanh((LOG + 3.0) / 0.4)  # steepest fall at 1e-3
    s = rules.suggest("steepest", LRS, loss)
    assert s.lr == pytest.approx(1e-3, rel=0.05) and s.reliable


def test_slide_lands_where_the_slope_settles_before_the_minimum():
    # Linear fall in log(lr) from 1e-4 to 1e-2, flat bottom to 1e-1, then a blow-up.
    # The minimum m is the bottom's first point (1e-2). Sliding in from the right, the
    # window's left end must be at or before m, so its right end is at most 1.2 decades
    # right of m: on the bottom (slope 0) or the blow-up while the left end is on the
    # fall (slope -1): no match. The first match is with both ends on the fall: the
    # right end just left of 1e-2, the left end 1.2 decades earlier, 10**-3.2.
    loss = np.where(LOG < -4, 3.0, np.where(LOG < -2, 3.0 - (LOG + 4), 1.0))
    loss = np.where(LOG > -1, 1.0 + 10 * (LOG + 1) ** 2, loss)
    s = rules.suggest("slide", LRS, loss)
    lo, hi = rules.span(len(LRS))
    m = rules.minimum_index(loss, lo, hi)
    assert s.index <= m
    assert math.log10(s.lr) == pytest.approx(-3.2, abs=0.05)
    # the rule's function is pure: arrays in, an index out
    assert rules.slide(LRS, loss) == s.index


def test_valley_minimum_and_slide_are_numbers_from_arrays():
    loss = blow_up_curve()
    assert isinstance(rules.valley(LRS, loss), int)
    assert isinstance(rules.steepest(LRS, loss), int)
    assert isinstance(rules.minimum(LRS, loss), float)


def test_a_curve_that_never_falls_has_no_reliable_suggestion():
    loss = 2.0 + 0.01 * np.sin(LOG * 7)
    for name in rules.SUGGESTIONS:
        s = rules.suggest(name, LRS, loss)
        assert not s.reliable and s.reason.startswith(rules.NO_FALL)
    assert "unreliable" in str(rules.suggest("valley", LRS, loss))


def test_steepest_pinned_by_the_skip_window_is_reported_unreliable():
    # The loss falls fastest at the very start (Adam on MNIST from 1e-4): the steepest
    # point sits at the first point read, fixed by skip_start rather than by the curve.
    loss = 1.0 + np.exp(-(LOG + 6) * 2.0)
    s = rules.suggest("steepest", LRS, loss)
    lo, _ = rules.span(len(LRS))
    assert s.index <= lo + 1
    assert not s.reliable and s.reason.startswith(rules.AT_EDGE)
    # a curve with a flat start is reliable at the same settings
    assert rules.suggest("steepest", LRS, blow_up_curve()).reliable


def test_fall_after_a_chance_level_plateau_is_reported():
    chance = math.log(10)
    loss = np.full(len(LRS), chance)
    loss[:80] = np.linspace(6.0, chance, 80)  # a bad start falls to chance first
    fall = LOG > -2
    loss[fall] = chance - 1.8 * (1 - np.exp(-(LOG[fall] + 2) * 3))
    s = rules.suggest("steepest", LRS, loss, chance=chance)
    assert not s.reliable and s.reason.startswith(rules.CHANCE_PLATEAU_FALL)
    # without the chance level the same curve looks readable
    assert rules.suggest("valley", LRS, loss).reason == ""


def test_unknown_rule_names_are_refused():
    with pytest.raises(ValueError, match="unknown suggestion 'best'"):
        rules.suggest("best", LRS, LOG)


def _run(loss, **settings):
    return RangeTestResult(LRS, loss, STOP_END, {"beta": 0.0, "window": 5, **settings})


def test_repeats_give_each_rules_median_spread_and_a_disagreement_flag():
    runs = [_run(blow_up_curve(fall_at=f)) for f in (-4.0, -3.0, -2.2)]
    rep = RangeTestRepeats([0, 1, 2], runs)
    s = rep.rule_summary("steepest")
    values = [r.suggestion("steepest").lr for r in runs]
    assert s.values == tuple(values)
    assert s.median in values  # one seed's own rate, not a mean no seed suggested
    assert (s.low, s.high) == (min(values), max(values))
    assert s.ratio == pytest.approx(max(values) / min(values))
    assert s.disagree == (s.ratio > 3) and s.disagree  # falls 1.8 decades apart
    assert rep.suggestion_summary("steepest") == (s.median, s.low, s.high)
    same = RangeTestRepeats([0, 1], [runs[1], runs[1]]).rule_summary("valley")
    assert same.ratio == 1.0 and not same.disagree
    assert "seeds disagree" in str(s) and "seeds disagree" not in str(same)


def test_result_reads_the_chance_level_from_its_settings():
    chance = math.log(10)
    loss = np.full(len(LRS), chance)
    loss[:80] = np.linspace(6.0, chance, 80)
    fall = LOG > -2
    loss[fall] = chance - 1.8 * (1 - np.exp(-(LOG[fall] + 2) * 3))
    assert not _run(loss, chance_loss=chance).suggestion("valley").reliable
    assert _run(loss).suggestion("valley").reliable
