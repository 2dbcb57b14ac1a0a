"""Studies as plain data: named settings (optimizer, schedule, callbacks) on one problem.

A :class:`Setting` is everything that differs between the panels of a figure; a
:class:`Study` is the list of settings plus what they share (problem, model, epochs,
batch size). Engines turn a study into numbers; nothing here trains.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import keras

from lr_lessons.hypergradient import SGDHD, AdamHD

OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
    "adam": keras.optimizers.Adam,
    "sgd_hd": SGDHD,
    "adam_hd": AdamHD,
}

PLATEAU_DEFAULTS = dict(monitor="val_loss", factor=0.1, patience=10, min_delta=1e-7)


def _check_rate(value: float, what: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Setting:
    """One configuration of a study: how the optimizer and its learning rate behave.

    ``learning_rate=None`` keeps the optimizer's Keras default. ``schedule`` is a Keras
    ``LearningRateSchedule`` (stored as its serialized config); ``plateau`` holds the
    keyword arguments of ``keras.callbacks.ReduceLROnPlateau`` (``{}`` for its defaults
    as the originals used them: monitor val_loss, factor 0.1, min_delta 1e-7).
    """

    name: str
    optimizer: str = "sgd"
    learning_rate: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    schedule: Any = None
    plateau: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {self.optimizer!r}; choose one of {sorted(OPTIMIZERS)}"
            )
        if self.learning_rate is not None:
            rate = _check_rate(self.learning_rate, f"learning_rate of setting {self.name!r}")
            object.__setattr__(self, "learning_rate", rate)
            if self.schedule is not None:
                raise ValueError(f"setting {self.name!r}: give learning_rate or schedule, not both")
        if isinstance(self.schedule, keras.optimizers.schedules.LearningRateSchedule):
            object.__setattr__(
                self, "schedule", keras.optimizers.schedules.serialize(self.schedule)
            )
        if self.plateau is not None:
            object.__setattr__(self, "plateau", {**PLATEAU_DEFAULTS, **self.plateau})
        object.__setattr__(self, "options", dict(self.options))

    def make_schedule(self) -> keras.optimizers.schedules.LearningRateSchedule | None:
        """A fresh schedule object, or None if the setting has none."""
        if self.schedule is None:
            return None
        return keras.optimizers.schedules.deserialize(self.schedule)

    def make_optimizer(self) -> keras.optimizers.Optimizer:
        """A fresh Keras optimizer for this setting."""
        kwargs = dict(self.options)
        rate = self.make_schedule() if self.schedule is not None else self.learning_rate
        if rate is not None:
            kwargs["learning_rate"] = rate
        return OPTIMIZERS[self.optimizer](**kwargs)

    def make_callbacks(self) -> list[keras.callbacks.Callback]:
        """The Keras callbacks this setting trains with (e.g. ``ReduceLROnPlateau``)."""
        if self.plateau is None:
            return []
        return [keras.callbacks.ReduceLROnPlateau(**self.plateau)]

    def initial_learning_rate(self) -> float:
        """The learning rate of the first update (schedule at step 0, or the default)."""
        if self.schedule is not None:
            return float(self.make_schedule()(0))
        return float(self.make_optimizer().learning_rate)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used in result metadata and cache keys."""
        return {
            "name": self.name,
            "optimizer": self.optimizer,
            "learning_rate": self.learning_rate,
            "options": dict(self.options),
            "schedule": self.schedule,
            "plateau": None if self.plateau is None else dict(self.plateau),
        }


@dataclass(frozen=True)
class Study:
    """Settings that share a problem, a model, a loss, a number of epochs and a batch size."""

    name: str
    title: str
    settings: tuple[Setting, ...]
    epochs: int = 200
    batch_size: int = 32
    problem: str = "blobs"
    model: str = "blobs_mlp"
    loss: str = "categorical_crossentropy"

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", tuple(self.settings))
        if not self.settings:
            raise ValueError(f"study {self.name!r} has no settings")
        names = [s.name for s in self.settings]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"study {self.name!r} repeats setting names {dupes}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive whole number, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive whole number, got {self.batch_size!r}")

    @property
    def setting_names(self) -> list[str]:
        return [s.name for s in self.settings]

    def setting(self, name: str) -> Setting:
        """The setting called ``name``."""
        for s in self.settings:
            if s.name == name:
                return s
        raise KeyError(f"study {self.name!r} has no setting {name!r}; it has {self.setting_names}")

    def with_epochs(self, epochs: int) -> Study:
        """The same study with another number of epochs."""
        return replace(self, epochs=epochs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used in result metadata and cache keys."""
        return {
            "name": self.name,
            "title": self.title,
            "settings": [s.to_dict() for s in self.settings],
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "problem": self.problem,
            "model": self.model,
            "loss": self.loss,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


# --- The five blobs studies of the originals (EXPERIMENTS.md, sections 1-5) -------------

LEARNING_RATES = (1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
MOMENTUMS = (0.0, 0.5, 0.9, 0.99)
DECAYS = (1e-1, 1e-2, 1e-3, 1e-4)
PATIENCES = (2, 5, 10, 15)
ADAPTIVE = ("sgd", "rmsprop", "adagrad", "adam")


def learning_rate_study(rates: Sequence[float] = LEARNING_RATES) -> Study:
    """Chapter 1: plain SGD at learning rates 1E0 ... 1E-7."""
    rates = [_check_rate(r, "learning rate") for r in rates]
    return Study(
        "learning_rate",
        "SGD at eight learning rates",
        tuple(Setting(f"lr={r:g}", "sgd", r) for r in rates),
    )


def momentum_study(momentums: Sequence[float] = MOMENTUMS) -> Study:
    """Chapter 2: SGD at learning rate 0.01 with momentum 0, 0.5, 0.9, 0.99."""
    return Study(
        "momentum",
        "SGD (learning rate 0.01) with momentum",
        tuple(Setting(f"momentum={m:g}", "sgd", 0.01, {"momentum": m}) for m in momentums),
    )


def inverse_time_decay(decay: float, initial_learning_rate: float = 0.01):
    """Keras 3's form of old Keras' SGD arguments ``lr=lr0, decay=d``: ``lr0 / (1 + d * step)``."""
    return keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate, decay_steps=1, decay_rate=decay
    )


def decay_study(decays: Sequence[float] = DECAYS) -> Study:
    """Chapter 3: SGD from 0.01 with inverse-time decay applied at every update."""
    return Study(
        "decay",
        "SGD (0.01) with learning-rate decay",
        tuple(Setting(f"decay {d:g}", "sgd", schedule=inverse_time_decay(d)) for d in decays),
    )


def plateau_study(patiences: Sequence[int] = PATIENCES) -> Study:
    """Chapter 4: SGD 0.01 with ReduceLROnPlateau(factor 0.1, min_delta 1E-7) at four patiences."""
    return Study(
        "plateau",
        "SGD (0.01) dropping the rate on a plateau of val_loss",
        tuple(Setting(f"patience={p}", "sgd", 0.01, plateau={"patience": p}) for p in patiences),
    )


def adaptive_study(optimizers: Sequence[str] = ADAPTIVE) -> Study:
    """Chapter 5: SGD, RMSprop, Adagrad and Adam with Keras' default settings."""
    return Study(
        "adaptive",
        "Keras' optimizers at their defaults",
        tuple(Setting(name, name) for name in optimizers),
    )


BLOBS_STUDIES = {
    "learning_rate": learning_rate_study,
    "momentum": momentum_study,
    "decay": decay_study,
    "plateau": plateau_study,
    "adaptive": adaptive_study,
}
