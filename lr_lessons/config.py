"""Run-time switches, read from environment variables in this one place.

The figures command, the chapters and the tests all honour the same switches:

- `LR_LESSONS_QUICK=1`: quick mode, a smoke run with few epochs and seeds. Its
  results and figures go to `build/quick/` so they never overwrite the real ones.
  True/false switches accept 1/0, true/false, yes/no, on/off (any case); anything else
  is refused.
- `LR_LESSONS_SEEDS=N`: how many seeds (0 .. N-1) each study runs (default: 30 for a
  blobs study, whose claims are decided on at least 30 seeds, and 5 for MNIST; quick:
  2; at most `MAX_SEEDS`).
- `LR_LESSONS_ENGINE=stacked|fit`: how studies are trained (default `stacked`).
- `LR_LESSONS_RETRAIN=1`: train every study again instead of reading saved results
  (the new results are saved over the old ones).
- `LR_LESSONS_OUTPUT=DIR`: where `figures/` and `results/` are written.
- `LR_LESSONS_MNIST=FILE.npz`: a Keras-format MNIST file to use instead of Keras' loader.

`validate` checks all of them at once; the runner and the command call it before
any work starts, so a bad switch never costs a training run.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from lr_lessons.checks import InputError, true_or_false

DEFAULT_SEEDS = 5  # an MNIST study (minutes per run with `fit`)
BLOBS_SEEDS = 30  # a blobs study: the stacked engine trains 30 seeds in seconds
QUICK_SEEDS = 2
QUICK_EPOCHS = 12
MAX_SEEDS = 100
ENGINES = ("stacked", "fit")


def _flag(name: str) -> bool:
    return true_or_false(os.environ.get(name, ""), name)


def quick() -> bool:
    """True when quick mode (`LR_LESSONS_QUICK=1`) is on."""
    return _flag("LR_LESSONS_QUICK")


def retrain() -> bool:
    """True when `LR_LESSONS_RETRAIN` asks to train again instead of reading saved results."""
    return _flag("LR_LESSONS_RETRAIN")


def parse_seed_count(raw: str, what: str = "LR_LESSONS_SEEDS") -> int:
    """A number of seeds from text: a whole number from 1 to `MAX_SEEDS`.

    Args:
        raw: The text, e.g. `"5"`.
        what: How the value is named in the error message.

    Returns:
        The number of seeds.
    """
    text = raw.strip()
    if not (text.isascii() and text.isdigit()):
        raise InputError(f"{what} must be a whole number from 1 to {MAX_SEEDS}, got {raw!r}")
    value = int(text)
    if not 1 <= value <= MAX_SEEDS:
        raise InputError(f"{what} must be a whole number from 1 to {MAX_SEEDS}, got {value}")
    return value


def n_seeds(problem: str | None = None) -> int:
    """Number of seeds a study runs: `LR_LESSONS_SEEDS` or the mode's default.

    Args:
        problem: `"blobs"` (default `BLOBS_SEEDS`, 30) or anything else (default
            `DEFAULT_SEEDS`, 5). `LR_LESSONS_SEEDS` and quick mode apply to both.

    Returns:
        The number of seeds.
    """
    raw = os.environ.get("LR_LESSONS_SEEDS", "")
    if not raw.strip():
        if quick():
            return QUICK_SEEDS
        return BLOBS_SEEDS if problem == "blobs" else DEFAULT_SEEDS
    return parse_seed_count(raw)


def seeds(problem: str | None = None) -> list[int]:
    """The seeds a study runs with: 0, 1, ..., `n_seeds(problem)` - 1.

    Args:
        problem: The study's problem (`"blobs"` gets 30 seeds by default, MNIST 5).

    Returns:
        The seeds.
    """
    return list(range(n_seeds(problem)))


def epochs(full: int) -> int:
    """The number of epochs to run: `full`, or at most `QUICK_EPOCHS` in quick mode."""
    return min(full, QUICK_EPOCHS) if quick() else full


def engine() -> str:
    """The default study engine: `LR_LESSONS_ENGINE` or `"stacked"`."""
    raw = os.environ.get("LR_LESSONS_ENGINE", "")
    name = raw.strip().lower() or "stacked"
    if name not in ENGINES:
        raise InputError(f"LR_LESSONS_ENGINE={raw!r} is not an engine: choose one of {ENGINES}")
    return name


def _is_checkout(folder: Path) -> bool:
    return (folder / "chapters").is_dir() and (folder / "pyproject.toml").is_file()


_warned_roots: set[Path] = set()


def project_root() -> Path:
    """The checkout's top folder (holding `chapters/` and `pyproject.toml`).

    Searched from the working folder upwards, then from this package's own folder (a
    checkout installed with `pip install -e`), so a chapter run from any folder finds
    the checkout's results. Outside any checkout this is the working folder, and a
    warning says where outputs go.
    """
    here = Path.cwd().resolve()
    package_parent = Path(__file__).resolve().parent.parent
    for folder in (here, *here.parents, package_parent):
        if _is_checkout(folder):
            return folder
    if here not in _warned_roots:
        _warned_roots.add(here)
        warnings.warn(
            f"no lr_lessons checkout (chapters/ and pyproject.toml) in {here} or above: "
            f"outputs go below {here}; set LR_LESSONS_OUTPUT=DIR to choose",
            stacklevel=2,
        )
    return here


def output_root() -> Path:
    """Where `figures/` and `results/` live; quick runs write under `build/quick`."""
    raw = os.environ.get("LR_LESSONS_OUTPUT", "").strip()
    if raw:
        return Path(raw).expanduser().resolve()
    root = project_root()
    return root / "build" / "quick" if quick() else root


def figures_dir() -> Path:
    """Folder that figures are saved into (`<output>/figures`)."""
    return output_root() / "figures"


def results_dir() -> Path:
    """Folder that study results are saved into (`<output>/results`)."""
    return output_root() / "results"


def mnist_path() -> Path | None:
    """The MNIST file named by `LR_LESSONS_MNIST`, if any."""
    raw = os.environ.get("LR_LESSONS_MNIST", "").strip()
    return Path(raw).expanduser() if raw else None


def validate() -> dict[str, object]:
    """Check every switch at once, before any work; the first bad one raises `InputError`.

    Returns:
        The switches' values: `quick`, `retrain`, `seeds`, `engine`, `output`,
        `mnist`.
    """
    values: dict[str, object] = {
        "quick": quick(),
        "retrain": retrain(),
        "seeds": n_seeds(),
        "engine": engine(),
    }
    raw_output = os.environ.get("LR_LESSONS_OUTPUT", "").strip()
    output = output_root() if raw_output else None
    if output is not None and output.exists() and not output.is_dir():
        raise InputError(
            f"LR_LESSONS_OUTPUT={raw_output!r} is a file, not a folder: name a folder "
            "(it is created if missing)"
        )
    values["output"] = output
    mnist = mnist_path()
    if mnist is not None and not mnist.is_file():
        state = "is a folder" if mnist.is_dir() else "does not exist"
        raise InputError(
            f"LR_LESSONS_MNIST={str(mnist)!r} {state}: name a Keras-format .npz file "
            "(keys x_train, y_train, x_test, y_test), or unset it to use Keras' loader"
        )
    values["mnist"] = mnist
    return values
