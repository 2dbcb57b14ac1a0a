"""SGD-HD and Adam-HD on the stacked engine against the Keras optimizers of
lr_lessons.tools.hypergradient.

Two levels, as for Keras' own optimizers in tests/test_stacked_engine.py:

1. The update rule, bit for bit: several configurations stepped together on stacked
   weights (several tensors, like a model's kernels and biases, since the hypergradient is
   a dot product over all of a run's weights) equal each Keras optimizer applied alone to
   the same random gradients, weights *and* adapted learning rate, over 40 steps. Both run
   TensorFlow's eager kernels, so the arithmetic is the same operation for operation.
2. Whole runs against ``model.fit`` (``shuffle=False``, same seed, hence the same initial
   weights and batches). Here exact equality cannot be asked for: the stacked engine runs
   as one XLA program, whose kernels (matmul accumulation order, exp and log in the
   softmax cross-entropy) round differently from TensorFlow's in the last bit, and which
   last bit differs also depends on the CPU. The tolerance is derived below.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from equivalence import (
    assert_within_envelope,
    assert_within_summation_bound,
    stacked_and_fit_runs,
)

from lr_lessons.lab import studies
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.engines import choose_engine, fit, stacked
from lr_lessons.lab.results import METRICS
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.tools.hypergradient import SGDHD, AdamHD

# --- 1. the update rules, bit for bit ---------------------------------------------------

RULE_CASES = {
    "sgd_hd": (SGDHD, [{"hypergrad_lr": 1e-3}, {"learning_rate": 0.3, "hypergrad_lr": 0.02}]),
    "adam_hd": (
        AdamHD,
        [
            {"hypergrad_lr": 1e-4},
            {"learning_rate": 0.01, "hypergrad_lr": 1e-3, "beta_1": 0.8, "beta_2": 0.99},
        ],
    ),
    "adam_hd amsgrad": (AdamHD, [{"amsgrad": True, "hypergrad_lr": 1e-3}]),
    "sgd_hd beta 0": (SGDHD, [{"hypergrad_lr": 0.0}]),
}
SHAPES = [(3, 4), (4,), (4, 2), (2,)]  # a small two-layer model's kernels and biases
STEPS = 40


@pytest.mark.parametrize("case", sorted(RULE_CASES))
def test_update_rules_match_the_keras_optimizers(case):
    cls, configs = RULE_CASES[case]
    rng = np.random.default_rng(1)
    starts = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [
        [rng.normal(size=s).astype("float32") * np.float32(2.0) for s in SHAPES]
        for _ in range(STEPS)
    ]
    expected, expected_rates = [], []
    for options in configs:
        optimizer = cls(**options)
        variables = [keras.Variable(s) for s in starts]
        rates = []
        for g in grads:
            optimizer.apply(g, variables)
            rates.append(float(optimizer.learning_rate.numpy()))
        expected.append([v.numpy() for v in variables])
        expected_rates.append(rates)

    optimizers = [cls(**o) for o in configs]
    keys = {stacked.rule_key(o) for o in optimizers}
    assert len(keys) == 1
    rule = stacked.make_rule(keys.pop(), [o.get_config() for o in optimizers])
    assert rule.adapts_rate
    lr = tf.constant(np.float32([o.get_config()["learning_rate"] for o in optimizers]))
    params = [tf.constant(np.stack([s] * len(configs))) for s in starts]
    slots = {name: [rule.init_slot(name, p) for p in params] for name in rule.slots}
    rates = []
    for step, g in enumerate(grads):
        g_all = [tf.constant(np.stack([x] * len(configs))) for x in g]
        params, slots, lr = rule.update_all(g_all, params, slots, lr, tf.constant(step, tf.int64))
        rates.append(lr.numpy())
    rates = np.array(rates)
    for c in range(len(configs)):
        for got, want, start in zip(params, expected[c], starts):
            np.testing.assert_array_equal(got.numpy()[c], want)
            assert not np.allclose(want, start)  # the optimizer really moved the weights
        np.testing.assert_array_equal(rates[:, c], np.float32(expected_rates[c]))
        if optimizers[c].hypergrad_lr > 0:  # the rate was really adapted
            assert len(np.unique(rates[:, c])) > STEPS // 2
        else:
            assert np.all(rates[:, c] == rates[0, c])


def test_zero_hypergradient_rate_is_the_base_optimizer():
    """With beta = 0 the rules are Keras' SGD and Adam: the same weights as the plain rules."""
    rng = np.random.default_rng(2)
    start = tf.constant(rng.normal(size=(1, 3, 4)).astype("float32"))
    grads = rng.normal(size=(20, 1, 3, 4)).astype("float32")
    for hd, plain in (
        (SGDHD(hypergrad_lr=0.0), keras.optimizers.SGD()),
        (
            AdamHD(hypergrad_lr=0.0),
            keras.optimizers.Adam(),
        ),
    ):
        rules = [stacked.make_rule(stacked.rule_key(o), [o.get_config()]) for o in (hd, plain)]
        ends = []
        for rule, o in zip(rules, (hd, plain)):
            p, slots = [start], {n: [rule.init_slot(n, start)] for n in rule.slots}
            lr = tf.constant(np.float32([o.get_config()["learning_rate"]]))
            for step, g in enumerate(grads):
                p, slots, _ = rule.update_all(
                    [tf.constant(g)], p, slots, lr, tf.constant(step, tf.int64)
                )
            ends.append(p[0].numpy())
        np.testing.assert_array_equal(ends[0], ends[1])


# --- 2. whole runs against model.fit ----------------------------------------------------
#
# The tolerance follows tests/test_stacked_engine.py (its docstring has the derivation):
# - a run trained alone runs TensorFlow's kernels (jit_compile=None picks them for one
#   run), the same float32 operations as model.fit, so only the reported epoch means are
#   summed in another order: at most (31 + 15) * 2**-24 relative (ROUNDING), no growth;
# - stacked with other runs the program is XLA-compiled, whose kernels round differently
#   in the last bit at every step; training then amplifies those differences by a factor
#   that depends on the setting and the CPU. That factor is measured here, per setting:
#   the same stacked runs repeated on training inputs moved by one unit in the last place
#   (a float32 rounding perturbation) spread around the unperturbed runs by the
#   "envelope"; stacked vs fit must stay within twice the envelope plus ROUNDING.
#
# Which settings. A hypergradient feeds every rounding difference of the rate back into
# all later steps, so the settings compared over 20 epochs are ones whose dynamics do not
# amplify rounding: SGD-HD with beta 1e-4 (the rate falls from 0.01 to about 2e-4),
# with a plateau from 0.1, and Adam-HD with beta 1e-5, 1e-4, and 1e-3 from 1e-4. Left out, with
# the measurement that says why: SGD-HD with beta 1e-3 from 0.01 (chapter 8's setting)
# drives the rate to about 0.98, where the trajectory is chaotic. Measured (seed 3,
# shuffle=False, 30 epochs, so the batch order is fit's): model.fit itself, on training
# inputs moved by one unit in the last place, leaves its own unperturbed trajectory by
# 0.11-0.14 in val_accuracy and 0.19-0.26 in loss; the rate's relative difference grows
# from 1e-7 (epoch 4) to 3e-5 (epoch 9) to 2e-3 (epoch 10). Stacked under XLA (alone or
# with another run: identical numbers) the run is 0.13 in val_accuracy and 0.20 in loss
# from fit, the same size, with the same jump at epoch 10. So the drift is rounding
# amplified by chaos, not a wrong rule and not the batch order; the run alone on
# TensorFlow's kernels still follows fit exactly (tested below: rate difference 0 at
# every epoch), and chapter 8's studies compare seeds, not single runs.
#
# One measured exception to exactness alone, now explained: Adam-HD with beta 1e-3 from
# 1e-4 (loss 7 in the first epoch) trained alone on TensorFlow's kernels ended its first
# epoch with a rate 1-2 units in the last place away from fit's (measured: 2e-7 relative,
# no growth over 20 epochs on this CPU; val_loss at epoch 2 just above the summation
# bound, 1.02 times it; 5e-7 growing to 5e-3 in the loss on another). The cause is not
# the update rule but Grappler's arithmetic optimizer, which rewrites the floating-point
# expressions of the two graphs (Keras' AdamHD inside fit's train function, and this
# engine's program) differently: with that one Grappler pass switched off for both, the
# run equals fit, its rate bit for bit at every epoch (tested below).

EPOCHS = 20
SEED = 3
HD_SETTINGS = (
    Setting("sgd_hd", "sgd_hd", 0.01, {"hypergrad_lr": 1e-4}),
    Setting("sgd_hd plateau", "sgd_hd", 0.1, {"hypergrad_lr": 1e-3}, plateau={"patience": 2}),
    Setting("adam_hd", "adam_hd", 1e-3, {"hypergrad_lr": 1e-5}),
    Setting("adam_hd 1e-4", "adam_hd", 1e-4, {"hypergrad_lr": 1e-4}),
    Setting("adam_hd fast", "adam_hd", 1e-4, {"hypergrad_lr": 1e-3}),
)
CHAOTIC = Setting("sgd_hd 1e-3", "sgd_hd", 0.01, {"hypergrad_lr": 1e-3})
REWRITTEN_BY_GRAPPLER = ("adam_hd fast",)


@pytest.fixture(scope="module")
def blobs():
    return load_blobs()


@pytest.fixture(scope="module")
def hd_runs(blobs):
    study = Study("hd", "hypergradient optimizers", HD_SETTINGS, EPOCHS)
    return (study, *stacked_and_fit_runs(study, SEED, blobs))


ALONE_CASES = [*HD_SETTINGS, CHAOTIC]


@contextlib.contextmanager
def _without_grappler_arithmetic():
    """Grappler's arithmetic optimizer off (for graphs built inside the block)."""
    before = tf.config.optimizer.get_experimental_options().get("arithmetic_optimization")
    tf.config.optimizer.set_experimental_options({"arithmetic_optimization": False})
    try:
        yield
    finally:
        restored = True if before is None else before
        tf.config.optimizer.set_experimental_options({"arithmetic_optimization": restored})


@pytest.mark.parametrize("setting", ALONE_CASES, ids=lambda s: s.name)
def test_a_hypergradient_run_alone_follows_model_fit_exactly(hd_runs, blobs, setting):
    """Exactly, i.e. within the summation bound of the reported means (for Adam-HD from
    an explosive start, with Grappler's arithmetic rewrites off in both graphs: see the
    comment above)."""
    study, _, _, theirs = hd_runs
    name = setting.name
    one = Study("alone", "one run", (setting,), EPOCHS)
    if setting.name in REWRITTEN_BY_GRAPPLER:
        with _without_grappler_arithmetic():
            theirs = {name: fit.fit_one(study, setting, SEED, blobs, shuffle=False)}
            alone = stacked.train(one, [SEED], blobs, shuffle=False)
        np.testing.assert_array_equal(
            alone["learning_rate"][0, 0], np.asarray(theirs[name]["learning_rate"])
        )
    else:
        if setting is CHAOTIC:
            theirs = {name: fit.fit_one(study, setting, SEED, blobs, shuffle=False)}
        alone = stacked.train(one, [SEED], blobs, shuffle=False)
    for metric in METRICS:
        want = np.asarray(theirs[name][metric])
        assert want.shape == (EPOCHS,)
        assert_within_summation_bound(alone[metric][0, 0], want, metric)
    rates = np.asarray(theirs[name]["learning_rate"])
    assert len(np.unique(rates)) > EPOCHS // 2  # the rate was adapted every epoch
    assert theirs[name]["loss"][-1] < theirs[name]["loss"][0]  # training happened


@pytest.mark.parametrize("name", [s.name for s in HD_SETTINGS])
def test_stacked_hypergradient_runs_follow_model_fit_within_rounding(hd_runs, name):
    study, mine, envelope, theirs = hd_runs
    i = study.setting_names.index(name)
    for metric in METRICS:
        want = np.asarray(theirs[name][metric])
        assert_within_envelope(mine[metric][i, 0], want, envelope[metric][i, 0], metric)


def test_the_envelope_rejects_a_wrong_hypergradient_rate(hd_runs, blobs):
    """The derived tolerance catches a real mistake: beta 1.1e-4 instead of 1e-4."""
    study, _, envelope, theirs = hd_runs
    i = study.setting_names.index("sgd_hd")
    wrong = Setting("sgd_hd", "sgd_hd", 0.01, {"hypergrad_lr": 1.1e-4})
    others = Setting("other", "sgd", 0.01)  # two runs: the XLA program, as above
    study = Study("wrong", "wrong", (wrong, others), EPOCHS)
    run = stacked.train(study, [SEED], blobs, shuffle=False)
    want = np.asarray(theirs["sgd_hd"]["learning_rate"])
    with pytest.raises(AssertionError):
        assert_within_envelope(
            run["learning_rate"][0, 0], want, envelope["learning_rate"][i, 0], "learning_rate"
        )


# --- chapter 8 on the stacked engine ----------------------------------------------------


def test_chapter_8_blobs_studies_choose_the_stacked_engine():
    """The studies of chapter 8 (SGD, SGD-HD, Adam, Adam-HD from several initial rates; the
    beta sweep) are trained by the stacked engine, not by the fit fallback."""
    rates = (1e-4, 1e-2, 1e0)
    main = Study(
        "hypergradient_blobs",
        "four optimizers",
        tuple(Setting(f"{o} {r:g}", o, r) for o in ("sgd", "adam") for r in rates)
        + tuple(Setting(f"sgd_hd {r:g}", "sgd_hd", r, {"hypergrad_lr": 1e-3}) for r in rates)
        + tuple(Setting(f"adam_hd {r:g}", "adam_hd", r, {"hypergrad_lr": 1e-5}) for r in rates),
    )
    betas = Study(
        "hypergradient_betas",
        "betas",
        tuple(
            Setting(f"{o} {b:g} {r:g}", o, r, {"hypergrad_lr": b})
            for o, bs in (("sgd_hd", (1e-4, 1e-2)), ("adam_hd", (1e-7, 1e-3)))
            for b in bs
            for r in rates
        ),
    )
    for study in (main, betas):
        assert stacked.supports(study)
        assert choose_engine("stacked", study) == "stacked"
    clipped = Study("c", "c", (Setting("a", "sgd_hd", 0.01, {"clipnorm": 1.0}),))
    assert choose_engine("stacked", clipped) == "fit"


def test_hypergradient_settings_train_with_others_in_one_program(blobs):
    """HD and plain runs stacked together: each run's rate is its own (SGD keeps 0.01,
    SGD-HD adapts it), and a seed's HD run gives the same numbers among others as alone."""
    study = Study(
        "mixed",
        "mixed",
        (
            Setting("sgd", "sgd", 0.01),
            Setting("sgd_hd", "sgd_hd", 0.01, {"hypergrad_lr": 1e-3}),
            Setting("adam_hd", "adam_hd", 1e-3, {"hypergrad_lr": 1e-5}),
            Setting("adam", "adam"),
        ),
        3,
    )
    together = stacked.train(study, [0, 1], blobs)
    np.testing.assert_array_equal(together["learning_rate"][0], np.float32(0.01))
    assert np.all(together["learning_rate"][1] != np.float32(0.01))
    pair = Study("pair", "pair", study.settings[1:3], 3)
    apart = stacked.train(pair, [0, 1], blobs)
    for metric in METRICS:
        np.testing.assert_allclose(together[metric][1:3], apart[metric], rtol=1e-5, atol=1e-6)
    assert studies.OPTIMIZERS["sgd_hd"] is SGDHD and studies.OPTIMIZERS["adam_hd"] is AdamHD
