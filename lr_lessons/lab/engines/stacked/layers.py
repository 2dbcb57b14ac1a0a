"""The network on stacked weights: Keras' Dense layers for every run at once, the loss.

`network(model)` reads a study's model (a key of `lr_lessons.lab.models.BUILDERS` or a
`DenseSpec`) off the Keras model it builds: each Dense layer's size and activation,
a `Rescaling` (the output multiplier) and a final `Activation`. `forward` runs those
layers on weights stacked on a leading run axis; `per_sample_loss` is Keras' own loss.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from lr_lessons.lab import models
from lr_lessons.lab.engines.stacked.rules import Unsupported

# Keras loss names the engine trains with (aliases map to the same function).
LOSSES = {
    "categorical_crossentropy": keras.losses.categorical_crossentropy,
    "mean_squared_error": keras.losses.mean_squared_error,
    "mse": keras.losses.mean_squared_error,
}
# Layers with at most this many weights in their kernel, on batches of at most SMALL_BATCH
# samples, run as a fused multiply-and-sum under XLA; layers with at most TINY_INPUTS
# inputs as a sum of products (see dense_xla). Measured on the blobs MLP (180 runs):
# at batch size 128 the batched matmul takes 0.13 s per 10 epochs, the fused form 0.21 s;
# at 64 they are equal, at 32 the fused form is 10% faster.
SMALL_LAYER = 4096
SMALL_BATCH = 64
TINY_INPUTS = 4


@dataclass(frozen=True)
class Network:
    """What the engine runs of a model: its layers in order.

    Args:
        steps: `("dense", inputs, units, activation)`, `("rescale", scale, offset)` or
            `("activation", function)`, in the model's order.
        multipliers: The rate multiplier of each weight tensor (kernel, bias, ...).
    """

    steps: tuple[tuple, ...]
    multipliers: tuple[float, ...]

    @property
    def n_inputs(self) -> int:
        """Input features."""
        return next(s[1] for s in self.steps if s[0] == "dense")

    @property
    def n_outputs(self) -> int:
        """Units of the last Dense layer."""
        return [s[2] for s in self.steps if s[0] == "dense"][-1]

    @property
    def scaled_rates(self) -> bool:
        """Whether any weight trains at another rate than the setting's."""
        return any(m != 1 for m in self.multipliers)


@functools.lru_cache(maxsize=32)
def network(model: str | models.DenseSpec) -> Network:
    """The layers of `model` if it is a plain Dense MLP.

    Args:
        model: A key of `BUILDERS` or a `DenseSpec`.

    Returns:
        Its `Network`.

    Raises:
        Unsupported: For a model with other layers (a ConvNet).
    """
    built = models.build(model)
    steps = []
    for layer in built.layers:
        if isinstance(layer, keras.layers.Dense) and layer.use_bias:
            if len(layer.kernel.shape) != 2:
                raise Unsupported(f"model {model!r}: layer {layer.name!r} is not 2-D")
            steps.append(("dense", int(layer.kernel.shape[0]), int(layer.units), layer.activation))
        elif isinstance(layer, keras.layers.Rescaling) and np.ndim(layer.scale) == 0:
            steps.append(("rescale", float(layer.scale), float(layer.offset)))
        elif isinstance(layer, keras.layers.Activation):
            steps.append(("activation", layer.activation))
        else:
            raise Unsupported(f"model {model!r} has layer {layer.name!r}")
    if not any(s[0] == "dense" for s in steps):
        raise Unsupported(f"model {model!r} has no layers")
    n_weights = 2 * sum(s[0] == "dense" for s in steps)
    if isinstance(model, models.DenseSpec):
        multipliers = tuple(model.rate_multipliers())
    else:
        multipliers = (1.0,) * n_weights
    return Network(tuple(steps), multipliers)


def per_sample_loss(name: str) -> Callable:
    """Keras' loss function called `name` (per sample, as `model.fit` computes it)."""
    if name not in LOSSES:
        raise Unsupported(f"loss {name!r}; the stacked engine trains with {sorted(LOSSES)}")
    return LOSSES[name]


@functools.lru_cache(maxsize=256)
def _initial_weights(model: str | models.DenseSpec, seed: int) -> tuple[np.ndarray, ...]:
    keras.utils.set_random_seed(seed)
    weights = tuple(models.build(model).get_weights())
    for w in weights:
        w.setflags(write=False)
    return weights


def initial_weights(model: str | models.DenseSpec, seed: int) -> list[np.ndarray]:
    """The weights `model.fit` starts from for `seed` (the fit engine's convention).

    Args:
        model: A model of `lr_lessons.lab.models.BUILDERS`, or a `DenseSpec`.
        seed: The seed given to `keras.utils.set_random_seed` before building it.

    Returns:
        The model's weights in Keras' order (copies; built once per process and seed).
    """
    return [w.copy() for w in _initial_weights(model, seed)]


@tf.custom_gradient
def add_bias(z: tf.Tensor, bias: tf.Tensor):
    """`z + bias` for every run (z: runs, batch, units; bias: runs, units).

    Keras' Dense adds its bias with `bias_add`, whose gradient is `BiasAddGrad`; a
    broadcasting add would sum the batch in another order and differ in the last bit,
    which momentum amplifies to ~1e-4 within a few epochs. So the biases' gradient is
    that same kernel, run on (batch, runs * units): bit for bit Keras' gradient.

    Args:
        z: The layer's products, (runs, batch, units).
        bias: The biases, (runs, units).

    Returns:
        The sum, and the function giving its gradients.
    """

    def grad(upstream: tf.Tensor):
        runs, batch, units = upstream.shape
        flat = tf.reshape(tf.transpose(upstream, [1, 0, 2]), [batch, runs * units])
        bias_grad = tf.raw_ops.BiasAddGrad(out_backprop=flat)
        return upstream, tf.reshape(bias_grad, [runs, units])

    return z + bias[:, None, :], grad


def dense(h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """Keras' Dense without its activation, for every run: h is (runs, batch, inputs)."""
    return add_bias(tf.matmul(h, kernel), bias)


def dense_xla(h: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor) -> tf.Tensor:
    """`dense` as XLA runs it fastest (measured on the blobs MLP, 120 runs): a layer
    with at most TINY_INPUTS inputs as a sum of that many products (no reduction at all:
    11% less time per epoch, at any batch size), another small layer as one fused
    multiply-and-sum (XLA's CPU matmul is a loop of tiny matrix products over the runs), a
    large one as a batched matmul. The sums are the same up to the order of the additions.

    Args:
        h: The inputs, (runs or 1, batch, inputs).
        kernel: The kernels, (runs, inputs, units).
        bias: The biases, (runs, units).

    Returns:
        `h @ kernel + bias` for every run.
    """
    inputs, units = kernel.shape[1], kernel.shape[2]
    if inputs <= TINY_INPUTS:
        z = h[..., 0:1] * kernel[:, None, 0, :]
        for i in range(1, inputs):
            z = z + h[..., i : i + 1] * kernel[:, None, i, :]
    elif inputs * units <= SMALL_LAYER and h.shape[-2] <= SMALL_BATCH:
        z = tf.reduce_sum(h[..., None] * kernel[:, None], axis=2)
    else:
        z = tf.matmul(h, kernel)
    return z + bias[:, None, :]


def forward(net: Network, params: list[tf.Tensor], x: tf.Tensor, xla: bool) -> tf.Tensor:
    """The model's output for every run: `x` is (runs or 1, batch, inputs).

    Args:
        net: The layers.
        params: Stacked kernel and bias of every Dense layer, in Keras' order.
        x: The inputs.
        xla: Use the forms XLA runs fastest (`dense_xla`); else TensorFlow's kernels,
            exactly as Keras' Dense.

    Returns:
        The stacked outputs (runs, batch, units).
    """
    layer = dense_xla if xla else dense
    h, k = x, 0
    for step in net.steps:
        if step[0] == "dense":
            h = step[3](layer(h, params[k], params[k + 1]))
            k += 2
        elif step[0] == "rescale":
            h = h * np.float32(step[1]) + np.float32(step[2])
        else:
            h = step[1](h)
    return h
