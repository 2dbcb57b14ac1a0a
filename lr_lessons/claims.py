"""Claims tables: what the original reported, what our runs measured, and a verdict.

The helpers turn per-seed arrays from :class:`~lr_lessons.results.Results` into short
numbers ("0.81 [0.79, 0.83]" = mean [min, max] over seeds); the verdict of each row is
decided by the chapter's own code from those numbers, never typed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lr_lessons.files import write_text

CONFIRMED, PARTLY, NOT_REPRODUCED = "confirmed", "partly", "not reproduced"


def epochs_to_reach(runs: np.ndarray, threshold: float) -> np.ndarray:
    """Per run (row of ``runs``, shape (seeds, epochs)): first epoch (1-based) with a value
    >= ``threshold``, or NaN if never reached."""
    runs = np.asarray(runs, dtype=float)
    hit = runs >= threshold
    first = np.argmax(hit, axis=1).astype(float) + 1
    first[~hit.any(axis=1)] = np.nan
    return first


def median_epochs(epochs: np.ndarray) -> float:
    """Median of per-seed epoch counts, counting "never reached" (NaN) as infinitely late."""
    e = np.asarray(epochs, dtype=float)
    return float(np.median(np.where(np.isnan(e), np.inf, e)))


def final(runs: np.ndarray, last: int = 1) -> np.ndarray:
    """Per run: the mean of the last ``last`` epochs' values."""
    runs = np.asarray(runs, dtype=float)
    return np.nanmean(runs[:, -last:], axis=1)


def volatility(runs: np.ndarray, start: int = 0) -> np.ndarray:
    """Per run: mean absolute change between consecutive epochs, from epoch ``start`` on."""
    runs = np.asarray(runs, dtype=float)[:, start:]
    return np.nanmean(np.abs(np.diff(runs, axis=1)), axis=1)


def summary(values: Sequence[float] | np.ndarray, fmt: str = ".3f") -> str:
    """``mean [min, max]`` over seeds; runs that never got there (NaN) are counted apart."""
    v = np.asarray(values, dtype=float)
    ok = v[np.isfinite(v)]
    if ok.size == 0:
        return f"never (0/{v.size} seeds)"
    text = (
        f"{ok.mean():{fmt}}"
        if ok.size == 1
        else (f"{ok.mean():{fmt}} [{ok.min():{fmt}}, {ok.max():{fmt}}]")
    )
    if ok.size < v.size:
        text += f" ({ok.size}/{v.size} seeds)"
    return text


def verdict(holds: bool, partly: bool = False) -> str:
    """``confirmed`` if the claim holds, ``partly`` if part of it does, else ``not reproduced``."""
    return CONFIRMED if holds else (PARTLY if partly else NOT_REPRODUCED)


@dataclass
class Claim:
    """One row: the original's words, our numbers, and the verdict computed from them."""

    original: str
    measured: str
    verdict: str


@dataclass
class ClaimsTable:
    """Rows of claims that print as Markdown in a script and render as a table in a notebook."""

    rows: list[Claim] = field(default_factory=list)
    note: str = ""

    def add(self, original: str, measured: str, verdict: str) -> None:
        self.rows.append(Claim(original, measured, verdict))

    def markdown(self) -> str:
        lines = [
            "| what the original reported | what we measured | verdict |",
            "|---|---|---|",
        ]
        for r in self.rows:
            cells = (
                c.replace("|", "\\|").replace("\n", " ")
                for c in (r.original, r.measured, r.verdict)
            )
            lines.append("| " + " | ".join(cells) + " |")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def verdicts(self) -> list[str]:
        return [r.verdict for r in self.rows]

    def save(self, name: str) -> None:
        """Write the table as Markdown to ``<figures>/<name>.md`` (atomically)."""
        from lr_lessons import config

        write_text(config.figures_dir() / f"{name}.md", self.markdown())

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.markdown()
