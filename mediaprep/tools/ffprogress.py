"""How far an ffmpeg run has got, from its ``-progress`` output, for a progress bar.

Nothing here runs unless someone listens (``reporting``): the command line does on a
terminal, nowhere else. Then every ffmpeg run started through tools/ffmpeg.py gets
``-progress pipe:N``, N being the write end of a pipe of our own passed to the child
(never its stdout, which some runs use for samples, nor its stderr, which carries the
error we report); a thread reads ``out_time_us=`` lines and calls the listener. The
runs themselves are proc.run_all's: its timeout and process-group kill are untouched,
and the pipe ends when the child does, however it ends. ``argv[0]`` is the binary;
the progress option goes right after it.

Runs side by side (the voice encode's lanes) are reported as one: the
seconds they have written together against the sum of their lengths.

Each run needs a length to measure against: the ``-t`` of its input (every run on the
source file has one), else the length the previous run of this prepare measured
against (video pass 2 reads the frames pass 1 cached, for the same span), else the
media's duration the pipeline announced (``expect``).
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from . import proc


@dataclass(frozen=True)
class EncodeProgress:
    """How far an ffmpeg run has got, for a progress bar."""
    done: float  # seconds of media written so far
    total: float | None  # seconds this run will write, when known
    elapsed: float  # wall-clock seconds since the run started
    finished: bool = False


Listener = Callable[[EncodeProgress], None]


@dataclass
class _State:
    """One run's progress reader state."""
    listener: Listener
    media_seconds: float | None = None
    last_total: float | None = None


_STATE: ContextVar[_State | None] = ContextVar("mediaprep_ffprogress", default=None)


@contextlib.contextmanager
def reporting(listener: Listener) -> Iterator[None]:
    """Report the progress of every ffmpeg run started inside to ``listener`` (called
    from a reader thread, about twice a second)."""
    token = _STATE.set(_State(listener))
    try:
        yield
    finally:
        _STATE.reset(token)


@contextlib.contextmanager
def expect(seconds: float | None) -> Iterator[None]:
    """The media's duration: what a run without its own ``-t`` is measured against."""
    state = _STATE.get()
    if state is None or not seconds:
        yield
        return
    before = state.media_seconds, state.last_total
    state.media_seconds, state.last_total = seconds, None
    try:
        yield
    finally:
        state.media_seconds, state.last_total = before


def input_seconds(argv: Sequence[str]) -> float | None:
    """The ``-t`` given before the first ``-i`` (an input option), if any."""
    for i, arg in enumerate(argv[:-1]):
        if arg == "-i":
            return None
        if arg == "-t":
            try:
                return float(argv[i + 1])
            except ValueError:
                return None
    return None


def _read(fd: int, report: Callable[[float, bool], None]) -> None:
    done = 0.0
    with open(fd, "rb", closefd=False) as pipe:
        for raw in pipe:
            key, _, value = raw.decode("ascii", "replace").strip().partition("=")
            if key == "out_time_us":
                with contextlib.suppress(ValueError):
                    done = max(0.0, int(value) / 1e6)
            elif key == "progress":
                report(done, value == "end")


def run_all(argvs: Sequence[list[str]], *, timeout: float,
            inputs: Sequence[bytes | None]) -> list[proc.ProcResult]:
    """proc.run_all of ffmpeg runs side by side (``inputs``: each one's stdin), their
    progress reported as one: the seconds all of them have written, against the
    sum of their lengths."""
    jobs = [proc.Job(argv, data) for argv, data in zip(argvs, inputs, strict=True)]
    state = _STATE.get()
    if state is None or os.name != "posix":  # passing a pipe's fd to a child is POSIX here
        return proc.run_all(jobs, timeout=timeout, tool="ffmpeg")
    lengths = [input_seconds(argv) for argv in argvs]
    total = (sum(x for x in lengths if x) if all(lengths) else None) or state.last_total or state.media_seconds
    state.last_total = total
    started = time.monotonic()
    lock = threading.Lock()
    done = [0.0] * len(jobs)
    ended = [False] * len(jobs)

    def report(i: int, seconds: float, finished: bool) -> None:
        with lock:
            done[i], ended[i] = seconds, ended[i] or finished
            over = all(ended)
            with contextlib.suppress(Exception):  # a drawing bug must never break the encode
                state.listener(EncodeProgress(done=total if over and total else sum(done), total=total,
                                              elapsed=time.monotonic() - started, finished=over))

    pipes = [os.pipe() for _ in jobs]
    readers = [threading.Thread(target=_read, args=(read_end, functools.partial(report, i)), daemon=True)
               for i, (read_end, _) in enumerate(pipes)]
    for reader in readers:
        reader.start()
    try:
        return proc.run_all([proc.Job([job.argv[0], "-progress", f"pipe:{write_end}", *job.argv[1:]],
                                      job.input_bytes, pass_fds=(write_end,))
                             for job, (_, write_end) in zip(jobs, pipes, strict=True)],
                            timeout=timeout, tool="ffmpeg")
    finally:
        for (read_end, write_end), reader in zip(pipes, readers, strict=True):
            os.close(write_end)  # the child's copy closed with the child: the reader sees the end
            reader.join(timeout=5)
            if not reader.is_alive():  # else something still holds the pipe: never pull it from under a read
                os.close(read_end)
