"""Range-test results: one run (`RangeTestResult`), several seeds
(`RangeTestRepeats`), their reading and their file format (`.npz` with a JSON
header, written atomically)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lr_lessons.checks import InputError
from lr_lessons.files import write_npz
from lr_lessons.tools.range_test.rules import (
    SUGGESTIONS,
    Suggestion,
    check_names,
    ema,
    loss_delta,
    peak,
    suggest,
)

# Seeds whose suggestions differ by more than this factor (max / min) disagree.
DISAGREE_FACTOR = 3.0


@dataclass
class RangeTestResult:
    """One range test: every point's rate and loss, why it stopped, and how to read it.

    `lrs[k]` is the rate of point `k` and `losses[k]` its loss: by default each
    optimizer update's own training loss; with `settings["monitor"] == "val_loss"`
    (validation mode) the loss on the validation set after the update, and the
    training points are in `train` (`lr`, `loss`, metrics...). `metrics` holds
    other per-point training values (e.g. `accuracy`) and `validation` the
    validation points (`step`, `lr`, `loss`, ...). `settings` holds the test's
    settings (`beta`, `window`, `skip_start`, `chance_loss`...), `meta`
    whatever the caller adds (data source, seed...).

    Example:

    ```python
    from lr_lessons import RangeTestResult, range_test

    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    result = range_test(model, x_train, y_train, start_lr=1e-4, end_lr=10, steps=200, seed=0)
    print(result.stop_reason, result.suggestions())
    result.save("range_test.npz")
    again = RangeTestResult.load("range_test.npz")
    again.plot(path="range_test.png")  # returns the matplotlib figure
    ```
    """

    lrs: np.ndarray
    losses: np.ndarray
    stop_reason: str
    settings: dict[str, Any]
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    validation: dict[str, np.ndarray] = field(default_factory=dict)
    stop_lr: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    train: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lrs = np.asarray(self.lrs, dtype="float64")
        self.losses = np.asarray(self.losses, dtype="float64")
        self.metrics = {k: np.asarray(v, dtype="float64") for k, v in self.metrics.items()}
        self.validation = {k: np.asarray(v, dtype="float64") for k, v in self.validation.items()}
        self.train = {k: np.asarray(v, dtype="float64") for k, v in self.train.items()}
        if self.lrs.shape != self.losses.shape:
            raise InputError(f"lrs {self.lrs.shape} and losses {self.losses.shape} differ")

    def __len__(self) -> int:
        return len(self.lrs)

    @property
    def monitor(self) -> str:
        """The loss the curve records: "loss" (training) or "val_loss"."""
        return self.settings.get("monitor", "loss")

    @property
    def smoothed(self) -> np.ndarray:
        """The bias-corrected EMA of the losses (`settings["beta"]`)."""
        return ema(self.losses, self.settings.get("beta", 0.98))

    def loss_delta(self, window: int | None = None, smoothed: bool = False) -> np.ndarray:
        """The original's `(loss[i] - loss[i - w]) / w` (raw losses unless `smoothed`)."""
        w = self.settings.get("window", 20) if window is None else window
        return loss_delta(self.smoothed if smoothed else self.losses, w)

    def smoothed_metric(self, name: str) -> np.ndarray:
        """A per-point metric (e.g. `"accuracy"`) smoothed like the loss."""
        if name not in self.metrics:
            raise KeyError(f"no per-batch metric {name!r}; there are {sorted(self.metrics)}")
        return ema(self.metrics[name], self.settings.get("beta", 0.98))

    def suggestion(self, name: str = "valley") -> Suggestion:
        """The rate suggested by rule `name` (see `lr_lessons.tools.range_test.rules`).

        Args:
            name: "steepest", "minimum", "valley" or "slide".

        Returns:
            The `Suggestion`; its `reliable` and `reason` say whether the
            curve supports it.
        """
        check_names([name])
        if len(self) < 3:
            raise InputError(f"the test stopped after {len(self)} points: too few to read")
        s = self.settings
        return suggest(
            name,
            self.lrs,
            self.smoothed,
            s.get("skip_start", 0.1),
            s.get("skip_end", 5),
            chance=s.get("chance_loss"),
            beta=s.get("beta", 0.98),
        )

    def suggestions(self, names: Sequence[str] = SUGGESTIONS) -> dict[str, Suggestion]:
        """Every rule's suggestion, by name."""
        return {name: self.suggestion(name) for name in check_names(names)}

    def max_usable_lr(self, metric: str = "accuracy", validation: bool | None = None) -> float:
        """Smith's "maximum rate": where the (smoothed) metric stops improving.

        A metric whose name contains `loss` is best when lowest, any other when highest.

        Args:
            metric: The metric to read, e.g. `"accuracy"`.
            validation: Read the validation points (True) or the smoothed per-point
                training metric (False); None reads the validation points when the
                test recorded the metric there (validation mode).

        Returns:
            The rate at which the metric stops improving.
        """
        use_val = metric in self.validation if validation is None else validation
        higher = "loss" not in metric
        if use_val:
            if metric not in self.validation:
                raise KeyError(f"no validation {metric!r}; there are {sorted(self.validation)}")
            return float(self.validation["lr"][peak(self.validation[metric], higher)])
        values = self.smoothed if metric == "loss" else self.smoothed_metric(metric)
        return float(self.lrs[peak(values, higher)])

    def cyclical_bounds(
        self, fraction: float = 0.25, metric: str | None = None
    ) -> tuple[float, float]:
        """`(base_lr, max_lr)` for `CyclicalLearningRate(*bounds, step_size)` or
        `OneCycle(*bounds, total_steps)`: the max usable rate and a `fraction` of it.

        Args:
            fraction: `base_lr / max_lr` (Smith: a third to a quarter).
            metric: The curve read for the max usable rate; default "accuracy" when the
                test recorded it, else "loss".

        Returns:
            `(base_lr, max_lr)`.
        """
        if not 0 < fraction < 1:
            raise InputError(f"fraction must be between 0 and 1, got {fraction!r}")
        if metric is None:
            has_acc = "accuracy" in self.metrics or "accuracy" in self.validation
            metric = "accuracy" if has_acc else "loss"
        top = self.max_usable_lr(metric)
        return top * fraction, top

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        """The arrays and a JSON header, as saved by `save`."""
        out = {f"{prefix}lrs": self.lrs, f"{prefix}losses": self.losses}
        out.update({f"{prefix}metric_{k}": v for k, v in self.metrics.items()})
        out.update({f"{prefix}val_{k}": v for k, v in self.validation.items()})
        out.update({f"{prefix}train_{k}": v for k, v in self.train.items()})
        header = {
            "stop_reason": self.stop_reason,
            "stop_lr": self.stop_lr,
            "settings": self.settings,
            "meta": self.meta,
        }
        out[f"{prefix}header"] = np.array(json.dumps(header, default=str))
        return out

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "") -> RangeTestResult:
        """The result stored in `arrays` by `to_arrays`."""
        header = json.loads(str(arrays[f"{prefix}header"]))
        parts: dict[str, dict[str, np.ndarray]] = {"metric_": {}, "val_": {}, "train_": {}}
        for key, value in arrays.items():
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix) :]
            for part, store in parts.items():
                if rest.startswith(part):
                    store[rest[len(part) :]] = value
        return cls(
            arrays[f"{prefix}lrs"],
            arrays[f"{prefix}losses"],
            header["stop_reason"],
            header["settings"],
            parts["metric_"],
            parts["val_"],
            header["stop_lr"],
            header["meta"],
            parts["train_"],
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write to `path` (`.npz`) atomically."""
        return save_npz(path, self.to_arrays())

    @classmethod
    def load(cls, path: str | os.PathLike) -> RangeTestResult:
        """Read a file written by `save`.

        Args:
            path: The `.npz` file.

        Returns:
            The result.

        Raises:
            RangeTestFileError: If the file is missing, truncated, or not a range-test
                result (e.g. a study's results or a `RangeTestRepeats` file).
        """
        with _reading(path, "a RangeTestResult") as arrays:
            return cls.from_arrays(arrays)

    def plot(
        self,
        ax: Any = None,
        label: str = "range test",
        *,
        path: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> Any:
        """Loss against rate (log x) with each rule's suggestion marked.

        Draws with matplotlib alone (`lr_lessons.tools.range_test.plot.plot_loss`):
        faint raw losses, the smoothed line, one marker per rule (hollow when the rule
        calls its reading unreliable). From a script, give `path` (or call
        `matplotlib.pyplot.show()`) to see it.

        Args:
            ax: Axes to draw into (default: a new figure).
            label: The curve's legend label.
            path: Save the figure to this file too (e.g. `"range_test.png"`).
            **kwargs: More options of `plot_loss` (`suggestions`, `raw`, `title`).

        Returns:
            The matplotlib figure.
        """
        from lr_lessons.tools.range_test.plot import plot_loss

        return plot_loss({label: self}, ax=ax, path=path, **kwargs)


class RangeTestFileError(InputError):
    """A file that should hold a range test's result does not (missing, truncated, or
    another kind of file). A cache can catch it and recompute."""


@contextmanager
def _reading(path: str | os.PathLike, what: str) -> Iterator[dict[str, np.ndarray]]:
    """The arrays of the `.npz` at `path`; any failure to read them as `what` becomes a
    `RangeTestFileError` naming the file."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise RangeTestFileError(f"{os.fspath(path)!r} does not exist: no {what} to read") from None
    except Exception as err:
        raise RangeTestFileError(
            f"{os.fspath(path)!r} cannot be read as {what} (truncated or not an .npz: "
            f"{type(err).__name__}: {err}); delete it and run the range test again"
        ) from None
    try:
        yield arrays
    except RangeTestFileError:
        raise
    except Exception as err:
        raise RangeTestFileError(
            f"{os.fspath(path)!r} is not {what} ({type(err).__name__}: {err}; is it a "
            "study's results or another kind of file?); delete it and run the range test again"
        ) from None


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write `arrays` to `path` as a compressed `.npz`, atomically (`files.write_npz`).

    Args:
        path: The `.npz` file to write.
        arrays: Name -> array.

    Returns:
        `Path(path)`.
    """
    return write_npz(path, arrays)


@dataclass(frozen=True)
class RuleSummary:
    """One rule's suggestions over the seeds of a `RangeTestRepeats`.

    Attributes:
        name: The rule.
        values: Each seed's suggested rate, in seed order.
        median: The median of `values` (with an odd number of seeds, one seed's own
            suggestion; a geometric mean could be a rate no seed suggested).
        low: The smallest rate.
        high: The largest rate.
        reliable: For each seed, whether its suggestion is reliable.

    Example:

    ```python
    from lr_lessons.tools.range_test import RuleSummary

    # usually from RangeTestRepeats.rule_summary("valley")
    summary = RuleSummary("valley", (1e-3, 2e-3, 4e-3), 2e-3, 1e-3, 4e-3, (True, True, True))
    print(summary, summary.ratio, summary.disagree)  # 4x apart: the seeds disagree
    ```
    """

    name: str
    values: tuple[float, ...]
    median: float
    low: float
    high: float
    reliable: tuple[bool, ...]

    @property
    def ratio(self) -> float:
        """`high / low`: how far the seeds disagree (1 when they agree)."""
        return self.high / self.low

    @property
    def disagree(self) -> bool:
        """True when the seeds' rates differ by more than `DISAGREE_FACTOR` (3x)."""
        return self.ratio > DISAGREE_FACTOR

    def __str__(self) -> str:
        text = f"{self.name}: median {self.median:.3g} [{self.low:.3g}, {self.high:.3g}]"
        if self.disagree:
            text += f" (seeds disagree: {self.ratio:.1f}x)"
        if not all(self.reliable):
            text += f" ({self.reliable.count(False)} of {len(self.reliable)} unreliable)"
        return text


@dataclass
class RangeTestRepeats:
    """The same range test from several seeds: a mean curve with a band, and spreads.

    Example:

    ```python
    from lr_lessons import range_test_repeats

    def build(seed):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        return model

    repeats = range_test_repeats(
        build, x_train, y_train, seeds=[0, 1, 2], start_lr=1e-4, end_lr=10, steps=200
    )
    print(repeats.rule_summary("valley"))  # the median and spread over the seeds
    ```
    """

    seeds: list[int]
    runs: list[RangeTestResult]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.seeds) != len(self.runs) or not self.runs:
            raise InputError(
                f"need one run per seed: {len(self.seeds)} seeds, {len(self.runs)} runs"
            )

    @property
    def settings(self) -> dict[str, Any]:
        """The settings of the first run (every run has the same)."""
        return self.runs[0].settings

    def curves(self, kind: str = "smoothed") -> tuple[np.ndarray, np.ndarray]:
        """`(lrs, values)`: values of shape (seeds, points) over the points all runs reached.

        Every run follows the same ramp, so point `k` has the same rate in each; the
        curves are cut where the first run stopped.

        Args:
            kind: `"smoothed"`, `"raw"` or `"delta"` (the loss change).

        Returns:
            The rates and the values of every run.
        """
        n = min(len(r) for r in self.runs)
        if kind == "smoothed":
            rows = [r.smoothed[:n] for r in self.runs]
        elif kind == "raw":
            rows = [r.losses[:n] for r in self.runs]
        elif kind == "delta":
            rows = [r.loss_delta()[:n] for r in self.runs]
        else:
            raise InputError(f"unknown curve kind {kind!r}; choose smoothed, raw or delta")
        return self.runs[0].lrs[:n], np.vstack(rows)

    def mean_curve(
        self, kind: str = "smoothed"
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """`(lrs, mean, low, high)` over seeds, low/high the min and max."""
        lrs, values = self.curves(kind)
        with np.errstate(all="ignore"):
            return lrs, values.mean(0), values.min(0), values.max(0)

    def suggestion_spread(self, name: str) -> np.ndarray:
        """Each seed's suggested rate for rule `name`."""
        return np.array([r.suggestion(name).lr for r in self.runs])

    def rule_summary(self, name: str) -> RuleSummary:
        """Rule `name` over the seeds: median, spread, reliability, disagreement."""
        sugg = [r.suggestion(name) for r in self.runs]
        values = np.array([s.lr for s in sugg])
        return RuleSummary(
            name,
            tuple(float(v) for v in values),
            float(np.median(values)),
            float(values.min()),
            float(values.max()),
            tuple(s.reliable for s in sugg),
        )

    def rule_summaries(self, names: Sequence[str] = SUGGESTIONS) -> dict[str, RuleSummary]:
        """`rule_summary` of every rule, by name."""
        return {name: self.rule_summary(name) for name in check_names(names)}

    def suggestion_summary(self, name: str) -> tuple[float, float, float]:
        """`(median, min, max)` of the rule's rate over seeds."""
        s = self.rule_summary(name)
        return s.median, s.low, s.high

    def suggestion(self, name: str = "valley") -> Suggestion:
        """The rule applied to the seed-mean smoothed curve (loss marked on that curve)."""
        lrs, mean, _, _ = self.mean_curve()
        s = self.settings
        return suggest(
            name,
            lrs,
            mean,
            s.get("skip_start", 0.1),
            s.get("skip_end", 5),
            chance=s.get("chance_loss"),
            beta=s.get("beta", 0.98),
        )

    def min_loss(self) -> np.ndarray:
        """Each seed's lowest smoothed loss."""
        return np.array([np.min(r.smoothed) for r in self.runs])

    def save(self, path: str | os.PathLike) -> Path:
        """Write every run and the metadata to one `.npz` atomically."""
        arrays: dict[str, np.ndarray] = {
            "repeats": np.array(json.dumps({"seeds": self.seeds, "meta": self.meta}, default=str))
        }
        for i, run in enumerate(self.runs):
            arrays.update(run.to_arrays(prefix=f"run{i}_"))
        return save_npz(path, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> RangeTestRepeats:
        """Read a file written by `save`.

        Args:
            path: The `.npz` file.

        Returns:
            The repeats.

        Raises:
            RangeTestFileError: If the file is missing, truncated, or not a
                `RangeTestRepeats` file.
        """
        with _reading(path, "a RangeTestRepeats") as arrays:
            head = json.loads(str(arrays["repeats"]))
            seeds = list(head["seeds"])
            runs = [RangeTestResult.from_arrays(arrays, f"run{i}_") for i in range(len(seeds))]
            return cls(seeds, runs, head["meta"])

    def plot(
        self,
        ax: Any = None,
        label: str = "range test",
        *,
        path: str | os.PathLike | None = None,
        **kwargs: Any,
    ) -> Any:
        """Mean loss against rate with the min-max band and each rule's spread.

        Args:
            ax: Axes to draw into (default: a new figure).
            label: The curve's legend label.
            path: Save the figure to this file too.
            **kwargs: More options of `lr_lessons.tools.range_test.plot.plot_loss`.

        Returns:
            The matplotlib figure.
        """
        from lr_lessons.tools.range_test.plot import plot_loss

        return plot_loss({label: self}, ax=ax, path=path, **kwargs)
