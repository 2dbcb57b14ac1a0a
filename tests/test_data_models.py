"""The data and models match the specification in EXPERIMENTS.md."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from lr_lessons import data, models


def test_blobs_is_the_originals_problem():
    blobs = data.load_blobs()
    x, y = make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)
    assert blobs.x_train.shape == (500, 2) and blobs.x_test.shape == (500, 2)
    assert blobs.y_train.shape == (500, 3) and blobs.y_test.shape == (500, 3)
    np.testing.assert_allclose(blobs.x_train, x[:500], rtol=1e-6)
    np.testing.assert_allclose(blobs.x_test, x[500:], rtol=1e-6)
    np.testing.assert_array_equal(blobs.y_train.argmax(1), y[:500])
    np.testing.assert_array_equal(blobs.y_test.argmax(1), y[500:])
    assert set(np.unique(blobs.y_train)) == {0.0, 1.0}
    np.testing.assert_array_equal(blobs.y_train.sum(1), 1)
    assert blobs.source == "blobs" and blobs.n_classes == 3


def test_blobs_mlp_layers_match_the_original():
    model = models.blobs_mlp()
    hidden, out = model.layers
    assert hidden.units == 50 and hidden.activation.__name__ == "relu"
    assert type(hidden.kernel_initializer).__name__ == "HeUniform"
    assert out.units == 3 and out.activation.__name__ == "softmax"
    assert model.count_params() == 2 * 50 + 50 + 50 * 3 + 3


def test_mnist_convnets_have_the_originals_layers():
    big = models.mnist_convnet()
    kinds = [type(layer).__name__ for layer in big.layers]
    assert kinds == [
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dense",
        "Dense",
    ]
    assert [layer.units for layer in big.layers if kinds[big.layers.index(layer)] == "Dense"] == [
        256,
        128,
        10,
    ]
    small = models.mnist_small_convnet()
    assert [type(layer).__name__ for layer in small.layers] == [
        "Conv2D",
        "MaxPooling2D",
        "Flatten",
        "Dense",
        "Dropout",
        "Dense",
    ]
    assert small.layers[4].rate == pytest.approx(0.1)


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="'resnet'"):
        models.build("resnet")


def test_mnist_from_a_keras_format_file(mnist_file):
    mnist = data.load_mnist(mnist_file)
    assert mnist.x_train.shape == (8000, 28, 28, 1) and mnist.x_test.shape == (2000, 28, 28, 1)
    assert mnist.x_train.dtype == np.float32
    assert 0.0 <= mnist.x_train.min() and mnist.x_train.max() <= 1.0
    assert set(np.unique(mnist.y_train)) == set(range(10))
    assert "10,000-image subset" in mnist.source and "full" not in mnist.source


def test_mnist_limit_keeps_the_first_images(mnist_file):
    mnist = data.load_mnist(mnist_file, limit=300)
    assert len(mnist.x_train) == 300 and len(mnist.x_test) == 300
    assert "first 300" in mnist.source


def test_mnist_missing_file_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LR_LESSONS_MNIST", str(tmp_path / "nope.npz"))
    with pytest.raises(FileNotFoundError, match="nope.npz.*LR_LESSONS_MNIST"):
        data.load_mnist()


def test_mnist_wrong_file_is_named(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match="bad.npz.*x_train"):
        data.load_mnist(bad)


def test_no_mnist_anywhere_fails_with_instructions(monkeypatch):
    import keras

    def offline():
        raise OSError("no internet")

    monkeypatch.delenv("LR_LESSONS_MNIST", raising=False)
    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(RuntimeError, match="LR_LESSONS_MNIST=.*no internet"):
        data.load_mnist()


def test_empty_data_is_refused():
    empty = np.zeros((0, 2), "float32")
    with pytest.raises(ValueError, match="train split .* is empty"):
        data.Dataset(empty, empty, np.ones((2, 2)), np.ones((2, 2)), source="x")
    with pytest.raises(ValueError, match="differ in length: 3 vs 2"):
        data.Dataset(np.ones((3, 2)), np.ones((2, 3)), np.ones((2, 2)), np.ones((2, 3)), "x")
