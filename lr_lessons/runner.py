"""The study runner: every setting x seed of a study through an engine, cached on disk.

``run_study`` is the one place where training happens. Its results are saved to
``<output>/results/<study>.npz`` together with a key over everything that shapes the
numbers (settings, seeds, epochs, engine, quick mode, data source, library code and
versions); a second call with the same key reads the file instead of training, and a
file whose key differs (stale) or that cannot be read (corrupt) is recomputed.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lr_lessons import config
from lr_lessons.data import Dataset
from lr_lessons.data import load as load_data
from lr_lessons.engines import choose_engine, get_engine
from lr_lessons.results import CorruptResults, Results
from lr_lessons.studies import Study

_PACKAGE_DIR = Path(__file__).resolve().parent
# The code that shapes a study's numbers; editing any of it invalidates cached results.
# Modules that only read results (plotting, claims) or pick what to run (cli, config) do
# not; an engine's own files count only for the results that engine produced.
TRAINING_CODE = (
    "data.py",
    "models.py",
    "studies.py",
    "results.py",
    "callbacks.py",
    "runner.py",
    "schedules.py",
    "hypergradient.py",
    "range_test.py",
    "lr_suggestions.py",
    "engines/__init__.py",
)
ENGINE_CODE = {"fit": ("engines/fit.py",), "stacked": ("engines/stacked.py", "engines/plateau.py")}


def code_fingerprint(engine: str | None = None) -> str:
    """A hash of the library's training code (:data:`TRAINING_CODE`, plus ``engine``'s files)."""
    digest = hashlib.sha256()
    for name in (*TRAINING_CODE, *ENGINE_CODE.get(engine or "", ())):
        path = _PACKAGE_DIR / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def versions() -> dict[str, str]:
    """Versions of the software that produced a result."""
    import keras
    import sklearn
    import tensorflow as tf

    from lr_lessons import __version__

    return {
        "lr_lessons": __version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "python": platform.python_version(),
    }


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=[0, 1, 2]")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"seeds must be non-negative whole numbers, got {s!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat: {seeds}")
    return [int(s) for s in seeds]


def cache_key(study: Study, seeds: Sequence[int], engine: str, source: str) -> str:
    """The key under which a study's results are cached."""
    payload = {
        "study": study.to_dict(),
        "seeds": list(seeds),
        "engine": engine,
        "quick": config.quick(),
        "data": source,
        "code": code_fingerprint(engine),
        "versions": versions(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def results_path(study: Study) -> Path:
    """Where ``study``'s results are saved."""
    return config.results_dir() / f"{study.name}.npz"


def load_cached(study: Study, key: str) -> Results | None:
    """The saved results of ``study`` if their key is ``key``; None if absent, stale or corrupt."""
    path = results_path(study)
    if not path.exists():
        return None
    try:
        results = Results.load(path)
    except CorruptResults as err:
        warnings.warn(f"{err}; recomputing", stacklevel=3)
        return None
    return results if results.meta.get("key") == key else None


def run_study(
    study: Study,
    seeds: Sequence[int] | None = None,
    engine: str | None = None,
    *,
    data: Dataset | None = None,
    cache: bool = True,
    progress: bool = True,
) -> Results:
    """Train every setting of ``study`` from every seed and return the :class:`Results`.

    ``seeds`` defaults to :func:`lr_lessons.config.seeds`, ``engine`` to
    :func:`lr_lessons.config.engine` (falling back to ``"fit"`` for studies the chosen
    engine cannot train; ``meta["engine"]`` says which ran); quick mode shortens the
    study. With ``cache``, unchanged studies are read from disk instead of trained again.
    """
    seeds = _check_seeds(config.seeds() if seeds is None else seeds)
    study = study.with_epochs(config.epochs(study.epochs))
    engine = choose_engine(engine or config.engine(), study)
    train = get_engine(engine)
    data = data if data is not None else load_data(study.problem)
    key = cache_key(study, seeds, engine, data.source)
    if cache:
        cached = load_cached(study, key)
        if cached is not None:
            return cached

    from tqdm import tqdm

    total = len(study.settings) * len(seeds) * study.epochs
    with tqdm(
        total=total,
        desc=study.name,
        unit=" epoch",
        disable=not progress,
        mininterval=0.5,
        file=sys.stderr,
    ) as bar:
        start = time.perf_counter()
        metrics = train(study, seeds, data, progress=bar.update)
        wall = time.perf_counter() - start
    meta = {
        "key": key,
        "study": study.to_dict(),
        "seeds": seeds,
        "epochs": study.epochs,
        "engine": engine,
        "quick": config.quick(),
        "data_source": data.source,
        "versions": versions(),
        "machine": f"{platform.machine()}, {platform.system()}",
        "wall_time_s": round(wall, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results = Results(study.name, study.setting_names, seeds, metrics, meta)
    if cache:
        results.save(results_path(study))
    return results
