"""Chapter 11's studies: learning-rate sweeps across widths, standard parametrization vs muP.

The network is a ReLU MLP with two hidden layers of `width` units (`mlp`), in the
standard parametrization (SP: Keras' defaults, `glorot_uniform` kernels, zero biases,
one global rate) or in muP relative to the narrowest width (`lr_lessons.tools.mup`:
`set_base`, a `Readout`, and its per-variable rate multipliers).

A sweep trains every rate x seed x parametrization of one width at once: the weights of
all runs are stacked on a leading axis and one `tf.function` runs every step (the
stacked idea of `lr_lessons.lab.engines.stacked`, restated compactly for the width
grid). Initial weights are exactly Keras': seed `k` is `keras.utils.set_random_seed(k)`
then `mlp(width, ...)` (then `mup.set_base` for muP), stacked; the rate multipliers and
the readout's multiplier are read from the tool, never restated. The update rules are
Keras 3's SGD and Adam (`epsilon` inside the bias correction, as Keras does it); the
per-epoch loss is the mean of the epoch's minibatch losses, as `model.fit` reports it.
`tests/test_width.py` checks a stacked run against `model.fit` with `MuAdam`/`MuSGD`.

The coordinate check (`coord_check`) is the test of Yang et al. (2022) and of `mup`:
the mean absolute value of every layer's output after each of a few steps, at every
width; flat in width under muP, growing under SP.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lr_lessons.files import read_json, write_npz
from lr_lessons.tools import mup

PARAMETRIZATIONS = ("sp", "mup")
OPTIMIZERS = ("adam", "sgd")
LAYERS = ("input layer", "hidden layer", "output (logits)")
ADAM = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}  # Keras 3's defaults


def mlp(width: int, inputs: int, outputs: int, parametrization: str = "sp") -> keras.Sequential:
    """The chapter's MLP: `inputs -> width -> width -> outputs`, ReLU, logits out.

    Args:
        width: Units of each hidden layer.
        inputs: Input features.
        outputs: Classes.
        parametrization: `"sp"` (a `Dense` output layer) or `"mup"` (a `mup.Readout`).

    Returns:
        The built Keras model (fixed layer names, so muP's rate multipliers match
        across widths and seeds).
    """
    head = mup.Readout if parametrization == "mup" else keras.layers.Dense
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(width, activation="relu", name="first"),
            keras.layers.Dense(width, activation="relu", name="second"),
            head(outputs, name="readout"),
        ],
        name=f"mlp_{width}",
    )


def built(
    width: int, base_width: int, inputs: int, outputs: int, parametrization: str, seed: int
) -> tuple[keras.Model, dict[str, float], dict[str, float], float]:
    """A seeded model in a parametrization, its rate multipliers and readout multiplier.

    Args:
        width: Hidden units.
        base_width: The muP base width.
        inputs: Input features.
        outputs: Classes.
        parametrization: `"sp"` or `"mup"`.
        seed: Seed of the initial weights (`keras.utils.set_random_seed`).

    Returns:
        `(model, adam multipliers, sgd multipliers, output multiplier)`; SP's are all 1.
    """
    keras.utils.set_random_seed(seed)
    model = mlp(width, inputs, outputs, parametrization)
    if parametrization == "sp":
        ones = {mup.variable_key(v): 1.0 for v in model.trainable_variables}
        return model, ones, dict(ones), 1.0
    base = [(inputs, base_width), (base_width,), (base_width, base_width), (base_width,)]
    base += [(base_width, outputs), (outputs,)]
    mup.set_base(model, base)
    adam = mup.lr_multipliers(model, base, "adam")
    sgd = mup.lr_multipliers(model, base, "sgd")
    return model, adam, sgd, 1.0 / model.layers[-1].width_mult


@dataclass
class Sweep:
    """Per-epoch training loss of every (parametrization, optimizer, width, rate, seed).

    Attributes:
        loss: Array `(parametrizations, optimizers, widths, rates, seeds, epochs)`:
            the mean minibatch loss of each epoch (NaN once a run diverged).
        widths: The hidden widths.
        rates: `{optimizer: rates}`, the global learning rates tried.
        seeds: The seeds.
        meta: Settings, data source, timings (what the cache needs).
    """

    loss: np.ndarray
    widths: list[int]
    rates: dict[str, list[float]]
    seeds: list[int]
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the arrays and the metadata as one `.npz`, atomically."""
        header = {"widths": self.widths, "rates": self.rates, "seeds": self.seeds}
        return write_npz(path, {"loss": self.loss}, header={**header, "meta": self.meta})

    @classmethod
    def load(cls, path: str | os.PathLike) -> Sweep:
        """Read a file written by `save`."""
        with np.load(path, allow_pickle=False) as f:
            h = read_json(f, "header")
            return cls(f["loss"], h["widths"], h["rates"], h["seeds"], h["meta"])

    def final(self, parametrization: str, optimizer: str) -> np.ndarray:
        """Final training loss, `(widths, rates, seeds)`: mean of the last tenth of epochs.

        Args:
            parametrization: `"sp"` or `"mup"`.
            optimizer: `"adam"` or `"sgd"`.

        Returns:
            The array; a run that diverged (non-finite loss) is `inf`.
        """
        loss = self.loss[PARAMETRIZATIONS.index(parametrization), OPTIMIZERS.index(optimizer)]
        tail = max(1, loss.shape[-1] // 10)
        with np.errstate(invalid="ignore"):
            out = loss[..., -tail:].mean(axis=-1)
        return np.where(np.isfinite(out), out, np.inf)

    def best_rate(self, parametrization: str, optimizer: str) -> np.ndarray:
        """Per width and seed, the rate with the lowest final training loss, `(widths, seeds)`."""
        final = self.final(parametrization, optimizer)
        return np.asarray(self.rates[optimizer])[np.argmin(final, axis=1)]


def _train_width(
    data: Any,
    width: int,
    base_width: int,
    optimizer: str,
    rates: list[float],
    seeds: list[int],
    epochs: int,
    batch_size: int,
) -> np.ndarray:
    """Every (parametrization, rate, seed) of one width and optimizer, stacked in one program.

    Returns:
        Per-epoch losses `(parametrizations, rates, seeds, epochs)`.
    """
    import tensorflow as tf

    x = np.asarray(data.x_train, np.float32).reshape(len(data.x_train), -1)
    y = np.asarray(data.y_train, np.float32)
    n, inputs, outputs = x.shape[0], x.shape[1], y.shape[1]
    runs = [(p, r, s) for p in PARAMETRIZATIONS for r in rates for s in seeds]
    weights, multipliers, out_mult = {}, {}, {}
    for p in PARAMETRIZATIONS:
        for s in seeds:
            model, adam, sgd, om = built(width, base_width, inputs, outputs, p, s)
            weights[p, s] = [v.numpy() for v in model.trainable_variables]
            keys = [mup.variable_key(v) for v in model.trainable_variables]
            chosen = adam if optimizer == "adam" else sgd
            multipliers[p] = [chosen[k] for k in keys]
            out_mult[p] = om
    variables = [
        tf.Variable(np.stack([weights[p, s][i] for p, _, s in runs]))
        for i in range(len(weights[runs[0][0], seeds[0]]))
    ]
    lr = np.array([[r * m for m in multipliers[p]] for p, r, _ in runs], np.float32)
    om = np.array([out_mult[p] for p, _, _ in runs], np.float32)[:, None, None]
    steps = n // batch_size  # full batches only: every step averages over the same count
    order = {s: np.random.default_rng(s) for s in seeds}
    order = {
        s: np.stack([g.permutation(n)[: steps * batch_size] for _ in range(epochs)])
        for s, g in order.items()
    }
    index = np.stack([order[s] for _, _, s in runs]).reshape(len(runs), epochs * steps, -1)
    slots = [
        [tf.Variable(tf.zeros_like(v)) for v in variables]
        for _ in range(2 if optimizer == "adam" else 0)
    ]
    x_t, y_t = tf.constant(x), tf.constant(y)
    index_t, lr_t, om_t = tf.constant(index), tf.constant(lr), tf.constant(om)

    def loss_of(batch_x, batch_y):
        w1, b1, w2, b2, w3, b3 = variables
        h = tf.nn.relu(tf.einsum("mbi,mij->mbj", batch_x, w1) + b1[:, None])
        h = tf.nn.relu(tf.einsum("mbi,mij->mbj", h, w2) + b2[:, None])
        logits = tf.einsum("mbi,mij->mbj", h * om_t, w3) + b3[:, None]
        per = tf.nn.softmax_cross_entropy_with_logits(batch_y, logits)
        return tf.reduce_mean(per, axis=1)

    def _adam(v, g, m, u, rate, k):
        b1, b2, eps = ADAM["beta_1"], ADAM["beta_2"], ADAM["epsilon"]
        alpha = rate * tf.sqrt(1 - b2**k) / (1 - b1**k)
        m.assign_add((g - m) * (1 - b1))
        u.assign_add((tf.square(g) - u) * (1 - b2))
        v.assign_sub(m * alpha / (tf.sqrt(u) + eps))

    @tf.function(jit_compile=False)
    def epoch(e):
        total = tf.zeros(len(runs))
        for t in tf.range(steps):
            step = e * steps + t
            idx = index_t[:, step]
            bx, by = tf.gather(x_t, idx), tf.gather(y_t, idx)
            with tf.GradientTape() as tape:
                losses = loss_of(bx, by)
                summed = tf.reduce_sum(losses)
            grads = tape.gradient(summed, variables)
            total += losses
            k = tf.cast(step + 1, tf.float32)
            for i, (v, g) in enumerate(zip(variables, grads)):
                rate = tf.reshape(lr_t[:, i], [-1] + [1] * (len(v.shape) - 1))
                if optimizer == "sgd":
                    v.assign_sub(rate * g)
                else:
                    _adam(v, g, slots[0][i], slots[1][i], rate, k)
        return total / steps

    out = np.stack([epoch(tf.constant(e)).numpy() for e in range(epochs)], axis=-1)
    out[~np.isfinite(out)] = np.nan
    out = np.where(np.isnan(out).cumsum(-1) > 0, np.nan, out)  # NaN once diverged
    return out.reshape(len(PARAMETRIZATIONS), len(rates), len(seeds), epochs)


def sweep(
    data: Any,
    widths: list[int],
    rates: dict[str, list[float]],
    seeds: list[int],
    epochs: int,
    batch_size: int,
) -> Sweep:
    """Train every parametrization x optimizer x width x rate x seed (no cache).

    Args:
        data: A `lr_lessons.lab.data.Dataset` with one-hot targets.
        widths: Hidden widths; the first is muP's base width.
        rates: `{"adam": [...], "sgd": [...]}`, global learning rates.
        seeds: Seeds of the initial weights and of the data order.
        epochs: Epochs per run.
        batch_size: Minibatch size (the last partial batch of an epoch is dropped).

    Returns:
        The `Sweep`.
    """
    loss = np.full(
        (len(PARAMETRIZATIONS), len(OPTIMIZERS), len(widths), max(map(len, rates.values())))
        + (len(seeds), epochs),
        np.nan,
        np.float32,
    )
    for o, opt in enumerate(OPTIMIZERS):
        for w, width in enumerate(widths):
            got = _train_width(data, width, widths[0], opt, rates[opt], seeds, epochs, batch_size)
            loss[:, o, w, : len(rates[opt])] = got
    return Sweep(loss, list(widths), {k: list(v) for k, v in rates.items()}, list(seeds))


def source_hash() -> str:
    """A hash of this module's and `lr_lessons.tools.mup`'s source (part of the cache key)."""
    from lr_lessons.lab.runner import code_text

    here = Path(__file__)
    text = "".join(code_text(p.read_text()) for p in (here, here.parents[1] / "tools" / "mup.py"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
    steps: int = 4,
    batch_size: int = 100,
) -> CoordCheck:
    """The coordinate check with Adam: each layer's mean |output| over a few steps, per width.

    With Keras itself: for each seed and width, the seeded model (SP, or muP relative to
    `widths[0]`) trains `steps` steps with `keras.optimizers.Adam` (SP) or `mup.MuAdam`
    on the same minibatches, and after each step every layer's output on a fixed batch
    is measured.

    Args:
        data: A `Dataset` with one-hot targets.
        widths: Hidden widths; the first is muP's base width.
        seeds: Seeds of the initial weights and the minibatches.
        learning_rate: Adam's global rate.
        steps: Steps to take.
        batch_size: Minibatch size.

    Returns:
        The `CoordCheck`.
    """
    import tensorflow as tf

    x = np.asarray(data.x_train, np.float32).reshape(len(data.x_train), -1)
    y = np.asarray(data.y_train, np.float32)
    probe = x[:batch_size]
    size = np.zeros((len(PARAMETRIZATIONS), len(widths), len(seeds), len(LAYERS), steps + 1))
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    for p, par in enumerate(PARAMETRIZATIONS):
        for w, width in enumerate(widths):
            for s, seed in enumerate(seeds):
                model, adam, _, _ = built(width, widths[0], x.shape[1], y.shape[1], par, seed)
                opt = (
                    keras.optimizers.Adam(learning_rate)
                    if par == "sp"
                    else mup.MuAdam(learning_rate, multipliers=adam)
                )
                taps = keras.Model(model.inputs[0], [layer.output for layer in model.layers])
                batches = np.random.default_rng(seed).permutation(len(x))
                for t in range(steps + 1):
                    outs = taps(probe)
                    size[p, w, s, :, t] = [float(tf.reduce_mean(tf.abs(o))) for o in outs]
                    if t == steps:
                        break
                    idx = batches[t * batch_size : (t + 1) * batch_size]
                    with tf.GradientTape() as tape:
                        loss = loss_fn(y[idx], model(x[idx]))
                    grads = tape.gradient(loss, model.trainable_variables)
                    opt.apply_gradients(zip(grads, model.trainable_variables))
    return CoordCheck(size, list(widths), list(seeds))


WIDTHS = (32, 64, 128, 256)  # the first is muP's base width
RATES = {
    "adam": [2.0**k for k in range(-12, -1)],
    "sgd": [2.0**k for k in range(-8, 3)],
}
EPOCHS = 10
BATCH_SIZE = 50
COORD_WIDTHS = (32, 64, 128, 256, 512, 1024)
COORD_RATE = 2.0**-6
COORD_STEPS = 4


def blobs() -> Any:
    """The blobs problem of chapters 1-5 (500 training points, 2 features, 3 classes)."""
    from lr_lessons.lab.data import load_blobs

    return load_blobs()


def width_sweep(
    seeds: list[int],
    widths: tuple[int, ...] = WIDTHS,
    rates: dict[str, list[float]] | None = None,
    epochs: int = EPOCHS,
    batch_size: int = BATCH_SIZE,
    name: str = "11_width/sweep",
) -> Sweep:
    """The chapter's sweep on the blobs problem, cached in the results folder.

    Args:
        seeds: Seeds.
        widths: Hidden widths (the first is muP's base width).
        rates: `{optimizer: rates}` (default `RATES`).
        epochs: Epochs per run.
        batch_size: Minibatch size.
        name: The result's name below the results folder.

    Returns:
        The `Sweep`, its `meta` holding the data source and the wall time.
    """
    from lr_lessons import config
    from lr_lessons.lab.cache import cached

    rates = RATES if rates is None else rates
    data = blobs()
    settings = {
        "widths": list(widths),
        "rates": rates,
        "seeds": list(seeds),
        "epochs": epochs,
        "batch_size": batch_size,
        "data": data.fingerprint,
        "code": source_hash(),
    }

    def compute() -> Sweep:
        out = sweep(data, list(widths), rates, list(seeds), epochs, batch_size)
        out.meta.update(data_source=data.source, epochs=epochs, batch_size=batch_size)
        return out

    return cached(config.results_dir() / f"{name}.npz", settings, compute, Sweep.load)


def coordinate_check(
    seeds: list[int],
    widths: tuple[int, ...] = COORD_WIDTHS,
    learning_rate: float = COORD_RATE,
    steps: int = COORD_STEPS,
    name: str = "11_width/coord_check",
) -> CoordCheck:
    """The chapter's coordinate check on the blobs problem, cached in the results folder.

    Args:
        seeds: Seeds.
        widths: Hidden widths (the first is muP's base width).
        learning_rate: Adam's global rate.
        steps: Adam steps.
        name: The result's name below the results folder.

    Returns:
        The `CoordCheck`.
    """
    from lr_lessons import config
    from lr_lessons.lab.cache import cached

    data = blobs()
    settings = {
        "widths": list(widths),
        "seeds": list(seeds),
        "rate": learning_rate,
        "steps": steps,
        "data": data.fingerprint,
        "code": source_hash(),
    }

    def compute() -> CoordCheck:
        out = coord_check(data, list(widths), list(seeds), learning_rate, steps)
        out.meta.update(data_source=data.source, rate=learning_rate, steps=steps, batch_size=100)
        return out

    return cached(config.results_dir() / f"{name}.npz", settings, compute, CoordCheck.load)
