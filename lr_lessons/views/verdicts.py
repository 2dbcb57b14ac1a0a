"""The verdict policy: how a claim tested seed by seed becomes one word, the same everywhere.

A claim of the original ("learning rate 1.0 oscillates") is tested on each seed at the
original's threshold, giving `k` passing seeds out of `n`. The verdict is read off the
95% Wilson score interval `[low, high]` for the pass rate (SciPy's
`binomtest(k, n).proportion_ci(method="wilson")`), with thresholds fixed here, before
any data, and used by every chapter:

| interval | word |
|---|---|
| `low >= 0.8` | `confirmed`: holds in nearly every seed |
| `0.5 <= low < 0.8` | `mostly holds`: holds in most seeds, not nearly all |
| `low < 0.5 < high`, `k = n` | `too few seeds, all hold` |
| `low < 0.5 < high`, `k/n > 0.5` | `seed-dependent, mostly holds`: the seeds split |
| `low < 0.5 < high`, `k/n = 0.5` | `seed-dependent`: the seeds split evenly |
| `low < 0.5 < high`, `k/n < 0.5` | `seed-dependent, mostly fails`: the seeds split |
| `low < 0.5 < high`, `k = 0` | `too few seeds, none hold` |
| `0.2 < high <= 0.5` | `mostly fails`: fails in most seeds, not nearly all |
| `high <= 0.2` | `not reproduced`: fails in nearly every seed |

So no word covers both 1 of 5 and 4 of 5, and a claim is `confirmed` only on enough
seeds: 5 of 5 gives `[0.57, 1]` (`mostly holds`), 16 of 16 or 29 of 30 reach
`confirmed`. Every verdict is printed with its `k/n` and interval, e.g.
`confirmed: 30/30 seeds, 95% CI [89%, 100%]`.

Two words stand outside the seed count: `measured` (a reference row: the original
claimed nothing, we show a number) and `superseded` (advice a tool of this library makes
unnecessary; the row says why). A claim about a formula or an exact computation, with no
seed involved (chapter 3's decay rule), is `checked`: `confirmed` or `not reproduced`
with the words `checked exactly, no seeds`. A composite claim reports each part's
verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

CONFIDENCE = 0.95
NEARLY_ALL = 0.8  # `confirmed` needs the interval's low end at or above this
MOST = 0.5  # `mostly holds` / `mostly fails` need the interval on one side of this
NEARLY_NONE = 0.2  # `not reproduced` needs the interval's high end at or below this

CONFIRMED = "confirmed"
MOSTLY_HOLDS = "mostly holds"
FEW_ALL = "too few seeds, all hold"
FEW_NONE = "too few seeds, none hold"
SPLIT_HOLDS = "seed-dependent, mostly holds"
SPLIT = "seed-dependent"
SPLIT_FAILS = "seed-dependent, mostly fails"
MOSTLY_FAILS = "mostly fails"
NOT_REPRODUCED = "not reproduced"
MEASURED = "measured"
SUPERSEDED = "superseded"
SEED_WORDS = (
    CONFIRMED,
    MOSTLY_HOLDS,
    FEW_ALL,
    SPLIT_HOLDS,
    SPLIT,
    SPLIT_FAILS,
    FEW_NONE,
    MOSTLY_FAILS,
    NOT_REPRODUCED,
)
WORDS = (*SEED_WORDS, MEASURED, SUPERSEDED)

POLICY = (
    f"Verdicts: each claim is tested per seed at the original's threshold; k/n seeds pass; "
    f"[low, high] is the {CONFIDENCE:.0%} Wilson interval of the pass rate. "
    f"confirmed: low >= {NEARLY_ALL:.0%}; mostly holds: low >= {MOST:.0%}; "
    f"seed-dependent: the interval contains {MOST:.0%} (mostly holds/fails: more seeds "
    f"pass/fail; too few seeds: all or none pass, but the interval still contains it); "
    f"mostly fails: high <= {MOST:.0%}; not reproduced: high <= {NEARLY_NONE:.0%}."
)


def wilson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a pass rate of `k` passes in `n` trials.

    Args:
        k: Passing seeds, `0 <= k <= n`.
        n: Seeds tried, at least 1.
        confidence: Confidence level of the interval.

    Returns:
        `(low, high)`, both within `[0, 1]`.
    """
    if not (isinstance(n, int | np.integer) and n >= 1):
        raise ValueError(f"n={n!r} seeds: a verdict needs at least one seed")
    if not (isinstance(k, int | np.integer) and 0 <= k <= n):
        raise ValueError(f"k={k!r} passing seeds: must be an integer from 0 to n={n}")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def word(k: int, n: int) -> str:
    """The verdict word for `k` of `n` seeds passing (the table in this module's docstring).

    Args:
        k: Passing seeds.
        n: Seeds tried.

    Returns:
        One of `SEED_WORDS`.
    """
    low, high = wilson(k, n)
    if low >= NEARLY_ALL:
        return CONFIRMED
    if low >= MOST:
        return MOSTLY_HOLDS
    if high <= NEARLY_NONE:
        return NOT_REPRODUCED
    if high <= MOST:
        return MOSTLY_FAILS
    if k == n:
        return FEW_ALL
    if k == 0:
        return FEW_NONE
    if 2 * k > n:
        return SPLIT_HOLDS
    if 2 * k < n:
        return SPLIT_FAILS
    return SPLIT


@dataclass(frozen=True)
class Verdict:
    """A claim's verdict: the word, the seed count behind it, and the interval.

    Attributes:
        word: One of `WORDS`.
        passed: Seeds for which the claim held (`None` for `measured`/`superseded`).
        total: Seeds tried (`None` for `measured`/`superseded`).
        low: Low end of the Wilson interval of the pass rate.
        high: High end of the interval.
        reason: Optional words after the verdict (e.g. why a row is `superseded`).
        parts: For a composite claim, each part's name and verdict.
        unit: What was counted (`"seeds"`; `"rounds"` for repeated timings).
    """

    word: str
    passed: int | None = None
    total: int | None = None
    low: float = float("nan")
    high: float = float("nan")
    reason: str = ""
    parts: tuple[tuple[str, Verdict], ...] = ()
    unit: str = "seeds"

    @property
    def rate(self) -> float:
        """The observed pass rate `passed / total` (NaN without a seed count)."""
        return float("nan") if not self.total else self.passed / self.total

    def count(self) -> str:
        """`"4/5 seeds, 95% CI [38%, 96%]"`, or empty for `measured`/`superseded`."""
        if self.total is None:
            return ""
        return (
            f"{self.passed}/{self.total} {self.unit}, {CONFIDENCE:.0%} CI "
            f"[{self.low:.0%}, {self.high:.0%}]"
        )

    def __str__(self) -> str:
        """E.g. `"seed-dependent, mostly holds: 4/5 seeds, 95% CI [38%, 96%]"`."""
        if self.parts:
            inner = "; ".join(f"{name}: {v}" for name, v in self.parts)
            return f"{self.word} ({inner})"
        text = self.word
        if self.total is not None:
            text += f": {self.count()}"
        if self.reason:
            text += f" ({self.reason})" if self.total is not None else f": {self.reason}"
        return text


def decide(passes: Sequence[bool] | np.ndarray, reason: str = "", unit: str = "seeds") -> Verdict:
    """The verdict of a claim tested seed by seed.

    Args:
        passes: Per seed, did the claim hold at the original's threshold? A seed whose
            measurement is missing (NaN) must already be `False`.
        reason: Optional words shown after the count.
        unit: What one entry of `passes` is (`"seeds"`, or e.g. `"rounds"`).

    Returns:
        A `Verdict` with the word, `k/n` and the Wilson interval.
    """
    p = np.asarray(passes)
    if p.dtype != bool:
        raise ValueError(f"passes has dtype {p.dtype}: pass one boolean per seed")
    p = p.reshape(-1)
    k, n = int(p.sum()), int(p.size)
    low, high = wilson(k, n)
    return Verdict(word(k, n), k, n, low, high, reason, unit=unit)


def composite(parts: Mapping[str, Verdict]) -> Verdict:
    """A claim made of several parts, each decided on its own seeds.

    The word is the part's word furthest from `confirmed` (a composite holds only as far
    as its weakest part), and every part is shown with its own count.

    Args:
        parts: `{part name: verdict}`, in the order the claim states them.

    Returns:
        A `Verdict` whose `parts` list every part.
    """
    if not parts:
        raise ValueError("composite needs at least one part")
    for name, v in parts.items():
        if v.word not in SEED_WORDS:
            raise ValueError(
                f"part {name!r} has verdict {v.word!r}; parts must be decided on seeds"
            )
    weakest = max(parts.values(), key=lambda v: SEED_WORDS.index(v.word))
    return Verdict(weakest.word, parts=tuple(parts.items()))


def checked(holds: bool, how: str = "checked exactly, no seeds") -> Verdict:
    """The verdict of a claim about a formula or an exact computation (no seed involved).

    Args:
        holds: Does the claim hold?
        how: How it was checked (shown after the word).

    Returns:
        `confirmed` or `not reproduced`, without a seed count.
    """
    if not isinstance(holds, bool | np.bool_):
        raise ValueError(f"holds={holds!r}: pass True or False (one exact check)")
    return Verdict(CONFIRMED if holds else NOT_REPRODUCED, reason=how)


def measured(reason: str = "") -> Verdict:
    """The verdict of a row no seed count can decide; `reason` says why.

    Args:
        reason: Why: a reference number the original did not claim, or a single
            timing (one run each, e.g. chapter 7's range test against its search).

    Returns:
        A `Verdict` with no k/n, shown as "measured" and the reason.
    """
    return Verdict(MEASURED, reason=reason)


def superseded(reason: str) -> Verdict:
    """The verdict of advice a tool of this library makes unnecessary; `reason` says why."""
    if not reason:
        raise ValueError("superseded needs the reason (which tool, and why)")
    return Verdict(SUPERSEDED, reason=reason)
