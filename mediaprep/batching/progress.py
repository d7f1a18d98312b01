"""Progress of a running batch, as numbers: the library counts and estimates, and
hands a BatchProgress to the caller's callback. Drawing it is the caller's business
(the command line's bar lives in mediaprep.cli.progress)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .results import FileResult

TICK = 0.5  # seconds between timer reports while files are running


@dataclass(frozen=True)
class BatchProgress:
    """Reported to the progress callback after each file (and about twice a second)."""

    done: int
    total: int
    bytes_done: int
    bytes_total: int
    failed: int
    running: int
    elapsed: float
    eta: float | None  # seconds, None until something has finished
    last: FileResult | None  # the file that just finished (None on a timer tick)


ProgressCallback = Callable[[BatchProgress], None]


class ProgressTracker:
    """Counts finished files and estimates the time left.

    The estimate runs on ``weight`` (expected work, see worker.Task.weight), not on
    file counts: files already decided in the parent (skips, resumed files) weigh
    nothing, so a rerun that resumes most files does not promise a finish in
    seconds when the remaining files are large videos."""

    def __init__(self, callback: ProgressCallback | None, total: int, bytes_total: int,
                 weight_total: float, t0: float) -> None:
        self.callback, self.total, self.bytes_total = callback, total, bytes_total
        self.weight_total, self.t0 = weight_total, t0
        self.done = self.bytes_done = self.failed = self.running = 0
        self.weight_done = 0.0
        self.work_started: float | None = None
        self.last_tick = 0.0

    def start_work(self, running: int) -> None:
        """The workers start: the rate (and so the ETA) is measured from now."""
        self.running = running
        self.work_started = time.monotonic()
        self._report(None)  # the bar shows the files at work at once, not after the first ends

    def _report(self, last: FileResult | None) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        eta = None
        if self.work_started is not None and self.weight_done > 0:
            rate = self.weight_done / max(now - self.work_started, 1e-6)
            eta = (self.weight_total - self.weight_done) / rate
        elif self.done == self.total:
            eta = 0.0
        self.callback(BatchProgress(done=self.done, total=self.total, bytes_done=self.bytes_done,
                                    bytes_total=self.bytes_total, failed=self.failed,
                                    running=min(self.running, self.total - self.done),
                                    elapsed=now - self.t0, eta=eta, last=last))

    def finished(self, res: FileResult, weight: float) -> None:
        self.done += 1
        self.bytes_done += res.input_bytes
        self.weight_done += weight
        self.failed += res.status == "failed"
        self._report(res)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_tick >= TICK:
            self.last_tick = now
            self._report(None)
