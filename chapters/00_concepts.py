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
# About 10 seconds of training from scratch on a 2-core CPU (its two 30-seed studies,
# measured), plus the chapter's one `model.fit` and TensorFlow's import.
#
# Gradient descent changes each weight against the slope of the loss:
#
# $$ w \leftarrow w - \eta \, \frac{\partial f}{\partial w}. $$
#
# The learning rate $\eta$ sets how far each step goes. We start with functions simple
# enough to solve on paper, then move to a real network.

# %% [markdown]
# The imports: Keras, and from this library the gradient-descent arithmetic of the
# first sections, the blobs data, chapter 1's model and input pipeline, the study
# runner, the plots and `concepts_claims`, which builds the table at the end.

# %%
import keras
import numpy as np

from lr_lessons import config
from lr_lessons.lab import models, pipelines
from lr_lessons.lab.data import Dataset, load_blobs
from lr_lessons.lab.gradient_descent import Bowl, closed_form, descend
from lr_lessons.lab.runner import run_study
from lr_lessons.lab.studies import Setting, Study
from lr_lessons.views import concepts_claims, line_plots, plotting, space_plots

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
# `Bowl` holds the curvatures of a quadratic, `descend` runs gradient descent on it step
# by step, and `closed_form` evaluates the formula $w_k = (1 - \eta a)^k w_0$ directly;
# the cell checks that the two agree before printing each rate's factor.

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

# %% [markdown]
# The four paths, each point one step, drawn on the parabola:

# %%
fig = space_plots.descent_paths(
    parabola,
    paths_1d,
    title="Gradient descent on $f(w) = w^2$ (curvature $a = 2$, threshold "
    "$2/a = 1$)",
    note="pure arithmetic (lr_lessons.lab.gradient_descent.descend), 25 "
    "steps from w = 1",
    view=1.6,
)
plotting.save_figure(fig, "00_concepts/parabola")
fig

# %% [markdown]
# The same arithmetic is what a Keras optimizer does. Plain `SGD` on one variable with
# the loss $a w^2/2$ gives exactly the path above (to float32 rounding). We hand the
# optimizer the gradient ourselves, `apply_gradients([(gradient, variable)])`, which is
# what `fit` does after every batch:

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
# The two rows agree: `apply_gradients` subtracts the learning rate times the gradient,
# nothing more. Momentum, decay and the adaptive methods of later chapters change only
# how that step is computed from the gradients.
#
# ## Two weights: an elongated bowl
#
# Real losses curve much more steeply in some directions than in others. In
# $f(w) = (a_1 w_1^2 + a_2 w_2^2)/2$ with $a_1 = 1$ and $a_2 = 8$, each coordinate
# follows its own factor $1 - \eta a_i$. The steep direction sets the limit,
# $\eta < 2/8 = 0.25$; the flat direction then keeps at least $1 - 0.25 = 0.75$ of its
# distance after every step (it closes at most a quarter of the gap per step).
# The best single rate, $2/(a_1 + a_2) \approx 0.22$, balances the
# two, and the steep direction already zig-zags at it. For each rate the cell prints
# the slowest factor, $\max_i |1 - \eta a_i|$ (`Bowl.contraction`): the share of the
# remaining distance that survives each step in the worst direction.

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
    factor = bowl.contraction(lr)
    print(f"  {label:22s} slowest factor max|1 - lr*a| = {factor:.3f}")

# %% [markdown]
# A factor of 0.98 means 30 steps still leave more than half the distance
# ($0.98^{30} \approx 0.55$); the best rate's 0.78 leaves less than a thousandth
# ($0.78^{30} \approx 6 \times 10^{-4}$); at 0.245 the steep direction flips sign every
# step and shrinks by only 0.96, so about 30% of it is left. Above 1 the distance grows
# every step. The paths
# on the contours of the bowl:

# %%
fig = space_plots.descent_paths(
    bowl,
    paths_2d,
    title="An elongated bowl, curvatures 1 and 8 (threshold 2/8 = 0.25)",
    note="pure arithmetic, 30 steps from (-4, 1.5); contours of f on a log "
    "spacing",
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
# wide band of rates, from about $0.25/a$ to $1.75/a$: there every step multiplies $w$
# by a factor $|1 - \eta a|$ of about 0.75 or less, and 50 such steps leave a loss
# under $10^{-12}$ ($0.75^{100} \approx 3 \times 10^{-13}$). (The rate $1/a$, which
# lands on the minimum in one step, sits inside the band but does not stand out in
# this picture.) Past the band the loss rises again, and just after $\eta = 2/a$ (the
# dashed lines) it shoots up.

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

# %% [markdown]
# Where does each sweep cross from "shrinks" to "grows"? We take the first rate of the
# sweep whose loss after 50 steps is not below the starting loss, and set it against
# $2/a$. The sweep's rates are 2.3% apart, so that is as close as the crossing can land.

# %%
crossing, crossed = {}, {}
for a in CURVATURES:
    label = f"a = {a:g}"
    start_loss = Bowl((a,)).loss(np.array([1.0]))
    grows = ~(sweep[label] < start_loss)
    crossing[label] = cross = float(SWEEP[np.argmax(grows)])
    limit = thresholds[label]
    print(f"{label}: loss grows from lr {cross:.4f}; 2/a = {limit:.4f}")
    crossed[label] = f"loss grows from lr {cross:.3g} (2/a = {limit:.3g})"

# %% [markdown]
# Each crossing is the first rate of the sweep past $2/a$: on a quadratic the boundary
# between shrinking and growing is exactly $2/a$, and the sweep only sees it to within
# its spacing. The left side of the curves has a formula too: after 50 steps the loss
# is $\frac{a}{2}(1 - \eta a)^{100}$, close to $\frac{a}{2} e^{-100\,\eta a}$ for small
# rates: it barely moves while $\eta a$ is below 0.001 (by a tenth at most) and falls by
# orders of magnitude once $\eta a$ passes a few hundredths (a hundredfold by 0.05).
#
# ## The classic picture, from real runs
#
# Tutorials often show four hand-drawn loss curves: a very high rate whose loss shoots
# up, a high rate that drops fast and then stalls, a good rate that keeps going down and
# a low rate that crawls. Here they are measured: the blobs network of chapter 1 (SGD,
# batches of 32, 200 epochs), several seeds per rate, training loss per epoch on a log
# axis. A `Study` names its settings (one optimizer and rate each); `run_study` trains
# every setting from every seed, or reads the results back if they were trained before.

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
# At the very high rate the first epoch's loss is in the tens to tens of millions: the
# weights are thrown far out and the network ends up predicting the same thing for
# every point (in every seed a loss near $\ln 3 \approx 1.1$, the loss of guessing). The
# high rate falls quickly and then stalls well above the good rate. The good rate keeps
# improving; the low rate is still far from done after 3,200 updates. The curvature
# argument explains the pattern: the loss surface of a network is not a quadratic, but
# locally it curves, and rates past about $2/\text{curvature}$ of its steepest direction
# stop descending.
#
# ### Reading your own loss curves
#
# The four shapes are worth recognising, because the loss curve is usually the first
# thing you see of a new training run:
#
# | what the training loss does | what it suggests | what to try |
# |---|---|---|
# | jumps up, becomes NaN, or ends near the loss of guessing | the rate is past the edge of stability | a rate 3 to 10 times lower |
# | falls fast, then stalls high and noisy | the rate is too large to settle into the minimum | lower it later in training (chapters 3, 4, 7) |
# | keeps falling steadily to the end | a good rate, or more epochs would help | keep it; check validation loss (next section) |
# | barely moves | the rate is far too small | a rate 10 times higher, or an adaptive optimizer (chapter 5) |
#
# Chapter 6's range test finds the edge in one short run instead of by trial and error.
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
# test points. `run_study(..., data=small)` trains on that smaller data set; the cell
# then finds the epoch where the validation loss, averaged over seeds, is lowest.

# %%
blobs = load_blobs()
N_SMALL = 50
small = Dataset(
    blobs.x_train[:N_SMALL],
    blobs.y_train[:N_SMALL],
    blobs.x_test,
    blobs.y_test,
    source=f"blobs, first {N_SMALL} of 500 training points; validation: the "
    "500 test points",
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
per_seed_best = np.argmin(val_loss, axis=1) + 1  # epochs counted from 1
print(
    f"lowest mean validation loss {mean_val.min():.3f} at epoch {best_epoch}"
)
print(
    f"best epoch per seed: {per_seed_best.tolist()}; final validation loss "
    f"{mean_val[-1]:.3f}"
)

# %% [markdown]
# The seeds disagree by tens of epochs about where their best epoch lies (the second
# line of the printout): near its minimum the validation loss jumps from epoch to
# epoch, so which epoch touches the lowest point is partly luck.
#
# Early stopping automates the choice: watch the validation loss, stop when it has not
# improved for `patience` epochs, and (with `restore_best_weights=True`) put back the
# weights of the best epoch. Written as you would write it, with the network of chapter
# 1 (`models.blobs_mlp()`) and chapter 1's input pipeline (`pipelines.blobs_batches`,
# here on the 50 points in batches of 16: a new order every epoch, and
# `steps_per_execution=4` runs a whole epoch of 4 batches per call into TensorFlow;
# both explained in [chapter 1](01_learning_rate.py#batch-order-in-keras-3)).
# `patience=25` lets the validation loss wander for 25 epochs before the run gives up
# (5 in quick mode, whose runs are short). After training, `stopper.best_epoch` holds
# the epoch it restored, counted from 0 as Keras counts epochs.

# %%
PATIENCE = 5 if config.quick() else 25
keras.utils.set_random_seed(0)
train, test = pipelines.blobs_batches(batch_size=16, data=small)
model = models.blobs_mlp()
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=4,  # one call into TensorFlow per epoch of 4 batches
)
stopper = keras.callbacks.EarlyStopping(
    monitor="val_loss", patience=PATIENCE, restore_best_weights=True
)
EPOCHS = overfit_results.epochs
history = model.fit(
    train, validation_data=test, epochs=EPOCHS, callbacks=[stopper], verbose=0
)
ran = len(history.history["val_loss"])
restored_epoch = stopper.best_epoch + 1  # Keras counts epochs from 0
history_best = int(np.argmin(history.history["val_loss"])) + 1
history_min = min(history.history["val_loss"])
after = model.evaluate(test, verbose=0, return_dict=True)["loss"]
print(
    f"ran {ran} of {EPOCHS} epochs, restored the weights of epoch "
    f"{restored_epoch}"
)
print(f"lowest validation loss in this run's history: epoch {history_best}")
print(
    f"validation loss after restoring: {after:.4f} (history minimum "
    f"{history_min:.4f})"
)

# %% [markdown]
# The run stopped `patience` epochs after its best epoch, not at it: early stopping can
# only know an epoch was the best once enough later epochs have failed to beat it. The
# restored model evaluates to the minimum of its own history, so the weights it kept
# really are those of that epoch. The figure: training and validation loss per epoch,
# over seeds.

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
#
# The first three rows are exact arithmetic (checked, no seeds): for the threshold, the
# crossing found by the sweep must lie within 2% of $2/a$, the spacing of the sweep's
# rates; "converges, but slowly" means that after the same 25 steps the small rate is
# still on its way (between 0 and 1) while the good rate is a million times closer to
# the minimum. The others are tested seed by seed on the blobs runs, and their verdicts
# count the seeds that pass, with the 95% interval of the pass rate
# ([how the verdicts are decided](../verdicts.md)): the classic picture holds for a seed
# when the good rate ends with the lowest training loss of the four and the very high
# rate's first epoch is more than ten times that final loss ("blows the loss up");
# overfitting holds for a seed when its final validation loss is more than 0.1 above its
# own minimum while its training loss kept falling after that minimum. Last, the
# early-stopping run: the epoch it restored must be the epoch of the lowest validation
# loss in its own history, and evaluating the restored model must give that loss back
# (to 1 part in 10,000). The rows are built by `lr_lessons.views.concepts_claims`.

# %% tags=["ledger"]
table = concepts_claims.table(
    {
        "crossing": crossing,
        "thresholds": thresholds,
        "crossed": crossed,
        "slow": paths_1d["lr=0.05: too small"][-1, 0],
        "good": paths_1d["lr=0.4: good"][-1, 0],
        "keras_agrees": keras_agrees,
    },
    classic_results,
    overfit_results,
    {
        "restored_epoch": restored_epoch,
        "history_best": history_best,
        "after": after,
        "history_min": history_min,
    },
    N_SMALL,
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
