"""Model builders: the blobs MLP, the MNIST ConvNets of the originals, and any Dense MLP.

A study names its model by a key of `BUILDERS`, or describes a plain Dense MLP with a
`DenseSpec` (any input size, widths, depth, activation, per-layer initialisation and
rate multipliers, an output multiplier: what a width study or muP needs).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from keras import layers

from lr_lessons.checks import InputError, one_of


def blobs_mlp(n_inputs: int = 2, n_classes: int = 3) -> keras.Sequential:
    """The originals' blobs model: Dense(50, relu, he_uniform) -> Dense(3, softmax).

    Chapter 1 writes this network out in full with `keras.Sequential`; later chapters
    call this function instead. Built after `keras.utils.set_random_seed(seed)`, it
    gets the same initial weights as chapter 1's written-out model (303 weights for
    2 inputs and 3 classes).

    Args:
        n_inputs: Number of input features.
        n_classes: Number of classes (units of the softmax output).

    Returns:
        An uncompiled `keras.Sequential` model named `blobs_mlp`.
    """
    return keras.Sequential(
        [
            keras.Input(shape=(n_inputs,)),
            layers.Dense(50, activation="relu", kernel_initializer="he_uniform"),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="blobs_mlp",
    )


def mnist_convnet() -> keras.Sequential:
    """The range-test ConvNet: two conv/pool blocks, then Dense 256 -> 128 -> 10."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_convnet",
    )


def mnist_small_convnet() -> keras.Sequential:
    """The TF2 LR-finder tutorial's ConvNet: Conv2D(32) -> pool -> Dense(128) -> Dropout(0.1)."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.1),
            layers.Dense(10, activation="softmax"),
        ],
        name="mnist_small_convnet",
    )


BUILDERS = {
    "blobs_mlp": blobs_mlp,
    "mnist_convnet": mnist_convnet,
    "mnist_small_convnet": mnist_small_convnet,
}


def _per_layer(values: Any, n: int, what: str, check) -> tuple | None:
    if values is None:
        return None
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InputError(f"DenseSpec {what} must be a sequence of {n} values, got {values!r}")
    values = tuple(values)
    if len(values) != n:
        raise InputError(
            f"DenseSpec {what} has {len(values)} values for {n} Dense layers "
            f"(one per hidden layer plus the output layer): {values!r}"
        )
    return tuple(check(v) for v in values)


def _finite(minimum: float, allow_equal: bool, allow_none: bool, what: str):
    def check(value: Any) -> Any:
        if value is None and allow_none:
            return None
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
            value, bool
        )
        ok = ok and math.isfinite(value) and (value > minimum or (allow_equal and value == minimum))
        if not ok:
            bound = ">=" if allow_equal else ">"
            raise InputError(
                f"DenseSpec {what}: {value!r} is not a finite number {bound} {minimum}"
            )
        return float(value)

    return check


@dataclass(frozen=True)
class DenseSpec:
    """A plain Dense MLP: `inputs -> hidden... -> outputs`, as data (hashable, JSON-ready).

    Args:
        inputs: Input features (2 for the blobs; 784 for MNIST, whose images the engines
            flatten).
        hidden: Widths of the hidden layers (depth = their number; may be empty).
        outputs: Units of the output layer (classes).
        activation: The hidden layers' Keras activation (`"relu"`, `"tanh"`, ...).
        output_activation: `"softmax"` (with `categorical_crossentropy`) or `"linear"`.
        kernel_initializer: Keras initializer name for kernels without an `init_std`.
        init_std: Per Dense layer (hidden layers, then the output layer): the standard
            deviation of its normal initial kernel (`0.0`: zeros), or None for
            `kernel_initializer`. Biases start at zero.
        lr_multipliers: Per Dense layer: its kernel and bias train at the setting's
            rate times this (None: 1 everywhere).
        output_multiplier: The logits are `output_multiplier * (W h + b)`, before the
            output activation.
        name: The Keras model's name (default: from the shape).

    Raises:
        InputError: Naming the bad field and value.
    """

    inputs: int
    hidden: tuple[int, ...]
    outputs: int
    activation: str = "relu"
    output_activation: str = "softmax"
    kernel_initializer: str = "glorot_uniform"
    init_std: tuple[float | None, ...] | None = None
    lr_multipliers: tuple[float, ...] | None = None
    output_multiplier: float = 1.0
    name: str | None = field(default=None)

    def __post_init__(self) -> None:
        def whole(value: Any, what: str) -> int:
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise InputError(f"DenseSpec {what} must be a whole number >= 1, got {value!r}")
            return int(value)

        object.__setattr__(self, "inputs", whole(self.inputs, "inputs"))
        object.__setattr__(self, "outputs", whole(self.outputs, "outputs"))
        if isinstance(self.hidden, (str, bytes)) or not isinstance(self.hidden, Sequence):
            raise InputError(f"DenseSpec hidden must be a sequence of widths, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(whole(h, "hidden width") for h in self.hidden))
        for what in ("activation", "output_activation"):
            value = getattr(self, what)
            try:
                keras.activations.get(value)
            except (ValueError, TypeError):
                raise InputError(
                    f"DenseSpec {what} {value!r} is not a Keras activation name "
                    "(e.g. 'relu', 'tanh', 'softmax', 'linear')"
                ) from None
        try:
            keras.initializers.get(self.kernel_initializer)
        except (ValueError, TypeError):
            raise InputError(
                f"DenseSpec kernel_initializer {self.kernel_initializer!r} is not a Keras "
                "initializer name (e.g. 'glorot_uniform', 'he_uniform')"
            ) from None
        n = self.n_layers
        object.__setattr__(
            self,
            "init_std",
            _per_layer(self.init_std, n, "init_std", _finite(0.0, True, True, "init_std")),
        )
        object.__setattr__(
            self,
            "lr_multipliers",
            _per_layer(
                self.lr_multipliers,
                n,
                "lr_multipliers",
                _finite(0.0, False, False, "lr_multipliers"),
            ),
        )
        object.__setattr__(
            self,
            "output_multiplier",
            _finite(0.0, False, False, "output_multiplier")(self.output_multiplier),
        )
        if self.name is not None and not (isinstance(self.name, str) and self.name):
            raise InputError(f"DenseSpec name must be a non-empty string, got {self.name!r}")

    @property
    def n_layers(self) -> int:
        """Number of Dense layers (hidden plus output)."""
        return len(self.hidden) + 1

    @property
    def widths(self) -> tuple[int, ...]:
        """Units of every Dense layer, the output layer last."""
        return (*self.hidden, self.outputs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, used in result metadata and cache keys."""
        return {
            "dense": True,
            "inputs": self.inputs,
            "hidden": list(self.hidden),
            "outputs": self.outputs,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "kernel_initializer": self.kernel_initializer,
            "init_std": None if self.init_std is None else list(self.init_std),
            "lr_multipliers": None if self.lr_multipliers is None else list(self.lr_multipliers),
            "output_multiplier": self.output_multiplier,
            "name": self.name,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DenseSpec:
        """The spec `to_dict` described."""
        values = {k: v for k, v in values.items() if k != "dense"}
        for key in ("hidden", "init_std", "lr_multipliers"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        return cls(**values)

    def kernel_initializers(self) -> list[Any]:
        """The Keras kernel initializer of every Dense layer."""
        stds = self.init_std or (None,) * self.n_layers
        made = []
        for std in stds:
            if std is None:
                made.append(self.kernel_initializer)
            elif std == 0:
                made.append("zeros")
            else:
                made.append(keras.initializers.RandomNormal(stddev=std))
        return made

    def build(self) -> keras.Sequential:
        """The Keras model: Dense layers, `Rescaling(output_multiplier)` if it is not 1,
        then the output activation. Built after `keras.utils.set_random_seed(seed)`, it
        has the initial weights the stacked engine starts that seed from."""
        inits = self.kernel_initializers()
        stack: list[Any] = [keras.Input(shape=(self.inputs,))]
        for width, init in zip(self.hidden, inits):
            stack.append(layers.Dense(width, activation=self.activation, kernel_initializer=init))
        if self.output_multiplier == 1:
            stack.append(
                layers.Dense(
                    self.outputs, activation=self.output_activation, kernel_initializer=inits[-1]
                )
            )
        else:
            stack.append(layers.Dense(self.outputs, kernel_initializer=inits[-1]))
            stack.append(layers.Rescaling(self.output_multiplier))
            stack.append(layers.Activation(self.output_activation))
        widths = "-".join(str(w) for w in (self.inputs, *self.widths))
        return keras.Sequential(stack, name=self.name or f"dense_{widths}")

    def rate_multipliers(self) -> list[float]:
        """One rate multiplier per trainable weight tensor (kernel, bias of each layer)."""
        per_layer = self.lr_multipliers or (1.0,) * self.n_layers
        return [m for m in per_layer for _ in (0, 1)]


def dense_data(spec: DenseSpec, data):
    """`data` as `spec` takes it: inputs flattened to `(n, spec.inputs)`, integer labels
    one-hot encoded (MNIST's images and labels as `load_mnist` gives them).

    Args:
        spec: The model.
        data: A `lr_lessons.lab.data.Dataset`.

    Returns:
        The same `Dataset` if it already fits, else a new one with the same source.

    Raises:
        InputError: If the inputs do not hold `spec.inputs` features per sample or the
            labels do not fit `spec.outputs` classes.
    """
    from lr_lessons.lab.data import Dataset

    def inputs(x: np.ndarray) -> np.ndarray:
        flat = x.reshape(len(x), -1)
        if flat.shape[1] != spec.inputs:
            raise InputError(
                f"the model takes {spec.inputs} inputs per sample; {data.source!r} has "
                f"samples of shape {x.shape[1:]} ({flat.shape[1]} values)"
            )
        return flat if flat.dtype == np.float32 else flat.astype("float32")

    def targets(y: np.ndarray) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == spec.outputs:
            return y
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            if y.min() < 0 or y.max() >= spec.outputs:
                raise InputError(
                    f"labels of {data.source!r} range over {y.min()}..{y.max()}; the model "
                    f"has {spec.outputs} outputs"
                )
            return np.eye(spec.outputs, dtype="float32")[y]
        raise InputError(
            f"targets of {data.source!r} have shape {y.shape}; the model needs one-hot rows of "
            f"{spec.outputs} or integer labels"
        )

    parts = (inputs(data.x_train), targets(data.y_train), inputs(data.x_test), targets(data.y_test))
    if all(a is b for a, b in zip(parts, (data.x_train, data.y_train, data.x_test, data.y_test))):
        return data
    return Dataset(*parts, source=data.source)


def build(name: str | DenseSpec) -> keras.Model:
    """Build the model a study names (a key of `BUILDERS`) or describes (a `DenseSpec`)."""
    if isinstance(name, DenseSpec):
        return name.build()
    one_of(name, BUILDERS, "model")
    return BUILDERS[name]()
