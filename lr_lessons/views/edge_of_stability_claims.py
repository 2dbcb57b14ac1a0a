"""Chapter 10's claims table: the edge of stability, the catapult, and Adam's edge.

Each claim is tested seed by seed at the thresholds below, fixed before the full runs
were looked at, and decided by `lr_lessons.views.verdicts.decide` (k/n seeds, Wilson
interval). The sources:

- Cohen, Kaur, Li, Kolter, Talwalkar (ICLR 2021), "Gradient descent on neural networks
  typically occurs at the edge of stability";
- Lewkowycz, Bahri, Dyer, Sohl-Dickstein, Gur-Ari (2020), "The large learning rate
  phase of deep learning: the catapult mechanism";
- Cohen, Ghorbani, Krishnan, Agarwal, Medapati, Badura, Suo, Cardoze, Nado, Dahl,
  Gilmer (2022), "Adaptive gradient methods at the edge of stability".

Definitions (every array is one run per seed):

- **sharpens** (`SHARPENS`): at a rate whose threshold `2 / eta` is far above the
  sharpness, the last measured sharpness is at least 1.2 times the initial one.
- **reaches** (`REACHES`): at a rate with `lambda_0 < 2 / eta`, the largest measured
  sharpness is at least 0.9 times `2 / eta`.
- **hovers** (`HOVER`): the median sharpness over the second half of the run lies in
  `[0.9, 1.3] x 2 / eta` ("at or just above"); for Adam the same band around
  `(2 + 2 beta_1) / ((1 - beta_1) eta)`.
- **keeps decreasing** (`LATE`): the mean loss over the run's last tenth is below
  the mean over the tenth before its midpoint.
- **not monotone** (`RISE`, `RISES`): in the second half, the loss rises by more than
  `RISE` (relative; far above float32 rounding) from one step to the next on at least
  `RISES` of the steps.
- **catapult** (rates `c x 2 / lambda_0` with `1 < c <= 2`, i.e. up to `4 / lambda_0`,
  the catapult phase's upper end for mean squared error in Lewkowycz et al.): the loss
  rises above its initial value within the first `EARLY` steps, the final sharpness is
  below `2 / eta`, and the run ends below its initial loss without diverging.
- **diverges**: at `c = 5` (`10 / lambda_0`, past the catapult phase), the loss
  becomes non-finite or exceeds `lr_lessons.lab.edge_of_stability.DIVERGED_LOSS`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lr_lessons.lab.edge_of_stability import DIVERGED_LOSS, Trajectories
from lr_lessons.views import claims
from lr_lessons.views.verdicts import composite, decide, measured

SHARPENS = 1.2
REACHES = 0.9
HOVER = (0.9, 1.3)
LATE = 0.1  # the window of `long_decrease`: a tenth of the run
RISE = 1e-4
RISES = 0.01
EARLY = 100
CATAPULT = (1.25, 1.5, 2.0)
DIVERGE = 5.0


def _second_half(values: np.ndarray, checkpoints: np.ndarray) -> np.ndarray:
    """Columns of `values` (seeds, checkpoints) in the run's second half."""
    return values[:, checkpoints >= checkpoints[-1] / 2]


def _hover_ratio(values: np.ndarray, checkpoints: np.ndarray, limit: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.nanmedian(_second_half(values, checkpoints), axis=1) / limit


def _in_band(ratio: np.ndarray) -> np.ndarray:
    return np.isfinite(ratio) & (ratio >= HOVER[0]) & (ratio <= HOVER[1])


def _late(runs: Trajectories) -> int:
    return max(1, int(LATE * runs.spec.steps))


def long_decrease(loss: np.ndarray, late: int) -> np.ndarray:
    """Per seed: is the mean loss of the last `late` steps below that before the midpoint?

    Args:
        loss: `(seeds, steps + 1)`.
        late: The window, in steps.

    Returns:
        Booleans, one per seed (False for a diverged run).
    """
    mid = loss.shape[1] // 2
    with np.errstate(all="ignore"):
        end = np.mean(loss[:, -late:], axis=1)
        before = np.mean(loss[:, mid - late : mid], axis=1)
    return np.isfinite(end) & (end < before)


def rise_share(loss: np.ndarray) -> np.ndarray:
    """Per seed: the share of second-half steps whose loss rises by more than `RISE`."""
    half = loss[:, loss.shape[1] // 2 :]
    with np.errstate(all="ignore"):
        up = half[:, 1:] > half[:, :-1] * (1 + RISE)
    return up.mean(axis=1)


def sharpening(gd: Trajectories) -> claims.Claim:
    """Progressive sharpening: at the smallest rate the sharpness grows by `SHARPENS`."""
    j = 0  # the smallest rate: its 2 / eta is far above any sharpness the runs reach
    rate = gd.spec.rates[j]
    s = gd.sharpness[j]
    growth = s[:, -1] / s[:, 0]
    return claims.Claim(
        "Progressive sharpening: while the sharpness is below 2/eta it keeps rising "
        "(Cohen et al. 2021).",
        f"eta = {rate:g} (2/eta = {2 / rate:g}): sharpness {claims.summary(s[:, 0], '.1f')} "
        f"at step 0 -> {claims.summary(s[:, -1], '.1f')} at step {gd.spec.steps}; passes when "
        f"it ends at least {SHARPENS}x its start",
        decide(np.isfinite(growth) & (growth >= SHARPENS)),
    )


def rises_to_edge(gd: Trajectories, rate: float) -> claims.Claim:
    """At a rate with `lambda_0 < 2 / eta`, the sharpness climbs to `REACHES x 2 / eta`."""
    j = gd.rate_index(rate)
    s = gd.sharpness[j]
    peak = np.nanmax(s, axis=1) * rate / 2
    below = s[:, 0] < 2 / rate
    return claims.Claim(
        "The sharpness rises until it reaches 2/eta (Cohen et al. 2021).",
        f"eta = {rate:g}: initial sharpness {claims.summary(s[:, 0], '.1f')} (below 2/eta = "
        f"{2 / rate:g} in {claims.seeds_passing(below)}); largest sharpness in units of 2/eta "
        f"{claims.summary(peak, '.2f')}; passes when it starts below 2/eta and reaches "
        f"{REACHES}x it",
        decide(below & (peak >= REACHES)),
    )


def hovers(gd: Trajectories, rates: Sequence[float]) -> claims.Claim:
    """At every rate in `rates` the sharpness hovers in `HOVER x 2 / eta` (second half)."""
    parts, texts = {}, []
    for rate in rates:
        j = gd.rate_index(rate)
        ratio = _hover_ratio(gd.sharpness[j], gd.spec.checkpoints, 2 / rate)
        parts[f"eta = {rate:g}"] = decide(_in_band(ratio))
        texts.append(f"eta = {rate:g}: {claims.summary(ratio, '.2f')}")
    return claims.Claim(
        "Then the sharpness hovers at, or just above, 2/eta (Cohen et al. 2021).",
        "median sharpness over the second half in units of 2/eta: "
        + "; ".join(texts)
        + f"; passes when in [{HOVER[0]}, {HOVER[1]}]",
        composite(parts),
    )


def loss_at_edge(gd: Trajectories, rates: Sequence[float]) -> claims.Claim:
    """At the edge the loss still falls over long times, but not monotonically."""
    late = _late(gd)
    parts, texts = {}, []
    for rate in rates:
        loss = gd.loss[gd.rate_index(rate)]
        falls = long_decrease(loss, late)
        share = rise_share(loss)
        parts[f"eta = {rate:g}"] = decide(falls & (share >= RISES))
        texts.append(
            f"eta = {rate:g}: falls over the second half in {claims.seeds_passing(falls)}, "
            f"share of rising steps {claims.summary(share, '.1%')}"
        )
    stable = rise_share(gd.loss[0])
    return claims.Claim(
        "At the edge the loss keeps decreasing over long timescales, though not "
        "monotonically (Cohen et al. 2021).",
        "; ".join(texts)
        + f" (at eta = {gd.spec.rates[0]:g}, below the edge: {claims.summary(stable, '.1%')}); "
        f"passes when the mean loss of the last {late} steps is below that of the {late} "
        f"before the midpoint and the loss rises (by more than {RISE:g} relative) on at "
        f"least {RISES:.0%} of the second half's steps",
        composite(parts),
    )


def catapult(runs: Trajectories) -> claims.Claim:
    """Rates between `2 / lambda_0` and `4 / lambda_0`: loss up first, then stable below 2/eta."""
    parts, texts = {}, []
    early = min(EARLY, runs.spec.steps)
    for c in CATAPULT:
        j = runs.rate_index(c)
        loss = runs.loss[j]
        with np.errstate(all="ignore"):
            jump = np.nanmax(loss[:, 1 : early + 1], axis=1) / loss[:, 0]
        final_sharp = runs.sharpness[j, :, -1] * runs.rates[j] / 2
        ok = (jump > 1) & (final_sharp < 1) & ~runs.diverged[j] & (loss[:, -1] < loss[:, 0])
        parts[f"c = {c:g}"] = decide(ok)
        texts.append(
            f"c = {c:g}: peak loss / initial {claims.summary(jump, '.3g')}, final sharpness "
            f"x eta/2 {claims.summary(final_sharp, '.2f')}"
        )
    return claims.Claim(
        "Rates between 2/lambda_0 and a few times that first raise the loss, then the "
        "curvature drops below 2/eta and training converges (Lewkowycz et al. 2020).",
        "rates c x 2/lambda_0 (lambda_0: each seed's initial sharpness); "
        + "; ".join(texts)
        + f"; passes when the loss rises above its start within {early} steps, ends below "
        "it, and the final sharpness is below 2/eta",
        composite(parts),
    )


def diverges(runs: Trajectories) -> claims.Claim:
    """At `c = DIVERGE` every seed diverges; the intermediate multiples are reported."""
    j = runs.rate_index(DIVERGE)
    between = ", ".join(
        f"c = {c:g}: {claims.seeds_passing(runs.diverged[runs.rate_index(c)])}"
        for c in runs.spec.rates
        if c != DIVERGE
    )
    return claims.Claim(
        "Larger rates diverge (Lewkowycz et al. 2020).",
        f"c = {DIVERGE:g} (eta = {2 * DIVERGE:g}/lambda_0): diverged in "
        f"{claims.seeds_passing(runs.diverged[j])} (loss non-finite or above "
        f"{DIVERGED_LOSS:g}); diverged at the other multiples: {between}",
        decide(runs.diverged[j]),
    )


def adam_edge(adam: Trajectories) -> claims.Claim:
    """Adam's preconditioned sharpness hovers in `HOVER x 38 / eta` (second half)."""
    b1 = adam.spec.beta_1
    parts, texts = {}, []
    for j, rate in enumerate(adam.spec.rates):
        limit = (2 + 2 * b1) / ((1 - b1) * rate)
        ratio = _hover_ratio(adam.preconditioned[j], adam.spec.checkpoints, limit)
        parts[f"eta = {rate:g}"] = decide(_in_band(ratio))
        texts.append(f"eta = {rate:g} (38/eta = {limit:.0f}): {claims.summary(ratio, '.2f')}")
    return claims.Claim(
        "Adam's preconditioned sharpness (top eigenvalue of P^-1 H) equilibrates near "
        "(2 + 2 beta_1)/((1 - beta_1) eta) = 38/eta (Cohen et al. 2022).",
        "median over the second half in units of 38/eta: "
        + "; ".join(texts)
        + f"; passes when in [{HOVER[0]}, {HOVER[1]}]",
        composite(parts),
    )


def adam_sharper(adam: Trajectories) -> claims.Claim:
    """(Reference.) Adam's plain sharpness at the start and the end."""
    texts = [
        f"eta = {rate:g}: {claims.summary(adam.sharpness[j, :, 0], '.1f')} -> "
        f"{claims.summary(adam.sharpness[j, :, -1], '.1f')}"
        for j, rate in enumerate(adam.spec.rates)
    ]
    return claims.Claim(
        "(For reference.) Under Adam the plain sharpness is not held at any edge "
        "(Cohen et al. 2022: adaptive methods keep moving into sharper regions).",
        "sharpness at step 0 -> at the end: " + "; ".join(texts),
        measured(),
    )


def table(gd: Trajectories, adam: Trajectories, catapult_runs: Trajectories) -> claims.ClaimsTable:
    """Chapter 10's table.

    Args:
        gd: Gradient descent at `lr_lessons.lab.edge_of_stability.GD_RATES`.
        adam: Adam at `ADAM_RATES`.
        catapult_runs: Gradient descent at multiples of `2 / lambda_0`.

    Returns:
        The table.
    """
    edge_rates = gd.spec.rates[1:]
    seeds = claims.seed_range(gd.seeds)
    note = (
        f"{seeds[0].upper()}{seeds[1:]} for every row; per-seed tests at the thresholds of "
        "`lr_lessons.views.edge_of_stability_claims` (fixed before the full runs). "
        f"Edge of stability and Adam: tanh network, cross-entropy, raw blobs inputs, "
        f"{gd.spec.steps} full-batch steps, sharpness every {gd.spec.every} steps "
        f"(Adam: {adam.spec.every}; Lanczos on Hessian-vector products). Catapult: the "
        "blobs ReLU network, mean squared error, standardised inputs, "
        f"{catapult_runs.spec.steps} steps, sharpness every {catapult_runs.spec.every}. Data: "
        f"{gd.meta.get('data_source', '?')}. {claims.VERDICT_NOTE}"
    )
    return claims.ClaimsTable(
        [
            sharpening(gd),
            rises_to_edge(gd, gd.spec.rates[1]),
            hovers(gd, edge_rates),
            loss_at_edge(gd, edge_rates),
            catapult(catapult_runs),
            diverges(catapult_runs),
            adam_edge(adam),
            adam_sharper(adam),
        ],
        note=note,
    )
