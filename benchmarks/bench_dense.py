"""Benchmark: the stacked engine on any Dense MLP, cold and warm, against sequential fit.

Prints, with PASS/FAIL target lines (ratios against sequential ``model.fit`` timed in the
same run; the machine may be shared, so absolute seconds are noisy, ratios less so):

1. the five blobs studies x ``--seeds`` seeds (``stacked.train_studies``, one call), in a
   fresh process with an empty XLA cache (cold: tracing and compilation included) and
   again in a second fresh process whose cache the first one filled (warm): warm at
   least 1000x sequential fit, cold at least 600x. Each process first trains one epoch
   on each engine (process start-up, not counted), as ``bench_engines.py`` does;
2. an MNIST MLP grid (784-256-256-10, 8 rates x 3 seeds, ``--mnist-epochs`` epochs,
   on the 8k offline subset) against sequential fit of the same runs (2 of them timed,
   scaled): at least 20x, at batch 32 (Keras' default, and `Study`'s) and batch 128.
   The grid is compute-bound: each line also prints this machine's measured
   matrix-product peak and the most any engine could gain over fit at that rate;
3. a width grid like chapter 11's (784-w-w-10 for w in 64..2048, 4 rates x 1 seed,
   one epoch on the first ``--width-samples`` training images): its wall time, and
   the ratio against sequential fit (one run per width timed).

Run: ``python benchmarks/bench_dense.py`` (``LR_LESSONS_MNIST`` names the MNIST file;
``--skip-mnist`` leaves out 2 and 3); ``benchmarks/run_all.py`` runs it too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
WARM_TARGET = 1000.0
COLD_TARGET = 600.0
MNIST_TARGET = 20.0
# Keras' default batch size (and `Study`'s), and the larger batch of the first measurement.
MNIST_BATCHES = (32, 128)
MNIST_RATES = tuple(float(r) for r in np.geomspace(1e-3, 1.0, 8))
WIDTHS = (64, 128, 256, 512, 1024, 2048)
WIDTH_RATES = (0.01, 0.03, 0.1, 0.3)


def verdict(ok: bool) -> str:
    """The word ending a target line."""
    return "PASS" if ok else "FAIL"


def timed(work) -> float:
    """Wall seconds of ``work()``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


# --- 1. the blobs suite, cold and warm -----------------------------------------------

SUITE_CHILD = """
import json, sys, time
from lr_lessons.lab import studies
from lr_lessons.lab.data import load_blobs
from lr_lessons.lab.engines import fit, stacked
seeds = list(range(int(sys.argv[1])))
data = load_blobs()
suite = [make() for make in studies.BLOBS_STUDIES.values()]
tiny = suite[0].with_epochs(1)
stacked.train(tiny, seeds[:2], data)            # process start-up, not counted
fit.fit_one(tiny, tiny.settings[0], 0, data)
start = time.perf_counter()
stacked.train_studies(suite, seeds, data)
took = time.perf_counter() - start
print(json.dumps({"suite_s": took, "folder": str(stacked.compile_cache.folder())}))
"""


def suite_in_a_new_process(seeds: int, cache: Path) -> dict:
    """The suite's wall time in a fresh process whose XLA cache root is ``cache``."""
    env = dict(os.environ, LR_LESSONS_XLA_CACHE=str(cache))
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run(
        [sys.executable, "-c", SUITE_CHILD, str(seeds)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def fit_seconds_per_blobs_run(fit_runs: int) -> tuple[float, int, int]:
    """Sequential fit: seconds per run of the blobs suite (``fit_runs`` runs timed,
    settings spread over the suite, seed 0), and the suite's runs per seed and epochs."""
    from lr_lessons.lab import studies
    from lr_lessons.lab.data import load_blobs
    from lr_lessons.lab.engines import fit

    data = load_blobs()
    suite = [make() for make in studies.BLOBS_STUDIES.values()]
    tiny = suite[0].with_epochs(1)
    fit.fit_one(tiny, tiny.settings[0], 0, data)  # start-up, not counted
    every = [(s, setting) for s in suite for setting in s.settings]
    chosen = [every[round(i)] for i in np.linspace(0, len(every) - 1, fit_runs)]
    took = timed(lambda: [fit.fit_one(s, setting, 0, data) for s, setting in chosen])
    return took / len(chosen), len(every), suite[0].epochs


def suite_benchmark(seeds: int, fit_runs: int) -> dict[str, float]:
    """Cold (empty cache) and warm (filled by the cold process) suite vs sequential fit."""
    with tempfile.TemporaryDirectory(prefix="lr-lessons-xla-") as cache:
        cold = suite_in_a_new_process(seeds, Path(cache))
        warm = suite_in_a_new_process(seeds, Path(cache))
        entries = len(list(Path(cold["folder"]).glob("*.pb")))
    per_run, n_settings, epochs = fit_seconds_per_blobs_run(fit_runs)
    n_runs = n_settings * seeds
    sequential = per_run * n_runs
    print(
        f"blobs suite ({n_runs} runs x {epochs} epochs, one call): cold {cold['suite_s']:.2f} s "
        f"(empty XLA cache), warm {warm['suite_s']:.2f} s (cache of {entries} programs filled "
        f"by the cold process); sequential model.fit {per_run:.1f} s per run "
        f"({fit_runs} timed) = {sequential:,.0f} s",
        flush=True,
    )
    ratios = {k: sequential / v["suite_s"] for k, v in (("cold", cold), ("warm", warm))}
    print(
        f"TARGET warm blobs suite >= {WARM_TARGET:,.0f}x sequential model.fit: "
        f"{ratios['warm']:,.0f}x {verdict(ratios['warm'] >= WARM_TARGET)}",
        flush=True,
    )
    print(
        f"TARGET cold blobs suite >= {COLD_TARGET:,.0f}x sequential model.fit: "
        f"{ratios['cold']:,.0f}x {verdict(ratios['cold'] >= COLD_TARGET)}",
        flush=True,
    )
    return {"cold_s": cold["suite_s"], "warm_s": warm["suite_s"], **ratios}


# --- 2. and 3. MNIST MLPs ---------------------------------------------------------------


def mnist_data(limit: int | None = None):
    """The MNIST set `LR_LESSONS_MNIST` names (or Keras'), flattened and one-hot encoded."""
    from lr_lessons.lab.data import Dataset, load_mnist
    from lr_lessons.lab.models import DenseSpec, dense_data

    data = dense_data(DenseSpec(784, (), 10), load_mnist())
    if limit is not None and limit < len(data.x_train):
        source = f"{data.source}, first {limit} train"
        data = Dataset(data.x_train[:limit], data.y_train[:limit], data.x_test, data.y_test, source)
    return data


def flops_per_epoch(spec, n_train: int, n_test: int) -> float:
    """Floating-point operations of one run's epoch in the Dense layers' products: per
    training image 2 per multiply-add forward, 2 for the weights' gradients and 2 for the
    inputs' gradients of every layer but the first (nothing needs the images' gradient);
    per test image the forward pass."""
    sizes = (spec.inputs, *spec.widths)
    macs = sum(a * b for a, b in zip(sizes, sizes[1:]))
    first = sizes[0] * sizes[1]
    return (6.0 * macs - 2.0 * first) * n_train + 2.0 * macs * n_test


def grid_against_fit(studies_, seeds, data, fit_per_study: int) -> tuple[float, float, int]:
    """Stacked wall time of ``studies_`` (one call) and sequential fit of the same runs
    (``fit_per_study`` runs of each study timed, scaled): seconds, seconds, runs."""
    from lr_lessons.lab.engines import fit, stacked

    stacked_s = timed(lambda: stacked.train_studies(studies_, seeds, data))
    sequential, n_runs = 0.0, 0
    for study in studies_:
        chosen = study.settings[:: max(1, len(study.settings) // fit_per_study)][:fit_per_study]
        took = timed(lambda c=chosen, s=study: [fit.fit_one(s, x, 0, data) for x in c])
        runs = len(study.settings) * len(seeds)
        sequential += took / len(chosen) * runs
        n_runs += runs
    return stacked_s, sequential, n_runs


def peak_gflops(sizes: tuple[int, ...] = (1024, 2048, 4096), seconds: float = 2.0) -> float:
    """The machine's measured float32 matrix-product rate (GFLOP/s): the best of square
    products of a few sizes in TensorFlow, the library both engines run on, each repeated
    for about `seconds` (the first call not counted). No engine multiplies matrices much
    faster than this, so a compute-bound grid's ratio to ``fit`` is at most about this
    rate over ``fit``'s."""
    import tensorflow as tf

    best = 0.0
    for size in sizes:
        a = tf.random.normal((size, size))
        product = tf.function(lambda m: tf.linalg.matmul(m, m))
        one = timed(lambda p=product, m=a: p(m).numpy())
        one = timed(lambda p=product, m=a: p(m).numpy())
        repeats = max(3, int(seconds / max(one, 1e-6)))
        took = timed(lambda p=product, m=a, r=repeats: [p(m).numpy() for _ in range(r)])
        best = max(best, 2.0 * size**3 * repeats / took / 1e9)
    return best


def mnist_benchmark(
    epochs: int, fit_runs: int, batch_sizes: tuple[int, ...] = MNIST_BATCHES
) -> dict[str, float]:
    """The 784-256-256-10 grid, 8 rates x 3 seeds, against sequential fit, per batch size."""
    from lr_lessons.lab.engines import fit, stacked
    from lr_lessons.lab.models import DenseSpec
    from lr_lessons.lab.studies import Setting, Study

    data = mnist_data()
    spec = DenseSpec(784, (256, 256), 10)
    peak = peak_gflops()
    out: dict[str, float] = {"peak_gflops": peak}
    for batch in batch_sizes:
        study = Study(
            "mnist_mlp_grid",
            "784-256-256-10, SGD at 8 rates",
            tuple(Setting(f"lr={r:.3g}", "sgd", r) for r in MNIST_RATES),
            epochs,
            batch,
            "mnist",
            spec,
        )
        one = study.with_epochs(1)
        stacked.train(one, [0, 1], data)  # start-up of both engines, not counted
        fit.fit_one(one, one.settings[0], 0, data)
        stacked_s, sequential, n_runs = grid_against_fit([study], [0, 1, 2], data, fit_runs)
        ratio = sequential / stacked_s
        flops = n_runs * epochs * flops_per_epoch(spec, len(data.x_train), len(data.x_test))
        fit_rate = flops / sequential / 1e9
        print(
            f"MNIST MLP grid ({spec.inputs}-256-256-10, {n_runs} runs x {epochs} epochs, batch "
            f"{batch}, {len(data.x_train):,} train images): stacked {stacked_s:.1f} s, "
            f"sequential model.fit {sequential:.1f} s ({fit_runs} runs timed, scaled); "
            f"{flops / 1e12:.2f} TFLOP of matrix products: stacked "
            f"{flops / stacked_s / 1e9:.1f} GFLOP/s, fit {fit_rate:.1f} GFLOP/s, this "
            f"machine's matrix-product peak {peak:.0f} GFLOP/s: no engine can beat fit by "
            f"more than {peak / fit_rate:.1f}x here",
            flush=True,
        )
        print(
            f"TARGET MNIST MLP grid, batch {batch}, >= {MNIST_TARGET:.0f}x sequential "
            f"model.fit: {ratio:.1f}x {verdict(ratio >= MNIST_TARGET)}",
            flush=True,
        )
        out[f"mnist_ratio_batch{batch}"] = ratio
        out[f"mnist_ceiling_batch{batch}"] = peak / fit_rate
    return out


def width_benchmark(samples: int) -> dict[str, float]:
    """Chapter 11's kind of grid: widths 64..2048, 4 rates, one seed, one epoch."""
    from lr_lessons.lab.models import DenseSpec
    from lr_lessons.lab.studies import Setting, Study

    data = mnist_data(samples)
    grid = [
        Study(
            f"width_{w}",
            f"784-{w}-{w}-10",
            tuple(Setting(f"lr={r:g}", "sgd", r) for r in WIDTH_RATES),
            1,
            128,
            "mnist",
            DenseSpec(784, (w, w), 10),
        )
        for w in WIDTHS
    ]
    stacked_s, sequential, n_runs = grid_against_fit(grid, [0], data, 1)
    print(
        f"width grid (784-w-w-10, w = {', '.join(map(str, WIDTHS))}; {len(WIDTH_RATES)} rates "
        f"x 1 seed, 1 epoch, batch 128, {len(data.x_train):,} train images; {n_runs} runs, one "
        f"program per width): stacked {stacked_s:.1f} s, sequential model.fit {sequential:.1f} s "
        f"(one run per width timed, scaled) = {sequential / stacked_s:.1f}x",
        flush=True,
    )
    return {"width_stacked_s": stacked_s, "width_fit_s": sequential}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per blobs study (5)")
    parser.add_argument("--fit-runs", type=int, default=2, help="fit runs timed (2)")
    parser.add_argument("--mnist-epochs", type=int, default=3, help="MNIST grid epochs (3)")
    parser.add_argument(
        "--width-samples", type=int, default=2000, help="train images of the width grid (2000)"
    )
    parser.add_argument("--skip-mnist", action="store_true", help="leave out 2 and 3")
    parser.add_argument("--skip-suite", action="store_true", help="leave out 1")
    args = parser.parse_args()
    if not args.skip_suite:
        suite_benchmark(args.seeds, args.fit_runs)
    if not args.skip_mnist:
        mnist_benchmark(args.mnist_epochs, args.fit_runs)
        width_benchmark(args.width_samples)


if __name__ == "__main__":
    main()
