"""Compile once: XLA's persistent compilation cache, made safe to share between runs.

TensorFlow can save every XLA program it compiles and load it in a later process instead
of compiling again (`TF_XLA_FLAGS=--tf_xla_persistent_cache_directory=...`). What it
does not do, and this module adds:

- **Keyed by machine and versions.** TensorFlow names a saved program by the program
  alone. A program compiled for one CPU's instruction set (AVX-512, say) must never be
  loaded on another CPU, nor by another TensorFlow/XLA build. So the folder is
  `<root>/<key>`, where the key hashes the CPU's model name and instruction-set
  flags (`/proc/cpuinfo`), the machine type, TensorFlow's version and git build, the
  XLA and TF_XLA flags other than the cache's own, and this module's format version. A
  change of any of them is another folder: nothing compiled elsewhere is ever read.
- **Corrupt entries recompiled.** TensorFlow fails (`DataLossError`) on a saved program
  it cannot parse, and keeps failing for that program in the same process. Each entry
  this module has seen complete gets a SHA-256 sidecar (`seal`); before a program is
  compiled or loaded (`verify`), every entry whose content does not match its sidecar,
  or that has none and is older than an hour (its writer died before sealing it), is
  deleted, so TensorFlow compiles it again. (TensorFlow itself writes an entry to a
  temporary file and renames it, so no process reads a half-written one; a program
  that still fails to load is deleted and compiled once more, see `run.py`.)
- **A size cap.** After sealing, the oldest entries (by modification time; a read does
  not count) are evicted until the cache holds at most `LR_LESSONS_XLA_CACHE_MB`
  (default 512 MB), across all keys: stale keys' folders go first because they are older.
- **An off switch.** `LR_LESSONS_XLA_CACHE=off` (or `0`, `false`, `no`); any other value
  is the root folder (default `$XDG_CACHE_HOME/lr_lessons/xla`, else
  `~/.cache/lr_lessons/xla`).

TensorFlow names a program after its traced functions, whose names carry a per-process
counter: a saved program is found again when a process traces the same programs in the
same order (a chapter re-run, `lr-lessons figures --retrain`, a benchmark run twice).
A program traced after another sequence is compiled and saved under its own name.

When TensorFlow loads a saved program it logs `Error parsing text-format
tensorflow.XlaSerializedCacheEntry`: it tries the text format before the binary one the
file is in. The message is harmless; the program is loaded.

TensorFlow reads the flags once, at the first XLA compilation of a process: `enable`
must run before it (the stacked engine calls it on import). If the flags were already
read, or the user set their own persistent-cache folder, the cache is left as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
from pathlib import Path

FORMAT = 1
OFF_WORDS = ("off", "0", "false", "no")
DEFAULT_CAP_MB = 512.0
SIDE = ".sha256"
ORPHAN_AGE_S = 3600.0  # TF writes entries atomically; the writer seals them within a chunk
_FLAG = "--tf_xla_persistent_cache_directory"
_state: dict[str, Path | None] = {"folder": None}


def cache_root() -> Path | None:
    """The cache's root folder, or None when it is switched off (`LR_LESSONS_XLA_CACHE`)."""
    setting = os.environ.get("LR_LESSONS_XLA_CACHE", "").strip()
    if setting.lower() in OFF_WORDS:
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lr_lessons" / "xla"


def cap_bytes() -> int:
    """The size cap in bytes (`LR_LESSONS_XLA_CACHE_MB`, default 512)."""
    raw = os.environ.get("LR_LESSONS_XLA_CACHE_MB", "")
    try:
        mb = float(raw) if raw.strip() else DEFAULT_CAP_MB
    except ValueError:
        raise ValueError(
            f"LR_LESSONS_XLA_CACHE_MB={raw!r} is not a number of megabytes; "
            "set e.g. LR_LESSONS_XLA_CACHE_MB=512"
        ) from None
    return int(max(mb, 0.0) * 1e6)


def cpu_description(cpuinfo: str | None = None) -> dict[str, str]:
    """The CPU's model name and instruction-set flags (Linux `/proc/cpuinfo`).

    Args:
        cpuinfo: The text of `/proc/cpuinfo` (default: read it; elsewhere the
            platform's processor string stands in).

    Returns:
        `{"model": ..., "flags": ...}` (flags sorted, space-separated).
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "flags", "features", "cpu model", "isa") and key not in fields:
            fields[key] = value.strip()
    model = fields.get("model name") or fields.get("cpu model") or platform.processor()
    flags = fields.get("flags") or fields.get("features") or fields.get("isa") or ""
    return {"model": model, "flags": " ".join(sorted(flags.split()))}


def versions() -> dict[str, str]:
    """TensorFlow's version and build (which fix its XLA)."""
    import tensorflow as tf

    return {"tensorflow": tf.version.VERSION, "git": tf.version.GIT_VERSION}


def machine_key(cpu: dict[str, str] | None = None, built: dict[str, str] | None = None) -> str:
    """The key of the folder programs compiled here are saved in.

    Args:
        cpu: `cpu_description()` (default: this machine's).
        built: `versions()` (default: this process's TensorFlow).

    Returns:
        16 hex digits over the CPU, the versions, the XLA flags and the format.
    """
    other_flags = re.sub(rf"{_FLAG}=\S*", "", os.environ.get("TF_XLA_FLAGS", "")).split()
    described = {
        "cpu": cpu if cpu is not None else cpu_description(),
        "machine": platform.machine(),
        "versions": built if built is not None else versions(),
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "tf_xla_flags": sorted(other_flags),
        "format": FORMAT,
    }
    text = json.dumps(described, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def folder() -> Path | None:
    """The folder in use (after `enable`), or None."""
    return _state["folder"]


def enable() -> Path | None:
    """Point TensorFlow's persistent XLA cache at `<root>/<machine_key()>`.

    Returns:
        The folder, or None when the cache is off, the user set their own folder in
        `TF_XLA_FLAGS`, or it cannot be created.
    """
    root = cache_root()
    current = os.environ.get("TF_XLA_FLAGS", "")
    if root is None:
        return _state["folder"]
    where = root / machine_key()
    if _FLAG in current:
        # Inherited from a parent process that enabled this same folder (a chapter's
        # child process): adopt it, so this process checks and seals its entries too.
        # Any other folder is the user's: left alone.
        chosen = re.search(rf"{_FLAG}=(\S+)", current)
        if chosen and Path(chosen.group(1)) == where and where.is_dir():
            _state["folder"] = where
            verify()
        return _state["folder"]
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    os.environ["TF_XLA_FLAGS"] = f"{current} {_FLAG}={where}".strip()
    _state["folder"] = where
    verify()
    return where


def _entries(where: Path) -> list[Path]:
    return [p for p in where.glob("*.pb") if p.is_file()]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(where: Path | None = None) -> list[Path]:
    """Delete entries TensorFlow must not read: content not matching its sidecar, or no
    sidecar and older than `ORPHAN_AGE_S` (left by a process that died while writing).

    Args:
        where: The folder (default: the one in use).

    Returns:
        The entries deleted.
    """
    where = where or _state["folder"]
    if where is None or not where.is_dir():
        return []
    removed = []
    now = time.time()
    for entry in _entries(where):
        side = entry.with_name(entry.name + SIDE)
        try:
            if side.is_file():
                good = side.read_text().strip() == _digest(entry)
            else:
                good = now - entry.stat().st_mtime < ORPHAN_AGE_S  # may be being written
            if not good:
                entry.unlink(missing_ok=True)
                side.unlink(missing_ok=True)
                removed.append(entry)
        except OSError:
            continue
    return removed


def seal(where: Path | None = None) -> list[Path]:
    """Write the sidecar of every complete new entry, then apply the size cap.

    Call it after a program ran (TensorFlow has finished writing what it compiled).

    Args:
        where: The folder (default: the one in use).

    Returns:
        The entries sealed now.
    """
    where = where or _state["folder"]
    if where is None or not where.is_dir():
        return []
    sealed = []
    for entry in _entries(where):
        side = entry.with_name(entry.name + SIDE)
        if side.exists():
            continue
        try:
            temporary = side.with_name(f".{side.name}.{os.getpid()}.tmp")
            temporary.write_text(_digest(entry))
            os.replace(temporary, side)
            sealed.append(entry)
        except OSError:
            continue
    evict(where.parent)
    return sealed


def evict(root: Path, cap: int | None = None) -> list[Path]:
    """Delete the oldest entries under `root` (all keys) until they fit in `cap` bytes.

    Args:
        root: The cache's root folder.
        cap: Bytes (default: `cap_bytes()`).

    Returns:
        The entries deleted.
    """
    cap = cap_bytes() if cap is None else cap
    entries = []
    for entry in root.glob("*/*.pb"):
        try:
            stat = entry.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, entry))
    total = sum(size for _, size, _ in entries)
    removed = []
    for _, size, entry in sorted(entries, key=lambda e: (e[0], str(e[2]))):
        if total <= cap:
            break
        entry.unlink(missing_ok=True)
        entry.with_name(entry.name + SIDE).unlink(missing_ok=True)
        total -= size
        removed.append(entry)
    for key_folder in root.iterdir() if root.is_dir() else ():
        if key_folder.is_dir() and key_folder != _state["folder"]:
            try:
                key_folder.rmdir()  # only if empty
            except OSError:
                pass
    return removed
