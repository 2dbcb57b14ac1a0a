"""The reference engine: one plain `model.fit` per setting and seed, as a chapter shows it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np

from lr_lessons.lab import models
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools.callbacks import LearningRateMonitor


class _EpochProgress(keras.callbacks.Callback):
    def __init__(self, progress: Callable[[int], None]) -> None:
        super().__init__()
        self.progress = progress

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.progress(1)


def fit_one(
    study: Study,
    setting: Setting,
    seed: int,
    data: Dataset,
    progress: Callable[[int], None] | None = None,
    shuffle: bool = True,
) -> dict[str, list[float]]:
    """Train one setting from one seed with `model.fit`.

    The seed fixes the initial weights and the order of the batches in every epoch.

    Args:
        study: The study (model, loss, epochs, batch size).
        setting: The setting to train (optimizer, rate, callbacks).
        seed: Passed to `keras.utils.set_random_seed` before the model is built.
        data: The training and test data (the test set is the validation data).
        progress: Called with 1 after every epoch (e.g. a progress bar's `update`).
        shuffle: `model.fit`'s `shuffle`.

    Returns:
        Keras' history dict, with the rate of every epoch under `learning_rate`.
    """
    keras.utils.set_random_seed(seed)
    model = models.build(study.model)
    model.compile(optimizer=setting.make_optimizer(), loss=study.loss, metrics=["accuracy"])
    callbacks = [LearningRateMonitor(), *setting.make_callbacks()]
    if progress is not None:
        callbacks.append(_EpochProgress(progress))
    history = model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_test, data.y_test),
        epochs=study.epochs,
        batch_size=study.batch_size,
        shuffle=shuffle,
        callbacks=callbacks,
        verbose=0,
    )
    return history.history


def train(
    study: Study,
    seeds: Sequence[int],
    data: Dataset,
    progress: Callable[[int], None] | None = None,
) -> dict[str, np.ndarray]:
    """Run every setting x seed of `study` one after another with `model.fit`."""
    shape = (len(study.settings), len(seeds), study.epochs)
    out = {m: np.full(shape, np.nan) for m in METRICS}
    for i, setting in enumerate(study.settings):
        for j, seed in enumerate(seeds):
            history = fit_one(study, setting, seed, data, progress)
            for m in METRICS:
                values = np.asarray(history[m], dtype="float64")
                out[m][i, j, : len(values)] = values
    return out
