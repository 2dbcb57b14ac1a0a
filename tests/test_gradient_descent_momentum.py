"""Gradient descent with momentum on quadratic bowls: Keras' update, the 2(1+mu)/a
threshold, and the verdict the site's playground shows (lr_lessons.lab.gradient_descent)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.lab.gradient_descent import Bowl, behaviour, descend


def test_momentum_path_matches_keras_sgd_with_momentum():
    bowl = Bowl((1.0, 8.0))
    w = keras.Variable(np.array([-4.0, 1.5], dtype="float32"))
    sgd = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
    path = [w.numpy().copy()]
    for _ in range(15):
        sgd.apply_gradients([(keras.ops.convert_to_tensor(bowl.grad(w.numpy()), "float32"), w)])
        path.append(w.numpy().copy())
    # float32 against float64: 15 steps of relative rounding ~1e-7 each on values of order 1
    np.testing.assert_allclose(
        path, descend(bowl, [-4.0, 1.5], 0.1, 15, momentum=0.9), rtol=1e-5, atol=1e-5
    )


def test_zero_momentum_is_plain_descent_bit_for_bit():
    bowl = Bowl((1.0, 3.0))
    plain = descend(bowl, [2.0, -1.0], 0.3, 25)
    assert np.array_equal(plain, descend(bowl, [2.0, -1.0], 0.3, 25, momentum=0.0))
    assert not np.array_equal(plain, descend(bowl, [2.0, -1.0], 0.3, 25, momentum=0.5))


@pytest.mark.parametrize("mu", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("a", [0.5, 2.0, 8.0])
def test_threshold_two_times_one_plus_mu_over_a(a, mu):
    bowl = Bowl((a,))
    limit = behaviour(bowl, 0.01, mu).threshold
    assert limit == pytest.approx(2 * (1 + mu) / a)
    steps = 3000  # near the limit the factor is close to 1: enough steps to see it
    below = descend(bowl, [1.0], 0.97 * limit, steps, momentum=mu)
    above = descend(bowl, [1.0], 1.03 * limit, steps, momentum=mu)
    assert abs(below[-1, 0]) < 1e-3
    assert not abs(above[-1, 0]) < 1e3  # grows past 1e3, or overflows to inf and nan
    assert behaviour(bowl, 0.97 * limit, mu).verdict != "diverges"
    assert behaviour(bowl, 1.03 * limit, mu).verdict == "diverges"


@pytest.mark.parametrize(
    ("lr", "mu", "expected"),
    [
        (0.05, 0.0, "converges"),  # lr * a < 1 for both directions
        (0.2, 0.0, "oscillates"),  # lr * 8 = 1.6: the steep direction flips sign
        (0.26, 0.0, "diverges"),
        (0.005, 0.5, "converges"),  # lr * a <= (1 - sqrt(mu))**2: real positive roots
        (0.1, 0.9, "oscillates"),  # complex roots: the path swings around the minimum
        (0.48, 0.9, "diverges"),
    ],
)
def test_behaviour_verdict_describes_the_path(lr, mu, expected):
    bowl = Bowl((1.0, 8.0))
    how = behaviour(bowl, lr, mu)
    assert how.verdict == expected
    path = descend(bowl, [-4.0, 1.5], lr, 400, momentum=mu)
    signs = np.sign(path)
    crossed = bool(np.any(signs[1:] * signs[:-1] < 0))
    if expected == "diverges":
        assert np.abs(path[-1]).max() > 1e3
    else:
        assert np.abs(path[-1]).max() < np.abs(path[0]).max()
        assert crossed == (expected == "oscillates")
    # the factor is the long-run ratio of successive distances to the minimum
    assert how.factor == pytest.approx(
        (np.abs(path[-1]).max() / np.abs(path[-41]).max()) ** (1 / 40), rel=0.05
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: descend(Bowl((1.0,)), [1.0], 0.1, 5, momentum=1.0),
        lambda: descend(Bowl((1.0,)), [1.0], 0.1, 5, momentum=-0.1),
        lambda: behaviour(Bowl((1.0,)), 0.1, momentum=True),
        lambda: behaviour(Bowl((1.0,)), -0.1),
    ],
)
def test_bad_momentum_or_rate_is_refused(call):
    with pytest.raises(ValueError, match="momentum|learning_rate"):
        call()
