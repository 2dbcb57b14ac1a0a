"""Claims tables: what the original reported, what our runs measured, and a verdict.

Every chapter's table is built by one module, `lr_lessons.views.<topic>_claims`, whose
`table(...)` returns a `ClaimsTable`; the chapter calls it once, in a cell tagged
`ledger`. A row is written the same way everywhere:

    test_acc = per_setting(results, "val_accuracy")  # {setting: (seeds, epochs)}
    acc = final(test_acc["lr=0.1"])  # per seed: mean of the last 10 epochs
    passes = acc >= 0.75  # the original's threshold, per seed
    table = ClaimsTable(note=numbers_note(results))
    table.add("0.1 performs well.", summary(acc), decide(passes))

Definitions, stated once here and used by every chapter:

- **final** (`final`): the mean of a run's last `FINAL_EPOCHS` (10) epochs;
  a run shorter than 100 epochs uses its last tenth (at least one epoch).
- **numbers** (`summary`): `mean [min, max]` over seeds. Seeds that never got
  there (NaN) and diverged seeds (`diverged`) are named apart, never averaged in.
- **verdicts** (`lr_lessons.views.verdicts`, the one policy): a claim is tested per
  seed at the threshold the original stated, `k` of `n` seeds pass, and the word is
  read off the 95% Wilson interval of the pass rate with thresholds fixed before any
  data (`verdicts.decide`). Every verdict shows its `k/n` and interval; a composite
  claim shows each part (`verdicts.composite`); `measured` marks a reference row the
  original did not claim, `superseded` advice a tool of this library makes
  unnecessary, and `verdicts.checked` a claim about a formula (no seeds).
- **epochs to a level** (`epochs_to_sustain`): the first epoch whose 5-epoch
  trailing mean reaches it; **floor epoch** (`floor_epoch`): the first epoch whose
  rate is below 1E-6.
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
    RATE_FLOOR,
    SUSTAIN_DEFINITION,
    SUSTAIN_EPOCHS,
    diverged,
    epochs_to_reach,
    epochs_to_sustain,
    final,
    final_epochs,
    first_drop,
    first_epoch_below,
    floor_epoch,
    median_epochs,
    never_is_last,
    rate_drops,
    volatility,
)
from lr_lessons.views.verdicts import (  # noqa: F401  (re-exported)
    Verdict,
    checked,
    composite,
    decide,
    measured,
    superseded,
)


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


def seeds_passing(passes: Sequence[bool] | np.ndarray) -> str:
    """`"4/5 seeds"`: how many seeds a per-seed test passed."""
    p = np.asarray(passes, dtype=bool).reshape(-1)
    return f"{int(p.sum())}/{p.size} seeds"


def seed_range(seeds: Sequence[int]) -> str:
    """`"30 seeds (0-29)"`, or the seeds listed when they are not consecutive."""
    seeds = [int(x) for x in seeds]
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]})"
    return f"{len(seeds)} seed{'s' if len(seeds) != 1 else ''} ({', '.join(map(str, seeds))})"


VERDICT_NOTE = (
    "Verdicts: each claim tested per seed at the original's threshold; k/n seeds pass, "
    "[low, high] is the 95% Wilson interval of the pass rate, and the word comes from "
    'fixed thresholds on that interval (see "How the verdicts are decided").'
)


def numbers_note(results: Any, extra: str = "") -> str:
    """The standard note under a table: seeds, the definitions, the verdicts, the data.

    Args:
        results: A `Results` (its seeds, meta and epochs).
        extra: More text appended after the standard note.

    Returns:
        One paragraph of Markdown.
    """
    text = (
        f"Numbers: mean [min, max] over {seed_range(results.seeds)}; {FINAL_DEFINITION}; "
        f"{SUSTAIN_DEFINITION}. {VERDICT_NOTE} Data: "
        f"{results.meta.get('data_source', '?')}; {results.epochs} epochs."
    )
    return f"{text} {extra}".strip()


@dataclass
class Claim:
    """One row: the original's words, our numbers, and the verdict computed from them.

    Attributes:
        original: What the original reported (its words, its threshold).
        measured: Our numbers (see `summary`).
        verdict: The `Verdict` (`lr_lessons.views.verdicts`).
        also: The verdict of a second column, for a table that judges every claim in
            two regimes (chapter 4: a new batch order every epoch, and one repeated).
    """

    original: str
    measured: str
    verdict: Verdict
    also: Verdict | None = None

    def __post_init__(self) -> None:
        for name in ("verdict", "also"):
            v = getattr(self, name)
            if not (isinstance(v, Verdict) or (name == "also" and v is None)):
                raise TypeError(
                    f"{name}={v!r} for claim {self.original!r}: pass a verdicts.Verdict "
                    "(from verdicts.decide, composite, checked, measured or superseded)"
                )

    def __str__(self) -> str:
        """The row as plain text (for a printout): the claim, our numbers, the verdict."""
        text = f"{self.original}\n    measured: {self.measured}\n    verdict: {self.verdict}"
        return text if self.also is None else f"{text}\n    also: {self.also}"


@dataclass
class ClaimsTable:
    """Rows of claims that print as Markdown in a script and render as a table in a notebook.

    Attributes:
        rows: The claims.
        note: The paragraph under the table (see `numbers_note`).
        columns: The verdict columns' headings: one (`"verdict"`), or two for a table
            that judges every claim in two regimes (each row then has `also`).
    """

    rows: list[Claim] = field(default_factory=list)
    note: str = ""
    columns: tuple[str, ...] = ("verdict",)

    def __post_init__(self) -> None:
        if len(self.columns) not in (1, 2):
            raise ValueError(f"columns={self.columns!r}: give one or two verdict headings")
        rows, self.rows = list(self.rows), []
        for row in rows:
            self.append(row)

    def add(
        self, original: str, measured: str, verdict: Verdict, also: Verdict | None = None
    ) -> None:
        """Append a row.

        Args:
            original: What the original reported (its words, its threshold).
            measured: Our numbers (see `summary`).
            verdict: Its `Verdict` (from `verdicts.decide`, `composite`, `checked`,
                `measured` or `superseded`).
            also: The second column's verdict, for a two-column table.
        """
        self.append(Claim(original, measured, verdict, also))

    def append(self, claim: Claim) -> None:
        """Append a row made elsewhere (a `<topic>_claims` module's function)."""
        if not isinstance(claim, Claim):
            raise TypeError(f"append takes a Claim, got {type(claim).__name__}")
        if (claim.also is not None) != (len(self.columns) == 2):
            raise ValueError(
                f"claim {claim.original!r}: this table has {len(self.columns)} verdict "
                f"column(s) {self.columns}; give the row {len(self.columns)} verdict(s)"
            )
        self.rows.append(claim)

    def markdown(self) -> str:
        """The table as Markdown, with the note under it."""
        heads = " | ".join(self.columns)
        lines = [
            f"| what the original reported | what we measured | {heads} |",
            "|---|---|" + "---|" * len(self.columns),
        ]
        for r in self.rows:
            verdicts = (r.verdict,) if r.also is None else (r.verdict, r.also)
            cells = (
                str(c).replace("|", "\\|").replace("\n", " ")
                for c in (r.original, r.measured, *verdicts)
            )
            lines.append("| " + " | ".join(cells) + " |")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def verdicts(self) -> list[Verdict]:
        """Every row's (first) verdict, in order."""
        return [r.verdict for r in self.rows]

    def save(self, name: str) -> None:
        """Write the table as Markdown to `<figures>/<name>.md` (atomically)."""
        from lr_lessons import config

        write_text(config.figures_dir() / f"{name}.md", self.markdown())

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.markdown()


def final_accuracy(results: Any, original: str = "(For reference.) Final test accuracy.") -> Claim:
    """A reference row (a `measured` verdict, not a claim): every setting's final test accuracy.

    Args:
        results: A `Results` that recorded `val_accuracy`.
        original: The row's first cell.

    Returns:
        The row.
    """
    return Claim(original, summaries(per_setting(results, "val_accuracy", final)), measured())


def study_table(
    results: Any, rows: Sequence[Callable[[Any], Claim]], extra: str = ""
) -> ClaimsTable:
    """A table whose every row is a function of one study's results, under `numbers_note`.

    Args:
        results: A `Results`.
        rows: Functions `results -> Claim`, one per row, in the table's order.
        extra: More text for the note (see `numbers_note`).

    Returns:
        The table.
    """
    return ClaimsTable([row(results) for row in rows], note=numbers_note(results, extra))
