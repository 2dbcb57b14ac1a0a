"""The study runner: every setting x seed of a study through an engine, cached on disk.

`run_study` is the one place where studies are trained. Its results are kept by the one
cache (`lr_lessons.lab.cache`): saved to `<output>/results/<study>.npz` with a key over
everything that shapes the numbers (settings, seeds, epochs, engine, quick mode, the
data's source and a fingerprint of its contents, the library's code and versions); a
second call with the same key reads the file instead of training, and a file whose key
differs (stale) or that cannot be read (corrupt) is recomputed.

Results of different study *definitions* (settings, epochs, seeds, data, batch order)
never overwrite each other: `<study>.npz` belongs to the definition saved in it, and
another definition under the same study name is saved as `<study>-<definition>.npz`
(a warning says so). Recomputing the same definition (new code or versions) replaces
its file. Before training, the results folder is checked to be writable; if a save
still fails, the results are returned and written to a fallback file the warning names.
Range tests go the same way through `run_range_test` (`lr_lessons.lab.range_tests`).
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
import time
from collections.abc import Sequence
from inspect import signature
from pathlib import Path

from lr_lessons import config
from lr_lessons.checks import InputError, boolean, whole_number
from lr_lessons.lab import cache as results_cache
from lr_lessons.lab.cache import (  # noqa: F401  (the runner's names of the one cache)
    _PACKAGE_DIR,
    ENGINE_CODE,
    EVENTS,
    TRAINING_CODE,
    OutputNotWritable,
    check_writable,
    code_fingerprint,
    code_text,
    fallback_dir,
    record,
    versions,
)
from lr_lessons.lab.data import Dataset
from lr_lessons.lab.data import load as load_data
from lr_lessons.lab.engines import choose_engine, get_engine
from lr_lessons.lab.range_tests import RangeTestSpec, run_range_test  # noqa: F401
from lr_lessons.lab.results import CorruptResults, Results
from lr_lessons.lab.studies import Study

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


def _definition_parts(
    study_dict: dict, seeds: list, source: str, fingerprint: str | None, reshuffle: bool
) -> dict:
    return {
        "study": study_dict,
        "seeds": list(seeds),
        "data": source,
        "data_fingerprint": fingerprint,
        "reshuffle": bool(reshuffle),
    }


def _legacy_definition(study: dict, seeds: list, source: str, quick: bool, reshuffle: bool) -> str:
    """The definition key of results saved before data were fingerprinted (by name only)."""
    payload = {
        "study": study,
        "seeds": list(seeds),
        "data": source,
        "quick": bool(quick),
        "reshuffle": bool(reshuffle),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:8]


def definition_key(
    study: Study,
    seeds: Sequence[int],
    source: str | Dataset,
    reshuffle: bool = True,
) -> str:
    """A short key of what a study's results are: settings, epochs, seeds, data, batch order.

    Unlike the cache key it leaves out the code, versions and engine, which change how
    (not what) a result is computed; it tells apart results that must not overwrite each
    other (`lr_lessons.lab.results_cache.definition_key`).

    Args:
        study: The study (with the epochs it runs).
        seeds: Its seeds.
        source: The data set (its source and the fingerprint of its contents), or only
            its source's name.
        reshuffle: The batch order (see `run_study`).

    Returns:
        8 hex digits.
    """
    name, fingerprint = (
        (source.source, source.fingerprint) if isinstance(source, Dataset) else (source, None)
    )
    return results_cache.definition_key(
        _definition_parts(study.to_dict(), list(seeds), name, fingerprint, reshuffle)
    )


def saved_definition(meta: dict) -> str | None:
    """The definition key in a results file's `meta` (computed from it for older files)."""
    if isinstance(meta.get("definition"), str):
        return meta["definition"]
    try:
        reshuffle = meta.get("reshuffle", True)
        return _legacy_definition(
            meta["study"], meta["seeds"], meta["data_source"], meta["quick"], reshuffle is not False
        )
    except (KeyError, TypeError):
        return None


def _owner(wanted: str, study: dict, seeds: list, source: str, reshuffle: bool):
    """Who a saved study file belongs to. Files saved before the data's contents were
    fingerprinted (no `data_fingerprint` in their meta) belong to this definition when
    everything else they record matches: they are made again in place, not beside."""

    def owner(meta: dict) -> str | None:
        found = saved_definition(meta)
        if found is None or "data_fingerprint" in meta:
            return found
        legacy = _legacy_definition(study, seeds, source, config.quick(), reshuffle)
        return wanted if found == legacy else found

    return owner


def _kind(study: Study, seeds: list, data: Dataset | None, source: str | None, reshuffle: bool):
    source = data.source if data is not None else source
    wanted = definition_key(study, seeds, data if data is not None else source or "", reshuffle)
    return wanted, results_cache.Kind(
        Results.load,
        corrupt=(CorruptResults,),
        read_meta=Results.read_meta,
        owner=_owner(wanted, study.to_dict(), list(seeds), source or "", reshuffle),
    )


def _name(study: Study, reshuffle: bool) -> str:
    return f"{study.name}{'' if reshuffle else '_one_permutation'}"


def results_path(
    study: Study,
    reshuffle: bool = True,
    *,
    seeds: Sequence[int] | None = None,
    source: str | None = None,
    data: Dataset | None = None,
) -> Path:
    """Where `study`'s results are saved.

    Args:
        study: The study.
        reshuffle: False for the one-permutation batch order, saved apart
            (`<study>_one_permutation.npz`).
        seeds: With `data` (or only its `source`): the file of exactly this definition:
            `<study>.npz` if it is free or holds this definition, else
            `<study>-<definition>.npz`.
        source: The data's source (`Dataset.source`), when `data` is not at hand.
        data: The data set.

    Returns:
        The path; without `seeds` and data, the study's own name `<results>/<study>.npz`.
    """
    name = _name(study, reshuffle)
    if seeds is None or (source is None and data is None):
        return results_cache.result_path(name)
    wanted, kind = _kind(study, list(seeds), data, source, reshuffle)
    return results_cache.free_path(name, ".npz", wanted, kind)


def load_cached(
    study: Study, key: str, reshuffle: bool = True, *, path: Path | None = None
) -> Results | None:
    """The saved results of `study` if their key is `key`; None if absent, stale or corrupt."""
    path = path if path is not None else results_path(study, reshuffle)
    kind = results_cache.Kind(Results.load, corrupt=(CorruptResults,), read_meta=Results.read_meta)
    return results_cache.read_current(path, key, kind)


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

    `seeds` defaults to `lr_lessons.config.seeds` of the study's problem, `engine` to
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
    return _run_study(study, seeds, engine, data, cache, progress, reshuffle, None)


class _NotTrained(Exception):
    """A deferred training (`run_studies`): the study is not current in the cache."""


def _run_study(study, seeds, engine, data, cache, progress, reshuffle, trained) -> Results:
    """`run_study`; `trained(study, seeds, data)` (if given) replaces the engine's training
    and returns `(metrics, wall seconds)`, or raises `_NotTrained`."""
    config.validate()
    if not isinstance(study, Study):
        raise InputError(f"study must be a Study, got {type(study).__name__}")
    reshuffle = boolean(reshuffle, "reshuffle")
    seeds = _check_seeds(config.seeds(study.problem) if seeds is None else seeds)
    study = study.with_epochs(config.epochs(study.epochs))
    engine = choose_engine(engine or config.engine(), study)
    train = get_engine(engine)
    options = {"reshuffle": reshuffle} if "reshuffle" in signature(train).parameters else {}
    data = data if data is not None else load_data(study.problem)
    seeds = list(seeds)
    wanted, kind = _kind(study, seeds, data, None, reshuffle)
    parts = _definition_parts(study.to_dict(), seeds, data.source, data.fingerprint, reshuffle)
    key = results_cache.cache_key(parts, code=f"{engine} {code_fingerprint(engine)}")

    def compute() -> Results:
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
            if trained is not None:
                metrics, wall = trained(study, seeds, data)
            else:
                metrics = train(study, seeds, data, progress=bar.update, **options)
                wall = time.perf_counter() - start
        meta = {
            "study": study.to_dict(),
            "seeds": seeds,
            "epochs": study.epochs,
            "engine": engine,
            "reshuffle": options.get("reshuffle", "engine's own batch order"),
            "data_source": data.source,
            "data_fingerprint": data.fingerprint,
            "machine": f"{platform.machine()}, {platform.system()}",
            "wall_time_s": round(wall, 3),
        }
        return Results(study.name, study.setting_names, seeds, metrics, meta)

    return results_cache.cached_call(
        _name(study, reshuffle),
        parts,
        compute,
        kind,
        cache=cache,
        label=study.name,
        key=key,
        what=f"study {study.name!r}",
    )


def run_studies(
    studies: Sequence[Study],
    seeds: Sequence[int] | None = None,
    engine: str | None = None,
    *,
    data: Dataset | None = None,
    cache: bool = True,
    progress: bool = True,
    reshuffle: bool = True,
) -> list[Results]:
    """`run_study` for several studies, the ones to train trained in one engine call.

    Each study is cached, keyed and saved exactly as `run_study` does it. The studies
    that are not read from the cache and that the stacked engine trains go to
    `lr_lessons.lab.engines.stacked.train_studies` together (one program per network: a
    width grid is one call); the others are trained one by one.

    Args:
        studies: The studies (e.g. one per width).
        seeds: As for `run_study`.
        engine: As for `run_study`.
        data: The data set of all of them (default: each study's problem, loaded).
        cache: As for `run_study`.
        progress: As for `run_study`.
        reshuffle: As for `run_study`.

    Returns:
        One `Results` per study, in order.
    """
    studies = list(studies)
    if not studies or not all(isinstance(s, Study) for s in studies):
        raise InputError(f"studies must be a non-empty list of Study, got {studies!r}")
    names = [s.name for s in studies]
    if len(set(names)) < len(names):
        raise InputError(f"run_studies needs distinct study names, got {names}")
    args = (seeds, engine, data, cache, progress, reshuffle)
    results: dict[int, Results] = {}
    todo: list[int] = []

    def later(study, seeds_, data_):
        raise _NotTrained

    for k, study in enumerate(studies):
        if choose_engine(engine or config.engine(), study) != "stacked":
            continue
        try:
            results[k] = _run_study(study, *args, later)
        except _NotTrained:
            todo.append(k)
    trained: dict[str, tuple[dict, float]] = {}
    if todo:
        from lr_lessons.lab.engines import stacked

        by_data: dict[str, list[int]] = {}
        loaded: dict[str, Dataset] = {}
        for k in todo:
            mine = data if data is not None else load_data(studies[k].problem)
            loaded.setdefault(mine.fingerprint, mine)
            by_data.setdefault(mine.fingerprint, []).append(k)
        for fingerprint, members in by_data.items():
            group = [studies[k].with_epochs(config.epochs(studies[k].epochs)) for k in members]
            group_seeds = _check_seeds(config.seeds(group[0].problem) if seeds is None else seeds)
            start = time.perf_counter()
            metrics = stacked.train_studies(
                group, group_seeds, loaded[fingerprint], reshuffle=reshuffle
            )
            share = (time.perf_counter() - start) / len(group)
            for study, got in zip(group, metrics):
                trained[study.name] = (got, share)

    def done(study, seeds_, data_):
        return trained[study.name]

    out = []
    for k, study in enumerate(studies):
        if k in results:
            out.append(results[k])
        elif k in todo:
            out.append(_run_study(study, *args, done))
        else:
            out.append(
                run_study(
                    study, *args[:2], data=data, cache=cache, progress=progress, reshuffle=reshuffle
                )
            )
    return out
