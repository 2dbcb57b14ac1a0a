"""Chapter 0's claims table: gradient descent on a quadratic, loss shapes, overfitting.

The first three rows are exact arithmetic (`verdicts.checked`, no seeds); the loss-shape
and overfitting rows are tested seed by seed on the blobs runs (`verdicts.decide`); the
early-stopping row is a property of the callback, checked on one run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.views import claims
from lr_lessons.views.verdicts import checked, decide

NEAR = 0.02  # the sweep's crossing within 2% of 2/a: the spacing of the sweep's rates
BLOWS_UP = 10  # lr=5's first-epoch loss more than 10 times the good rate's final loss
RISE = 0.1  # overfitting: final validation loss more than 0.1 above its own minimum


def diverges_above_2_over_a(
    crossing: Mapping[str, float], thresholds: Mapping[str, float], crossed: Mapping[str, str]
) -> claims.Claim:
    """Gradient descent on a quadratic diverges above 2 / curvature (the sweep's crossing)."""
    near = all(abs(crossing[k] / thresholds[k] - 1) < NEAR for k in crossing)
    return claims.Claim(
        "Gradient descent diverges when the learning rate is too large: for a quadratic, "
        "above 2 / curvature.",
        "; ".join(f"{k}: {text}" for k, text in crossed.items()),
        checked(bool(near)),
    )


def small_rate_is_slow(slow: float, good: float) -> claims.Claim:
    """After 25 steps on w^2 the small rate is on its way, the good one a million times closer."""
    return claims.Claim(
        "A too-small rate converges, but slowly.",
        f"after 25 steps on w^2: lr=0.05 leaves w = {slow:.3g}, lr=0.4 leaves {good:.1e}",
        checked(bool(0 < slow < 1 and abs(good) < 1e-6 * abs(slow))),
    )


def keras_does_this_update(agrees: bool) -> claims.Claim:
    """Keras' SGD performs exactly the update of the formula (5 steps on w^2)."""
    return claims.Claim(
        "A Keras optimizer performs exactly this update.",
        "SGD(learning_rate=0.4) on w^2 over 5 steps vs the formula: "
        f"{'equal' if agrees else 'different'} to float32 rounding",
        checked(bool(agrees)),
    )


def loss_shapes(
    classic: Results, good: str = "good (0.1)", wild: str = "very high (5)"
) -> claims.Claim:
    """The four regimes' loss curves, per seed: the good rate ends lowest, lr=5 blows up.

    Args:
        classic: The loss-shapes study (settings named by regime).
        good: The good rate's setting.
        wild: The very high rate's setting.

    Returns:
        The row.
    """
    end = claims.per_setting(classic, "loss", claims.final)
    first = classic.get("loss", wild)[:, 0]
    lowest = claims.every(*(end[good] < end[k] for k in end if k != good))
    return claims.Claim(
        "Loss per epoch: a very high rate blows the loss up, a high rate stalls above a "
        "good one, a low rate learns slowly; the good rate ends lowest.",
        f"first-epoch loss at lr=5: {claims.summary(first, '.3g')}; final loss: "
        + ", ".join(f"{k} {claims.summary(v)}" for k, v in end.items())
        + f"; passes when the good rate ends lowest and lr=5's first epoch is above "
        f"{BLOWS_UP} times its final loss",
        decide(lowest & (first > BLOWS_UP * end[good])),
    )


def overfitting(overfit: Results) -> claims.Claim:
    """Per seed: the final validation loss rises above its minimum while training loss falls."""
    setting = overfit.settings[0]
    val, train = overfit.get("val_loss", setting), overfit.get("loss", setting)
    best = np.argmin(val, axis=1)  # 0-based epoch of each seed's minimum
    rise = claims.final(val) - val.min(axis=1)
    falls = claims.final(train) < train[np.arange(len(best)), best]
    mean_val, mean_train = np.nanmean(val, axis=0), np.nanmean(train, axis=0)
    at = int(np.argmin(mean_val))
    return claims.Claim(
        "Overfitting shows as validation loss rising while training loss still falls; the "
        "best model is at the validation minimum.",
        f"mean validation loss: minimum {mean_val.min():.3f} at epoch {at + 1}, "
        f"{mean_val[-1]:.3f} at the end; mean training loss {mean_train[at]:.3f} -> "
        f"{mean_train[-1]:.3f}; passes when a seed's final validation loss is more than "
        f"{RISE} above its minimum while its training loss fell",
        decide((rise > RISE) & falls),
    )


def early_stopping_restores(run: Mapping[str, Any], overfit: Results) -> claims.Claim:
    """`EarlyStopping(restore_best_weights=True)` gives back the best epoch's weights."""
    best = np.argmin(overfit.get("val_loss", overfit.settings[0]), axis=1) + 1
    ok = run["restored_epoch"] == run["history_best"] and np.isclose(
        run["after"], run["history_min"], rtol=1e-4
    )
    return claims.Claim(
        "EarlyStopping(restore_best_weights=True) returns the weights of the best epoch.",
        f"restored epoch {run['restored_epoch']}; lowest validation loss in its history at "
        f"epoch {run['history_best']}; loss after restoring {run['after']:.4f} vs history "
        f"minimum {run['history_min']:.4f}; seeds' best epochs {best.min()}-{best.max()}",
        checked(bool(ok), "checked on one run (seed 0): a property of the callback, not a rate"),
    )


def table(
    arithmetic: Mapping[str, Any],
    classic: Results,
    overfit: Results,
    run: Mapping[str, Any],
    n_small: int,
) -> claims.ClaimsTable:
    """Chapter 0's table.

    Args:
        arithmetic: `crossing`, `thresholds`, `crossed` (the divergence sweep), `slow`,
            `good` (w after 25 steps) and `keras_agrees`.
        classic: The loss-shapes study.
        overfit: The overfitting study (one setting, on `n_small` points).
        run: The early-stopping run: `restored_epoch`, `history_best`, `after`,
            `history_min`.
        n_small: The training points of the overfitting study.

    Returns:
        The table.
    """
    a = arithmetic
    return claims.ClaimsTable(
        [
            diverges_above_2_over_a(a["crossing"], a["thresholds"], a["crossed"]),
            small_rate_is_slow(a["slow"], a["good"]),
            keras_does_this_update(a["keras_agrees"]),
            loss_shapes(classic),
            overfitting(overfit),
            early_stopping_restores(run, overfit),
        ],
        note=claims.numbers_note(
            classic,
            f"Overfitting rows: {overfit.epochs} epochs on {n_small} points. "
            "Gradient-descent rows: exact arithmetic, no seeds.",
        ),
    )
