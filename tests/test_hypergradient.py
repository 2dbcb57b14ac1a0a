"""SGD-HD and Adam-HD against the paper's equations, Keras' own optimizers and Keras saving."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.tools.callbacks import LearningRateMonitor
from lr_lessons.tools.hypergradient import SGDHD, AdamHD

# --- a quadratic with known curvature ------------------------------------------------

CURVATURE = 2.0  # f(theta) = CURVATURE / 2 * |theta|^2, split over two variables
BEST_RATE = 1 / CURVATURE


def quadratic_rates(alpha0: float, beta: float, steps: int = 200) -> np.ndarray:
    """The rate after each of ``steps`` SGD-HD updates on the quadratic (eager ``apply``)."""
    a = keras.Variable(np.array([1.0, -2.0], dtype="float32"))
    b = keras.Variable(np.array([0.5], dtype="float32"))
    opt = SGDHD(learning_rate=alpha0, hypergrad_lr=beta)
    rates = []
    for _ in range(steps):
        opt.apply([CURVATURE * a.value, CURVATURE * b.value], [a, b])
        rates.append(float(opt.learning_rate))
    return np.array(rates)


def test_rate_rises_from_too_small_and_settles_at_inverse_curvature():
    """On f = h/2 |theta|^2 the hypergradient is h_t = d f(theta_{t-1}) / d alpha_{t-1}
    = -g_t . g_{t-1} (the paper's derivation): HD runs gradient descent on the loss after
    one step, as a function of the rate. Here g_t = h theta_{t-1} = (1 - alpha h) g_{t-1},
    so g_t . g_{t-1} has the sign of 1 - alpha h. Below alpha* = 1/h (the step that lands
    on the minimum) successive gradients agree and the rate rises; between 1/h and 2/h
    they alternate and it falls; at 1/h the next gradient is zero and the rate stops.
    So the rate moves towards 1/h from either side and freezes once the parameters have
    converged: from 1E-3 with beta = 0.02 it climbs, never crossing 1/h, to within 3% of
    it; from 1.5/h it falls towards 1/h; started at 1/h it never moves.
    """
    rates = quadratic_rates(1e-3, 0.02)
    assert rates[0] == pytest.approx(1e-3)  # no previous gradient at the first step
    assert np.all(np.diff(rates) >= 0)
    assert rates.max() <= BEST_RATE * (1 + 1e-6)
    assert 0.97 * BEST_RATE <= rates[-1] <= BEST_RATE
    assert np.ptp(rates[-50:]) < 1e-7  # settled: the gradients have vanished

    from_above = quadratic_rates(1.5 * BEST_RATE, 0.003)
    assert np.all(np.diff(from_above) <= 0)
    assert from_above[-1] >= BEST_RATE
    assert from_above[-1] < 1.45 * BEST_RATE

    at_best = quadratic_rates(BEST_RATE, 0.02, steps=20)
    np.testing.assert_array_equal(at_best, np.full(20, BEST_RATE, dtype="float32"))


# --- a hand computation of the paper's algorithms ---------------------------------------

X = np.array(
    [[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-0.2, 0.8, 1.1], [1.0, 1.0, -1.0]]
    + [[0.1, -0.4, 0.9], [-1.3, 0.6, 0.2], [0.7, -0.9, -0.5], [0.4, 1.2, 0.3]],
    dtype="float32",
)
Y = np.array(
    [[1.0, -0.5], [0.2, 0.9], [-1.0, 0.3], [0.5, 0.5], [0.0, 1.0], [-0.7, 0.1], [0.9, -0.2]]
    + [[0.3, 0.6]],
    dtype="float32",
)
BATCH = 4
EPOCHS = 3  # 2 batches a epoch: 6 updates


class _WeightLog(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None) -> None:
        self.weights = getattr(self, "weights", [])
        self.weights.append([w.copy() for w in self.model.get_weights()])


@pytest.fixture(params=["float32", "float64"])
def floatx(request):
    """Run a test with Keras' default float type set to float32, then float64."""
    before = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(request.param)
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_floatx(before[0])
    keras.config.set_dtype_policy(before[1])


# Absolute tolerance on the weights after each update. In float64 both sides compute the
# same formulas to round-off. In float32 Adam divides m by sqrt(v) for components whose
# gradient is near zero, which magnifies float32 round-off to a few 1E-7 per step.
TOLERANCE = {"float64": 1e-12, "float32": {"sgd_hd": 1e-6, "adam_hd": 5e-6}}


def _keras_trajectory(optimizer):
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.layers[0].bias.assign(np.array([0.1, -0.2]))
    w0 = [w.astype("float64") for w in model.get_weights()]
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    log, monitor = _WeightLog(), LearningRateMonitor(per_batch=True)
    x, y = X.astype(keras.config.floatx()), Y.astype(keras.config.floatx())
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[log, monitor])  # fmt: skip
    return w0, log.weights, np.array(monitor.batch_rates)


def _batches():
    x, y = X.astype("float64"), Y.astype("float64")
    for _ in range(EPOCHS):
        for i in range(0, len(x), BATCH):
            yield x[i : i + BATCH], y[i : i + BATCH]


def _grads(w, b, x, y):
    """Gradients of Keras' mean squared error (mean over outputs and batch) of x @ w + b."""
    dy = 2 * (x @ w + b - y) / y.size
    return [x.T @ dy, dy.sum(axis=0)]


def _dot(u, v) -> float:
    return float(sum(np.sum(a * c) for a, c in zip(u, v)))


def test_sgd_hd_matches_the_paper_by_hand(floatx):
    """Algorithm (SGD-HD): g_t = grad f(theta_{t-1}); alpha_t = alpha_{t-1} + beta g_t . g_{t-1}
    over all parameters (kernel and bias together), g_0 = 0; theta_t = theta_{t-1} - alpha_t g_t.
    """
    alpha, beta = 0.05, 0.3
    atol = TOLERANCE[floatx] if floatx == "float64" else TOLERANCE[floatx]["sgd_hd"]
    w0, weights, rates = _keras_trajectory(SGDHD(learning_rate=alpha, hypergrad_lr=beta))
    params, previous = w0, [np.zeros_like(p) for p in w0]
    expected_rates = []
    for step, (x, y) in enumerate(_batches()):
        g = _grads(*params, x, y)
        alpha = alpha + beta * _dot(g, previous)
        params = [p - alpha * gi for p, gi in zip(params, g)]
        previous = g
        expected_rates.append(alpha)
        for got, want in zip(weights[step], params):
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    np.testing.assert_allclose(rates, expected_rates, rtol=atol, atol=0)
    assert expected_rates[-1] != pytest.approx(0.05, rel=1e-2)  # the rate did move


def test_adam_hd_matches_the_paper_by_hand(floatx):
    """Algorithm (Adam-HD): alpha_t = alpha_{t-1} - beta g_t . grad_alpha u_{t-1} with
    grad_alpha u_{t-1} = -m_hat_{t-1} / (sqrt(v_hat_{t-1}) + eps_{t-1}), zero at t = 1;
    m, v, m_hat, v_hat as in Adam; u_t = -alpha_t m_hat_t / (sqrt(v_hat_t) + eps_t).
    Keras' epsilon is Kingma and Ba's epsilon-hat, so the paper's eps is
    eps_t = epsilon / sqrt(1 - beta_2^t) here. The moment rates are exact in float32
    (0.875 and 1 - 2^-9) because Keras' Adam casts them through float32 even in float64.
    """
    alpha, beta = 0.01, 1e-3
    atol = TOLERANCE[floatx] if floatx == "float64" else TOLERANCE[floatx]["adam_hd"]
    b1, b2, epsilon = 0.875, 1 - 2**-9, 1e-7
    opt = AdamHD(learning_rate=alpha, hypergrad_lr=beta, beta_1=b1, beta_2=b2, epsilon=epsilon)
    w0, weights, rates = _keras_trajectory(opt)
    params = w0
    m = [np.zeros_like(p) for p in w0]
    v = [np.zeros_like(p) for p in w0]
    grad_alpha_u = [np.zeros_like(p) for p in w0]
    expected_rates = []
    for t, (x, y) in enumerate(_batches(), start=1):
        g = _grads(*params, x, y)
        alpha = alpha - beta * _dot(g, grad_alpha_u)
        m = [b1 * mi + (1 - b1) * gi for mi, gi in zip(m, g)]
        v = [b2 * vi + (1 - b2) * gi**2 for vi, gi in zip(v, g)]
        eps_t = epsilon / np.sqrt(1 - b2**t)
        direction = [
            (mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + eps_t) for mi, vi in zip(m, v)
        ]
        grad_alpha_u = [-d for d in direction]
        params = [p - alpha * d for p, d in zip(params, direction)]
        expected_rates.append(alpha)
        for got, want in zip(weights[t - 1], params):
            np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    np.testing.assert_allclose(rates, expected_rates, rtol=atol, atol=0)
    assert expected_rates[-1] != pytest.approx(0.01, rel=1e-3)


# --- beta = 0 is Keras' own optimizer, bit for bit --------------------------------------


def _blobs_fit(optimizer, epochs: int = 3):
    from lr_lessons.lab import models
    from lr_lessons.lab.data import load_blobs

    data = load_blobs()
    keras.utils.set_random_seed(7)
    model = models.blobs_mlp()
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0, shuffle=True
    )
    return model.get_weights(), history.history["loss"]


@pytest.mark.parametrize(
    "reference, hd",
    [
        (lambda: keras.optimizers.SGD(learning_rate=0.1), lambda beta: SGDHD(0.1, beta)),
        (lambda: keras.optimizers.Adam(learning_rate=0.01), lambda beta: AdamHD(0.01, beta)),
    ],
    ids=["sgd", "adam"],
)
def test_zero_hypergrad_lr_is_bitwise_keras(reference, hd):
    want_w, want_loss = _blobs_fit(reference())
    got_w, got_loss = _blobs_fit(hd(0.0))
    assert got_loss == want_loss
    for got, want in zip(got_w, want_w):
        np.testing.assert_array_equal(got, want)
    moved_w, _ = _blobs_fit(hd(1e-4))  # and the comparison can tell them apart
    assert any(not np.array_equal(a, b) for a, b in zip(moved_w, want_w))


# --- bad input and saving --------------------------------------------------------------


@pytest.mark.parametrize("cls", [SGDHD, AdamHD])
@pytest.mark.parametrize("bad", [-1e-3, float("nan"), float("inf")])
def test_bad_hypergrad_lr_is_rejected(cls, bad):
    with pytest.raises(ValueError, match=f"hypergrad_lr.*{bad!r}"):
        cls(learning_rate=0.01, hypergrad_lr=bad)


@pytest.mark.parametrize("cls", [SGDHD, AdamHD])
@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), "0.1"])
def test_bad_initial_rate_is_rejected(cls, bad):
    with pytest.raises(ValueError, match=f"learning_rate.*{bad!r}"):
        cls(learning_rate=bad)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(beta_1=float("nan")), "AdamHD: beta_1 must be a number in \\[0, 1\\), got nan"),
        (dict(beta_1=1.5), "AdamHD: beta_1 .*got 1.5"),
        (dict(beta_2=1.0), "AdamHD: beta_2 .*got 1.0"),
        (dict(epsilon=-1e-7), "AdamHD: epsilon must be a positive number, got -1e-07"),
        (dict(epsilon="x"), "AdamHD: epsilon must be a positive number, got 'x'"),
        (dict(amsgrad="yes"), "AdamHD: amsgrad must be True or False"),
        (dict(weight_decay=-0.1), "AdamHD: weight_decay"),
        (dict(clipnorm=0.0), "AdamHD: clipnorm"),
        (dict(loss_scale_factor=0.0), "AdamHD: loss_scale_factor"),
        (dict(gradient_accumulation_steps=1.5), "AdamHD: gradient_accumulation_steps"),
    ],
)
def test_adam_hd_refuses_bad_hyperparameters_at_construction(kwargs, match):
    with pytest.raises(InputError, match=match) as err:
        AdamHD(learning_rate=0.01, **kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(weight_decay=float("nan")), "SGDHD: weight_decay"),
        (dict(clipvalue=-1.0), "SGDHD: clipvalue"),
        (dict(global_clipnorm="big"), "SGDHD: global_clipnorm"),
        (dict(loss_scale_factor=0.0), "SGDHD: loss_scale_factor"),
        (dict(ema_momentum=1.5), "SGDHD: ema_momentum"),
    ],
)
def test_sgd_hd_refuses_bad_common_options_at_construction(kwargs, match):
    with pytest.raises(InputError, match=match):
        SGDHD(learning_rate=0.01, **kwargs)


def test_schedule_is_rejected():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    with pytest.raises(ValueError, match="schedule"):
        SGDHD(learning_rate=schedule)


@pytest.mark.parametrize("cls, beta", [(SGDHD, 0.05), (AdamHD, 1e-4)], ids=["sgd_hd", "adam_hd"])
def test_save_and_load_round_trip(tmp_path, cls, beta):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    model.compile(optimizer=cls(learning_rate=0.02, hypergrad_lr=beta), loss="mse")
    x, y = X.astype(keras.config.floatx()), Y.astype(keras.config.floatx())
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)

    assert type(loaded.optimizer) is cls
    assert loaded.optimizer.hypergrad_lr == beta
    assert float(loaded.optimizer.learning_rate) == float(model.optimizer.learning_rate)
    assert float(model.optimizer.learning_rate) != 0.02  # the adapted rate was saved
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # the optimizer state (previous gradient or moments) round-trips: training goes on alike
    for m in (model, loaded):
        m.fit(X, Y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(loaded.optimizer.learning_rate) == float(model.optimizer.learning_rate)


@pytest.mark.parametrize("cls, beta", [(SGDHD, 0.05), (AdamHD, 1e-4)], ids=["sgd_hd", "adam_hd"])
def test_xla_compiled_train_step_agrees(cls, beta):
    """The global dot product also works inside an XLA-compiled train step."""
    runs = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
        model.compile(optimizer=cls(learning_rate=0.02, hypergrad_lr=beta), loss="mse",
                      jit_compile=jit)  # fmt: skip
        model.fit(X, Y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
        runs.append((float(model.optimizer.learning_rate), model.get_weights()))
    (rate, weights), (xla_rate, xla_weights) = runs
    assert rate != 0.02
    assert xla_rate == pytest.approx(rate, rel=1e-5)
    for a, b in zip(weights, xla_weights):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
