"""Atomic file writes: an interrupted run never leaves a half-written file behind.

A write goes to a temporary file next to its target, named
``.<target name>.<pid>-<random>.lrtmp``, and is renamed onto the target only when it is
complete. The ``.lrtmp`` suffix matches no reader's pattern (``*.npz``, ``*.png``), so
even the file a ``kill -9`` leaves behind is never read as a result or a figure;
:func:`remove_stale_temporaries` deletes such leftovers when the next run starts.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".lrtmp"
_TEMP_NAME = re.compile(r"^\..+\.(\d+)-[0-9a-f]+" + re.escape(TEMP_SUFFIX) + "$")
STALE_AFTER_S = 24 * 3600


def temporary_name(target: str | os.PathLike) -> Path:
    """A fresh temporary path next to ``target`` (same folder, ``.lrtmp`` suffix).

    Args:
        target: The file the temporary will become.

    Returns:
        The temporary path (not created).
    """
    target = Path(target)
    return target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only on success.

    The temporary name ends in ``.lrtmp``, so a writer that picks its format from the
    file name must be told the format (e.g. ``fig.savefig(tmp, format="png")``).

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


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


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
    """Delete temporary files that interrupted writes left in ``folder``.

    A temporary file is stale when the process that wrote it has ended, or when it is
    older than a day (its process id may have been reused); files of running writers
    (e.g. a concurrent ``lr-lessons figures``) are kept.

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
