"""lr_lessons: how the learning rate shapes neural-network training, by reproducing experiments.

The names a reader imports are listed in ``__all__`` and loaded lazily, so that
``import lr_lessons`` (and the ``lr-lessons`` command's ``--help``) stays quick and has
no side effects; everything else is reached through its module.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "LearningRateMonitor": "lr_lessons.callbacks",
    "run_study": "lr_lessons.runner",
    "Results": "lr_lessons.results",
    "Setting": "lr_lessons.studies",
    "Study": "lr_lessons.studies",
    "load_blobs": "lr_lessons.data",
    "load_mnist": "lr_lessons.data",
    "CyclicalLearningRate": "lr_lessons.schedules",
    "OneCycle": "lr_lessons.schedules",
    "coarse_to_fine": "lr_lessons.search",
    "LRFinder": "lr_lessons.range_test",
    "range_test": "lr_lessons.range_test",
    "range_test_repeats": "lr_lessons.range_test",
    "RangeTestResult": "lr_lessons.range_test",
    "RangeTestRepeats": "lr_lessons.range_test",
    "SGDHD": "lr_lessons.hypergradient",
    "AdamHD": "lr_lessons.hypergradient",
}

__all__ = sorted(_PUBLIC) + ["__version__"]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'lr_lessons' has no attribute {name!r}")
