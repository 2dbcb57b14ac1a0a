"""Numbers quoted in chapter 9's prose, checked against the saved full-size results.

As for chapters 6-8 (`test_prose_numbers_6_8.py`): each test finds the quoted phrase in
the chapter (editing the prose means editing the test) and recomputes the number from
`results/` as `lr-lessons figures` wrote it. Nothing trains.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_prose_numbers_6_8 import close, quoted, results

from lr_lessons.lab import landscape
from lr_lessons.views import landscape_tables as tables

pytestmark = pytest.mark.slow

# the 11 studies chapter 9 trains
STUDIES = ["landscape_momentum", "landscape_optimizers", "landscape_hd", "landscape_decay",
           "landscape_plateau"]  # fmt: skip
STUDIES += [f"landscape_batch_{b}" for b in (8, 16, 64, 128, 256, 500)]


def curves() -> dict[str, np.ndarray]:
    """Final test accuracy (rates, seeds) per optimizer, as the chapter gathers it."""
    m = tables.rate_map(landscape.momentum_grid(), results("landscape_momentum"))
    o = tables.rate_map(landscape.optimizer_grid(), results("landscape_optimizers"))
    hd_grid = landscape.optimizer_grid(landscape.HD_ROWS, name="landscape_hd")
    hd = tables.rate_map(hd_grid, results("landscape_hd"))
    mus = list(landscape.MOMENTA)
    return {
        "SGD": m.accuracy[mus.index(0.0)],
        "SGD, momentum 0.9": m.accuracy[mus.index(0.9)],
        **dict(zip(o.rows, o.accuracy)),
        **dict(zip(hd.rows, hd.accuracy)),
    }


def test_ch9_good_region_widths_from_under_a_decade_to_more_than_two():
    quoted(
        "09_landscape",
        "the good region within 0.01 of the best is from under a decade (RMSprop) to more "
        "than two decades (Adam-HD, whose region reaches the end of our grid in some seeds, "
        "so its width is a lower bound)",
    )
    rates = np.array(landscape.RATES)
    regions = {
        k: landscape.good_region(rates, v.T, landscape.GOOD_TOLERANCE) for k, v in curves().items()
    }
    width = {k: r.width.mean() for k, r in regions.items()}
    assert min(width, key=width.get) == "RMSprop" and width["RMSprop"] < 1.0
    assert max(width, key=width.get) == "Adam-HD" and width["Adam-HD"] > 2.0
    assert regions["Adam-HD"].censored.any()


def test_ch9_the_largest_usable_rate_falls_but_by_less_than_1_minus_mu():
    quoted(
        "09_landscape",
        "The largest rate that still learns falls with momentum, by a factor of 22 to 100 "
        "across seeds from $\\mu = 0$ to $0.99$, but less steeply than $1-\\mu$ (a slope of "
        "0.78 on average, below 1 in every seed",
    )
    m = tables.rate_map(landscape.momentum_grid(), results("landscape_momentum"))
    rates = np.asarray(landscape.RATES, dtype=float)
    learns = m.accuracy >= landscape.TARGET  # (momenta, rates, seeds)
    top = np.where(learns.any(1), np.max(np.where(learns, rates[:, None], 0), axis=1), np.nan)
    mus = np.asarray(landscape.MOMENTA, dtype=float)
    fall = top[0] / top[-1]
    close(fall.min(), 22, 1)
    close(fall.max(), 100, 1)
    slope = landscape.slope_per_seed(1 - mus, top)
    assert np.all(slope < 1)
    close(slope.mean(), 0.78, 0.01)


def test_ch9_run_counts():
    quoted("09_landscape", "A map needs this 3,240 times for momentum alone (18 rates x 6 "
           "momenta x 30 seeds), and more than three times as many again")  # fmt: skip
    runs = {n: len(results(n).settings) * len(results(n).seeds) for n in STUDIES}
    assert runs["landscape_momentum"] == 18 * 6 * 30
    assert sum(runs.values()) - runs["landscape_momentum"] > 3 * runs["landscape_momentum"]


def test_ch9_adam_best_rate_moves_with_the_batch():
    quoted("09_landscape", "Adam's best rate moved too")
    rates = np.array(landscape.RATES)
    small = landscape.batch_grid(8)
    large = landscape.batch_grid(500)
    best = [
        landscape.best_rate(
            rates, tables.rate_map(g, results(g.study.name)).accuracy[g.rows.index("adam")].T
        )
        for g in (small, large)
    ]
    assert np.all(best[1] > 10 * best[0])  # seed by seed, more than a decade


def test_ch9_header_run_count_and_time():
    quoted("09_landscape", "maps over 13,860 runs. About 8 minutes from scratch on a 2-core "
           "CPU (measured: 430 s of it training")  # fmt: skip
    every = [results(n) for n in STUDIES]
    assert sum(len(r.settings) * len(r.seeds) for r in every) == 13_860
    close(sum(r.meta["wall_time_s"] for r in every), 430, 10)


def test_ch9_adam_grows_more_slowly_than_sgd_but_closer_to_linear():
    quoted("09_landscape", "Adam's best rate also grows with the batch, a little more slowly "
           "than SGD's (slopes fitted per seed 0.90 against 1.19 on average, lower in 23 of "
           "30 seeds; the figure's lines, fitted to all seeds at once, 0.86 and 1.10) but "
           "closer to linear than to square-root scaling (within 0.2 of 0.5 in 1 of 30 "
           "seeds)")  # fmt: skip
    c = curves()
    batches = landscape.BATCH_SIZES
    b_results = {b: results(landscape.batch_grid(b).study.name) for b in batches if b != 32}
    b_acc = tables.by_batch_size(batches, b_results, at_32={"SGD": c["SGD"], "Adam": c["Adam"]})
    scaling = tables.batch_scaling(batches, landscape.RATES, b_acc, landscape.GOOD_TOLERANCE)
    adam, sgd = scaling.slope("Adam"), scaling.slope("SGD")
    assert adam.size == sgd.size == 30 and np.all(np.isfinite(adam) & np.isfinite(sgd))
    close(adam.mean(), 0.90, 0.01)
    close(sgd.mean(), 1.19, 0.01)
    assert np.sum(adam < sgd) == 23 and np.sum(np.abs(adam - 0.5) <= 0.2) == 1
    assert np.mean(np.abs(adam - 1)) < np.mean(np.abs(adam - 0.5))  # closer to linear
    close(scaling.fit["Adam"].slope, 0.86, 0.01)
    close(scaling.fit["SGD"].slope, 1.10, 0.01)


def momentum_rows():
    """The momentum map and chapters 3 and 4 at every momentum, as the chapter reads them."""
    mus = list(landscape.MOMENTA)
    m = tables.rate_map(landscape.momentum_grid(), results("landscape_momentum"))
    decay_study = landscape.momentum_decay_study()
    plateau_study = landscape.momentum_plateau_study()
    d = tables.momentum_rows(results("landscape_decay"), decay_study, mus, landscape.DECAYS,
                             tables.decay_rate)  # fmt: skip
    p = tables.momentum_rows(results("landscape_plateau"), plateau_study, mus,
                             landscape.PATIENCES, tables.patience)  # fmt: skip
    return m, d, p


def test_ch9_fast_decays_hurt_less_with_momentum():
    quoted("09_landscape", "Decay 0.01 ends 0.08 below no decay at $\\mu = 0$, 0.03 at 0.5 and "
           "not below from 0.8; decay 0.1 ends 0.14 below at $\\mu = 0$, still 0.03 at 0.9, "
           "and not below from 0.95")  # fmt: skip
    m, d, _ = momentum_rows()
    none = m.accuracy[:, list(m.rates).index(0.01)].mean(-1)  # (momenta,)
    below = {x: none - d.accuracy[:, k].mean(-1) for k, x in enumerate(landscape.DECAYS)}
    # momenta 0, 0.5, 0.8, 0.9, 0.95, 0.99
    close(below[0.01][0], 0.08, 0.01)
    close(below[0.01][1], 0.03, 0.01)
    assert np.all(below[0.01][2:] <= 0)
    close(below[0.1][0], 0.14, 0.01)
    close(below[0.1][3], 0.03, 0.01)
    assert np.all(below[0.1][:4] > 0) and np.all(below[0.1][4:] <= 0)


def test_ch9_plateau_at_high_momentum_and_patience_15():
    from lr_lessons.views.plateau_claims import drops_once

    quoted("09_landscape", "(hatched: 19 of 30 seeds at patience 2, 3 at patience 5). "
           "Patience 15 drops the rate exactly once in 10 of 30 seeds without momentum, 2 at "
           "$\\mu = 0.5$, none above")  # fmt: skip
    _, _, p = momentum_rows()
    patience = list(landscape.PATIENCES)
    assert p.diverged[-1, patience.index(2)].sum() == 19  # momentum 0.99
    assert p.diverged[-1, patience.index(5)].sum() == 3
    assert not p.diverged[:-1].any()  # only at 0.99
    once = [int(drops_once(r).sum()) for r in p.learning_rate[:, patience.index(15)]]
    assert once == [10, 2, 0, 0, 0, 0]


def test_ch9_hypergradient_rows_of_the_optimizer_map():
    quoted("09_landscape", "its start hardly matters from $10^{-5}$ to $0.1$ (mean final "
           "accuracy 0.816 to 0.831); SGD-HD's seeds end more than 0.25 apart at 15 of the "
           "18 starts")  # fmt: skip
    c = curves()
    rates = list(landscape.RATES)
    adam_hd = c["Adam-HD"].mean(-1)[: rates.index(0.1) + 1]
    close(adam_hd.min(), 0.816, 0.001)
    close(adam_hd.max(), 0.831, 0.001)
    assert c["Adam-HD"].mean(-1)[rates.index(0.1) + 1] < 0.8  # and not beyond
    assert len(rates) == 18 and np.sum(landscape.spread(c["SGD-HD"]) > 0.25) == 15


def test_ch9_effective_rate_reading():
    quoted("09_landscape", "momentum 0.99 at $\\eta = 10^{-4}$ trains like no momentum at "
           "$10^{-2}$")  # fmt: skip
    quoted("09_landscape", "the higher the momentum, the larger the effective rate it survives "
           "(the largest that still learns, over $1-\\mu$: 0.46 at $\\mu = 0$ and 0.5, 0.86 "
           "to 0.96 at 0.8 to 0.95, 1.3 at 0.99; seed means)")  # fmt: skip
    m, _, _ = momentum_rows()
    rates, mus = list(m.rates), np.asarray(landscape.MOMENTA, dtype=float)
    fast, slow = (mus.tolist().index(0.99), rates.index(1e-4)), (0, rates.index(0.01))
    assert abs(m.accuracy[fast].mean() - m.accuracy[slow].mean()) < 0.02
    epochs = landscape.median_epochs_to_target(m.epochs_to_target)
    assert abs(epochs[fast] / epochs[slow] - 1) < 0.2
    learns = m.accuracy >= landscape.TARGET  # (momenta, rates, seeds)
    top = np.max(np.where(learns, np.asarray(rates)[:, None], 0), axis=1)
    effective = top.mean(-1) / (1 - mus)
    close(effective[0], 0.46, 0.01)
    close(effective[1], 0.46, 0.01)
    close(effective[2:5].min(), 0.86, 0.01)
    close(effective[2:5].max(), 0.96, 0.01)
    close(effective[5], 1.3, 0.1)
    assert effective[2:].min() > effective[:2].max() and effective[5] > effective[:5].max()


def test_ch9_each_optimizer_has_its_own_scale():
    quoted("09_landscape", "the plateaus (mean final accuracy 0.75 or more) of Adam and "
           "RMSprop start at $10^{-4}$, over a decade left of SGD's "
           "($2 \\times 10^{-3}$; ")  # fmt: skip
    quoted("09_landscape", "Adagrad's reaches furthest right, to the grid's end")
    rates = np.asarray(landscape.RATES)
    plateau = {k: rates[v.mean(-1) >= landscape.TARGET] for k, v in curves().items()}
    for k in ("Adam", "RMSprop"):
        assert plateau[k].min() == 1e-4
    close(plateau["SGD"].min(), 2e-3, 0.5e-3)
    assert np.log10(plateau["SGD"].min() / 1e-4) > 1
    assert plateau["Adagrad"].max() == rates[-1]
    assert all(v.max() < rates[-1] for k, v in plateau.items() if k != "Adagrad")


def test_ch9_sgd_best_rate_against_the_batch():
    quoted("09_landscape", "SGD's best rate roughly doubles with every doubling of the batch "
           "from 32 to 256 and grows less from 256 to 500; below 32 the plateau of good rates "
           "is so flat that the seeds' best rates scatter over a decade or more")  # fmt: skip
    c = curves()
    batches = landscape.BATCH_SIZES
    b_results = {b: results(landscape.batch_grid(b).study.name) for b in batches if b != 32}
    b_acc = tables.by_batch_size(batches, b_results, at_32={"SGD": c["SGD"], "Adam": c["Adam"]})
    best = tables.batch_scaling(batches, landscape.RATES, b_acc).best["SGD"]  # (batches, seeds)
    mean = np.exp(np.log(best).mean(-1))  # geometric mean over seeds, as the figure
    i = {b: k for k, b in enumerate(batches)}
    steps = [mean[i[2 * b]] / mean[i[b]] for b in (32, 64, 128)]
    assert all(1.5 <= s <= 2.5 for s in steps)  # roughly doubles
    assert mean[i[500]] / mean[i[256]] < min(steps)  # grows less (for about a doubling)
    for b in (8, 16):
        assert best[i[b]].max() / best[i[b]].min() >= 10
