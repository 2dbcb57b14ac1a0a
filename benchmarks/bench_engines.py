"""Benchmark: the stacked engine against sequential ``model.fit`` on the blobs studies.

Prints, in one process:

1. the five blobs studies of chapters 1-5 x ``--seeds`` seeds (120 runs of 200 epochs for
   5 seeds) trained by the stacked engine as one program (``stacked.train_studies``),
   tracing and XLA compilation included, and the same studies one call each (as
   ``run_study`` trains them);
2. sequential ``model.fit``: ``--fit-runs`` full-length runs of those studies (seed 0,
   settings spread over the suite), scaled to all runs; the ratio of the two wall times;
3. the landscape grid of chapter 9: SGD at 15 learning rates (log-spaced 1e-4 .. 3) x 6
   momenta (0 .. 0.99) x ``--seeds`` seeds, 200 epochs, one program: wall time and runs per
   second;
4. all of chapter 9's studies from scratch (``landscape.chapter_studies``; 2,310 runs at
   the benchmark's 5 seeds, the chapter itself trains 13,860 at 30 seeds), one stacked
   call each as ``run_study`` trains them: seconds and runs per second
   (``run_all.py``);
5. every blobs study of chapters 0-8 as its results file records it, one call each: the
   training part of ``lr-lessons figures --retrain`` (``run_all.py``);
6. peak memory (max RSS of this process).

Each target line ends in PASS or FAIL. Run: ``python benchmarks/bench_engines.py``
(``--seeds 5 --fit-runs 2``); ``benchmarks/run_all.py`` runs it with the other benchmarks.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from lr_lessons.lab import landscape, studies  # noqa: E402
from lr_lessons.lab.data import Dataset, load_blobs  # noqa: E402
from lr_lessons.lab.engines import fit, stacked  # noqa: E402
from lr_lessons.lab.studies import Setting, Study  # noqa: E402

SUITE_TARGET = 1000.0  # stacked suite at least this many times faster than sequential fit
GRID_TARGET_S = 20.0  # the rate x momentum grid: a third of chapter 9's 60 s budget
CHAPTER9_TARGET_S = 60.0  # all of chapter 9's studies from scratch (issue 16)
RETRAIN_TARGET_S = 90.0  # --retrain of every blobs study of chapters 0-8 (issue 15)
RSS_TARGET_MB = 2000.0  # 2 GB, in decimal megabytes as `lr-lessons figures` prints GB
GRID_RATES = tuple(float(r) for r in np.geomspace(1e-4, 3.0, 15))
GRID_MOMENTA = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (10^6 bytes; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6


def verdict(ok: bool) -> str:
    """The word ending a target line."""
    return "PASS" if ok else "FAIL"


def landscape_study(
    rates: tuple[float, ...] = GRID_RATES, momenta: tuple[float, ...] = GRID_MOMENTA
) -> Study:
    """Chapter 9's rate x momentum grid: SGD on the blobs, one setting per (rate, momentum)."""
    return Study(
        "landscape_benchmark",
        "SGD: learning rate x momentum",
        tuple(
            Setting(f"lr={r:.3g} momentum={m:g}", "sgd", r, {"momentum": m})
            for m in momenta
            for r in rates
        ),
    )


def timed(work: Callable[[], object]) -> float:
    """Wall seconds of ``work()``."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def suite_benchmark(seeds: list[int], fit_runs: int, data: Dataset) -> dict[str, float]:
    """Stacked suite (one program, and one call per study) against sequential fit."""
    suite = [make() for make in studies.BLOBS_STUDIES.values()]
    n_runs = sum(len(s.settings) for s in suite) * len(seeds)
    epochs = suite[0].epochs
    # Warm-up: one epoch of one setting on each engine, so that neither side's timing
    # includes what a process pays once (TensorFlow's and XLA's start-up, Keras' first
    # model); the suite's own tracing and compilation stay in its time.
    tiny = suite[0].with_epochs(1)
    warm = timed(lambda: stacked.train(tiny, seeds[:2], data))
    warm += timed(lambda: fit.fit_one(tiny, tiny.settings[0], 0, data))
    print(f"warm-up (one epoch on each engine, not counted): {warm:.1f} s", flush=True)
    together = timed(lambda: stacked.train_studies(suite, seeds, data))
    print(
        f"stacked engine, one program: {len(suite)} blobs studies x {len(seeds)} seeds = "
        f"{n_runs} runs x {epochs} epochs in {together:.2f} s "
        f"(tracing and XLA compilation included) = {n_runs / together:.1f} runs/s",
        flush=True,
    )
    parts = {s.name: timed(lambda s=s: stacked.train(s, seeds, data)) for s in suite}
    apart = sum(parts.values())
    print(
        f"stacked engine, one call per study (as run_study trains them): {apart:.2f} s ("
        + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
        + ")",
        flush=True,
    )
    every = [(s, setting) for s in suite for setting in s.settings]
    chosen = [every[round(i)] for i in np.linspace(0, len(every) - 1, fit_runs)]
    fit_time = timed(lambda: [fit.fit_one(s, setting, 0, data) for s, setting in chosen])
    per_run = fit_time / len(chosen)
    sequential = per_run * n_runs
    print(
        f"model.fit: {len(chosen)} runs ("
        + ", ".join(f"{s.name}/{setting.name}" for s, setting in chosen)
        + f"; seed 0, {epochs} epochs) in {fit_time:.1f} s = {per_run:.1f} s per run; "
        f"sequential fit of all {n_runs} runs: {sequential:,.0f} s",
        flush=True,
    )
    ratio = sequential / together
    print(
        f"TARGET stacked suite >= {SUITE_TARGET:,.0f}x sequential model.fit: "
        f"{ratio:,.0f}x (one call per study: {sequential / apart:,.0f}x) "
        f"{verdict(ratio >= SUITE_TARGET)}",
        flush=True,
    )
    return {"suite_s": together, "per_study_s": apart, "fit_per_run_s": per_run, "ratio": ratio}


def grid_benchmark(seeds: list[int], data: Dataset) -> dict[str, float]:
    """The rate x momentum grid of chapter 9 as one stacked program."""
    grid = landscape_study()
    n_runs = len(grid.settings) * len(seeds)
    took = timed(lambda: stacked.train(grid, seeds, data))
    print(
        f"TARGET landscape grid ({len(GRID_RATES)} rates x {len(GRID_MOMENTA)} momenta x "
        f"{len(seeds)} seeds = {n_runs} runs x {grid.epochs} epochs) <= {GRID_TARGET_S:.0f} s: "
        f"{took:.1f} s = {n_runs / took:.1f} runs/s {verdict(took <= GRID_TARGET_S)}",
        flush=True,
    )
    return {"grid_s": took, "grid_runs": n_runs}


def chapter9_benchmark(seeds: list[int], data: Dataset) -> dict[str, float]:
    """All of chapter 9's studies from scratch, one stacked call each as ``run_study``
    trains them (tracing and XLA compilation included): seconds and runs per second."""
    chapter = landscape.chapter_studies()
    n_runs = sum(len(s.settings) for s in chapter) * len(seeds)
    parts = {s.name: timed(lambda s=s: stacked.train(s, seeds, data)) for s in chapter}
    took = sum(parts.values())
    print(
        "chapter 9 studies: "
        + ", ".join(
            f"{s.name} {len(s.settings) * len(seeds)} runs {parts[s.name]:.1f} s" for s in chapter
        ),
        flush=True,
    )
    print(
        f"TARGET chapter 9 from scratch ({len(chapter)} studies, {n_runs:,} runs of "
        f"{chapter[0].epochs} epochs) <= {CHAPTER9_TARGET_S:.0f} s of training: {took:.1f} s "
        f"= {n_runs / took:.1f} runs/s {verdict(took <= CHAPTER9_TARGET_S)}",
        flush=True,
    )
    return {"chapter9_s": took, "chapter9_runs": n_runs}


def blobs_studies_on_record(results_dir: Path) -> list[tuple[Study, list[int], Dataset, bool]]:
    """Every blobs study of chapters 0-8 trained by the stacked engine, as its results file
    in ``results_dir`` records it (settings, seeds, data, batch order): what
    ``lr-lessons figures --retrain`` trains for them. Chapter 9's grids are timed apart."""
    import lr_lessons.tools.schedules  # noqa: F401  (registers the schedules results name)
    from lr_lessons.lab.results import Results

    blobs = load_blobs()
    found = []
    for path in sorted(results_dir.glob("*.npz")):
        meta = Results.read_meta(path)
        study = meta.get("study", {})
        if meta.get("engine") != "stacked" or study.get("name", "").startswith("landscape_"):
            continue
        if study.get("problem") != "blobs":
            continue
        settings = tuple(Setting(**s) for s in study["settings"])
        definition = Study(**dict(study, settings=settings))
        source = str(meta.get("data_source", "blobs"))
        subset = re.search(r"first (\d+)", source)
        data = blobs
        if subset:  # a chapter's subset of the training points; validation on the test set
            n = int(subset.group(1))
            data = Dataset(blobs.x_train[:n], blobs.y_train[:n], blobs.x_test, blobs.y_test, source)
        found.append((definition, list(meta["seeds"]), data, meta.get("reshuffle") is not False))
    return found


def retrain_benchmark(results_dir: Path) -> dict[str, float]:
    """Train every blobs study on record again, one stacked call each as ``run_study``
    does (tracing and XLA compilation included): the training part of ``--retrain``."""
    todo = blobs_studies_on_record(results_dir)
    parts = {
        study.name + ("" if reshuffle else " (one permutation)"): timed(
            lambda a=(study, seeds, data, reshuffle): stacked.train(
                a[0], a[1], a[2], reshuffle=a[3]
            )
        )
        for study, seeds, data, reshuffle in todo
    }
    took = sum(parts.values())
    n_runs = sum(len(s.settings) * len(seeds) for s, seeds, _, _ in todo)
    print(
        "blobs studies of chapters 0-8: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items()),
        flush=True,
    )
    print(
        f"TARGET training of every blobs study of chapters 0-8 ({len(todo)} studies, "
        f"{n_runs:,} runs) <= {RETRAIN_TARGET_S:.0f} s: {took:.1f} s "
        f"{verdict(took <= RETRAIN_TARGET_S)}",
        flush=True,
    )
    return {"retrain_s": took, "retrain_runs": n_runs}


def rss_line(extra_mb: float = 0.0) -> None:
    """The peak-memory target line (this process, or ``extra_mb`` if larger)."""
    peak = max(peak_rss_mb(), extra_mb)
    print(
        f"TARGET peak memory (max RSS) < {RSS_TARGET_MB:,.0f} MB: {peak:,.0f} MB "
        f"{verdict(peak < RSS_TARGET_MB)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per study (default 5)")
    parser.add_argument(
        "--fit-runs", type=int, default=2, help="model.fit runs to time (default 2)"
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.fit_runs < 1:
        parser.error(f"--seeds and --fit-runs must be positive, got {args.seeds}, {args.fit_runs}")
    seeds = list(range(args.seeds))
    data = load_blobs()
    suite_benchmark(seeds, args.fit_runs, data)
    grid_benchmark(seeds, data)
    rss_line()


if __name__ == "__main__":
    main()
