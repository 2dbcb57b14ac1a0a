"""Chapter 2's claims table: SGD at 0.01 with momentum 0, 0.5, 0.9 and 0.99 on the blobs.

Each function tests one statement of the original seed by seed and returns one row
(`claims.Claim`); `table` gathers them. "How soon" is the first epoch whose 5-epoch
trailing mean of test accuracy reaches the original's "reasonable" 75%
(`claims.epochs_to_sustain`); a seed that never gets there counts as infinitely late
(`claims.never_is_last`), so it loses every "sooner than" comparison.
"""

from __future__ import annotations

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.views import claims
from lr_lessons.views.verdicts import decide

TARGET = 0.75
FAR = 3.0  # "far sooner": at least three times sooner, same seed
NEARLY_ALL = 0.5  # "nearly all 200 epochs": at least half the run (or never)


def _reach(results: Results) -> dict[str, np.ndarray]:
    test_acc = claims.per_setting(results, "val_accuracy")
    return {s: claims.epochs_to_sustain(a, TARGET) for s, a in test_acc.items()}


def far_sooner(results: Results) -> claims.Claim:
    """Momentum 0.9 and 0.99 reach reasonable accuracy far sooner than no momentum.

    Per seed: both reach `TARGET` at least `FAR` times sooner than momentum 0.

    Args:
        results: The momentum study's results.

    Returns:
        The row.
    """
    reach = _reach(results)
    late = {s: claims.never_is_last(r) for s, r in reach.items()}
    fastest = np.maximum(late["momentum=0.9"], late["momentum=0.99"])
    return claims.Claim(
        "Momentum 0.9 and 0.99 reach reasonable accuracy far sooner than no momentum.",
        f"epochs to 75% test accuracy: {claims.summaries(reach, '.0f')}; passes when both "
        "are at least 3 times sooner than momentum 0 (same seed)",
        decide(fastest * FAR <= late["momentum=0"]),
    )


def nearly_all_epochs(results: Results) -> claims.Claim:
    """Without momentum it takes nearly all 200 epochs.

    Per seed: momentum 0 reaches `TARGET` only after `NEARLY_ALL` of the run, or never.

    Args:
        results: The momentum study's results.

    Returns:
        The row.
    """
    reach = _reach(results)["momentum=0"]
    return claims.Claim(
        "Without momentum it takes nearly all 200 epochs.",
        f"momentum=0: {claims.summary(reach, '.0f')} epochs of {results.epochs} to 75% "
        "test accuracy; passes at half the run or later (or never)",
        decide(claims.never_is_last(reach) >= NEARLY_ALL * results.epochs),
    )


def steadier(results: Results) -> claims.Claim:
    """Test accuracy is more stable with momentum.

    Per seed: every momentum's mean epoch-to-epoch change of test accuracy over the
    second half of the run is below momentum 0's.

    Args:
        results: The momentum study's results (the first setting is momentum 0).

    Returns:
        The row.
    """
    test_acc = claims.per_setting(results, "val_accuracy")
    half = results.epochs // 2
    wobble = {s: claims.volatility(a, start=half) for s, a in test_acc.items()}
    below = claims.every(*(wobble[s] < wobble["momentum=0"] for s in results.settings[1:]))
    return claims.Claim(
        "Test accuracy is more stable with momentum.",
        "epoch-to-epoch change of test accuracy, second half: "
        f"{claims.summaries(wobble, '.4f')}; passes when every momentum is below "
        "momentum 0 (same seed)",
        decide(below),
    )


def final_accuracy(results: Results) -> claims.Claim:
    """(Reference, not claimed.) Where each momentum ends."""
    return claims.final_accuracy(
        results, "(Not claimed by the original; for reference.) Final test accuracy."
    )


ROWS = (far_sooner, nearly_all_epochs, steadier, final_accuracy)


def table(results: Results) -> claims.ClaimsTable:
    """Chapter 2's table: one row per function of `ROWS`, on the momentum study's results."""
    return claims.study_table(results, ROWS)
