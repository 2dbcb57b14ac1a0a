"""Numbers and comparisons in chapter 10's prose, checked against the saved results.

As for chapters 0-9 (`test_prose_numbers_6_8.py`): each test finds the phrase in the
chapter (editing the prose means editing the test) and recomputes what it says from
`results/10_edge_of_stability/` as `lr-lessons figures` wrote it, with the chapter's own
measures (`lr_lessons.views.edge_of_stability_claims`). A number is checked at the
precision the prose quotes it; "most seeds" means more than half, "some" at least one
but not most, "about half" 35% to 65%, "a few" at least one and at most a fifth.
Nothing trains (one test evaluates the ReLU network's sharpness at initialisation).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_prose_numbers_6_8 import RESULTS, close, full_size, quoted

from lr_lessons.lab import edge_of_stability as eos
from lr_lessons.lab.edge_of_stability import Trajectories
from lr_lessons.views import edge_of_stability_claims as C

pytestmark = pytest.mark.slow

CHAPTER = "10_edge_of_stability"


def runs(name: str) -> Trajectories:
    """One family of the chapter's runs, full size, on at least 30 seeds."""
    t = Trajectories.load(full_size(RESULTS / CHAPTER / f"{name}.npz"))
    assert not t.meta["quick"], f"{name} is a quick-mode result"
    assert len(t.seeds) >= 30, f"{name}: blobs claims rest on 30 seeds, found {len(t.seeds)}"
    return t


def units(t: Trajectories, rate: float) -> np.ndarray:
    """`(seeds, checkpoints)`: the sharpness at `rate` in units of its `2 / eta`."""
    return t.sharpness[t.rate_index(rate)] * rate / 2


def late(t: Trajectories, rate: float) -> np.ndarray:
    """Per seed: the median sharpness over the second half, in units of `2 / eta`."""
    return C._hover_ratio(t.sharpness[t.rate_index(rate)], t.spec.checkpoints, 2 / rate)


# --- setup -----------------------------------------------------------------------------


def test_ch10_time_weights_and_measurements():
    quoted(CHAPTER, "the 303-weight blobs network")
    quoted(CHAPTER, "About a minute of computing from scratch on a 2-core CPU (measured: "
           "each result file records its time)")  # fmt: skip
    quoted(CHAPTER, "every 50 steps (100 under Adam and in the catapult runs)")
    quoted(CHAPTER, "We train 1,000 steps at three rates")
    gd, adam, cat = runs("gd"), runs("adam"), runs("catapult")
    assert 2 * gd.spec.width + gd.spec.width + gd.spec.width * 3 + 3 == 303
    # Timings vary with the machine's load: "about a minute" is half a minute to 1.5.
    total = sum(t.meta["wall_time_s"] for t in (gd, adam, cat))
    assert 30 <= total <= 90, total
    assert gd.spec.every == 50 and adam.spec.every == 100 and cat.spec.every == 100
    assert gd.spec.steps == adam.spec.steps == 1000


def test_ch10_initial_sharpness_and_the_three_rates():
    quoted(CHAPTER, "an initial sharpness of about 12 (11.6 in the median seed, from 3.9 to "
           "14.8) that training then raises")  # fmt: skip
    quoted(CHAPTER, "$\\eta = 0.02$ ($2/\\eta = 100$, far above anything the sharpness "
           "reaches)")  # fmt: skip
    quoted(CHAPTER, "$\\eta = 0.1$ ($2/\\eta = 20$, above the initial sharpness: it must "
           "climb to the edge)")  # fmt: skip
    quoted(CHAPTER, "$\\eta = 0.5$ ($2/\\eta = 4$, below the initial sharpness from the "
           "start in all seeds but one)")  # fmt: skip
    gd = runs("gd")
    assert gd.spec.rates == (0.02, 0.1, 0.5)
    lam0 = gd.sharpness[0, :, 0]
    assert np.allclose(gd.sharpness[:, :, 0], lam0, rtol=1e-4)  # one start, three Lanczos runs
    close(float(np.median(lam0)), 12, 1)
    close(float(np.median(lam0)), 11.6, 0.1)
    close(float(lam0.min()), 3.9, 0.1)
    close(float(lam0.max()), 14.8, 0.1)
    assert np.nanmax(gd.sharpness[0]) < 100 / 2  # "far above": more than twice
    assert np.all(gd.sharpness[1, :, 0] < 2 / 0.1)
    assert np.sum(gd.sharpness[2, :, 0] < 2 / 0.5) == 1


def test_ch10_relu_starts_sharper():
    quoted(CHAPTER, "ReLU with the raw inputs starts sharper (39 in the median seed, at "
           "initialisation)")  # fmt: skip
    import keras

    from lr_lessons.lab.data import load_blobs
    from lr_lessons.tools.sharpness import sharpness

    gd = runs("gd")
    relu = dataclasses.replace(gd.spec, activation="relu")
    x, y = eos.inputs(load_blobs(), relu.standardize)
    values = []
    for seed in gd.seeds:
        keras.utils.set_random_seed(seed)  # the weights `initial_weights` gives the runs
        values.append(sharpness(eos.model(relu), eos.keras_loss(relu), x, y))
    close(float(np.median(values)), 39, 1)
    assert np.median(values) > np.median(gd.sharpness[0, :, 0])


# --- the edge --------------------------------------------------------------------------


def test_ch10_reading_the_edge_figure():
    quoted(CHAPTER, "At $\\eta = 0.02$ the sharpness grows, slowly (it ends above its start "
           "in every seed)")  # fmt: skip
    quoted(CHAPTER, "At $\\eta = 0.1$ it grows until it meets the dashed line $2/\\eta$")
    quoted(CHAPTER, "about half sit above the line (1.1 to 1.5 times it), the others (seed 0, "
           "the thin line, is one) drop suddenly below it between steps 400 and 650 and stay "
           "there")  # fmt: skip
    gd = runs("gd")
    small = gd.sharpness[0]
    assert np.all(small[:, -1] > small[:, 0])
    assert np.all(np.nanmax(units(gd, 0.1), axis=1) >= 1)
    ratio = late(gd, 0.1)
    above = ratio > 1
    assert 0.35 <= above.mean() <= 0.65
    close(float(ratio[above].min()), 1.1, 0.1)
    close(float(ratio[above].max()), 1.5, 0.1)
    s, steps = units(gd, 0.1), gd.spec.checkpoints
    assert not above[gd.seeds.index(0)]
    for i in np.flatnonzero(~above):
        peak = int(np.argmax(s[i]))
        drop = peak + int(np.argmax(s[i, peak:] < 1))  # the first checkpoint below the line
        assert s[i, drop] < 1 and np.all(s[i, drop:] < 1), i
        assert 400 <= steps[drop] <= 650, (i, steps[drop])


def test_ch10_above_the_edge_from_the_start():
    quoted(CHAPTER, "At $\\eta = 0.5$ the initial sharpness is already above $2/\\eta$ (in all "
           "seeds but one)")  # fmt: skip
    quoted(CHAPTER, "the sharpness falls towards $2/\\eta$ and then stays there, in some seeds "
           "right at the line and in most at about one and a half times it")  # fmt: skip
    gd = runs("gd")
    start, ratio = units(gd, 0.5)[:, 0], late(gd, 0.5)
    assert np.sum(start <= 1) == 1
    assert np.all(ratio[start > 1] < start[start > 1])
    at_line = np.abs(ratio - 1) <= 0.05
    high = (ratio >= 1.45) & (ratio < 1.65)
    assert 0 < at_line.mean() <= 0.5 and high.mean() > 0.5
    assert np.all(at_line | high)  # the two levels are all there is


def test_ch10_the_loss_at_the_edge():
    quoted(CHAPTER, "at the edge it still falls over hundreds of steps, but it jumps up and "
           "down on the way (the thin line: one seed), which the run at $\\eta = 0.02$ never "
           "does")  # fmt: skip
    quoted(CHAPTER, "the loss then rises on a quarter to a half of the steps")
    quoted(CHAPTER, "The loss keeps falling at the edge, and not monotonically, in every seed")
    gd = runs("gd")
    window = C._late(gd)
    assert window >= 100  # "hundreds of steps": the last tenth against the tenth before the middle
    shares = []
    for rate in (0.1, 0.5):
        loss = gd.loss[gd.rate_index(rate)]
        assert np.all(C.long_decrease(loss, window))
        shares.append(C.rise_share(loss))
    share = np.concatenate(shares)
    assert np.all(share >= C.RISES)
    close(float(share.min()), 0.25, 0.01)  # a quarter to a half, to the percent
    close(float(share.max()), 0.50, 0.01)
    assert np.all(C.rise_share(gd.loss[0]) == 0)


def test_ch10_how_near_the_edge():
    quoted(CHAPTER, "the sharpness sits above $2/\\eta$ more often than exactly at it, and it "
           "can fall well below it late in training")  # fmt: skip
    quoted(CHAPTER, "the seeds split between a level below the line (about 0.75 times it at "
           "$\\eta = 0.1$) or right at it, and one about 1.1 to 1.6 times it, and the test's "
           "band $[0.9, 1.3]$ catches only part of them")  # fmt: skip
    gd = runs("gd")
    ratios = np.concatenate([late(gd, 0.1), late(gd, 0.5)])
    at = np.abs(ratios - 1) <= 0.1
    above = ratios > 1.1
    assert above.sum() > at.sum()
    below = late(gd, 0.1)[late(gd, 0.1) < 0.9]
    assert below.size and below.max() < 0.8  # "well below": more than a fifth
    close(float(np.median(below)), 0.75, 0.1)
    upper = ratios[ratios > 1.1]
    close(float(upper.min()), 1.1, 0.1)
    close(float(upper.max()), 1.6, 0.1)
    band = (ratios >= C.HOVER[0]) & (ratios <= C.HOVER[1])
    assert 0 < band.mean() < 1


# --- the catapult ----------------------------------------------------------------------


def test_ch10_catapult_multiples():
    quoted(CHAPTER, "$\\eta = c \\cdot 2/\\lambda_0$ for $c = 0.5$ (stable), $1.25$, $1.5$, "
           "$2$")  # fmt: skip
    quoted(CHAPTER, "$3$ and $5$")
    cat = runs("catapult")
    assert cat.spec.rates == (0.5, 1.25, 1.5, 2.0, 3.0, 5.0) and cat.spec.relative
    stable = cat.loss[cat.rate_index(0.5)]
    assert not cat.diverged[0].any() and np.all(np.nanmax(stable[:, 1:], axis=1) < stable[:, 0])


def test_ch10_the_catapult_figure():
    quoted(CHAPTER, "in the catapult range the loss shoots up, by a factor of a few at "
           "$c = 1.25$ and of dozens at $c = 2$, within the first few steps, then comes back "
           "down below where it started")  # fmt: skip
    quoted(CHAPTER, "Every run that survived ends below 1")
    quoted(CHAPTER, "At $c = 5$ nearly every seed diverges (crosses at the top); $c = 3$ lies "
           "in between")  # fmt: skip
    cat = runs("catapult")
    peak = {}
    for c in C.CATAPULT:
        loss = cat.loss[cat.rate_index(c)]
        peak[c] = np.max(loss[:, 1 : C.EARLY + 1], axis=1) / loss[:, 0]
        assert np.all(peak[c] > 1) and not cat.diverged[cat.rate_index(c)].any()
        assert np.all(np.argmax(loss[:, 1 : C.EARLY + 1], axis=1) + 1 <= 10)  # first few
        assert np.all(loss[:, -1] < loss[:, 0])
    assert 2 <= np.median(peak[1.25]) < 10
    assert 20 <= np.median(peak[2.0]) < 100
    end = cat.sharpness[:, :, -1] * cat.rates / 2
    assert np.all(end[~cat.diverged] < 1)
    died = cat.diverged.sum(axis=1)
    three, five = died[cat.rate_index(3.0)], died[cat.rate_index(5.0)]
    assert five >= 0.9 * len(cat.seeds) and 0 < three < five


def test_ch10_what_this_means_in_practice():
    quoted(CHAPTER, "here up to three times $2/\\lambda_0$: at $c = 3$, 25 of 30 seeds "
           "converge")  # fmt: skip
    cat = runs("catapult")
    j = cat.rate_index(3.0)
    loss = cat.loss[j]
    converged = ~cat.diverged[j] & (loss[:, -1] < loss[:, 0])
    assert (converged.sum(), len(cat.seeds)) == (25, 30)


# --- Adam ------------------------------------------------------------------------------


def test_ch10_adam_edges():
    quoted(CHAPTER, "$\\eta = 0.03$ and $0.1$ ($38/\\eta$ = 1,267 and 380)")
    quoted(CHAPTER, "The preconditioned sharpness climbs to its threshold and stays there")
    quoted(CHAPTER, "it wanders up and down, at $\\eta = 0.03$ far below the $2/\\eta$ = 67 "
           "that would bind plain gradient descent (41 at most), at $\\eta = 0.1$ up to about "
           "its $2/\\eta$ = 20 in a few seeds but without staying there")  # fmt: skip
    adam = runs("adam")
    assert adam.spec.rates == (0.03, 0.1) and adam.spec.beta_1 == 0.9
    assert round(38 / 0.03) == 1267 and round(2 / 0.03) == 67
    steps = adam.spec.checkpoints
    for j, rate in enumerate(adam.spec.rates):
        p = adam.preconditioned[j] * rate / 38
        assert np.median(p[:, 1]) < C.HOVER[0]  # it climbs: below the band at first
        assert np.all(C._in_band(C._hover_ratio(adam.preconditioned[j], steps, 38 / rate)))
        turns = np.diff(np.sign(np.diff(adam.sharpness[j], axis=1)), axis=1) != 0
        assert turns.any(axis=1).mean() > 0.5  # up and down in most seeds
    slow, fast = adam.sharpness
    close(float(np.nanmax(slow)), 41, 1)
    assert np.nanmax(slow) < 0.7 * 2 / 0.03
    reach = np.nanmax(fast, axis=1) * 0.1 / 2
    near = reach >= 0.9
    assert 0 < near.mean() <= 0.2
    assert np.all(late(adam, 0.1) < 0.9)


# --- the tests' thresholds, as the page lists them -------------------------------------


def test_ch10_thresholds_as_listed():
    quoted(CHAPTER, "at $\\eta = 0.02$ the last sharpness is at least 1.2 times the first")
    quoted(CHAPTER, "its largest value reaches at least $0.9 \\cdot 2/\\eta$")
    quoted(CHAPTER, "lies within $[0.9, 1.3] \\cdot 2/\\eta$")
    quoted(CHAPTER, "the loss rises (by more than 0.01%, far above float32 rounding) on at "
           "least 1% of steps")  # fmt: skip
    quoted(CHAPTER, "the loss rises above its start within 100 steps")
    quoted(CHAPTER, "*diverges*: at $c = 5$")
    quoted(CHAPTER, "in 1,000 steps most seeds, not all, grow by the 20% the test asks")
    quoted(CHAPTER, "The sharpness does reach $2/\\eta$ at $\\eta = 0.1$ in every seed")
    quoted(CHAPTER, "the catapult and Adam's edge reproduce in (nearly) every seed")
    assert (C.SHARPENS, C.REACHES, C.HOVER) == (1.2, 0.9, (0.9, 1.3))
    assert (C.RISE, C.RISES, C.EARLY, C.DIVERGE) == (1e-4, 0.01, 100, 5.0)
    assert C.CATAPULT == (1.25, 1.5, 2.0)
    gd = runs("gd")
    growth = gd.sharpness[0, :, -1] / gd.sharpness[0, :, 0]
    assert 0.5 < np.mean(growth >= C.SHARPENS) < 1
