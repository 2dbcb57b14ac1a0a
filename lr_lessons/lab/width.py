"""Chapter 11's studies: learning-rate sweeps across widths, standard parametrization vs muP.

The network is an MNIST MLP, `784 -> width -> width -> 10`, ReLU, softmax, in the
standard parametrization (SP: Keras' defaults, `glorot_uniform` kernels, zero biases,
one global rate) or in muP relative to `BASE_WIDTH` (`lr_lessons.tools.mup`).

Every width is a `Study` of the project's stacked engine (`lr_lessons.lab.runner.
run_studies`: all rates and seeds of a width in one program, results cached like every
study). The engine trains a `DenseSpec`; muP needs two things a `DenseSpec` does not
say, so `MupSpec` adds them: a rate multiplier per bias (muP gives a layer's kernel
and bias different rates) and a factor on each kernel's initial values (muP's initial
scales). `spec` reads every number from `lr_lessons.tools.mup` (never restated here):
the tool's `Readout` divides its input by `m = width / base width`; the spec puts that
`1/m` after the output layer instead (`output_multiplier`), which scales the output
bias too, so that bias's multiplier is the tool's times `m` (Adam: a step of about the
rate whatever the gradient's size) or `m**2` (SGD: the gradient is `1/m` as large as
well). Both forms compute the same network at every step (tests/test_width.py trains
both and compares).

The coordinate check (`coord_check`) is the test of Yang et al. (2022) and of `mup`,
run with Keras and the tool itself: the mean absolute value of every layer's output
after each of a few Adam steps, at every width; flat in width under muP, growing
under SP.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lr_lessons.checks import InputError
from lr_lessons.files import read_json, write_npz
from lr_lessons.lab.models import DenseSpec
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools import mup

PARAMETRIZATIONS = ("sp", "mup")
LAYERS = ("input layer", "hidden layer", "output (logits)")
INPUTS, CLASSES = 784, 10
BASE_WIDTH = 64  # muP's base width: SP and muP are the same network here
WIDTHS = (64, 128, 256, 512)  # the sweep's widths
RATES = {
    "adam": [2.0**k for k in range(-13, -4)],  # 2^-13 ... 2^-5, a factor 2 apart
    "sgd": [2.0**k for k in range(-5, 1)],  # 2^-5 ... 1
}
SGD_WIDTHS = (64, 512)  # SGD's sweep: the narrowest and the widest only (time)
EPOCHS = 1
BATCH_SIZE = 64
COORD_WIDTHS = (64, 128, 256, 512, 1024, 2048)
COORD_RATE = 2.0**-7
COORD_STEPS = 4
COORD_BATCH = 128


def _per_layer(values: Any, n: int, what: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise InputError(
            f"MupSpec {what} must be a sequence of {n} numbers, got {values!r}"
        ) from None
    if len(values) != n or not all(np.isfinite(v) and v > 0 for v in values):
        raise InputError(
            f"MupSpec {what} needs {n} finite positive numbers (one per Dense layer), "
            f"got {values!r}"
        )
    return values


@dataclass(frozen=True)
class MupSpec(DenseSpec):
    """A `DenseSpec` with muP's two extras: per-bias rates and per-kernel initial scales.

    Args:
        bias_lr_multipliers: Per Dense layer, its bias trains at the setting's rate times
            this (the kernel at `lr_multipliers`'s; both required).
        init_scales: Per Dense layer, a factor on the kernel's initial values as
            `kernel_initializer` draws them (1 for none).
        **kwargs: `DenseSpec`'s fields.

    Raises:
        InputError: Naming the bad field and value.
    """

    bias_lr_multipliers: tuple[float, ...] | None = None
    init_scales: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        n = self.n_layers
        if self.lr_multipliers is None:
            object.__setattr__(self, "lr_multipliers", (1.0,) * n)
        bias = (1.0,) * n if self.bias_lr_multipliers is None else self.bias_lr_multipliers
        scales = (1.0,) * n if self.init_scales is None else self.init_scales
        object.__setattr__(self, "bias_lr_multipliers", _per_layer(bias, n, "bias_lr_multipliers"))
        object.__setattr__(self, "init_scales", _per_layer(scales, n, "init_scales"))

    def to_dict(self) -> dict[str, Any]:
        """`DenseSpec.to_dict` plus the bias multipliers, the initial scales and a hash of
        this class's code (the runner's key covers the engine's code, not this module's:
        an edit here makes a new definition, trained anew, never a stale result read)."""
        from lr_lessons.lab.cache import function_code

        return {
            **super().to_dict(),
            "bias_lr_multipliers": list(self.bias_lr_multipliers),
            "init_scales": list(self.init_scales),
            "code": function_code(type(self)),
        }

    def rate_multipliers(self) -> list[float]:
        """One rate multiplier per trainable weight tensor: kernel, bias of each layer."""
        return [m for pair in zip(self.lr_multipliers, self.bias_lr_multipliers) for m in pair]

    def build(self) -> keras.Sequential:
        """`DenseSpec.build`, then each kernel multiplied by its initial scale."""
        model = super().build()
        dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
        for layer, scale in zip(dense, self.init_scales):
            if scale != 1.0:
                layer.kernel.assign(keras.ops.multiply(layer.kernel, np.float32(scale)))
        return model


def keras_mlp(
    width: int, parametrization: str = "sp", output_activation: str = "softmax"
) -> keras.Sequential:
    """The chapter's MLP in Keras: `784 -> width -> width -> 10`, ReLU.

    Args:
        width: Units of each hidden layer.
        parametrization: `"sp"` (a `Dense` output layer) or `"mup"` (a `mup.Readout`,
            to be set with `mup.set_base`).
        output_activation: The output layer's activation (`"linear"`: logits).

    Returns:
        The built model (fixed layer names, so muP's multipliers match across widths).
    """
    head = mup.Readout if parametrization == "mup" else keras.layers.Dense
    return keras.Sequential(
        [
            keras.Input((INPUTS,)),
            keras.layers.Dense(width, activation="relu", name="first"),
            keras.layers.Dense(width, activation="relu", name="second"),
            head(CLASSES, activation=output_activation, name="readout"),
        ],
        name=f"mlp_{width}",
    )


def _base_shapes(base_width: int) -> list[tuple[int, ...]]:
    b = base_width
    return [(INPUTS, b), (b,), (b, b), (b,), (b, CLASSES), (CLASSES,)]


def spec(width: int, parametrization: str, optimizer: str = "adam", base_width: int = BASE_WIDTH):
    """The stacked engine's description of the chapter's MLP at `width`.

    Args:
        width: Hidden units.
        parametrization: `"sp"` or `"mup"`.
        optimizer: `"adam"` or `"sgd"` (muP's rates differ; SP ignores it).
        base_width: muP's base width.

    Returns:
        A `DenseSpec` (SP) or a `MupSpec` whose rates and initial scales are
        `lr_lessons.tools.mup`'s for this width and base.
    """
    if parametrization not in PARAMETRIZATIONS:
        raise InputError(f"parametrization {parametrization!r}: choose 'sp' or 'mup'")
    name = f"mlp_{width}_{parametrization}"
    if parametrization == "sp":
        return DenseSpec(INPUTS, (width, width), CLASSES, name=name)
    model = keras_mlp(width, "mup")
    base = _base_shapes(base_width)
    found = mup.scalings(model, base)
    rates = mup.lr_multipliers(model, base, optimizer)
    scales = mup.init_factors(model, base)
    m = model.get_layer("readout")
    width_mult = next(s.fan_in_mult for s in found if s.path == "readout/kernel") or 1.0
    out = m.output_mult / width_mult
    # The spec scales the output bias by `out` too: its rate makes up for it.
    bias_fix = 1.0 / out if optimizer == "adam" else 1.0 / out**2
    layers = ("first", "second", "readout")
    return MupSpec(
        INPUTS,
        (width, width),
        CLASSES,
        name=f"{name}_{optimizer}",
        lr_multipliers=tuple(rates[f"{k}/kernel"] for k in layers),
        bias_lr_multipliers=tuple(
            rates[f"{k}/bias"] * (bias_fix if k == "readout" else 1.0) for k in layers
        ),
        init_scales=tuple(scales[f"{k}/kernel"] for k in layers),
        output_multiplier=out,
    )


def studies(
    parametrization: str,
    optimizer: str = "adam",
    widths: tuple[int, ...] = WIDTHS,
    rates: list[float] | None = None,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
) -> list[Study]:
    """One study per width: every rate of the grid, for the runner.

    Args:
        parametrization: `"sp"` or `"mup"`.
        optimizer: `"adam"` or `"sgd"`.
        widths: Hidden widths (muP relative to `BASE_WIDTH`).
        rates: The global learning rates (default `RATES[optimizer]`).
        epochs: Epochs per run.
        batch_size: Minibatch size.

    Returns:
        The studies, named `width_<parametrization>_<optimizer>_<width>`.
    """
    rates = RATES[optimizer] if rates is None else rates
    settings = tuple(Setting(f"lr=2^{np.log2(r):g}", optimizer, r) for r in rates)
    return [
        Study(
            f"width_{parametrization}_{optimizer}_{w}",
            f"MNIST MLP 784-{w}-{w}-10, {parametrization}, {optimizer}",
            settings=settings,
            epochs=epochs,
            batch_size=batch_size,
            problem="mnist",
            model=spec(w, parametrization, optimizer),
        )
        for w in widths
    ]


@dataclass
class Sweep:
    """Per-epoch metrics of every (parametrization, width, rate, seed), one optimizer.

    Attributes:
        metrics: `{metric: array (parametrizations, widths, rates, seeds, epochs)}`,
            the runner's metrics (`loss`, `val_loss`, `accuracy`, `val_accuracy`).
        widths: The hidden widths.
        rates: The global learning rates.
        seeds: The seeds.
        optimizer: `"adam"` or `"sgd"`.
        meta: Data source, epochs, batch size, engine, wall time.
        results: The runner's `Results` it was stacked from (SP's widths, then muP's),
            for figure footers (`lr_lessons.views.plotting.caption`).
    """

    metrics: dict[str, np.ndarray]
    widths: list[int]
    rates: list[float]
    seeds: list[int]
    optimizer: str = "adam"
    meta: dict[str, Any] = field(default_factory=dict)
    results: list[Any] = field(default_factory=list, repr=False)

    def final(self, parametrization: str) -> np.ndarray:
        """The training loss of the last epoch, `(widths, rates, seeds)`; diverged: `inf`.

        Args:
            parametrization: `"sp"` or `"mup"`.

        Returns:
            The loss `model.fit` reports for the last epoch: the mean of its minibatch
            losses (the measure of Yang et al. 2022's transfer plots is training loss).
        """
        loss = self.metrics["loss"][PARAMETRIZATIONS.index(parametrization), ..., -1]
        return np.where(np.isfinite(loss), loss, np.inf)

    def best_rate(self, parametrization: str) -> np.ndarray:
        """Per width and seed, the rate with the lowest final training loss, `(widths, seeds)`."""
        return np.asarray(self.rates)[np.argmin(self.final(parametrization), axis=1)]

    @classmethod
    def from_results(cls, results: dict[str, list], widths, rates, optimizer) -> Sweep:
        """Stack the runner's `Results` (`{parametrization: one per width}`)."""
        first = results[PARAMETRIZATIONS[0]][0]
        metrics = {
            m: np.stack([np.stack([r.metrics[m] for r in results[p]]) for p in PARAMETRIZATIONS])
            for m in ("loss", "val_loss", "accuracy", "val_accuracy")
        }
        every = [r for p in PARAMETRIZATIONS for r in results[p]]
        meta = {
            "data_source": first.meta.get("data_source"),
            "engine": first.meta.get("engine"),
            "epochs": first.epochs,
            "batch_size": every[0].meta.get("study", {}).get("batch_size"),
            "wall_time_s": round(sum(float(r.meta.get("wall_time_s", 0)) for r in every), 1),
        }
        seeds = list(first.seeds)
        return cls(metrics, list(widths), list(rates), seeds, optimizer, meta, every)


def width_sweep(
    seeds: list[int],
    widths: tuple[int, ...] = WIDTHS,
    optimizer: str = "adam",
    rates: list[float] | None = None,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    data: Any = None,
) -> Sweep:
    """The chapter's sweep: SP and muP at every width and rate, through the runner.

    Args:
        seeds: Seeds (initial weights and batch order).
        widths: Hidden widths.
        optimizer: `"adam"` or `"sgd"`.
        rates: Global rates (default `RATES[optimizer]`).
        epochs: Epochs per run.
        batch_size: Minibatch size.
        data: The data set (default: MNIST as `load_mnist` gives it).

    Returns:
        The `Sweep` (each width's study cached in the results folder as usual).
    """
    from lr_lessons.lab.runner import run_studies

    rates = RATES[optimizer] if rates is None else rates
    every = {p: studies(p, optimizer, widths, rates, epochs, batch_size) for p in PARAMETRIZATIONS}
    flat = [s for p in PARAMETRIZATIONS for s in every[p]]
    got = run_studies(flat, seeds, data=data, progress=False)  # LR_LESSONS_ENGINE's engine
    n = len(widths)
    results = {p: got[i * n : (i + 1) * n] for i, p in enumerate(PARAMETRIZATIONS)}
    return Sweep.from_results(results, widths, rates, optimizer)


@dataclass
class CoordCheck:
    """Mean |output| of every layer, `(parametrizations, widths, seeds, layers, steps + 1)`.

    Attributes:
        size: The array; step 0 is at initialisation.
        widths: The widths.
        seeds: The seeds.
        meta: Settings and data source.
    """

    size: np.ndarray
    widths: list[int]
    seeds: list[int]
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the array and the metadata as one `.npz`, atomically."""
        header = {"widths": self.widths, "seeds": self.seeds, "meta": self.meta}
        return write_npz(path, {"size": self.size}, header=header)

    @classmethod
    def load(cls, path: str | os.PathLike) -> CoordCheck:
        """Read a file written by `save`."""
        with np.load(path, allow_pickle=False) as f:
            h = read_json(f, "header")
            return cls(f["size"], h["widths"], h["seeds"], h["meta"])

    def growth(self, parametrization: str, step: int = -1) -> np.ndarray:
        """Per seed and layer, widest over narrowest width's mean |output|, `(seeds, layers)`."""
        size = self.size[PARAMETRIZATIONS.index(parametrization), :, :, :, step]
        return size[-1] / size[0]

    def spread(self, parametrization: str, step: int = -1) -> np.ndarray:
        """Per seed and layer, largest over smallest mean |output| across widths."""
        size = self.size[PARAMETRIZATIONS.index(parametrization), :, :, :, step]
        return size.max(axis=0) / size.min(axis=0)


def coord_check(
    data: Any,
    widths: list[int],
    seeds: list[int],
    learning_rate: float,
    steps: int = COORD_STEPS,
    batch_size: int = COORD_BATCH,
) -> CoordCheck:
    """The coordinate check with Adam: each layer's mean |output| over a few steps, per width.

    With Keras and `lr_lessons.tools.mup` themselves: for each seed and width, the
    seeded `keras_mlp` (SP, or muP relative to `widths[0]` through `mup.set_base`)
    takes `steps` steps of `keras.optimizers.Adam` (SP) or `mup.MuAdam` on the same
    minibatches, and before and after each step every layer's output on a fixed batch
    is measured (the output layer's logits: the check's model has no softmax).

    Args:
        data: A `Dataset` (images are flattened, labels one-hot encoded).
        widths: Hidden widths; the first is muP's base width.
        seeds: Seeds of the initial weights and the minibatches.
        learning_rate: Adam's global rate.
        steps: Steps to take.
        batch_size: Minibatch size.

    Returns:
        The `CoordCheck`.
    """
    import tensorflow as tf

    from lr_lessons.lab.models import dense_data

    data = dense_data(DenseSpec(INPUTS, (widths[0],), CLASSES), data)
    x, y = data.x_train, data.y_train
    probe = x[:batch_size]
    size = np.zeros((len(PARAMETRIZATIONS), len(widths), len(seeds), len(LAYERS), steps + 1))
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    base = _base_shapes(widths[0])
    for p, par in enumerate(PARAMETRIZATIONS):
        for w, width in enumerate(widths):
            for s, seed in enumerate(seeds):
                keras.utils.set_random_seed(seed)
                model = keras_mlp(width, par, output_activation="linear")
                if par == "sp":
                    opt = keras.optimizers.Adam(learning_rate)
                else:
                    mup.set_base(model, base)
                    opt = mup.MuAdam(
                        learning_rate, multipliers=mup.lr_multipliers(model, base, "adam")
                    )
                first, second, head = model.layers
                batches = np.random.default_rng(seed).permutation(len(x))

                for t in range(steps + 1):
                    h1 = first(probe)
                    h2 = second(h1)
                    logits = head(h2)
                    size[p, w, s, :, t] = [
                        float(tf.reduce_mean(tf.abs(o))) for o in (h1, h2, logits)
                    ]
                    if t == steps:
                        break
                    idx = batches[t * batch_size : (t + 1) * batch_size]
                    with tf.GradientTape() as tape:
                        loss = loss_fn(y[idx], model(x[idx]))
                    grads = tape.gradient(loss, model.trainable_variables)
                    opt.apply_gradients(zip(grads, model.trainable_variables))
    return CoordCheck(size, list(widths), list(seeds))


def coordinate_check(
    seeds: list[int],
    widths: tuple[int, ...] = COORD_WIDTHS,
    learning_rate: float = COORD_RATE,
    steps: int = COORD_STEPS,
    name: str = "11_width/coord_check",
    data: Any = None,
) -> CoordCheck:
    """The chapter's coordinate check on MNIST, cached in the results folder.

    Args:
        seeds: Seeds.
        widths: Hidden widths (the first is muP's base width).
        learning_rate: Adam's global rate.
        steps: Adam steps.
        name: The result's name below the results folder.
        data: The data set (default: MNIST as `load_mnist` gives it).

    Returns:
        The `CoordCheck`.
    """
    import hashlib

    from lr_lessons.lab import cache
    from lr_lessons.lab.data import load_mnist

    data = load_mnist() if data is None else data
    here = Path(__file__)
    text = "".join(
        cache.code_text(p.read_text()) for p in (here, here.parents[1] / "tools" / "mup.py")
    )
    # what the check is (its definition) and the code that makes it (part of the key:
    # an edit of this module or of the tool recomputes it in place)
    definition = {
        "widths": list(widths),
        "seeds": list(seeds),
        "rate": learning_rate,
        "steps": steps,
        "batch_size": COORD_BATCH,
        "data": data.fingerprint,
    }
    code = cache.code_fingerprint() + hashlib.sha256(text.encode()).hexdigest()[:16]

    def compute() -> CoordCheck:
        out = coord_check(data, list(widths), list(seeds), learning_rate, steps)
        out.meta.update(
            data_source=data.source, rate=learning_rate, steps=steps, batch_size=COORD_BATCH
        )
        return out

    kind = cache.Kind(CoordCheck.load, corrupt=(ValueError, KeyError, TypeError))
    return cache.cached_call(name, definition, compute, kind, code=code, mark=True)
