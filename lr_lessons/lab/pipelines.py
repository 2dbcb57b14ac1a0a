"""Chapter 1's input pipelines, defined once for the single-run demos of later chapters.

Chapter 1 writes them out in full and explains why: in Keras 3, a seeded
`model.fit(x, y, shuffle=True)` visits the batches in the same order in every epoch,
whereas a `tf.data.Dataset` that reshuffles on every pass draws a new order each epoch,
as Keras 2 (and the originals) did. Later chapters import these instead of repeating
the five lines.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from lr_lessons.checks import whole_number
from lr_lessons.lab.data import Dataset, load_blobs


def reshuffled_batches(
    x: np.ndarray, y: np.ndarray, batch_size: int = 32, seed: int = 0
) -> tf.data.Dataset:
    """Batches of `(x, y)` drawn in a new order every epoch (seeded, so repeatable).

    Args:
        x: Inputs, one row per example.
        y: Targets, one row per example.
        batch_size: Examples per batch (the last batch may be smaller).
        seed: Fixes the sequence of orders, epoch after epoch.

    Returns:
        A dataset to pass to `model.fit` with `shuffle=False` (it shuffles itself).
    """
    whole_number(batch_size, "batch_size", minimum=1)
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )


def blobs_batches(
    batch_size: int = 32, seed: int = 0, data: Dataset | None = None
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """Chapter 1's training and test pipelines for the blobs data.

    Args:
        batch_size: Training examples per batch.
        seed: Fixes the order of the training batches in every epoch.
        data: The data to batch; default `load_blobs()` (500 training, 500 test points).

    Returns:
        `(train, test)`: the training points reshuffled every epoch
        (`reshuffled_batches`) and the test points in batches of 32, in order, for
        `validation_data`.
    """
    data = load_blobs() if data is None else data
    train = reshuffled_batches(data.x_train, data.y_train, batch_size, seed)
    test = tf.data.Dataset.from_tensor_slices((data.x_test, data.y_test)).batch(32)
    return train, test
