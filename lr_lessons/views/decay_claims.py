"""Chapter 3's claims table: SGD from 0.01 with inverse-time decay on the blobs.

The first claims are about the rule `0.01 / (1 + d t)` itself, checked exactly on the
formula (`verdicts.checked`, no seeds); the rest are tested seed by seed on the trained
runs. The same per-seed tests serve chapter 9, which restates them at every momentum
(`poorly`, `close_to_none`).
"""

from __future__ import annotations

import numpy as np

from lr_lessons.lab.results import Results
from lr_lessons.views import claims
from lr_lessons.views.verdicts import checked, decide

START = 0.01
POORLY = 0.05  # "perform poorly": more than 5 points below decay 1E-4, same seed
CLOSE = 0.02  # "close to no decay": within 2 points of constant 0.01, same seed
ALMOST_NONE = 0.95  # "almost no effect": the rate still above 95% of its start
UPDATES = 3200  # 200 epochs of 16 batches


def rule(decay: float, updates: int = UPDATES) -> np.ndarray:
    """The inverse-time rule in float64: the rate of updates `0 .. updates - 1`."""
    return START / (1 + decay * np.arange(updates))


def poorly(fast: np.ndarray, gentle: np.ndarray) -> np.ndarray:
    """Per seed: do all `fast` decays end more than `POORLY` below the gentle one?

    Args:
        fast: Final test accuracy of the fast decays, `(..., decays, seeds)`.
        gentle: Final test accuracy of decay 1E-4, `(..., seeds)`.

    Returns:
        Booleans, `(..., seeds)`.
    """
    return ((gentle[..., None, :] - fast) > POORLY).all(axis=-2)


def close_to_none(gentle: np.ndarray, constant: np.ndarray) -> np.ndarray:
    """Per seed: does decay 1E-4 end within `CLOSE` of the constant rate?"""
    return np.abs(gentle - constant) < CLOSE


def large_decay_rule() -> claims.Claim:
    """Decay 1E-1 takes the rate below 0.002 within 50 updates and to about 0.0004 at 200."""
    r = rule(0.1)
    below = int(np.argmax(r < 0.002))
    return claims.Claim(
        "Decay 1E-1 takes the rate below 0.002 within 50 updates and to about "
        "0.0004 at 200 (the rule, plotted).",
        f"below 0.002 from update {below}; rate at update 200: {r[200]:.3g} (0.0004 "
        "truncated to the original's one digit; it truncates, as its 0.0075 below shows)",
        checked(below <= 50 and claims.reads_as(r[200], "0.0004"), "checked on the formula"),
    )


def small_decay_rule() -> claims.Claim:
    """Decay 1E-4 has almost no effect over the first 200 updates."""
    r = rule(1e-4)
    return claims.Claim(
        "Decay 1E-4 has almost no effect over those 200 updates.",
        f"rate at update 200: {r[200]:.4g} ({r[200] / START:.1%} of the start)",
        checked(bool(r[200] / START > ALMOST_NONE), "checked on the formula"),
    )


def fast_decays_poor(results: Results) -> claims.Claim:
    """Decays 1E-1 and 1E-2 shrink the rate too fast and perform poorly (`poorly`)."""
    final_test = claims.per_setting(results, "val_accuracy", claims.final)
    fast = np.stack([final_test["decay 0.1"], final_test["decay 0.01"]])
    return claims.Claim(
        "Decays 1E-1 and 1E-2 shrink the rate too fast and perform poorly.",
        f"final test accuracy: {claims.summaries(final_test)}; passes when both end more "
        "than 5 points below decay 1E-4 (same seed)",
        decide(poorly(fast, final_test["decay 0.0001"])),
    )


def gentle_close_to_none(results: Results, constant: np.ndarray) -> claims.Claim:
    """Decay 1E-4 is close to no decay (`close_to_none`).

    Args:
        results: The decay study's results.
        constant: Test accuracy per epoch of constant 0.01 from the same seeds,
            `(seeds, epochs)` (chapter 2's `momentum=0`).

    Returns:
        The row.
    """
    test = results.get("val_accuracy", "decay 0.0001")
    gentle, flat = claims.final(test), claims.final(constant)
    gap = np.abs(test - constant).mean(axis=0)
    return claims.Claim(
        "Decay 1E-4 is close to no decay.",
        "final test accuracy, decay 1E-4 minus constant 0.01 (same seeds): "
        f"{claims.summary(gentle - flat)}; passes within 2 points; largest per-epoch "
        f"gap between the mean curves: {gap.max():.3f}",
        decide(close_to_none(gentle, flat)),
    )


def last_rates(results: Results) -> list[claims.Claim]:
    """After 3,200 updates decay 1E-4 leaves about 0.0075 and decay 1E-1 about 3.1E-5.

    Decided per seed on the rate each run used at its last update (the rule has no
    randomness, so the seeds agree), and only when the run made 3,200 updates.

    Args:
        results: The decay study's results.

    Returns:
        Two rows.
    """
    rates = claims.per_setting(results, "learning_rate")
    n = results.epochs * 16
    rows = []
    for s, expected in (("decay 0.0001", "0.0075"), ("decay 0.1", "3.1e-5")):
        last = rates[s][:, -1]
        rows.append(
            claims.Claim(
                f"After 3,200 updates, {s} leaves about {expected}.",
                f"rate of update {n:,} in our runs: {claims.summary(last, '.4g')} (the "
                "original's figure is ours rounded or truncated to its digits)",
                decide([n == UPDATES and claims.reads_as(v, expected) for v in last]),
            )
        )
    return rows


def table(results: Results, constant: Results) -> claims.ClaimsTable:
    """Chapter 3's table.

    Args:
        results: The decay study's results.
        constant: Chapter 2's momentum study from the same seeds (its `momentum=0` is
            constant 0.01).

    Returns:
        The table.
    """
    return claims.ClaimsTable(
        [
            large_decay_rule(),
            small_decay_rule(),
            fast_decays_poor(results),
            gentle_close_to_none(results, constant.get("val_accuracy", "momentum=0")),
            *last_rates(results),
        ],
        note=claims.numbers_note(results),
    )
