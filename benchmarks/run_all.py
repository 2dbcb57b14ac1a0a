"""Every speed and memory target of issue 15 in one run, one pass/fail line each.

1. The stacked engine: the five blobs studies x 5 seeds (120 runs of 200 epochs) at least
   1000x sequential ``model.fit``, both measured in this run (fit on a few runs, scaled).
2. The landscape grid of chapter 9 (15 rates x 6 momenta x 5 seeds, 450 runs): its time;
   then all of chapter 9's studies from scratch (2,310 runs: at most 60 s, with runs per
   second) and every blobs study of chapters 0-8 as its results file records it (the
   training part of ``lr-lessons figures --retrain``: at most 90 s).
3. The range test against plain ``model.fit`` on MNIST: ``benchmarks/bench_range_test.py``,
   run as it is (it needs ``LR_LESSONS_MNIST`` or the downloadable MNIST).
4. Peak memory (max RSS) of this process and of the range-test benchmark's processes,
   below 2 GB.

The re-plot target of ``lr-lessons figures`` (60 s with current results) is measured by
running that command; its own output prints per chapter what was read and what was trained.

Run: ``python benchmarks/run_all.py [--seeds 5] [--fit-runs 2] [--skip-range-test]
[--skip-chapters]``.
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
                return int(line.split()[1]) / 1024
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
    child_peak = 0.0
    if not args.skip_range_test:
        _, child_peak = run_range_test_benchmark()
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
