"""Reading a range test: smoothing, the loss delta, and three rules that suggest a rate.

Pure NumPy, no Keras, so every rule can be checked on synthetic curves with a known
answer. All rules work on the *smoothed* loss against ``log10(lr)`` and ignore the noisy
ends of the curve (the first ``skip_start`` points, a fraction if below 1, and the last
``skip_end`` points), as fastai does:

- ``"steepest"``: the rate where the smoothed loss falls fastest per decade of rate,
  the original tutorials' reading ("pick the rate at the steepest descent").
- ``"minimum"``: a tenth of the rate at the lowest smoothed loss ("a little left of the
  minimum"; fastai's ``lr_min``).
- ``"valley"``: fastai's default rule. Find the longest stretch over which the loss
  keeps falling (the longest strictly decreasing subsequence of the curve, which
  tolerates a few noisy upticks) and take the point about half-way down it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

SUGGESTIONS = ("steepest", "minimum", "valley")


@dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate, the rule that made it and where it sits on the curve."""

    name: str
    lr: float
    loss: float
    index: int

    def __str__(self) -> str:
        return f"{self.name}: {self.lr:.3g}"


def ema(values: Sequence[float] | np.ndarray, beta: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average (Adam's correction, as fastai smooths).

    ``avg_i = beta * avg_{i-1} + (1 - beta) * v_i`` from ``avg_{-1} = 0``, divided by
    ``1 - beta ** (i + 1)`` so the first points are not pulled towards zero.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    v = np.asarray(values, dtype="float64")
    out = np.empty_like(v)
    avg = 0.0
    for i, x in enumerate(v):
        avg = beta * avg + (1.0 - beta) * x
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


def loss_delta(losses: Sequence[float] | np.ndarray, window: int = 20) -> np.ndarray:
    """The original's moving-window change ``(loss[i] - loss[i - window]) / window``.

    The first ``window`` entries have no partner and are NaN (plots skip them).
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive whole number, got {window!r}")
    v = np.asarray(losses, dtype="float64")
    out = np.full_like(v, np.nan)
    if len(v) > window:
        out[window:] = (v[window:] - v[:-window]) / window
    return out


def _span(n: int, skip_start: float, skip_end: int) -> tuple[int, int]:
    """The index range [lo, hi) the rules look at; the whole curve if the skips eat it."""
    lo = int(skip_start * n) if skip_start < 1 else int(skip_start)
    hi = n - int(skip_end)
    if hi - lo < 3:
        return 0, n
    return lo, hi


def _prepare(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype="float64")
    losses = np.asarray(losses, dtype="float64")
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise ValueError(
            f"lrs and losses must be 1-D and equal in length: {lrs.shape}, {losses.shape}"
        )
    if len(lrs) < 3:
        raise ValueError(f"need at least 3 points to suggest a rate, got {len(lrs)}")
    if np.any(lrs <= 0):
        raise ValueError("learning rates must be positive to be read on a log scale")
    return lrs, losses


def steepest(lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> Suggestion:
    """The rate where ``d loss / d log10(lr)`` is most negative."""
    lrs, losses = _prepare(lrs, losses)
    lo, hi = _span(len(lrs), skip_start, skip_end)
    x, y = np.log10(lrs[lo:hi]), losses[lo:hi]
    slope = np.gradient(y, x)
    i = lo + int(np.nanargmin(slope))
    return Suggestion("steepest", float(lrs[i]), float(losses[i]), i)


def minimum(lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> Suggestion:
    """A tenth of the rate at the lowest smoothed loss (marked where the curve has that rate)."""
    lrs, losses = _prepare(lrs, losses)
    lo, hi = _span(len(lrs), skip_start, skip_end)
    best = lo + int(np.nanargmin(losses[lo:hi]))
    lr = float(lrs[best]) / 10.0
    i = int(np.argmin(np.abs(np.log10(lrs) - math.log10(lr))))
    return Suggestion("minimum", lr, float(losses[i]), i)


def valley(lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> Suggestion:
    """fastai's rule: about half-way down the longest run of falling loss.

    ``run[i]`` is the length of the longest strictly decreasing subsequence ending at
    point ``i``; the valley ends at the first point with the longest run and starts that
    many points earlier. The suggestion sits a third plus a sixth of the way in.
    """
    lrs, losses = _prepare(lrs, losses)
    lo, hi = _span(len(lrs), skip_start, skip_end)
    y = losses[lo:hi]
    run = np.ones(len(y), dtype=int)
    for i in range(1, len(y)):
        before = run[:i][y[:i] > y[i]]
        if before.size:
            run[i] = before.max() + 1
    end = int(np.argmax(run))
    start = max(end - int(run[end]), 0)
    third = (end - start) / 3
    i = lo + start + int(third) + int(third / 2)
    return Suggestion("valley", float(lrs[i]), float(losses[i]), i)


RULES: dict[str, Callable[..., Suggestion]] = {
    "steepest": steepest,
    "minimum": minimum,
    "valley": valley,
}


def check_names(names: Sequence[str]) -> list[str]:
    """The given suggestion names, or a ValueError naming the unknown one."""
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        if name not in RULES:
            raise ValueError(f"unknown suggestion {name!r}; choose from {list(RULES)}")
    return names


def suggest(name: str, lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> Suggestion:
    """Apply the rule called ``name`` (one of :data:`SUGGESTIONS`) to a smoothed curve."""
    check_names([name])
    return RULES[name](lrs, losses, skip_start=skip_start, skip_end=skip_end)


def peak(values: Sequence[float] | np.ndarray, higher_is_better: bool = True) -> int:
    """Index of the best point of a (smoothed) metric curve: where it stops improving."""
    v = np.asarray(values, dtype="float64")
    if v.size == 0 or not np.isfinite(v).any():
        raise ValueError("the metric curve has no finite value")
    return int(np.nanargmax(v) if higher_is_better else np.nanargmin(v))
