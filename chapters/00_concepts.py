# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 0. What the learning rate does
#
# Why a step that is too small crawls, a step that is too large bounces or blows up, where
# the line between them lies, and how the same picture shows up in real training: loss
# curves for high, good and low rates, and the point where training starts to overfit.
# About 2 minutes on a laptop CPU (under a minute in quick mode).
#
# Gradient descent changes each weight against the slope of the loss:
#
# $$ w \leftarrow w - \eta \, \frac{\partial f}{\partial w}. $$
#
# The learning rate $\eta$ sets how far each step goes. We start with functions simple
# enough to solve on paper, then move to a real network.

# %%
import keras
import numpy as np
import tensorflow as tf
from keras import layers

from lr_lessons import config
from lr_lessons.lab.data import Dataset, load_blobs
from lr_lessons.lab.gradient_descent import Bowl, closed_form, descend
from lr_lessons.lab.runner import run_study
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.views import line_plots, plotting, space_plots
from lr_lessons.views.claims import (
    FINAL_DEFINITION,
    ClaimsTable,
    final,
    seed_verdict,
    seeds_passing,
    summary,
    verdict,
)

# %% [markdown]
# ## One weight: a parabola
#
# Take $f(w) = a\,w^2/2$ with curvature $a = 2$. Its slope is $a\,w$, so one step turns
# $w$ into $(1 - \eta a)\,w$ and after $k$ steps $w_k = (1 - \eta a)^k\, w_0$. Everything
# depends on the factor $1 - \eta a$:
#
# | $\eta a$ | factor $1 - \eta a$ | what happens |
# |---|---|---|
# | between 0 and 1 | between 0 and 1 | $w$ shrinks towards 0 from one side: slow if $\eta a$ is small |
# | 1 | 0 | the minimum in a single step |
# | between 1 and 2 | between -1 and 0 | $w$ jumps across the minimum each step, shrinking: oscillation |
# | above 2 | below -1 | every jump lands farther out: divergence |
#
# So a quadratic diverges exactly when $\eta > 2/a$. We try four rates around that line.

# %%
parabola = Bowl((2.0,))
RATES_1D = {
    "lr=0.05: too small": 0.05,
    "lr=0.4: good": 0.4,
    "lr=0.9: too large, oscillates": 0.9,
    "lr=1.05: diverges": 1.05,
}
paths_1d = {
    label: descend(parabola, [1.0], lr, 25) for label, lr in RATES_1D.items()
}
for label, path in paths_1d.items():
    assert np.allclose(path, closed_form(parabola, [1.0], RATES_1D[label], 25))
print(f"divergence threshold 2/a = {parabola.divergence_threshold():g}")
for label, lr in RATES_1D.items():
    print(f"  {label:32s} factor 1 - lr*a = {1 - lr * 2:+.2f}")

fig = space_plots.descent_paths(
    parabola,
    paths_1d,
    title=(
        "Gradient descent on $f(w) = w^2$ (curvature $a = 2$, threshold "
        "$2/a = 1$)"
    ),
    note=(
        "pure arithmetic (lr_lessons.lab.gradient_descent.descend), 25 steps from "
        "w = 1"
    ),
    view=1.6,
)
plotting.save_figure(fig, "00_concepts/parabola")
fig

# %% [markdown]
# The same arithmetic is what a Keras optimizer does. Plain `SGD` on one variable with
# the loss $a w^2/2$ gives exactly the path above (to float32 rounding):

# %%
w = keras.Variable(1.0)
sgd = keras.optimizers.SGD(learning_rate=0.4)
keras_path = [1.0]
for _ in range(5):
    sgd.apply_gradients([(2.0 * w, w)])  # the gradient of w**2 is 2w
    keras_path.append(float(w.numpy()))
ours = paths_1d["lr=0.4: good"][:6, 0]
print("keras SGD:", np.round(keras_path, 6))
print("ours     :", np.round(ours, 6))
keras_agrees = np.allclose(keras_path, ours, rtol=1e-6)

# %% [markdown]
# ## Two weights: an elongated bowl
#
# Real losses curve much more steeply in some directions than in others. In
# $f(w) = (a_1 w_1^2 + a_2 w_2^2)/2$ with $a_1 = 1$ and $a_2 = 8$, each coordinate
# follows its own factor $1 - \eta a_i$. The steep direction sets the limit,
# $\eta < 2/8 = 0.25$; the flat direction then keeps at least $1 - 0.25 = 0.75$ of its
# distance after every step (it closes at most a quarter of the gap per step).
# The best single rate, $2/(a_1 + a_2) \approx 0.22$, balances the
# two, and the steep direction already zig-zags at it.

# %%
bowl = Bowl((1.0, 8.0))
RATES_2D = {
    "lr=0.02: too small": 0.02,
    f"lr={bowl.best_rate():.2f}: good": round(bowl.best_rate(), 3),
    "lr=0.245: zig-zags": 0.245,
    "lr=0.26: diverges": 0.26,
}
start = [-4.0, 1.5]
paths_2d = {
    label: descend(bowl, start, lr, 30) for label, lr in RATES_2D.items()
}
for label, lr in RATES_2D.items():
    print(
        f"  {label:22s} slowest factor max|1 - lr*a| = "
        f"{bowl.contraction(lr):.3f}"
    )
fig = space_plots.descent_paths(
    bowl,
    paths_2d,
    title="An elongated bowl, curvatures 1 and 8 (threshold 2/8 = 0.25)",
    note=(
        "pure arithmetic, 30 steps from (-4, 1.5); contours of f on a log "
        "spacing"
    ),
    view=(4.5, 2.5),
)
plotting.save_figure(fig, "00_concepts/bowl")
fig

# %% [markdown]
# ## Try it: a gradient-descent playground
#
# On the site, the playground below runs this arithmetic (`descend`, the same function,
# ported line by line to JavaScript) in your browser. Set the curvature $a$ of the steep
# direction, then move the learning rate towards the mark $2/a$ under its slider: the
# path zig-zags more and more, and just past the mark it flies off. Add momentum (chapter
# 2) and the limit moves out to $2(1+\mu)/a$. Drag the start point: it changes the path
# but not the verdict, unless you put it exactly on an axis, where the steep direction
# has nothing to amplify.
#
# <!-- widget: gd-playground -->

# %% [markdown]
# ## The threshold is $2/\text{curvature}$
#
# Sweep the rate finely and record the loss after 50 steps, for three curvatures. Each
# curve falls to the floor of the plot ($10^{-12}$: smaller values are clipped) over a
# wide band of rates, from about $0.24/a$ to $1.76/a$: there every step multiplies $w$
# by a factor $|1 - \eta a|$ below 0.76, and 50 such steps leave a loss under
# $10^{-12}$. (The rate $1/a$, which lands on the minimum in one step, sits inside the
# band but does not stand out in this picture.) Past the band the loss rises again, and
# just after $\eta = 2/a$ (the dashed lines) it shoots up.

# %%
SWEEP = np.geomspace(1e-3, 10, 400)
CURVATURES = (0.5, 2.0, 8.0)
STEPS = 50
sweep, thresholds = {}, {}
for a in CURVATURES:
    b = Bowl((a,))
    label = f"a = {a:g}"
    sweep[label] = np.array(
        [b.loss(descend(b, [1.0], lr, STEPS)[-1]) for lr in SWEEP]
    )
    thresholds[label] = b.divergence_threshold()
fig = line_plots.threshold_curves(
    SWEEP,
    sweep,
    thresholds,
    STEPS,
    note=f"pure arithmetic; {len(SWEEP)} rates, start w = 1",
)
plotting.save_figure(fig, "00_concepts/threshold")
fig

# %%
# Where does each sweep cross from "shrinks" to "grows"? The first rate
# whose loss ends above the starting loss, against 2/a.
start_loss = {
    f"a = {a:g}": Bowl((a,)).loss(np.array([1.0])) for a in CURVATURES
}
crossing = {
    label: float(SWEEP[np.argmax(~(values < start_loss[label]))])
    for label, values in sweep.items()
}
for label in sweep:
    print(
        f"{label}: loss grows from lr {crossing[label]:.4f}; 2/a = "
        f"{thresholds[label]:.4f}"
    )

# %% [markdown]
# ## The classic picture, from real runs
#
# Tutorials often show four hand-drawn loss curves: a very high rate whose loss shoots
# up, a high rate that drops fast and then stalls, a good rate that keeps going down and
# a low rate that crawls. Here they are measured: the blobs network of chapter 1 (SGD,
# batches of 32, 200 epochs), several seeds per rate, training loss per epoch on a log
# axis.

# %%
CLASSIC = {
    "very high (5)": 5.0,
    "high (1)": 1.0,
    "good (0.1)": 0.1,
    "low (0.001)": 0.001,
}
classic = Study(
    "concepts_loss_shapes",
    "SGD training loss at four learning rates",
    tuple(Setting(name, "sgd", lr) for name, lr in CLASSIC.items()),
    epochs=200,
)
classic_results = run_study(classic)
fig = line_plots.metric_lines(
    classic_results,
    "loss",
    title="Training loss per epoch on blobs for four learning rates (SGD)",
    zoom=(0.3, 1.5),
)
plotting.save_figure(fig, "00_concepts/loss_per_epoch")
fig

# %% [markdown]
# At the very high rate the first epoch's loss is in the hundreds to millions: the
# weights are thrown far out, most ReLU units die, and the network ends up predicting the
# same thing for every point (a loss near $\ln 3 \approx 1.1$, the loss of guessing). The
# high rate falls quickly and then stalls well above the good rate. The good rate keeps
# improving; the low rate is still far from done after 3,200 updates. The curvature
# argument explains the pattern: the loss surface of a network is not a quadratic, but
# locally it curves, and rates past about $2/\text{curvature}$ of its steepest direction
# stop descending.
#
# ## Underfitting and overfitting
#
# With enough updates a network fits its training data better and better. Early on it
# **underfits**: training and validation loss are both high and both fall. Later it may
# start to **overfit**: training loss keeps falling while validation loss turns up,
# because the network is learning the particular training points (their noise) rather
# than the pattern. The blobs network on all 500 training points barely overfits, so we
# give it only the first 50 (the classes overlap, so 50 points carry plenty of noise to
# memorise), train it with Adam at 0.01 in batches of 16, and validate on the usual 500
# test points.

# %%
blobs = load_blobs()
N_SMALL = 50
small = Dataset(
    blobs.x_train[:N_SMALL],
    blobs.y_train[:N_SMALL],
    blobs.x_test,
    blobs.y_test,
    source=(
        f"blobs, first {N_SMALL} of 500 training points; validation: the "
        "500 test points"
    ),
)
overfit = Study(
    "concepts_overfit",
    "Adam 0.01 on 50 blobs training points",
    (Setting("Adam lr=0.01, 50 training points", "adam", 0.01),),
    epochs=300,
    batch_size=16,
)
overfit_results = run_study(overfit, data=small)
setting = overfit_results.settings[0]
val_loss = overfit_results.get("val_loss", setting)  # (seeds, epochs)
mean_val = np.nanmean(val_loss, axis=0)
best_epoch = int(np.argmin(mean_val)) + 1
per_seed_best = np.argmin(val_loss, axis=1) + 1
print(
    f"lowest mean validation loss {mean_val.min():.3f} at epoch {best_epoch}"
)
print(
    f"best epoch per seed: {per_seed_best.tolist()}; final validation loss "
    f"{mean_val[-1]:.3f}"
)

# %% [markdown]
# Early stopping automates the choice: watch the validation loss, stop when it has not
# improved for `patience` epochs, and (with `restore_best_weights=True`) put back the
# weights of the best epoch. Written as you would write it (the training points are a
# dataset that draws a new order every epoch, and `steps_per_execution` runs a whole
# epoch per call into TensorFlow: both explained in
# [chapter 1](01_learning_rate.py#batch-order-in-keras-3)):

# %%
PATIENCE = 5 if config.quick() else 25
keras.utils.set_random_seed(0)
train = (
    tf.data.Dataset.from_tensor_slices((small.x_train, small.y_train))
    .shuffle(
        N_SMALL, seed=0, reshuffle_each_iteration=True
    )  # a new order every epoch
    .batch(16)
)
test = tf.data.Dataset.from_tensor_slices((small.x_test, small.y_test)).batch(
    32
)
model = keras.Sequential(
    [
        keras.Input(shape=(2,)),
        layers.Dense(50, activation="relu", kernel_initializer="he_uniform"),
        layers.Dense(3, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=4,  # one call into TensorFlow per epoch of 4 batches
)
stopper = keras.callbacks.EarlyStopping(
    monitor="val_loss", patience=PATIENCE, restore_best_weights=True
)
history = model.fit(
    train,
    validation_data=test,
    epochs=overfit_results.epochs,
    callbacks=[stopper],
    shuffle=False,  # the dataset reshuffles itself
    verbose=0,
)
ran = len(history.history["val_loss"])
restored_epoch = stopper.best_epoch + 1  # Keras counts epochs from 0
history_best = int(np.argmin(history.history["val_loss"])) + 1
after = model.evaluate(test, verbose=0, return_dict=True)["loss"]
print(
    f"ran {ran} of {overfit_results.epochs} epochs, restored the weights of "
    f"epoch {restored_epoch}"
)
print(f"lowest validation loss in this run's history: epoch {history_best}")
print(f"validation loss after restoring: {after:.4f} (history minimum "
      f"{min(history.history['val_loss']):.4f})")  # fmt: skip

# %%
fig = line_plots.train_val_loss(
    overfit_results,
    {setting: best_epoch},
    title="Underfitting, then overfitting: train vs validation loss",
    restored={setting: restored_epoch},
)
plotting.save_figure(fig, "00_concepts/overfitting")
fig

# %% [markdown]
# The star marks the epoch with the lowest validation loss averaged over seeds; the
# dotted line is where `EarlyStopping` (one `model.fit` run, seed 0) put the weights
# back. Left of the star the network underfits, right of it the validation loss climbs
# while the training loss keeps falling. Early stopping finds the same region from a
# single run: it keeps the best weights it has seen and gives up `patience` epochs later.
#
# ## What the sources said, and what we measured

# %%
table = ClaimsTable(
    note=(
        "Gradient-descent rows: exact arithmetic. Blobs rows: mean [min, "
        f"max] over seeds {classic_results.seeds}; {FINAL_DEFINITION}; "
        "verdicts per seed (within noise: the seeds disagree); "
        f"{classic_results.meta['data_source']}, {classic_results.epochs} "
        f"epochs (overfitting: {overfit_results.epochs} epochs on {N_SMALL} "
        "points)."
    )
)
ok_threshold = all(
    abs(crossing[k] / thresholds[k] - 1) < 0.02 for k in crossing
)  # within the sweep's spacing
table.add(
    "Gradient descent diverges when the learning rate is too large: for a "
    "quadratic, above 2 / curvature.",
    "; ".join(
        f"{k}: loss grows from lr {crossing[k]:.3g} (2/a = "
        f"{thresholds[k]:.3g})"
        for k in crossing
    ),  # fmt: skip
    verdict(ok_threshold),
)
slow = paths_1d["lr=0.05: too small"][-1, 0]
good = paths_1d["lr=0.4: good"][-1, 0]
table.add(
    "A too-small rate converges, but slowly.",
    f"after 25 steps on w^2: lr=0.05 leaves w = {slow:.3g}, lr=0.4 leaves "
    f"{good:.1e}",
    verdict(0 < slow < 1 and abs(good) < 1e-6 * abs(slow)),
)
table.add(
    "A Keras optimizer performs exactly this update.",
    f"SGD(learning_rate=0.4) on w^2 over 5 steps vs the formula: "
    f"{'equal' if keras_agrees else 'different'} to float32 rounding",
    verdict(keras_agrees),
)
end_loss = {k: final(classic_results.get("loss", k)) for k in CLASSIC}
first_loss = classic_results.get("loss", "very high (5)")[:, 0]
others = [k for k in CLASSIC if k != "good (0.1)"]
lowest = np.logical_and.reduce(
    [end_loss["good (0.1)"] < end_loss[k] for k in others]
)
shapes = lowest & (first_loss > 10 * end_loss["good (0.1)"])
table.add(
    "Loss per epoch: a very high rate blows the loss up, a high rate stalls "
    "above a good one, a low rate learns slowly; the good rate ends lowest.",
    f"first-epoch loss at lr=5: {summary(first_loss, '.3g')}; final loss: "
    + ", ".join(f"{k} {summary(end_loss[k])}" for k in CLASSIC)
    + "; good lowest and lr=5's first epoch above 10 times it in "
    f"{seeds_passing(shapes)}",
    seed_verdict(shapes, partly=bool(lowest.all())),
)
seed_val = overfit_results.get("val_loss", setting)
seed_train = overfit_results.get("loss", setting)
seed_best = np.argmin(seed_val, axis=1)
seed_rise = final(seed_val) - seed_val.min(axis=1)
still_falls = (
    final(seed_train) < seed_train[np.arange(len(seed_best)), seed_best]
)
overfits = (seed_rise > 0.1) & still_falls
train_loss = np.nanmean(seed_train, axis=0)
table.add(
    "Overfitting shows as validation loss rising while training loss still "
    "falls; the best model is at the validation minimum.",
    f"mean validation loss: minimum {mean_val.min():.3f} at epoch "
    f"{best_epoch}, {mean_val[-1]:.3f} at the end; mean training loss "
    f"{train_loss[best_epoch - 1]:.3f} -> {train_loss[-1]:.3f}; per seed, "
    "final validation loss more than 0.1 above its minimum while training "
    f"loss fell in {seeds_passing(overfits)}",
    seed_verdict(overfits, partly=bool((seed_rise > 0.02).all())),
)
table.add(
    "EarlyStopping(restore_best_weights=True) returns the weights of the best "
    "epoch.",
    f"restored epoch {restored_epoch}; lowest validation loss in its history "
    f"at epoch {history_best}; loss after restoring {after:.4f} vs history "
    f"minimum {min(history.history['val_loss']):.4f}; seeds' best epochs "
    f"{per_seed_best.min()}-{per_seed_best.max()}",
    verdict(
        restored_epoch == history_best
        and np.isclose(after, min(history.history["val_loss"]), rtol=1e-4)
    ),
)
table.save("00_concepts/claims")
table

# %% [markdown]
# ## What this chapter shows
#
# - On a quadratic, the learning rate multiplies the distance to the minimum by
#   $1 - \eta a$ each step: small rates crawl, rates between $1/a$ and $2/a$ zig-zag in,
#   and rates above $2/a$ diverge. On an elongated bowl the steepest direction sets that
#   limit, and the flat direction pays for it.
# - Real training shows the same four regimes in its loss curves, from rates almost four
#   orders of magnitude apart (5 down to 0.001).
# - The number of epochs matters as much as the rate: with few training points the
#   validation loss turns up after a few dozen epochs, and `EarlyStopping` with
#   `restore_best_weights=True` hands back the weights of its lowest point.
#
# The following chapters reproduce the original experiments one knob at a time:
# the rate itself, momentum, decay, plateaus, adaptive optimizers, the range test and,
# in chapter 7, schedules.
