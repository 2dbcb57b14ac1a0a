"""muP for Keras (`lr_lessons.tools.mup`), and against the PyTorch reference `mup`.

The comparison builds the same MLP with `mup`'s `MuReadout`, `set_base_shapes` and
`MuAdam` / `MuSGD` and checks that ours gets the same initial spread per layer, the
same rate per variable (read from `mup`'s parameter groups) and, from identical
weights, the same losses over a few training steps. The PyTorch side runs in its own
process (tests/mup_reference.py): torch never loads beside TensorFlow. It skips where `mup`
(and torch) do not install; CI installs both.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from lr_lessons.checks import InputError
from lr_lessons.tools import mup

D_IN, D_OUT, BASE, WIDE = 20, 3, 8, 256


def mlp(width, *, dtype="float32", kernel_initializer="glorot_uniform", bias="zeros", **readout):
    """A 2-hidden-layer ReLU MLP with a `Readout` (names fixed so keys match across builds)."""
    dense = {"kernel_initializer": kernel_initializer, "bias_initializer": bias, "dtype": dtype}
    return keras.Sequential(
        [
            keras.Input((D_IN,), dtype=dtype),
            keras.layers.Dense(width, activation="relu", name="inp", **dense),
            keras.layers.Dense(width, activation="relu", name="hid", **dense),
            mup.Readout(D_OUT, name="out", **{**dense, **readout}),
        ]
    )


def test_roles_and_multipliers_follow_the_table():
    base, model = mlp(BASE), mlp(4 * BASE)
    found = {s.path: s for s in mup.scalings(model, base)}
    roles = {p: s.role for p, s in found.items()}
    assert roles == {
        "inp/kernel": "input",
        "inp/bias": "bias",
        "hid/kernel": "hidden",
        "hid/bias": "bias",
        "out/kernel": "output",
        "out/bias": "fixed",
    }
    adam = mup.lr_multipliers(model, base, "adam")
    sgd = mup.lr_multipliers(model, base, "sgd")
    m = 4.0
    assert adam == {p: (1 / m if r == "hidden" else 1.0) for p, r in roles.items()}
    expected_sgd = {"input": m, "bias": m, "hidden": 1.0, "output": m, "fixed": 1.0}
    assert sgd == {p: expected_sgd[r] for p, r in roles.items()}


def test_at_the_base_width_muP_changes_nothing():
    keras.utils.set_random_seed(0)
    base, model = mlp(BASE), mlp(BASE)
    before = [w.copy() for w in model.get_weights()]
    mup.set_base(model, base)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert set(mup.lr_multipliers(model, base, "sgd").values()) == {1.0}
    assert model.layers[-1].width_mult == 1.0


def test_initial_spread_is_the_base_spread_hidden_shrinks_as_one_over_sqrt_fan_in():
    # He normal: variance 2 / fan_in; muP keeps every layer at its base-width spread,
    # except the hidden kernel, whose variance goes as 1 / fan_in.
    keras.utils.set_random_seed(1)
    base, model = (
        mlp(BASE, kernel_initializer="he_normal"),
        mlp(WIDE, kernel_initializer="he_normal"),
    )
    mup.set_base(model, base)
    w = {_name(v): np.asarray(v) for v in model.trainable_variables}
    targets = {
        "inp/kernel": np.sqrt(2 / D_IN),
        "hid/kernel": np.sqrt(2 / WIDE),
        "out/kernel": np.sqrt(2 / BASE),  # stored; the layer reads it through x / (WIDE/BASE)
    }
    for name, std in targets.items():
        n = w[name].size
        # he_normal is a normal truncated at 2 sd, rescaled to the target variance: the
        # sample sd is within 5 standard errors (sd * sqrt(1/(2n)), roughly) of it.
        assert abs(w[name].std() / std - 1) < 5 / np.sqrt(2 * n) + 0.01, name
    assert model.layers[-1].width_mult == WIDE / BASE


def test_zero_readout_and_errors():
    base, model = mlp(BASE), mlp(WIDE, zero_init=True)
    mup.set_base(model, base)
    assert not np.any(model.layers[-1].kernel.numpy())
    with pytest.raises(InputError, match="already"):
        mup.set_base(model, base)
    with pytest.raises(InputError, match="adam"):
        mup.lr_multipliers(model, base, "rmsprop")
    plain = keras.Sequential(
        [keras.Input((D_IN,)), keras.layers.Dense(WIDE), keras.layers.Dense(D_OUT)]
    )
    small = keras.Sequential(
        [keras.Input((D_IN,)), keras.layers.Dense(BASE), keras.layers.Dense(D_OUT)]
    )
    with pytest.raises(InputError, match="Readout"):
        mup.scalings(plain, small)
    with pytest.raises(InputError, match="trainable variables"):
        mup.scalings(model, small)
    with pytest.raises(InputError, match="multipliers"):
        mup.MuAdam(1e-3, multipliers={})
    opt = mup.MuAdam(1e-3, multipliers={"other/kernel": 1.0})
    with pytest.raises(InputError, match="no rate multiplier"):
        opt.build(model.trainable_variables)


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_save_and_load_round_trip(kind, tmp_path):
    keras.utils.set_random_seed(2)
    base, model = mlp(BASE), mlp(4 * BASE)
    mup.set_base(model, base)
    cls = {"adam": mup.MuAdam, "sgd": mup.MuSGD}[kind]
    model.compile(
        optimizer=cls(0.05, multipliers=mup.lr_multipliers(model, base, kind)),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x = np.random.default_rng(0).normal(size=(64, D_IN)).astype("float32")
    y = np.random.default_rng(1).integers(0, D_OUT, 64)
    model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.optimizer) is cls
    assert loaded.optimizer.multipliers == model.optimizer.multipliers
    assert loaded.layers[-1].width_mult == 4.0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # Training continues identically: same weights, same optimizer state, same rates.
    for m in (model, loaded):
        m.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_the_multiplier_reaches_each_variable():
    # One SGD step from a known gradient: each variable moves by rate * multiplier * grad.
    base, model = mlp(BASE), mlp(2 * BASE)
    mup.set_base(model, base)
    mults = mup.lr_multipliers(model, base, "sgd")
    opt = mup.MuSGD(0.5, multipliers=mults)
    before = [v.numpy().copy() for v in model.trainable_variables]
    grads = [np.ones(v.shape, "float32") for v in model.trainable_variables]
    opt.apply_gradients(zip(grads, model.trainable_variables))
    for v, w0 in zip(model.trainable_variables, before):
        np.testing.assert_allclose(w0 - v.numpy(), 0.5 * mults[_name(v)], rtol=1e-6)


def _name(v):
    return "/".join(v.path.split("/")[-2:])


# ----------------------------------------------------------------------------------------
# Against the PyTorch reference implementation.

TORCH_NAMES = {
    "inp/kernel": "inp.weight",
    "inp/bias": "inp.bias",
    "hid/kernel": "hid.weight",
    "hid/bias": "hid.bias",
    "out/kernel": "out.weight",
    "out/bias": "out.bias",
}
REFERENCE = Path(__file__).with_name("mup_reference.py")
DRAWS, STEPS = 4, 8
LR = {"adam": 2.0**-7, "sgd": 2.0**-2}
BETAS = (0.875, 1 - 2.0**-10)

# torch.nn.Linear's default initialisation, kaiming_uniform(a=sqrt(5)): U(+-1/sqrt(fan_in)),
# variance 1 / (3 fan_in); its bias U(+-1/sqrt(fan_in)) too. In Keras terms:
TORCH_KERNEL = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")


def identical_start():
    """The float64 pair (model at WIDE with muP set, its base) both sides train from."""
    keras.utils.set_random_seed(3)
    base = mlp(BASE, dtype="float64", kernel_initializer=TORCH_KERNEL)
    model = mlp(WIDE, dtype="float64", kernel_initializer=TORCH_KERNEL)
    mup.set_base(model, base)
    return model, base


def batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(128, D_IN)), rng.integers(0, D_OUT, 128)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """`mup`'s answers, computed by tests/mup_reference.py in a process without TensorFlow.

    TensorFlow and a CUDA build of torch in one process can crash at import (a
    segmentation fault in triton, seen in CI), so torch never loads here.
    """
    for package in ("torch", "mup"):
        if importlib.util.find_spec(package) is None:
            pytest.skip(f"{package} is not installed (pip install -e '.[backends]' mup)")
    folder = tmp_path_factory.mktemp("mup")
    model, _ = identical_start()
    x, y = batch()
    weights = {}
    for v in model.trainable_variables:
        w = np.asarray(v)
        weights[f"w/{TORCH_NAMES[_name(v)]}"] = w.T.copy() if w.ndim == 2 else w
    np.savez(
        folder / "in.npz",
        d_in=D_IN,
        d_out=D_OUT,
        base=BASE,
        wide=WIDE,
        draws=DRAWS,
        steps=STEPS,
        x=x,
        y=y,
        betas=np.asarray(BETAS),
        **{f"lr/{k}": v for k, v in LR.items()},
        **weights,
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, str(REFERENCE), str(folder / "in.npz"), str(folder / "out.npz")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(folder / "out.npz") as out:
        return {k: out[k] for k in out.files}


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_rates_match_mup(kind, reference):
    ours = mup.lr_multipliers(mlp(WIDE), mlp(BASE), kind)
    theirs = {
        k.split("/")[-1]: float(v) for k, v in reference.items() if k.startswith(f"rate/{kind}/")
    }
    assert {TORCH_NAMES[k]: v for k, v in ours.items()} == pytest.approx(theirs, rel=1e-12)


def test_initial_spread_matches_mup(reference):
    ours = {}
    for seed in range(DRAWS):
        keras.utils.set_random_seed(seed)
        model = mlp(WIDE, kernel_initializer=TORCH_KERNEL)
        mup.set_base(model, mlp(BASE, kernel_initializer=TORCH_KERNEL))
        for v in model.trainable_variables:
            w = np.asarray(v, dtype=float)
            if _name(v) == "out/kernel":
                w = w / model.layers[-1].width_mult  # the weight the readout applies
            ours.setdefault(_name(v), []).append(w.ravel())
    for name, torch_name in TORCH_NAMES.items():
        if name.endswith("bias"):
            continue  # Keras' biases start at zero (torch's: U(+-1/sqrt(fan_in)), rescaled)
        a, b = np.concatenate(ours[name]), reference[f"spread/{torch_name}"]
        assert a.size == b.size
        # Both uniform with the same variance if the scales agree: sample sds within
        # 5 standard errors (a uniform's sd has relative error sqrt(0.8 / (4 n)) each).
        tol = 5 * np.sqrt(0.8 / (4 * a.size) + 0.8 / (4 * b.size))
        assert abs(a.std() / b.std() - 1) < tol, (name, a.std(), b.std())


@pytest.mark.parametrize("kind", ["adam", "sgd"])
def test_training_matches_mup_from_identical_weights(kind, reference):
    # float64 on both sides, and rates and betas exact in float32 (Keras casts them through
    # float32): the losses agree to float64 rounding.
    import tensorflow as tf

    model, base = identical_start()
    multipliers = mup.lr_multipliers(model, base, kind)
    if kind == "adam":
        ours = mup.MuAdam(
            LR[kind],
            multipliers=multipliers,
            beta_1=BETAS[0],
            beta_2=BETAS[1],
            epsilon=1e-30,  # Keras and torch place epsilon differently; make it negligible
        )
    else:
        ours = mup.MuSGD(LR[kind], multipliers=multipliers)
    x, y = batch()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    ours_losses = []
    for _ in range(STEPS):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x))
        grads = tape.gradient(loss, model.trainable_variables)
        ours.apply_gradients(zip(grads, model.trainable_variables))
        ours_losses.append(float(loss))
    theirs = reference[f"losses/{kind}"]
    assert theirs[-1] < theirs[0]  # it learns: the comparison is not vacuous
    np.testing.assert_allclose(ours_losses, theirs, rtol=1e-9)


def test_nested_models_are_walked_in_order():
    def nested(width):
        body = keras.Sequential(
            [
                keras.Input((D_IN,)),
                keras.layers.Dense(width, name="a"),
                keras.layers.Dense(width, name="b"),
            ]
        )
        return keras.Sequential([keras.Input((D_IN,)), body, mup.Readout(D_OUT, name="r")])

    roles = [s.role for s in mup.scalings(nested(2 * BASE), nested(BASE))]
    assert roles == ["input", "bias", "hidden", "bias", "output", "fixed"]


def test_the_readme_snippet_runs_as_printed():
    """The README's muP block, exactly as printed, builds a model that trains."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Use muP in your project", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    scope: dict = {}
    keras.utils.set_random_seed(0)
    exec(compile(code, "README.md", "exec"), scope)
    model = scope["model"]
    assert model.layers[-1].width_mult == 1024 / 64
    assert sorted(set(model.optimizer.multipliers.values())) == [64 / 1024, 1.0]
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784)).astype("float32"), rng.integers(0, 10, 64)
    loss = model.fit(x, y, batch_size=32, epochs=2, verbose=0).history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0]
