"""Reading a range test: smoothing, the loss delta, and four rules that suggest a rate.

Pure NumPy, no Keras: every rule takes NumPy arrays (`lrs`, the smoothed `losses`)
and returns numbers, so it can be checked on synthetic curves with a known answer (and
ported as is to other languages). All rules read the *smoothed* loss against
`log10(lr)` over the read span `[lo, hi)`: the first `skip_start` points (a
fraction of the curve if below 1) and the last `skip_end` points are ignored, as
fastai does. Within the span, `m` is the index of the lowest loss (the curve's
minimum). **No rule ever suggests a rate past `m`**: to the right of the minimum the
loss is already rising, and a rule that reads the blow-up suggests a rate that diverges.

- `"steepest"`: the rate where the smoothed loss falls fastest per decade of rate
  (`np.gradient` of loss over `log10(lr)`), among the points `lo..m`. The original
  tutorials' reading ("pick the rate at the steepest descent").
- `"minimum"`: a tenth of the rate at `m` (fastai's `minimum`, "lr_min": one
  order of magnitude below the rate at the lowest loss).
- `"valley"`: fastai's default rule. Over the points `lo..m`, the longest strictly
  decreasing subsequence of the loss (which tolerates noisy upticks) marks a valley;
  the suggestion sits `floor(L/3) + floor(L/6)` points after its start, where `L`
  is its length in points (about half-way down).
- `"slide"`: fastai's interval slide rule. Two points `w` apart slide together
  from the right end of the read span towards the start, until the slope of the loss
  (per decade of rate) at the two points differs by at most `thresh` and the left
  point is at or before `m`; the suggestion is the rate at the left point. fastai
  uses 15 points and 0.005 loss per point on its default 100-point, 8-decade ramp;
  here both are stated per decade, `w = 1.2` decades and `thresh = 0.06` loss per
  decade, so the rule reads the same on a ramp of any density.

Reliability (`assess`): a suggestion is marked unreliable, with the reason, when

- **no fall**: the smoothed loss never falls by at least `min_fall` (10%) of its
  value at the start of the read span: there is no descent to read;
- **flat start missing** (window edge): the rule's point lies within the first
  `edge` points of the read span (2 points or 2% of the curve, whichever is more):
  the loss was already falling where reading starts, so the rule is pinned by the
  skip window, not by the curve; start the ramp lower;
- **before the fall** (flat start): the rule's point lies where the smoothed loss has
  not yet fallen by `flat` (5%) of its whole fall from the start of the read span to
  `m`: the loss has not started to fall there, so the rate is read off the flat start
  (the slide rule can land there on a long, noisy plateau);
- **too short**: the curve has fewer points than twice the smoothing's span
  `1 / (1 - beta)` (50 points at `beta = 0.98`): the smoothed loss lags the raw
  loss by about one span, so on a shorter curve the rules read the lag, not the loss;
- **fall after a chance-level plateau** (classification, when the chance-level loss
  `chance` is known, e.g. `ln(10)` for ten classes): the loss starts more than 20%
  above chance, falls to within 5% of chance and stays there for at least 10% of the
  read points before falling further: its first fall only brings the output to
  chance level (calibration, not learning), so rules that read it are misled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lr_lessons.checks import InputError, one_of, probability, whole_number

SUGGESTIONS = ("steepest", "minimum", "valley", "slide")

# Reliability thresholds (see the module docstring for what each means).
MIN_FALL = 0.1
EDGE_POINTS, EDGE_FRACTION = 2, 0.02
CHANCE_ABOVE, CHANCE_NEAR, CHANCE_PLATEAU = 0.2, 0.05, 0.1
SLIDE_WINDOW_DECADES, SLIDE_THRESH = 1.2, 0.06
FLAT = 0.05
MIN_SPANS = 2

NO_FALL = "no fall"
AT_EDGE = "at window edge"
BEFORE_FALL = "before the fall"
TOO_SHORT = "too short"
CHANCE_PLATEAU_FALL = "fall after chance-level plateau"


@dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate, the rule that made it and where it sits on the curve.

    Attributes:
        name: The rule ("steepest", "minimum", "valley" or "slide").
        lr: The suggested learning rate.
        loss: The smoothed loss at `index`.
        index: The point of the curve the suggestion is marked at.
        reliable: False when the curve does not support a suggestion (see `reason`).
        reason: Why the suggestion is unreliable ("" when it is reliable).

    Example:

    ```python
    import numpy as np
    from lr_lessons.tools.range_test import rules

    # usually from RangeTestResult.suggestion("valley"); here a made-up smoothed curve
    lrs = np.geomspace(1e-5, 1.0, 200)
    losses = 2 - np.tanh(2 * (np.log10(lrs) + 3)) + np.exp(3 * (np.log10(lrs) + 0.5))
    s = rules.suggest("valley", lrs, losses)
    print(s)  # valley: 0.000723
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    s.apply(model)  # the optimizer's rate is now s.lr
    ```
    """

    name: str
    lr: float
    loss: float
    index: int
    reliable: bool = True
    reason: str = ""

    def __str__(self) -> str:
        text = f"{self.name}: {self.lr:.3g}"
        return text if self.reliable else f"{text} (unreliable: {self.reason})"

    def apply(self, model: Any, force: bool = False) -> float:
        """Set `model`'s optimizer to this rate (the inner optimizer under mixed precision).

        Args:
            model: A compiled Keras model whose optimizer has a float learning rate.
            force: Apply an unreliable suggestion too (otherwise an `InputError` says why).

        Returns:
            The rate set.
        """
        if not self.reliable and not force:
            raise InputError(
                f"the {self.name} suggestion {self.lr:.3g} is unreliable ({self.reason}); "
                "rerun the test (see the reason) or pass force=True to apply it anyway"
            )
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise InputError("the model has no optimizer: compile it first")
        while hasattr(optimizer, "inner_optimizer"):
            optimizer = optimizer.inner_optimizer
        import keras

        rate = optimizer._learning_rate
        if not isinstance(rate, keras.Variable):
            raise InputError(
                f"the optimizer's learning rate is a {type(rate).__name__}, which cannot be "
                f"set: build the schedule from the suggestion instead (e.g. "
                f"keras.optimizers.schedules.CosineDecay({self.lr:.3g}, decay_steps))"
            )
        rate.assign(self.lr)
        return self.lr

    def cyclical_bounds(self, fraction: float = 0.25) -> tuple[float, float]:
        """`(base_lr, max_lr)` with this rate as the maximum: `CyclicalLearningRate(*b, ...)`.

        Args:
            fraction: `base_lr / max_lr` (Smith: a third to a quarter).

        Returns:
            `(fraction * lr, lr)`.
        """
        if not 0 < fraction < 1:
            raise InputError(f"fraction must be between 0 and 1, got {fraction!r}")
        return self.lr * fraction, self.lr


def ema(values: Sequence[float] | np.ndarray, beta: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average (Adam's correction, as fastai smooths).

    `avg_i = beta * avg_{i-1} + (1 - beta) * v_i` from `avg_{-1} = 0`, divided by
    `1 - beta ** (i + 1)` so the first points are not pulled towards zero.

    Args:
        values: The raw values.
        beta: The smoothing factor, in [0, 1).

    Returns:
        The smoothed values (float64, same length).
    """
    beta = probability(beta, "beta")
    v = np.asarray(values, dtype="float64")
    out = np.empty_like(v)
    avg = 0.0
    for i, x in enumerate(v):
        avg = beta * avg + (1.0 - beta) * x
        out[i] = avg / (1.0 - beta ** (i + 1))
    return out


def smoothing_span(beta: float) -> int:
    """The number of points the loss smoothing averages over: `round(1 / (1 - beta))`.

    The bias-corrected EMA weighs the last `1 / (1 - beta)` points most (50 at
    `beta = 0.98`, 10 at 0.9); the smoothed loss lags the raw one by about that many.

    Args:
        beta: The smoothing factor, in [0, 1).

    Returns:
        The span in points (at least 1).
    """
    beta = probability(beta, "beta")
    return max(1, round(1.0 / (1.0 - beta)))


def too_short(n: int, beta: float) -> str:
    """Why a curve of `n` points smoothed with `beta` is too short to read ("" if not).

    Args:
        n: The number of points of the curve.
        beta: The smoothing factor.

    Returns:
        The reason ("too short: ..."), or "".
    """
    span_ = smoothing_span(beta)
    if n >= MIN_SPANS * span_:
        return ""
    return (
        f"{TOO_SHORT}: the curve has {n} points, fewer than {MIN_SPANS}x the loss "
        f"smoothing's span of {span_} points (beta={beta:g}); the smoothed loss lags by "
        f"about a span, so run more steps (a few hundred) or lower beta"
    )


def loss_delta(losses: Sequence[float] | np.ndarray, window: int = 20) -> np.ndarray:
    """The original's moving-window change `(loss[i] - loss[i - window]) / window`.

    Args:
        losses: The loss at every point.
        window: The distance, in points, between the two losses compared.

    Returns:
        The change at every point; the first `window` entries have no partner and are
        NaN (plots skip them).
    """
    window = whole_number(window, "window", minimum=1)
    v = np.asarray(losses, dtype="float64")
    out = np.full_like(v, np.nan)
    if len(v) > window:
        out[window:] = (v[window:] - v[:-window]) / window
    return out


def span(n: int, skip_start: float = 0.1, skip_end: int = 5) -> tuple[int, int]:
    """The index range `[lo, hi)` the rules read; the whole curve if the skips eat it.

    Args:
        n: The number of points.
        skip_start: Points skipped at the start (a fraction of `n` if below 1).
        skip_end: Points skipped at the end.

    Returns:
        `(lo, hi)`.
    """
    lo = int(skip_start * n) if skip_start < 1 else int(skip_start)
    hi = n - int(skip_end)
    if hi - lo < 3:
        return 0, n
    return lo, hi


def _prepare(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype="float64")
    losses = np.asarray(losses, dtype="float64")
    if lrs.shape != losses.shape or lrs.ndim != 1:
        raise InputError(
            f"lrs and losses must be 1-D and equal in length: {lrs.shape}, {losses.shape}"
        )
    if len(lrs) < 3:
        raise InputError(f"need at least 3 points to suggest a rate, got {len(lrs)}")
    if np.any(lrs <= 0):
        raise InputError("learning rates must be positive to be read on a log scale")
    if not np.isfinite(losses).any():
        raise InputError("the loss curve has no finite value")
    return lrs, losses


def minimum_index(losses: np.ndarray, lo: int, hi: int) -> int:
    """`m`: the index of the lowest (finite) loss in `[lo, hi)`."""
    return lo + int(np.nanargmin(np.where(np.isfinite(losses[lo:hi]), losses[lo:hi], np.nan)))


def steepest(lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> int:
    """Index of the most negative `d loss / d log10(lr)` among the points `lo..m`."""
    lrs, losses = _prepare(lrs, losses)
    lo, hi = span(len(lrs), skip_start, skip_end)
    m = minimum_index(losses, lo, hi)
    if m - lo < 2:
        return m
    slope = np.gradient(losses[lo : m + 1], np.log10(lrs[lo : m + 1]))
    return lo + int(np.nanargmin(slope))


def minimum(lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> float:
    """A tenth of the rate at the lowest smoothed loss (a rate, not an index)."""
    lrs, losses = _prepare(lrs, losses)
    lo, hi = span(len(lrs), skip_start, skip_end)
    return float(lrs[minimum_index(losses, lo, hi)]) / 10.0


def valley(lrs, losses, skip_start: float = 0.1, skip_end: int = 5) -> int:
    """Index of fastai's valley point: about half-way down the longest fall before `m`.

    `run[i]` is the length of the longest strictly decreasing subsequence ending at
    point `i`; the valley ends at the first point with the longest run and starts that
    many points earlier. The suggestion sits a third plus a sixth of the way in.

    Args:
        lrs: The rate at every point.
        losses: The smoothed loss at every point.
        skip_start: The share of points at the start left unread.
        skip_end: The number of points at the end left unread.

    Returns:
        The index of the suggested point.
    """
    lrs, losses = _prepare(lrs, losses)
    lo, hi = span(len(lrs), skip_start, skip_end)
    m = minimum_index(losses, lo, hi)
    y = losses[lo : m + 1]
    run = np.ones(len(y), dtype=int)
    for i in range(1, len(y)):
        before = run[:i][y[:i] > y[i]]
        if before.size:
            run[i] = before.max() + 1
    end = int(np.argmax(run))
    start = max(end - int(run[end]), 0)
    third = (end - start) / 3
    return lo + start + int(third) + int(third / 2)


def slide(
    lrs,
    losses,
    skip_start: float = 0.1,
    skip_end: int = 5,
    window_decades: float = SLIDE_WINDOW_DECADES,
    thresh: float = SLIDE_THRESH,
) -> int:
    """Index of fastai's interval-slide point, never past `m`.

    Points `l` and `r = l + w` (`w`: `window_decades` of rate, in points) slide
    left from the end of the read span; the first `l <= m` where the slopes
    `d loss / d log10(lr)` at `l` and `r` differ by at most `thresh` is returned
    (the start of the span if none does).

    Args:
        lrs: The rate at every point.
        losses: The smoothed loss at every point.
        skip_start: The share of points at the start left unread.
        skip_end: The number of points at the end left unread.
        window_decades: The distance between `l` and `r`, in decades of rate.
        thresh: The largest difference of the two slopes accepted.

    Returns:
        The index of the suggested point.
    """
    lrs, losses = _prepare(lrs, losses)
    lo, hi = span(len(lrs), skip_start, skip_end)
    m = minimum_index(losses, lo, hi)
    x = np.log10(lrs[lo:hi])
    decades_per_point = (x[-1] - x[0]) / max(len(x) - 1, 1)
    w = max(1, round(window_decades / decades_per_point)) if decades_per_point > 0 else 1
    slope = np.gradient(losses[lo:hi], x)
    r = len(x) - 1
    while r - w >= 0:
        left = r - w
        if lo + left <= m and abs(slope[r] - slope[left]) <= thresh:
            return lo + left
        r -= 1
    return lo


def _lr_index(lrs: np.ndarray, lr: float) -> int:
    return int(np.argmin(np.abs(np.log10(lrs) - math.log10(lr))))


RULES: dict[str, Callable[..., Any]] = {
    "steepest": steepest,
    "minimum": minimum,
    "valley": valley,
    "slide": slide,
}
SOURCES = {
    "steepest": "Smith (2017) 'Cyclical Learning Rates for Training Neural Networks' and "
    "the Keras/TF range-test tutorials; fastai's `steep`",
    "minimum": "fastai `lr_find` suggestion `minimum` (lr_min)",
    "valley": "fastai `lr_find` suggestion `valley` (fastai's default since v2.5)",
    "slide": "fastai `lr_find` suggestion `slide` (interval slide rule)",
}


def check_names(names: Sequence[str] | str) -> list[str]:
    """The given suggestion names, checked.

    Args:
        names: One name or a sequence of names.

    Returns:
        The names as a list.

    Raises:
        InputError: Naming the first unknown name and the known ones.
    """
    names = [names] if isinstance(names, str) else list(names)
    for name in names:
        one_of(name, RULES, "suggestion")
    return names


def assess(
    lrs,
    losses,
    skip_start: float = 0.1,
    skip_end: int = 5,
    chance: float | None = None,
    min_fall: float = MIN_FALL,
) -> str:
    """Why a curve supports no suggestion at all ("" when it does).

    Args:
        lrs: The rates.
        losses: The smoothed losses.
        skip_start: See `span`.
        skip_end: See `span`.
        chance: The chance-level loss (e.g. `ln(C)` for `C` classes), if known.
        min_fall: The smallest fall, as a fraction of the loss at the span's start.

    Returns:
        The reason ("no fall: ..." or "fall after chance-level plateau: ..."), or "".
    """
    lrs, losses = _prepare(lrs, losses)
    lo, hi = span(len(lrs), skip_start, skip_end)
    m = minimum_index(losses, lo, hi)
    first = losses[lo]
    if not np.isfinite(first) or losses[m] > first - min_fall * abs(first):
        return (
            f"{NO_FALL}: the smoothed loss never falls {min_fall:.0%} below its value "
            f"{first:.3g} at the start of the read span (lowest {losses[m]:.3g})"
        )
    if chance is not None and chance > 0 and first > (1 + CHANCE_ABOVE) * chance:
        near = np.abs(losses[lo : m + 1] - chance) <= CHANCE_NEAR * chance
        if near.sum() >= CHANCE_PLATEAU * (hi - lo) and losses[m] < (1 - CHANCE_NEAR) * chance:
            return (
                f"{CHANCE_PLATEAU_FALL}: the loss starts at {first:.3g}, flattens at chance "
                f"level {chance:.3g} for {int(near.sum())} points, and only then falls: its "
                "first fall is the output reaching chance, not the rate's useful range"
            )
    return ""


def suggest(
    name: str,
    lrs,
    losses,
    skip_start: float = 0.1,
    skip_end: int = 5,
    chance: float | None = None,
    beta: float | None = None,
) -> Suggestion:
    """Apply the rule called `name` (one of `SUGGESTIONS`) to a smoothed curve.

    Args:
        name: The rule.
        lrs: The rates of the curve's points.
        losses: The smoothed losses.
        skip_start: See `span`.
        skip_end: See `span`.
        chance: The chance-level loss, if known (see `assess`).
        beta: The smoothing the losses went through, if known: a curve shorter than
            `MIN_SPANS` times its span (`smoothing_span`) is too short to read.

    Returns:
        The `Suggestion`, with `reliable=False` and the reason when the curve
        (`assess`, `too_short`) or the rule's position (window edge, before the fall)
        does not support it.
    """
    check_names([name])
    lrs, losses = _prepare(lrs, losses)
    kw = dict(skip_start=skip_start, skip_end=skip_end)
    if name == "minimum":
        lr = minimum(lrs, losses, **kw)
        i = _lr_index(lrs, lr)
    else:
        i = RULES[name](lrs, losses, **kw)
        lr = float(lrs[i])
    s = Suggestion(name, lr, float(losses[i]), i)
    reason = too_short(len(lrs), beta) if beta is not None else ""
    reason = reason or assess(lrs, losses, chance=chance, **kw)
    if not reason and name != "minimum":
        lo, hi = span(len(lrs), skip_start, skip_end)
        edge = max(EDGE_POINTS, math.ceil(EDGE_FRACTION * len(lrs)))
        first, lowest = losses[lo], losses[minimum_index(losses, lo, hi)]
        if i < lo + edge:
            reason = (
                f"{AT_EDGE}: unreliable; the point is within {edge} points of where reading "
                f"starts (skip_start), so the loss was already falling there: start the "
                "ramp lower"
            )
        elif not first - losses[i] >= FLAT * (first - lowest):
            reason = (
                f"{BEFORE_FALL}: the smoothed loss there ({losses[i]:.4g}) has not yet fallen "
                f"{FLAT:.0%} of the way from {first:.4g} to its lowest {lowest:.4g}: the rate "
                "is read off the flat start, before the loss falls"
            )
    return replace(s, reliable=not reason, reason=reason) if reason else s


def peak(values: Sequence[float] | np.ndarray, higher_is_better: bool = True) -> int:
    """Index of the best point of a (smoothed) metric curve: where it stops improving."""
    v = np.asarray(values, dtype="float64")
    if v.size == 0 or not np.isfinite(v).any():
        raise InputError("the metric curve has no finite value")
    return int(np.nanargmax(v) if higher_is_better else np.nanargmin(v))
