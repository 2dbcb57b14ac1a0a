"""Hypergradient descent: optimizers whose learning rate is learned by gradient descent.

Baydin et al., 2018, "Online Learning Rate Adaptation with Hypergradient Descent"
(ICLR). The update `theta_t = theta_{t-1} + u_t` depends on the rate `alpha`, so
the loss at the next step has a derivative with respect to the rate used in the
previous step: `h_t = g_t . d u_{t-1} / d alpha` (`g_t` the current gradient, the
dot product taken over *all* parameters at once). One gradient-descent step on the
rate with the hypergradient rate `beta` (`hypergrad_lr` here, as in the authors'
code) gives `alpha_t = alpha_{t-1} - beta * h_t`, which then drives the ordinary step:

- SGD-HD: `u = -alpha g`, so `h_t = -g_t . g_{t-1}` and
  `alpha_t = alpha_{t-1} + beta * g_t . g_{t-1}`: the rate grows while successive
  gradients agree and shrinks when the steps overshoot and they point against each other.
- Adam-HD: `u = -alpha d` with Adam's direction `d = m_hat / (sqrt(v_hat) + eps)`,
  so `alpha_t = alpha_{t-1} + beta * g_t . d_{t-1}`.

The optimizers are Keras 3 `Optimizer` subclasses: use them in `model.compile`,
save and load them with the model, and read the rate in force at any time from
`optimizer.learning_rate` (a variable holding the adapted rate; `float(...)` it).
They depend on Keras and, for their input checks, `lr_lessons.checks`.

Two choices worth knowing:

- The rate is adapted once per update, from the gradients of every trainable variable,
  *before* the per-variable updates (Keras updates variables one at a time in
  `update_step`, which cannot see a global dot product); the hook is
  `_backend_update_step`, which Keras calls after gradient clipping, weight decay and
  gradient accumulation, so those options keep working. It assumes one device (no
  `tf.distribute` strategy that splits the batch across replicas) and is tested with
  the TensorFlow backend, inside `model.fit`'s compiled train step and eagerly.
- `AdamHD` is Keras' own `Adam` with the hook added, so with `hypergrad_lr=0` it
  *is* Keras' Adam, bit for bit. Keras' `epsilon` is Kingma and Ba's "epsilon hat":
  Keras moves by `alpha * m_hat / (sqrt(v_hat) + epsilon / sqrt(1 - beta_2**t))`. The
  hypergradient uses the derivative of the step actually taken, i.e. the paper's
  Algorithm with its epsilon read as `epsilon / sqrt(1 - beta_2**t)` (the authors'
  PyTorch code does the same). The difference from a constant epsilon is far below
  float32 noise once `sqrt(v_hat)` exceeds `epsilon`.

As in the paper, the rate is not clipped: a too-large `hypergrad_lr` can drive it
negative or make it explode, which the lessons show rather than hide.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from lr_lessons import checks
from lr_lessons.checks import InputError

__all__ = ["SGDHD", "AdamHD"]


def _check_initial_rate(value: Any, name: str) -> float:
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule) or callable(value):
        raise InputError(
            f"{name}: learning_rate must be a positive number (the initial rate, which "
            f"hypergradient descent then adapts), not a schedule or callable: {value!r}"
        )
    return checks.positive_number(value, f"{name}: learning_rate")


# Keras' common optimizer options and what each accepts (None always means "off").
_OPTIONS = {
    "weight_decay": dict(at_least=0),
    "clipnorm": dict(above=0),
    "clipvalue": dict(above=0),
    "global_clipnorm": dict(above=0),
    "loss_scale_factor": dict(above=0),
    "ema_momentum": dict(at_least=0, at_most=1),
}


def _check_options(options: dict[str, Any], name: str) -> None:
    """Refuse Keras' common optimizer options that would fail later or train wrong."""
    for key, bounds in _OPTIONS.items():
        if options.get(key) is not None:
            checks.number_in(options[key], f"{name}: {key}", **bounds)
    steps = options.get("gradient_accumulation_steps")
    if steps is not None:
        checks.whole_number(steps, f"{name}: gradient_accumulation_steps", minimum=2)


class _HypergradientMixin:
    """The shared part: one global hypergradient step on the rate before every update."""

    hypergrad_lr: float

    def _previous_direction(self, variable):  # pragma: no cover - abstract
        """`-d u_{t-1} / d alpha` for `variable`: the direction of the previous step."""
        raise NotImplementedError

    def _backend_update_step(self, grads, trainable_variables, learning_rate):
        # alpha_t = alpha_{t-1} + beta * sum over variables of g_t . d_{t-1}
        rate = self._learning_rate
        agreement = ops.zeros((), dtype=rate.dtype)
        for grad, variable in zip(grads, trainable_variables):
            grad = ops.cast(ops.convert_to_tensor(grad), rate.dtype)
            direction = ops.cast(self._previous_direction(variable), rate.dtype)
            agreement = ops.add(agreement, ops.sum(ops.multiply(grad, direction)))
        new_rate = ops.add(
            ops.convert_to_tensor(rate),
            # convert_to_tensor(.., dtype) rather than cast: casting a Python float
            # goes through float32 first, which would round beta in float64 runs.
            ops.multiply(ops.convert_to_tensor(self.hypergrad_lr, dtype=rate.dtype), agreement),
        )
        self.assign(rate, new_rate)
        super()._backend_update_step(grads, trainable_variables, new_rate)


@keras.saving.register_keras_serializable(package="lr_lessons")
class SGDHD(_HypergradientMixin, keras.optimizers.Optimizer):
    """Plain SGD whose rate follows `alpha_t = alpha_{t-1} + beta * g_t . g_{t-1}`.

    `optimizer.learning_rate` holds the rate of the most recent update.

    Args:
        learning_rate: The initial rate `alpha_0` (a positive float).
        hypergrad_lr: `beta`, the rate at which the rate learns (>= 0; 0 is Keras' SGD).
            The paper used 1E-3 (with `alpha_0` = 1E-3) on its problems; the right value
            scales with the squared size of the gradients, so it depends on the model and loss.
        **kwargs: Keras' common optimizer options (`clipnorm`, `weight_decay`, ...).

    Raises:
        InputError: If `learning_rate` is not a positive number (a schedule is refused:
            the rate is what hypergradient descent adapts), `hypergrad_lr` is negative,
            or one of Keras' common options is out of range (`weight_decay` < 0, a
            clipping bound or `loss_scale_factor` <= 0, `gradient_accumulation_steps`
            not a whole number >= 2, `ema_momentum` outside [0, 1]).

    Example:

    ```python
    from lr_lessons import SGDHD

    optimizer = SGDHD(learning_rate=0.01, hypergrad_lr=1e-3)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=2, verbose=0)
    print(float(optimizer.learning_rate))  # the rate it has learned
    ```
    """

    def __init__(
        self, learning_rate: float = 0.01, hypergrad_lr: float = 1e-3, **kwargs: Any
    ) -> None:
        rate = _check_initial_rate(learning_rate, "SGDHD")
        beta = checks.positive_number(hypergrad_lr, "SGDHD: hypergrad_lr", allow_zero=True)
        _check_options(kwargs, "SGDHD")
        super().__init__(learning_rate=rate, **kwargs)
        self.hypergrad_lr = beta

    def build(self, variables) -> None:
        """Create one "previous gradient" slot per trainable variable."""
        if self.built:
            return
        super().build(variables)
        self._previous_gradients = self.add_optimizer_variables(variables, "previous_gradient")

    def _previous_direction(self, variable):
        return self._previous_gradients[self._get_variable_index(variable)]

    def update_step(self, gradient, variable, learning_rate) -> None:
        """`w <- w - alpha_t g_t` exactly as Keras' SGD does it; remember `g_t`."""
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        self.assign(
            self._previous_gradients[self._get_variable_index(variable)],
            ops.convert_to_tensor(gradient),
        )
        self.assign_sub(variable, ops.multiply(gradient, learning_rate))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["hypergrad_lr"] = self.hypergrad_lr
        return config


@keras.saving.register_keras_serializable(package="lr_lessons")
class AdamHD(_HypergradientMixin, keras.optimizers.Adam):
    """Keras' Adam whose rate follows `alpha_t = alpha_{t-1} + beta * g_t . d_{t-1}`.

    `d_{t-1} = m_hat / (sqrt(v_hat) + eps)` is the direction of the previous Adam
    step (Keras' epsilon convention, see the module docstring); it is computed from
    Adam's own moment slots, so Adam-HD keeps no extra state.

    Args:
        learning_rate: The initial rate `alpha_0` (a positive float).
        hypergrad_lr: `beta` (>= 0; 0 is Keras' Adam). The paper used 1E-7 (1E-8 for
            VGG); `g . d` grows with the number of parameters, so larger models want
            a smaller value.
        beta_1: As for `keras.optimizers.Adam`.
        beta_2: As for `keras.optimizers.Adam`.
        epsilon: As for `keras.optimizers.Adam` (Keras' "epsilon hat").
        amsgrad: As for `keras.optimizers.Adam`.
        **kwargs: Keras' common optimizer options (`clipnorm`, `weight_decay`, ...).

    Raises:
        InputError: As for `SGDHD`, and if `beta_1` or `beta_2` is not in [0, 1),
            `epsilon` is not a positive number or `amsgrad` is not True or False.

    Example:

    ```python
    from lr_lessons import AdamHD

    optimizer = AdamHD(learning_rate=1e-3, hypergrad_lr=1e-7)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, epochs=2, verbose=0)
    print(float(optimizer.learning_rate))  # the rate it has learned
    ```
    """

    def __init__(
        self,
        learning_rate: float = 0.001,
        hypergrad_lr: float = 1e-7,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        **kwargs: Any,
    ) -> None:
        rate = _check_initial_rate(learning_rate, "AdamHD")
        beta = checks.positive_number(hypergrad_lr, "AdamHD: hypergrad_lr", allow_zero=True)
        beta_1 = checks.probability(beta_1, "AdamHD: beta_1")
        beta_2 = checks.probability(beta_2, "AdamHD: beta_2")
        epsilon = checks.positive_number(epsilon, "AdamHD: epsilon")
        amsgrad = checks.boolean(amsgrad, "AdamHD: amsgrad")
        _check_options(kwargs, "AdamHD")
        super().__init__(
            learning_rate=rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            **kwargs,
        )
        self.hypergrad_lr = beta

    def _previous_direction(self, variable):
        # After t-1 updates Keras' Adam moved by alpha * m * c / (sqrt(v) + eps) with
        # c = sqrt(1 - beta_2**(t-1)) / (1 - beta_1**(t-1)); before any update d = 0.
        index = self._get_variable_index(variable)
        m = self._momentums[index]
        v = self._velocity_hats[index] if self.amsgrad else self._velocities[index]
        dtype = m.dtype
        done = ops.cast(self.iterations, dtype)
        bias_1 = 1 - ops.power(ops.cast(self.beta_1, dtype), done)
        bias_2 = 1 - ops.power(ops.cast(self.beta_2, dtype), done)
        started = ops.greater(done, 0)
        scale = ops.where(
            started, ops.sqrt(bias_2) / ops.where(started, bias_1, ops.ones_like(bias_1)), 0
        )
        return ops.multiply(ops.divide(m, ops.add(ops.sqrt(v), self.epsilon)), scale)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["hypergrad_lr"] = self.hypergrad_lr
        return config
