"""Checks of LRFinder and range_test under one Keras backend; prints one JSON line.

Run by tests/test_range_test_backends.py in a subprocess with KERAS_BACKEND set (the
backend is fixed when Keras is first imported). Every value printed is measured here;
the test asserts on them.
"""

from __future__ import annotations

import json
import os
import random

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from lr_lessons.tools.range_test import (  # noqa: E402
    STOP_INTERRUPTED,
    LRFinder,
    ramp,
    range_test,
)

N, D, BATCH = 256, 5, 32
rng = np.random.default_rng(0)
X = rng.normal(size=(N, D)).astype("float32")
Y = (X @ rng.normal(size=(D, 1)) + 0.1 * rng.normal(size=(N, 1))).astype("float32")


def regressor(optimizer) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((D,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse", metrics=["mae"])
    return model


def state(model) -> list[np.ndarray]:
    return [
        keras.ops.convert_to_numpy(v).copy() for v in model.variables + model.optimizer.variables
    ]


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


class RateProbe(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        rate = self.model.optimizer.learning_rate
        self.rates.append(float(keras.ops.convert_to_numpy(rate)))


class Interrupt(keras.callbacks.Callback):
    def __init__(self, after: int):
        super().__init__()
        self.after, self.seen = after, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after:
            raise KeyboardInterrupt


class CountingTraces(keras.Sequential):
    """Counts the runs of `train_step`'s Python body: once per trace when compiled."""

    traces = 0

    def train_step(self, *args, **kwargs):
        self.traces += 1
        return super().train_step(*args, **kwargs)


def rates_used_and_traces(out: dict) -> None:
    """The rate each update used, read from the weights; and no new trace of the step.

    One weight `w`, inputs of ones and the loss `mean(w * x)`: the gradient is exactly
    1, so SGD's update `w -= rate * 1` leaves `w = 1 - sum(rates)` in float32,
    subtracted in order, if and only if each update ran at the recorded rate.
    """
    keras.utils.set_random_seed(0)
    model = CountingTraces(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")]
    )
    jit = keras.backend.backend() != "torch"  # torch's jit_compile is torch.compile
    model.compile(
        optimizer=keras.optimizers.SGD(0.01),
        loss=lambda y_true, y_pred: keras.ops.mean(y_pred),
        jit_compile=jit,
    )
    ones = np.ones((64, 1), "float32")
    model.fit(ones, ones, batch_size=16, epochs=1, shuffle=False, verbose=0)  # traced here
    w = np.float32(keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0])
    traces = model.traces
    r = range_test(model, ones, ones, batch_size=16, start_lr=1e-3, end_lr=0.1, steps=30,
                   diverge=None, restore=False, shuffle=False)  # fmt: skip
    for rate in r.lrs.astype("float32"):
        w = np.float32(w - rate)
    kernel = keras.ops.convert_to_numpy(model.layers[0].kernel)[0, 0]
    out["rates_used"] = len(r) == 30 and bool(kernel == w)
    out["new_traces"] = model.traces - traces if jit else None
    out["rate_back"] = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def draws() -> list[float]:
    """One draw from each global generator a seeded range test touches."""
    values = [random.random(), float(np.random.rand()), float(keras.random.uniform(()))]
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        values.append(float(torch.rand(())))
    elif backend == "tensorflow":
        import tensorflow as tf

        values.append(float(tf.random.uniform(())))
    return values


def seed_and_random_state(out: dict) -> None:
    """`seed=` repeats the first call on a model; the global random state comes back."""
    model = regressor(keras.optimizers.SGD(0.01))
    kw = dict(batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=40, seed=3)
    first, second = range_test(model, X, Y, **kw), range_test(model, X, Y, **kw)
    out["seed_first_call_repeats"] = bool(np.array_equal(first.losses, second.losses))
    saved = [keras.ops.convert_to_numpy(v).copy() for v in model.variables]
    keras.utils.set_random_seed(11)
    untouched = draws() + [keras.ops.convert_to_numpy(model(X[:8], training=True)).tolist()]
    for v, value in zip(model.variables, saved):  # the dropout layer's seed state too
        v.assign(value)
    keras.utils.set_random_seed(11)
    range_test(model, X, Y, **kw)
    after = draws() + [keras.ops.convert_to_numpy(model(X[:8], training=True)).tolist()]
    out["random_state_restored"] = after == untouched


def weights_and_subclassed(out: dict) -> None:
    """Sample weights give the callback's curve; a subclassed model keeps its chance level."""
    w = np.linspace(0.2, 3.0, N).astype("float32")
    finder = LRFinder(1e-4, 1.0, steps=30, diverge=None)
    regressor(keras.optimizers.SGD(0.01)).fit(
        X, Y, sample_weight=w, batch_size=BATCH, epochs=4, shuffle=False, callbacks=[finder],
        verbose=0,
    )  # fmt: skip
    r = range_test(regressor(keras.optimizers.SGD(0.01)), X, Y, sample_weight=w,
                   batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=30, diverge=None,
                   shuffle=False)  # fmt: skip
    out["sample_weight_exact"] = bool(np.array_equal(r.losses, finder.result.losses))

    class Subclassed(keras.Model):
        def __init__(self):
            super().__init__()
            self.out = keras.layers.Dense(4)

        def call(self, x):
            return self.out(x)

    keras.utils.set_random_seed(0)
    model = Subclassed()
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model(X[:1])
    labels = (np.abs(X[:, 0]) * 2).astype("int64") % 4
    r = range_test(model, X, labels, batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=30)
    out["subclassed_chance"] = r.settings["chance_loss"]


def main() -> None:
    out: dict = {"backend": keras.backend.backend()}
    rates_used_and_traces(out)

    # restore after a completed test, with a schedule, pre-trained optimizer state
    schedule = keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9)
    model = regressor(keras.optimizers.Adam(schedule))
    model.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0)
    before, variables = state(model), list(model.optimizer.variables)
    r = range_test(model, X, Y, batch_size=BATCH, start_lr=1e-4, end_lr=1.0, steps=40)
    out["points"] = len(r)
    out["restored"] = same(before, state(model))
    out["variables_unchanged"] = list(model.optimizer.variables) == variables
    out["schedule_back"] = model.optimizer._learning_rate is schedule
    out["finite"] = bool(np.isfinite(r.losses).all())

    # each recorded rate is the rate read back from the optimizer before that update
    model = regressor(keras.optimizers.SGD(0.01, momentum=0.9))
    probe = RateProbe()
    finder = LRFinder(1e-4, 0.1, steps=30, diverge=None)
    model.fit(X, Y, batch_size=BATCH, epochs=4, callbacks=[finder, probe], verbose=0)
    out["rates_read_back"] = bool(np.array_equal(finder.result.lrs, probe.rates[:30]))
    out["rates_are_the_ramp"] = bool(np.allclose(finder.result.lrs, ramp(1e-4, 0.1, 30)))
    out["rate_after"] = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))

    # gradient accumulation: one point per real update
    model = regressor(keras.optimizers.SGD(0.01, gradient_accumulation_steps=4))
    finder = LRFinder(1e-4, 0.1, diverge=None)
    model.fit(X, Y, batch_size=16, epochs=8, shuffle=False, callbacks=[finder], verbose=0)
    out["accumulation_points"] = len(finder.result)

    # dict inputs of a two-input model
    keras.utils.set_random_seed(0)
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    two = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    two.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    r = range_test(two, {"a": X[:, :3], "b": X[:, 3:]}, Y, batch_size=BATCH, start_lr=1e-4,
                   end_lr=0.1, steps=30, diverge=None)  # fmt: skip
    out["dict_points"] = len(r)

    # an interrupted fit, restored by the context manager
    model = regressor(keras.optimizers.Adam(1e-3))
    model.fit(X, Y, batch_size=BATCH, epochs=1, verbose=0)
    before = state(model)
    try:
        with LRFinder(1e-4, 1.0, steps=100) as finder:
            model.fit(X, Y, batch_size=BATCH, epochs=20, callbacks=[finder, Interrupt(25)],
                      verbose=0)  # fmt: skip
    except KeyboardInterrupt:
        pass
    out["interrupt_points"] = len(finder.result)
    out["interrupt_reason"] = finder.result.stop_reason == STOP_INTERRUPTED
    out["interrupt_restored"] = same(before, state(model))

    # validation mode: the validation loss is the curve
    r = range_test(regressor(keras.optimizers.SGD(0.01)), X, Y, batch_size=BATCH,
                   start_lr=1e-4, end_lr=1.0, steps=30, monitor="val_loss",
                   validation_data=(X[:64], Y[:64]), validate_every=3)  # fmt: skip
    out["val_points"] = len(r)
    out["val_is_curve"] = bool(np.array_equal(r.losses, r.validation["loss"][: len(r)]))
    seed_and_random_state(out)
    weights_and_subclassed(out)
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
