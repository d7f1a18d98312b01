"""A wall-clock limit (and a clear answer to running out of memory) for work done
in this process on an input: a Pillow decode, a PyAV probe or demux.

External programs get their limits from ``tools.proc`` and batch files from their
worker (``batching.isolate``); this covers what ``check`` and ``prepare`` run
in-process, whoever calls them. Memory is bounded before the work starts, by
sizes read from the file's own structure (``preflight.structure``) and the
estimate in ``check_memory``; running out anyway (a decoder we could not
estimate) becomes ``LimitExceeded`` here rather than an internal error.

How the clock is enforced, and why this way: a timer thread, at the deadline,
asks the interpreter to raise an exception in the working thread
(``PyThreadState_SetAsyncExc``). It is raised at the next bytecode, and Pillow
and PyAV return to Python between chunks, packets and frames, so a runaway
decode stops within one chunk's work. The alternatives were worse for the common
path or for library callers: ``signal.setitimer`` works only in the main thread
and would take over the host program's SIGALRM, and running each decode in a
worker process (as batch does) costs an interpreter start, several times the
work of a typical photo. The cost here is one short-lived thread per guarded
call (~0.1 ms).
"""
from __future__ import annotations

import contextlib
import ctypes
import math
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import LimitExceeded


class _Expired(BaseException):
    """Raised in the working thread at its deadline. A BaseException, so that no
    ``except Exception`` inside a decoder's Python code swallows it."""


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Ask the interpreter to raise ``exc`` in that thread at its next bytecode
    (None: withdraw a request not yet raised)."""
    set_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
    set_async(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)


@contextlib.contextmanager
def bounded(what: str, seconds: float, path: Path | str | None = None) -> Iterator[None]:
    """Run the block within ``seconds`` of wall clock (no limit when 0 or not
    finite). Past it, the block is interrupted and LimitExceeded (exit 4) names
    ``what`` ("decoding the image"); a MemoryError becomes LimitExceeded too."""
    if not (math.isfinite(seconds) and seconds > 0):
        try:
            yield
        except MemoryError:
            raise _out_of_memory(what, path) from None
        return

    class Expired(_Expired):  # this guard's own: an outer guard's deadline never matches it
        pass

    thread_id = threading.get_ident()
    lock = threading.Lock()
    state = {"armed": True, "fired": False}

    def fire() -> None:
        with lock:
            if state["armed"]:
                state["fired"] = True
                _raise_in(thread_id, Expired)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    try:
        try:
            timer.start()  # inside: a deadline shorter than starting a thread lands here
            yield
        finally:
            # Disarm under the lock: after this the timer can no longer fire, and an
            # exception it requested but the block outran is withdrawn. If that
            # exception lands in here first, the except below still catches it.
            with lock:
                state["armed"] = False
                if state["fired"]:
                    _raise_in(thread_id, None)
            timer.cancel()
    except Expired:
        raise LimitExceeded(f"{what} took longer than {seconds:g} s and was stopped", path=path,
                            hint="the file is built to take far longer than its size suggests, "
                            "or the machine is overloaded; the profile's safety.decode_seconds "
                            "sets the limit") from None
    except MemoryError:
        raise _out_of_memory(what, path) from None


def _out_of_memory(what: str, path: Path | str | None) -> LimitExceeded:
    return LimitExceeded(f"{what} ran out of memory", path=path,
                         hint="the file needs more memory than this process may use; "
                         "the profile's safety.memory_mb bounds what we attempt")


def check_memory(what: str, needed: int, memory_mb: int, path: Path | str | None = None) -> None:
    """Refuse, before starting, work estimated to need more than ``memory_mb`` (0: no limit)."""
    if memory_mb > 0 and needed > memory_mb << 20:
        raise LimitExceeded(
            f"{what} would need about {needed >> 20:,} MB of memory (limit {memory_mb:,} MB)",
            path=path, hint="downscale it first, or raise safety.memory_mb in a profile")
