"""Chapter 5's claims table: SGD, RMSprop, Adagrad and Adam at Keras' defaults on the blobs.

Three measurements carry the claims: how soon a run reaches 75% test accuracy (the
first epoch whose 5-epoch trailing mean gets there, `claims.epochs_to_sustain`; never
counts as infinitely late), how volatile it is (mean epoch-to-epoch change of test
accuracy after the first quarter of training, when the adaptive methods have done their
fast learning), and where it ends (`claims.final`, for reference).
"""

from __future__ import annotations

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.views import claims
from lr_lessons.views.verdicts import decide

TARGET = 0.75
NEARLY_ALL = 0.5  # "nearly all 200 epochs": at least half the run, or never
ABOUT_50 = 55  # "within about 50 epochs": at most 10% more
ADAPTIVE = ("rmsprop", "adagrad", "adam")


def _measures(results: Results) -> tuple[dict, dict, dict]:
    test_acc = claims.per_setting(results, "val_accuracy")
    reach = {s: claims.epochs_to_sustain(a, TARGET) for s, a in test_acc.items()}
    late = {s: claims.never_is_last(r) for s, r in reach.items()}
    quarter = results.epochs // 4
    wobble = {s: claims.volatility(a, start=quarter) for s, a in test_acc.items()}
    return reach, late, wobble


def sgd_nearly_all(results: Results) -> claims.Claim:
    """SGD needs nearly all 200 epochs: at least `NEARLY_ALL` of the run, or never."""
    reach, late, _ = _measures(results)
    return claims.Claim(
        "SGD needs nearly all 200 epochs.",
        f"epochs to 75% test accuracy: {claims.summaries(reach, '.0f')}; passes when SGD "
        "takes at least half the run (or never)",
        decide(late["sgd"] >= NEARLY_ALL * results.epochs),
    )


def _all_beat_sgd(
    original: str, quantity: str, per_seed: dict, shown: dict, fmt: str, relation: str
) -> claims.Claim:
    """A row that passes for a seed when all three adaptive methods are below SGD in
    `per_seed` (lower is better); `shown` is what the row prints."""
    beat = claims.every(*(per_seed[s] < per_seed["sgd"] for s in ADAPTIVE))
    return claims.Claim(
        original,
        f"{quantity}: {claims.summaries(shown, fmt)}; passes when all three are {relation} "
        "SGD (same seed)",
        decide(beat),
    )


def adaptive_calmer(results: Results) -> claims.Claim:
    """SGD is volatile; all three adaptive methods are less volatile (same seed)."""
    _, _, wobble = _measures(results)
    return _all_beat_sgd(
        "SGD is volatile; the adaptive methods learn with less volatility.",
        "volatility",
        wobble,
        wobble,
        ".4f",
        "below",
    )


def adaptive_faster(results: Results) -> claims.Claim:
    """All three adaptive methods reach 75% test accuracy before SGD (same seed)."""
    reach, late, _ = _measures(results)
    return _all_beat_sgd(
        "The adaptive methods learn faster than SGD.",
        "epochs to 75% test accuracy",
        late,
        reach,
        ".0f",
        "before",
    )


def within_about_50(results: Results) -> claims.Claim:
    """RMSprop and Adam both reach 75% test accuracy by epoch `ABOUT_50` (same seed)."""
    reach, late, _ = _measures(results)
    both = np.maximum(late["rmsprop"], late["adam"]) <= ABOUT_50
    return claims.Claim(
        "RMSprop and Adam learn within about 50 epochs.",
        f"epochs to 75% test accuracy: rmsprop {claims.summary(reach['rmsprop'], '.0f')}, "
        f"adam {claims.summary(reach['adam'], '.0f')}; passes when both get there by "
        f"epoch {ABOUT_50}",
        decide(both),
    )


def final_accuracy(results: Results) -> claims.Claim:
    """(Reference.) Final test accuracy of each optimizer."""
    return claims.final_accuracy(results)


ROWS = (sgd_nearly_all, adaptive_calmer, adaptive_faster, within_about_50, final_accuracy)


def table(results: Results) -> claims.ClaimsTable:
    """Chapter 5's table: one row per function of `ROWS`, on the adaptive study's results."""
    return claims.study_table(
        results,
        ROWS,
        "Volatility: mean epoch-to-epoch change of test accuracy after the first quarter "
        "of training.",
    )
