"""Sharpness: the top eigenvalue of a Keras model's loss Hessian, and Adam's preconditioned one.

Gradient descent with rate `eta` on a quadratic whose largest curvature is `a` diverges
once `eta > 2 / a` (chapter 0). For a network the curvature is the loss Hessian `H`
(second derivatives with respect to every weight), and its largest eigenvalue is
called the sharpness. Cohen et al. (ICLR 2021) found that full-batch gradient descent
drives the sharpness up to `2 / eta` and then trains on at that edge.

What is here (TensorFlow backend: the Hessian needs nested gradient tapes):

- `hessian`: the exact Hessian of the loss on `(x, y)`, a `(P, P)` array for a model
  with `P` weights (nested tapes; fine up to a few thousand weights).
- `hvp`: a Hessian-vector product `H v` without forming `H` (double backward).
- `sharpness`: the top eigenvalue, from SciPy's Lanczos (`scipy.sparse.linalg.eigsh`)
  on a `LinearOperator` of Hessian-vector products, or from the dense Hessian.
- `adam_preconditioner` and `preconditioned_sharpness`: Cohen et al. (2022) write
  Adam's step as `w <- w - eta P^{-1} m` and watch the top eigenvalue of `P^{-1} H`,
  which Adam keeps near `(2 + 2 beta_1) / ((1 - beta_1) eta)`, that is `38 / eta` for
  `beta_1 = 0.9`.
- `SharpnessMonitor`: a callback recording the sharpness every few epochs of a
  full-batch `model.fit`.

The loss is what `model.compile` would use, averaged over the given points, evaluated
with `training=False`. Example:

```python
from lr_lessons.tools.sharpness import sharpness

top = sharpness(model, keras.losses.CategoricalCrossentropy(), x_train, y_train)
print(f"sharpness {top:.2f}; gradient descent is stable below rate {2 / top:.3f}")
```
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lr_lessons.checks import InputError, one_of, whole_number

Loss = Callable[[Any, Any], Any]


def _variables(model: keras.Model) -> list:
    if keras.backend.backend() != "tensorflow":
        raise InputError(
            f"lr_lessons.tools.sharpness needs the TensorFlow backend, not "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow"
        )
    variables = list(model.trainable_variables)
    if not variables:
        raise InputError(f"model {model.name!r} has no trainable weights: build it first")
    return variables


def _flat(tensors: Sequence[Any]) -> tf.Tensor:
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], axis=0)


def _pieces(vector: Any, variables: Sequence[Any]) -> list[tf.Tensor]:
    """Split a flat vector into tensors shaped like `variables`."""
    sizes = [int(np.prod(v.shape)) for v in variables]
    parts = tf.split(tf.cast(vector, variables[0].dtype), sizes)
    return [tf.reshape(p, v.shape) for p, v in zip(parts, variables)]


def _loss_value(model: keras.Model, loss: Loss, x: Any, y: Any) -> tf.Tensor:
    # The mean over points: a Keras loss object already returns it, a loss function
    # (`keras.losses.get("categorical_crossentropy")`) returns one value per point.
    return tf.reduce_mean(loss(y, model(x, training=False)))


def weight_count(model: keras.Model) -> int:
    """The number of trainable weights `P` (the Hessian is `P x P`)."""
    return sum(int(np.prod(v.shape)) for v in _variables(model))


def gradient(model: keras.Model, loss: Loss, x: Any, y: Any) -> np.ndarray:
    """The gradient of the loss with respect to every trainable weight, as one flat vector.

    Args:
        model: A built Keras model.
        loss: A Keras loss (or any `loss(y_true, y_pred)` returning a scalar).
        x: Inputs.
        y: Targets.

    Returns:
        A float64 vector of length `weight_count(model)`, in the order of
        `model.trainable_variables`.
    """
    variables = _variables(model)
    with tf.GradientTape() as tape:
        value = _loss_value(model, loss, x, y)
    return _flat(tape.gradient(value, variables)).numpy().astype("float64")


def hessian(model: keras.Model, loss: Loss, x: Any, y: Any) -> np.ndarray:
    """The exact Hessian of the loss with respect to the trainable weights.

    Nested gradient tapes: the inner one gives the gradient, the outer one its Jacobian.

    Args:
        model: A built Keras model.
        loss: A Keras loss (or any `loss(y_true, y_pred)` returning a scalar).
        x: Inputs.
        y: Targets.

    Returns:
        A symmetric float64 array of shape `(P, P)`, `P = weight_count(model)`, rows and
        columns in the order of `model.trainable_variables` (each flattened).
    """
    variables = _variables(model)

    @tf.function
    def compute(x, y):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                value = _loss_value(model, loss, x, y)
            flat = _flat(inner.gradient(value, variables))
        blocks = outer.jacobian(flat, variables, experimental_use_pfor=True)
        return tf.concat([tf.reshape(b, (tf.shape(flat)[0], -1)) for b in blocks], axis=1)

    h = compute(tf.convert_to_tensor(x), tf.convert_to_tensor(y)).numpy().astype("float64")
    return (h + h.T) / 2  # exact up to rounding; symmetrise the rounding


class _HessianProduct:
    """`v -> H v` for one model, loss and data set, traced once and reused."""

    def __init__(self, model: keras.Model, loss: Loss, x: Any, y: Any) -> None:
        self.variables = _variables(model)
        self.x, self.y = tf.convert_to_tensor(x), tf.convert_to_tensor(y)
        self.size = sum(int(np.prod(v.shape)) for v in self.variables)
        variables = self.variables

        @tf.function
        def product(x, y, vector):
            with tf.GradientTape() as outer:
                with tf.GradientTape() as inner:
                    value = _loss_value(model, loss, x, y)
                grads = inner.gradient(value, variables)
                inner_product = tf.add_n(
                    [tf.reduce_sum(g * p) for g, p in zip(grads, _pieces(vector, variables))]
                )
            return _flat(outer.gradient(inner_product, variables))

        self._product = product

    def __call__(self, vector: np.ndarray) -> np.ndarray:
        v = np.asarray(vector, dtype="float64").reshape(-1)
        out = self._product(self.x, self.y, tf.constant(v, dtype=self.variables[0].dtype))
        return out.numpy().astype("float64")


def hvp(model: keras.Model, loss: Loss, x: Any, y: Any, vector: Any) -> np.ndarray:
    """The Hessian-vector product `H v`, without forming `H`.

    The gradient of `g . v` (with `v` held fixed) is `H v`: two backward passes.

    Args:
        model: A built Keras model.
        loss: A Keras loss.
        x: Inputs.
        y: Targets.
        vector: A flat vector of length `weight_count(model)`.

    Returns:
        `H v`, a float64 vector of the same length.
    """
    product = _HessianProduct(model, loss, x, y)
    v = np.asarray(vector, dtype="float64").reshape(-1)
    if v.size != product.size:
        raise InputError(
            f"vector has {v.size} entries but the model has {product.size} weights: pass one "
            "entry per trainable weight"
        )
    return product(v)


def _top_of_operator(matvec: Callable[[np.ndarray], np.ndarray], size: int, tol: float) -> float:
    from scipy.sparse.linalg import LinearOperator, eigsh

    operator = LinearOperator((size, size), matvec=matvec, dtype="float64")
    start = np.random.default_rng(0).standard_normal(size)  # fixed: same answer every call
    value = eigsh(operator, k=1, which="LA", v0=start, tol=tol, return_eigenvectors=False)
    return float(value[0])


def sharpness(
    model: keras.Model,
    loss: Loss,
    x: Any,
    y: Any,
    method: str = "lanczos",
    tol: float = 1e-6,
) -> float:
    """The sharpness: the largest eigenvalue of the loss Hessian at the model's weights.

    Args:
        model: A built Keras model.
        loss: A Keras loss.
        x: Inputs (all the points gradient descent sees: the full batch).
        y: Targets.
        method: `"lanczos"` (SciPy's `eigsh` on Hessian-vector products; any size) or
            `"exact"` (the dense `hessian` and `numpy.linalg.eigvalsh`; small models).
        tol: Relative accuracy asked of Lanczos.

    Returns:
        The largest (most positive) eigenvalue.
    """
    one_of(method, ("lanczos", "exact"), "method")
    if method == "exact":
        return float(np.linalg.eigvalsh(hessian(model, loss, x, y))[-1])
    product = _HessianProduct(model, loss, x, y)
    return _top_of_operator(product, product.size, tol)


def adam_preconditioner(optimizer: keras.optimizers.Adam, model: keras.Model) -> np.ndarray:
    """The diagonal of Adam's preconditioner `P` after its latest update.

    Cohen et al. (2022) write Adam's step as `w <- w - eta P^{-1} m` with `m` the
    (uncorrected) moving average of gradients and
    `P = (1 - beta_1^t) (sqrt(v_hat) + eps)`, `v_hat = v / (1 - beta_2^t)`. Keras' Adam
    adds `eps` before its bias correction of `v` (its step is
    `eta sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + eps)`), so the preconditioner
    of the step Keras really takes is `(1 - beta_1^t) (sqrt(v) + eps) / sqrt(1 - beta_2^t)`:
    Cohen et al.'s with `eps / sqrt(1 - beta_2^t)` in place of `eps`. That is what is
    returned (the two agree to `eps`, `1e-7` by default).

    Args:
        optimizer: A Keras `Adam` that has made at least one update of `model`.
        model: The model it trains.

    Returns:
        `P`'s diagonal, a positive float64 vector of length `weight_count(model)`.
    """
    if not isinstance(optimizer, keras.optimizers.Adam) or optimizer.amsgrad:
        raise InputError(f"optimizer must be keras.optimizers.Adam (no amsgrad), got {optimizer!r}")
    t = int(keras.ops.convert_to_numpy(optimizer.iterations))
    if t < 1:
        raise InputError("the optimizer has made no update yet: its preconditioner is undefined")
    beta_1, beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
    eps = float(optimizer.epsilon)
    velocities = [
        keras.ops.convert_to_numpy(optimizer._velocities[optimizer._get_variable_index(v)])
        for v in _variables(model)
    ]
    v = np.concatenate([a.reshape(-1) for a in velocities]).astype("float64")
    return preconditioner_diagonal(v, t, beta_1, beta_2, eps)


def preconditioner_diagonal(
    velocity: np.ndarray, step: int, beta_1: float, beta_2: float, epsilon: float
) -> np.ndarray:
    """Adam's preconditioner `(1 - beta_1^t) (sqrt(v) + eps) / sqrt(1 - beta_2^t)` (Keras' step).

    Args:
        velocity: Adam's uncorrected moving average `v` of squared gradients.
        step: The number of updates made, `t >= 1`.
        beta_1: Adam's `beta_1`.
        beta_2: Adam's `beta_2`.
        epsilon: Adam's `epsilon`.

    Returns:
        The diagonal of `P`, float64.
    """
    whole_number(step, "step", minimum=1)
    v = np.asarray(velocity, dtype="float64")
    return (1 - beta_1**step) * (np.sqrt(v) + epsilon) / np.sqrt(1 - beta_2**step)


def preconditioned_sharpness(
    model: keras.Model,
    loss: Loss,
    x: Any,
    y: Any,
    preconditioner: np.ndarray,
    method: str = "lanczos",
    tol: float = 1e-6,
) -> float:
    """The largest eigenvalue of `P^{-1} H`, for a diagonal preconditioner `P`.

    `P^{-1} H` has the eigenvalues of the symmetric `P^{-1/2} H P^{-1/2}`, which is what
    is computed.

    Args:
        model: A built Keras model.
        loss: A Keras loss.
        x: Inputs (the full batch).
        y: Targets.
        preconditioner: `P`'s diagonal (e.g. from `adam_preconditioner`), positive.
        method: `"lanczos"` or `"exact"`, as in `sharpness`.
        tol: Relative accuracy asked of Lanczos.

    Returns:
        The largest eigenvalue of `P^{-1} H`.
    """
    one_of(method, ("lanczos", "exact"), "method")
    p = np.asarray(preconditioner, dtype="float64").reshape(-1)
    if not (np.all(np.isfinite(p)) and np.all(p > 0)):
        raise InputError("preconditioner must be positive and finite: pass P's diagonal")
    scale = 1 / np.sqrt(p)
    if method == "exact":
        h = hessian(model, loss, x, y)
        return float(np.linalg.eigvalsh(scale[:, None] * h * scale[None, :])[-1])
    product = _HessianProduct(model, loss, x, y)
    if p.size != product.size:
        raise InputError(f"preconditioner has {p.size} entries for {product.size} weights")
    return _top_of_operator(lambda v: scale * product(scale * v), product.size, tol)


class SharpnessMonitor(keras.callbacks.Callback):
    """Record the sharpness (and, under Adam, the preconditioned sharpness) every few epochs.

    Meant for full-batch training (`batch_size=len(x)`), where one epoch is one step of
    gradient descent and the sharpness of the loss on `(x, y)` is the curvature that
    step sees. The values are appended to `epochs`, `values` and (for `Adam`)
    `preconditioned`, and written to the logs as `sharpness`.

    Args:
        x: The training inputs.
        y: The training targets.
        every: Measure after every `every`-th epoch (and after the first).
        loss: The loss; default the model's compiled loss.
        tol: Relative accuracy asked of Lanczos.

    Example:

    ```python
    monitor = SharpnessMonitor(x_train, y_train, every=50)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=len(x_train), epochs=1000, callbacks=[monitor])
    print(monitor.values[-1], 2 / 0.5)  # at the edge: close to 2 / eta
    ```
    """

    def __init__(
        self, x: Any, y: Any, every: int = 10, loss: Loss | None = None, tol: float = 1e-6
    ) -> None:
        super().__init__()
        self.x, self.y = x, y
        self.every = whole_number(every, "every", minimum=1)
        self.loss = loss
        self.tol = tol
        self._product: _HessianProduct | None = None
        self.epochs: list[int] = []
        self.values: list[float] = []
        self.preconditioned: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Measure after the first epoch and every `every`-th one."""
        done = epoch + 1
        if done != 1 and done % self.every:
            return
        if self._product is None:  # traced once, reused at every measurement
            loss = self.loss or keras.losses.get(self.model.loss)
            self._product = _HessianProduct(self.model, loss, self.x, self.y)
        product = self._product
        self.epochs.append(done)
        self.values.append(_top_of_operator(product, product.size, self.tol))
        if isinstance(self.model.optimizer, keras.optimizers.Adam):
            scale = 1 / np.sqrt(adam_preconditioner(self.model.optimizer, self.model))
            top = _top_of_operator(lambda v: scale * product(scale * v), product.size, self.tol)
            self.preconditioned.append(top)
        if logs is not None:
            logs["sharpness"] = self.values[-1]
