"""Every speed and memory target of issue 15 in one run, one pass/fail line each.

1. The stacked engine: the five blobs studies x 5 seeds (120 runs of 200 epochs) at least
   1000x sequential ``model.fit``, both measured in this run (fit on a few runs, scaled).
2. The landscape grid of chapter 9 (15 rates x 6 momenta x 5 seeds, 450 runs): its time.
3. The range test against plain ``model.fit`` on MNIST: ``benchmarks/bench_range_test.py``,
   run as it is (it needs ``LR_LESSONS_MNIST`` or the downloadable MNIST).
4. Peak memory (max RSS) of this process and of the range-test benchmark, below 2 GB.

The timing targets of ``lr-lessons figures`` (60 s with current results, 90 s of training
for ``--retrain`` of the blobs studies) are measured by running that command; its own
output prints per chapter what was read and what was trained.

Run: ``python benchmarks/run_all.py [--seeds 5] [--fit-runs 2] [--skip-range-test]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_engines  # noqa: E402

from lr_lessons.data import load_blobs  # noqa: E402


def children_peak_rss_mb() -> float:
    """Largest peak resident memory of any finished child process, in MB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run_range_test_benchmark() -> bool:
    """Run bench_range_test.py in its own process, passing its lines through."""
    print("--- benchmarks/bench_range_test.py ---", flush=True)
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_range_test.py")], env=os.environ.copy(), check=False
    )
    if done.returncode != 0:
        print(
            f"TARGET range-test benchmark ran: exit code {done.returncode} FAIL "
            "(set LR_LESSONS_MNIST to an MNIST .npz if the data could not be loaded)",
            flush=True,
        )
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per study (default 5)")
    parser.add_argument(
        "--fit-runs", type=int, default=2, help="model.fit runs to time (default 2)"
    )
    parser.add_argument(
        "--skip-range-test", action="store_true", help="leave out bench_range_test.py"
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
    if not args.skip_range_test:
        run_range_test_benchmark()
    print("--- memory ---", flush=True)
    print(
        f"peak RSS: this process {bench_engines.peak_rss_mb():,.0f} MB, "
        f"range-test benchmark {children_peak_rss_mb():,.0f} MB",
        flush=True,
    )
    bench_engines.rss_line(children_peak_rss_mb())
    print(f"all benchmarks in {time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()
