"""Batch order: Keras 3's fit repeats one permutation; the runner can train either regime."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.lab import runner, studies
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.engines import stacked


def _epoch_orders(dataset_or_array, epochs: int = 2, **fit_kwargs) -> np.ndarray:
    """Per epoch, the order in which ``model.fit`` visits 12 samples (batch size 1)."""
    seen: list[int] = []

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)

    original = model.train_step

    def train_step(data):
        seen.append(int(np.asarray(data[0]).reshape(-1)[0]))
        return original(data)

    model.train_step = train_step
    model.fit(dataset_or_array, epochs=epochs, verbose=0, **fit_kwargs)
    return np.array(seen).reshape(epochs, -1)


def test_keras_fit_repeats_one_permutation_after_set_random_seed():
    x = np.arange(12, dtype="float32").reshape(-1, 1)
    orders = _epoch_orders(x, y=x, batch_size=1, shuffle=True)
    assert sorted(orders[0]) == list(range(12)) and list(orders[0]) != list(range(12))
    np.testing.assert_array_equal(orders[0], orders[1])  # the trap: same order twice


def test_a_reshuffling_dataset_gives_a_fresh_order_every_epoch():
    import tensorflow as tf

    x = np.arange(12, dtype="float32").reshape(-1, 1)
    data = tf.data.Dataset.from_tensor_slices((x, x)).shuffle(12, seed=0).batch(1)
    orders = _epoch_orders(data, shuffle=False)  # the dataset shuffles itself
    assert sorted(orders[1]) == list(range(12))
    assert list(orders[0]) != list(orders[1])


def test_run_study_one_permutation_regime_is_saved_apart(output_dir):
    study = studies.plateau_study((2,)).with_epochs(4)
    fresh = runner.run_study(study, [1], "stacked", progress=False)
    repeated = runner.run_study(study, [1], "stacked", progress=False, reshuffle=False)
    want = stacked.train(study, [1], load_blobs(), reshuffle=False)
    np.testing.assert_array_equal(repeated.get("val_loss"), want["val_loss"])
    assert not np.array_equal(fresh.get("val_loss"), repeated.get("val_loss"))
    assert runner.results_path(study).exists()
    assert runner.results_path(study, reshuffle=False).exists()
    assert repeated.meta["reshuffle"] is False and fresh.meta["reshuffle"] is True
    again = runner.run_study(study, [1], "stacked", progress=False, reshuffle=False)
    assert again.meta["created"] == repeated.meta["created"]  # read from its own file
    with pytest.raises(ValueError, match="reshuffle must be True or False"):
        runner.run_study(study, [1], "stacked", reshuffle="no")


def _orders(dataset, epochs: int) -> list[list[float]]:
    """Per epoch, the first input coordinate of every example, in the order visited."""
    return [np.concatenate([x.numpy()[:, 0] for x, _ in dataset]).tolist() for _ in range(epochs)]


def test_blobs_batches_is_chapter_1s_pipeline_and_reshuffles_every_epoch():
    import tensorflow as tf

    from lr_lessons.lab import pipelines

    blobs = load_blobs()
    train, test = pipelines.blobs_batches()
    written_out = (
        tf.data.Dataset.from_tensor_slices((blobs.x_train, blobs.y_train))
        .shuffle(500, seed=0, reshuffle_each_iteration=True)
        .batch(32)
    )
    orders = _orders(train, 3)
    assert orders == _orders(written_out, 3)  # the same seeded sequence of orders
    assert orders[0] != orders[1] != orders[2]
    assert sorted(orders[0]) == sorted(blobs.x_train[:, 0].tolist())
    assert [len(x) for x, _ in train] == [32] * 15 + [20]
    assert _orders(test, 2) == [blobs.x_test[:, 0].tolist()] * 2  # in order, every epoch
    with pytest.raises(ValueError, match="batch_size"):
        pipelines.blobs_batches(batch_size=0)


def test_steps_per_execution_leaves_the_history_unchanged():
    """Chapter 1's claim: running 16 batches per call into TensorFlow changes no number
    of the run (same seed, same batches, same updates, in the same order)."""
    from lr_lessons.lab import models, pipelines

    histories = []
    for steps in (1, 16):
        keras.utils.set_random_seed(0)
        train, test = pipelines.blobs_batches()
        model = models.blobs_mlp()
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.1),
            loss="categorical_crossentropy",
            metrics=["accuracy"],
            steps_per_execution=steps,
        )
        history = model.fit(train, validation_data=test, epochs=3, shuffle=False, verbose=0)
        histories.append(history.history)
    assert histories[0].keys() == histories[1].keys()
    for key in histories[0]:
        np.testing.assert_array_equal(histories[0][key], histories[1][key], err_msg=key)
