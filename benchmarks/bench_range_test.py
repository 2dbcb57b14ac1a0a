"""Overhead of the range test: LRFinder inside model.fit vs plain model.fit, same batches.

Both runs train the MNIST ConvNet of chapter 6 for the same number of batches of 250
(the finder's ramp stays low enough never to stop early), each from the same weights.
Runs alternate in a rotating order after a warm-up that traces the train step, and
the median of each is compared, because the machine may be shared.
Target: the finder at most 10% slower.

    LR_LESSONS_MNIST=../shared/data/mnist-offline-10k.npz python benchmarks/bench_range_test.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from lr_lessons import models  # noqa: E402
from lr_lessons.data import load_mnist  # noqa: E402
from lr_lessons.range_test import LRFinder, range_test  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000, help="training images (x/250 batches)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    data = load_mnist(limit=args.images)
    x, y = data.x_train, data.y_train
    keras.utils.set_random_seed(0)
    model = models.mnist_convnet()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    steps = args.epochs * -(-len(x) // 250)

    def plain() -> None:
        model.fit(x, y, batch_size=250, epochs=args.epochs, verbose=0)

    def finder() -> None:
        cb = LRFinder(1e-5, 1e-3, diverge=None)
        model.fit(x, y, batch_size=250, epochs=args.epochs, callbacks=[cb], verbose=0)
        assert len(cb.result) == steps, cb.result.stop_reason

    def function() -> None:
        r = range_test(model, x, y, batch_size=250, start_lr=1e-5, end_lr=1e-3, steps=steps,
                       diverge=None)  # fmt: skip
        assert len(r) == steps

    runs = {"plain fit": plain, "fit + LRFinder": finder, "range_test()": function}
    for run in runs.values():  # warm-up: trace the train step once
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    # Every timed run starts from the same weights and optimizer state (plain fit would
    # otherwise keep training the model, and the finder restores it: not a fair race).
    state = [v.numpy() for v in model.variables + model.optimizer.variables]
    names = list(runs)
    for i in range(args.repeats):
        for name in names[i % 3 :] + names[: i % 3]:  # rotate the order: no position bias
            for v, value in zip(model.variables + model.optimizer.variables, state):
                v.assign(value)
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["plain fit"])
    print(f"{steps} batches of 250 ({data.source}); median of {args.repeats} alternating runs")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:15s} {med:7.2f} s   {1000 * med / steps:6.1f} ms/batch   "
              f"ratio {med / base:5.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
