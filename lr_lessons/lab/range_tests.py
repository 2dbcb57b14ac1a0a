"""Range tests as data: a `RangeTestSpec` says what to test, `run_range_test` runs and caches it.

A spec holds everything that shapes a range test's numbers: the model builder, the
optimizer and its options, the loss and metrics, the ramp (start and end rate, steps
or epochs, linear or exponential, smoothing, when to stop), the batch size, the seeds,
the problem and how the test runs (`range_test` in a loop, or the `LRFinder` callback
inside an ordinary `model.fit`). `run_range_test(spec, data)` trains it from every
seed and keeps the result in the one cache (`lr_lessons.lab.cache`) exactly as
`run_study` keeps a study's: keyed by the spec, the builder's own source, the range
test's code, a fingerprint of the data's contents and the versions; never overwriting a
saved result of another definition; checked writable before any work; saved atomically.

    spec = RangeTestSpec("06_range_test/variant1_sgd", models.mnist_convnet,
                         optimizer="sgd", batch_size=250, start_lr=1e-4, end_lr=1.0,
                         steps=1200, seeds=(0, 1, 2))
    repeats = run_range_test(spec, data)    # a RangeTestRepeats, one run per seed
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from lr_lessons import checks, config
from lr_lessons.checks import InputError
from lr_lessons.lab import cache as results_cache
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.data import load as load_data
from lr_lessons.lab.studies import OPTIMIZERS, PROBLEMS, _check_options
from lr_lessons.tools.range_test import (
    LRFinder,
    RangeTestFileError,
    RangeTestRepeats,
    range_test_repeats,
)

MODES = ("exponential", "linear")


@dataclass(frozen=True)
class RangeTestSpec:
    """One range test as data: what is trained, on what ramp, from which seeds.

    Args:
        name: The result's name below the results folder, e.g.
            `"06_range_test/variant1_sgd"` (see `lr_lessons.lab.cache.result_path`).
        model: Builds a new, uncompiled model; called with no argument after Keras is
            seeded, so the seed fixes the initial weights. Its source is part of the
            cache key: editing a layer makes the saved result stale.
        optimizer: A key of `lr_lessons.lab.studies.OPTIMIZERS` (`"sgd"`, `"adam"`...);
            the optimizer starts from Keras' defaults, only its rate is driven.
        options: Further keyword arguments of the optimizer (e.g. `{"momentum": 0.9}`).
        loss: The Keras loss.
        metrics: The Keras metrics.
        batch_size: Images per batch.
        start_lr: The ramp's first rate.
        end_lr: The ramp's last rate.
        steps: Updates on the ramp (`range_test`); None with `callback`.
        epochs: With `callback`: the epochs of the `model.fit` call the ramp spans.
        mode: `"exponential"` or `"linear"`.
        beta: The smoothing of the loss (a bias-corrected moving average).
        diverge: Stop when the smoothed loss passes this multiple of its lowest value
            (None: never).
        validate_every: Score the model on held-out data every this many updates.
        validation_images: How many of the test images that held-out data is.
        seeds: The seeds, one run each.
        problem: `"mnist"` or `"blobs"`: the data loaded when none is given.
        callback: Run the `LRFinder` callback inside `model.fit(epochs=epochs)` (the
            way a reader adds it to their own training), and check that every variable
            of the model and its optimizer is back to the same bits afterwards
            (`meta["restored_bitwise"]`); else `range_test` for `steps` updates.
    """

    name: str
    model: Callable[[], keras.Model]
    optimizer: str = "sgd"
    options: Mapping[str, Any] = field(default_factory=dict)
    loss: str = "sparse_categorical_crossentropy"
    metrics: tuple[str, ...] = ("accuracy",)
    batch_size: int = 32
    start_lr: float = 1e-7
    end_lr: float = 10.0
    steps: int | None = 100
    epochs: int | None = None
    mode: str = "exponential"
    beta: float = 0.98
    diverge: float | None = 4.0
    validate_every: int | None = None
    validation_images: int | None = None
    seeds: tuple[int, ...] = (0,)
    problem: str = "mnist"
    callback: bool = False

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        results_cache.result_path(self.name)  # a safe name inside the results folder
        if not callable(self.model) or isinstance(self.model, keras.Model):
            raise InputError(
                f"range test {self.name!r}: model must be a function that builds a new model "
                f"(e.g. lr_lessons.lab.models.mnist_convnet), got {self.model!r}"
            )
        checks.one_of(self.optimizer, OPTIMIZERS, "optimizer")
        set_(self, "options", _check_options(self.name, self.optimizer, self.options))
        if not isinstance(self.loss, str):
            raise InputError(f"range test {self.name!r}: loss must be a Keras loss name")
        if isinstance(self.metrics, str) or not all(isinstance(m, str) for m in self.metrics):
            raise InputError(
                f"range test {self.name!r}: metrics must be a list of Keras metric names, "
                f"got {self.metrics!r}"
            )
        set_(self, "metrics", tuple(self.metrics))
        set_(self, "batch_size", checks.whole_number(self.batch_size, "batch_size", minimum=1))
        set_(self, "start_lr", checks.positive_number(self.start_lr, "start_lr"))
        set_(self, "end_lr", checks.number_in(self.end_lr, "end_lr", above=self.start_lr))
        checks.one_of(self.mode, MODES, "mode")
        set_(self, "beta", checks.probability(self.beta, "beta"))
        if self.diverge is not None:
            set_(self, "diverge", checks.number_in(self.diverge, "diverge", above=1))
        set_(self, "callback", checks.boolean(self.callback, "callback"))
        if self.callback:
            if self.epochs is None:
                raise InputError(
                    f"range test {self.name!r}: callback=True runs model.fit: give its epochs"
                )
            set_(self, "epochs", checks.whole_number(self.epochs, "epochs", minimum=1))
            set_(self, "steps", None)
        else:
            if self.steps is None:
                raise InputError(f"range test {self.name!r}: give the ramp's steps")
            set_(self, "steps", checks.whole_number(self.steps, "steps", minimum=1))
        for what in ("validate_every", "validation_images"):
            value = getattr(self, what)
            if value is not None:
                set_(self, what, checks.whole_number(value, what, minimum=1))
        if (self.validate_every is None) != (self.validation_images is None):
            raise InputError(
                f"range test {self.name!r}: give both validate_every and validation_images "
                "(held-out scoring) or neither"
            )
        if isinstance(self.seeds, (str, bytes)) or not isinstance(self.seeds, Sequence):
            raise InputError(f"seeds must be a list of whole numbers, got {self.seeds!r}")
        seeds = tuple(checks.whole_number(s, "each seed", maximum=2**32 - 1) for s in self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise InputError(f"seeds must be distinct whole numbers, at least one: {self.seeds}")
        set_(self, "seeds", seeds)
        checks.one_of(self.problem, PROBLEMS, "problem")

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON values (the model by its name; its code counts apart)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "model"}
        out["model"] = getattr(self.model, "__qualname__", repr(self.model))
        out["options"] = dict(self.options)
        out["metrics"] = list(self.metrics)
        out["seeds"] = list(self.seeds)
        return out

    def compiled_model(self) -> keras.Model:
        """A new model from `model`, compiled with the spec's optimizer, loss and metrics."""
        built = self.model()
        if not isinstance(built, keras.Model):
            raise InputError(
                f"range test {self.name!r}: model() must return a keras.Model, got "
                f"{type(built).__name__}"
            )
        built.compile(
            optimizer=OPTIMIZERS[self.optimizer](**self.options),
            loss=self.loss,
            metrics=list(self.metrics),
        )
        return built


def train_range_test(spec: RangeTestSpec, data: Dataset) -> RangeTestRepeats:
    """Run `spec` on `data` from each of its seeds (no cache; see `run_range_test`).

    Args:
        spec: The range test.
        data: The data (training split; the first `validation_images` test images are
            the held-out data).

    Returns:
        One run per seed.
    """
    meta = {"optimizer": spec.optimizer, "data_source": data.source}
    if spec.callback:
        return _callback_runs(spec, data, meta)
    held_out = {}
    if spec.validate_every is not None:
        n = min(spec.validation_images, len(data.x_test))
        held_out = {
            "validation_data": (data.x_test[:n], data.y_test[:n]),
            "validate_every": spec.validate_every,
        }
    return range_test_repeats(
        lambda seed: spec.compiled_model(),
        data.x_train,
        data.y_train,
        seeds=list(spec.seeds),
        batch_size=spec.batch_size,
        start_lr=spec.start_lr,
        end_lr=spec.end_lr,
        steps=spec.steps,
        mode=spec.mode,
        beta=spec.beta,
        diverge=spec.diverge,
        meta=meta,
        **held_out,
    )


def _callback_runs(spec: RangeTestSpec, data: Dataset, meta: dict) -> RangeTestRepeats:
    runs = []
    for seed in spec.seeds:
        keras.utils.set_random_seed(seed)
        model = spec.compiled_model()
        before = [v.numpy().copy() for v in model.variables + model.optimizer.variables]
        finder = LRFinder(
            start_lr=spec.start_lr,
            end_lr=spec.end_lr,
            mode=spec.mode,
            beta=spec.beta,
            diverge=spec.diverge,
        )
        model.fit(
            data.x_train,
            data.y_train,
            batch_size=spec.batch_size,
            epochs=spec.epochs,
            callbacks=[finder],
            verbose=0,
        )
        after = model.variables + model.optimizer.variables
        finder.result.meta.update(meta, seed=seed)
        # every variable that existed before `fit` (the optimizer's slots are made during
        # its first update, after these) is back to the same bits
        finder.result.meta["restored_bitwise"] = all(
            np.array_equal(a, v.numpy()) for a, v in zip(before, after)
        )
        runs.append(finder.result)
    return RangeTestRepeats(list(spec.seeds), runs, dict(meta))


def run_range_test(
    spec: RangeTestSpec, data: Dataset | None = None, *, cache: bool = True
) -> RangeTestRepeats:
    """Run the range test `spec` from each of its seeds, or read its current saved result.

    Cached and protected as `run_study` caches a study (`lr_lessons.lab.cache`): the
    key covers the spec, the model builder's source, the range test's code, the data's
    source and a fingerprint of its contents, quick mode and the versions.

    Args:
        spec: The range test.
        data: The data (default: the spec's problem, loaded).
        cache: Read a current saved result instead of training, and save a new one.

    Returns:
        One run per seed; `meta` says how and when it was made.
    """
    if not isinstance(spec, RangeTestSpec):
        raise InputError(f"spec must be a RangeTestSpec, got {type(spec).__name__}")
    config.validate()
    cache = checks.boolean(cache, "cache")
    data = data if data is not None else load_data(spec.problem)
    if not isinstance(data, Dataset):
        raise InputError(f"data must be a lr_lessons Dataset, got {type(data).__name__}")
    definition = {
        "range_test": spec.to_dict(),
        "data": data.source,
        "data_fingerprint": data.fingerprint,
    }
    code = (
        results_cache.code_fingerprint("range_test")
        + results_cache.code_fingerprint("fit")
        + results_cache.function_code(spec.model)
    )
    kind = results_cache.Kind(RangeTestRepeats.load, corrupt=_corrupt_range_test_errors())

    def compute() -> RangeTestRepeats:
        repeats = train_range_test(spec, data)
        repeats.meta.update(range_test=spec.to_dict(), data_fingerprint=data.fingerprint)
        return repeats

    return results_cache.cached_call(
        spec.name,
        definition,
        compute,
        kind,
        code=code,
        cache=cache,
        what=f"range test {spec.name!r}",
    )


def _corrupt_range_test_errors() -> tuple[type[BaseException], ...]:
    """What `RangeTestRepeats.load` raises for a file that is not a whole result (a
    truncated file, a study's file): only these count as corrupt; any other error is
    real and propagates."""
    return (RangeTestFileError,)
