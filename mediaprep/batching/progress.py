"""Progress of a running batch, as numbers: the library counts and estimates, and
hands a BatchProgress to the caller's callback. Drawing it is the caller's business
(the command line's bar lives in mediaprep.cli.progress)."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping
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

    The estimate runs on expected work, not on bytes or file counts. Each file to
    prepare has a ``weight`` (worker.Task.weight: what the plan knows before any
    file is read, its size scaled by what its kind costs per byte); files already
    decided in the parent (skips, resumed files) weigh nothing. As files finish,
    each kind's cost is measured in worker seconds per unit of weight, so a folder
    whose photos go fast does not promise its videos as fast (a kind not seen yet
    is priced at the average so far). The time left is the remaining weight of each
    kind at its measured cost, shared by the workers still busy, and never less than
    the quickest file so far for each file still to do: sizes misjudge work (a large
    file that only needed copying is quick), and "ETA 0:00" with files left is wrong."""

    def __init__(self, callback: ProgressCallback | None, total: int, bytes_total: int,
                 weight_total: float, t0: float, weight_by_kind: Mapping[str, float] | None = None) -> None:
        self.callback, self.total, self.bytes_total = callback, total, bytes_total
        self.weight_total, self.t0 = weight_total, t0
        self.done = self.bytes_done = self.failed = self.running = 0
        self.weight_done = 0.0
        self.work_started: float | None = None
        self.last_tick = 0.0
        self.weight_left: dict[str, float] = dict(weight_by_kind or {"": weight_total})
        self.measured: dict[str, tuple[float, float]] = {}  # kind -> (weight, worker seconds)
        self.files_left = 0  # files to be done by workers (set by start_work)
        self.quickest: float | None = None  # worker seconds of the quickest file so far

    def start_work(self, running: int, files: int | None = None) -> None:
        """The workers start: the rate (and so the ETA) is measured from now."""
        self.running = running
        self.files_left = self.total - self.done if files is None else files
        self.work_started = time.monotonic()
        self._report(None)  # the bar shows the files at work at once, not after the first ends

    def _report(self, last: FileResult | None) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        eta = self.eta()
        self.callback(BatchProgress(done=self.done, total=self.total, bytes_done=self.bytes_done,
                                    bytes_total=self.bytes_total, failed=self.failed,
                                    running=min(self.running, self.total - self.done),
                                    elapsed=now - self.t0, eta=eta, last=last))

    def eta(self) -> float | None:
        """Seconds left, or None until a file of work has finished."""
        if self.done == self.total:
            return 0.0
        if self.work_started is None or not self.measured:
            return None
        weight = sum(w for w, _ in self.measured.values())
        average = sum(s for _, s in self.measured.values()) / weight if weight > 0 else 0.0
        left = 0.0
        for kind, remaining in self.weight_left.items():
            w, s = self.measured.get(kind, (0.0, 0.0))
            left += max(0.0, remaining) * (s / w if w > 0 else average)
        busy = max(1, min(self.running, self.total - self.done))
        floor = (self.quickest or 0.0) * max(0, self.files_left)
        return max(left, floor) / busy

    def finished(self, res: FileResult, weight: float, kind: str = "") -> None:
        self.done += 1
        self.bytes_done += res.input_bytes
        self.weight_done += weight
        self.failed += res.status == "failed"
        if weight > 0:
            self.files_left -= 1
            self.quickest = res.seconds if self.quickest is None else min(self.quickest, res.seconds)
            key = kind if kind in self.weight_left else next(iter(self.weight_left))
            self.weight_left[key] -= weight
            w, s = self.measured.get(key, (0.0, 0.0))
            self.measured[key] = (w + weight, s + max(res.seconds, 0.0))
        self._report(res)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_tick >= TICK:
            self.last_tick = now
            self._report(None)
