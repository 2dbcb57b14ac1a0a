"""LRFinder and range_test under each backend of Keras 3: TensorFlow, JAX, PyTorch.

Keras fixes its backend at first import, so each backend runs in a subprocess with
KERAS_BACKEND set (tests/range_test_backend_check.py). A backend whose package is not
installed is skipped (`pip install -e ".[backends]"` installs JAX and PyTorch), unless
it is named in LR_LESSONS_REQUIRE_BACKENDS (comma-separated): CI sets it to ``jax``, so a
missing JAX fails there instead of passing as a skip.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("range_test_backend_check.py")
PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


@pytest.mark.parametrize("backend", list(PACKAGES))
def test_finder_under_backend(backend):
    required = os.environ.get("LR_LESSONS_REQUIRE_BACKENDS", "").split(",")
    if importlib.util.find_spec(PACKAGES[backend]) is None:
        if backend in required:
            pytest.fail(f"{PACKAGES[backend]} is required here but not installed")
        pytest.skip(f"{PACKAGES[backend]} is not installed (pip install -e '.[backends]')")
    env = {**os.environ, "KERAS_BACKEND": backend, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=900
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["backend"] == backend
    assert out["points"] == 40 and out["finite"]
    assert out["restored"] and out["variables_unchanged"] and out["schedule_back"]
    assert out["rates_read_back"] and out["rates_are_the_ramp"]
    # each update ran at its recorded rate (read from the weights), and the compiled
    # step was reused: no retrace (so no XLA recompilation) for the test
    assert out["rates_used"]
    assert out["new_traces"] in ((None,) if backend == "torch" else (0,))
    assert out["rate_back"] == pytest.approx(0.01)
    assert out["rate_after"] == pytest.approx(0.01)
    assert out["accumulation_points"] == 256 // 16 * 8 // 4
    assert out["dict_points"] == 30
    assert out["interrupt_points"] == 25 and out["interrupt_reason"]
    assert out["interrupt_restored"]
    assert out["val_points"] == 10 and out["val_is_curve"]
    # issue 24: seed= repeats the first call; the global random state (Python, NumPy,
    # Keras, the backend) and dropout draw as if the test had never run; sample weights
    # give the callback's curve; a subclassed model keeps its chance level
    assert out["seed_first_call_repeats"]
    assert out["random_state_restored"]
    assert out["sample_weight_exact"]
    assert out["subclassed_chance"] == pytest.approx(math.log(4))
