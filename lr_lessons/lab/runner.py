"""The study runner: every setting x seed of a study through an engine, cached on disk.

`run_study` is the one place where training happens. Its results are saved to
`<output>/results/<study>.npz` together with a key over everything that shapes the
numbers (settings, seeds, epochs, engine, quick mode, data source, library code and
versions); a second call with the same key reads the file instead of training, and a
file whose key differs (stale) or that cannot be read (corrupt) is recomputed.

Results of different study *definitions* (settings, epochs, seeds, data, batch order)
never overwrite each other: `<study>.npz` belongs to the definition saved in it, and
another definition under the same study name is saved as `<study>-<definition>.npz`
(a warning says so). Recomputing the same definition (new code or versions) replaces
its file. Before training, the results folder is checked to be writable; if a save
still fails, the results are returned and written to a fallback file the warning names.
"""

from __future__ import annotations

import ast
import hashlib
import json
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from inspect import signature
from pathlib import Path

import numpy as np

from lr_lessons import config
from lr_lessons.checks import InputError, boolean, whole_number
from lr_lessons.files import remove_stale_temporaries, temporary_name
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.data import load as load_data
from lr_lessons.lab.engines import choose_engine, get_engine
from lr_lessons.lab.results import CorruptResults, Results
from lr_lessons.lab.studies import Study

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # lr_lessons/
# The code that shapes a study's numbers (paths inside lr_lessons/); editing any of it
# invalidates cached results. Modules that only read results (the views) or pick what to
# run (cli, config) do not; an engine's own files count only for that engine's results.
TRAINING_CODE = (
    "lab/data.py",
    "lab/models.py",
    "lab/studies.py",
    "lab/results.py",
    "lab/runner.py",
    "lab/engines/__init__.py",
    "tools/callbacks.py",
    "tools/schedules.py",
    "tools/hypergradient.py",
)
# The code of each kind of computation beyond TRAINING_CODE: an engine's own files count
# only for the results that engine produced, the range test's only for range tests (and
# the other computations of lr_lessons.lab.cache), so editing a suggestion rule does not
# throw away the blobs studies.
ENGINE_CODE = {
    "fit": ("lab/engines/fit.py",),
    "stacked": ("lab/engines/stacked.py", "lab/engines/plateau.py"),
    "range_test": tuple(
        sorted(
            str(p.relative_to(_PACKAGE_DIR).as_posix())
            for p in (_PACKAGE_DIR / "tools" / "range_test").glob("*.py")
        )
    ),
}


def code_text(source: str) -> str:
    """What of a module's source shapes results: its syntax tree without docstrings.

    Comments, docstrings (of modules, classes, functions and the ones written under a
    variable), formatting and blank lines change no number a module computes, so editing
    them keeps cached results; any change to the code itself does not.

    Args:
        source: A Python module's source.

    Returns:
        A canonical dump of the module's syntax tree with every bare string statement
        (a docstring: it computes nothing) removed.
    """
    tree = ast.parse(source)
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            body = getattr(node, field, None)
            if not isinstance(body, list) or not body:
                continue
            kept = [
                s
                for s in body
                if not (
                    isinstance(s, ast.Expr)
                    and isinstance(s.value, ast.Constant)
                    and isinstance(s.value.value, str)
                )
            ]
            if len(kept) != len(body):
                setattr(node, field, kept or [ast.Pass()])
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def code_fingerprint(engine: str | None = None) -> str:
    """A hash of the code that shapes results: `TRAINING_CODE` plus `engine`'s files.

    Each file counts through `code_text`, so editing a docstring or a comment keeps
    cached results.

    Args:
        engine: `"fit"`, `"stacked"`, `"range_test"` or None (the shared code only).

    Returns:
        16 hex digits.
    """
    digest = hashlib.sha256()
    for name in (*TRAINING_CODE, *ENGINE_CODE.get(engine or "", ())):
        path = _PACKAGE_DIR / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(code_text(path.read_text(encoding="utf-8")).encode())
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


MAX_SEED = 2**32 - 1  # NumPy's and Keras' seeding accept 0 .. 2**32 - 1


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    try:
        if isinstance(seeds, (str, bytes)):
            raise TypeError
        seeds = list(seeds)
    except TypeError:
        raise InputError(
            f"seeds must be a list of whole numbers, e.g. [0, 1, 2], got {seeds!r}"
        ) from None
    if not seeds:
        raise InputError("seeds is empty: give at least one seed, e.g. seeds=[0, 1, 2]")
    if len(seeds) > config.MAX_SEEDS:
        raise InputError(
            f"{len(seeds)} seeds is more than the maximum of {config.MAX_SEEDS}: use fewer seeds"
        )
    for s in seeds:
        whole_number(s, "each seed", maximum=MAX_SEED)
    if len(set(seeds)) != len(seeds):
        raise InputError(f"seeds repeat: {seeds}")
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


def _definition(study: dict, seeds: list, source: str, quick: bool, reshuffle: bool) -> str:
    payload = {
        "study": study,
        "seeds": list(seeds),
        "data": source,
        "quick": bool(quick),
        "reshuffle": bool(reshuffle),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]


def definition_key(study: Study, seeds: Sequence[int], source: str, reshuffle: bool = True) -> str:
    """A short key of what a study's results are: its settings, epochs, seeds, data, batch order.

    Unlike `cache_key` it leaves out the code, versions and engine, which change
    how (not what) a result is computed; it tells apart results that must not overwrite
    each other.

    Args:
        study: The study (with the epochs it runs).
        seeds: Its seeds.
        source: The data's source (`Dataset.source`).
        reshuffle: The batch order (see `run_study`).

    Returns:
        8 hex digits.
    """
    return _definition(study.to_dict(), list(seeds), source, config.quick(), reshuffle)


def saved_definition(meta: dict) -> str | None:
    """The definition key in a results file's `meta` (computed from it for older files)."""
    if isinstance(meta.get("definition"), str):
        return meta["definition"]
    try:
        reshuffle = meta.get("reshuffle", True)
        return _definition(
            meta["study"],
            meta["seeds"],
            meta["data_source"],
            meta["quick"],
            reshuffle is not False,
        )
    except (KeyError, TypeError):
        return None


def results_path(
    study: Study,
    reshuffle: bool = True,
    *,
    seeds: Sequence[int] | None = None,
    source: str | None = None,
) -> Path:
    """Where `study`'s results are saved.

    Args:
        study: The study.
        reshuffle: False for the one-permutation batch order, saved apart
            (`<study>_one_permutation.npz`).
        seeds: With `source`: the file of exactly this definition. `<study>.npz`
            if it is free or holds this definition, else `<study>-<definition>.npz`.
        source: The data's source (`Dataset.source`).

    Returns:
        The path; without `seeds` and `source`, the study's own name
        `<results>/<study>.npz`.
    """
    suffix = "" if reshuffle else "_one_permutation"
    base = config.results_dir() / f"{study.name}{suffix}.npz"
    if seeds is None or source is None:
        return base
    wanted = definition_key(study, seeds, source, reshuffle)
    owner = _owner(base)
    if owner is None or owner == wanted:
        return base
    return base.with_name(f"{study.name}{suffix}-{wanted}.npz")


def _owner(path: Path) -> str | None:
    """The definition key of the results in `path`; None if absent or unreadable."""
    if not path.exists():
        return None
    try:
        return saved_definition(Results.read_meta(path))
    except (CorruptResults, OSError):
        return None


def load_cached(
    study: Study, key: str, reshuffle: bool = True, *, path: Path | None = None
) -> Results | None:
    """The saved results of `study` if their key is `key`; None if absent, stale or corrupt."""
    path = path if path is not None else results_path(study, reshuffle)
    if not path.exists():
        return None
    try:
        results = Results.load(path)
    except CorruptResults as err:
        warnings.warn(f"{err}; recomputing", stacklevel=3)
        return None
    return results if results.meta.get("key") == key else None


class OutputNotWritable(PermissionError):
    """The results folder cannot be written: raised before training, so nothing is lost."""


def check_writable(folder: Path) -> None:
    """Raise `OutputNotWritable` unless files can be created in `folder`.

    Args:
        folder: The folder (created if missing).
    """
    probe = temporary_name(folder / "write-check")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as err:
        raise OutputNotWritable(
            f"cannot write results to {folder} ({type(err).__name__}: {err.strerror or err}): "
            "make it writable, set LR_LESSONS_OUTPUT=DIR to write elsewhere, or pass cache=False"
        ) from None


def fallback_dir() -> Path:
    """Where results go when their folder cannot be written (a folder in the system's temp)."""
    return Path(tempfile.gettempdir()) / "lr_lessons-results"


def _save_or_fall_back(results: Results, path: Path) -> Path | None:
    try:
        return results.save(path)
    except OSError as err:
        first = f"{type(err).__name__}: {err}"
    fallback = fallback_dir() / path.name
    try:
        results.save(fallback)
    except OSError as err:
        warnings.warn(
            f"could not save the results of study {results.study!r} to {path} ({first}) nor to "
            f"{fallback} ({type(err).__name__}: {err}); they are only in the returned Results",
            stacklevel=3,
        )
        return None
    warnings.warn(
        f"could not save the results of study {results.study!r} to {path} ({first}); "
        f"saved them to {fallback} instead (copy it to {path} to use it as the cache)",
        stacklevel=3,
    )
    return fallback


EVENTS: list[dict] = []
"""What each `run_study` call did, in order: `{"study", "how", "path", "seconds"}` with
`how` one of `"read from cache"`, `"trained"`, `"trained, not cached"`.
`lr-lessons figures` prints them per chapter."""


def record(study: str, how: str, path: Path | None = None, seconds: float | None = None) -> None:
    """Add an entry to `EVENTS` (for other cached computations, e.g. range tests).

    Args:
        study: The name of what was computed.
        how: `"read from cache"`, `"trained"` or `"trained, not cached"`.
        path: The file read or written.
        seconds: The training time.
    """
    EVENTS.append({"study": study, "how": how, "path": path, "seconds": seconds})


def run_study(
    study: Study,
    seeds: Sequence[int] | None = None,
    engine: str | None = None,
    *,
    data: Dataset | None = None,
    cache: bool = True,
    progress: bool = True,
    reshuffle: bool = True,
) -> Results:
    """Train every setting of `study` from every seed and return the `Results`.

    `seeds` defaults to `lr_lessons.config.seeds`, `engine` to
    `lr_lessons.config.engine` (falling back to `"fit"` for studies the chosen
    engine cannot train; `meta["engine"]` says which ran); quick mode shortens the
    study. With `cache`, unchanged studies are read from disk instead of trained again
    (unless `LR_LESSONS_RETRAIN` is on: then they are trained and saved over).
    `reshuffle=False` trains in the batch order Keras 3's `model.fit(shuffle=True)`
    uses after `keras.utils.set_random_seed` (one permutation repeated every epoch)
    instead of a fresh shuffle per epoch; its results are saved apart
    (`<study>_one_permutation.npz`). An engine without a `reshuffle` option (fit)
    trains in its own batch order.

    Args:
        study: The study to run.
        seeds: The seeds (whole numbers, at most `config.MAX_SEEDS` of them).
        engine: `"stacked"` or `"fit"`.
        data: The data set (default: the study's problem, loaded).
        cache: Read current saved results instead of training, and save new ones.
        progress: Show a progress bar.
        reshuffle: A fresh batch order every epoch (True) or one permutation (False).

    Returns:
        The results; `meta` says how they were made.
    """
    config.validate()
    if not isinstance(study, Study):
        raise InputError(f"study must be a Study, got {type(study).__name__}")
    reshuffle = boolean(reshuffle, "reshuffle")
    seeds = _check_seeds(config.seeds() if seeds is None else seeds)
    study = study.with_epochs(config.epochs(study.epochs))
    engine = choose_engine(engine or config.engine(), study)
    train = get_engine(engine)
    options = {"reshuffle": reshuffle} if "reshuffle" in signature(train).parameters else {}
    data = data if data is not None else load_data(study.problem)
    key = cache_key(study, seeds, engine, data.source)
    if not reshuffle:
        key = hashlib.sha256(f"{key}one_permutation".encode()).hexdigest()[:20]
    path = None
    if cache:
        remove_stale_temporaries(config.results_dir())
        path = results_path(study, reshuffle, seeds=seeds, source=data.source)
        if not config.retrain():
            cached = load_cached(study, key, reshuffle, path=path)
            if cached is not None:
                record(study.name, "read from cache", path)
                return cached
        check_writable(path.parent)
        base = results_path(study, reshuffle)
        if path != base:
            warnings.warn(
                f"{base} holds another definition of study {study.name!r}; these results "
                f"are saved to {path.name} instead, so neither overwrites the other",
                stacklevel=2,
            )

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
        metrics = train(study, seeds, data, progress=bar.update, **options)
        wall = time.perf_counter() - start
    meta = {
        "key": key,
        "definition": definition_key(study, seeds, data.source, reshuffle),
        "study": study.to_dict(),
        "seeds": seeds,
        "epochs": study.epochs,
        "engine": engine,
        "reshuffle": options.get("reshuffle", "engine's own batch order"),
        "quick": config.quick(),
        "data_source": data.source,
        "versions": versions(),
        "machine": f"{platform.machine()}, {platform.system()}",
        "wall_time_s": round(wall, 3),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    results = Results(study.name, study.setting_names, seeds, metrics, meta)
    if path is None:
        record(study.name, "trained, not cached", None, wall)
        return results
    saved = _save_or_fall_back(results, path)
    record(study.name, "trained" if saved else "trained, not cached", saved, wall)
    return results
