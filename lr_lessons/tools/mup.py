"""muP for Keras 3 Dense networks: one best learning rate at every width.

The Maximal Update Parametrization (muP; Yang and Hu 2021; Yang et al. 2022, "Tensor
Programs V: Tuning Large Neural Networks via Zero-Shot Hyperparameter Transfer") sets
each layer's initial scale, each layer's learning rate and the output's multiplier as
functions of the width, relative to a *base* model you tuned, so that every layer's
activations move by the same amount per step at any width and the best learning rate
of the base model stays best when the model is widened. The reference implementation,
Microsoft's `mup`, is PyTorch only; this module does the same for Keras 3 `Dense`
networks.

Each trainable variable is compared with the same variable of the base model. A
dimension that differs from the base is a *width* dimension (muP's "infinite"
dimension) with multiplier `m = width / base_width`; a dimension equal to the base's
is fixed (the input features, the classes). That sorts the `Dense` kernels (shape
`(fan_in, fan_out)`) into the rows of the paper's table for MLPs (its Table 3), and
this module applies, in the form `mup` uses:

| variable | initial scale | Adam rate | SGD rate |
|---|---|---|---|
| input kernel (fixed -> width) | base | `lr` | `lr * m` |
| hidden kernel (width -> width) | base `/ sqrt(m_in)` | `lr / m_in` | `lr * m_out / m_in` |
| output kernel (width -> fixed) | base (or zero), read through `x / m` | `lr` | `lr * m` |
| bias of a width dimension | base | `lr` | `lr * m` |
| bias of a fixed dimension | unchanged | `lr` | `lr` |

"Base" means: the values your layer's initializer draws, rescaled to
the spread that initializer gives the base model's shape (for `glorot_uniform`, `he_normal`
and the other variance-scaling initializers the variance is `scale / fan`; a fixed-scale
initializer such as `RandomNormal(stddev=0.02)` or `zeros` keeps its values). The
output layer must be a `Readout`, which divides its input by `m` (and multiplies by
`output_mult`, a tunable constant): with its weights at the base scale, the effective
output weights are `1/m` times smaller, the `1/fan_in` readout of the paper's table.
`Readout(..., zero_init=True)` starts it at zero, as the paper recommends and `mup`
offers (`readout_zero_init`).

Weight decay: Keras applies `weight_decay` decoupled, `w -= lr * weight_decay * w`
with the global rate, which is what `mup` gets by scaling each group's decay inversely
to its rate (their product is unchanged).

Usage (widen a model tuned at 64 units to 1024, keep its learning rate):

```python
import keras
from lr_lessons.tools import mup

def mlp(width):
    return keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(width, activation="relu"),
        keras.layers.Dense(width, activation="relu"),
        mup.Readout(10, activation="softmax"),
    ])

base, model = mlp(64), mlp(1024)
mup.set_base(model, base)  # rescales the initial weights, sets the readout's multiplier
optimizer = mup.MuAdam(3e-3, multipliers=mup.lr_multipliers(model, base, "adam"))
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
model.fit(x_train, y_train, epochs=5)
model.save("wide.keras")  # Readout and MuAdam reload with keras.saving.load_model
```

It depends on Keras and NumPy only, never on the lab that reproduces the lessons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from keras import ops

from lr_lessons.checks import InputError

__all__ = [
    "MuAdam",
    "MuSGD",
    "Readout",
    "Scaling",
    "init_factors",
    "lr_multipliers",
    "scalings",
    "set_base",
    "variable_key",
]

OPTIMIZERS = ("adam", "sgd")
_FIXED_SCALE = (
    keras.initializers.RandomNormal,
    keras.initializers.RandomUniform,
    keras.initializers.TruncatedNormal,
    keras.initializers.Zeros,
    keras.initializers.Ones,
    keras.initializers.Constant,
)


@keras.saving.register_keras_serializable(package="lr_lessons")
class Readout(keras.layers.Dense):
    """The output `Dense` layer of a muP network: `Dense(output_mult * x / width_mult)`.

    `set_base` sets `width_mult` (the width of its input over the base model's);
    both multipliers are saved with the layer.

    Args:
        units: Outputs (e.g. classes).
        width_mult: Width of the input over the base width (set by `set_base`).
        output_mult: A constant multiplier on the input, tuned like any hyperparameter
            (1 by default, as in `mup`).
        zero_init: Start the kernel and the bias at zero (overrides their initializers).
        **kwargs: `keras.layers.Dense`'s other arguments (`activation`, `use_bias`, ...).

    Example:

    ```python
    head = mup.Readout(10, activation="softmax", zero_init=True)
    ```
    """

    def __init__(
        self,
        units: int,
        width_mult: float = 1.0,
        output_mult: float = 1.0,
        zero_init: bool = False,
        **kwargs: Any,
    ) -> None:
        if zero_init:
            kwargs["kernel_initializer"] = "zeros"
            kwargs["bias_initializer"] = "zeros"
        super().__init__(units, **kwargs)
        self.width_mult = _positive(width_mult, "Readout: width_mult")
        self.output_mult = _positive(output_mult, "Readout: output_mult")
        self.zero_init = bool(zero_init)

    def call(self, inputs, training=None):
        """The `Dense` output of `inputs * output_mult / width_mult`."""
        scale = self.output_mult / self.width_mult
        return super().call(ops.multiply(inputs, ops.cast(scale, inputs.dtype)))

    def get_config(self) -> dict[str, Any]:
        """`Dense`'s config plus `width_mult`, `output_mult` and `zero_init`."""
        return {
            **super().get_config(),
            "width_mult": self.width_mult,
            "output_mult": self.output_mult,
            "zero_init": self.zero_init,
        }


@dataclass(frozen=True)
class Scaling:
    """One trainable variable against the base model: its width multipliers and muP scales.

    Attributes:
        path: The variable's layer and name, e.g. `"dense_1/kernel"` (the end of its
            Keras path; the model's name is left out, as a saved model drops it).
        role: `"input"`, `"hidden"`, `"output"` (kernels), `"bias"` (of a width
            dimension) or `"fixed"` (nothing differs from the base).
        shape: The variable's shape.
        base_shape: The base model's shape of it.
        fan_in_mult: `fan_in / base fan_in` for a kernel whose fan-in is a width
            dimension, else `None`.
        fan_out_mult: `fan_out / base fan_out` (a kernel's second axis, a bias's only
            axis) when it is a width dimension, else `None`.
    """

    path: str
    role: str
    shape: tuple[int, ...]
    base_shape: tuple[int, ...]
    fan_in_mult: float | None
    fan_out_mult: float | None

    @property
    def width_mult(self) -> float:
        """`mup`'s width multiplier: the fan-in's if it is a width dimension, else the fan-out's."""
        if self.fan_in_mult is not None:
            return self.fan_in_mult
        return 1.0 if self.fan_out_mult is None else self.fan_out_mult

    @property
    def infinite_dims(self) -> int:
        """How many of its dimensions are width dimensions (0, 1 or 2)."""
        return (self.fan_in_mult is not None) + (self.fan_out_mult is not None)

    def lr_multiplier(self, optimizer: str) -> float:
        """The factor on the global learning rate for this variable.

        Args:
            optimizer: `"adam"` (Adam-like: any optimizer that normalises the gradient
                per entry, e.g. Adam, AdamW, RMSprop) or `"sgd"` (SGD, with or without
                momentum).

        Returns:
            Adam: `1 / width_mult` for a hidden kernel, 1 otherwise. SGD: `width_mult`
            for a variable with one width dimension, `fan_out_mult / fan_in_mult` for a
            hidden kernel, 1 for a fixed one.
        """
        kind = _optimizer_kind(optimizer)
        if kind == "adam":
            return 1.0 / self.width_mult if self.infinite_dims == 2 else 1.0
        if self.infinite_dims == 2:
            return self.fan_out_mult / self.fan_in_mult
        return self.width_mult if self.infinite_dims == 1 else 1.0

    @property
    def init_variance_ratio(self) -> float:
        """Target initial variance over the one at the base shape (`1/m_in`: hidden kernels)."""
        return 1.0 / self.fan_in_mult if self.role == "hidden" else 1.0


def variable_key(variable: Any) -> str:
    """A variable's name in the multipliers: `"<layer name>/<variable name>"`.

    Args:
        variable: A Keras variable.

    Returns:
        The last two parts of its path: the full path also names the model
        (`"sequential/dense/kernel"`), which a saved model does not keep
        (`"dense/kernel"` after loading); layer names are kept.
    """
    return "/".join(variable.path.split("/")[-2:])


def _positive(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise InputError(f"{what} must be a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _optimizer_kind(optimizer: Any) -> str:
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZERS:
        raise InputError(
            f"optimizer={optimizer!r}: pass 'adam' (Adam-like: Adam, AdamW, RMSprop) or 'sgd'"
        )
    return optimizer.lower()


def _walk(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers in order, the layers of nested models in their place."""
    out = []
    for layer in model.layers:
        out += _walk(layer) if isinstance(layer, keras.Model) else [layer]
    return out


def _dense_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The model's layers that own trainable variables, in order; all must be `Dense`."""
    if not isinstance(model, keras.Model):
        raise InputError(f"expected a built Keras model, got {type(model).__name__}")
    owners = []
    for layer in _walk(model):
        if not layer.trainable_weights:
            continue
        if not isinstance(layer, keras.layers.Dense):
            raise InputError(
                f"layer {layer.name!r} ({type(layer).__name__}) has trainable weights: "
                f"lr_lessons.tools.mup handles networks of Dense layers only"
            )
        owners.append(layer)
    return owners


def _shapes(base: keras.Model | Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    if isinstance(base, keras.Model):
        _dense_layers(base)
        return [tuple(int(d) for d in v.shape) for v in base.trainable_variables]
    try:
        return [tuple(int(d) for d in s) for s in base]
    except TypeError as err:
        raise InputError(
            "base must be the Keras model at the base width (or the list of its trainable "
            f"variables' shapes), got {type(base).__name__}"
        ) from err


def scalings(model: keras.Model, base: keras.Model | Sequence[Sequence[int]]) -> list[Scaling]:
    """Every trainable variable of `model` compared with `base`: which dimensions are widths.

    Args:
        model: A built Keras model of `Dense` layers whose output layer is a `Readout`.
        base: The same architecture at the base width, built (or the shapes of its
            trainable variables, in `model.trainable_variables` order).

    Returns:
        One `Scaling` per trainable variable, in `model.trainable_variables` order.

    Raises:
        InputError: If the models differ in structure, a layer is not `Dense`, or a
            layer mapping a width to a fixed size is not a `Readout`.
    """
    owners = _dense_layers(model)
    variables = list(model.trainable_variables)
    base_shapes = _shapes(base)
    if not variables:
        raise InputError("model has no trainable variables: build it first (keras.Input(...))")
    if len(base_shapes) != len(variables):
        raise InputError(
            f"model has {len(variables)} trainable variables, base has {len(base_shapes)}: "
            f"build the base with the same layers at the base width"
        )
    layer_of = {}
    for layer in owners:
        for v in layer.trainable_variables:
            layer_of[id(v)] = layer
    out = []
    for v, base_shape in zip(variables, base_shapes):
        shape = tuple(int(d) for d in v.shape)
        if len(shape) != len(base_shape) or len(shape) not in (1, 2):
            raise InputError(
                f"variable {v.path} has shape {shape}, the base's is {base_shape}: "
                f"same layers, same ranks (kernels 2-D, biases 1-D) needed"
            )
        mults = [None if d == b else d / b for d, b in zip(shape, base_shape)]
        if len(shape) == 2:
            fan_in_mult, fan_out_mult = mults
            role = {
                (False, True): "input",
                (True, True): "hidden",
                (True, False): "output",
                (False, False): "fixed",
            }[(fan_in_mult is not None, fan_out_mult is not None)]
            if role == "output" and not isinstance(layer_of[id(v)], Readout):
                raise InputError(
                    f"layer {layer_of[id(v)].name!r} maps a width ({shape[0]} units, base "
                    f"{base_shape[0]}) to a fixed size ({shape[1]}): make it a mup.Readout"
                )
        else:
            fan_in_mult, fan_out_mult = None, mults[0]
            role = "fixed" if fan_out_mult is None else "bias"
        out.append(Scaling(variable_key(v), role, shape, base_shape, fan_in_mult, fan_out_mult))
    paths = [s.path for s in out]
    if len(set(paths)) != len(paths):
        raise InputError(
            f"two trainable variables share a name in {paths}: give the layers unique names"
        )
    return out


def lr_multipliers(
    model: keras.Model, base: keras.Model | Sequence[Sequence[int]], optimizer: str
) -> dict[str, float]:
    """The muP factor on the learning rate of every trainable variable.

    Args:
        model: The model to train (see `scalings`).
        base: The model at the base width (see `scalings`).
        optimizer: `"adam"` or `"sgd"` (see `Scaling.lr_multiplier`).

    Returns:
        `{variable path: multiplier}`, for `MuAdam` / `MuSGD`'s `multipliers`.
    """
    kind = _optimizer_kind(optimizer)
    return {s.path: s.lr_multiplier(kind) for s in scalings(model, base)}


def _variance(initializer: Any, shape: tuple[int, ...]) -> float | None:
    """The variance `initializer` gives `shape`, or None for a fixed-scale initializer."""
    if isinstance(initializer, keras.initializers.VarianceScaling):
        cfg = initializer.get_config()
        if cfg.get("input_axes") is not None or cfg.get("output_axes") is not None:
            raise InputError("VarianceScaling with input_axes/output_axes is not supported")
        fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else shape
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        return initializer.scale / max(1.0, n[initializer.mode])
    if isinstance(initializer, _FIXED_SCALE):
        return None
    raise InputError(
        f"initializer {type(initializer).__name__} has no known scale: use a variance-scaling "
        f"one (glorot_uniform, he_normal, lecun_normal, ...) or a fixed-scale one "
        f"(RandomNormal, zeros, ...)"
    )


def init_factors(
    model: keras.Model, base: keras.Model | Sequence[Sequence[int]]
) -> dict[str, float]:
    """The factor `set_base` multiplies each variable's initial values by.

    Args:
        model: The model (see `scalings`).
        base: The model at the base width (see `scalings`).

    Returns:
        `{variable path: factor}`: `sqrt(target variance / the initializer's variance at
        the variable's shape)`, the target being the initializer's variance at the base
        shape (divided by `m_in` for a hidden kernel).
    """
    owners = {id(v): layer for layer in _dense_layers(model) for v in layer.trainable_variables}
    factors = {}
    for v, s in zip(model.trainable_variables, scalings(model, base)):
        layer = owners[id(v)]
        init = layer.kernel_initializer if v is layer.kernel else layer.bias_initializer
        at_shape = _variance(init, s.shape)
        ratio = 1.0 if at_shape is None else _variance(init, s.base_shape) / at_shape
        factors[s.path] = float(np.sqrt(ratio * s.init_variance_ratio))
    return factors


def set_base(model: keras.Model, base: keras.Model | Sequence[Sequence[int]]) -> list[Scaling]:
    """Make `model` a muP model relative to `base`: rescale its initial weights, set the readout.

    Call it once, right after building `model` (it rescales the weights it has, as
    `mup.set_base_shapes` does); the rates come from `lr_multipliers`.

    Args:
        model: The freshly built model (see `scalings`).
        base: The model at the base width (see `scalings`).

    Returns:
        The `scalings` of `model`.

    Raises:
        InputError: As `scalings`, or if `set_base` was already applied to `model`.
    """
    if getattr(model, "_mup_base_set", False):
        raise InputError("set_base was already applied to this model: build a fresh one")
    found = scalings(model, base)
    factors = init_factors(model, base)
    for v in model.trainable_variables:
        if factors[variable_key(v)] != 1.0:
            v.assign(ops.multiply(v, ops.cast(factors[variable_key(v)], v.dtype)))
    for layer in _dense_layers(model):
        if isinstance(layer, Readout):
            s = next(s for s in found if s.path == variable_key(layer.kernel))
            layer.width_mult = 1.0 if s.fan_in_mult is None else s.fan_in_mult
    model._mup_base_set = True
    return found


class _PerVariableRates:
    """The shared part: each variable's step uses `learning_rate * multipliers[path]`."""

    def _check_multipliers(self, multipliers: Mapping[str, float]) -> dict[str, float]:
        if not isinstance(multipliers, Mapping) or not multipliers:
            raise InputError(
                f"{type(self).__name__}: multipliers must be a non-empty dict "
                f"{{variable path: factor}} from mup.lr_multipliers, got {multipliers!r}"
            )
        return {str(k): _positive(m, f"multiplier of {k}") for k, m in multipliers.items()}

    def build(self, variables) -> None:
        """The parent's build, then each variable's factor, looked up by its path."""
        missing = [variable_key(v) for v in variables if variable_key(v) not in self.multipliers]
        if missing:
            raise InputError(
                f"{type(self).__name__} has no rate multiplier for {missing}: build its "
                f"multipliers from this model (mup.lr_multipliers(model, base, ...))"
            )
        super().build(variables)
        self._factors = [self.multipliers[variable_key(v)] for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        """The parent's step for `variable` with its rate times its multiplier."""
        factor = self._factors[self._get_variable_index(variable)]
        return super().update_step(gradient, variable, learning_rate * factor)

    def get_config(self) -> dict[str, Any]:
        """The parent's config plus `multipliers`."""
        return {**super().get_config(), "multipliers": dict(self.multipliers)}


@keras.saving.register_keras_serializable(package="lr_lessons")
class MuAdam(_PerVariableRates, keras.optimizers.Adam):
    """Keras' Adam with a muP factor on each variable's learning rate.

    Args:
        learning_rate: The global rate (a float or a schedule), the one you tuned at the
            base width.
        multipliers: `{variable path: factor}`, from `lr_multipliers(model, base, "adam")`.
        **kwargs: `keras.optimizers.Adam`'s other arguments (`beta_1`, `epsilon`, ...).

    Example:

    ```python
    opt = mup.MuAdam(3e-3, multipliers=mup.lr_multipliers(model, base, "adam"))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    ```
    """

    def __init__(
        self, learning_rate: Any = 0.001, multipliers: Mapping[str, float] | None = None, **kw: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kw)
        self.multipliers = self._check_multipliers(multipliers)


@keras.saving.register_keras_serializable(package="lr_lessons")
class MuSGD(_PerVariableRates, keras.optimizers.SGD):
    """Keras' SGD (with or without momentum) with a muP factor on each variable's rate.

    Args:
        learning_rate: The global rate (a float or a schedule), the one you tuned at the
            base width.
        multipliers: `{variable path: factor}`, from `lr_multipliers(model, base, "sgd")`.
        **kwargs: `keras.optimizers.SGD`'s other arguments (`momentum`, `nesterov`, ...).

    Example:

    ```python
    opt = mup.MuSGD(0.1, multipliers=mup.lr_multipliers(model, base, "sgd"))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    ```
    """

    def __init__(
        self, learning_rate: Any = 0.01, multipliers: Mapping[str, float] | None = None, **kw: Any
    ) -> None:
        super().__init__(learning_rate=learning_rate, **kw)
        self.multipliers = self._check_multipliers(multipliers)
