"""Numbers and comparisons quoted in chapter 11's prose, checked against the saved results.

As for chapters 6-9 (`test_prose_numbers_6_8.py`): each test finds the quoted phrase in
the chapter (editing the prose means editing the test) and recomputes what it says from
`results/` as `lr-lessons figures` wrote it (the width studies `width_<sp|mup>_adam_<w>`
and `11_width/coord_check.npz`). Nothing trains.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_prose_numbers_6_8 import RESULTS, close, full_size, quoted, results

from lr_lessons.lab import width
from lr_lessons.views import width_claims

pytestmark = pytest.mark.slow

CH = "11_width"
SEEDS = 5


def committed_sweep(optimizer: str, widths) -> width.Sweep:
    """The committed sweep of `optimizer` at `widths`, both parametrizations."""
    got = {
        p: [results(s.name) for s in width.studies(p, optimizer, widths)]
        for p in width.PARAMETRIZATIONS
    }
    return width.Sweep.from_results(got, widths, width.RATES[optimizer], optimizer)


@pytest.fixture(scope="module")
def sweep() -> width.Sweep:
    return committed_sweep("adam", width.WIDTHS)


@pytest.fixture(scope="module")
def sgd() -> width.Sweep:
    return committed_sweep("sgd", width.SGD_WIDTHS)


@pytest.fixture(scope="module")
def check() -> width.CoordCheck:
    return width.CoordCheck.load(full_size(RESULTS / "11_width" / "coord_check.npz"))


def log2(values) -> np.ndarray:
    return np.log2(np.asarray(values))


def test_ch11_the_setup_the_prose_describes(sweep, check):
    quoted(
        CH,
        "Learning-rate sweeps at widths 64 to 512, one epoch each (Adam; SGD at 64 and "
        "512); the coordinate check at widths 64 to 2048",
    )
    quoted(CH, "Every rate of a grid of factor 2 (2^-13 to 2^-5), at widths 64, 128, 256 and 512")
    quoted(
        CH, "4 steps of Adam at rate 2^-7 on MNIST batches of 128, widths 64 to 2048, five seeds"
    )
    assert sweep.widths == [64, 128, 256, 512] and len(sweep.seeds) == SEEDS
    assert log2(sweep.rates).tolist() == list(range(-13, -4))
    assert sweep.meta["epochs"] == 1 and sweep.meta["batch_size"] == 64
    assert check.widths == [64, 128, 256, 512, 1024, 2048] and len(check.seeds) == SEEDS
    assert check.size.shape[-1] - 1 == 4 and check.meta["rate"] == 2.0**-7
    assert check.meta["batch_size"] == 128
    assert "8,000 train" in sweep.meta["data_source"]


def test_ch11_coordinate_check_numbers(check):
    quoted(
        CH,
        "their mean size is 0.71 at 64 units and 9.1 at 2048 (means over seeds; 7 to 23 "
        "times larger in single seeds)",
    )
    sp = check.size[0, :, :, :, -1]  # widths, seeds, layers
    close(sp[0, :, 2].mean(), 0.71, 0.01)
    close(sp[-1, :, 2].mean(), 9.1, 0.1)
    growth = check.growth("sp")[:, 2]
    close(growth.min(), 7, 1)
    close(growth.max(), 23, 1)
    quoted(CH, "(5.8 times smaller at 2048 units than at 64)")
    close(sp[0, :, 0].mean() / sp[-1, :, 0].mean(), 5.8, 0.1)
    quoted(
        CH,
        "Under muP the three lines are flat from 128 units up (within a factor 1.3 in every seed)",
    )
    mu = check.size[1, 1:, :, :, -1]
    assert (mu.max(axis=0) / mu.min(axis=0)).max() <= 1.35
    quoted(
        CH, "the two hidden layers' outputs are a little smaller (0.37 and 0.33 against about 0.5)"
    )
    base = check.size[1, 0, :, :, -1].mean(axis=0)
    close(base[0], 0.37, 0.01)
    close(base[1], 0.33, 0.01)
    wider = check.size[1, 1:, :, :2, -1].mean(axis=1)
    assert np.all(np.abs(wider - 0.5) <= 0.05)


def test_ch11_the_curves_slide_in_sp_and_stay_in_mup(sweep):
    quoted(
        CH,
        "(at 2^-13 the loss is 1.08 at width 512 against 2.01 at 64), at large rates it "
        "does worse (at 2^-5: 1.71 against 0.69)",
    )
    sp = sweep.final("sp").mean(axis=-1)  # widths, rates
    close(sp[-1, 0], 1.08, 0.01)
    close(sp[0, 0], 2.01, 0.01)
    close(sp[-1, -1], 1.71, 0.01)
    close(sp[0, -1], 0.69, 0.01)
    quoted(CH, "the lowest point moves from 2^-7 at widths 64 and 128 to 2^-9 at 512")
    lowest = log2(np.asarray(sweep.rates)[np.argmin(sp, axis=1)])
    assert lowest[0] == lowest[1] == -7 and lowest[-1] == -9
    quoted(CH, "a wider model lower at every rate, and the lowest point stays at 2^-7 or 2^-6")
    mu = sweep.final("mup").mean(axis=-1)
    assert np.all(np.diff(mu, axis=0) < 0)
    assert set(log2(np.asarray(sweep.rates)[np.argmin(mu, axis=1)])) <= {-7, -6}


def test_ch11_best_rates_per_seed(sweep):
    quoted(
        CH,
        "In SP every seed's best rate is 2^-7 at widths 64 and 128, 2^-8 at 256 and 2^-9 "
        "at 512 (one seed: 2^-8)",
    )
    sp = log2(sweep.best_rate("sp"))  # widths, seeds
    assert np.all(sp[:2] == -7) and np.all(sp[2] == -8)
    assert sorted(sp[3]) == [-9, -9, -9, -9, -8]
    quoted(
        CH,
        "In muP the best rates are 2^-7 or 2^-6 at every width, never more than one grid "
        "step apart",
    )
    mu = log2(sweep.best_rate("mup"))
    assert set(mu.ravel()) <= {-7, -6}
    assert np.all(mu.max(axis=0) - mu.min(axis=0) <= 1)


def test_ch11_tuning_small_and_training_wide(sweep):
    quoted(
        CH, "SP's final loss is 21% above the loss of 512's own best rate, muP's 3% above its own"
    )
    for par, pct in (("sp", 21), ("mup", 3)):
        final = sweep.final(par)
        at = np.argmin(final[0], axis=0)
        used = final[-1, at, np.arange(SEEDS)]
        close(100 * (used / final[-1].min(axis=0) - 1).mean(), pct, 1)
    quoted(CH, "its best loss at 512 units is 0.416, muP's 0.430")
    close(sweep.final("sp")[-1].min(axis=0).mean(), 0.416, 0.001)
    close(sweep.final("mup")[-1].min(axis=0).mean(), 0.430, 0.001)
    quoted(
        CH,
        "used at 512 units, the rate tuned at 64 ended 3% above the best loss under muP "
        "and 21% above it under SP",
    )


def test_ch11_the_table_prose(sweep, check):
    quoted(CH, "Three claims hold in all five seeds")
    band = sweep.best_rate("mup")
    assert np.all(band.max(axis=0) / band.min(axis=0) <= width_claims.MUP_BAND)
    loss = width_claims.fixed_rate_losses(sweep)
    assert np.all(loss[1:] / loss[:-1] <= width_claims.NEVER_WORSE)
    assert np.all(check.growth("sp")[:, 2] >= width_claims.COORD_GROWS)
    quoted(
        CH,
        "SP's shift of the best rate reaches the factor 4 in four seeds; in the fifth the"
        " best rate at 512 units is 2^-8, a factor 2",
    )
    sp = sweep.best_rate("sp")
    shift = sp[0] / sp[-1]
    assert sorted(shift) == [2, 4, 4, 4, 4]
    quoted(CH, "the losses at 2^-9 and 2^-8 differ by at most 4% in any seed")
    final = sweep.final("sp")[-1]
    rates = log2(sweep.rates).tolist()
    a, b = final[rates.index(-9)], final[rates.index(-8)]
    assert np.max(np.maximum(a, b) / np.minimum(a, b)) <= 1.04
    quoted(
        CH,
        "muP's flatness in the coordinate check holds in four seeds; in the fifth the "
        "hidden layer's outputs at the base width are 2.02 times smaller than at the "
        "largest",
    )
    spread = check.spread("mup")
    assert ((spread <= width_claims.COORD_FLAT).all(axis=1)).sum() == 4
    worst = np.argmax(spread.max(axis=1))
    mu = check.size[1, :, worst, 1, -1]
    assert np.argmin(mu) == 0
    close(mu.max() / mu[0], 2.02, 0.01)
    quoted(CH, "at its own best rate SP ends slightly lower than muP at widths 256 and 512")
    sp_best = sweep.final("sp").min(axis=1).mean(axis=1)
    mu_best = sweep.final("mup").min(axis=1).mean(axis=1)
    assert np.all(sp_best[2:] < mu_best[2:])


def test_ch11_the_demo_and_the_timing_line():
    quoted(CH, "The hidden kernel's rate is divided by 8 (512 units over the base's 64)")
    spec = width.spec(512, "mup", "adam")
    assert spec.lr_multipliers[1] == 1 / 8
    quoted(CH, "(1.24 times Keras' draw at 512 units) and so is the readout's (2.66 times)")
    quoted(
        CH,
        "at 512 units the input and output kernels and the hidden biases train at 8 times "
        "the rate and the output bias at 64 times",
    )
    sgd = width.spec(512, "mup", "sgd")
    assert sgd.rate_multipliers() == [8.0, 8.0, 1.0, 8.0, 8.0, 64.0]
    close(spec.init_scales[0], 1.24, 0.01)
    close(spec.init_scales[2], 2.66, 0.01)
    assert spec.init_scales[1] == 1.0


def test_ch11_sgd(sgd):
    quoted(
        CH,
        "The same sweep with plain SGD (rates 2^-5 to 1) at the narrowest and the widest "
        "width only, 64 and 512 units",
    )
    assert sgd.widths == [64, 512] and log2(sgd.rates).tolist() == list(range(-5, 1))
    assert len(sgd.seeds) == SEEDS
    quoted(
        CH,
        "it is 2^-2 at 64 and at 512 units in both parametrizations (one seed's best at "
        "512 units in SP is 2^-1)",
    )
    sp, mu = log2(sgd.best_rate("sp")), log2(sgd.best_rate("mup"))
    assert np.all(mu == -2) and np.all(sp[0] == -2)
    assert sorted(sp[1]) == [-2, -2, -2, -2, -1]
    quoted(
        CH,
        "The wider model ends lower at every rate in muP, and at every rate but the "
        "largest in SP, where at rate 1 the 512-unit network ends above the 64-unit one "
        "(2.53 against 1.90)",
    )
    mean = {p: sgd.final(p).mean(axis=-1) for p in width.PARAMETRIZATIONS}
    assert np.all(mean["mup"][1] < mean["mup"][0])
    assert np.all(mean["sp"][1, :-1] < mean["sp"][0, :-1]) and mean["sp"][1, -1] > mean["sp"][0, -1]
    close(mean["sp"][1, -1], 2.53, 0.01)
    close(mean["sp"][0, -1], 1.90, 0.01)
    quoted(CH, "With SGD the best rate stayed at 2^-2 from 64 to 512 units")
    for p in width.PARAMETRIZATIONS:  # the mean curves' lowest point
        lowest = np.argmin(mean[p], axis=1)
        assert log2(np.asarray(sgd.rates)[lowest]).tolist() == [-2, -2]
