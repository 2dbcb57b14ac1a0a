"""One small cache for results that are not studies (range tests, timings, searches' extras).

`lr_lessons.lab.runner.run_study` caches studies. Everything else a chapter trains or
measures goes through `cached` (or `cached_result`, which names the file for you:
`cached_result("07_schedules/range_test_blobs", settings, compute, load)`): the result
is saved next to the studies' results, stamped with a key over everything that shapes
it (the caller's settings, quick mode, the library's training code and the package
versions), and read back instead of recomputed while the key matches. A stale key or
an unreadable file is recomputed; writes are atomic (`lr_lessons.files.atomic_path`),
so an interrupted run never leaves a half-written file.

A cached object needs a `meta` dict, a `save(path)` method and a loader
(`load(path)`): `RangeTestResult`, `RangeTestRepeats` (from
`lr_lessons.tools.range_test`) and `Record` (plain JSON values, e.g. timings) all
qualify.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar

from lr_lessons import config
from lr_lessons.files import write_text

__all__ = ["Record", "cache_key", "cached", "cached_result", "result_path"]


class Cacheable(Protocol):
    meta: dict[str, Any]

    def save(self, path: str | os.PathLike) -> Any: ...


T = TypeVar("T", bound=Cacheable)


def cache_key(settings: Mapping[str, Any]) -> str:
    """The key of a result made with `settings` by the current code, versions and mode.

    Args:
        settings: JSON-serialisable description of what is computed (sizes, rates,
            seeds, the data's source...).

    Returns:
        A 20-character hex digest.
    """
    from lr_lessons.lab.runner import code_fingerprint, versions

    payload = {
        "settings": dict(settings),
        "quick": config.quick(),
        # Range tests and the chapters' other computations train with the range-test code
        # and with plain model.fit.
        "code": code_fingerprint("range_test") + code_fingerprint("fit"),
        "versions": versions(),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def cached(
    path: str | os.PathLike,
    settings: Mapping[str, Any],
    compute: Callable[[], T],
    load: Callable[[Path], T],
    *,
    cache: bool = True,
) -> T:
    """Read the result saved at `path` if its key matches `settings`; else compute it.

    Args:
        path: Where the result lives (e.g. `config.results_dir() / "07_schedules" /
            "range_test_blobs.npz"`).
        settings: What the result depends on besides the code, versions and quick mode.
        compute: Makes the result (called only on a miss).
        load: Reads a saved result (e.g. `RangeTestRepeats.load`); any exception it
            raises counts as a corrupt file, which is recomputed.
        cache: False recomputes and overwrites whatever is saved (a retrain).

    Returns:
        The result, its `meta` holding `key`, `settings`, `wall_time_s`,
        `created` and `cache` ("read" when it came from disk, "computed" otherwise;
        the saved file never says "read").
    """
    if not callable(compute) or not callable(load):
        raise ValueError("compute and load must be callables: compute() -> result, load(path)")
    path = Path(path)
    key = cache_key(settings)
    from lr_lessons.lab.runner import record, versions

    if cache and not config.retrain() and path.exists():  # LR_LESSONS_RETRAIN: compute again
        try:
            saved = load(path)
        except Exception as err:  # unreadable: compute again
            warnings.warn(f"cannot read {path} ({err}); computing it again", stacklevel=2)
        else:
            if saved.meta.get("key") == key:
                saved.meta["cache"] = "read"
                record(path.stem, "read from cache", path)
                return saved

    start = time.perf_counter()
    result = compute()
    result.meta.update(
        key=key,
        versions=versions(),
        settings=dict(settings),
        quick=config.quick(),
        wall_time_s=round(time.perf_counter() - start, 2),
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    result.meta.pop("cache", None)
    result.save(path)
    result.meta["cache"] = "computed"
    record(path.stem, "trained", path, result.meta["wall_time_s"])
    return result


def result_path(name: str, suffix: str = ".npz") -> Path:
    """Where a result named `name` lives: `<results>/<name><suffix>`.

    Args:
        name: A slash-separated name below the results folder, e.g.
            `"06_range_test/variant1_sgd"`.
        suffix: The file's extension.

    Returns:
        The path below `lr_lessons.config.results_dir`.
    """
    if not isinstance(name, str) or not name.strip() or name.startswith(("/", "\\")):
        raise ValueError(
            f"name must be a relative name like '06_range_test/variant1_sgd', got {name!r}"
        )
    return config.results_dir() / f"{name}{suffix}"


def cached_result(
    name: str,
    settings: Mapping[str, Any],
    compute: Callable[[], T],
    load: Callable[[Path], T],
    *,
    cache: bool = True,
) -> T:
    """`cached` for a result named `name` in the results folder.

    The name a chapter gives its result (`"07_schedules/range_test_blobs"`) is all it
    needs: the file is `result_path` of it, the key covers `settings`, the code,
    the versions and quick mode.

    Args:
        name: The result's name below the results folder (no extension).
        settings: What the result depends on besides the code, versions and quick mode.
        compute: Makes the result (called only on a miss).
        load: Reads a saved result (e.g. `RangeTestRepeats.load`).
        cache: False recomputes and overwrites whatever is saved.

    Returns:
        The result, as `cached` returns it.
    """
    return cached(result_path(name), settings, compute, load, cache=cache)


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
