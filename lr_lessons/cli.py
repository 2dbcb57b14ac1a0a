"""The `lr-lessons` command: `lr-lessons figures` regenerates every figure.

The chapters are the single source of every figure, so the command runs `chapters/NN_*.py`
cell by cell (`lr_lessons.cells`), passing seeds, quick mode, retraining and engine
through the environment variables that `lr_lessons.config` reads. The chapters run in a
child process, and a chapter that trained anything is followed by a fresh one, so that
what training leaves in memory never adds to the next chapter's peak (see
`ChapterProcess`). What each code cell prints is shown on the terminal and recorded in
`figures/NN_topic/outputs.json`, which the docs site shows under each cell. Studies whose
saved results are current are re-plotted from disk without training (`--retrain` trains
them all again); after each chapter the command says which studies were read from the
cache and which were trained, which cells took longest and how much memory its process
used; the last line gives the peak over all processes.

Before any work the results and figures folders are checked to be writable. SIGTERM and
SIGINT (Ctrl-C) reach the chapter's process: it stops at once, keeps every result and
figure it finished (each written atomically, so nothing is half-made) and writes no
`outputs.json`; the command then ends with a one-line message and exit status
128 + the signal's number.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
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

    if "keras" in sys.modules:  # a chapter without Keras does not import it here
        sys.modules["keras"].backend.clear_session()
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


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
STOP_GRACE_S = 10.0  # how long a chapter's process may take to stop after the signal


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGTERM or SIGINT) arrived; `signum` says which."""

    def __init__(self, signum: int, chapter: str | None = None) -> None:
        super().__init__(signum)
        self.signum = signum
        self.chapter = chapter

    def __str__(self) -> str:
        where = f" during chapter {self.chapter}" if self.chapter else ""
        return (
            f"stopped by {signal.Signals(self.signum).name}{where}: the results and figures "
            "finished before it are kept, nothing half-written"
        )


def _stop_on_signals() -> None:
    """In a chapter's process: the first SIGTERM or SIGINT raises `Stopped` (so every
    `finally` runs and atomic writes remove their temporaries); later ones are ignored."""

    def stop(signum: int, frame: object) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        raise Stopped(signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)


_LIBRARY_DIR = Path(__file__).resolve().parent


def raised_by_library(err: BaseException) -> bool:
    """True if `err` was raised by lr_lessons' own code (not by a chapter or by Keras).

    Args:
        err: The exception.

    Returns:
        Whether the innermost frame of its traceback lies in the `lr_lessons` package.
    """
    tb = err.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    try:
        return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_LIBRARY_DIR)
    except (OSError, ValueError):
        return False


class ChapterFailed(RuntimeError):
    """A chapter's process ended with an error other than bad input (its traceback is
    printed above)."""


_WORKER_CODE = "import sys; from lr_lessons.cli import _worker; sys.exit(_worker(int(sys.argv[1])))"


def _worker(result_fd: int) -> int:
    """Run the chapters named on standard input, one a line, in this (child) process.

    After each chapter one JSON line goes to `result_fd`: the studies it read or
    trained (`events`), this process's resident memory at the chapter's end (`now_gb`)
    and at its peak so far (`peak_gb`), or the one-line message of bad input (an
    `InputError`, or a `ValueError` raised by the library's own checks) (`error`), or
    the stop signal that ended it (`stopped`); after either the worker stops. Any other
    error ends the process with its traceback.

    Args:
        result_fd: The file descriptor the results are written to.

    Returns:
        The exit status: 0 when standard input ends, 2 after bad input, 128 + the
        signal's number after a stop signal.
    """
    _stop_on_signals()
    with os.fdopen(result_fd, "w", encoding="utf-8") as results:
        try:
            return _work(results)
        except Stopped as stop:  # between chapters
            _tell(results, {"stopped": stop.signum})
            return 128 + stop.signum


def _work(results: object) -> int:
    """The loop of `_worker`: one chapter per line of standard input."""
    for line in sys.stdin:
        chapter = Path(line.rstrip("\n"))
        store = sys.modules.get("lr_lessons.lab.cache")  # imported by a chapter
        first = 0 if store is None else len(store.EVENTS)
        try:
            run_chapter(chapter)
        except Stopped as stop:
            _tell(results, {"stopped": stop.signum})
            return 128 + stop.signum
        except (ValueError, OSError) as err:
            bad_input = isinstance(err, InputError) or (
                isinstance(err, ValueError) and raised_by_library(err)
            )
            if not bad_input:
                raise
            _tell(results, {"error": str(err)})
            return 2
        store = sys.modules.get("lr_lessons.lab.cache")
        done = [] if store is None else store.EVENTS[first:]
        events = [{**e, "path": None if e["path"] is None else str(e["path"])} for e in done]
        now, peak = memory_gb()
        _tell(results, {"events": events, "now_gb": now, "peak_gb": peak})
    return 0


def _tell(results: object, message: dict) -> None:
    """Send one JSON line to the command (gone already after a signal: nothing to tell)."""
    try:
        results.write(json.dumps(message) + "\n")
        results.flush()
    except (BrokenPipeError, ValueError):
        pass


class ChapterProcess:
    """A fresh Python process that runs chapters (`run_chapter`) one after the other.

    `lr-lessons figures` runs a chapter in a new process whenever the chapter before it
    trained anything, so that what training leaves in memory (TensorFlow's caches, the
    allocator's free lists) never adds to the next chapter's peak; chapters that only
    re-plot saved results share one process and import TensorFlow once. The process
    inherits the environment (the switches `figures` set) and the terminal: what the
    cells print appears as they run.

    Attributes:
        number: Which process of the command this is (from 1).
    """

    def __init__(self, number: int) -> None:
        import lr_lessons

        self.number = number
        package_parent = str(Path(lr_lessons.__file__).resolve().parents[1])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        read, write = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _WORKER_CODE, str(write)],
                stdin=subprocess.PIPE,
                env=env,
                pass_fds=(write,),
                text=True,
            )
        finally:
            os.close(write)
        self.results = os.fdopen(read, "r", encoding="utf-8")
        self.stopped: int | None = None

    def signal(self, signum: int) -> None:
        """Pass a stop signal on to the chapter's process (which then stops, see `Stopped`)."""
        self.stopped = signum
        if self.process.poll() is None:
            try:
                self.process.send_signal(signum)
            except ProcessLookupError:
                pass
            # a chapter that does not stop (a signal lost, or a long call into compiled
            # code) is ended after a grace period; atomic writes leave nothing half-made
            timer = threading.Timer(STOP_GRACE_S, self._kill)
            timer.daemon = True
            timer.start()

    def _read_line(self) -> str:
        """The chapter's result line. Waits in short slices, so that a stop signal is
        handled (and passed on) at once, whichever thread of this process received it."""
        while True:
            ready, _, _ = select.select([self.results], [], [], 0.25)
            if ready:
                return self.results.readline()

    def _kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def run(self, chapter: Path) -> dict:
        """Run one chapter in this process and wait for it.

        Args:
            chapter: The chapter script.

        Returns:
            `{"seconds": wall time, "events": the `runner.EVENTS` of its studies,
            "now_gb", "peak_gb": the process's resident memory at the chapter's end
            (`None` where unknown) and its peak so far, in GB}`.

        Raises:
            InputError: The chapter stopped on bad input (its one-line message, prefixed
                with the chapter's name), or its results folder cannot be written.
            Stopped: A stop signal ended the chapter (see `forward_signals`).
            ChapterFailed: The chapter's process failed otherwise.
        """
        assert self.process.stdin is not None
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.perf_counter()
        try:
            self.process.stdin.write(f"{chapter}\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass  # the process has ended: reported below
        line = self._read_line()
        seconds = time.perf_counter() - start
        result = json.loads(line) if line.strip() else {}
        if "stopped" in result or (self.stopped and "events" not in result):
            self.close()
            raise Stopped(result.get("stopped", self.stopped), chapter.stem)
        if "error" in result:
            self.close()
            raise InputError(f"chapter {chapter.stem}: {result['error']}")
        if "events" not in result:
            status = self.close()
            raise ChapterFailed(
                f"chapter {chapter.stem} failed (exit status {status}); see the traceback above"
            )
        return {**result, "seconds": seconds}

    def close(self) -> int:
        """End the process (it finishes when its input ends) and return its exit status."""
        if self.process.stdin is not None and not self.process.stdin.closed:
            try:
                self.process.stdin.close()
            except BrokenPipeError:
                pass
        status = self.process.wait()
        self.results.close()
        return status


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
    blobs_seeds = config.n_seeds("blobs")
    seeds = (
        f"{blobs_seeds} seeds per blobs study, {switches['seeds']} per MNIST study"
        if blobs_seeds != switches["seeds"]
        else f"{switches['seeds']} seeds"
    )
    print(
        f"lr-lessons figures: {len(chapters)} chapter(s), {seeds}, {mode}, "
        f"engine {switches['engine']}, {reuse}, writing to {config.output_root()}"
    )
    from lr_lessons.files import check_writable, remove_stale_temporaries

    for what, folder in (("results", config.results_dir()), ("figures", config.figures_dir())):
        check_writable(folder, what)  # before any work: nothing trained is lost
        remove_stale_temporaries(folder)
    times, events, peaks = {}, [], []
    process: ChapterProcess | None = None
    started = 0

    def forward(signum: int, frame: object) -> None:
        if process is None:  # between chapters: stop here
            raise Stopped(signum)
        process.signal(signum)  # the chapter stops; `run` then raises Stopped

    previous = {sig: signal.signal(sig, forward) for sig in STOP_SIGNALS}
    try:
        for chapter in chapters:
            print(f"\n== {chapter.stem} ==", flush=True)
            if process is None:
                started += 1
                process = ChapterProcess(started)
            run = process.run(chapter)
            times[chapter.stem] = run["seconds"]
            events += run["events"]
            peaks.append(run["peak_gb"])
            now = "" if run["now_gb"] is None else f"{run['now_gb']:.2f} GB at its end, "
            print(
                f"{chapter.stem}: {run['seconds']:.1f} s; memory of its process "
                f"(#{process.number}): {now}peak {run['peak_gb']:.2f} GB (largest so far "
                f"{max(peaks):.2f} GB); studies:",
                flush=True,
            )
            print("\n".join(_report(run["events"], config.output_root())), flush=True)
            if any(e["how"] != "read from cache" for e in run["events"]):
                process.close()  # the next chapter starts afresh
                process = None
    finally:
        if process is not None:
            process.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("\nwall time per chapter:")
    for name, seconds in times.items():
        print(f"  {name:<28} {seconds:8.1f} s")
    print(f"  {'total':<28} {sum(times.values()):8.1f} s")
    trained = [e for e in events if e["how"] != "read from cache"]
    print(
        f"training: {len(trained)} studies trained in {sum(e['seconds'] for e in trained):.1f} s;"
        f" peak memory {peak_memory_gb(children=True):.2f} GB (max resident set size of this "
        "process and of the chapters' processes)"
    )
    return 0


def _rusage_gb(who: int) -> float:
    import resource

    peak = resource.getrusage(who).ru_maxrss
    return peak * (1 if sys.platform == "darwin" else 1024) / 1e9  # bytes on macOS, else KiB


def memory_gb() -> tuple[float | None, float]:
    """This process's resident memory now and its peak so far, in GB.

    On Linux both come from `/proc/self/status` (`VmRSS`, `VmHWM`). Elsewhere the
    current size is unknown (`None`) and the peak is `getrusage`'s max RSS, which on
    Linux would also count the process that started this one: the kernel keeps the
    larger max RSS across `fork` and `exec`, so a command started from a large Python
    process would report that process's size.

    Returns:
        `(current, peak)`.
    """
    try:
        fields = dict(
            line.split(":", 1)
            for line in Path("/proc/self/status").read_text().splitlines()
            if ":" in line
        )
        current = int(fields["VmRSS"].split()[0]) * 1024 / 1e9  # kB
        peak = int(fields["VmHWM"].split()[0]) * 1024 / 1e9
    except (OSError, KeyError, ValueError, IndexError):
        import resource

        return None, _rusage_gb(resource.RUSAGE_SELF)
    return current, peak


def peak_memory_gb(children: bool = False) -> float:
    """The peak resident memory so far, in GB (see `memory_gb`).

    Args:
        children: Also count the finished child processes (each chapter's, by
            `getrusage`'s max RSS): the result is the larger of this process's peak and
            the largest child's.

    Returns:
        The peak in GB.
    """
    peak = memory_gb()[1]
    if children:
        import resource

        peak = max(peak, _rusage_gb(resource.RUSAGE_CHILDREN))
    return peak


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
        "--seeds",
        metavar="N",
        help=f"seeds per study, 1 to {MAX_SEEDS} (default 30 blobs, 5 MNIST; quick: 2)",
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
    except ChapterFailed as err:
        print(f"lr-lessons: error: {err}", file=sys.stderr)
        return 1
    except Stopped as stop:
        print(f"lr-lessons: {stop}", file=sys.stderr)
        return 128 + stop.signum


if __name__ == "__main__":
    sys.exit(main())
