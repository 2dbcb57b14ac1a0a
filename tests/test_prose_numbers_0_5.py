"""Numbers and comparisons in the prose of chapters 0-5, checked against the saved results.

As for chapters 6-9 (`test_prose_numbers_6_8.py`): each test finds the phrase in the
chapter (editing the prose means editing the test) and recomputes what it says from
`results/` as `lr-lessons figures` wrote it, with the chapters' own measures
(`lr_lessons.lab.measures`). "Most seeds" means more than half; "every seed" all of
them. Nothing trains.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_prose_numbers_6_8 import quoted, results

from lr_lessons.lab import measures as M

pytestmark = pytest.mark.slow


def blobs(name: str):
    r = results(name)
    assert len(r.seeds) >= 30, f"{name}: blobs claims rest on 30 seeds, found {len(r.seeds)}"
    return r


def reach(r, setting: str, level: float = 0.75) -> np.ndarray:
    return M.never_is_last(M.epochs_to_sustain(r.get("val_accuracy", setting), level))


# --- chapter 0 -------------------------------------------------------------------------


def test_ch0_very_high_rate_and_the_good_rate():
    quoted("00_concepts", "At the very high rate the first epoch's loss is in the tens to tens "
           "of millions")  # fmt: skip
    quoted("00_concepts", "The high rate falls quickly and then stalls well above the good rate")
    r = blobs("concepts_loss_shapes")
    first = r.get("loss", "very high (5)")[:, 0]
    assert 10 <= first.min() < 100 and 1e7 <= first.max() < 1e8
    end = {s: M.final(r.get("loss", s)) for s in r.settings}
    assert np.all(end["high (1)"] > end["good (0.1)"] + 0.1)


# --- chapter 1 -------------------------------------------------------------------------


def test_ch1_regimes_and_the_best_rate():
    quoted("01_learning_rate", "each tenfold smaller rate takes longer to reach the same "
           "accuracy; 0.1 gets there first and, on average over the seeds, ends within a point "
           "of the best final test accuracy (seed by seed in most seeds, not all")  # fmt: skip
    quoted("01_learning_rate", "at $10^{-3}$ and $10^{-4}$ it learns, slowly, and at "
           "$10^{-5}$ only a little; at $10^{-6}$ and $10^{-7}$, 3,200 updates move the "
           "weights too little to change most predictions")  # fmt: skip
    r = blobs("learning_rate")
    gain = {s: M.final(r.get("accuracy", s)) - r.get("accuracy", s)[:, 0] for s in r.settings}
    assert gain["lr=0.001"].mean() > 0.2 and gain["lr=0.0001"].mean() > 0.2
    assert 0.05 < gain["lr=1e-05"].mean() < gain["lr=0.0001"].mean() / 2
    med = [np.median(reach(r, s)) for s in ("lr=0.1", "lr=0.01", "lr=0.001")]
    assert med[0] < med[1] < med[2]
    final = {s: M.final(r.get("val_accuracy", s)) for s in r.settings}
    best = max(final, key=lambda s: final[s].mean())
    assert final["lr=0.1"].mean() >= final[best].mean() - 0.01
    near = final["lr=0.1"] >= final[best] - 0.01
    assert 0.5 < near.mean() < 1
    for s in ("lr=1e-06", "lr=1e-07"):
        acc = r.get("accuracy", s)
        assert abs((M.final(acc) - acc[:, 0]).mean()) < 0.05


def test_ch1_which_runs_reshuffle():
    quoted("01_learning_rate", "The blobs studies of chapters 1 to 5, 8 and 9 draw a fresh "
           "order per epoch (chapter 4 also trains the repeated order, on purpose)")  # fmt: skip
    for name in ("learning_rate", "momentum", "decay", "plateau", "adaptive",
                 "hypergradient_blobs", "landscape_momentum"):  # fmt: skip
        assert results(name).meta["reshuffle"] is True, name
    assert results("plateau_one_permutation").meta["reshuffle"] is False


# --- chapter 2 -------------------------------------------------------------------------


def test_ch2_momentum_summary():
    quoted("02_momentum", "at least three times sooner in most seeds")
    quoted("02_momentum", "Plain SGD at 0.01 still gets there before half of our 200 epochs "
           "in every seed")  # fmt: skip
    quoted("02_momentum", "Every momentum steadies the late epochs in most of our 30 seeds, "
           "not in all")  # fmt: skip
    r = blobs("momentum")
    plain = reach(r, "momentum=0")
    fast = np.maximum(reach(r, "momentum=0.9"), reach(r, "momentum=0.99"))
    assert np.mean(3 * fast <= plain) > 0.5
    assert np.median(plain) > 2 * np.median(fast)  # "several times sooner"
    assert np.all(plain < 100)
    half = r.epochs // 2
    wobble = {s: M.volatility(r.get("val_accuracy", s), start=half) for s in r.settings}
    steadier = np.logical_and.reduce([wobble[s] < wobble["momentum=0"] for s in r.settings[1:]])
    assert 0.5 < steadier.mean() < 1


# --- chapter 3 -------------------------------------------------------------------------


def test_ch3_decays_steady_the_last_epochs():
    quoted("03_decay", "both steady the last epochs compared with it, decay 1E-3 the most")
    quoted("03_decay", "the rate reached a tenth of its start within the first 100 updates")
    assert 0.01 / (1 + 0.1 * 100) < 0.001  # the rule of decay 1E-1
    d, constant = blobs("decay"), blobs("momentum")
    half = d.epochs // 2
    flat = M.volatility(constant.get("val_accuracy", "momentum=0"), start=half).mean()
    wob = {s: M.volatility(d.get("val_accuracy", s), start=half).mean() for s in d.settings}
    assert wob["decay 0.001"] < wob["decay 0.0001"] < flat


# --- chapter 4 -------------------------------------------------------------------------


def test_ch4_patiences_in_both_orders():
    quoted("04_plateau", "patience 2 drives the rate below $10^{-6}$ within 50 epochs in most "
           "seeds")  # fmt: skip
    quoted("04_plateau", "with 10 and 15 most seeds keep the start rate for a long time, and "
           "some never lose it")  # fmt: skip
    quoted("04_plateau", "with Keras 3's repeated order it hardly fires at all")
    quoted("04_plateau", "the model keeps its rate and, at patiences 2 and 5, ends more "
           "accurate")  # fmt: skip
    fresh, repeated = blobs("plateau"), blobs("plateau_one_permutation")
    floor = M.never_is_last(M.floor_epoch(fresh.get("learning_rate", "patience=2")))
    assert np.mean(floor <= 50) > 0.5
    first10 = M.first_drop(fresh.get("learning_rate", "patience=10"))
    first15 = M.first_drop(fresh.get("learning_rate", "patience=15"))
    assert np.median(M.never_is_last(first10)) > 50 and np.median(M.never_is_last(first15)) > 50
    assert np.isnan(first15).any()
    assert max(M.rate_drops(repeated.get("learning_rate", s)).max() for s in repeated.settings) <= 1
    for s in ("patience=2", "patience=5"):
        gain = M.final(repeated.get("accuracy", s)) - M.final(fresh.get("accuracy", s))
        assert gain.mean() > 0 and np.mean(gain > 0) > 0.5


# --- chapter 5 -------------------------------------------------------------------------


def test_ch5_adaptive_summary():
    quoted("05_adaptive", "they reach 75% test accuracy within a few dozen epochs and then hold "
           "much steadier than plain SGD")  # fmt: skip
    quoted("05_adaptive", "so in 200 epochs it does not catch up")
    r = blobs("adaptive")
    for s in ("rmsprop", "adam"):
        assert np.all(reach(r, s) <= 40)
    wobble = {s: M.volatility(r.get("val_accuracy", s), start=r.epochs // 4) for s in r.settings}
    for s in ("rmsprop", "adam"):
        assert wobble["sgd"].mean() > 5 * wobble[s].mean()
    final = {s: M.final(r.get("val_accuracy", s)).mean() for s in r.settings}
    assert final["adagrad"] < min(final["sgd"], final["rmsprop"], final["adam"]) - 0.05
