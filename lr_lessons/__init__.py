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
import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"

# TensorFlow is no dependency of the package (pyproject.toml says why: pip would put a second
# TensorFlow distribution over the user's own), so its absence is reported here, in one line.
_NO_TENSORFLOW = (
    "lr_lessons needs TensorFlow 2.16 or newer and none is installed in {prefix}: from the "
    'lr_lessons checkout run `pip install ".[cpu]"` (CPU build) or `pip install ".[gpu]"` '
    "(NVIDIA GPUs), or install the TensorFlow build you want (see the README's Quickstart)"
)


def _require_tensorflow() -> None:
    """Stop with a one-line message when no TensorFlow is installed.

    Finds the `tensorflow` package without importing it (so `import lr_lessons` stays
    quick); a bare `tensorflow/` folder left by an uninstall counts as none. The
    `lr-lessons` command prints `lr-lessons: error: ...` and exits with status 2, like
    its other errors; everything else gets an `ImportError`.

    Raises:
        ImportError: No TensorFlow is installed.
        SystemExit: The same, in the `lr-lessons` command.
    """
    spec = importlib.util.find_spec("tensorflow")
    if spec is not None and spec.origin is not None:
        return
    message = _NO_TENSORFLOW.format(prefix=sys.prefix)
    argv = getattr(sys, "argv", None) or [""]
    if Path(argv[0]).name in ("lr-lessons", "lr-lessons.exe"):
        print(f"lr-lessons: error: {message}", file=sys.stderr)
        raise SystemExit(2)
    raise ImportError(message)


_require_tensorflow()

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
