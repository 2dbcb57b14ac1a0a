"""The data and models match the original tutorials: the blobs problem and MLP of chapters 1-5
and the MNIST ConvNets, as the originals built them."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from lr_lessons.checks import InputError
from lr_lessons.lab import data, models


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
    with pytest.raises(InputError, match="nope.npz.*does not exist.*LR_LESSONS_MNIST"):
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


def fake_mnist(n: int = 100, **changes) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n, 28, 28)).astype("uint8"),
        "y_train": np.arange(n) % 10,
        "x_test": rng.integers(0, 256, (n, 28, 28)).astype("uint8"),
        "y_test": np.arange(n)[::-1] % 10,
    }
    arrays.update(changes)
    return arrays


def test_a_well_formed_mnist_file_loads(tmp_path):
    path = tmp_path / "ok.npz"
    np.savez(path, **fake_mnist())
    mnist = data.load_mnist(path)
    assert mnist.x_train.shape == (100, 28, 28, 1) and mnist.x_train.max() <= 1.0
    assert mnist.y_test.dtype == np.int64 and mnist.n_classes == 10
    floats = tmp_path / "floats.npz"  # raw 0..255 values stored as floats are fine
    np.savez(floats, **fake_mnist(x_train=fake_mnist()["x_train"].astype("float32")))
    np.testing.assert_array_equal(data.load_mnist(floats).x_train, mnist.x_train)


SCALED = fake_mnist()["x_train"].astype("float32") / 255


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"x_train": SCALED}, r"x_train ranges 0 .. 1: the images look already scaled"),
        ({"x_test": np.full((100, 28, 28), np.nan, "float32")}, "x_test holds 78400 NaN"),
        ({"x_train": np.full((100, 28, 28), 300.0)}, "x_train ranges 300 .. 300"),
        ({"x_train": np.full((100, 28, 28), -1, "int16")}, r"ranges -1 .. -1; expected raw"),
        ({"x_test": np.zeros((100, 784), "uint8")}, r"x_test has shape \(100, 784\).*reshape"),
        ({"x_train": np.zeros((100, 28, 28), "U1")}, "x_train holds <U1"),
        ({"y_train": np.full(100, np.nan)}, "y_train holds NaN"),
        (
            {"y_train": np.arange(100) - 1},
            r"y_train holds 90 labels that are not class numbers 0..9 \(e.g. -1\)",
        ),
        ({"y_test": np.arange(100) + 5}, r"y_test holds 95 labels .*0..9 \(e.g. 10\)"),
        ({"y_test": np.full(100, 2.5)}, "y_test holds 100 labels"),
        ({"y_train": np.eye(10)[np.arange(100) % 10]}, r"y_train has shape \(100, 10\).*argmax"),
        ({"y_test": np.arange(99) % 10}, "100 x_test images but 99 y_test labels"),
        ({"x_train": np.zeros((0, 28, 28), "uint8"), "y_train": np.zeros(0)}, "no images"),
        # grey levels lost: binarized, blank, or divided by 255 twice
        (
            {"x_train": (fake_mnist()["x_train"] > 127).astype("uint8")},
            r"bad.npz: x_train holds only the values 0 and 1: the images look binarized.*0..255",
        ),
        ({"x_train": np.zeros((100, 28, 28), "uint8")}, "every pixel of x_train is 0: .*blank"),
        ({"x_test": np.full((100, 28, 28), 255, "uint8")}, "every pixel of x_test is 255"),
        ({"x_train": SCALED / 255}, r"x_train ranges 0 .. 0.0039.*scaled twice.*raw 0..255"),
        # too few images is said first, whatever else is wrong
        (
            {"x_train": np.zeros((5, 28, 28), "uint8"), "y_train": np.arange(5)},
            r"bad.npz: the data file holds only 5 images in x_train; .*at least 100",
        ),
        (
            {"x_test": np.zeros((5, 784), "float32"), "y_test": np.zeros(3)},
            "the data file holds only 5 images in x_test",
        ),
    ],
)
def test_bad_mnist_contents_are_refused_with_what_is_wrong(tmp_path, changes, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **fake_mnist(**changes))
    with pytest.raises(InputError, match=match):
        data.load_mnist(path)


def test_files_that_are_not_keras_npz_are_named(tmp_path):
    text = tmp_path / "mnist.npz"
    text.write_text("x_train,y_train\n1,2\n")
    with pytest.raises(InputError, match=r"not a Keras-format .npz: expected .*x_train, y_train"):
        data.load_mnist(text)
    npy = tmp_path / "images.npy"
    np.save(npy, np.zeros((3, 28, 28)))
    with pytest.raises(InputError, match="not a Keras-format .npz.*single .npy array"):
        data.load_mnist(npy)
    with pytest.raises(InputError, match="is a folder"):
        data.load_mnist(tmp_path)


def test_limit_must_be_a_positive_whole_number(mnist_file):
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="limit"):
            data.load_mnist(mnist_file, limit=bad)


def test_the_fingerprint_follows_the_contents_not_the_name():
    blobs = data.load_blobs()
    again = data.load_blobs()
    assert blobs.fingerprint == again.fingerprint and len(blobs.fingerprint) == 16
    rng = np.random.default_rng(0)
    shuffled = data.Dataset(
        blobs.x_train, rng.permutation(blobs.y_train), blobs.x_test, blobs.y_test, "blobs"
    )
    assert shuffled.source == blobs.source and shuffled.fingerprint != blobs.fingerprint
    retyped = data.Dataset(
        blobs.x_train.astype("float64"), blobs.y_train, blobs.x_test, blobs.y_test, "blobs"
    )
    assert retyped.fingerprint != blobs.fingerprint
