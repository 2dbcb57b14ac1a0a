"""Chapter 11's claims table: the learning rate across widths, SP against muP.

The thresholds are fixed here, before the full runs (a pilot of 3 seeds at widths 32,
128 and 512 set the grid, not these numbers), and stated in the chapter's prose:

- SP, Adam: the best rate shifts with width, roughly as `1/width`: per seed, the best
  rate at the narrowest width is at least `SP_SHIFT` (4) times the best at the widest
  (`1/width` predicts the width ratio, 8 here).
- muP, Adam: the best rate stays put: per seed, the largest best rate over widths is at
  most `MUP_BAND` (2) times the smallest.
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
    return ", ".join(f"{v:g}" for v in values)


def _median_best(sweep: Sweep, par: str, opt: str) -> str:
    best = sweep.best_rate(par, opt)
    med = np.exp(np.median(np.log(best), axis=1))
    return "; ".join(f"width {w}: {m:.2g}" for w, m in zip(sweep.widths, med))


def table(sweep: Sweep, check: CoordCheck) -> claims.ClaimsTable:
    """The chapter's claims, each decided seed by seed (`lr_lessons.views.verdicts`).

    Args:
        sweep: The learning-rate sweep across widths.
        check: The coordinate check.

    Returns:
        The `ClaimsTable`.
    """
    note = (
        f"Data: {sweep.meta.get('data_source', '?')}; {len(sweep.seeds)} seeds; widths "
        f"{', '.join(map(str, sweep.widths))} (coordinate check: "
        f"{', '.join(map(str, check.widths))}). Best rate: the rate with the lowest final "
        f"training loss (mean of the last tenth of the epochs) on a grid of factor 2. "
        f"{verdicts.POLICY}"
    )
    table = claims.ClaimsTable(note=note)

    sp = sweep.best_rate("sp", "adam")  # (widths, seeds)
    shift = sp[0] / sp[-1]
    table.add(
        "Standard parametrization, Adam: the best rate shifts with width, roughly as 1/width.",
        f"median best rate per width: {_median_best(sweep, 'sp', 'adam')}; best at width "
        f"{sweep.widths[0]} over best at {sweep.widths[-1]}, per seed: {_rates(shift)} "
        f"(>= {SP_SHIFT:g} needed; 1/width predicts {sweep.widths[-1] // sweep.widths[0]})",
        verdicts.decide(shift >= SP_SHIFT),
    )

    mu = sweep.best_rate("mup", "adam")
    band = mu.max(axis=0) / mu.min(axis=0)
    table.add(
        f"muP, Adam: the best rate stays within a factor of {MUP_BAND:g} across widths.",
        f"median best rate per width: {_median_best(sweep, 'mup', 'adam')}; largest over "
        f"smallest best rate, per seed: {_rates(band)}",
        verdicts.decide(band <= MUP_BAND),
    )

    final = sweep.final("mup", "adam")  # (widths, rates, seeds)
    rates = list(sweep.rates["adam"])
    at = [rates.index(r) for r in mu[0]]
    loss = np.stack([final[:, at[s], s] for s in range(len(sweep.seeds))], axis=1)
    ratio = loss[1:] / loss[:-1]  # (widths - 1, seeds)
    never_worse = (ratio <= NEVER_WORSE).all(axis=0)
    table.add(
        "muP, Adam, at a fixed rate (the base width's best): a wider model is never worse.",
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
        f"{', '.join(f'{v:.2f}' for v in spread.max(axis=1))}; SP, logits at width "
        f"{check.widths[-1]} over width {check.widths[0]}: "
        f"{', '.join(f'{v:.1f}' for v in growth)}",
        verdicts.composite(
            {"flat under muP": verdicts.decide(flat), "grows under SP": verdicts.decide(grows)}
        ),
    )

    table.add(
        "(For reference.) SGD: the best rate per width.",
        f"SP: {_median_best(sweep, 'sp', 'sgd')}. muP: {_median_best(sweep, 'mup', 'sgd')}",
        verdicts.measured(),
    )
    return table
