"""Gradient descent on quadratic bowls, in plain NumPy: what one learning rate does.

A quadratic bowl `f(w) = 1/2 * sum_i a_i * w_i**2` has curvature `a_i` along axis
`i`. One step `w <- w - lr * grad f(w)` multiplies each coordinate by
`1 - lr * a_i`, so after `k` steps `w_i = (1 - lr * a_i) ** k * w0_i`:

- `0 < lr * a_i < 1`: the coordinate shrinks without changing sign (too small: slowly);
- `lr * a_i = 1`: it reaches the minimum in one step;
- `1 < lr * a_i < 2`: it flips sign each step and shrinks (oscillates, still converges);
- `lr * a_i > 2`: it flips sign and grows: descent diverges.

So the largest stable rate is `2 / max_i a_i`: the steepest direction sets the limit,
and on an elongated bowl that rate crawls along the flat direction.

With momentum `mu` (Keras' `SGD(momentum=mu)`: `v <- mu * v - lr * grad`,
`w <- w + v`) each coordinate follows `w_{k+1} = (1 + mu - lr * a) w_k - mu w_{k-1}`,
whose two roots `z` solve `z**2 - (1 + mu - lr * a) z + mu = 0`. Their largest
modulus is the per-step factor; it stays below 1 exactly while `lr * a < 2 (1 + mu)`,
so momentum moves the divergence threshold to `2 (1 + mu) / max_i a_i`
(`behaviour` classifies a rate; the site's gradient-descent playground runs the
same arithmetic in JavaScript, and a browser test compares the two).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from lr_lessons import checks
from lr_lessons.checks import InputError


@dataclass(frozen=True)
class Bowl:
    """The quadratic `f(w) = 1/2 * sum(curvatures * w**2)` (minimum 0 at `w = 0`)."""

    curvatures: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.curvatures) == 0:
            raise InputError("a bowl needs at least one curvature: give Bowl((a1, a2, ...))")
        values = tuple(checks.positive_number(a, "each curvature") for a in self.curvatures)
        object.__setattr__(self, "curvatures", values)

    @property
    def dim(self) -> int:
        return len(self.curvatures)

    def _a(self) -> np.ndarray:
        return np.asarray(self.curvatures, dtype="float64")

    def loss(self, w: np.ndarray) -> np.ndarray:
        """`f` at `w` (shape `(..., dim)`)."""
        w = np.asarray(w, dtype="float64")
        return 0.5 * np.sum(self._a() * w**2, axis=-1)

    def grad(self, w: np.ndarray) -> np.ndarray:
        """The gradient `a * w`."""
        return self._a() * np.asarray(w, dtype="float64")

    def divergence_threshold(self) -> float:
        """The learning rate above which gradient descent diverges: `2 / max curvature`."""
        return 2.0 / max(self.curvatures)

    def best_rate(self) -> float:
        """The rate that contracts the slowest and the fastest direction equally:
        `2 / (a_min + a_max)` (the best fixed rate for a quadratic)."""
        return 2.0 / (min(self.curvatures) + max(self.curvatures))

    def contraction(self, learning_rate: float) -> float:
        """Per-step factor of the slowest-shrinking coordinate: `max |1 - lr * a_i|`.

        Args:
            learning_rate: The step size `lr` (positive).

        Returns:
            The factor: below 1 descent converges, above 1 it diverges.
        """
        lr = checks.positive_number(learning_rate, "learning_rate")
        return float(np.max(np.abs(1.0 - lr * self._a())))


def descend(
    bowl: Bowl, w0: Sequence[float], learning_rate: float, steps: int, momentum: float = 0.0
) -> np.ndarray:
    """The path of `steps` gradient-descent steps from `w0`: shape `(steps + 1, dim)`.

    Row 0 is `w0`; row `k` is the point after `k` updates `w <- w - lr * grad`
    or, with `momentum` above 0, Keras' `v <- momentum * v - lr * grad; w <- w + v`
    (`v` starts at 0). Values that overflow become `inf` (a diverging run), without
    a warning.

    Args:
        bowl: the quadratic to descend.
        w0: the start point, one coordinate per curvature.
        learning_rate: the step size `lr` (positive).
        steps: how many updates (a positive whole number).
        momentum: Keras' SGD momentum, in `[0, 1)`; 0 is plain gradient descent.

    Returns:
        The points, `w0` first, as a float64 array of shape `(steps + 1, dim)`.
    """
    lr = checks.positive_number(learning_rate, "learning_rate")
    mu = checks.probability(momentum, "momentum")
    steps = checks.whole_number(steps, "steps", minimum=1)
    w = np.asarray(w0, dtype="float64").reshape(-1)
    if w.shape != (bowl.dim,):
        raise InputError(
            f"w0 has {w.size} coordinates; the bowl has {bowl.dim}: give one per curvature"
        )
    path = np.empty((steps + 1, bowl.dim))
    path[0] = w
    v = np.zeros(bowl.dim)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            if mu == 0.0:
                w = w - lr * bowl.grad(w)
            else:
                v = mu * v - lr * bowl.grad(w)
                w = w + v
            path[k + 1] = w
    return path


@dataclass(frozen=True)
class Behaviour:
    """What gradient descent (with momentum) does on a bowl at one learning rate.

    `verdict` is `"converges"` (every coordinate approaches 0 without crossing it in
    the long run), `"oscillates"` (the factor is at most 1 but some coordinate keeps
    crossing the minimum: a negative or complex root), or `"diverges"` (factor above 1).
    `factor` is the largest root modulus over all directions (the error shrinks or grows
    by about this much per step); `axis` is the direction it belongs to; `threshold`
    is `2 (1 + momentum) / max curvature`.
    """

    verdict: Literal["converges", "oscillates", "diverges"]
    factor: float
    axis: int
    threshold: float
    crossing: tuple[bool, ...]


def behaviour(bowl: Bowl, learning_rate: float, momentum: float = 0.0) -> Behaviour:
    """Classify what `descend` does at `learning_rate` and `momentum`.

    Per direction with curvature `a`: `t = 1 + mu - lr * a`; the roots of
    `z**2 - t z + mu` are real when `t**2 >= 4 mu` (both with the sign of `t`:
    negative means the coordinate flips sign each step) and complex otherwise (modulus
    `sqrt(mu)`: the coordinate swings around the minimum).

    Args:
        bowl: the quadratic.
        learning_rate: the step size (positive).
        momentum: Keras' SGD momentum, in `[0, 1)`.

    Returns:
        A `Behaviour`: the verdict, the per-step factor and the threshold.
    """
    lr = checks.positive_number(learning_rate, "learning_rate")
    mu = checks.probability(momentum, "momentum")
    factors, crossing = [], []
    for a in bowl.curvatures:
        t = 1.0 + mu - lr * a
        disc = t * t - 4.0 * mu
        if disc >= 0.0:
            factors.append((abs(t) + math.sqrt(disc)) / 2.0)
            crossing.append(t < 0.0)
        else:
            factors.append(math.sqrt(mu))
            crossing.append(True)
    axis = max(range(len(factors)), key=lambda i: factors[i])
    factor = factors[axis]
    if factor > 1.0:
        verdict = "diverges"
    elif any(crossing) or factor == 1.0:
        verdict = "oscillates"
    else:
        verdict = "converges"
    threshold = 2.0 * (1.0 + mu) / max(bowl.curvatures)
    return Behaviour(verdict, factor, axis, threshold, tuple(crossing))


def closed_form(bowl: Bowl, w0: Sequence[float], learning_rate: float, steps: int) -> np.ndarray:
    """The same path from the formula `w_k = (1 - lr * a) ** k * w0` (for checking)."""
    lr = checks.positive_number(learning_rate, "learning_rate")
    k = np.arange(steps + 1)[:, None]
    with np.errstate(over="ignore"):
        return (1.0 - lr * bowl._a()) ** k * np.asarray(w0, dtype="float64")
