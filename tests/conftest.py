"""Test settings: quick mode, a temporary output folder, offline MNIST, no GUI backend.

Each is a default: a variable already set in the environment wins, so
``LR_LESSONS_QUICK=0 pytest -m slow`` runs the full-size tests.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist-offline-10k.npz"

os.environ.setdefault("LR_LESSONS_QUICK", "1")
os.environ.setdefault("LR_LESSONS_OUTPUT", tempfile.mkdtemp(prefix="lr_lessons_tests_"))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
if SHARED_MNIST.exists():
    os.environ.setdefault("LR_LESSONS_MNIST", str(SHARED_MNIST))


@pytest.fixture
def output_dir(tmp_path, monkeypatch) -> Path:
    """A fresh output folder for one test (figures/ and results/ go below it)."""
    monkeypatch.setenv("LR_LESSONS_OUTPUT", str(tmp_path))
    return tmp_path


@pytest.fixture
def mnist_file() -> Path:
    """The offline MNIST subset from ../shared; tests needing it skip loudly without it."""
    if not SHARED_MNIST.exists():
        pytest.skip(f"offline MNIST not found at {SHARED_MNIST}")
    return SHARED_MNIST
