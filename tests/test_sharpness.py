"""The sharpness tool and chapter 10's runs, against independent computations.

- the exact Hessian (nested tapes) against central finite differences of the gradient,
  in float64, where the difference error is O(h^2) and rounding O(eps / h);
- Hessian-vector products against the dense Hessian times the vector;
- the top eigenvalue from SciPy's Lanczos on Hessian-vector products against NumPy's
  full eigendecomposition, and against plain power iteration;
- the preconditioned sharpness against the largest eigenvalue of the dense, non-symmetric
  `diag(1/p) @ H` (NumPy's general `eig`), and Adam's preconditioner against the step
  Keras' Adam really takes;
- the stacked runs of `lr_lessons.lab.edge_of_stability` against Keras: same initial
  loss and sharpness, the same trajectory under `SGD` and `Adam` for a few steps.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.lab import edge_of_stability as eos
from lr_lessons.lab.data import load_blobs
from lr_lessons.tools import sharpness as sh
from lr_lessons.views import edge_of_stability_claims as eoc


@pytest.fixture
def float64():
    """Keras in float64 (layers, inputs and losses) for the duration of a test."""
    before = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    # An explicitly set global policy (another test may leave "float32" set) overrides floatx.
    keras.config.set_dtype_policy("float64")
    yield
    keras.config.set_floatx(before[0])
    keras.config.set_dtype_policy(before[1])


def small_model(seed: int = 0) -> keras.Sequential:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(2,)),
            keras.layers.Dense(4, activation="tanh"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 2))
    y = np.eye(3)[rng.integers(0, 3, 40)]
    return x, y


def _set_flat(model: keras.Model, flat: np.ndarray) -> None:
    out, i = [], 0
    for w in model.get_weights():
        out.append(flat[i : i + w.size].reshape(w.shape))
        i += w.size
    model.set_weights(out)


def test_exact_hessian_matches_finite_differences(data, float64):
    x, y = data
    model = small_model()
    loss = keras.losses.CategoricalCrossentropy()
    h = sh.hessian(model, loss, x, y)
    p = sh.weight_count(model)
    assert h.shape == (p, p) == (27, 27)
    w0 = np.concatenate([w.ravel() for w in model.get_weights()])
    step = 1e-5  # float64: truncation ~ step^2 * |third derivative|, rounding ~ 1e-16 / step
    fd = np.empty((p, p))
    for i in range(p):
        e = np.zeros(p)
        e[i] = step
        _set_flat(model, w0 + e)
        plus = sh.gradient(model, loss, x, y)
        _set_flat(model, w0 - e)
        minus = sh.gradient(model, loss, x, y)
        fd[:, i] = (plus - minus) / (2 * step)
    _set_flat(model, w0)
    assert np.abs(h - fd).max() <= 1e-7 * max(1.0, np.abs(h).max())
    assert np.allclose(h, h.T)


def test_hvp_is_hessian_times_vector(data, float64):
    x, y = data
    model = small_model()
    loss = keras.losses.CategoricalCrossentropy()
    h = sh.hessian(model, loss, x, y)
    v = np.random.default_rng(1).standard_normal(h.shape[0])
    assert np.allclose(sh.hvp(model, loss, x, y, v), h @ v, rtol=1e-10, atol=1e-12)
    with pytest.raises(InputError, match="27 weights"):
        sh.hvp(model, loss, x, y, v[:5])


def power_iteration(matvec, size: int, shift: float, iterations: int = 3000) -> float:
    """Largest eigenvalue of A by power iteration on A + shift I (shift > |min eigenvalue|)."""
    v = np.random.default_rng(2).standard_normal(size)
    for _ in range(iterations):
        w = matvec(v) + shift * v
        v = w / np.linalg.norm(w)
    return float(v @ matvec(v))


def test_top_eigenvalue_three_ways():
    blobs = load_blobs()
    keras.utils.set_random_seed(0)
    model = eos.model(eos.Spec((0.1,), 10, 10, loss="ce", standardize=False))
    loss = keras.losses.CategoricalCrossentropy()
    x, y = blobs.x_train, blobs.y_train
    h = sh.hessian(model, loss, x, y)
    values = np.linalg.eigvalsh(h)
    exact = sh.sharpness(model, loss, x, y, method="exact")
    lanczos = sh.sharpness(model, loss, x, y)
    assert exact == pytest.approx(values[-1], rel=1e-12)
    # float32 Hessian-vector products: agreement to float32 accuracy of the operator.
    assert lanczos == pytest.approx(exact, rel=1e-4)
    power = power_iteration(lambda v: h @ v, h.shape[0], shift=abs(values[0]))
    assert power == pytest.approx(exact, rel=1e-4)


def test_preconditioned_sharpness_against_dense(data, float64):
    x, y = data
    model = small_model()
    loss = keras.losses.CategoricalCrossentropy()
    p = np.random.default_rng(3).uniform(0.01, 2.0, sh.weight_count(model))
    h = sh.hessian(model, loss, x, y)
    dense = np.max(np.linalg.eigvals(np.diag(1 / p) @ h).real)
    assert sh.preconditioned_sharpness(model, loss, x, y, p, method="exact") == pytest.approx(
        dense, rel=1e-9
    )
    assert sh.preconditioned_sharpness(model, loss, x, y, p) == pytest.approx(dense, rel=1e-6)
    with pytest.raises(InputError, match="positive"):
        sh.preconditioned_sharpness(model, loss, x, y, -p)


def test_adam_preconditioner_is_the_step_keras_takes(data, float64):
    x, y = data
    model = small_model()
    rate = 0.05
    opt = keras.optimizers.Adam(learning_rate=rate)
    model.compile(optimizer=opt, loss="categorical_crossentropy")
    model.fit(x, y, batch_size=len(x), epochs=3, verbose=0, shuffle=False)
    before = np.concatenate([w.ravel() for w in model.get_weights()])
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    after = np.concatenate([w.ravel() for w in model.get_weights()])
    # Keras computes in float32 the rate and the bias corrections' betas: round them so.
    v = np.concatenate(
        [
            keras.ops.convert_to_numpy(opt._velocities[opt._get_variable_index(w)]).ravel()
            for w in model.trainable_variables
        ]
    )
    b1, b2 = float(np.float32(opt.beta_1)), float(np.float32(opt.beta_2))
    p = sh.preconditioner_diagonal(v, 4, b1, b2, opt.epsilon)
    assert np.allclose(p, sh.adam_preconditioner(opt, model), rtol=1e-4)
    m = np.concatenate(
        [
            keras.ops.convert_to_numpy(opt._momentums[opt._get_variable_index(v)]).ravel()
            for v in model.trainable_variables
        ]
    )
    # Left: a few 1e-8 from Keras' float32 hyperparameters; without the float32 betas
    # the bias correction alone is 6.6e-6 off at t = 4.
    assert np.allclose(before - after, rate * m / p, rtol=1e-7, atol=1e-14)
    with pytest.raises(InputError, match="no update"):
        sh.adam_preconditioner(keras.optimizers.Adam(), small_model())


def test_monitor_records_sharpness_in_fit(data):
    x, y = data
    model = small_model()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="categorical_crossentropy")
    monitor = sh.SharpnessMonitor(x, y, every=2)
    history = model.fit(x, y, batch_size=len(x), epochs=4, verbose=0, callbacks=[monitor])
    assert monitor.epochs == [1, 2, 4]
    loss = keras.losses.CategoricalCrossentropy()
    assert monitor.values[-1] == pytest.approx(sh.sharpness(model, loss, x, y, "exact"), rel=1e-4)
    p = sh.adam_preconditioner(model.optimizer, model)
    exact = sh.preconditioned_sharpness(model, loss, x, y, p, method="exact")
    assert monitor.preconditioned[-1] == pytest.approx(exact, rel=1e-4)
    assert history.history["sharpness"][-1] == monitor.values[-1]


# --- the stacked runs against Keras ------------------------------------------------------


def _keras_run(spec: eos.Spec, seed: int, rate: float, steps: int):
    blobs = load_blobs()
    x, y = eos.inputs(blobs, spec.standardize)
    keras.utils.set_random_seed(seed)
    model = eos.model(spec)
    opt = (
        keras.optimizers.SGD(rate)
        if spec.optimizer == "gd"
        else keras.optimizers.Adam(rate, spec.beta_1, spec.beta_2, spec.epsilon)
    )
    model.compile(optimizer=opt, loss=eos.keras_loss(spec))
    losses = [model.evaluate(x, y, batch_size=len(x), verbose=0)]
    for _ in range(steps):
        model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
        losses.append(model.evaluate(x, y, batch_size=len(x), verbose=0))
    return model, x, y, np.array(losses)


@pytest.mark.parametrize(
    "options",
    [
        dict(optimizer="gd", loss="ce", activation="tanh", standardize=False),
        dict(optimizer="adam", loss="ce", activation="tanh", standardize=False),
        dict(optimizer="gd", loss="mse", activation="relu", standardize=True),
    ],
    ids=["gd-ce-tanh", "adam-ce-tanh", "gd-mse-relu"],
)
def test_stacked_runs_follow_keras(options):
    rate = 0.01 if options["optimizer"] == "adam" else 0.05
    spec = eos.Spec((rate, 2 * rate), steps=10, every=5, **options)
    runs = eos.train(spec, [0, 3])
    assert runs.loss.shape == (2, 2, 11) and runs.sharpness.shape == (2, 2, 3)
    model, x, y, losses = _keras_run(spec, 3, rate, 10)
    # float32 on both sides, 10 steps: agreement to a few float32 roundings of the loss.
    assert np.allclose(runs.loss[0, 1], losses, rtol=2e-5)
    loss = eos.keras_loss(spec)
    exact = sh.sharpness(model, loss, x, y, method="exact")
    assert runs.sharpness[0, 1, -1] == pytest.approx(exact, rel=1e-3)
    if spec.optimizer == "adam":
        p = sh.adam_preconditioner(model.optimizer, model)
        pre = sh.preconditioned_sharpness(model, loss, x, y, p, method="exact")
        assert runs.preconditioned[0, 1, -1] == pytest.approx(pre, rel=1e-3)
        assert np.isnan(runs.preconditioned[0, 1, 0])


def test_relative_rates_and_divergence():
    spec = eos.Spec((0.5, 50.0), 20, 10, loss="mse", activation="relu", relative=True)
    runs = eos.train(spec, [0])
    lam0 = runs.sharpness[0, 0, 0]
    assert runs.rates[0, 0] == pytest.approx(0.5 * 2 / lam0, rel=1e-6)
    assert runs.rates[1, 0] == pytest.approx(50 * 2 / lam0, rel=1e-6)
    assert not runs.diverged[0, 0] and runs.diverged[1, 0]  # 100 / lambda_0 blows up
    assert np.isnan(runs.sharpness[1, 0, -1])


def test_trajectories_round_trip(tmp_path):
    spec = eos.Spec((0.1,), 4, 2, optimizer="adam")
    runs = eos.train(spec, [1])
    runs.meta["note"] = "x"
    runs.save(tmp_path / "t.npz")
    back = eos.Trajectories.load(tmp_path / "t.npz")
    assert back.spec == spec and back.seeds == [1] and back.meta["note"] == "x"
    for name in ("loss", "accuracy", "sharpness", "preconditioned", "rates"):
        assert np.array_equal(getattr(back, name), getattr(runs, name), equal_nan=True)


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(rates=()), "rates is empty"),
        (dict(rates=(-1.0,)), "rate"),
        (dict(steps=10, every=3), "multiple"),
        (dict(loss="hinge"), "loss"),
        (dict(optimizer="rmsprop"), "optimizer"),
    ],
)
def test_spec_rejects_bad_input(bad, match):
    args = dict(rates=(0.1,), steps=10, every=5) | bad
    with pytest.raises(InputError, match=match):
        eos.Spec(**args)


def test_loss_measures():
    steps = np.arange(1001, dtype=float)
    smooth = np.exp(-steps / 300)[None]
    bumpy = smooth * (1 + 0.05 * (np.arange(1001) % 2))
    assert eoc.long_decrease(smooth, 100)[0] and eoc.long_decrease(bumpy, 100)[0]
    assert eoc.rise_share(smooth)[0] == 0
    assert eoc.rise_share(bumpy)[0] == pytest.approx(0.5, abs=0.01)
    flat_end = smooth.copy()
    flat_end[0, 400:] = flat_end[0, 400]
    assert not eoc.long_decrease(flat_end, 100)[0]
