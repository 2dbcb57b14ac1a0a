"""Run-time switches, read from environment variables in this one place.

The figures command, the chapters and the tests all honour the same switches:

- ``LR_LESSONS_QUICK=1``: quick mode, a smoke run with few epochs and seeds. Its
  results and figures go to ``build/quick/`` so they never overwrite the real ones.
- ``LR_LESSONS_SEEDS=N``: how many seeds (0 .. N-1) each study runs (default 5; quick: 2).
- ``LR_LESSONS_ENGINE=stacked|fit``: how studies are trained (default ``stacked``).
- ``LR_LESSONS_OUTPUT=DIR``: where ``figures/`` and ``results/`` are written.
- ``LR_LESSONS_MNIST=FILE.npz``: a Keras-format MNIST file to use instead of Keras' loader.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_SEEDS = 5
QUICK_SEEDS = 2
QUICK_EPOCHS = 12


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def quick() -> bool:
    """True when quick mode (``LR_LESSONS_QUICK=1``) is on."""
    return _flag("LR_LESSONS_QUICK")


def n_seeds() -> int:
    """Number of seeds a study runs: ``LR_LESSONS_SEEDS`` or the mode's default."""
    raw = os.environ.get("LR_LESSONS_SEEDS", "").strip()
    if not raw:
        return QUICK_SEEDS if quick() else DEFAULT_SEEDS
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"LR_LESSONS_SEEDS must be a whole number, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"LR_LESSONS_SEEDS must be at least 1, got {value}")
    return value


def seeds() -> list[int]:
    """The seeds every study runs with: 0, 1, ..., n_seeds() - 1."""
    return list(range(n_seeds()))


def epochs(full: int) -> int:
    """The number of epochs to run: ``full``, or at most ``QUICK_EPOCHS`` in quick mode."""
    return min(full, QUICK_EPOCHS) if quick() else full


def engine() -> str:
    """The default study engine: ``LR_LESSONS_ENGINE`` or ``"stacked"``."""
    return os.environ.get("LR_LESSONS_ENGINE", "").strip() or "stacked"


def project_root() -> Path:
    """The checkout's top folder (holding ``chapters/`` and ``pyproject.toml``), else the cwd."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "chapters").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return here


def output_root() -> Path:
    """Where ``figures/`` and ``results/`` live; quick runs write under ``build/quick``."""
    raw = os.environ.get("LR_LESSONS_OUTPUT", "").strip()
    if raw:
        return Path(raw).expanduser().resolve()
    root = project_root()
    return root / "build" / "quick" if quick() else root


def figures_dir() -> Path:
    """Folder that figures are saved into (``<output>/figures``)."""
    return output_root() / "figures"


def results_dir() -> Path:
    """Folder that study results are saved into (``<output>/results``)."""
    return output_root() / "results"


def mnist_path() -> Path | None:
    """The MNIST file named by ``LR_LESSONS_MNIST``, if any."""
    raw = os.environ.get("LR_LESSONS_MNIST", "").strip()
    return Path(raw).expanduser() if raw else None
