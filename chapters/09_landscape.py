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
# # 9. The learning-rate landscape
#
# Where the good learning rate sits when you change momentum, batch size or optimizer,
# and how wide the good region is: maps over 13,860 runs. About 8 minutes from scratch
# on a 2-core CPU (measured: 430 s of it training, as the last printout says), saved,
# so re-plotting takes seconds.
#
# Chapters 1 to 5 varied one thing at a time at one learning rate: momentum at 0.01,
# the optimizers at their defaults, one batch size. The question you face in practice
# is two-dimensional: *if I raise momentum or the batch size, where does the good
# learning rate move, and how much room is there around it?* Here we train whole grids,
# every learning rate from $10^{-5}$ to $4.6$ (18 rates, a third of a decade apart)
# against every momentum, every batch size from 8 to 500 and seven optimizers, each cell
# from 30 seeds, and check three rules of thumb from the literature against them:
#
# - **Effective learning rate.** Heavy-ball momentum (Keras' `SGD(momentum=mu)`) adds
#   up a gradient that keeps its direction over about $1/(1-\mu)$ steps, so in the long
#   run it moves like plain SGD at $\eta/(1-\mu)$. If that is all momentum does, the
#   best rate should fall in proportion to $1-\mu$ (Shallue et al., 2019, report the
#   optimal rate scaling with $1-\mu$).
# - **Linear scaling with batch size.** The noise of SGD grows with
#   $g = \eta N / (B (1-\mu))$ for $N$ training examples and batches of $B$ (Smith,
#   Kindermans, Ying and Le, 2018); keeping $g$ fixed means raising $\eta$ with $B$
#   (the linear scaling rule of Goyal et al., 2017), until the batch is so large that
#   noise no longer matters and the rate stops growing.
# - **Adaptive optimizers** (RMSprop, Adagrad, Adam) divide each step by a running size
#   of the gradients. The usual claims: their best rate grows more slowly with batch
#   size (as $\sqrt{B}$ for Adam), and they are less sensitive to the rate, i.e. their
#   good region is wider.

# %%
import keras
import numpy as np
import tensorflow as tf

from lr_lessons import config
from lr_lessons.lab import landscape, models
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.runner import run_study
from lr_lessons.views import landscape_claims
from lr_lessons.views import landscape_plots as lp
from lr_lessons.views import landscape_tables as tables
from lr_lessons.views.plotting import caption, save_figure

# %% [markdown]
# ## One cell of the map, written as you would write it
#
# Every cell of the maps below is this: the blobs network of chapter 1 (two inputs, 50
# ReLU units, three softmax outputs, 500 training and 500 test points), SGD at one
# learning rate and one momentum, 200 epochs of batches of 32 in a fresh order every
# epoch. Here $\eta = 0.001$ with $\mu = 0.9$: an effective rate of 0.01. Chapter 1
# writes the network out in full; `models.blobs_mlp()` builds the same one.

# %%
blobs = load_blobs()
EPOCHS = config.epochs(200)

keras.utils.set_random_seed(0)
train = (  # a new order each epoch
    tf.data.Dataset.from_tensor_slices((blobs.x_train, blobs.y_train))
    .shuffle(500, seed=0, reshuffle_each_iteration=True)
    .batch(32)
)
test = tf.data.Dataset.from_tensor_slices((blobs.x_test, blobs.y_test))
model = models.blobs_mlp()
model.compile(
    optimizer=keras.optimizers.SGD(learning_rate=0.001, momentum=0.9),
    loss="categorical_crossentropy",
    metrics=["accuracy"],
    steps_per_execution=16,  # one call into TensorFlow per epoch of 16 batches
)
history = model.fit(
    train,
    validation_data=test.batch(32),
    epochs=EPOCHS,
    shuffle=False,  # the dataset shuffles itself
    verbose=0,
)
last = history.history["val_accuracy"][-10:]
print(
    f"test accuracy, mean of the last {len(last)} epochs: {np.mean(last):.3f}"
)

# %% [markdown]
# A map needs this 3,240 times for momentum alone (18 rates x 6 momenta x 30 seeds),
# and more than three times as many again for the optimizers, batch sizes and chapters
# 3-4's settings.
# The library's stacked engine (chapter 1) trains all the cells of a grid, and all
# their seeds, as one TensorFlow program. A grid is an ordinary study whose settings
# are rows x learning rates; `lr_lessons.lab.landscape` builds them and lays their
# results out as arrays of shape (rows, rates, seeds, epochs).
#
# From those, `tables.rate_map` keeps what a map shows, per cell and seed: the final
# test accuracy (the mean of the last 10 epochs), whether the run diverged, the epochs
# it took to reach 75% test accuracy, and the final training loss.

# %% [markdown]
# ## 1. Learning rate x momentum
#
# The top map shows the final test accuracy of every cell (the mean of the last 10
# epochs, then the mean over seeds); the bottom map, how many epochs the median seed
# needed to reach 75% test accuracy (grey: it never did). Hatched cells diverged in at
# least one seed (the loss became NaN, or ended above its first epoch's); outlined
# cells are those where the seeds' final test accuracies lie more than 0.05 apart. The
# dashed lines join cells of equal effective rate $\eta / (1 - \mu)$ (0.001, 0.01, 0.1
# and 1, from left to right); the stars mark each row's best rate (refined between grid
# points).

# %%
momentum = landscape.momentum_grid()
m_results = run_study(momentum.study)
m = tables.rate_map(momentum, m_results)  # arrays (momenta, rates, seeds)
rates, mus = m.rates, list(landscape.MOMENTA)
print(momentum.study.settings[0])
print(
    f"{len(momentum.study.settings)} settings x {len(m_results.seeds)} seeds"
)

# %%
fig = lp.grid_maps(
    {
        "final test accuracy (mean of the last 10 epochs, mean over "
        "seeds)": tables.accuracy_panel(
            m.accuracy, m.diverged, best=m.best_rate_of_mean()
        ),
        "epochs to 75% test accuracy (median seed)": tables.epochs_panel(
            m.epochs_to_target, m.diverged, m_results.epochs
        ),
    },
    rates,
    [f"{mu:g}" for mu in mus],
    "momentum $\\mu$",
    theory=tables.effective_rate_lines(mus),
    spread=landscape.SPREAD_THRESHOLD,
    title="SGD on the blobs problem: learning rate x momentum",
    note=caption([m_results], band=None),
)
save_figure(fig, "09_landscape/momentum_maps")
fig

# %% [markdown]
# Read along a row and the map is chapter 1 again: too small a rate learns slowly or
# not at all, a broad band of rates reaches about 0.82, and too large a rate ends near
# chance. Read down a column and raising momentum acts like raising the rate: the
# whole pattern slides to the left. The stars follow the dashed lines closely: with
# momentum $\mu$, the best rate is about $1-\mu$ times the best rate without it. The
# epochs map follows the same lines on its slow side (left): a cell and the cell
# $1/(1-\mu)$ times further left in a higher-momentum row need about as many epochs.
#
# On the fast side (right) the lines are no guide. The largest rate that still learns
# falls with momentum, by a factor of 22 to 100 across seeds from $\mu = 0$ to $0.99$,
# but less steeply than $1-\mu$ (a slope of 0.78 on average, below 1 in every seed; the
# claims table gives both). On a quadratic,
# heavy-ball momentum is stable up to a rate of about $2(1+\mu)/\lambda$ on a direction
# of curvature $\lambda$, a limit that changes by at most a factor of two with $\mu$, so
# that limit alone does not explain the fall; but in effective-rate terms high momentum
# does tolerate *larger* steps before it fails, and fails by diverging (the hatched
# cells at $\mu \geq 0.8$).
#
# The same data, with each row's rates divided by $1 - \mu$: if the effective rate
# were all that mattered, the curves would fall on top of each other.

# %%
eff = {f"momentum {mu:g}": rates / (1 - mu) for mu in mus}
fig = lp.collapse(
    eff,
    {
        "final test accuracy": dict(zip(eff, m.accuracy)),
        "epochs to 75% test accuracy (never: not drawn)": dict(
            zip(eff, m.epochs_to_target)
        ),
    },
    "effective learning rate $\\eta / (1 - \\mu)$",
    logy=(False, True),
    ylabels=("final test accuracy", "epochs"),
    title="SGD with momentum against its effective learning rate",
    note=caption([m_results]),
)
save_figure(fig, "09_landscape/effective_rate")
fig

# %% [markdown]
# Up to an effective rate of about 0.1 the curves coincide within their seed bands, in
# accuracy and in speed: there, momentum 0.99 at $\eta = 10^{-4}$ trains like no
# momentum at $10^{-2}$. Beyond it they part, broadly in the order of the stability
# limit above: the higher the momentum, the larger the effective rate it survives (the
# largest that still learns, over $1-\mu$: 0.46 at $\mu = 0$ and 0.5, 0.86 to 0.96 at
# 0.8 to 0.95, 1.3 at 0.99; seed means).
#
# ## 2. Learning rate x optimizer
#
# The same rates for RMSprop, Adagrad and Adam (every other argument at Keras'
# default), next to plain SGD and SGD with momentum 0.9 (two rows of the momentum map,
# the same runs), and chapter 8's hypergradient optimizers SGD-HD and Adam-HD (their
# rate is the initial rate, which they then adapt; `hypergrad_lr` at the paper's
# values, 1E-3 and 1E-7). A bar under the curves marks each optimizer's **good region**: the
# rates whose final test accuracy is within 0.01 of that optimizer's best (edges
# interpolated between grid points).

# %%
TOL = landscape.GOOD_TOLERANCE
optimizers = landscape.optimizer_grid()
o_results = run_study(optimizers.study)
o = tables.rate_map(optimizers, o_results)
hypergradient = landscape.optimizer_grid(
    landscape.HD_ROWS, name="landscape_hd"
)
hd_results = run_study(hypergradient.study)
hd = tables.rate_map(hypergradient, hd_results)
all_optimizers = [m_results, o_results, hd_results]
curves = {  # optimizer -> final test accuracy (rates, seeds)
    "SGD": m.accuracy[mus.index(0.0)],
    "SGD, momentum 0.9": m.accuracy[mus.index(0.9)],
    **dict(zip(o.rows, o.accuracy)),
    **dict(zip(hd.rows, hd.accuracy)),
}
mean_regions = {
    k: landscape.good_region(rates, v.mean(-1), TOL) for k, v in curves.items()
}
fig = lp.accuracy_vs_rate(
    rates,
    curves,
    mean_regions,
    title="Final test accuracy against learning rate, per optimizer",
    note=caption(all_optimizers),
)
save_figure(fig, "09_landscape/optimizer_curves")
fig

# %% [markdown]
# Per seed, the width of the good region in decades of learning rate (a hollow dot: the
# region reaches an end of the grid, so it is at least that wide):

# %%
regions = {
    k: landscape.good_region(rates, v.T, TOL) for k, v in curves.items()
}
fig = lp.width_bars(
    {k: r.width for k, r in regions.items()},
    {k: r.censored for k, r in regions.items()},
    title=(
        f"Width of the good region (final test accuracy within {TOL} of the "
        "best)"
    ),
    note=caption(all_optimizers, "bar: mean over seeds", band=None),
)
save_figure(fig, "09_landscape/good_region")
fig

# %% [markdown]
# Each optimizer has its own scale: the plateaus (mean final accuracy 0.75 or more) of
# Adam and RMSprop start at $10^{-4}$, over a decade left of SGD's ($2 \times 10^{-3}$;
# their steps are normalised, so the rate is roughly a step length per weight), and
# Adagrad's reaches furthest right, to the grid's end (its steps shrink as its sum of
# squared gradients grows). The claim is about the width, and the answer depends on
# what "good" means. Within 0.01 of the best (a tolerance about the size of the seeds'
# own spread) the adaptive optimizers' regions are no wider than SGD's. The range of
# rates that learn at all (ending at 75% test accuracy or more) is wider for all three
# adaptive optimizers; the table gives both. Adam-HD is the least sensitive of all: it
# learns its own rate (chapter 8), so its start hardly matters from $10^{-5}$ to $0.1$
# (mean final accuracy 0.816 to 0.831); SGD-HD's seeds end more than 0.25 apart at 15
# of the 18 starts.
#
# ## 3. Learning rate x batch size
#
# SGD and Adam at batch sizes 8 to 500 (500 is the whole training set: full-batch
# gradient descent), the same rates and seeds. **The number of epochs is fixed at
# 200**, so a larger batch takes fewer updates: 12,600 at batch 8, 3,200 at 32, 200 at
# 500. This is the comparison the linear scaling rule is about (the same data seen, in
# fewer, larger steps). The batch-32 rows are the SGD row of the momentum map and the
# Adam row of the optimizer map.
#
# `tables.by_batch_size` gathers SGD's and Adam's final accuracies into one array per
# optimizer, (batch sizes, rates, seeds); `tables.batch_scaling` finds each batch
# size's best rate per seed and fits a line through them on log-log axes that may
# turn flat at a *knee* (the point where the rate stops growing).

# %%
BATCHES = landscape.BATCH_SIZES if not config.quick() else (8, 32, 500)
b_results = {
    b: run_study(landscape.batch_grid(b).study) for b in BATCHES if b != 32
}
b_acc = tables.by_batch_size(
    BATCHES, b_results, at_32={"SGD": curves["SGD"], "Adam": curves["Adam"]}
)
scaling = tables.batch_scaling(BATCHES, rates, b_acc, TOL)
all_batch = [m_results, o_results, *b_results.values()]
fig = lp.best_rate_vs_batch(
    BATCHES,
    scaling.best,
    scaling.region,
    scaling.fit,
    guides={"SGD": 1.0, "Adam": 0.5},
    rates=rates,
    title=(
        "Best learning rate against batch size (200 epochs at every batch "
        "size)"
    ),
    note=caption(
        all_batch,
        "big dots: geometric mean over seeds; line: fitted",
        band=None,
    ),
)
save_figure(fig, "09_landscape/batch_scaling")
fig

# %% [markdown]
# SGD's best rate roughly doubles with every doubling of the batch from 32 to 256 and
# grows less from 256 to 500; below 32 the plateau of good rates is so flat that the
# seeds' best rates scatter over a decade or more. Adam's best rate also grows with the
# batch, a little more slowly than SGD's (slopes fitted per seed 0.90 against 1.19 on
# average, lower in 23 of 30 seeds; the figure's lines, fitted to all seeds at once,
# 0.86 and 1.10) but closer to linear than to square-root scaling (within 0.2 of 0.5 in
# 1 of 30 seeds). The table below tests both rules seed by seed.
#
# The maps behind those points, with lines of the two scaling rules through the best
# rate at batch 32: $\eta \propto B$ for SGD and $\eta \propto \sqrt{B}$ for Adam.

# %%
power = {"SGD": 1.0, "Adam": 0.5}
fig = lp.grid_maps(
    {
        f"{k}: final test accuracy": tables.accuracy_panel(
            v,
            best=landscape.best_rate(rates, v.mean(-1)),
            theory=tables.scaling_lines(
                k,
                BATCHES,
                landscape.best_rate(rates, v[BATCHES.index(32)].mean(-1)),
                power[k],
            ),
        )
        for k, v in b_acc.items()
    },
    rates,
    [str(b) for b in BATCHES],
    "batch size",
    spread=landscape.SPREAD_THRESHOLD,
    title="Learning rate x batch size, 200 epochs at every batch size",
    note=caption(all_batch, band=None),
)
save_figure(fig, "09_landscape/batch_maps")
fig

# %% [markdown]
# ## 4. Chapters 3 and 4 along the momentum axis
#
# Chapters 3 and 4 drew their conclusions at one setting, SGD at 0.01 without momentum.
# Do they survive momentum? We rerun chapter 3's four decays and chapter 4's four
# patiences at every momentum of the map (the momentum-0 rows are the chapters' own
# settings; "none" is the map's constant rate 0.01 from the same seeds).
#
# `tables.momentum_rows` arranges a study's runs by momentum and by the decay rate
# or patience, read from each setting's own data (its schedule or its
# `ReduceLROnPlateau` arguments): final test accuracy, divergence and final loss of
# shape (momenta, decays or patiences, seeds), and the rate of every epoch.

# %%
decay_study = landscape.momentum_decay_study()
plateau_study = landscape.momentum_plateau_study()
decay, plateau = run_study(decay_study), run_study(plateau_study)
decays, patiences = landscape.DECAYS, landscape.PATIENCES
d = tables.momentum_rows(decay, decay_study, mus, decays, tables.decay_rate)
p = tables.momentum_rows(
    plateau, plateau_study, mus, patiences, tables.patience
)
none = list(rates).index(0.01)  # the map's constant rate 0.01: "none"
print(
    f"chapter 3: {d.accuracy.shape} (momenta, decays, seeds); chapter 4: "
    f"{p.loss.shape} (momenta, patiences, seeds)"
)

# %%
fig = lp.grid_maps(
    tables.chapters_3_4_panels(m, d, p, none),  # "none": the constant 0.01
    rates,
    [f"{mu:g}" for mu in mus],
    "momentum $\\mu$",
    spread=landscape.SPREAD_THRESHOLD,
    sharex=False,
    title="Chapters 3 and 4 at every momentum",
    note=caption([decay, plateau, m_results], band=None),
)
save_figure(fig, "09_landscape/momentum_rows")
fig

# %% [markdown]
# With momentum, chapter 3's fast decays hurt less and less: momentum multiplies the
# effective starting rate by $1/(1-\mu)$, so the network gets further before the rate
# has decayed. Decay 0.01 ends 0.08 below no decay at $\mu = 0$, 0.03 at 0.5 and not
# below from 0.8; decay 0.1 ends 0.14 below at $\mu = 0$, still 0.03 at 0.9, and not
# below from 0.95. Decay $10^{-4}$ stays close to no decay at every momentum. Chapter
# 4's ordering (smaller patience, higher final loss) holds along the row, and at
# momentum 0.99 (an effective rate of 1) it turns into failure: with patience 5 or 2
# the rate is cut while the loss is still high, and runs end above their first epoch's
# loss (hatched: 19 of 30 seeds at patience 2, 3 at patience 5). Patience 15 drops the
# rate exactly once in 10 of 30 seeds without momentum, 2 at $\mu = 0.5$, none above.
#
# ## What the maps mean when you tune
#
# Three habits follow from the maps, each backed by the claims table below:
#
# - **Changing momentum? Keep $\eta / (1-\mu)$.** Going from no momentum to
#   $\mu = 0.9$, divide the rate by ten and you stay on the same part of the map, as
#   long as the effective rate stays below about 0.1. Near the fast edge the rule
#   fails: there, high momentum diverges rather than just learning badly.
# - **Changing the batch size? Move the rate with it, within reason.** For SGD with a
#   fixed number of epochs the best rate grows with the batch; below batch 32 the band
#   of good rates is so flat that its exact best hardly matters. Adam's best rate moved
#   too, so "adaptive" does not mean "leave the rate alone when the batch changes".
# - **Search on a log grid, per optimizer.** Each optimizer's good rates sit in their
#   own decade (Adam's and RMSprop's one to two decades below SGD's), and the good
#   region within 0.01 of the best is from under a decade (RMSprop) to more than two
#   decades (Adam-HD, whose region reaches the end of our grid in some seeds, so its
#   width is a lower bound) wide: a grid a third of a decade apart finds it, and a range
#   test (chapter 6) narrows it down faster.
#
# ## How long it took
#
# Every study above was trained once and saved; running the chapter again re-plots
# from `results/` in seconds. The numbers below are the training times stored with the
# results (so they stay the original training's, also when read back from disk).

# %%
everything = [*all_optimizers, *b_results.values(), decay, plateau]
# (memory varies run to run: `lr-lessons figures` reports it per chapter)
print(tables.training_speed(everything))

# %% [markdown]
# ## What the literature claims, and what we measured
#
# The verdicts follow the one policy of every chapter: each claim is tested seed by seed
# at its own statement (a slope of 1 for proportional, 0.5 for square root), and each
# verdict counts the seeds that pass, with the 95% interval of the pass rate
# ([how the verdicts are decided](../verdicts.md)). A slope read off best rates on our
# grid of thirds of a decade is uncertain by about 0.2 (half a grid step at each end of
# a two-decade span), so slopes within 0.2 of the claimed value count as agreeing.
#
# **Effective learning rate**: per seed, the best rate of each momentum row; if it
# scales with $1-\mu$, the slope of log best rate against $\log(1-\mu)$ is 1. **Where
# the rule stops** (a measurement, not a claim): the largest rate per row that still
# ends at 75% test accuracy or more, and whether it too scales with $1-\mu$; the
# stability limit above says it should not. **Linear scaling with batch size, up to a
# point**: per seed, the fitted slope of SGD's best rate against the batch size below
# the knee should be 1, and the knee should lie inside the batch sizes we tried.
# **Adam scales more slowly**: per seed its slope should be below SGD's, and near 0.5
# (square root). **Adaptive optimizers are less sensitive**: per seed, each adaptive
# optimizer's good region (within 0.01 of its best) must be wider than SGD's; the row
# also gives the looser reading (the rates that learn at all) and flags widths that are
# lower bounds because the region reaches the end of the grid. **Chapters 3 and 4
# across the momentum row**, each with its chapter's own per-seed tests and thresholds
# (the same functions, `decay_claims` and `plateau_claims`): chapter 3's fast decays
# (0.1, 0.01) end more than 5 points below decay $10^{-4}$, which ends within 2 points of
# no decay; chapter 4's patience 2 hits its floor rate ($10^{-6}$) within 25 epochs,
# patience 15 drops the rate exactly once, and the final training loss is ordered
# 2 > 5 > both of 10 and 15. Each part is judged at every momentum, and the verdict
# shows each. Each claim is one function of `lr_lessons.views.landscape_claims`.

# %% tags=["ledger"]
table = landscape_claims.table(
    m_results,
    mus,
    rates,
    m.best_rate(),
    m.accuracy,
    BATCHES,
    scaling,
    curves,
    regions,
    list(optimizers.rows),
    TOL,
    decay_grid=(decays, d.accuracy, m.accuracy[:, none]),
    plateau=(patiences, p.learning_rate, p.loss),
)
table.save("09_landscape/claims")
table
