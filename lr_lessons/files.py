"""Atomic file writes: an interrupted run never leaves a half-written file behind.

A write goes to a temporary file next to its target, named
`.<target name>.<pid>-<random>.lrtmp`, and is renamed onto the target only when it is
complete. The `.lrtmp` suffix matches no reader's pattern (`*.npz`, `*.png`), so even
the file a `kill -9` leaves behind is never read as a result or a figure;
`remove_stale_temporaries` deletes such leftovers when the next run starts.

Results of every kind (study results, range-test results) are written by `write_npz`:
NumPy arrays plus JSON objects in one compressed `.npz`; `read_json` reads such an
object back.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from lr_lessons.checks import InputError

TEMP_SUFFIX = ".lrtmp"
_TEMP_NAME = re.compile(r"^\..+\.(\d+)-[0-9a-f]+" + re.escape(TEMP_SUFFIX) + "$")
STALE_AFTER_S = 24 * 3600


def temporary_name(target: str | os.PathLike) -> Path:
    """A fresh temporary path next to `target` (same folder, `.lrtmp` suffix).

    Args:
        target: The file the temporary will become.

    Returns:
        The temporary path (not created).
    """
    target = Path(target)
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` only on success.

    The temporary name ends in `.lrtmp`, so a writer that picks its format from the
    file name must be told the format (e.g. `fig.savefig(tmp, format="png")`).

    Args:
        path: The file to write.

    Returns:
        A context manager yielding the temporary path to write to.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = temporary_name(target)
    umask = os.umask(0)
    os.umask(umask)
    fd = os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 & ~umask)
    os.close(fd)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


class OutputNotWritable(InputError, PermissionError):
    """An output folder cannot be written: raised before any work, so nothing is lost."""


def check_writable(folder: str | os.PathLike, what: str = "results") -> None:
    """Raise `OutputNotWritable` unless files can be created in `folder`.

    Args:
        folder: The folder (created if missing).
        what: What goes there (`"results"`, `"figures"`), for the message.
    """
    folder = Path(folder)
    probe = temporary_name(folder / "write-check")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.touch(exist_ok=False)
        probe.unlink()
    except OSError as err:
        raise OutputNotWritable(
            f"cannot write {what} to {folder} ({type(err).__name__}: {err.strerror or err}): "
            "make it writable, set LR_LESSONS_OUTPUT=DIR to write elsewhere, or pass cache=False"
        ) from None


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` to `path` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_npz(path: str | os.PathLike, arrays: Mapping[str, Any], **json_objects: Any) -> Path:
    """Write arrays and JSON objects to one compressed `.npz` at `path`, atomically.

    Each JSON object is stored as a 0-d text array under its own name (`json.dumps`
    with `default=str`, so paths and other odd values become text); `read_json` reads
    it back. The file holds no pickles: `np.load(path, allow_pickle=False)` reads it.

    Args:
        path: The `.npz` file to write.
        arrays: Name -> array (anything `np.asarray` takes).
        **json_objects: Name -> JSON-ready object (a dict, list, text or number).

    Returns:
        `Path(path)`.

    Raises:
        ValueError: If a JSON object has the name of an array.
    """
    clash = sorted(set(arrays) & set(json_objects))
    if clash:
        raise ValueError(f"names {clash} are given both as arrays and as JSON objects")
    texts = {name: np.array(json.dumps(obj, default=str)) for name, obj in json_objects.items()}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays, **texts)
    return Path(path)


def read_json(npz: Mapping[str, Any], name: str) -> Any:
    """The JSON object `write_npz` stored under `name`.

    Args:
        npz: An open `np.load(...)` file, or a dict of its arrays.
        name: The object's name.

    Returns:
        The decoded object.

    Raises:
        KeyError: If there is no array `name`.
        json.JSONDecodeError: If the array does not hold JSON text.
    """
    return json.loads(str(np.asarray(npz[name])[()]))


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def remove_stale_temporaries(folder: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Delete temporary files that interrupted writes left in `folder`.

    A temporary file is stale when the process that wrote it has ended, or when it is
    older than a day (its process id may have been reused); files of running writers
    (e.g. a concurrent `lr-lessons figures`) are kept.

    Args:
        folder: The folder to clean (missing folders are fine).
        recursive: Also clean its subfolders.

    Returns:
        The files removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    now = time.time()
    candidates = folder.rglob(f"*{TEMP_SUFFIX}") if recursive else folder.glob(f"*{TEMP_SUFFIX}")
    for path in candidates:
        match = _TEMP_NAME.match(path.name)
        if not match or not path.is_file():
            continue
        try:
            old = now - path.stat().st_mtime > STALE_AFTER_S
            if old or not _alive(int(match.group(1))):
                path.unlink()
                removed.append(path)
        except OSError:  # gone already, or not ours to delete
            continue
    return removed
