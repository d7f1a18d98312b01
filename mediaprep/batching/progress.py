"""Batch progress on stderr, drawn only in the parent process.

On a terminal: one bar redrawn in place (files, bytes, ETA, failures). Anywhere
else (a log file, CI): a plain line every ``interval`` seconds and at the end, so
logs stay readable. Failures and skips are printed as they happen, one line each,
names escaped.
"""
from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

from ..errors import escape_name
from .run import BatchProgress, BatchResult, FileResult


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
        return f"FAIL  {result.error or f'{name}: failed'}"
    if result.status == "skipped" and not result.resumed:
        return f"SKIP  {name}: {escape_name(result.reason or '')}"
    return None


class ProgressReporter:
    def __init__(self, stream: TextIO | None = None, *, interval: float = 10.0,
                 tty: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval = interval
        self._last_line = time.monotonic()
        self._last_draw = 0.0
        self._bar_shown = False
        self._latest: BatchProgress | None = None

    def _clear(self) -> None:
        if self._bar_shown:
            self.stream.write("\r\x1b[K")
            self._bar_shown = False

    def _text(self, p: BatchProgress) -> str:
        failed = f", {p.failed} failed" if p.failed else ""
        return (f"{p.done}/{p.total} files, {_mb(p.bytes_done)} of {_mb(p.bytes_total)}, "
                f"{_clock(p.elapsed)} elapsed, ETA {_clock(p.eta)}{failed}")

    def __call__(self, p: BatchProgress) -> None:
        self._latest = p
        line = describe(p.last) if p.last is not None else None
        if line is not None:
            self._clear()
            self.stream.write(line + "\n")
        now = time.monotonic()
        if self.tty:
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
        bar_width = 20 if width - len(text) - 4 >= 20 else 10  # steady, not jumping
        filled = int(bar_width * p.done / p.total) if p.total else bar_width
        bar = "#" * filled + "." * (bar_width - filled)
        self.stream.write(f"\r\x1b[K[{bar}] {text}"[: width + 5])
        self._bar_shown = True

    def close(self) -> None:
        """End the bar (or print the last plain line)."""
        if self.tty:
            if self._bar_shown:
                self.stream.write("\n")
                self._bar_shown = False
        elif self._latest is not None:
            self.stream.write(f"mediaprep: {self._text(self._latest)}\n")
        self.stream.flush()


def summary(result: BatchResult) -> list[str]:
    """The end-of-run table: counts per status and kind, bytes, time."""
    counts = result.counts()
    kinds = sorted({k for row in counts.values() for k in row},
                   key=lambda k: (["image", "voice", "video", "thumb"] + [k]).index(k))
    lines = [f"{'':8}" + "".join(f"{k:>8}" for k in kinds) + f"{'total':>8}"]
    for status in ("ok", "passed", "skipped", "failed"):
        row = counts.get(status, {})
        lines.append(f"{status:8}" + "".join(f"{row.get(k, 0):>8}" for k in kinds)
                     + f"{sum(row.values()):>8}")
    made = [f for f in result.files if f.outputs]
    before = sum(f.input_bytes for f in made)
    after = sum(f.output_bytes for f in made)
    ratio = f" ({after / before:.1%})" if before else ""
    lines.append(f"bytes: {before:,} -> {after:,}{ratio}; {result.dispatched} prepared, "
                 f"{result.elapsed:.1f} s with {result.jobs} job{'s' if result.jobs > 1 else ''}")
    lines.append(f"manifest: {escape_name(result.manifest)}")
    return lines
