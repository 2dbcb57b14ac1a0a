"""Chapter 10's runs: full-batch gradient descent (and Adam) on blobs, with the sharpness.

Every learning rate x seed is trained at once: the weights of all runs are stacked on a
leading axis (as in the stacked engine) and each step is one batched full-batch
gradient step in a `tf.function` compiled by XLA. Every `every` steps the top
eigenvalue of each run's loss Hessian (the sharpness) is measured by Lanczos
iterations on Hessian-vector products, batched over the runs, warm-started from the
previous top eigenvector; under Adam also the top eigenvalue of `P^{-1} H` with `P`
Adam's preconditioner (`lr_lessons.tools.sharpness.preconditioner_diagonal`).

The network is `model(spec)`: `Dense(width, activation, he_uniform) -> Dense(3)`, with a
softmax output under cross-entropy and a linear one under mean squared error. Seed `k`
starts from the weights Keras gives that model after `keras.utils.set_random_seed(k)`,
so every run can be checked against, or continued in, Keras (tests/test_sharpness.py
does). The loss is Keras' `categorical_crossentropy` (from the softmax's logits, as
Keras computes it) or `mean_squared_error` (mean over points and outputs), on all 500
training points.

A run whose loss becomes non-finite or exceeds `DIVERGED_LOSS` is stopped there:
its later losses and sharpness are NaN, and `Trajectories.diverged` marks it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from lr_lessons.checks import InputError, one_of, positive_number, whole_number
from lr_lessons.files import read_json, write_npz
from lr_lessons.lab import cache
from lr_lessons.lab.data import Dataset, load_blobs

DIVERGED_LOSS = 1e7  # a loss above this (or non-finite) stops the run: it diverged
LANCZOS_STEPS = 20  # Krylov dimension of each sharpness measurement (303 weights)
_CODE = ("lab/edge_of_stability.py", "tools/sharpness.py")


@dataclass(frozen=True)
class Spec:
    """One family of runs: the network, the loss, the optimizer and the rates.

    Args:
        rates: The learning rates (each trained from every seed).
        steps: Full-batch steps per run.
        every: Measure the sharpness every `every` steps (and at step 0).
        optimizer: `"gd"` (plain gradient descent) or `"adam"` (Keras' Adam, defaults
            besides the rate).
        loss: `"mse"` (mean squared error on one-hot targets, linear output) or `"ce"`
            (cross-entropy, softmax output).
        activation: The hidden layer's activation (`"tanh"` or `"relu"`).
        width: Hidden units (50: the blobs MLP's 303 weights).
        standardize: Scale each input feature to mean 0 and variance 1 (training-set
            statistics) before training.
        relative: Read `rates` as multiples of each run's own `2 / lambda_0` (its
            stability threshold at initialisation), e.g. `1.5` trains seed `k` at
            `1.5 * 2 / lambda_0(k)`.
        beta_1: Adam's `beta_1`.
        beta_2: Adam's `beta_2`.
        epsilon: Adam's `epsilon`.
    """

    rates: tuple[float, ...]
    steps: int
    every: int
    optimizer: str = "gd"
    loss: str = "mse"
    activation: str = "tanh"
    width: int = 50
    standardize: bool = True
    relative: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-7

    def __post_init__(self) -> None:
        if not self.rates:
            raise InputError("rates is empty: give at least one learning rate")
        for r in self.rates:
            positive_number(r, "each rate")
        whole_number(self.steps, "steps", minimum=1)
        whole_number(self.every, "every", minimum=1)
        whole_number(self.width, "width", minimum=1)
        one_of(self.optimizer, ("gd", "adam"), "optimizer")
        one_of(self.loss, ("mse", "ce"), "loss")
        one_of(self.activation, ("tanh", "relu"), "activation")
        if self.steps % self.every:
            raise InputError(
                f"steps={self.steps} is not a multiple of every={self.every}: make it one"
            )

    @property
    def checkpoints(self) -> np.ndarray:
        """The steps at which the sharpness is measured: 0, every, 2 every, ..., steps."""
        return np.arange(0, self.steps + 1, self.every)


def model(spec: Spec) -> keras.Sequential:
    """The Keras network of `spec`: `Dense(width, activation, he_uniform) -> Dense(3)`."""
    return keras.Sequential(
        [
            keras.Input(shape=(2,)),
            keras.layers.Dense(
                spec.width, activation=spec.activation, kernel_initializer="he_uniform"
            ),
            keras.layers.Dense(3, activation="softmax" if spec.loss == "ce" else None),
        ],
        name=f"blobs_{spec.activation}_{spec.loss}",
    )


def keras_loss(spec: Spec) -> keras.losses.Loss:
    """The Keras loss of `spec`."""
    if spec.loss == "ce":
        return keras.losses.CategoricalCrossentropy()
    return keras.losses.MeanSquaredError()


def inputs(data: Dataset, standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    """The training inputs, standardised with the training set's mean and spread if asked."""
    x = data.x_train.astype("float32")
    if standardize:
        x = (x - x.mean(axis=0)) / x.std(axis=0)
    return x.astype("float32"), data.y_train.astype("float32")


def initial_weights(spec: Spec, seed: int) -> np.ndarray:
    """Seed `seed`'s initial weights of `model(spec)`, flattened in Keras' order."""
    keras.utils.set_random_seed(int(seed))
    return np.concatenate([w.reshape(-1) for w in model(spec).get_weights()]).astype("float32")


@dataclass
class Trajectories:
    """Per rate and seed: loss and accuracy every step, sharpness every `every` steps.

    Attributes:
        spec: What was trained.
        seeds: The seeds.
        loss: `(rates, seeds, steps + 1)`, the full-batch training loss before each
            step (entry 0: at initialisation); NaN after a run diverged.
        accuracy: Same shape, training accuracy.
        sharpness: `(rates, seeds, checkpoints)`, top Hessian eigenvalue at
            `spec.checkpoints`.
        preconditioned: Under Adam, the top eigenvalue of `P^{-1} H` (at checkpoint 0,
            before any update, NaN); else empty.
        rates: `(rates, seeds)`, the learning rate each run trained with (differs per
            seed when `spec.relative`).
        meta: Data source, wall time, cache key...
    """

    spec: Spec
    seeds: list[int]
    loss: np.ndarray
    accuracy: np.ndarray
    sharpness: np.ndarray
    preconditioned: np.ndarray
    rates: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def diverged(self) -> np.ndarray:
        """`(rates, seeds)`: runs stopped for a non-finite or exploding loss."""
        return ~np.isfinite(self.loss[..., -1])

    def rate_index(self, rate: float) -> int:
        """The index of `rate` in `spec.rates`."""
        return self.spec.rates.index(rate)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the arrays and metadata to one `.npz` (atomically)."""
        arrays = {
            "loss": self.loss,
            "accuracy": self.accuracy,
            "sharpness": self.sharpness,
            "preconditioned": self.preconditioned,
            "rates": self.rates,
        }
        return write_npz(path, arrays, spec=asdict(self.spec), seeds=self.seeds, meta=self.meta)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Trajectories:
        """Read a file written by `save`."""
        with np.load(path, allow_pickle=False) as f:
            spec = read_json(f, "spec")
            spec["rates"] = tuple(spec["rates"])
            return cls(
                Spec(**spec),
                list(read_json(f, "seeds")),
                f["loss"],
                f["accuracy"],
                f["sharpness"],
                f["preconditioned"],
                f["rates"],
                dict(read_json(f, "meta")),
            )


def _unpack(theta, width: int):
    import tensorflow as tf

    h = width
    w1 = tf.reshape(theta[:, : 2 * h], (-1, 2, h))
    b1 = theta[:, 2 * h : 3 * h]
    w2 = tf.reshape(theta[:, 3 * h : 6 * h], (-1, h, 3))
    b2 = theta[:, 6 * h :]
    return w1, b1, w2, b2


def _program(spec: Spec, x: np.ndarray, y: np.ndarray):
    """The compiled pieces: per-run losses, a chunk of steps, and batched Lanczos."""
    import tensorflow as tf

    x, y = tf.constant(x), tf.constant(y)
    act = tf.tanh if spec.activation == "tanh" else tf.nn.relu
    labels = tf.argmax(y, axis=-1)

    def outputs(theta):
        w1, b1, w2, b2 = _unpack(theta, spec.width)
        runs = theta.shape[0]
        # One (points x runs*width) product for the first layer, batched for the second.
        first = tf.matmul(x, tf.reshape(tf.transpose(w1, (1, 0, 2)), (2, -1)))
        first = tf.transpose(tf.reshape(first, (-1, runs, spec.width)), (1, 0, 2))
        return tf.matmul(act(first + b1[:, None]), w2) + b2[:, None]

    def losses(theta):
        z = outputs(theta)
        if spec.loss == "ce":
            target = tf.broadcast_to(y, tf.shape(z))
            per_point = tf.nn.softmax_cross_entropy_with_logits(target, z)
            return tf.reduce_mean(per_point, axis=-1), z
        return tf.reduce_mean(tf.square(z - y), axis=[1, 2]), z

    def gradient(theta):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            value, z = losses(theta)
            total = tf.reduce_sum(value)  # runs are independent: d total / d theta_r
        return tape.gradient(total, theta), value, z

    def hvp(theta, v):
        with tf.GradientTape() as tape:
            tape.watch(theta)
            g, _, _ = gradient(theta)
            inner = tf.reduce_sum(g * tf.stop_gradient(v))
        return tape.gradient(inner, theta)

    adam = spec.optimizer == "adam"
    b1, b2, eps = spec.beta_1, spec.beta_2, spec.epsilon

    @tf.function(jit_compile=True)
    def chunk(theta, m, v, t, rates, alive, n):
        loss_log = tf.TensorArray(tf.float32, size=n)
        acc_log = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            g, value, z = gradient(theta)
            acc = tf.reduce_mean(tf.cast(tf.argmax(z, -1) == labels, tf.float32), -1)
            alive = alive & tf.math.is_finite(value) & (value < DIVERGED_LOSS)
            loss_log = loss_log.write(i, tf.where(alive, value, np.nan))
            acc_log = acc_log.write(i, tf.where(alive, acc, np.nan))
            if adam:
                t = t + 1.0
                m = m + (g - m) * (1 - b1)
                v = v + (tf.square(g) - v) * (1 - b2)
                alpha = rates * tf.sqrt(1 - b2**t) / (1 - b1**t)
                step = alpha[:, None] * m / (tf.sqrt(v) + eps)
            else:
                step = rates[:, None] * g
            theta = tf.where(alive[:, None], theta - step, theta)
        return theta, m, v, t, alive, loss_log.stack(), acc_log.stack()

    @tf.function(jit_compile=True)
    def evaluate(theta):
        value, z = losses(theta)
        acc = tf.reduce_mean(tf.cast(tf.argmax(z, -1) == labels, tf.float32), -1)
        return value, acc

    @tf.function(jit_compile=True)
    def lanczos(theta, start, scale):
        """Top eigenvalue of `diag(scale) H diag(scale)` per run, and its eigenvector."""
        k = LANCZOS_STEPS
        q = start / tf.norm(start, axis=-1, keepdims=True)
        basis = tf.zeros((k, *q.shape))  # (k, runs, P): the Lanczos vectors so far
        alphas = tf.zeros((k, q.shape[0]))
        betas = tf.zeros((k, q.shape[0]))
        for j in tf.range(k):
            slot = tf.one_hot(j, k)
            basis += slot[:, None, None] * q[None]
            w = scale * hvp(theta, scale * q)
            alphas += slot[:, None] * tf.reduce_sum(w * q, -1)[None]
            for _ in range(2):  # full re-orthogonalisation, twice for rounding
                w -= tf.einsum("krp,kr->rp", basis, tf.einsum("krp,rp->kr", basis, w))
            beta = tf.norm(w, axis=-1)
            betas += slot[:, None] * beta[None]
            q = w / tf.maximum(beta, 1e-30)[:, None]
        off = tf.transpose(betas[:-1])
        tri = tf.linalg.diag(tf.transpose(alphas))
        tri += tf.linalg.diag(off, k=1) + tf.linalg.diag(off, k=-1)
        values, vectors = tf.linalg.eigh(tri)
        ritz = tf.einsum("krp,rk->rp", basis, vectors[:, :, -1])
        return values[:, -1], ritz

    return chunk, evaluate, lanczos


def train(spec: Spec, seeds: list[int], data: Dataset | None = None) -> Trajectories:
    """Train every rate of `spec` from every seed, full batch, measuring the sharpness.

    Args:
        spec: What to train.
        seeds: The seeds (initial weights).
        data: The data (default: blobs).

    Returns:
        The `Trajectories`.
    """
    import tensorflow as tf

    data = data if data is not None else load_blobs()
    x, y = inputs(data, spec.standardize)
    starts = np.stack([initial_weights(spec, s) for s in seeds])
    n_rates, n_seeds = len(spec.rates), len(seeds)
    theta = tf.constant(np.tile(starts, (n_rates, 1)))
    runs, size = theta.shape
    rates = np.repeat(np.asarray(spec.rates, "float64"), n_seeds)
    m = tf.zeros_like(theta)
    v = tf.zeros_like(theta)
    t = tf.constant(0.0)
    alive = tf.ones(runs, tf.bool)
    chunk, evaluate, lanczos = _program(spec, x, y)
    rng = np.random.default_rng(0)
    start = tf.constant(rng.standard_normal((runs, size)).astype("float32"))
    ones = tf.ones_like(theta)
    start_pre = start
    n_check = len(spec.checkpoints)
    sharp = np.full((runs, n_check), np.nan)
    pre = np.full((runs, n_check), np.nan) if spec.optimizer == "adam" else np.zeros((0,))
    losses, accs = [], []
    for c in range(n_check):
        top, ritz = lanczos(theta, start, ones)
        sharp[:, c] = top.numpy()
        if c == 0:
            if spec.relative:
                rates = rates * 2 / sharp[:, 0]
            rates_in = tf.constant(rates.astype("float32"))
        noise = rng.standard_normal((runs, size)).astype("float32")
        start = ritz + 0.1 * noise / np.sqrt(size)
        if spec.optimizer == "adam" and c > 0:
            p = (1 - spec.beta_1**t) * (tf.sqrt(v) + spec.epsilon) / tf.sqrt(1 - spec.beta_2**t)
            top_p, ritz_p = lanczos(theta, start_pre, 1 / tf.sqrt(p))
            pre[:, c] = top_p.numpy()
            start_pre = ritz_p + 0.1 * noise / np.sqrt(size)
        if c == n_check - 1:
            break
        theta, m, v, t, alive, loss_c, acc_c = chunk(theta, m, v, t, rates_in, alive, spec.every)
        losses.append(loss_c.numpy().T)
        accs.append(acc_c.numpy().T)
    value, acc = evaluate(theta)
    last_alive = alive.numpy() & np.isfinite(value.numpy()) & (value.numpy() < DIVERGED_LOSS)
    losses.append(np.where(last_alive, value.numpy(), np.nan)[:, None])
    accs.append(np.where(last_alive, acc.numpy(), np.nan)[:, None])
    loss = np.concatenate(losses, axis=1)
    accuracy = np.concatenate(accs, axis=1)
    dead = ~np.isfinite(loss[:, spec.checkpoints])
    sharp[dead] = np.nan
    if pre.size:
        pre[dead] = np.nan
    shape = (n_rates, n_seeds)
    return Trajectories(
        spec,
        [int(s) for s in seeds],
        loss.reshape(*shape, -1),
        accuracy.reshape(*shape, -1),
        sharp.reshape(*shape, -1),
        pre.reshape(*shape, -1) if pre.size else pre,
        rates.astype("float32").reshape(shape),
        {"data_source": f"{data.source}, 500 training points, full batch"},
    )


def code_fingerprint() -> str:
    """A hash of the code these runs depend on: the library's shared training code, this
    module and the sharpness tool."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(cache.code_fingerprint().encode())
    for name in _CODE:
        digest.update(cache.code_text((root / name).read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]


def run(name: str, spec: Spec, seeds: list[int], data: Dataset | None = None) -> Trajectories:
    """`train`, cached under `results/<name>.npz` (made again when anything it depends on changes).

    Args:
        name: The result's name below the results folder, e.g.
            `"10_edge_of_stability/gd"`.
        spec: What to train.
        seeds: The seeds.
        data: The data (default: blobs).

    Returns:
        The `Trajectories`, read from disk if made before with the same key.
    """
    seeds = [whole_number(s, "each seed") for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise InputError(f"seeds must be distinct whole numbers, got {seeds}")
    data = data if data is not None else load_blobs()
    definition = {
        "spec": asdict(spec),
        "seeds": seeds,
        "data": data.fingerprint,
        "lanczos_steps": LANCZOS_STEPS,
    }
    return cache.cached_call(
        name,
        definition,
        lambda: train(spec, seeds, data),
        cache.Kind(Trajectories.load),
        code=code_fingerprint(),
    )


# The chapter's three families of runs (see chapters/10_edge_of_stability.py for why).
GD_RATES = (0.02, 0.1, 0.5)  # 2 / eta = 100 (never reached), 20 (reached), 4 (below lambda_0)
ADAM_RATES = (0.03, 0.1)  # 38 / eta = 1267 and 380
CATAPULT_MULTIPLES = (0.5, 1.25, 1.5, 2.0, 3.0, 5.0)  # rates in units of 2 / lambda_0


def chapter_specs() -> dict[str, Spec]:
    """Chapter 10's runs: `"gd"`, `"adam"` (tanh, cross-entropy, raw blobs inputs) and
    `"catapult"` (ReLU, mean squared error, standardised inputs); shorter in quick mode."""
    from lr_lessons import config

    quick = config.quick()
    steps = 200 if quick else 1000
    short = 100 if quick else 300
    edge = dict(loss="ce", activation="tanh", standardize=False)
    return {
        "gd": Spec(GD_RATES, steps, 50, **edge),
        "adam": Spec(ADAM_RATES, steps, 100 if not quick else 50, optimizer="adam", **edge),
        "catapult": Spec(
            CATAPULT_MULTIPLES,
            short,
            50 if quick else 100,
            loss="mse",
            activation="relu",
            standardize=True,
            relative=True,
        ),
    }
