"""The ``lr-lessons`` command: ``lr-lessons figures`` regenerates every figure.

The chapters are the single source of every figure, so the command simply runs
``chapters/NN_*.py`` as scripts (in this process, so TensorFlow is imported once),
passing seeds, quick mode and engine through the environment variables that
:mod:`lr_lessons.config` reads. Studies whose saved results are current are re-plotted
from disk without training.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
import time
from collections.abc import Sequence
from pathlib import Path

CHAPTER_PATTERN = re.compile(r"^(\d\d)_[a-z0-9_]+\.py$")


def find_chapters(root: Path) -> list[Path]:
    """The chapter scripts ``chapters/NN_topic.py`` below ``root``, in order."""
    folder = root / "chapters"
    if not folder.is_dir():
        raise SystemExit(
            f"no chapters/ folder in {root}: run `lr-lessons figures` from the lr_lessons "
            "checkout (the folder holding chapters/ and pyproject.toml)"
        )
    return sorted(p for p in folder.iterdir() if CHAPTER_PATTERN.match(p.name))


def select_chapters(chapters: list[Path], wanted: Sequence[str] | None) -> list[Path]:
    """Chapters picked by number (``3``, ``03``) or by a part of the name (``momentum``)."""
    if not wanted:
        return chapters
    picked = []
    for w in wanted:
        hits = [
            c
            for c in chapters
            if (w.isdigit() and int(c.name[:2]) == int(w)) or (not w.isdigit() and w in c.stem)
        ]
        if not hits:
            names = ", ".join(c.stem for c in chapters)
            raise SystemExit(f"no chapter matches {w!r}; the chapters are: {names}")
        picked += [h for h in hits if h not in picked]
    return sorted(picked)


def run_chapter(path: Path) -> float:
    """Run one chapter script top to bottom; returns its wall time in seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = time.perf_counter()
    cwd = os.getcwd()
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        os.chdir(cwd)
        plt.close("all")
    return time.perf_counter() - start


def figures(args: argparse.Namespace) -> int:
    """Regenerate the figures of the chosen chapters."""
    if args.seeds is not None:
        if args.seeds < 1:
            raise SystemExit(f"--seeds must be at least 1, got {args.seeds}")
        os.environ["LR_LESSONS_SEEDS"] = str(args.seeds)
    if args.quick:
        os.environ["LR_LESSONS_QUICK"] = "1"
    if args.engine:
        os.environ["LR_LESSONS_ENGINE"] = args.engine
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from lr_lessons import config

    root = config.project_root()
    chapters = select_chapters(find_chapters(root), args.chapters)
    if args.list:
        for c in chapters:
            print(c.relative_to(root))
        return 0
    mode = "quick" if config.quick() else "full size"
    print(
        f"lr-lessons figures: {len(chapters)} chapter(s), {config.n_seeds()} seeds, {mode}, "
        f"engine {config.engine()}, writing to {config.figures_dir()}"
    )
    times = {}
    for chapter in chapters:
        print(f"\n== {chapter.stem} ==", flush=True)
        times[chapter.stem] = run_chapter(chapter)
        print(f"{chapter.stem}: {times[chapter.stem]:.1f} s", flush=True)
    print("\nwall time per chapter:")
    for name, seconds in times.items():
        print(f"  {name:<28} {seconds:8.1f} s")
    print(f"  {'total':<28} {sum(times.values()):8.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lr-lessons`` console script."""
    parser = argparse.ArgumentParser(prog="lr-lessons", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fig = sub.add_parser("figures", help="regenerate the figures by running the chapters")
    fig.add_argument("--seeds", type=int, help="seeds per study (default 5; quick: 2)")
    fig.add_argument(
        "--chapters", nargs="+", metavar="CH", help="chapter numbers or name parts (default: all)"
    )
    fig.add_argument("--quick", action="store_true", help="few epochs, outputs in build/quick/")
    fig.add_argument("--engine", choices=["stacked", "fit"], help="training engine")
    fig.add_argument("--list", action="store_true", help="list the chosen chapters and stop")
    args = parser.parse_args(argv)
    return figures(args)


if __name__ == "__main__":
    sys.exit(main())
