"""Progress on stderr, drawn only by the command line (the library only calls a
callback): one bar mechanism for `prepare` (the stages of one long file) and
`batch` (files of a folder).

On a terminal the bar is one line redrawn in place. `batch` anywhere else (a log
file, CI) prints a plain line every ``interval`` seconds and at the end, so logs
stay readable; `prepare` draws nothing there. Failures and skips of a batch are
printed as they happen, one line each, names escaped.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

from ..batching.progress import BatchProgress
from ..batching.results import FileResult
from ..errors import escape_name
from ..tools.ffprogress import EncodeProgress
from .messages import fail_line, skip_line

_REDRAW = "\r\x1b[K"  # back to the start of the line and erase it


def bar(done: float, total: float, cells: int, empty: str = ".") -> str:
    """``[####....]``: ``cells`` wide, filled in proportion to done/total (full when
    there is nothing to do)."""
    filled = cells if total <= 0 else max(0, min(cells, int(cells * done / total)))
    return "[" + "#" * filled + empty * (cells - filled) + "]"


class LiveLine:
    """One line on a terminal, redrawn in place."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.shown = False

    def draw(self, text: str) -> None:
        self.stream.write(_REDRAW + text)
        self.stream.flush()
        self.shown = True

    def erase(self) -> None:
        """Remove the line (before other output, or when the work is done)."""
        if self.shown:
            self.stream.write(_REDRAW)
            self.stream.flush()
            self.shown = False

    def keep(self) -> None:
        """Leave the last state on screen and move below it."""
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


class StageBar:
    """`prepare` on a terminal: the stage of one file (``audio``, ``pass 1``, ``pass 2``,
    ``encoding``) and, while ffmpeg encodes, how far that encode is:
    ``NAME pass 1 [#####-----]  45%  0:12 elapsed, ETA 0:15`` (from ffmpeg's own
    ``-progress`` report, see tools/ffprogress.py); erased at the end."""

    def __init__(self, name: str, stream: TextIO | None = None, cells: int = 24) -> None:
        self.name = escape_name(name)
        self.cells = cells
        self.line = LiveLine(stream or sys.stderr)
        self.what = ""
        self.stage = (0.0, 1.0)
        self._lock = threading.Lock()  # encode() is called from the progress reader's thread

    def __call__(self, done: float, total: float, what: str) -> None:  # a model.ProgressFn
        with self._lock:
            self.what, self.stage = escape_name(what), (done, total)
            self.line.draw(f"{self.name} {self.what} {bar(done, total, self.cells, empty='-')}")

    def encode(self, p: EncodeProgress) -> None:  # a tools.ffprogress.Listener
        if not p.total:
            return  # nothing to measure against: the stage line stays
        fraction = min(1.0, p.done / p.total)
        # A rate from the first instants or the first percent is noise: no ETA until then.
        steady = fraction >= 0.02 and p.elapsed >= 0.5
        eta = 0.0 if p.finished else (p.elapsed * (1 - fraction) / fraction if steady else None)
        with self._lock:
            self.line.draw(f"{self.name} {self.what} {bar(fraction, 1.0, self.cells, empty='-')} "
                           f"{fraction:4.0%}  {_clock(p.elapsed)} elapsed, ETA {_clock(eta)}")

    def close(self) -> None:
        with self._lock:
            self.line.erase()


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def describe(result: FileResult) -> str | None:
    """The line printed as a file finishes, or None when it is not news."""
    name = escape_name(result.input)
    if result.status == "failed":
        return fail_line(result.error or f"{name}: failed")
    if result.status == "skipped" and not result.resumed:
        return skip_line(result.input, result.reason or "")
    return None


class ProgressReporter:
    """`batch`: a batching.ProgressCallback that draws the folder's progress."""

    def __init__(self, stream: TextIO | None = None, *, interval: float = 10.0,
                 tty: bool | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.quiet = quiet  # -q: FAIL lines only (errors), no bar, no SKIP lines
        self.interval = interval
        self.line = LiveLine(self.stream)
        self._last_line = time.monotonic()
        self._last_draw = 0.0
        self._latest: BatchProgress | None = None

    def _text(self, p: BatchProgress) -> str:
        failed = f", {p.failed} failed" if p.failed else ""
        return (f"{p.done}/{p.total} files, {_mb(p.bytes_done)} of {_mb(p.bytes_total)}, "
                f"{_clock(p.elapsed)} elapsed, ETA {_clock(p.eta)}{failed}")

    def __call__(self, p: BatchProgress) -> None:
        self._latest = p
        line = describe(p.last) if p.last is not None else None
        if line is not None and self.quiet and not line.startswith("FAIL"):
            line = None
        if line is not None:
            self.line.erase()
            self.stream.write(line + "\n")
        now = time.monotonic()
        if self.quiet:
            pass
        elif self.tty:
            if line is not None or now - self._last_draw >= 0.1 or p.done == p.total:
                self._draw(p)
                self._last_draw = now
        elif now - self._last_line >= self.interval:
            self.stream.write(f"mediaprep: {self._text(p)}\n")
            self._last_line = now
        self.stream.flush()

    def _draw(self, p: BatchProgress) -> None:
        text = self._text(p)
        width = shutil.get_terminal_size((80, 20)).columns
        cells = 20 if width - len(text) - 4 >= 20 else 10  # steady, not jumping
        self.line.draw(f"{bar(p.done, p.total, cells)} {text}"[: width + 1])

    def close(self) -> None:
        """End the bar (or print the last plain line)."""
        if self.quiet:
            pass
        elif self.tty:
            self.line.keep()
        elif self._latest is not None:
            self.stream.write(f"mediaprep: {self._text(self._latest)}\n")
        self.stream.flush()
