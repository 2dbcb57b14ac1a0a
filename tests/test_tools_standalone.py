"""The tools stand alone: no import of the lab or the views, and every public tool class
shows a usage example that runs (issue 25).

The import check runs in a fresh interpreter (this process has imported the lab and the
views already) and reads `sys.modules` after importing `lr_lessons.tools`, every module
below it, and drawing a range test's result with `plot()`.

Each class's docstring example (its `Example:` section, a fenced python block, as in
Keras' own classes) is run with a few names a reader would already have: `keras`, `np`,
`x_train` and `y_train` (512 rows of 4 features, 3 classes) and `model` (a built,
uncompiled classifier with a softmax over 3 classes).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from lr_lessons.tools import callbacks, hypergradient, schedules
from lr_lessons.tools import range_test as range_test_package

IMPORTS = """
import importlib, json, pkgutil, sys
import numpy as np
import lr_lessons.tools
names = ["lr_lessons.tools"] + [
    m.name for m in pkgutil.walk_packages(lr_lessons.tools.__path__, "lr_lessons.tools.")
]
for name in names:
    importlib.import_module(name)
from lr_lessons.tools.range_test import RangeTestRepeats, RangeTestResult
lrs = np.geomspace(1e-5, 1.0, 200)
losses = 2 - np.tanh(2 * (np.log10(lrs) + 3)) + np.exp(3 * (np.log10(lrs) + 0.5))
result = RangeTestResult(lrs, losses, "end_lr reached", {"beta": 0.98})
fig = result.plot()
RangeTestRepeats([0, 1], [result, result]).plot(ax=fig.axes[0])
ours = sorted(m for m in sys.modules if m.startswith("lr_lessons"))
print("MODULES " + json.dumps({"imported": names, "ours": ours, "figure": type(fig).__name__}))
"""


def test_tools_import_nothing_of_the_lab_or_the_views():
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, "-c", IMPORTS], env=env, capture_output=True, text=True, timeout=600
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("MODULES ") :])
    assert "lr_lessons.tools.range_test.plot" in out["imported"]
    assert out["figure"] == "Figure"
    outside = [m for m in out["ours"] if m.startswith(("lr_lessons.lab", "lr_lessons.views"))]
    assert outside == [], f"tools imported {outside}"


# --- docstring examples -----------------------------------------------------------------

MODULES = [callbacks, schedules, hypergradient, range_test_package]


def public_classes() -> list[type]:
    """Every public class of the tools' modules (their `__all__`; exceptions aside)."""
    found = {}
    for module in MODULES:
        names = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
        for name in names:
            obj = getattr(module, name)
            defined_here = getattr(obj, "__module__", "").startswith("lr_lessons.tools")
            if inspect.isclass(obj) and defined_here and not issubclass(obj, Exception):
                found[obj.__qualname__] = obj
    return [found[k] for k in sorted(found)]


def example(cls: type) -> str | None:
    """The code of the `Example:` section of `cls`'s docstring (None if it has none)."""
    doc = inspect.getdoc(cls) or ""
    match = re.search(r"^Example:\s*\n\s*```python\n(.*?)^```", doc, re.DOTALL | re.MULTILINE)
    return textwrap.dedent(match.group(1)) if match else None


CLASSES = public_classes()


def test_the_public_tool_classes_are_the_expected_ones():
    names = {cls.__name__ for cls in CLASSES}
    expected = {"OneCycle", "CyclicalLearningRate", "SGDHD", "AdamHD", "LearningRateMonitor"}
    assert expected | {"LRFinder", "RangeTestResult", "RangeTestRepeats"} <= names


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_public_tool_class_has_an_example_that_runs(cls, tmp_path, monkeypatch):
    code = example(cls)
    assert code, f"{cls.__name__}'s docstring has no 'Example:' section with a python block"
    monkeypatch.chdir(tmp_path)  # examples may save files
    rng = np.random.default_rng(0)
    y_train = rng.integers(0, 3, 512)
    x_train = (rng.normal(size=(512, 4)) + 2.0 * np.eye(3, 4)[y_train]).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    namespace = {"keras": keras, "np": np, "x_train": x_train, "y_train": y_train}
    namespace["model"] = model
    exec(compile(code, f"<{cls.__name__} example>", "exec"), namespace)
    made = [v for v in namespace.values() if isinstance(v, cls)]
    assert made, f"{cls.__name__}'s example makes no {cls.__name__}"
