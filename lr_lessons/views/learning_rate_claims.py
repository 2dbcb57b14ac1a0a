"""Chapter 1's claims table: eight constant learning rates of plain SGD on the blobs.

Each function tests one statement of the original seed by seed, at the threshold it
used or implied, and returns one row (`claims.Claim`); `table` gathers them. The
verdicts follow the one policy of `lr_lessons.views.verdicts`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.lab.studies import Study
from lr_lessons.views import claims
from lr_lessons.views.verdicts import composite, decide

TARGET = 0.75  # the original's "reasonable accuracy" (test set)
WILDER = 2.0  # "oscillates": more than twice lr=0.1's epoch-to-epoch change
NOTHING = 0.05  # "learn nothing": a gain of less than 5 points of training accuracy
LEARNS = 0.10  # "learn": a gain of more than 10 points
NEAR_BEST = 0.01  # "good": within a point of the best rate's final test accuracy


def oscillates(results: Results) -> claims.Claim:
    """Learning rate 1 makes the model oscillate.

    Per seed: the mean epoch-to-epoch change of test accuracy over the second half of
    the run is more than `WILDER` times rate 0.1's (same seed).

    Args:
        results: The study's results (settings `lr=1`, `lr=0.1`).

    Returns:
        The row.
    """
    test_acc = claims.per_setting(results, "val_accuracy")
    half = results.epochs // 2
    wobble = {s: claims.volatility(test_acc[s], start=half) for s in ("lr=1", "lr=0.1")}
    blown = claims.diverged(results.get("loss", "lr=1"))
    wilder = wobble["lr=1"] > WILDER * wobble["lr=0.1"]
    return claims.Claim(
        "Learning rate 1.0 makes the model oscillate.",
        "epoch-to-epoch change of test accuracy (second half): "
        f"lr=1 {claims.summary(wobble['lr=1'], diverged=blown)}, "
        f"lr=0.1 {claims.summary(wobble['lr=0.1'])}; passes when more than twice "
        "lr=0.1's (same seed)",
        decide(wilder),
    )


def learn_nothing(results: Results, rate_of: Mapping[str, str]) -> claims.Claim:
    """Learning rates 1E-6 and 1E-7 learn nothing.

    Per seed: both gain less than `NOTHING` in training accuracy from epoch 1 to the
    end (`final`). The row also reports the relative fall of the training loss.

    Args:
        results: The study's results (settings `lr=1e-06`, `lr=1e-07`).
        rate_of: How to write each setting's rate.

    Returns:
        The row.
    """
    train_acc = claims.per_setting(results, "accuracy")
    loss = claims.per_setting(results, "loss")
    tiny = ("lr=1e-06", "lr=1e-07")
    gain = {s: claims.final(train_acc[s]) - train_acc[s][:, 0] for s in tiny}
    loss_drop = {s: 1 - claims.final(loss[s]) / loss[s][:, 0] for s in tiny}
    nothing = claims.every(*(np.abs(g) < NOTHING for g in gain.values()))
    return claims.Claim(
        "Learning rates 1E-6 and 1E-7 learn nothing.",
        "gain in train accuracy from epoch 1 to the end: "
        f"{claims.summaries(gain, names=rate_of)}; relative fall of the training "
        f"loss: {claims.summaries(loss_drop, '.1%', names=rate_of)}; passes when both "
        "gains are below 5 points",
        decide(nothing),
    )


def each_more_slowly(results: Results, rate_of: Mapping[str, str]) -> claims.Claim:
    """1E-1, 1E-2 and 1E-3 learn, each more slowly than the one before.

    Two parts, each per seed: all three gain more than `LEARNS` in training accuracy;
    and their epochs to `TARGET` test accuracy (`claims.epochs_to_sustain`, the
    5-epoch trailing mean) are in the order 0.1 < 0.01 < 0.001, a seed that never gets
    there counting as infinitely late.

    Args:
        results: The study's results.
        rate_of: How to write each setting's rate.

    Returns:
        The row.
    """
    test_acc = claims.per_setting(results, "val_accuracy")
    train_acc = claims.per_setting(results, "accuracy")
    slower = ("lr=0.1", "lr=0.01", "lr=0.001")
    reach = {s: claims.epochs_to_sustain(test_acc[s], TARGET) for s in slower}
    late = {s: claims.never_is_last(r) for s, r in reach.items()}
    learns = claims.every(
        *(claims.final(train_acc[s]) - train_acc[s][:, 0] > LEARNS for s in slower)
    )
    ordered = (late["lr=0.1"] < late["lr=0.01"]) & (late["lr=0.01"] < late["lr=0.001"])
    return claims.Claim(
        "1E-1, 1E-2 and 1E-3 learn, each more slowly than the one before.",
        "epochs to 75% test accuracy: "
        f"{claims.summaries(reach, '.0f', names=rate_of)}; 'learn': each gains more "
        "than 10 points of training accuracy",
        composite({"learn": decide(learns), "each more slowly": decide(ordered)}),
    )


def good_at_01(results: Results) -> claims.Claim:
    """Learning rate 0.1 gives good train and test performance.

    Two parts, each per seed: both final accuracies of rate 0.1 are at least `TARGET`;
    and its final test accuracy is within `NEAR_BEST` of the rate with the best mean
    final test accuracy (same seed).

    Args:
        results: The study's results.

    Returns:
        The row.
    """
    final_test = claims.per_setting(results, "val_accuracy", claims.final)
    final_train = claims.final(results.get("accuracy", "lr=0.1"))
    best = max(final_test, key=lambda s: final_test[s].mean())
    good = (final_test["lr=0.1"] >= TARGET) & (final_train >= TARGET)
    near_best = final_test["lr=0.1"] >= final_test[best] - NEAR_BEST
    return claims.Claim(
        "Learning rate 0.1 gives good train and test performance.",
        f"lr=0.1, final: train {claims.summary(final_train)}, test "
        f"{claims.summary(final_test['lr=0.1'])}; best mean final test accuracy: "
        f"{best} ({final_test[best].mean():.3f})",
        composite(
            {
                "both at least 75%": decide(good),
                f"within a point of {best} (same seed)": decide(near_best),
            }
        ),
    )


def table(results: Results, study: Study) -> claims.ClaimsTable:
    """Chapter 1's table.

    Args:
        results: The learning-rate study's results.
        study: The study (each rate is written as it set it, `Setting.learning_rate`).

    Returns:
        The table.
    """
    rate_of = {s.name: f"{s.learning_rate:g}" for s in study.settings}
    return claims.ClaimsTable(
        [
            oscillates(results),
            learn_nothing(results, rate_of),
            each_more_slowly(results, rate_of),
            good_at_01(results),
        ],
        note=claims.numbers_note(results),
    )
