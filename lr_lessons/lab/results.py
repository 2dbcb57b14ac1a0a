"""Results: every (setting, seed, epoch) of a study, saved atomically as one `.npz` file.

Each metric is an array of shape `(n_settings, n_seeds, n_epochs)` named as Keras
names its history keys: `loss`, `accuracy` (training), `val_loss`,
`val_accuracy` (the test set, used as validation data) and `learning_rate` (the
rate in force during that epoch's last update). Epochs a run did not reach are NaN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lr_lessons import checks
from lr_lessons.files import read_json, write_npz

METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class CorruptResults(ValueError):
    """A results file that cannot be read back."""


@dataclass
class Results:
    """The numbers a study produced, plus metadata saying how they were made.

    Args:
        study: The study's name.
        settings: The settings' names, in the study's order.
        seeds: The seeds, in the order of the second axis.
        metrics: Metric name -> array of shape `(settings, seeds, epochs)`.
        meta: How the numbers were made (engine, key, wall time, data source...).
    """

    study: str
    settings: list[str]
    seeds: list[int]
    metrics: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        shape = (len(self.settings), len(self.seeds))
        for name, values in self.metrics.items():
            values = np.asarray(values, dtype="float64")
            if values.ndim != 3 or values.shape[:2] != shape:
                raise ValueError(
                    f"metric {name!r} has shape {values.shape}; expected {shape} + (epochs,)"
                )
            self.metrics[name] = values

    @property
    def epochs(self) -> int:
        return next(iter(self.metrics.values())).shape[2]

    def _index(self, setting: str) -> int:
        try:
            return self.settings.index(setting)
        except ValueError:
            raise KeyError(
                f"no setting {setting!r} in {self.study!r}; it has {self.settings}"
            ) from None

    def get(self, metric: str, setting: str | None = None) -> np.ndarray:
        """`metric` as (settings, seeds, epochs), or (seeds, epochs) for one setting."""
        if metric not in self.metrics:
            raise KeyError(f"no metric {metric!r}; there are {sorted(self.metrics)}")
        values = self.metrics[metric]
        return values if setting is None else values[self._index(setting)]

    def rows(self) -> list[dict[str, Any]]:
        """The tidy table: one dict per (setting, seed, epoch), epochs counted from 1."""
        out = []
        for i, setting in enumerate(self.settings):
            for j, seed in enumerate(self.seeds):
                for e in range(self.epochs):
                    row = {"setting": setting, "seed": seed, "epoch": e + 1}
                    row.update({m: float(v[i, j, e]) for m, v in self.metrics.items()})
                    out.append(row)
        return out

    def save(self, path: str | os.PathLike) -> Path:
        """Write to `path` (`.npz`) atomically; returns the path."""
        arrays = {f"metric_{k}": v for k, v in self.metrics.items()}
        header = {"study": self.study, "settings": self.settings, "seeds": self.seeds}
        return write_npz(path, arrays, header=header, meta=self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Results:
        """Read a file written by `save`.

        Args:
            path: The `.npz` file.

        Returns:
            The results. Raises `CorruptResults` for anything that is not a
            whole, well-formed results file (other bytes, other arrays, JSON of another
            shape), and `FileNotFoundError` if there is no file.
        """
        try:
            with np.load(path, allow_pickle=False) as f:
                header = _json_object(f, "header")
                meta = _json_object(f, "meta")
                metrics = {k[len("metric_") :]: f[k] for k in f.files if k.startswith("metric_")}
            study, settings, seeds = _check_header(header)
            for name, values in metrics.items():
                if values.dtype.kind not in "fiu":
                    raise ValueError(f"metric {name!r} holds {values.dtype}, not numbers")
            if not metrics:
                raise ValueError("no metrics")
            return cls(study, settings, seeds, metrics, meta)
        except FileNotFoundError:
            raise
        except Exception as err:
            raise CorruptResults(f"cannot read results file {str(path)!r}: {err}") from err

    @staticmethod
    def read_meta(path: str | os.PathLike) -> dict[str, Any]:
        """Only the metadata of a results file (the arrays are not read).

        Args:
            path: The `.npz` file.

        Returns:
            The `meta` dict; raises `CorruptResults` if it cannot be read.
        """
        try:
            with np.load(path, allow_pickle=False) as f:
                return _json_object(f, "meta")
        except FileNotFoundError:
            raise
        except Exception as err:
            raise CorruptResults(f"cannot read results file {str(path)!r}: {err}") from err


def _json_object(f: Any, name: str) -> dict[str, Any]:
    value = read_json(f, name)
    if not isinstance(value, dict):
        raise ValueError(f"{name} is JSON {type(value).__name__}, not an object")
    return value


def _check_header(header: dict[str, Any]) -> tuple[str, list[str], list[int]]:
    study, settings, seeds = header["study"], header["settings"], header["seeds"]
    if not isinstance(study, str):
        raise ValueError(f"study name is {study!r}, not a string")
    if not isinstance(settings, list) or not all(isinstance(s, str) for s in settings):
        raise ValueError(f"settings are {settings!r}, not a list of names")
    if not isinstance(seeds, list) or not all(checks.is_whole(s) for s in seeds):
        raise ValueError(f"seeds are {seeds!r}, not a list of whole numbers")
    return study, settings, seeds
