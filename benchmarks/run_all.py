"""Every speed and memory target of issue 15 in one run, one pass/fail line each.

1. The stacked engine: the five blobs studies x 5 seeds (120 runs of 200 epochs) at least
   1000x sequential ``model.fit``, both measured in this run (fit on a few runs, scaled).
2. The landscape grid of chapter 9 (15 rates x 6 momenta x 5 seeds, 450 runs): its time;
   then all of chapter 9's studies from scratch (2,310 runs at 5 seeds; the chapter
   trains 13,860 at 30: at most 60 s, with runs per second) and every blobs study of
   chapters 0-8 as its results file records it (the training part of
   ``lr-lessons figures --retrain``: at most 90 s).
3. The range test against plain ``model.fit`` on MNIST: ``benchmarks/bench_range_test.py``,
   run as it is (it needs ``LR_LESSONS_MNIST`` or the downloadable MNIST).
4. Peak memory (max RSS) of this process and of the range-test benchmark's processes,
   below 2 GB.

5. The stacked engine on any Dense MLP (``benchmarks/bench_dense.py``): the blobs suite
   in a fresh process with an empty XLA cache (cold, >= 600x sequential ``model.fit``)
   and in a second one whose cache the first filled (warm, >= 1000x); an MNIST MLP grid
   (784-256-256-10, 8 rates x 3 seeds) >= 20x sequential ``fit``; a width grid like
   chapter 11's (widths 64-2048): wall time and ratio (MNIST parts need the data).

6. ``lr-lessons figures`` with the current results (a copy of ``results/`` in a scratch
   output folder, so nothing committed is touched): at most 60 s for all chapters, and
   its peak memory; with ``--full-retrain`` also ``lr-lessons figures --retrain`` in an
   empty scratch folder (about 10 minutes): its time and its peak memory below 2 GB.

Run: ``python benchmarks/run_all.py [--seeds 5] [--fit-runs 2] [--skip-range-test]
[--skip-chapters] [--skip-figures] [--skip-dense] [--full-retrain]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_dense  # noqa: E402
import bench_engines  # noqa: E402

from lr_lessons import config  # noqa: E402
from lr_lessons.lab.data import load_blobs  # noqa: E402


def _descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (Linux /proc)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def _peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of one live process, in MB; 0 if it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return 0.0


def run_range_test_benchmark() -> tuple[bool, float]:
    """Run bench_range_test.py in its own process, passing its lines through.

    Returns whether it ran, and the largest peak RSS (MB) of it and its subprocesses,
    sampled from /proc while they run (``RUSAGE_CHILDREN`` would also count this
    process's own memory, which a forked child starts out sharing).
    """
    print("--- benchmarks/bench_range_test.py ---", flush=True)
    child = subprocess.Popen(
        [sys.executable, str(HERE / "bench_range_test.py")], env=os.environ.copy()
    )
    peak = 0.0
    while child.poll() is None:
        peak = max([peak] + [_peak_rss_mb(p) for p in _descendants(child.pid)])
        time.sleep(0.2)
    if child.returncode != 0:
        print(
            f"TARGET range-test benchmark ran: exit code {child.returncode} FAIL "
            "(set LR_LESSONS_MNIST to an MNIST .npz if the data could not be loaded)",
            flush=True,
        )
        return False, peak
    return True, peak


REPLOT_TARGET_S = 60.0  # lr-lessons figures with current results, all chapters


def run_figures(retrain: bool) -> dict[str, float]:
    """Run ``lr-lessons figures`` (``--retrain``: from scratch) into a scratch output folder
    and print its target lines; the re-plot starts from a copy of the current results."""
    import re
    import shutil
    import tempfile

    what = "lr-lessons figures --retrain" if retrain else "lr-lessons figures"
    print(f"--- {what} (scratch output folder) ---", flush=True)
    with tempfile.TemporaryDirectory(prefix="lr-lessons-bench-") as scratch:
        if not retrain:
            shutil.copytree(config.results_dir(), Path(scratch) / "results")
        env = dict(os.environ, LR_LESSONS_OUTPUT=scratch)
        command = [sys.executable, "-m", "lr_lessons.cli", "figures"]
        start = time.perf_counter()
        done = subprocess.run(
            command + (["--retrain"] if retrain else []),
            env=env,
            cwd=config.project_root(),
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-3000:] + done.stderr[-3000:], flush=True)
        print(f"TARGET {what} ran: exit code {done.returncode} FAIL", flush=True)
        return {}
    total = re.search(r"^\s+total\s+([\d.]+) s", done.stdout, re.M)
    peak = re.search(r"peak memory ([\d.]+) GB", done.stdout)
    trained = re.search(r"^training: .*$", done.stdout, re.M)
    chapters = float(total.group(1)) if total else float("nan")
    peak_gb = float(peak.group(1)) if peak else float("nan")
    print(f"{what}: {trained.group(0) if trained else ''} (wall {wall:.1f} s)", flush=True)
    if not retrain:
        print(
            f"TARGET {what} with current results <= {REPLOT_TARGET_S:.0f} s for all chapters: "
            f"{chapters:.1f} s {bench_engines.verdict(chapters <= REPLOT_TARGET_S)}",
            flush=True,
        )
    else:
        print(f"{what}: {chapters:.1f} s of chapters", flush=True)
    limit = bench_engines.RSS_TARGET_MB / 1000
    print(
        f"TARGET peak memory of {what} (max RSS) < {limit:.0f} GB: {peak_gb:.2f} GB "
        f"{bench_engines.verdict(peak_gb < limit)}",
        flush=True,
    )
    return {"chapters_s": chapters, "peak_gb": peak_gb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per study (default 5)")
    parser.add_argument(
        "--fit-runs", type=int, default=2, help="model.fit runs to time (default 2)"
    )
    parser.add_argument(
        "--skip-range-test", action="store_true", help="leave out bench_range_test.py"
    )
    parser.add_argument(
        "--skip-chapters",
        action="store_true",
        help="leave out chapter 9's studies and the blobs studies of chapters 0-8",
    )
    parser.add_argument(
        "--skip-figures", action="store_true", help="leave out the lr-lessons figures run"
    )
    parser.add_argument(
        "--skip-dense",
        action="store_true",
        help="leave out bench_dense.py (cold/warm suite, MNIST MLP grid, width grid)",
    )
    parser.add_argument(
        "--full-retrain",
        action="store_true",
        help="also run lr-lessons figures --retrain from scratch (about 10 minutes)",
    )
    args = parser.parse_args()
    if args.seeds < 1 or args.fit_runs < 1:
        parser.error(f"--seeds and --fit-runs must be positive, got {args.seeds}, {args.fit_runs}")
    start = time.perf_counter()
    seeds = list(range(args.seeds))
    data = load_blobs()
    print("--- stacked engine vs model.fit (blobs) ---", flush=True)
    bench_engines.suite_benchmark(seeds, args.fit_runs, data)
    bench_engines.grid_benchmark(seeds, data)
    if not args.skip_chapters:
        print("--- chapter 9 and the blobs studies of chapters 0-8, from scratch ---", flush=True)
        bench_engines.chapter9_benchmark(seeds, data)
        bench_engines.retrain_benchmark(config.results_dir())
    if not args.skip_dense:
        print("--- stacked engine on Dense MLPs: cold and warm XLA cache, MNIST ---", flush=True)
        bench_dense.suite_benchmark(args.seeds, args.fit_runs)
        try:
            bench_dense.mnist_benchmark(3, args.fit_runs)
            bench_dense.width_benchmark(2000)
        except (RuntimeError, OSError, ValueError) as err:
            print(f"TARGET MNIST MLP grid ran: {err} FAIL", flush=True)
    child_peak = 0.0
    if not args.skip_range_test:
        _, child_peak = run_range_test_benchmark()
    if not args.skip_figures:
        run_figures(retrain=False)
    if args.full_retrain:
        run_figures(retrain=True)
    print("--- memory ---", flush=True)
    print(
        f"peak RSS: this process {bench_engines.peak_rss_mb():,.0f} MB, "
        f"range-test benchmark (largest of its processes) {child_peak:,.0f} MB",
        flush=True,
    )
    bench_engines.rss_line(child_peak)
    print(f"all benchmarks in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
