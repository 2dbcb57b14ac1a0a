"""Chapter 11's claims table: the learning rate across widths, SP against muP (MNIST).

The thresholds were fixed in the chapter's first version (on the blobs, before any
run), carried over unchanged to MNIST before its runs, and are stated in the prose. (A
2-seed MNIST pilot chose the grid and the epoch; after it the measure became the final
training loss, the paper's, instead of the held-out loss after the epoch, which ranked
neighbouring rates by noise. No threshold changed.)

- SP, Adam: the best rate shifts with width, roughly as `1/width`: per seed, the best
  rate at the narrowest width is at least `SP_SHIFT` (4) times the best at the widest
  (`1/width` predicts the width ratio, 8 here; 4 is half of it).
- muP, Adam: the best rate stays put: per seed, the largest best rate over widths is at
  most `MUP_BAND` (2) times the smallest (the issue's "within a factor of 2").
- muP, at a fixed rate (the base width's best, per seed), a wider model is never worse:
  each width's final loss is at most `NEVER_WORSE` (1.01, i.e. 1%) times the next
  narrower width's.
- The coordinate check: per seed, under muP every layer's mean |output| after the steps
  varies by at most `COORD_FLAT` (2) across widths, and under SP the logits' grows by at
  least `COORD_GROWS` (4) from the narrowest to the widest.
"""

from __future__ import annotations

import numpy as np

from lr_lessons.lab.width import LAYERS, CoordCheck, Sweep
from lr_lessons.views import claims, verdicts

SP_SHIFT = 4.0
MUP_BAND = 2.0
NEVER_WORSE = 1.01
COORD_FLAT = 2.0
COORD_GROWS = 4.0


def _rates(values: np.ndarray) -> str:
    return ", ".join(f"2^{np.log2(v):g}" for v in values)


def _ratios(values: np.ndarray) -> str:
    return ", ".join(f"{v:g}" for v in values)


def median_best(sweep: Sweep, par: str) -> np.ndarray:
    """Per width, the median over seeds of the best rate (geometric, on the grid's log)."""
    return np.exp(np.median(np.log(sweep.best_rate(par)), axis=1))


def _median_text(sweep: Sweep, par: str) -> str:
    med = median_best(sweep, par)
    return "; ".join(f"width {w}: 2^{np.log2(m):.3g}" for w, m in zip(sweep.widths, med))


def fixed_rate_losses(sweep: Sweep) -> np.ndarray:
    """muP's final loss per width at each seed's best rate at the base width, `(widths, seeds)`."""
    final = sweep.final("mup")  # (widths, rates, seeds)
    at = np.argmin(final[0], axis=0)  # per seed, the base width's best rate
    return np.stack([final[:, at[s], s] for s in range(len(sweep.seeds))], axis=1)


def table(sweep: Sweep, check: CoordCheck, sgd: Sweep | None = None) -> claims.ClaimsTable:
    """The chapter's claims, each decided seed by seed (`lr_lessons.views.verdicts`).

    Args:
        sweep: The learning-rate sweep across widths (Adam).
        check: The coordinate check.
        sgd: The SGD sweep, shown as a reference row (claimed nothing).

    Returns:
        The `ClaimsTable`.
    """
    note = (
        f"Data: {sweep.meta.get('data_source', '?')}; {len(sweep.seeds)} seeds; widths "
        f"{', '.join(map(str, sweep.widths))} (coordinate check: "
        f"{', '.join(map(str, check.widths))}, {len(check.seeds)} seeds); muP's base width "
        f"{sweep.widths[0]}. Best rate: the rate with the lowest final training loss (the "
        f"last epoch's, as model.fit reports it) on a grid of factor 2. {verdicts.POLICY}"
    )
    table = claims.ClaimsTable(note=note)
    opt = {"adam": "Adam", "sgd": "SGD"}[sweep.optimizer]

    sp = sweep.best_rate("sp")  # (widths, seeds)
    shift = sp[0] / sp[-1]
    ratio = sweep.widths[-1] // sweep.widths[0]
    table.add(
        f"Standard parametrization, {opt}: the best rate shifts with width, roughly as 1/width.",
        f"median best rate per width: {_median_text(sweep, 'sp')}; best at width "
        f"{sweep.widths[0]} over best at {sweep.widths[-1]}, per seed: {_ratios(shift)} "
        f"(>= {SP_SHIFT:g} needed; 1/width predicts {ratio})",
        verdicts.decide(shift >= SP_SHIFT),
    )

    mu = sweep.best_rate("mup")
    band = mu.max(axis=0) / mu.min(axis=0)
    table.add(
        f"muP, {opt}: the best rate stays within a factor of {MUP_BAND:g} across widths.",
        f"median best rate per width: {_median_text(sweep, 'mup')}; largest over "
        f"smallest best rate, per seed: {_ratios(band)}",
        verdicts.decide(band <= MUP_BAND),
    )

    loss = fixed_rate_losses(sweep)
    steps = loss[1:] / loss[:-1]  # (widths - 1, seeds)
    never_worse = (steps <= NEVER_WORSE).all(axis=0)
    table.add(
        f"muP, {opt}, at a fixed rate (the base width's best): a wider model is never worse.",
        f"final training loss per width (mean over seeds): "
        f"{', '.join(f'{v:.3f}' for v in loss.mean(axis=1))}; every step to a wider model "
        f"at most {100 * (NEVER_WORSE - 1):g}% worse in {claims.seeds_passing(never_worse)}",
        verdicts.decide(never_worse),
    )

    spread = check.spread("mup")  # (seeds, layers)
    flat = (spread <= COORD_FLAT).all(axis=1)
    growth = check.growth("sp")[:, LAYERS.index("output (logits)")]
    grows = growth >= COORD_GROWS
    table.add(
        "The coordinate check: after a few steps every layer's output size is flat in "
        "width under muP and grows with width under SP.",
        f"muP, largest over smallest mean |output| across widths, worst layer per seed: "
        f"{', '.join(f'{v:.2f}' for v in spread.max(axis=1))} (<= {COORD_FLAT:g} needed); "
        f"SP, logits at width {check.widths[-1]} over width {check.widths[0]}: "
        f"{', '.join(f'{v:.1f}' for v in growth)} (>= {COORD_GROWS:g} needed)",
        verdicts.composite(
            {"flat under muP": verdicts.decide(flat), "grows under SP": verdicts.decide(grows)}
        ),
    )

    best = {p: np.min(sweep.final(p), axis=1).mean(axis=1) for p in ("sp", "mup")}
    table.add(
        "(For reference.) The lowest final training loss per width, each at its own best rate.",
        "; ".join(
            f"width {w}: SP {best['sp'][i]:.3f}, muP {best['mup'][i]:.3f}"
            for i, w in enumerate(sweep.widths)
        )
        + " (mean over seeds)",
        verdicts.measured(),
    )
    if sgd is not None:
        spread = {p: np.log2(sgd.best_rate(p)) for p in ("sp", "mup")}
        table.add(
            "(For reference.) SGD: the best rate per width and seed.",
            " ".join(
                f"{name}: "
                + "; ".join(f"width {w}: {_range(spread[p][i])}" for i, w in enumerate(sgd.widths))
                + "."
                for p, name in (("sp", "SP"), ("mup", "muP"))
            ),
            verdicts.measured(),
        )
    return table


def _range(log2_rates: np.ndarray) -> str:
    low, high = log2_rates.min(), log2_rates.max()
    return f"2^{low:g}" if low == high else f"2^{low:g} to 2^{high:g}"
