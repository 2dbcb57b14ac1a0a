"""lr_lessons: how the learning rate shapes neural-network training, by reproducing experiments.

The names a reader imports are listed in ``__all__`` and loaded lazily, so that
``import lr_lessons`` (and the ``lr-lessons`` command's ``--help``) stays quick and has
no side effects; everything else is reached through its module.
"""

from __future__ import annotations

import importlib
import sys
import types

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


class _Package(types.ModuleType):
    """``lr_lessons`` itself. A public name that is also a submodule's name
    (``range_test``, the function, in the module ``lr_lessons.range_test``) stays the
    public object: Python binds a submodule to its package's attribute when it is first
    imported, which would otherwise replace the function with the module. The submodule
    is still imported as usual with ``from lr_lessons.range_test import ...``.
    """

    def __setattr__(self, name: str, value) -> None:
        if (
            isinstance(value, types.ModuleType)
            and _PUBLIC.get(name) == value.__name__
            and hasattr(value, name)
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
