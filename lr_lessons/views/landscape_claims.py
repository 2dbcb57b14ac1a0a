"""Chapter 9's claims rows: rules of thumb about where the good learning rate lies.

Each function tests one claim seed by seed at its own statement and returns one row
(`claims.Claim`). Slopes are read off best rates on a grid of thirds of a decade, so a
slope within `landscape.SLOPE_TOLERANCE` (0.2) of the claimed value agrees (see
`lr_lessons.lab.landscape` for the derivation). Chapters 3 and 4 restated across the
momentum row use those chapters' own per-seed tests and thresholds
(`decay_claims.poorly`, `decay_claims.close_to_none`, `plateau_claims.hits_floor`,
`plateau_claims.drops_once`, `plateau_claims.worse_model`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lr_lessons.lab import landscape
from lr_lessons.lab.results import Results
from lr_lessons.views import decay_claims, plateau_claims
from lr_lessons.views.claims import Claim, ClaimsTable, numbers_note, seeds_passing, summary
from lr_lessons.views.landscape_tables import BatchScaling
from lr_lessons.views.verdicts import Verdict, composite, decide

TOL_SLOPE = landscape.SLOPE_TOLERANCE


def _per(values: Sequence, arrays: np.ndarray, fmt: str = ".2g") -> str:
    return "; ".join(f"{v:g}: {summary(a, fmt)}" for v, a in zip(values, arrays))


def table_note(results: Results, batches: Sequence[int], tol: float) -> str:
    """The note under chapter 9's table (seeds, data, definitions)."""
    return numbers_note(
        results,
        "Best rate: the rate of the highest final test accuracy (per seed, refined by a "
        f"parabola in log rate); good region: within {tol} of the best; slopes agree "
        f"within {TOL_SLOPE}. Batch sizes {', '.join(map(str, batches))}, "
        f"{results.epochs} epochs each.",
    )


def effective_rate(momenta: Sequence[float], best: np.ndarray) -> Claim:
    """The best rates lie along constant eta / (1 - mu).

    Per seed, the slope of log best rate against log(1 - mu) must be within
    `TOL_SLOPE` of 1.

    Args:
        momenta: The momenta.
        best: Best rate per momentum and seed, `(momenta, seeds)`.

    Returns:
        The claims row.
    """
    mus = np.asarray(momenta, dtype=float)
    slope = landscape.slope_per_seed(1 - mus, best)
    proportional = np.abs(slope - 1) <= TOL_SLOPE
    return Claim(
        "The best rates lie along constant eta / (1 - mu), the effective rate of "
        "heavy-ball momentum (Shallue et al. 2019: the optimal rate scales with 1 - mu).",
        f"best rate per momentum: {_per(mus, best)}; as eta / (1 - mu): "
        f"{_per(mus, best / (1 - mus)[:, None])}; slope of log best rate against "
        f"log(1 - mu): {summary(slope, '.2f')}, within {TOL_SLOPE} of 1 in "
        f"{seeds_passing(proportional)}",
        decide(proportional),
    )


def largest_learning_rate(
    momenta: Sequence[float], rates: Sequence[float], accuracy: np.ndarray
) -> Claim:
    """(Not claimed.) The largest rate that still learns scales with 1 - mu too.

    "Learns": final test accuracy at least `landscape.TARGET` (75%).

    Args:
        momenta: The momenta.
        rates: The learning rates.
        accuracy: Final test accuracy, `(momenta, rates, seeds)`.

    Returns:
        The claims row.
    """
    mus = np.asarray(momenta, dtype=float)
    learns = accuracy >= landscape.TARGET
    top = np.where(
        learns.any(1),
        np.max(np.where(learns, np.asarray(rates, dtype=float)[:, None], 0), axis=1),
        np.nan,
    )
    slope = landscape.slope_per_seed(1 - mus, top)
    return Claim(
        "(Not claimed; where the rule stops.) The largest rate that still ends at "
        "75% test accuracy or more scales with 1 - mu too.",
        f"largest such rate per momentum: {_per(mus, top)}; slope against "
        f"log(1 - mu): {summary(slope, '.2f')}; it falls "
        f"{summary(top[0] / top[-1], '.0f')} times from momentum {mus[0]:g} to {mus[-1]:g}",
        decide(np.abs(slope - 1) <= TOL_SLOPE),
    )


def linear_scaling(batches: Sequence[int], scaling: BatchScaling) -> Claim:
    """SGD's best rate grows in proportion to the batch size, up to a point.

    Two parts, per seed: the fitted slope below the knee is within `TOL_SLOPE` of 1,
    and the knee lies inside the batch sizes tried.

    Args:
        batches: The batch sizes.
        scaling: What `landscape_tables.batch_scaling` found (label `"SGD"`).

    Returns:
        The claims row.
    """
    rise, knee = scaling.slope("SGD"), scaling.knee("SGD")
    linear = np.abs(rise - 1) <= TOL_SLOPE
    stops = knee < max(batches)
    return Claim(
        "The best rate grows in proportion to the batch size (linear scaling, "
        "Goyal et al. 2017; noise scale eta N / (B (1 - mu)), Smith et al. 2018) "
        "up to a point where it stops growing.",
        f"SGD best rate per batch size: {_per(batches, scaling.best['SGD'])}; fitted "
        f"slope below the knee {summary(rise, '.2f')} (within {TOL_SLOPE} of 1 in "
        f"{seeds_passing(linear)}); knee at batch size {summary(knee, '.0f')}, inside "
        f"the range in {seeds_passing(stops)}",
        composite({"slope 1 below the knee": decide(linear), "a knee inside": decide(stops)}),
    )


def adam_scales_slower(batches: Sequence[int], scaling: BatchScaling) -> Claim:
    """Adam's best rate grows more slowly with batch size than SGD's (square root).

    Per seed: Adam's fitted slope is below SGD's (same seed), and within `TOL_SLOPE`
    of 0.5.

    Args:
        batches: The batch sizes.
        scaling: What `landscape_tables.batch_scaling` found (`"SGD"`, `"Adam"`).

    Returns:
        The claims row.
    """
    adam, sgd = scaling.slope("Adam"), scaling.slope("SGD")
    slower = adam < sgd
    sqrt = np.abs(adam - 0.5) <= TOL_SLOPE
    return Claim(
        "For Adam the best rate grows more slowly with batch size than for SGD "
        "(square-root scaling is the usual claim).",
        f"Adam best rate per batch size: {_per(batches, scaling.best['Adam'])}; fitted "
        f"slope below the knee {summary(adam, '.2f')} (SGD: {summary(sgd, '.2f')}); "
        f"below SGD's (same seed) in {seeds_passing(slower)}, within {TOL_SLOPE} of 0.5 "
        f"in {seeds_passing(sqrt)}",
        composite({"below SGD's slope": decide(slower), "slope about 0.5": decide(sqrt)}),
    )


def adaptive_wider(
    rates: Sequence[float],
    curves: Mapping[str, np.ndarray],
    regions: Mapping[str, landscape.Region],
    adaptive: Sequence[str],
    tol: float = landscape.GOOD_TOLERANCE,
) -> Claim:
    """Adaptive optimizers have a wider good region than SGD.

    One part per adaptive optimizer, per seed: its good region (within `tol` of its
    best) is wider than SGD's. The text also gives the looser reading (the rates that
    end at 75% test accuracy or more), and flags widths that are lower bounds (the
    region reaches the grid's end, so the true width is larger).

    Args:
        rates: The learning rates.
        curves: Final test accuracy per optimizer label, `(rates, seeds)`.
        regions: The good region per label, per seed.
        adaptive: The adaptive optimizers' labels.
        tol: The tolerance of `regions`.

    Returns:
        The claims row.
    """
    wider = {k: regions[k].width > regions["SGD"].width for k in adaptive}
    learning = {
        k: landscape.good_region(rates, v.T, level=landscape.TARGET) for k, v in curves.items()
    }

    def width(r: landscape.Region) -> str:
        text = summary(r.width, ".2f")
        if r.censored.any():
            text += (
                f" (a lower bound in {seeds_passing(r.censored)}: the region reaches "
                "the grid's end)"
            )
        return text

    return Claim(
        "Adaptive optimizers are less sensitive to the learning rate than SGD: "
        "their good region is wider.",
        f"width of the good region (decades within {tol} of the best): "
        + "; ".join(f"{k}: {width(r)}" for k, r in regions.items())
        + "; wider than SGD's (same seed): "
        + "; ".join(f"{k} {seeds_passing(w)}" for k, w in wider.items())
        + ". Looser reading, decades of rate ending at 75% test accuracy or more: "
        + "; ".join(f"{k}: {width(r)}" for k, r in learning.items()),
        composite({f"{k} wider": decide(w) for k, w in wider.items()}),
    )


def along_momentum(
    momenta: Sequence[float], parts: Mapping[str, np.ndarray]
) -> tuple[str, Verdict]:
    """Measured text and verdict of a claim tested at every momentum.

    Args:
        momenta: The momenta.
        parts: Each part of the claim -> its per-seed passes, `(momenta, seeds)`.

    Returns:
        The measured text and a composite verdict: per part, a composite over the
        momenta, each decided on its own seeds.
    """
    texts, verdicts = [], {}
    for name, passes in parts.items():
        texts.append(
            f"{name}: " + ", ".join(f"{m:g} {seeds_passing(p)}" for m, p in zip(momenta, passes))
        )
        verdicts[name] = composite({f"mu={m:g}": decide(p) for m, p in zip(momenta, passes)})
    return "seeds passing per momentum, " + "; ".join(texts), composite(verdicts)


def chapter3_along_momentum(
    momenta: Sequence[float],
    decays: Sequence[float],
    accuracy: np.ndarray,
    constant: np.ndarray,
) -> Claim:
    """Chapter 3's conclusions at every momentum.

    Per momentum and seed, chapter 3's own tests: decays 0.1 and 0.01 end more than
    5 points below decay 1E-4 (`decay_claims.poorly`), and decay 1E-4 ends within 2
    points of no decay (`decay_claims.close_to_none`).

    Args:
        momenta: The momenta.
        decays: The decay rates (the second axis of `accuracy`).
        accuracy: Final test accuracy, `(momenta, decays, seeds)`.
        constant: The constant rate 0.01 from the same seeds, `(momenta, seeds)`.

    Returns:
        The claims row.
    """
    decays = list(decays)
    fast = accuracy[:, [decays.index(0.1), decays.index(0.01)]]
    slow = accuracy[:, decays.index(1e-4)]
    return Claim(
        "Chapter 3 across the momentum row: decays 1E-1 and 1E-2 perform poorly "
        "(both more than 5 points below decay 1E-4), and decay 1E-4 is close to "
        "no decay (within 2 points).",
        *along_momentum(
            momenta,
            {
                "poorly": decay_claims.poorly(fast, slow),
                "close to no decay": decay_claims.close_to_none(slow, constant),
            },
        ),
    )


def chapter4_along_momentum(
    momenta: Sequence[float],
    patiences: Sequence[int],
    rate: np.ndarray,
    loss: np.ndarray,
) -> Claim:
    """Chapter 4's conclusions at every momentum.

    Per momentum and seed, chapter 4's own tests at its own thresholds: patience 2 is
    below the floor rate (1E-6) within 25 epochs (`plateau_claims.hits_floor`);
    patience 15 drops the rate exactly once (`plateau_claims.drops_once`); the final
    training loss is ordered 2 > 5 > both of 10 and 15 (`plateau_claims.worse_model`).

    Args:
        momenta: The momenta.
        patiences: The patiences (the second axis of the arrays).
        rate: Learning rate per epoch, `(momenta, patiences, seeds, epochs)`.
        loss: Final training loss, `(momenta, patiences, seeds)`.

    Returns:
        The claims row.
    """
    at = {p: i for i, p in enumerate(patiences)}
    end = {p: loss[:, i] for p, i in at.items()}
    return Claim(
        "Chapter 4 across the momentum row: patience 2 hits its floor (1E-6) "
        f"within {plateau_claims.FLOOR_BY} epochs; patience 15 drops the rate only once; "
        "small patiences converge to a worse model (final training loss 2 > 5 > both of "
        "10 and 15).",
        *along_momentum(
            momenta,
            {
                "floor": plateau_claims.hits_floor(rate[:, at[2]]),
                "one drop": plateau_claims.drops_once(rate[:, at[15]]),
                "worse model": plateau_claims.worse_model(end),
            },
        ),
    )


def table(
    momentum: Results,
    momenta: Sequence[float],
    rates: Sequence[float],
    best: np.ndarray,
    accuracy: np.ndarray,
    batches: Sequence[int],
    scaling: BatchScaling,
    curves: Mapping[str, np.ndarray],
    regions: Mapping[str, landscape.Region],
    adaptive: Sequence[str],
    tol: float,
    decay_grid: tuple[Sequence[float], np.ndarray, np.ndarray],
    plateau: tuple[Sequence[int], np.ndarray, np.ndarray],
) -> ClaimsTable:
    """Chapter 9's table, every row decided by its function above.

    Args:
        momentum: The momentum map's results (for the note).
        momenta: The momenta.
        rates: The learning rates.
        best: Best rate per momentum and seed, `(momenta, seeds)`.
        accuracy: Final test accuracy of the momentum map, `(momenta, rates, seeds)`.
        batches: The batch sizes.
        scaling: What `landscape_tables.batch_scaling` found.
        curves: Final test accuracy per optimizer label, `(rates, seeds)`.
        regions: The good region per optimizer label.
        adaptive: The adaptive optimizers' labels.
        tol: The good region's tolerance.
        decay_grid: Chapter 3's grid: the decays, final test accuracy `(momenta, decays,
            seeds)`, and constant 0.01 from the same seeds `(momenta, seeds)`.
        plateau: Chapter 4's grid: the patiences, the rate per epoch `(momenta,
            patiences, seeds, epochs)`, and final training loss `(momenta, patiences,
            seeds)`.

    Returns:
        The table.
    """
    return ClaimsTable(
        [
            effective_rate(momenta, best),
            largest_learning_rate(momenta, rates, accuracy),
            linear_scaling(batches, scaling),
            adam_scales_slower(batches, scaling),
            adaptive_wider(rates, curves, regions, adaptive, tol),
            chapter3_along_momentum(momenta, *decay_grid),
            chapter4_along_momentum(momenta, *plateau),
        ],
        note=table_note(momentum, batches, tol),
    )
