"""Benchmark: the stacked engine against sequential ``model.fit`` on the blobs studies.

Prints, in one process:

1. throughput (setting-seed-epochs per second) of the learning-rate study (8 settings,
   5 seeds, 200 epochs) on the stacked engine, tracing included;
2. wall time and peak memory (max RSS of this process) of all five blobs studies with
   5 seeds on the stacked engine;
3. throughput of the fit engine, measured on a subset of the learning-rate study's runs
   (``--fit-runs`` full-length ``model.fit`` runs, seed 0, spread over the settings) and
   scaled per setting-seed-epoch, and the ratio of the two throughputs.

Run: ``python benchmarks/bench_engines.py [--seeds 5] [--fit-runs 2]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from lr_lessons import studies  # noqa: E402
from lr_lessons.data import load_blobs  # noqa: E402
from lr_lessons.engines import fit, stacked  # noqa: E402


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per study (default 5)")
    parser.add_argument(
        "--fit-runs", type=int, default=2, help="model.fit runs to time (default 2)"
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.fit_runs < 1:
        raise ValueError(
            f"--seeds and --fit-runs must be positive, got {args.seeds}, {args.fit_runs}"
        )
    seeds = list(range(args.seeds))
    data = load_blobs()
    study = studies.learning_rate_study()
    units = len(study.settings) * len(seeds) * study.epochs

    start = time.perf_counter()
    stacked.train(study, seeds, data)
    stacked_time = time.perf_counter() - start
    stacked_rate = units / stacked_time
    print(
        f"stacked engine: learning_rate study, {len(study.settings)} settings x {len(seeds)} "
        f"seeds x {study.epochs} epochs in {stacked_time:.1f} s "
        f"= {stacked_rate:,.0f} setting-seed-epochs/s"
    )

    total = 0.0
    parts = []
    for name, make in studies.BLOBS_STUDIES.items():
        each = make()
        start = time.perf_counter()
        stacked.train(each, seeds, data)
        took = time.perf_counter() - start
        total += took
        parts.append(f"{name} {took:.1f} s")
    print(
        f"stacked engine: all five blobs studies x {len(seeds)} seeds in {total:.1f} s "
        f"({', '.join(parts)}); peak RSS {peak_rss_mb():,.0f} MB"
    )

    step = max(1, len(study.settings) // args.fit_runs)
    chosen = list(study.settings[::step][: args.fit_runs])
    start = time.perf_counter()
    for setting in chosen:
        fit.fit_one(study, setting, 0, data)
    fit_time = time.perf_counter() - start
    fit_units = len(chosen) * study.epochs
    fit_rate = fit_units / fit_time
    print(
        f"fit engine: {len(chosen)} of the study's runs ({', '.join(s.name for s in chosen)}; "
        f"seed 0, {study.epochs} epochs each) in {fit_time:.1f} s "
        f"= {fit_rate:,.1f} setting-seed-epochs/s (scaled to the whole study: "
        f"{units / fit_rate:,.0f} s)"
    )
    print(f"speed-up stacked / fit: {stacked_rate / fit_rate:,.0f}x (target >= 100)")


if __name__ == "__main__":
    main()
