"""Studies as plain data: named settings (optimizer, schedule, callbacks) on one problem.

A `Setting` is everything that differs between the panels of a figure; a
`Study` is the list of settings plus what they share (problem, model, epochs,
batch size). Engines turn a study into numbers; nothing here trains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import keras

from lr_lessons import checks
from lr_lessons.checks import InputError
from lr_lessons.lab.models import BUILDERS, DenseSpec
from lr_lessons.tools.hypergradient import SGDHD, AdamHD

OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "adagrad": keras.optimizers.Adagrad,
    "adam": keras.optimizers.Adam,
    "sgd_hd": SGDHD,
    "adam_hd": AdamHD,
}

PLATEAU_DEFAULTS = dict(monitor="val_loss", factor=0.1, patience=10, min_delta=1e-7)
PROBLEMS = ("blobs", "mnist")

# Optimizer options checked by kind before Keras sees them (Keras accepts NaN for most).
_RATE_LIKE = ("momentum", "beta_1", "beta_2", "rho", "ema_momentum")  # in [0, 1)
_POSITIVE = ("epsilon",)
_NON_NEGATIVE = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "initial_accumulator_value",
    "hypergrad_lr",
)
_SWITCHES = ("nesterov", "amsgrad", "centered", "use_ema")
# Steps at which a schedule must give a finite rate >= 0 (and > 0 at one of them at least).
_SCHEDULE_PROBES = (0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


def _check_options(name: str, optimizer: str, options: Any) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise InputError(f"setting {name!r}: options must be a dict, got {options!r}")
    options = dict(options)
    for key, value in options.items():
        what = f"option {key!r} of setting {name!r}"
        if not isinstance(key, str):
            raise InputError(f"setting {name!r}: option names must be strings, got {key!r}")
        if key == "learning_rate":
            raise InputError(
                f"setting {name!r}: give the rate as Setting(..., learning_rate=...) or "
                f"schedule=..., not in options (got options learning_rate={value!r})"
            )
        if value is None:
            continue
        if key in _RATE_LIKE:
            options[key] = checks.probability(value, what)
        elif key in _POSITIVE:
            options[key] = checks.positive_number(value, what)
        elif key in _NON_NEGATIVE:
            options[key] = checks.positive_number(value, what, allow_zero=True)
        elif key in _SWITCHES:
            options[key] = checks.boolean(value, what)
        elif checks.is_real(value):
            checks.finite_number(value, what)
            options[key] = value.item() if hasattr(value, "item") else value  # NumPy -> Python
    try:  # Keras knows its own options: unknown names and values it refuses
        OPTIMIZERS[optimizer](**options)
    except (TypeError, ValueError) as err:
        raise InputError(
            f"setting {name!r}: {OPTIMIZERS[optimizer].__name__} refuses options {options}: {err}"
        ) from None
    return options


def _rate_numbers(config: Any, path: str = "") -> list[tuple[str, Any]]:
    """(key, value) pairs of a schedule config that are rates: '*learning_rate*', targets."""
    found = []
    if isinstance(config, Mapping):
        for key, value in config.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, (Mapping, list, tuple)):
                found += _rate_numbers(value, where)
            elif "learning_rate" in str(key) or str(key) in ("warmup_target", "values"):
                found.append((where, value))
    elif isinstance(config, (list, tuple)):
        for i, value in enumerate(config):
            if isinstance(value, (Mapping, list, tuple)):
                found += _rate_numbers(value, f"{path}[{i}]")
            elif path.endswith("values"):
                found.append((f"{path}[{i}]", value))
    return found


def _check_schedule(name: str, schedule: Any) -> Any:
    Schedule = keras.optimizers.schedules.LearningRateSchedule
    if isinstance(schedule, Schedule):
        made = schedule
        schedule = keras.optimizers.schedules.serialize(schedule)
    elif isinstance(schedule, Mapping):
        try:
            made = keras.optimizers.schedules.deserialize(dict(schedule))
        except Exception as err:
            raise InputError(
                f"setting {name!r}: schedule {schedule!r} cannot be rebuilt by Keras: {err}"
            ) from None
    else:
        raise InputError(
            f"setting {name!r}: schedule must be a keras.optimizers.schedules."
            f"LearningRateSchedule, got {schedule!r}"
        )
    for where, value in _rate_numbers(schedule.get("config", {})):
        if checks.is_real(value):
            checks.positive_number(value, f"schedule {where} of setting {name!r}", allow_zero=True)
    rates = []
    for step in _SCHEDULE_PROBES:
        try:
            rate = float(made(step))
        except Exception as err:
            raise InputError(
                f"setting {name!r}: the schedule fails at step {step}: {err}"
            ) from None
        if not (rate >= 0 and rate < float("inf")):
            raise InputError(
                f"setting {name!r}: the schedule's rate at step {step} is {rate!r}; "
                "a learning rate must be a finite number >= 0"
            )
        rates.append(rate)
    if max(rates) == 0:
        raise InputError(f"setting {name!r}: the schedule's rate is 0 at every step tried")
    return schedule


def _check_plateau(name: str, plateau: Any) -> dict[str, Any]:
    if not isinstance(plateau, Mapping):
        raise InputError(f"setting {name!r}: plateau must be a dict, got {plateau!r}")
    plateau = {**PLATEAU_DEFAULTS, **plateau}
    what = f"plateau {{}} of setting {name!r}"
    factor = checks.positive_number(plateau["factor"], what.format("factor"))
    if factor >= 1:
        raise InputError(f"{what.format('factor')} must be below 1, got {factor!r}")
    plateau["factor"] = factor
    for key in ("patience", "cooldown"):
        if key in plateau:
            plateau[key] = checks.whole_number(plateau[key], what.format(key))
    for key in ("min_delta", "min_lr"):
        if key in plateau:
            plateau[key] = checks.positive_number(plateau[key], what.format(key), allow_zero=True)
    try:
        keras.callbacks.ReduceLROnPlateau(**plateau)
    except (TypeError, ValueError) as err:
        raise InputError(f"setting {name!r}: ReduceLROnPlateau refuses {plateau}: {err}") from None
    return plateau


@dataclass(frozen=True)
class Setting:
    """One configuration of a study: how the optimizer and its learning rate behave.

    Every field is checked when the setting is made, so a bad value fails before any
    training starts.

    Args:
        name: The setting's name, unique in its study (figure legends show it).
        optimizer: A key of `OPTIMIZERS` (`"sgd"`, `"adam"`, `"sgd_hd"`, ...).
        learning_rate: The rate; None keeps the optimizer's Keras default.
        options: Further keyword arguments of the optimizer (e.g. `{"momentum": 0.9}`).
        schedule: A Keras `LearningRateSchedule` (stored as its serialized config),
            instead of `learning_rate`.
        plateau: Keyword arguments of `keras.callbacks.ReduceLROnPlateau` (`{}` for its
            defaults as the originals used them: monitor val_loss, factor 0.1,
            min_delta 1e-7); None: no plateau callback.

    Raises:
        InputError: Naming the bad field and value.
    """

    name: str
    optimizer: str = "sgd"
    learning_rate: float | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    schedule: Any = None
    plateau: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"a setting's name must be a non-empty string, got {self.name!r}")
        checks.one_of(self.optimizer, OPTIMIZERS, "optimizer")
        if self.learning_rate is not None:
            rate = checks.positive_number(
                self.learning_rate, f"learning_rate of setting {self.name!r}"
            )
            object.__setattr__(self, "learning_rate", rate)
            if self.schedule is not None:
                raise InputError(f"setting {self.name!r}: give learning_rate or schedule, not both")
        options = _check_options(self.name, self.optimizer, self.options)
        object.__setattr__(self, "options", options)
        if self.schedule is not None:
            object.__setattr__(self, "schedule", _check_schedule(self.name, self.schedule))
        if self.plateau is not None:
            object.__setattr__(self, "plateau", _check_plateau(self.name, self.plateau))

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
        """The Keras callbacks this setting trains with (e.g. `ReduceLROnPlateau`)."""
        if self.plateau is None:
            return []
        return [keras.callbacks.ReduceLROnPlateau(**self.plateau)]

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
    """Settings that share a problem, a model, a loss, a number of epochs and a batch size.

    Args:
        name: Names the results file: letters, digits and `_ . = + -`.
        title: A human-readable title (figures show it).
        settings: The settings, each a `Setting` with its own name.
        epochs: Epochs per run.
        batch_size: Training batch size.
        problem: `"blobs"` or `"mnist"`.
        model: A key of `lr_lessons.lab.models.BUILDERS`, or a `DenseSpec` describing
            a Dense MLP (its `to_dict()` is accepted too).
        loss: A Keras loss name.

    Raises:
        InputError: Naming the bad field and value.
    """

    name: str
    title: str
    settings: tuple[Setting, ...]
    epochs: int = 200
    batch_size: int = 32
    problem: str = "blobs"
    model: str | DenseSpec = "blobs_mlp"
    loss: str = "categorical_crossentropy"

    def __post_init__(self) -> None:
        checks.file_name(self.name, "a study's name (it names its results file)")
        if not isinstance(self.title, str):
            raise InputError(f"study {self.name!r}: title must be a string, got {self.title!r}")
        if isinstance(self.settings, (str, bytes, Setting)):
            raise InputError(f"study {self.name!r}: settings must be a sequence of Setting")
        object.__setattr__(self, "settings", tuple(self.settings))
        if not self.settings:
            raise InputError(f"study {self.name!r} has no settings")
        for s in self.settings:
            if not isinstance(s, Setting):
                raise InputError(f"study {self.name!r}: {s!r} is not a Setting")
        names = [s.name for s in self.settings]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"study {self.name!r} repeats setting names {dupes}")
        for key in ("epochs", "batch_size"):
            object.__setattr__(self, key, checks.whole_number(getattr(self, key), key, minimum=1))
        checks.one_of(self.problem, PROBLEMS, "problem")
        if isinstance(self.model, Mapping) and self.model.get("dense"):
            object.__setattr__(self, "model", DenseSpec.from_dict(dict(self.model)))
        if not isinstance(self.model, DenseSpec):
            checks.one_of(self.model, BUILDERS, "model")
        if not isinstance(self.loss, str) or not self.loss:
            raise InputError(
                f"study {self.name!r}: loss must be a Keras loss name, got {self.loss!r}"
            )

    @property
    def setting_names(self) -> list[str]:
        return [s.name for s in self.settings]

    def setting(self, name: str) -> Setting:
        """The setting called `name`."""
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
            "model": self.model.to_dict() if isinstance(self.model, DenseSpec) else self.model,
            "loss": self.loss,
        }


# --- The five blobs studies of the original tutorial's experiments 1-5 ----------------

LEARNING_RATES = (1e0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7)
MOMENTUMS = (0.0, 0.5, 0.9, 0.99)
DECAYS = (1e-1, 1e-2, 1e-3, 1e-4)
PATIENCES = (2, 5, 10, 15)
ADAPTIVE = ("sgd", "rmsprop", "adagrad", "adam")


def learning_rate_study(rates: Sequence[float] = LEARNING_RATES) -> Study:
    """Chapter 1: plain SGD at learning rates 1E0 ... 1E-7."""
    rates = [checks.positive_number(r, "learning rate") for r in rates]
    names: dict[str, float] = {}
    for r in rates:
        label = f"lr={r:g}"
        if label in names:
            raise InputError(
                f"rates {names[label]!r} and {r!r} both print as {label!r} (6 significant "
                "digits), so their settings would share a name: give rates that differ in "
                "the first 6 digits, or build a Study with your own Setting names"
            )
        names[label] = r
    return Study(
        "learning_rate",
        "SGD at eight learning rates",
        tuple(Setting(label, "sgd", r) for label, r in names.items()),
    )


def momentum_study(momentums: Sequence[float] = MOMENTUMS) -> Study:
    """Chapter 2: SGD at learning rate 0.01 with momentum 0, 0.5, 0.9, 0.99."""
    return Study(
        "momentum",
        "SGD (learning rate 0.01) with momentum",
        tuple(Setting(f"momentum={m:g}", "sgd", 0.01, {"momentum": m}) for m in momentums),
    )


def inverse_time_decay(decay: float, initial_learning_rate: float = 0.01):
    """Keras 3's form of old Keras' SGD arguments `lr=lr0, decay=d`: `lr0 / (1 + d * step)`."""
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
