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
# # 6. The learning-rate range test
#
# How to find a good learning rate in one short run instead of a grid search, how to
# read the curve, and whether the rates it suggests really train best. About 6.5 minutes
# from scratch on a 2-core CPU with the 10k MNIST subset (measured); re-plotting from
# the saved results takes seconds.
#
# The idea (Leslie Smith, 2015): train for a few hundred batches while the learning
# rate grows from tiny to huge, and record every batch's loss. At first the rate is too
# small to change anything, then the loss falls, then the steps become too large and
# the loss explodes. Good rates sit where the loss falls fastest, a little left of its
# lowest point.
#
# We use `lr_lessons.tools.range_test`, a range test written for Keras 3. Two details
# matter. First, the loss Keras 3 hands to callbacks after each batch is the *running
# mean since the epoch began*, not that batch's loss; a finder that records it (as the
# Keras 2 era finders do) draws a smeared, lagging curve. Ours recovers each batch's own
# loss from Keras' loss tracker. Second, the test changes the model: the originals tell
# you to rebuild it afterwards; ours puts the weights, the optimizer state and the
# learning rate back exactly.
#
# There are two ways to run it on your own model, and this chapter shows both:
#
# - the callback: add `LRFinder(start_lr=..., end_lr=...)` to the callbacks of an
#   ordinary `model.fit` call; after `fit` returns, `finder.result` holds the curve;
# - the function: `range_test(model, x, y, batch_size=..., start_lr=...,
#   end_lr=..., steps=...)` runs the whole test on a compiled model and returns
#   the same kind of result; `range_test_repeats` repeats it from several seeds,
#   building a fresh model for each.
#
# Either way you get a `RangeTestResult`: the rate and loss of every batch, the
# smoothed loss, why the test stopped, and `suggestions()`, the rates four reading
# rules take from the curve. `result.plot()` draws it.
#
# This page trains for about a quarter of an hour, so every result is saved the
# first time and read back afterwards. Each range test is written down as data, a
# `RangeTestSpec` (the model, the optimizer, the ramp, the batch size, the seeds),
# and `run_range_test(spec, data)` from `lr_lessons.lab.range_tests` trains it only
# when no result of the same spec, the same model code, the same data (by its
# contents) and the same library code and versions is saved. The studies that train
# at fixed rates go through `run_study`, which caches the same way.

# %%
import math

import keras
import numpy as np
from keras import layers

from lr_lessons import config
from lr_lessons.lab import models, rate_checks
from lr_lessons.lab.data import load_mnist
from lr_lessons.lab.ramp_reading import fall_tolerance, usable_rates
from lr_lessons.lab.range_tests import RangeTestSpec, run_range_test
from lr_lessons.lab.runner import run_study
from lr_lessons.views import bar_plots, plotting, range_test_claims
from lr_lessons.views.claims import VERDICT_NOTE, seeds_passing, summary
from lr_lessons.views.range_test_explorer import save_explorer_data
from lr_lessons.views.range_test_plots import (
    MARKER_LABELS,
    plot_delta,
    plot_linear_reading,
    plot_loss,
)

# %% [markdown]
# ## The data, and how many steps the ramp gets
#
# The original ran on the 60,000 MNIST training images in batches of 250: 240 batches
# per epoch, 5 epochs, 1,200 learning-rate steps from $10^{-4}$ to $10^0$. The chapter
# loads MNIST with Keras when it can download it (then it has the full 60,000 images);
# offline it reads the file named by `LR_LESSONS_MNIST`. The run committed with this
# page used the offline 10,000-image subset (8,000 training images, 32 batches per
# epoch; the printout below and every caption name the data), so we keep the original's
# 1,200 steps by running more epochs. Quick mode uses a few hundred images, smaller
# batches and a short ramp.
#
# `config.seeds()` gives the seeds of a run (five at full size; this chapter uses
# the first three), and `config.quick()` says whether quick mode is on; both are
# read from the environment in one place, so the figures command, the tests and a
# notebook run agree.

# %%
QUICK = config.quick()
data = load_mnist(limit=500 if QUICK else None)
SEEDS = config.seeds()[:3]
BATCH = 50 if QUICK else 250
STEPS = 60 if QUICK else 1200
per_epoch = math.ceil(len(data.x_train) / BATCH)
ramp_note = (
    f"{STEPS:,} steps = {STEPS / per_epoch:.1f} epochs of {per_epoch} batches "
    f"of {BATCH}"
    + (" (the original: 5 epochs x 240 batches)" if STEPS == 1200 else "")
)
print(f"data: {data.source}\nseeds: {SEEDS}\nramp: {ramp_note}")


# %% [markdown]
# ## Variant 2 first: the callback inside `model.fit`, as you would write it
#
# The TF2 callback tutorial's model (one convolution, a dense layer with dropout) and
# its recipe: add the finder to `model.fit(..., epochs=5)`. The tutorial's finder starts
# at a very low rate ($10^{-7}$) and raises it exponentially after every batch until "a
# very high learning rate (10+)" or until the loss explodes; its code ramps over a fixed
# number of batches (`max_steps`; `fit`'s epochs only have to supply that many), smooths
# the losses with a bias-corrected moving average (smoothing factor 0.9) and stops when
# the smoothed loss exceeds 4 times the best batch loss. We use its range, $10^{-7}$ to
# 10, and its smoothing; our `LRFinder` spreads the ramp over all the batches of the
# `fit` call. With `restore=True` (the default) the model is exactly as before when
# `fit` returns, so you can go on and train it. Our source does not give the tutorial's
# batch size; we use 64, so the ramp has about 600 steps on the 8,000-image subset.

# %%
V2 = {
    "optimizer": "adam",
    "batch_size": 64 if not QUICK else BATCH,
    "epochs": 5,
    "start_lr": 1e-7,
    "end_lr": 10.0,
    "beta": 0.9,
    "seeds": [0],
    "callback": True,
}

# %% [markdown]
# `V2` holds the settings of the test, and the function below the tutorial's model.
# `callback=True` asks for the test exactly as you would write it: seed Keras, build
# the model and compile it with Adam, add `LRFinder(start_lr=..., end_lr=...,
# beta=...)` to the callbacks of `model.fit(x, y, batch_size=..., epochs=5)` and
# read `finder.result`. `run_range_test` also notes every variable of the model and
# of its optimizer before `fit` and checks that each is back to the same bits
# afterwards.


# %%
def small_convnet():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.1),
            layers.Dense(10, activation="softmax"),
        ]
    )


# %% [markdown]
# Running it (or reading it back from the cache), then reading the result: how many
# batches the ramp ran, why it stopped, and the rate each rule suggests (with the
# reason when the curve does not support the rule's reading).

# %%
V2_SPEC = RangeTestSpec(
    "06_range_test/variant2_small_convnet", small_convnet, **V2
)
small = run_range_test(V2_SPEC, data).runs[0]
print(
    f"{len(small)} batches, stopped: {small.stop_reason} at lr "
    f"{small.stop_lr:.3g}"
)
print("model restored bit for bit:", small.meta["restored_bitwise"])
for rule in small.suggestions().values():
    print(
        f"  {MARKER_LABELS[rule.name]:16s} {rule.lr:.2e}"
        + ("" if rule.reliable else f" (unreliable: {rule.reason})")
    )

# %%
fig = small.plot(
    label="small ConvNet, Adam",
    title=(
        "Variant 2: LRFinder inside model.fit(epochs=5), small ConvNet + "
        "Dropout"
    ),
)
plotting.add_footer(
    fig,
    f"data: {data.source}; 1 seed; batch {V2['batch_size']}, {len(small)} "
    f"batches ({small.stop_reason}); faint: each batch's own loss, line: "
    f"bias-corrected EMA (beta {V2['beta']})",
)
plotting.save_figure(fig, "06_range_test/variant2_callback")
fig

# %% [markdown]
# The faint line is each batch's own loss; the solid line its smoothed version, on
# which the four rules place their markers: the **steepest descent** of the smoothed
# loss against $\log_{10}$ of the rate, **minimum/10** (a tenth of the rate at the
# lowest loss), fastai's **valley** (half-way down the longest stretch over which the
# loss keeps falling) and fastai's **slide** (where the slope of the loss settles, left
# of the minimum). No rule reads past the minimum, and a rule whose reading the curve
# does not support (for example a loss already falling where the rules start reading)
# says so: its marker is hollow and the printout gives the reason. The tutorial read
# this plot as "good rates lie between $10^{-3}$ and $10^{-2}$"; the claims table at
# the end checks that against the markers.
#
# Notice that the smoothed line runs to the right of the raw losses. An exponential
# moving average with smoothing $\beta$ remembers roughly the last $1/(1-\beta)$
# batches (10 for the tutorial's 0.9, 50 for fastai's 0.98), so it lags: its fall (and
# every marker on it) appears at a higher rate than the batches that produced it. On
# this ramp, about 75 batches per decade, a 10-batch lag is an eighth of a decade; with
# 0.98 it would be two thirds of one. Rules read on a smoothed curve therefore err
# towards larger rates; a smaller $\beta$ or a longer ramp reduces the lag.
#
# ## Variant 1: the original ConvNet, SGD against Adam, three seeds
#
# The full study goes through the library: one spec per optimizer, and
# `run_range_test` builds a fresh model for every seed (the seed fixes the initial
# weights and the batch order), runs the test with `range_test` and keeps every curve. Each optimizer starts from Keras'
# defaults; only its learning rate is driven by the test.

# %%
V1 = {
    "batch_size": BATCH,
    "steps": STEPS,
    "start_lr": 1e-4,
    "end_lr": 1.0,
    "mode": "exponential",
    "diverge": 4.0,
    "seeds": SEEDS,
}
OPTIMIZERS = {"SGD": "sgd", "Adam": "adam"}
V1_BETA = 0.98  # range_test's default smoothing
V1_SPECS = {
    name: RangeTestSpec(
        f"06_range_test/variant1_{name.lower()}",
        models.mnist_convnet,
        optimizer=optimizer,
        beta=V1_BETA,
        **V1,
    )
    for name, optimizer in OPTIMIZERS.items()
}


# %% [markdown]
# `models.mnist_convnet` builds the model; `run_range_test` seeds Keras, builds and
# compiles a fresh model for each seed, runs the test with `range_test` and moves on
# to the next seed. The test stops early when the smoothed loss passes 4 times its
# lowest value (`diverge=4.0`): past that point the curve only says "too large".
# Each optimizer's repeats are cached under their own name; the printout says how far
# each seed's ramp got and why it stopped.

# %%
tests = {name: run_range_test(spec, data) for name, spec in V1_SPECS.items()}
for name, rep in tests.items():
    stops = sorted({r.stop_reason for r in rep.runs})
    print(
        f"{name}: {[len(r) for r in rep.runs]} batches per seed; stopped: "
        f"{stops}"
    )

# %% [markdown]
# The two optimizers' curves, each the mean over the seeds of the smoothed loss with
# the seeds' range as a band. Read each from the left: the flat start (the rate is
# too small to matter), the fall, the lowest point and the climb. The markers are
# the four rules, each the median of the rates the rule reads on the seeds' own
# curves, with a bar from the smallest to the largest.

# %%
note1 = plotting.caption(
    list(tests.values()),
    f"{ramp_note}; line: each seed's smoothed loss (EMA, beta {V1_BETA}); "
    "markers: each rule's median over the seeds' own curves, bar: min-max, "
    "hollow: unreliable for a seed",
    band="min-max",
)
fig = plot_loss(
    tests,
    title=(
        f"Variant 1: range test of the original ConvNet, batch {BATCH}, "
        "1E-4 to 1"
    ),
    note=note1,
)
plotting.save_figure(fig, "06_range_test/variant1_loss")
fig

# %% [markdown]
# Compare where each optimizer's fall begins, where it is steepest and how low it
# gets before the climb: the claims table at the end measures the last two against
# the original's reading. A narrow band means the seeds agree on the curve; the
# markers' bars show how far the rules' readings move from seed to seed.

# %%
fig = plot_delta(
    tests,
    title="Variant 1: loss delta (loss[i] - loss[i-20]) / 20 per batch",
    note=plotting.caption(
        list(tests.values()), "raw batch losses", band="min-max"
    ),
)
plotting.save_figure(fig, "06_range_test/variant1_loss_delta")
fig

# %% [markdown]
# The loss delta is the original's second figure: the change of the loss over the last
# 20 batches, per batch. Where it is most negative the loss falls fastest; where it
# turns positive and grows, the rate has become too large.
#
# How much do the suggestions move from seed to seed? Each rule is applied to each
# seed's own curve; `rule_summaries()` gives, per rule, the median over the seeds,
# the smallest and the largest rate, and says when the seeds disagree by more than
# a factor of 3 or a seed's reading is unreliable. A rule whose seeds agree closely
# measures the curve; one whose seeds scatter mostly measures the noise of a single
# run, and a single range test (the usual practice) would have given any of them.

# %%
rules = {name: rep.rule_summaries() for name, rep in tests.items()}
for name, summaries in rules.items():
    for rule in summaries.values():
        print(f"{name:5s} {rule}")

# %% [markdown]
# ## Variant 3: Smith's linear ramp, read on accuracy
#
# Smith's own recipe ramps the rate *linearly* from a small to a large value over a few
# epochs and watches the accuracy: the rate where accuracy "slows, becomes ragged, or
# starts to fall" is the largest usable rate, and a third to a quarter of it is a good
# lower bound for a cyclical schedule. We train as Smith did, with SGD and momentum 0.9,
# in his validation mode: every 4 batches the model is scored on the same 1,000
# held-out images (the training metrics are not disturbed), from three seeds.
#
# We read the curve from the left, as the recipe says: the first point where the
# validation accuracy falls more than 3 standard errors (0.047 on 1,000 images) below
# its best so far is where it turned ragged; the best point before it is the largest
# usable rate (`lr_lessons.lab.ramp_reading.first_fall`). The highest accuracy overall
# is a worse reading on this ramp: after a collapse the accuracy can recover and peak
# again at a much larger rate.
#
# That recovery shows the linear ramp's **confound**. The rate and the training both
# grow along the ramp: a point late in the ramp is a larger rate *and* a model that has
# trained longer. A model that has already learned tolerates larger rates, and its
# accuracy can recover at a rate that would have wrecked it at the start; a model that
# has barely learned can look bad at a rate that is fine. So the reading says where
# *this* run broke down, not the largest rate a fresh run could use; the cyclical
# schedule built from it (a long run at rates between the bounds) is a different use.
# Chapter 7 reads the same accuracy curve on an exponential ramp.

# %%
V3 = {
    "optimizer": "sgd",
    "options": {"momentum": 0.9},
    "batch_size": BATCH,
    "steps": 40 if QUICK else 8 * per_epoch,
    "start_lr": 1e-3,
    "end_lr": 1.0,
    "mode": "linear",
    "beta": 0.9,
    "validate_every": 4,
    "validation_images": 1000,
    "seeds": SEEDS,
}
n_val = min(V3["validation_images"], len(data.x_test))
V3_SPEC = RangeTestSpec(
    "06_range_test/variant3_linear_accuracy", models.mnist_convnet, **V3
)


# %% [markdown]
# `validate_every` and `validation_images` switch the test to Smith's validation
# mode: every few updates the finder scores the model on the first
# `validation_images` test images and records the accuracy next to the current
# rate, in `result.validation`. Then we
# read each seed's curve: `fall_tolerance(n)` is 3 standard errors of an accuracy
# measured on `n` images, and `usable_rates` (both from
# `lr_lessons.lab.ramp_reading`) finds each seed's first fall and the rate at the
# best point before it. The median over the seeds is the reading we check below.

# %%
linear = run_range_test(V3_SPEC, data)
TOL = fall_tolerance(n_val)
readings, max_lrs = usable_rates(linear.runs, TOL)
# Smith's words read literally: the rate of the highest accuracy overall
naive = np.array([run.max_usable_lr("accuracy") for run in linear.runs])
MAX_LR = float(np.median(max_lrs))
bounds = {f: MAX_LR * f for f in (1 / 3, 1 / 4)}
for seed, run, f, peak in zip(SEEDS, linear.runs, readings, naive):
    val = run.validation
    print(
        f"seed {seed}: {f.describe(val['accuracy'], val['lr'])}; highest "
        f"accuracy overall at {peak:.3g} ({run.stop_reason})"
    )
print(
    f"max usable rate (median over seeds): {MAX_LR:.3g}; cyclical minimum: "
    f"1/3 -> {bounds[1 / 3]:.3g}, 1/4 -> {bounds[1 / 4]:.3g}"
)

# %% [markdown]
# In the figure each seed's validation accuracy is drawn against the rate, with
# its best point before the first fall (circle) and the fall itself (cross). The red
# line is the reading (the median over the seeds), the grey band the third to
# quarter of it that Smith recommends as the lower bound of a cyclical schedule.

# %%
fig = plot_linear_reading(
    linear,
    readings,
    fractions=(1 / 3, 1 / 4),
    title=(
        "Variant 3: linear ramp of SGD (momentum 0.9) read on accuracy, "
        "original ConvNet"
    ),
    note=plotting.caption(
        linear,
        f"linear ramp {V3['start_lr']:g} to {V3['end_lr']:g} over "
        f"{V3['steps']} batches of {BATCH}; validation: the same {n_val} test "
        f"images every {V3['validate_every']} batches; a fall: {TOL:.3f} below "
        "the best so far (3 standard errors)",
        band=None,
    ),
)
plotting.save_figure(fig, "06_range_test/variant3_accuracy")
fig

# %% [markdown]
# Is the reading the largest *usable* rate? We train the same ConvNet and optimizer
# (SGD, momentum 0.9) for 2 epochs from fresh weights at a constant rate: the cyclical
# minimum (a quarter of the reading), the reading itself, and twice the reading, from
# each seed. If the reading is right, training at it works (test accuracy above 0.5)
# and doubling it does worse. `fraction_rates` rounds each rate to two significant
# digits and labels it ("twice (0.15)"); `scores_by_tag` reads each one's test
# accuracy after the last epoch back by its tag, one number per seed.

# %%
lin_rates = rate_checks.fraction_rates(
    MAX_LR, optimizer="sgd", options={"momentum": 0.9}
)
linear_check = rate_checks.check_study(
    "06_range_test_check_linear",
    "Linear-ramp reading: a quarter of it, it, twice it (SGD momentum 0.9), "
    "2 epochs",
    lin_rates,
    epochs=2,
    batch_size=BATCH,
)
linear_checked = run_study(
    linear_check, SEEDS, engine="fit", data=data, progress=False
)
lin_acc = rate_checks.scores_by_tag(linear_checked, lin_rates)
for tag, acc in lin_acc.items():
    print(f"{tag:12s} test accuracy after 2 epochs: {summary(acc)}")

# %% [markdown]
# Read the three lines top to bottom. If the reading is the largest usable rate,
# the middle line trains and the last one does worse; the first, Smith's lower
# bound for a cyclical schedule, should train as well. A wide [min, max] on the
# middle line means the reading sits near the edge for some seeds: the claims
# table counts them.
#
# ## Do the suggestions train best?
#
# A suggestion is only useful if training at it beats its neighbours. For each optimizer
# we take a rule's rate (its median over the seeds), and train the ConvNet for 2
# epochs from fresh weights at that rate, 10 times lower and 10 times higher, from each
# seed, then compare validation accuracy. We check two rules: the steepest descent (the
# original's reading) and fastai's valley ("a little left of the minimum").
#
# `rate_checks.check_suggestions` does it for one rule: it rounds each optimizer's
# suggestion to two significant digits, adds a tenth and ten times it (each a setting
# labelled with its rate, "SGD x10 (0.22)"), trains them as one study and reads it
# back per optimizer: whether the suggestion had the best mean, and on which seeds
# it beat both neighbours. Quick mode checks only the valley rule.


# %%
CHECK_RULES = ("valley",) if QUICK else ("steepest", "valley")  # quick: smoke
suggestion_checks = {
    rule: rate_checks.check_suggestions(
        tests,
        rule,
        "06_range_test_check" + ("" if rule == "steepest" else f"_{rule}"),
        SEEDS,
        data,
        batch_size=BATCH,
    )
    for rule in CHECK_RULES
}
checks = {rule: c.checks for rule, c in suggestion_checks.items()}
for rule in CHECK_RULES:
    for name, check in checks[rule].items():
        print(
            f"{rule:8s} {name:4s}: the suggested rate "
            f"{'won' if check.won else 'did not win'} "
            f"({', '.join(f'{t}: {m:.3f}' for t, m in check.means.items())}); "
            f"best in {seeds_passing(check.won_seeds)}"
        )

# %% [markdown]
# Each line gives, for one rule and one optimizer, the mean validation accuracy at
# the three rates, whether the suggested rate had the best mean ("won"), and on how
# many seeds it beat both neighbours. The two need not agree: a rate can win on
# the mean through one lucky seed, which is why the claims below count seeds.
#
# The bars show the same runs, one group of three per optimizer and one dot per
# seed; the last figure drawn is the valley rule's.

# %%
for rule, check in suggestion_checks.items():
    fig = bar_plots.summary_bars(
        check.scores,
        "validation accuracy after 2 epochs (bar: mean, dots: seeds)",
        title=f"Training at the {rule} suggestion, 10x lower and 10x higher",
        note=f"data: {data.source}; seeds {SEEDS}; batch {BATCH}; engine: fit",
        groups=check.kinds,
    )
    name = "suggestion_check" + ("" if rule == "steepest" else f"_{rule}")
    plotting.save_figure(fig, f"06_range_test/{name}")
fig

# %% [markdown]
# The numbers behind the bars, each rate's validation accuracy over the seeds as
# mean [min, max]:

# %%
for rule, check in suggestion_checks.items():
    for label, acc in check.scores.items():
        print(f"{rule:8s} {label:28s} validation accuracy {summary(acc)}")

# %% [markdown]
# Two things to look for in these bars. First, where the loss curve is already falling
# at the very start of the ramp (Adam here, which learns even at $10^{-4}$), the
# steepest descent lands at the edge of the part the rule reads, so it says little:
# start such a ramp lower. Second, the steepest descent marks where the loss falls
# fastest *during the test*, while the rate is still climbing; a fixed rate for a whole
# run can often be larger. The figure above shows the valley rule; the steepest-descent
# check is saved next to it as `suggestion_check.png`.
#
# ## Try it: read the curves yourself
#
# Every curve of this chapter (both optimizers, every seed) and every check goes into
# one small file next to the figures; on the site, the explorer below reads it with the
# same four rules, ported line by line to JavaScript. Lower the smoothing factor $\beta$
# and the smoothed loss follows the noisy batch losses: at $\beta = 0.9$ SGD's steepest
# descent jumps from about 0.02 to about 0.4, the fall right after a spike of noisy
# batches. Move the start of the read
# window and watch Adam's steepest descent: its loss is already falling at $10^{-4}$,
# so the rule sticks to the window's edge and marks itself unreliable (hollow marker).
# The strip under each curve shows the 2-epoch checks, so you can see which checked
# rate trained best next to where each rule lands.
#
# <!-- widget: range-explorer -->

# %% tags=["ledger"]
# the explorer's data, saved next to the figures (figures/06_range_test/)
save_explorer_data(tests, {r: c.results for r, c in suggestion_checks.items()})

# %% [markdown]
# ## What the original reported, and what we measured
#
# Each row of the table below states a claim of the sources, the numbers this run
# measured for it and a verdict. Each test compares seed by seed (the same seed gives
# the same initial weights and batch order), counts the seeds that pass and gives the
# 95% interval of the pass rate ([how the verdicts are decided](../verdicts.md)); with
# three seeds no claim can be more than `too few seeds, all hold`, and the rows say so.
# A claim with several parts shows each.
#
# **The curves.** The original read its two curves as: Adam reaches a lower loss, it
# falls fastest at a lower rate than SGD, and the steepest descents sit at about
# $10^{-1.95}$ (SGD) and $10^{-3.95}$ (Adam). A seed's reading counts as the same
# position when it lies within half a decade of the original's, and the rows also count
# the seeds whose reading the rule itself marks reliable. **The suggestions.** A rule's
# rate "trains well" when, trained for 2 epochs from fresh weights, it beats both 10
# times lower and 10 times higher on validation accuracy, seed by seed, for both
# optimizers. **Smith's linear ramp.** The reading is the largest usable rate when
# training at it works (test accuracy above 0.5 after 2 epochs) and training at twice
# it does worse. **Variant 2.** The tutorial's range: how many of the four rules land in
# $[10^{-3}, 10^{-2}]$ (one range test, so each rule is checked exactly), and whether
# the finder really ramps to 10 or stops when the loss explodes. **Two pieces of
# advice about the model.** The original rebuilt the model after each test, and its
# code ran the Adam test on the model the SGD test had just trained; we measure what
# `LRFinder` leaves behind and how far the SGD test pushed its model. The tests live in
# `lr_lessons.views.range_test_claims`, one function per kind of claim.

# %% tags=["ledger"]
table = range_test_claims.table(
    tests,
    {rule: checks[rule] for rule in CHECK_RULES},
    {"max_lrs": max_lrs, "median": MAX_LR, "naive": naive, "scores": lin_acc},
    small,
    (V2["start_lr"], V2["end_lr"]),
    note=f"Numbers: mean [min, max] over seeds {SEEDS} (rates: each seed's own "
    f"curve). {VERDICT_NOTE} Data: {data.source}. Ramp: {ramp_note}.",
)
table.save("06_range_test/claims")
table

# %% [markdown]
# Two rows are marked "superseded" rather than judged. The original's advice to rebuild
# the model is right for a finder that leaves the weights as the test left them (its
# own Adam test even ran on the model its SGD test had just pushed to the edge of
# divergence, so that curve started from a damaged network); `LRFinder` puts back what
# it changed, and this chapter builds a fresh model for every test, so neither problem
# arises here.
#
# What we take from the full-size run (three seeds): the curves themselves reproduce
# well, with Adam falling earlier and lower than SGD and little spread across seeds.
# The rates the rules read off them are a starting point, not an answer. For SGD both
# suggestions were too cautious: the steepest descent and fastai's valley each lost to
# a rate ten times higher in the 2-epoch check (the table's rows give the accuracies);
# for Adam the valley held, and the steepest-descent rule could not even read its
# position (the loss already falls at the start of the ramp). Keep in mind what the
# check measures: two epochs here are 64 updates (32 batches of 250 per epoch), a budget
# that favours large rates, which make the most of few steps; a longer run could rank
# the three rates differently. A rule read on a curve recorded while the rate keeps climbing
# tends to undershoot the best fixed rate, so when a run is cheap, try the suggestion
# and a rate several times larger.
#
# ## Using the range test on your own model
#
# What this chapter suggests, as a checklist:
#
# 1. **Ramp long enough, from low enough.** A few hundred batches, starting where the
#    loss is still flat. If the curve already falls at its first points (Adam here),
#    the rules cannot place the fall: start the ramp lower.
# 2. **Mind the smoothing.** The moving average lags by about $1/(1-\beta)$ batches,
#    which moves every marker to larger rates; a smaller $\beta$ or a longer ramp
#    keeps the lag small.
# 3. **Look at more than one seed when you can.** The seeds' spread tells you which
#    readings measure the curve and which measure one run's noise.
# 4. **Treat the suggestion as a starting point.** Train briefly at it and at a few
#    times more; a rate read while the rate is still climbing tends to be cautious.
# 5. **Nothing to rebuild.** `LRFinder` and `range_test` put the weights, the optimizer
#    state and the learning rate back, so you can train the same model right after.
