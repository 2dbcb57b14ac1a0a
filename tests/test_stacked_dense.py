"""The stacked engine on any Dense MLP (`DenseSpec`) against `model.fit`: widths, depths,
inputs, losses, per-layer initialisation and rate multipliers, an output multiplier.

The reasoning is tests/test_stacked_engine.py's: a run alone performs fit's float32
operations (equal up to the order of the reported sums); stacked runs stay within twice
the rounding envelope measured on both sides. The data are small synthetic sets (any
machine, no download): 2-feature blobs-like points and 784-feature "images".
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from equivalence import assert_within_envelope, stacked_and_fit_runs

from lr_lessons.checks import InputError
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.engines import fit, stacked
from lr_lessons.lab.models import DenseSpec, dense_data
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study

EPOCHS = 6
SEED = 2


def synthetic(n_inputs: int, n_classes: int, n_train: int, n_test: int, seed: int) -> Dataset:
    """Gaussian clusters in `n_inputs` dimensions, one-hot targets."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_classes, n_inputs)).astype("float32")
    labels = rng.integers(0, n_classes, n_train + n_test)
    x = (centers[labels] + rng.normal(size=(len(labels), n_inputs))).astype("float32")
    y = np.eye(n_classes, dtype="float32")[labels]
    n = n_train
    return Dataset(x[:n], y[:n], x[n:], y[n:], source=f"synthetic {n_inputs}-d")


@pytest.fixture(scope="module")
def small():
    return synthetic(2, 3, 256, 128, 0)


@pytest.fixture(scope="module")
def wide():
    return synthetic(784, 10, 192, 96, 1)


# (name, spec, loss, batch size, data fixture, settings)
CASES = {
    "depth 2, tanh, init std, multipliers, output multiplier": (
        DenseSpec(
            2,
            (16, 16),
            3,
            activation="tanh",
            init_std=(0.5, 0.25, 0.0),
            lr_multipliers=(2.0, 1.0, 0.5),
            output_multiplier=3.0,
        ),
        "categorical_crossentropy",
        32,
        "small",
        (Setting("momentum", "sgd", 0.05, {"momentum": 0.9}), Setting("adam", "adam", 0.01)),
    ),
    "784 inputs, mse, linear output, he init": (
        DenseSpec(
            784,
            (32,),
            10,
            output_activation="linear",
            kernel_initializer="he_uniform",
            lr_multipliers=(0.25, 1.0),
        ),
        "mean_squared_error",
        32,
        "wide",
        (Setting("sgd", "sgd", 0.02), Setting("rmsprop", "rmsprop", 0.001)),
    ),
    "full batch, depth 3": (
        DenseSpec(2, (8, 8, 8), 3, activation="relu"),
        "categorical_crossentropy",
        256,
        "small",
        (Setting("sgd", "sgd", 0.5), Setting("adagrad", "adagrad", 0.1)),
    ),
}


def summation_bound(values: np.ndarray, batch: int, n_train: int) -> np.ndarray:
    """Reported means summed in another order: Keras averages `batch`-sample means over
    the epoch's batches, the engine sums the epoch; at most (terms - 1) ulp-halves each."""
    terms = (batch - 1) + (-(-n_train // batch) - 1)
    return max(terms, 1) * 2.0**-24 * np.maximum(np.abs(values), 1.0)


def case_study(name: str) -> Study:
    spec, loss, batch, _, settings = CASES[name]
    return Study("dense", name, settings, EPOCHS, batch, model=spec, loss=loss)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_dense_run_alone_follows_model_fit_exactly(name, request):
    """One setting, one seed, data in order: TensorFlow's kernels, fit's arithmetic."""
    study = case_study(name)
    data = request.getfixturevalue(CASES[name][3])
    for setting in study.settings:
        alone = Study(
            "alone",
            "alone",
            (setting,),
            study.epochs,
            study.batch_size,
            model=study.model,
            loss=study.loss,
        )
        mine = stacked.train(alone, [SEED], data, shuffle=False)
        theirs = fit.fit_one(alone, setting, SEED, data, shuffle=False)
        for metric in METRICS:
            want = np.asarray(theirs[metric], dtype="float64")
            got = mine[metric][0, 0]
            bound = summation_bound(want, study.batch_size, len(data.x_train))
            assert np.all(np.abs(got - want) <= bound), (
                f"{setting.name} {metric}: {np.abs(got - want).max():.3g} > {bound.max():.3g}"
            )
        assert theirs["loss"][-1] != theirs["loss"][0]  # it trained


@pytest.mark.parametrize("name", sorted(CASES))
def test_stacked_dense_runs_follow_model_fit_within_rounding(name, request):
    study = case_study(name)
    data = request.getfixturevalue(CASES[name][3])
    mine, envelope, theirs = stacked_and_fit_runs(study, SEED, data)
    for i, setting in enumerate(study.settings):
        for metric in METRICS:
            want = np.asarray(theirs[setting.name][metric])
            extra = summation_bound(want, study.batch_size, len(data.x_train))
            assert_within_envelope(
                mine[metric][i, 0], want, envelope[metric][i, 0] + extra / 2, metric
            )


def test_rate_multipliers_scale_each_layers_first_step():
    """An independent check of per-layer rates: after one SGD step from the same weights
    on the same batch, each tensor moved by multiplier x its move at multiplier 1."""
    data = synthetic(5, 3, 32, 8, 3)
    moves = []
    for multipliers in ((1.0, 1.0), (4.0, 0.25)):
        spec = DenseSpec(5, (7,), 3, lr_multipliers=multipliers)
        keras.utils.set_random_seed(0)
        model = spec.build()
        start = [w.copy() for w in model.get_weights()]
        optimizer = fit.with_rate_multipliers(keras.optimizers.SGD(0.1), spec.rate_multipliers())
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
        model.train_on_batch(data.x_train, data.y_train)
        moves.append([w - s for w, s in zip(model.get_weights(), start)])
    factors = (4.0, 4.0, 0.25, 0.25)
    for plain, scaled, factor, first in zip(*moves, factors, start):
        assert np.abs(plain).max() > 0
        # each move is a difference of float32 weights: off by up to one ulp of |w|
        ulp = 2.0**-23 * (np.abs(first) + np.abs(plain) * max(factor, 1.0))
        assert np.all(np.abs(scaled - plain * factor) <= (1 + factor) * ulp)
        assert not np.allclose(scaled, plain)  # the multiplier really acted


def test_dense_spec_builds_its_initialisation_and_output_multiplier():
    spec = DenseSpec(4, (300,), 3, init_std=(0.2, 0.0), output_multiplier=0.5)
    weights = stacked.initial_weights(spec, 1)
    assert [w.shape for w in weights] == [(4, 300), (300,), (300, 3), (3,)]
    assert abs(weights[0].std() - 0.2) < 0.02  # 1,200 draws of N(0, 0.2)
    assert not weights[2].any() and not weights[1].any()
    np.testing.assert_array_equal(weights[0], stacked.initial_weights(spec, 1)[0])
    assert not np.array_equal(weights[0], stacked.initial_weights(spec, 2)[0])
    model = spec.build()
    x = np.ones((2, 4), "float32")
    logits = model.layers[1](model.layers[0](x))
    np.testing.assert_allclose(model(x), tf.nn.softmax(0.5 * logits), rtol=1e-6)


def test_widths_train_in_one_call_each_as_alone(small):
    """A width grid in one call: one program per width, numbers as each trained alone."""
    grid = [
        Study(
            f"w{w}",
            "w",
            (Setting("a", "sgd", 0.1), Setting("b", "sgd", 0.01)),
            3,
            model=DenseSpec(2, (w, w), 3),
        )
        for w in (4, 16, 64)
    ]
    together = stacked.train_studies(grid, [0, 1], small)
    for study, got in zip(grid, together):
        alone = stacked.train(study, [0, 1], small)
        for metric in METRICS:
            assert got[metric].shape == (2, 2, 3)
            np.testing.assert_allclose(got[metric], alone[metric], atol=1e-5)
    assert not np.allclose(together[0]["loss"], together[2]["loss"])


def test_images_and_integer_labels_are_flattened_and_one_hot_encoded(wide):
    labels = wide.y_train.argmax(1)
    images = Dataset(
        wide.x_train.reshape(-1, 28, 28, 1),
        labels,
        wide.x_test.reshape(-1, 28, 28, 1),
        wide.y_test.argmax(1),
        wide.source,
    )
    spec = DenseSpec(784, (8,), 10)
    flat = dense_data(spec, images)
    np.testing.assert_array_equal(flat.x_train, wide.x_train)
    np.testing.assert_array_equal(flat.y_train, wide.y_train)
    study = Study("img", "img", (Setting("a", "sgd", 0.1),), 2, problem="mnist", model=spec)
    np.testing.assert_array_equal(
        stacked.train(study, [0, 1], images)["loss"], stacked.train(study, [0, 1], wide)["loss"]
    )
    with pytest.raises(InputError, match="784 inputs"):
        dense_data(DenseSpec(784, (8,), 10), synthetic(5, 10, 10, 10, 0))


def test_unknown_optimizers_are_refused_with_one_line():
    with pytest.raises(stacked.Unsupported, match="Nadam") as err:
        stacked.rule_key(keras.optimizers.Nadam())
    assert "\n" not in str(err.value)
    with pytest.raises(stacked.Unsupported, match="no stacked update rule") as err:
        stacked.make_rule(("nadam",), [{}])
    assert "\n" not in str(err.value)
    with pytest.raises(stacked.Unsupported):
        stacked.make_rule(("sgd", True), [{"momentum": 0.9}])  # a flag missing


def test_rate_multipliers_with_a_hypergradient_rule_are_refused():
    spec = DenseSpec(2, (4,), 3, lr_multipliers=(1.0, 2.0))
    study = Study("hd", "hd", (Setting("a", "sgd_hd", 0.01),), 2, model=spec)
    assert not stacked.supports(study)
    assert stacked.supports(
        Study("hd", "hd", (Setting("a", "sgd_hd", 0.01),), 2, model=DenseSpec(2, (4,), 3))
    )


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(inputs=0, hidden=(4,), outputs=3), "inputs"),
        (dict(inputs=2, hidden=(4,), outputs=3, init_std=(0.1,)), "1 values for 2"),
        (dict(inputs=2, hidden=(4,), outputs=3, lr_multipliers=(1.0, 0.0)), "lr_multipliers"),
        (dict(inputs=2, hidden=(4,), outputs=3, output_multiplier=float("nan")), "output_mult"),
        (dict(inputs=2, hidden=(4,), outputs=3, activation="nope"), "activation"),
    ],
)
def test_bad_dense_specs_are_refused_naming_the_field(kwargs, match):
    with pytest.raises(InputError, match=match):
        DenseSpec(**kwargs)


def test_dense_studies_round_trip_through_their_description():
    spec = DenseSpec(784, (64, 64), 10, init_std=(0.05, None, 0.0), lr_multipliers=(1, 1, 0.5))
    study = Study("r", "r", (Setting("a", "adam", 0.001),), 3, 100, "mnist", spec, "mse")
    again = Study(**dict(study.to_dict(), settings=study.settings))
    assert again == study and again.model == spec
