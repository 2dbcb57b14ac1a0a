"""Gradient descent on quadratic bowls: the closed form, Keras' SGD, and the 2/a threshold."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.lab.gradient_descent import Bowl, closed_form, descend


@pytest.mark.parametrize("lr", [0.05, 0.4, 0.9, 1.05])
def test_descend_follows_the_closed_form(lr):
    bowl = Bowl((2.0,))
    np.testing.assert_allclose(descend(bowl, [1.0], lr, 30), closed_form(bowl, [1.0], lr, 30))


def test_descend_matches_keras_sgd_on_a_2d_bowl():
    bowl = Bowl((1.0, 8.0))
    w = keras.Variable(np.array([-4.0, 1.5], dtype="float32"))
    sgd = keras.optimizers.SGD(learning_rate=0.2)
    path = [w.numpy().copy()]
    for _ in range(10):
        sgd.apply_gradients([(keras.ops.convert_to_tensor(bowl.grad(w.numpy()), "float32"), w)])
        path.append(w.numpy().copy())
    np.testing.assert_allclose(path, descend(bowl, [-4.0, 1.5], 0.2, 10), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("curvatures", [(0.5,), (2.0,), (1.0, 8.0), (3.0, 0.1, 20.0)])
def test_threshold_two_over_largest_curvature(curvatures):
    bowl = Bowl(curvatures)
    limit = bowl.divergence_threshold()
    assert limit == pytest.approx(2 / max(curvatures))
    start = np.ones(bowl.dim)
    below = descend(bowl, start, 0.98 * limit, 400)
    above = descend(bowl, start, 1.02 * limit, 400)
    assert bowl.loss(below[-1]) < bowl.loss(start)
    assert bowl.loss(above[-1]) > 1e3 * bowl.loss(start)
    assert bowl.contraction(0.98 * limit) < 1 < bowl.contraction(1.02 * limit)


def test_best_rate_balances_the_extreme_directions():
    bowl = Bowl((1.0, 8.0))
    best = bowl.best_rate()
    assert best == pytest.approx(2 / 9)
    assert bowl.contraction(best) == pytest.approx(7 / 9)
    for other in (0.9 * best, 1.1 * best):
        assert bowl.contraction(other) > bowl.contraction(best)


@pytest.mark.parametrize(
    "call",
    [
        lambda: Bowl(()),
        lambda: Bowl((1.0, 0.0)),
        lambda: Bowl((-2.0,)),
        lambda: descend(Bowl((1.0,)), [1.0], 0.0, 5),
        lambda: descend(Bowl((1.0,)), [1.0], 0.1, 0),
        lambda: descend(Bowl((1.0, 2.0)), [1.0], 0.1, 5),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(ValueError):
        call()
