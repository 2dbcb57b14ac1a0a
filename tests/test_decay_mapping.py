"""Old Keras' ``SGD(lr=0.01, decay=d)`` is ``InverseTimeDecay(0.01, 1, d)`` in Keras 3."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.lab.studies import DECAYS, inverse_time_decay


@pytest.mark.parametrize("decay", DECAYS)
@pytest.mark.parametrize("step", [0, 50, 3199])
def test_inverse_time_decay_is_the_old_rule(decay, step):
    schedule = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=decay)
    assert float(schedule(step)) == pytest.approx(0.01 / (1 + decay * step), rel=1e-6)
    assert float(inverse_time_decay(decay)(step)) == pytest.approx(float(schedule(step)))


def test_rates_after_3200_updates_match_the_original():
    # The 3,200th update has t = 3199.
    assert float(inverse_time_decay(1e-4)(3199)) == pytest.approx(0.0076, abs=5e-5)
    assert float(inverse_time_decay(1e-1)(3199)) == pytest.approx(3.1e-5, abs=5e-7)


def test_optimizer_applies_the_schedule_per_update():
    """One weight, gradient 1 each step: the weight falls by exactly the scheduled rates."""
    w = keras.Variable(np.array([0.0], "float32"))
    opt = keras.optimizers.SGD(learning_rate=inverse_time_decay(0.1))
    for _ in range(5):
        opt.apply_gradients([(keras.ops.ones((1,)), w)])
    expected = -sum(0.01 / (1 + 0.1 * t) for t in range(5))
    assert float(w.numpy()[0]) == pytest.approx(expected, rel=1e-6)
