"""Chapter 11's stacked width trainer against `model.fit` with Keras' and muP's optimizers."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.lab import width
from lr_lessons.lab.data import load_blobs
from lr_lessons.tools import mup


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_stacked_runs_match_model_fit(optimizer):
    data = load_blobs()
    rates = [0.05]
    seeds = [0, 3]
    epochs, batch = 3, 50
    got = width._train_width(data, 16, 8, optimizer, rates, seeds, epochs, batch)
    assert got.shape == (2, len(rates), len(seeds), epochs)
    steps = len(data.x_train) // batch
    for p, par in enumerate(width.PARAMETRIZATIONS):
        for r, rate in enumerate(rates):
            for s, seed in enumerate(seeds):
                model, adam, sgd, _ = width.built(16, 8, 2, 3, par, seed)
                if par == "sp":
                    opt = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[optimizer]
                    opt = opt(rate)
                else:
                    opt = {"adam": mup.MuAdam, "sgd": mup.MuSGD}[optimizer]
                    opt = opt(rate, multipliers=adam if optimizer == "adam" else sgd)
                model.compile(opt, keras.losses.CategoricalCrossentropy(from_logits=True))
                rng = np.random.default_rng(seed)
                losses = []
                for _ in range(epochs):
                    order = rng.permutation(len(data.x_train))[: steps * batch]
                    h = model.fit(
                        data.x_train[order],
                        data.y_train[order],
                        batch_size=batch,
                        epochs=1,
                        shuffle=False,
                        verbose=0,
                    )
                    losses.append(h.history["loss"][0])
                # float32, different summation order (batched einsum vs Dense): a few ulps
                # per step, grown over 30 steps.
                np.testing.assert_allclose(got[p, r, s], losses, rtol=2e-5)


def test_muP_and_SP_start_identical_at_the_base_width():
    a = width.built(8, 8, 2, 3, "sp", 1)[0].get_weights()
    b = width.built(8, 8, 2, 3, "mup", 1)[0].get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_sweep_best_rate_and_divergence():
    loss = np.full((2, 2, 1, 3, 1, 10), 1.0, np.float32)
    loss[0, 0, 0, 1] = 0.5  # SP Adam: the middle rate is best
    loss[0, 0, 0, 2, 0, 4:] = np.nan  # the largest diverged
    s = width.Sweep(loss, [8], {"adam": [0.1, 0.2, 0.4], "sgd": [1, 2, 3]}, [0])
    assert s.best_rate("sp", "adam").tolist() == [[0.2]]
    assert np.isinf(s.final("sp", "adam")[0, 2, 0])


def test_coord_check_base_width_is_the_same_model_and_ratios_are_read_right():
    data = load_blobs()
    check = width.coord_check(data, [8, 16], [0], learning_rate=0.01, steps=2, batch_size=20)
    assert check.size.shape == (2, 2, 1, len(width.LAYERS), 3)
    # At the base width muP is SP (same weights, every multiplier 1): same sizes, every step.
    np.testing.assert_allclose(check.size[0, 0], check.size[1, 0], rtol=1e-6)
    sp = check.size[0, :, :, :, -1]
    np.testing.assert_allclose(check.growth("sp"), sp[-1] / sp[0])
    np.testing.assert_allclose(check.spread("sp"), sp.max(axis=0) / sp.min(axis=0))
