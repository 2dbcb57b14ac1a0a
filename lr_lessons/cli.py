"""The `lr-lessons` command: `lr-lessons figures` regenerates every figure.

The chapters are the single source of every figure, so the command runs
`chapters/NN_*.py` (in this process, so TensorFlow is imported once) cell by cell
(`lr_lessons.cells`), passing seeds, quick mode, retraining and engine through the
environment variables that `lr_lessons.config` reads. What each code cell prints is shown
on the terminal and recorded in `figures/NN_topic/outputs.json`, which the docs site shows
under each cell. Studies whose saved results are current are re-plotted from disk without
training (`--retrain` trains them all again); after each chapter the command says which
studies were read from the cache and which were trained, and which cells took longest.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from lr_lessons.checks import InputError
from lr_lessons.config import MAX_SEEDS

CHAPTER_PATTERN = re.compile(r"^(\d\d)_[a-z0-9_]+\.py$")


def find_chapters(root: Path) -> list[Path]:
    """The chapter scripts `chapters/NN_topic.py` below `root`, in order."""
    folder = root / "chapters"
    if not folder.is_dir():
        raise InputError(
            f"no chapters/ folder in {root}: run `lr-lessons figures` from the lr_lessons "
            "checkout (the folder holding chapters/ and pyproject.toml)"
        )
    return sorted(p for p in folder.iterdir() if CHAPTER_PATTERN.match(p.name))


def _words(chapter: Path) -> tuple[str, list[str]]:
    topic = chapter.stem[3:]
    return topic, topic.split("_")


def match_chapters(chapters: list[Path], wanted: Sequence[str]) -> dict[str, list[Path]]:
    """Which chapters each wanted item picks.

    A number (`3`, `03`) picks the chapter of exactly that number; a name picks the
    chapters whose topic starts with it (`sched`, `learning_rate`) or has it as a
    whole word (`rate`, `test`). Anything matching nothing raises
    `InputError` listing the chapters.

    Args:
        chapters: The chapter scripts (from `find_chapters`).
        wanted: Numbers or names, as given to `--chapters`.

    Returns:
        For each wanted item, the chapters it picks.
    """
    out: dict[str, list[Path]] = {}
    for raw in wanted:
        w = raw.strip().lower().replace("-", "_")
        if re.fullmatch(r"[0-9]{1,3}", w):
            hits = [c for c in chapters if int(c.name[:2]) == int(w)]
        elif re.fullmatch(r"[a-z0-9_]+", w) and not w.strip("_").isdigit():
            hits = []
            for c in chapters:
                topic, words = _words(c)
                if c.stem == w or topic.startswith(w) or w in words:
                    hits.append(c)
        else:
            hits = []
        if not hits:
            names = ", ".join(c.stem for c in chapters)
            raise InputError(
                f"--chapters {raw!r} matches no chapter: give a chapter number, or the start or "
                f"a whole word of a name; the chapters are {names}"
            )
        out[raw] = hits
    return out


def select_chapters(chapters: list[Path], wanted: Sequence[str] | None) -> list[Path]:
    """Chapters picked by number (`3`, `03`) or by name (see `match_chapters`)."""
    if not wanted:
        return chapters
    picked = {c for hits in match_chapters(chapters, wanted).values() for c in hits}
    return sorted(picked)


SLOWEST_CELLS = 3


def _free_memory() -> None:
    """Release what a finished chapter held: Keras' global state (models, layer names,
    compiled functions) and the chapter's namespace, so that chapters run one after the
    other need no more memory than the largest of them."""
    import gc

    import keras

    keras.backend.clear_session()
    gc.collect()


def run_chapter(path: Path, figures_dir: Path | None = None) -> float:
    """Run one chapter cell by cell and record each cell's output; returns its wall time.

    The chapter runs with matplotlib's Agg backend; the working folder is restored and
    every figure closed afterwards, even when a cell fails. Only a chapter that ran to
    the end has its `outputs.json` written (see `lr_lessons.cells.save_outputs`).

    Args:
        path: The chapter script.
        figures_dir: Where `NN_topic/outputs.json` goes (default: `config.figures_dir`).

    Returns:
        The chapter's wall time in seconds.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lr_lessons import cells, config

    figures_dir = config.figures_dir() if figures_dir is None else Path(figures_dir)
    start = time.perf_counter()
    cwd = os.getcwd()
    try:
        records = cells.run_cells(path, figures_dir)
    finally:
        os.chdir(cwd)
        plt.close("all")
        _free_memory()
    seconds = time.perf_counter() - start
    cells.save_outputs(figures_dir, path.stem, records)
    slowest = sorted(records, key=lambda r: -r.seconds)[:SLOWEST_CELLS]
    print(
        f"{path.stem}: slowest cells: "
        + ", ".join(f"cell {r.index} {r.seconds:.1f} s" for r in slowest),
        flush=True,
    )
    return seconds


def _report(events: list[dict], root: Path) -> list[str]:
    """One line per study a chapter ran: read from cache, or trained (and where saved)."""
    lines = []
    for e in events:
        path = e["path"]
        if path is not None:
            path = Path(path)
            path = path.relative_to(root) if path.is_relative_to(root) else path
        if e["how"] == "read from cache":
            lines.append(f"  {e['study']}: read from cache ({path})")
        elif e["how"] == "trained":
            lines.append(f"  {e['study']}: trained in {e['seconds']:.1f} s, saved to {path}")
        else:
            lines.append(f"  {e['study']}: trained in {e['seconds']:.1f} s, not saved")
    return lines or ["  (no cached studies)"]


def _apply_switches(args: argparse.Namespace) -> None:
    if args.seeds is not None:
        from lr_lessons.config import parse_seed_count

        os.environ["LR_LESSONS_SEEDS"] = str(parse_seed_count(args.seeds, "--seeds"))
    if args.quick:
        os.environ["LR_LESSONS_QUICK"] = "1"
    if args.retrain:
        os.environ["LR_LESSONS_RETRAIN"] = "1"
    if args.engine:
        os.environ["LR_LESSONS_ENGINE"] = args.engine
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def figures(args: argparse.Namespace) -> int:
    """Regenerate the figures of the chosen chapters.

    Args:
        args: The parsed command line (`seeds`, `chapters`, `quick`, `retrain`,
            `engine`, `list`).

    Returns:
        The exit status (0).
    """
    _apply_switches(args)
    from lr_lessons import config

    switches = config.validate()
    root = config.project_root()
    all_chapters = find_chapters(root)
    chapters = select_chapters(all_chapters, args.chapters)
    if args.chapters:
        for raw, hits in match_chapters(all_chapters, args.chapters).items():
            print(f"--chapters {raw}: {', '.join(c.stem for c in hits)}")
    if args.list:
        for c in chapters:
            print(c.relative_to(root))
        return 0
    mode = "quick" if switches["quick"] else "full size"
    reuse = "retraining every study" if switches["retrain"] else "reusing current results"
    print(
        f"lr-lessons figures: {len(chapters)} chapter(s), {switches['seeds']} seeds, {mode}, "
        f"engine {switches['engine']}, {reuse}, writing to {config.output_root()}"
    )
    from lr_lessons.files import remove_stale_temporaries
    from lr_lessons.lab import runner

    for folder in (config.results_dir(), config.figures_dir()):
        remove_stale_temporaries(folder)
    times = {}
    for chapter in chapters:
        print(f"\n== {chapter.stem} ==", flush=True)
        first = len(runner.EVENTS)
        try:
            times[chapter.stem] = run_chapter(chapter)
        except (InputError, OSError) as err:
            if isinstance(err, OSError) and not isinstance(err, runner.OutputNotWritable):
                raise
            raise InputError(f"chapter {chapter.stem}: {err}") from None
        print(f"{chapter.stem}: {times[chapter.stem]:.1f} s; studies:", flush=True)
        print("\n".join(_report(runner.EVENTS[first:], config.output_root())), flush=True)
    print("\nwall time per chapter:")
    for name, seconds in times.items():
        print(f"  {name:<28} {seconds:8.1f} s")
    print(f"  {'total':<28} {sum(times.values()):8.1f} s")
    trained = [e for e in runner.EVENTS if e["how"] != "read from cache"]
    print(
        f"training: {len(trained)} studies trained in {sum(e['seconds'] for e in trained):.1f} s;"
        f" peak memory {peak_memory_gb():.2f} GB (max resident set size)"
    )
    return 0


def peak_memory_gb() -> float:
    """This process's peak resident memory so far, in GB (`getrusage`'s max RSS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024) / 1e9  # bytes on macOS, else KiB


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lr-lessons` console script.

    Bad input (a flag, an environment switch, a data file) ends the command with a
    one-line `lr-lessons: error: ...` message and exit status 2, before any training.

    Args:
        argv: The arguments (default: `sys.argv[1:]`).

    Returns:
        The exit status.
    """
    parser = argparse.ArgumentParser(prog="lr-lessons", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="regenerate the figures by running the chapters")
    fig.add_argument(
        "--seeds", metavar="N", help=f"seeds per study, 1 to {MAX_SEEDS} (default 5; quick: 2)"
    )
    fig.add_argument(
        "--chapters",
        nargs="+",
        metavar="CH",
        help="chapter numbers, or the start or a whole word of their names (default: all)",
    )
    fig.add_argument("--quick", action="store_true", help="few epochs, outputs in build/quick/")
    fig.add_argument(
        "--retrain",
        action="store_true",
        help="train every study again instead of reading saved results, saving over them",
    )
    fig.add_argument("--engine", choices=["stacked", "fit"], help="training engine")
    fig.add_argument("--list", action="store_true", help="list the chosen chapters and stop")
    args = parser.parse_args(argv)
    try:
        return figures(args)
    except InputError as err:
        print(f"lr-lessons: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
