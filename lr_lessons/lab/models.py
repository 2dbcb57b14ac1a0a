"""Model builders: the blobs MLP and the MNIST ConvNets of the originals."""

from __future__ import annotations

import keras
from keras import layers

from lr_lessons.checks import one_of


def blobs_mlp(n_inputs: int = 2, n_classes: int = 3) -> keras.Sequential:
    """The originals' blobs model: Dense(50, relu, he_uniform) -> Dense(3, softmax).

    Chapter 1 writes this network out in full with `keras.Sequential`; later chapters
    call this function instead. Built after `keras.utils.set_random_seed(seed)`, it
    gets the same initial weights as chapter 1's written-out model (303 weights for
    2 inputs and 3 classes).

    Args:
        n_inputs: Number of input features.
        n_classes: Number of classes (units of the softmax output).

    Returns:
        An uncompiled `keras.Sequential` model named `blobs_mlp`.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(n_inputs,)),
            layers.Dense(50, activation="relu", kernel_initializer="he_uniform"),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="blobs_mlp",
    )


def mnist_convnet() -> keras.Sequential:
    """The range-test ConvNet: two conv/pool blocks, then Dense 256 -> 128 -> 10."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_convnet",
    )


def mnist_small_convnet() -> keras.Sequential:
    """The TF2 LR-finder tutorial's ConvNet: Conv2D(32) -> pool -> Dense(128) -> Dropout(0.1)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.1),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_small_convnet",
    )


BUILDERS = {
    "blobs_mlp": blobs_mlp,
    "mnist_convnet": mnist_convnet,
    "mnist_small_convnet": mnist_small_convnet,
}


def build(name: str) -> keras.Model:
    """Build the model a study names (a key of `BUILDERS`)."""
    one_of(name, BUILDERS, "model")
    return BUILDERS[name]()
