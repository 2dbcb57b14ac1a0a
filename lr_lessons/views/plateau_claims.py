"""Chapter 4's claims table: `ReduceLROnPlateau` at patience 2, 5, 10 and 15, in two regimes.

Every claim is judged twice, seed by seed: on runs that draw a new batch order every
epoch (Keras 2, as the originals ran, and our code), and on runs that repeat one order
(what a seeded Keras 3 `model.fit(x, y, shuffle=True)` does; the stacked engine's
`reshuffle=False`). The table has a verdict column for each.

The per-seed tests (`hits_floor`, `drops_once`, `worse_model`) are the ones chapter 9
uses when it restates these claims at every momentum: same measures, same thresholds.
The original read its claims off training curves, so the accuracy here is training
accuracy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.views import claims
from lr_lessons.views.verdicts import Verdict, composite, decide

FLOOR = claims.RATE_FLOOR  # 1E-6: four tenfold drops below the start of 0.01
FLOOR_BY = 25  # "hits its floor within 25 epochs"
HALFWAY = 25  # "about halfway": within 25 epochs of the run's middle
ABOUT_65 = (0.625, 0.675)  # what rounds to 65% at the original's precision of 5 points
BELOW = 0.75
COLUMNS = (
    "verdict: a new order every epoch (Keras 2, our code)",
    "verdict: one order repeated (Keras 3 fit)",
)


def hits_floor(rates: np.ndarray) -> np.ndarray:
    """Per seed: is the rate below `FLOOR` within `FLOOR_BY` epochs?

    Args:
        rates: The rate per epoch of patience 2, `(..., seeds, epochs)`.

    Returns:
        Booleans, `(..., seeds)`.
    """
    return claims.never_is_last(claims.floor_epoch(rates)) <= FLOOR_BY


def drops_once(rates: np.ndarray) -> np.ndarray:
    """Per seed: did the rate drop exactly once (`claims.rate_drops`)?"""
    return claims.rate_drops(rates) == 1


def worse_model(loss: dict[int, np.ndarray]) -> np.ndarray:
    """Per seed: final training loss ordered patience 2 > 5 > both of 10 and 15.

    Args:
        loss: Patience -> final training loss per seed, `(..., seeds)`.

    Returns:
        Booleans, `(..., seeds)`.
    """
    small = np.minimum(loss[2], loss[5])
    large = np.maximum(loss[10], loss[15])
    return (loss[2] > loss[5]) & (small > large)


def _rates(results: Results) -> dict[str, np.ndarray]:
    return claims.per_setting(results, "learning_rate")


def floor_row(results: Results) -> tuple[str, Verdict]:
    """Patience 2 hits its floor within 25 epochs: our numbers and verdict."""
    rate = _rates(results)["patience=2"]
    epoch = claims.floor_epoch(rate)
    by_50 = claims.never_is_last(epoch) <= 2 * FLOOR_BY
    return (
        f"below {FLOOR:g} at epoch {claims.summary(epoch, '.0f')} (by epoch 50 in "
        f"{claims.seeds_passing(by_50)})",
        decide(hits_floor(rate)),
    )


def once_row(results: Results) -> tuple[str, Verdict]:
    """Patience 15 drops the rate only once."""
    drops = claims.per_setting(results, "learning_rate", claims.rate_drops)
    return (
        f"number of drops: {claims.summaries(drops, '.1f')}",
        decide(drops_once(_rates(results)["patience=15"])),
    )


def halfway_row(results: Results) -> tuple[str, Verdict]:
    """Patience 10 first drops the rate about halfway (a seed that never drops fails)."""
    first = claims.first_drop(_rates(results)["patience=10"])
    middle = results.epochs / 2
    return (
        f"patience 10 first drops at epoch {claims.summary(first, '.0f')}",
        decide(np.abs(claims.never_is_last(first) - middle) <= HALFWAY),
    )


def premature_row(results: Results) -> tuple[str, Verdict]:
    """Small patiences converge prematurely: about 65% with patience 2, below 75% with 5."""
    acc = claims.per_setting(results, "accuracy", claims.final)
    acc2, acc5 = acc["patience=2"], acc["patience=5"]
    near65 = (acc2 >= ABOUT_65[0]) & (acc2 <= ABOUT_65[1])
    return (
        f"final training accuracy: patience 2 {claims.summary(acc2)}, patience 5 "
        f"{claims.summary(acc5)}",
        composite(
            {
                "patience 2 at 62.5-67.5%": decide(near65),
                "patience 5 below 75%": decide(acc5 < BELOW),
            }
        ),
    )


def worse_row(results: Results) -> tuple[str, Verdict]:
    """Small patiences converge to a worse model (higher final training loss)."""
    loss = claims.per_setting(results, "loss", claims.final)
    by_patience = {int(s.split("=")[1]): v for s, v in loss.items()}
    return (
        f"final training loss: {claims.summaries(loss)}",
        decide(worse_model(by_patience)),
    )


def volatile_row(results: Results) -> tuple[str, Verdict]:
    """Patience 15 stays volatile: its second-half volatility is above patience 10's."""
    train_acc = claims.per_setting(results, "accuracy")
    half = results.epochs // 2
    wobble = {
        s: claims.volatility(train_acc[s], start=half) for s in ("patience=10", "patience=15")
    }
    return (
        f"epoch-to-epoch change of training accuracy, second half: "
        f"{claims.summaries(wobble, '.4f')}",
        decide(wobble["patience=15"] > wobble["patience=10"]),
    )


CLAIMS: tuple[tuple[str, str, Callable[[Results], tuple[str, Verdict]]], ...] = (
    (
        "Patience 2 hits its floor within 25 epochs.",
        f"floor: rate below {FLOOR:g}, 1/10,000 of the start",
        floor_row,
    ),
    ("Patience 15 drops the rate only once.", "exactly one drop", once_row),
    (
        "Patience 10 first drops the rate about halfway through the run.",
        "within 25 epochs of the middle",
        halfway_row,
    ),
    (
        "Small patiences converge prematurely: about 65% accuracy with patience 2, "
        "below 75% with patience 5.",
        "about 65%: 62.5-67.5%",
        premature_row,
    ),
    (
        "Small patiences converge to a worse model; larger patiences do better.",
        "final training loss ordered 2 > 5 > both of 10 and 15",
        worse_row,
    ),
    (
        "Patience 15 stays volatile, its rate nearly unchanged.",
        "second-half volatility above patience 10's, same seed",
        volatile_row,
    ),
)


def table(results: Results, repeated: Results) -> claims.ClaimsTable:
    """Chapter 4's table, each claim judged in both batch-order regimes.

    Args:
        results: The plateau study, a new batch order every epoch.
        repeated: The same study with one order repeated (`reshuffle=False`).

    Returns:
        A table with two verdict columns.
    """
    rows = []
    for original, reading, row in CLAIMS:
        fresh_text, fresh = row(results)
        rep_text, rep = row(repeated)
        rows.append(
            claims.Claim(
                original,
                f"{reading}. New order: {fresh_text}. Repeated order: {rep_text}",
                fresh,
                rep,
            )
        )
    return claims.ClaimsTable(
        rows,
        note=claims.numbers_note(
            results,
            "Accuracy: training accuracy, as in the original's figures. Both regimes "
            "start from the same seeds (same initial weights, same first epoch).",
        ),
        columns=COLUMNS,
    )
