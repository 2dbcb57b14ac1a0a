"""Claims tables: what the original reported, what our runs measured, and a verdict.

Every chapter writes its table the same way:

    test_acc = per_setting(results, "val_accuracy")  # {setting: (seeds, epochs)}
    acc = final(test_acc["lr=0.1"])  # per seed: mean of the last 10 epochs
    passes = acc >= 0.75  # the original's threshold, per seed
    table = ClaimsTable(note=numbers_note(results))
    table.add("0.1 performs well.", f"{summary(acc)}; {seeds_passing(passes)}",
              seed_verdict(passes))

Definitions, stated once here and used by every chapter:

- **final** (`final`): the mean of a run's last `FINAL_EPOCHS` (10) epochs;
  a run shorter than 100 epochs uses its last tenth (at least one epoch).
- **numbers** (`summary`): `mean [min, max]` over seeds. Seeds that never got
  there (NaN) and diverged seeds (`diverged`) are named apart, never averaged in.
- **verdicts** are decided per seed, at the threshold the original stated
  (`seed_verdict`): `confirmed` if the claim holds for every seed,
  `not reproduced` if it holds for none, and `within noise` if the seeds disagree,
  i.e. the threshold lies inside the seeds' spread, so another set of seeds could tip
  it either way. `partly` means only part of a composite claim holds (or it holds
  only under a looser reading than the original's); `superseded` marks advice that
  a tool of this library makes unnecessary (the row says why); `measured` marks a
  reference row that the original did not claim.
- **diverged** (`diverged`): a run whose loss became non-finite, or whose final
  loss is above its first epoch's loss (training made it worse).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lr_lessons.files import write_text
from lr_lessons.lab.measures import (  # noqa: F401  (re-exported: chapters read them here)
    FINAL_DEFINITION,
    FINAL_EPOCHS,
    diverged,
    epochs_to_reach,
    final,
    final_epochs,
    first_drop,
    first_epoch_below,
    median_epochs,
    never_is_last,
    rate_drops,
    volatility,
)

CONFIRMED, PARTLY, NOT_REPRODUCED = "confirmed", "partly", "not reproduced"
WITHIN_NOISE, SUPERSEDED = "within noise", "superseded"
MEASURED = "measured"  # a reference row: no claim of the original, no verdict
VERDICTS = (CONFIRMED, PARTLY, WITHIN_NOISE, NOT_REPRODUCED, SUPERSEDED, MEASURED)

SEED_DEPENDENT = "depends on the seed: another set of five seeds gives another verdict"


def per_setting(
    results: Any,
    metric: str,
    measure: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """One metric of every setting of a study, keyed by the setting's name.

    Args:
        results: A `Results` (from `run_study`).
        metric: A metric it recorded, e.g. `"val_accuracy"` or `"learning_rate"`.
        measure: Optional function applied to each setting's runs, e.g. `final` or
            `rate_drops`, to get one number per seed instead of whole curves.

    Returns:
        `{setting: runs}` in the study's order: arrays of shape `(seeds, epochs)`, or
        whatever `measure` returns for them (usually shape `(seeds,)`).
    """
    runs = {s: results.get(metric, s) for s in results.settings}
    if measure is None:
        return runs
    return {s: measure(r) for s, r in runs.items()}


def every(*per_seed: np.ndarray) -> np.ndarray:
    """Per seed: do all of several per-seed conditions hold?

    Args:
        *per_seed: Boolean arrays of shape `(seeds,)`, one per condition.

    Returns:
        Boolean array of shape `(seeds,)`.
    """
    if not per_seed:
        raise ValueError("every needs at least one per-seed condition")
    return np.logical_and.reduce([np.asarray(p, dtype=bool) for p in per_seed])


def reads_as(value: float, quoted: str) -> bool:
    """Does `value`, rounded or truncated to the digits of `quoted`, read `quoted`?

    The originals quote numbers to one or two significant digits, sometimes rounded and
    sometimes cut off; this accepts either, and nothing looser.

    Args:
        value: Our number, e.g. `0.00758`.
        quoted: The original's figure as written, e.g. `"0.0075"` or `"3.1e-5"`.

    Returns:
        True if rounding or truncating `value` to the significant digits of `quoted`
        gives `quoted`.
    """
    q = float(quoted)
    mantissa = quoted.lower().split("e")[0]
    digits = len(mantissa.replace(".", "").replace("-", "").lstrip("0"))
    unit = 10.0 ** (np.floor(np.log10(abs(q))) - digits + 1)
    return any(np.isclose(f(value / unit) * unit, q) for f in (np.round, np.floor))


def summary(
    values: Sequence[float] | np.ndarray,
    fmt: str = ".3f",
    diverged: Sequence[bool] | np.ndarray | None = None,  # noqa: F811 (the flags)
) -> str:
    """`mean [min, max]` over seeds, with never-reached and diverged seeds named apart.

    Args:
        values: One number per seed; NaN means "never got there".
        fmt: Format of each number.
        diverged: Optional per-seed mask (see `diverged`). Diverged seeds are left
            out of the mean and range and listed with their own values, so a blow-up is
            never hidden in an average.

    Returns:
        E.g. `"0.976 [0.975, 0.977]; 1/5 seeds diverged (0.115)"`.
    """
    v = np.asarray(values, dtype=float).reshape(-1)
    bad = np.zeros(v.size, bool) if diverged is None else np.asarray(diverged, bool).reshape(-1)
    if bad.size != v.size:
        raise ValueError(f"diverged has {bad.size} entries for {v.size} values; pass one per seed")
    kept = v[~bad]
    ok = kept[np.isfinite(kept)]
    if ok.size == 0:
        text = f"never (0/{kept.size} seeds)" if kept.size else "no seed"
    else:
        text = (
            f"{ok.mean():{fmt}}"
            if ok.size == 1
            else f"{ok.mean():{fmt}} [{ok.min():{fmt}}, {ok.max():{fmt}}]"
        )
        if ok.size < kept.size:
            text += f" ({ok.size}/{kept.size} seeds)"
    if bad.any():
        shown = ", ".join(f"{x:{fmt}}" for x in v[bad])
        text += f"; {int(bad.sum())}/{v.size} seeds diverged ({shown})"
    return text


def summaries(
    values: Mapping[str, np.ndarray],
    fmt: str = ".3f",
    names: Mapping[str, str] | None = None,
) -> str:
    """The `summary` of every entry of a dict, as one line of text.

    Args:
        values: `{setting: per-seed values}`, e.g. final accuracies.
        fmt: Format of each number.
        names: How to write each key in the text (default: the key itself).

    Returns:
        E.g. `"momentum=0: 0.802 [0.79, 0.81]; momentum=0.9: 0.823 [0.82, 0.83]"`.
    """
    names = names or {}
    return "; ".join(f"{names.get(k, k)}: {summary(v, fmt)}" for k, v in values.items())


def verdict(holds: bool, partly: bool = False) -> str:
    """The verdict of a claim checked once (not seed by seed), e.g. on exact arithmetic.

    For a claim about one measurement per seed, prefer `seed_verdict`, which says
    `within noise` when the seeds disagree.

    Args:
        holds: Does the claim hold?
        partly: When it does not: does part of it (or a looser reading) hold?

    Returns:
        `confirmed`, `partly` or `not reproduced`.
    """
    return CONFIRMED if holds else (PARTLY if partly else NOT_REPRODUCED)


def seed_verdict(passes: Sequence[bool] | np.ndarray, partly: bool = False) -> str:
    """The verdict of a claim tested seed by seed at the original's threshold.

    Args:
        passes: Per seed, does the claim hold for that seed (NaN-derived values must
            already be False).
        partly: When the claim holds for no seed: True if a looser reading or another
            part of the claim still holds (then `partly`).

    Returns:
        `confirmed` (every seed), `within noise` (some seeds but not all: the
        threshold lies within the seeds' spread) or `not reproduced` / `partly`
        (no seed).
    """
    p = np.asarray(passes, dtype=bool).reshape(-1)
    if p.size == 0:
        raise ValueError("seed_verdict needs at least one seed's result")
    if p.all():
        return CONFIRMED
    if p.any():
        return WITHIN_NOISE
    return PARTLY if partly else NOT_REPRODUCED


def combine(*verdicts: str) -> str:
    """The verdict of a claim made of several parts, each with its own verdict.

    Args:
        *verdicts: The parts' verdicts.

    Returns:
        `confirmed` if every part is; `not reproduced` if none is confirmed, partly
        or within noise; `within noise` if every part is confirmed or within noise;
        otherwise `partly`.
    """
    if not verdicts:
        raise ValueError("combine needs at least one verdict")
    if all(v == CONFIRMED for v in verdicts):
        return CONFIRMED
    if all(v == NOT_REPRODUCED for v in verdicts):
        return NOT_REPRODUCED
    if all(v in (CONFIRMED, WITHIN_NOISE) for v in verdicts):
        return WITHIN_NOISE
    return PARTLY


def seeds_passing(passes: Sequence[bool] | np.ndarray) -> str:
    """`"4/5 seeds"`: how many seeds a per-seed test passed."""
    p = np.asarray(passes, dtype=bool).reshape(-1)
    return f"{int(p.sum())}/{p.size} seeds"


def numbers_note(results: Any, extra: str = "") -> str:
    """The standard note under a table: seeds, the definition of final, data and epochs.

    Args:
        results: A `Results` (its seeds, meta and epochs).
        extra: More text appended after the standard note.

    Returns:
        One paragraph of Markdown.
    """
    text = (
        f"Numbers: mean [min, max] over seeds {results.seeds}; {FINAL_DEFINITION}; "
        f"verdicts per seed at the original's threshold (within noise: the seeds "
        f"disagree). Data: {results.meta.get('data_source', '?')}; {results.epochs} epochs."
    )
    return f"{text} {extra}".strip()


@dataclass
class Claim:
    """One row: the original's words, our numbers, and the verdict computed from them."""

    original: str
    measured: str
    verdict: str

    def __str__(self) -> str:
        """The row as plain text (for a printout): the claim, our numbers, the verdict."""
        return f"{self.original}\n    measured: {self.measured}\n    verdict: {self.verdict}"


@dataclass
class ClaimsTable:
    """Rows of claims that print as Markdown in a script and render as a table in a notebook."""

    rows: list[Claim] = field(default_factory=list)
    note: str = ""

    def add(self, original: str, measured: str, verdict: str, seed_dependent: bool = False) -> None:
        """Append a row.

        Args:
            original: What the original reported (its words, its threshold).
            measured: Our numbers (see `summary`).
            verdict: One of `VERDICTS`, optionally followed by `": reason"`.
            seed_dependent: True for a claim whose verdict a second, disjoint set of
                seeds changes (found by the slow test that re-runs the chapter on
                other seeds, which also fails if this flag is set on a row whose
                verdict does not change). Adds `SEED_DEPENDENT` to the row.
        """
        if verdict.split(":")[0] not in VERDICTS:
            raise ValueError(
                f"verdict {verdict!r} is not one of {VERDICTS} (optionally 'verdict: reason')"
            )
        if seed_dependent:
            measured = f"{measured}; {SEED_DEPENDENT}"
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
        """Write the table as Markdown to `<figures>/<name>.md` (atomically)."""
        from lr_lessons import config

        write_text(config.figures_dir() / f"{name}.md", self.markdown())

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.markdown()
