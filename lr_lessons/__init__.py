"""lr_lessons: how the learning rate shapes neural-network training, by reproducing experiments.

The package is laid out the way the data flows: `lr_lessons.tools` holds the
Keras-native tools a reader copies into their own training (range test, schedules,
hypergradient optimizers, callbacks); `lr_lessons.lab` reproduces the lessons
(data, models, studies, the runner and its engines, results and the cache);
`lr_lessons.views` draws figures and claims tables from saved results. Input
checks (`lr_lessons.checks`), settings (`lr_lessons.config`), atomic files
(`lr_lessons.files`) and the command line (`lr_lessons.cli`) sit beside them.

The names a reader imports are listed in `__all__` and loaded lazily, so that
`import lr_lessons` (and the `lr-lessons` command's `--help`) stays quick and has
no side effects; everything else is reached through its module.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "LearningRateMonitor": "lr_lessons.tools.callbacks",
    "run_study": "lr_lessons.lab.runner",
    "Results": "lr_lessons.lab.results",
    "Setting": "lr_lessons.lab.studies",
    "Study": "lr_lessons.lab.studies",
    "load_blobs": "lr_lessons.lab.data",
    "load_mnist": "lr_lessons.lab.data",
    "CyclicalLearningRate": "lr_lessons.tools.schedules",
    "OneCycle": "lr_lessons.tools.schedules",
    "coarse_to_fine": "lr_lessons.lab.search",
    "LRFinder": "lr_lessons.tools.range_test",
    "range_test": "lr_lessons.tools.range_test",
    "range_test_repeats": "lr_lessons.tools.range_test",
    "RangeTestResult": "lr_lessons.tools.range_test",
    "RangeTestRepeats": "lr_lessons.tools.range_test",
    "SGDHD": "lr_lessons.tools.hypergradient",
    "AdamHD": "lr_lessons.tools.hypergradient",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'lr_lessons' has no attribute {name!r}")
