"""The one cache of lr_lessons: every result trained or measured, keyed, protected, on disk.

Studies (`lr_lessons.lab.runner.run_study`), range tests (`run_range_test`) and the
chapters' measurements (`cached`) all go through `cached_call`, which holds the rules
once:

- **One key** (`cache_key`): what a result is (its definition: settings, seeds, a
  fingerprint of the data's *contents*, quick mode) plus how it was made (the code that
  builds and trains it, through `code_fingerprint` and `code_text`, and the package
  versions). A saved result whose key differs (stale) is made again; one that cannot be
  read (corrupt) is made again with a warning.
- **One path rule** (`result_path`): a result's name is a slash-separated relative name
  below `lr_lessons.config.results_dir`, checked part by part (`checks.file_name`),
  so no name leaves the results folder. `<name>.npz` belongs to the definition saved in
  it; another definition under the same name goes to `<name>-<definition>.npz`, so
  results of different definitions never overwrite each other (remaking the same
  definition with new code or versions replaces its file).
- **Nothing lost**: the folder is checked to be writable before any work
  (`check_writable`); a save that still fails (a full disk) falls back to a file in
  the system's temporary folder, named in a warning; every write is atomic
  (`lr_lessons.files`).
- **Reported**: each call adds an entry to `EVENTS` (read from cache, trained, not
  cached), which `lr-lessons figures` prints per chapter.

A cached object needs a `meta` dict, a `save(path)` method and a loader; `Record`
(plain JSON values, e.g. timings) is the simplest.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import platform
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar

from lr_lessons import config
from lr_lessons.checks import InputError, file_name
from lr_lessons.files import (  # noqa: F401  (OutputNotWritable: the cache's error too)
    OutputNotWritable,
    check_writable,
    remove_stale_temporaries,
    write_text,
)

__all__ = [
    "EVENTS",
    "OutputNotWritable",
    "Record",
    "cache_key",
    "cached",
    "cached_call",
    "check_writable",
    "code_fingerprint",
    "code_text",
    "definition_key",
    "function_code",
    "record",
    "result_path",
    "versions",
]

# --- the code that shapes results -----------------------------------------------------

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # lr_lessons/
# The code that shapes every result (paths inside lr_lessons/); editing any of it
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
# The code of each kind of computation beyond TRAINING_CODE (glob patterns inside
# lr_lessons/, so an engine that becomes a package keeps counting): an engine's own files
# count only for the results that engine produced, the range test's only for range tests
# (and the chapters' other measurements), so editing a suggestion rule does not throw
# away the blobs studies.
ENGINE_CODE = {
    "fit": ("lab/engines/fit.py",),
    "stacked": ("lab/engines/stacked.py", "lab/engines/stacked/*.py", "lab/engines/plateau.py"),
    "range_test": ("lab/range_tests.py", "tools/range_test/*.py"),
}


def _code_files(engine: str | None) -> list[str]:
    names = list(TRAINING_CODE)
    for pattern in ENGINE_CODE.get(engine or "", ()):
        found = sorted(p.relative_to(_PACKAGE_DIR).as_posix() for p in _PACKAGE_DIR.glob(pattern))
        names += [n for n in found if n not in names]
    return names


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
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
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
                setattr(node, name, kept or [ast.Pass()])
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
    for name in _code_files(engine):
        path = _PACKAGE_DIR / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(code_text(path.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]


def function_code(function: Callable[..., Any]) -> str:
    """The code of a function a caller hands over (a model builder): a hash of its source.

    The source counts through `code_text` (comments and docstrings do not count), so
    editing a layer of a chapter's own model makes its results stale. A function whose
    source cannot be read (a built-in, a `functools.partial`) counts by its qualified name.

    Args:
        function: The function.

    Returns:
        16 hex digits.
    """
    target = getattr(function, "__wrapped__", function)
    try:
        text = code_text(textwrap.dedent(inspect.getsource(target)))
    except (OSError, TypeError, SyntaxError):
        text = f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', target)!r}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def versions() -> dict[str, str]:
    """Versions of the software that produced a result."""
    import keras
    import numpy as np
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


# --- the one key --------------------------------------------------------------------------


def _digest(payload: Any, length: int) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def definition_key(definition: Mapping[str, Any]) -> str:
    """What a result *is*, in 8 hex digits: its definition and quick mode.

    Results whose definitions differ never overwrite each other (see `result_path`).

    Args:
        definition: JSON-ready settings, seeds, data (its fingerprint)...

    Returns:
        8 hex digits.
    """
    return _digest({"definition": dict(definition), "quick": config.quick()}, 8)


def cache_key(definition: Mapping[str, Any], code: str | None = None) -> str:
    """The key of a result: its definition, quick mode, the code that makes it, versions.

    Args:
        definition: What the result is (as for `definition_key`).
        code: A fingerprint of the code that makes it (e.g. `code_fingerprint("fit")`
            plus `function_code(builder)`); None: the library's training code and the
            range test's (`code_fingerprint("range_test") + code_fingerprint("fit")`).

    Returns:
        20 hex digits.
    """
    if code is None:
        code = code_fingerprint("range_test") + code_fingerprint("fit")
    payload = {
        "definition": dict(definition),
        "quick": config.quick(),
        "code": code,
        "versions": versions(),
    }
    return _digest(payload, 20)


# --- the one path rule ----------------------------------------------------------------------


def result_path(name: str, suffix: str = ".npz", definition: str | None = None) -> Path:
    """Where the result named `name` lives: `<results>/<name><suffix>`.

    Args:
        name: A slash-separated name below the results folder, e.g.
            `"06_range_test/variant1_sgd"`; each part a safe file name (no `..`, no
            absolute path), so the file is always inside the results folder.
        suffix: The file's extension.
        definition: The definition key of a result that may not take the plain name:
            `<name>-<definition><suffix>`.

    Returns:
        The path below `lr_lessons.config.results_dir`.
    """
    if not isinstance(name, str) or not name or name.startswith(("/", "\\")):
        raise InputError(
            f"a result's name must be a relative name like '06_range_test/variant1_sgd', "
            f"got {name!r}"
        )
    parts = name.replace("\\", "/").split("/")
    for part in parts:
        file_name(part, f"each part of the result name {name!r}")
    tail = parts[-1] if definition is None else f"{parts[-1]}-{definition}"
    return config.results_dir().joinpath(*parts[:-1], f"{tail}{suffix}")


def name_of(path: str | os.PathLike) -> tuple[str, str]:
    """The result name and suffix of a path inside the results folder (see `result_path`).

    Args:
        path: A file below `lr_lessons.config.results_dir`.

    Returns:
        `(name, suffix)`.
    """
    root = config.results_dir().resolve()
    full = Path(os.path.abspath(path))
    try:
        relative = full.relative_to(os.path.abspath(config.results_dir()))
    except ValueError:
        try:
            relative = full.resolve().relative_to(root)
        except ValueError:
            raise InputError(
                f"{str(path)!r} is outside the results folder {root}: name results relative "
                "to it (e.g. '08_hypergradient/step_cost')"
            ) from None
    return relative.with_suffix("").as_posix(), relative.suffix


# --- protection ---------------------------------------------------------------------------


def fallback_dir() -> Path:
    """Where results go when their folder cannot be written (a folder in the system's temp)."""
    return Path(tempfile.gettempdir()) / "lr_lessons-results"


def save_or_fall_back(result: Any, path: Path, what: str) -> Path | None:
    """Save `result` to `path`; on an `OSError` (full disk) to `fallback_dir` instead.

    Args:
        result: Anything with `save(path)`.
        path: Where it belongs.
        what: How the warning names it (e.g. `"the results of study 'x'"`).

    Returns:
        Where it was saved, or None if nowhere (a warning says so).
    """
    try:
        result.save(path)
        return path
    except OSError as err:
        first = f"{type(err).__name__}: {err}"
    relative = (
        path.relative_to(config.results_dir())
        if path.is_relative_to(config.results_dir())
        else Path(path.name)
    )
    fallback = fallback_dir() / relative
    try:
        result.save(fallback)
    except OSError as err:
        warnings.warn(
            f"could not save {what} to {path} ({first}) nor to {fallback} "
            f"({type(err).__name__}: {err}); they are only in the returned object",
            stacklevel=3,
        )
        return None
    warnings.warn(
        f"could not save {what} to {path} ({first}); saved them to {fallback} instead "
        f"(copy it to {path} to use it as the cache)",
        stacklevel=3,
    )
    return fallback


EVENTS: list[dict] = []
"""What each cached computation did, in order: `{"study", "how", "path", "seconds"}` with
`how` one of `"read from cache"`, `"trained"`, `"trained, not cached"`.
`lr-lessons figures` prints them per chapter."""


def record(study: str, how: str, path: Path | None = None, seconds: float | None = None) -> None:
    """Add an entry to `EVENTS`.

    Args:
        study: The name of what was computed.
        how: `"read from cache"`, `"trained"` or `"trained, not cached"`.
        path: The file read or written.
        seconds: The training time.
    """
    EVENTS.append({"study": study, "how": how, "path": path, "seconds": seconds})


class Cacheable(Protocol):
    meta: dict[str, Any]

    def save(self, path: str | os.PathLike) -> Any: ...


T = TypeVar("T", bound=Cacheable)


@dataclass(frozen=True)
class Kind:
    """How one kind of result is read: its loader, the errors that mean "corrupt", its owner.

    Args:
        load: Reads a whole saved result.
        corrupt: The exceptions `load` raises for a file that is not a whole result of
            this kind (anything else is a real error and propagates).
        read_meta: Reads only a saved result's `meta` (default: `load(path).meta`).
        owner: The definition key a saved `meta` belongs to (default:
            `meta["definition"]`); None for a file of no known definition, which may be
            replaced.
    """

    load: Callable[[Path], Any]
    corrupt: tuple[type[BaseException], ...] = (ValueError, KeyError)
    read_meta: Callable[[Path], dict] | None = None
    owner: Callable[[dict], str | None] | None = None

    def meta_of(self, path: Path) -> dict:
        return self.read_meta(path) if self.read_meta else self.load(path).meta

    def owner_of(self, meta: dict) -> str | None:
        if self.owner is not None:
            return self.owner(meta)
        value = meta.get("definition")
        return value if isinstance(value, str) else None


def _corrupt_errors(kind: Kind) -> tuple[type[BaseException], ...]:
    import zipfile

    return (*kind.corrupt, zipfile.BadZipFile, EOFError, UnicodeDecodeError)


def free_path(name: str, suffix: str, definition: str, kind: Kind) -> Path:
    """The file of `name` for this definition: `<name>` if free or its own, else `<name>-<def>`.

    Args:
        name: The result's name.
        suffix: The file's extension.
        definition: Its definition key.
        kind: How such files are read.

    Returns:
        The path.
    """
    base = result_path(name, suffix)
    if not base.exists():
        return base
    try:
        owner = kind.owner_of(kind.meta_of(base))
    except (*_corrupt_errors(kind), OSError):
        owner = None  # unreadable: it holds nothing to protect
    if owner is None or owner == definition:
        return base
    return result_path(name, suffix, definition)


def read_current(path: Path, key: str, kind: Kind) -> Any | None:
    """The result saved at `path` if its key is `key`; None if absent, stale or corrupt.

    A corrupt file (one of `kind.corrupt`) is reported with a warning and made again.

    Args:
        path: The file.
        key: The wanted key.
        kind: How such files are read.

    Returns:
        The result or None.
    """
    if not path.exists():
        return None
    try:
        saved = kind.load(path)
    except _corrupt_errors(kind) as err:
        warnings.warn(
            f"cannot read {path} ({type(err).__name__}: {err}); recomputing", stacklevel=3
        )
        return None
    return saved if saved.meta.get("key") == key else None


def cached_call(
    name: str,
    definition: Mapping[str, Any],
    compute: Callable[[], T],
    kind: Kind,
    *,
    code: str | None = None,
    suffix: str = ".npz",
    cache: bool = True,
    label: str | None = None,
    key: str | None = None,
    retrain: bool = False,
    what: str | None = None,
    mark: bool = False,
) -> T:
    """The result named `name` with this definition: read if current, else computed and saved.

    Args:
        name: The result's name below the results folder (see `result_path`).
        definition: What the result is (settings, seeds, the data's fingerprint...).
        compute: Makes the result (called only on a miss); its `meta` gets `key`,
            `definition`, `versions`, `quick`, `wall_time_s` and `created`.
        kind: How such results are read.
        code: The fingerprint of the code that makes it (see `cache_key`).
        suffix: The file's extension.
        cache: False computes without reading or saving anything.
        label: How `EVENTS` and warnings name it (default: the name's last part).
        key: The key (default: `cache_key(definition, code)`).
        retrain: Compute and save even if a current result is saved (as
            `LR_LESSONS_RETRAIN` does).
        what: How warnings name it (default: the label, quoted).
        mark: Set `meta["cache"]` to `"read"` or `"computed"` (never saved).

    Returns:
        The result.
    """
    if not callable(compute):
        raise InputError(f"compute must be a callable that makes the result, got {compute!r}")
    label = label or name.rsplit("/", 1)[-1]
    what = what or repr(label)
    result_path(name, suffix)  # the name is checked before any work
    definition = dict(definition)
    wanted = definition_key(definition)
    key = key or cache_key(definition, code)
    path = None
    if cache:
        remove_stale_temporaries(config.results_dir())
        path = free_path(name, suffix, wanted, kind)
        if not (retrain or config.retrain()):  # LR_LESSONS_RETRAIN: compute again
            saved = read_current(path, key, kind)
            if saved is not None:
                if mark:
                    saved.meta["cache"] = "read"
                record(label, "read from cache", path)
                return saved
        check_writable(path.parent)
        base = result_path(name, suffix)
        if path != base:
            warnings.warn(
                f"{base} holds another definition of {what}; this result is saved to "
                f"{path.name} instead, so neither overwrites the other",
                stacklevel=3,
            )
    start = time.perf_counter()
    result = compute()
    wall = time.perf_counter() - start
    result.meta.pop("cache", None)
    result.meta.update(
        key=key,
        definition=wanted,
        versions=versions(),
        quick=config.quick(),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    result.meta.setdefault("wall_time_s", round(wall, 3))
    if path is None:
        record(label, "trained, not cached", None, wall)
    else:
        saved_to = save_or_fall_back(result, path, f"the results of {what}")
        record(label, "trained" if saved_to else "trained, not cached", saved_to, wall)
    if mark:
        result.meta["cache"] = "computed"
    return result


# --- measurements and other small results ---------------------------------------------------


def cached(
    name: str | os.PathLike,
    settings: Mapping[str, Any],
    compute: Callable[[], T],
    load: Callable[[Path], T],
    *,
    cache: bool = True,
) -> T:
    """A measurement (or any result with `meta` and `save`) named `name`, cached.

    Args:
        name: The result's name below the results folder, with its extension
            (`"08_hypergradient/step_cost.json"`), or a path inside that folder.
        settings: What the result depends on besides the code, versions and quick mode
            (name the data by its `Dataset.fingerprint`, not by a file name).
        compute: Makes the result (called only on a miss).
        load: Reads a saved result (e.g. `Record.load`); an error reading it counts as
            a corrupt file, which is made again with a warning.
        cache: False makes it again and saves it over the saved one (a retrain).

    Returns:
        The result, its `meta["cache"]` saying `"read"` or `"computed"` (never saved).
    """
    if not callable(compute) or not callable(load):
        raise InputError("compute and load must be callables: compute() -> result, load(path)")
    if isinstance(name, str) and not os.path.isabs(name):
        stem, suffix = os.path.splitext(name)
        suffix = suffix or ".json"
    else:
        stem, suffix = name_of(name)
    kind = Kind(load, corrupt=(ValueError, KeyError, TypeError))
    return cached_call(stem, settings, compute, kind, suffix=suffix, retrain=not cache, mark=True)


@dataclass
class Record:
    """Plain JSON values with metadata, e.g. measured times: `Record({"sgd_ms": 4.1})`."""

    values: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> Path:
        """Write `values` and `meta` as one JSON file, atomically."""
        text = json.dumps({"values": self.values, "meta": self.meta}, indent=1, default=str)
        return write_text(path, text)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Record:
        """Read a file written by `save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(dict(data["values"]), dict(data["meta"]))
