"""The process's one pool of threads for work that releases the GIL.

Pillow's decoders, resizing and filters, jpegli's encoder, OpenCV's filters and
numpy's arithmetic on large arrays all run without the GIL, so one prepare can use
the other cores: the image fit sharpens and encodes side by side, and ``--measure``
computes the input's half of its score while the fit runs. A batch worker runs with
MEDIAPREP_THREADS=1 (the files are its parallelism): then there is no pool and all
of it runs in the calling thread.

A task of the pool never waits for a task still queued behind it: ``in_parallel``
takes a half back when no thread has started it, so a full pool only queues work,
it cannot deadlock.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

from . import env

MAX_WORKERS = 4  # more never paid on the measured work (1080 px pictures)

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0  # the process that made _pool: a forked child makes its own
_background = 0  # long tasks begun by background() and not finished
_count = threading.Lock()
_A = TypeVar("_A")
_B = TypeVar("_B")


def pool() -> ThreadPoolExecutor | None:
    """The shared pool, or None when this process may use only one core
    (MEDIAPREP_THREADS=1, or one usable core)."""
    global _pool, _pool_pid, _background
    workers = _workers()
    if workers < 2:
        return None
    if _pool is None or _pool_pid != os.getpid():
        # After a fork the parent's pool has no threads in this process (its tasks
        # would wait forever), and none of its background work runs here.
        _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mediaprep")
        _pool_pid = os.getpid()
        _background = 0
    return _pool


def _workers() -> int:
    """Threads the pool has: MEDIAPREP_THREADS, else the usable cores, at most MAX_WORKERS."""
    return min(env.threads() or env.cores(), MAX_WORKERS)


def background(work: Callable[[], _A]) -> Future[_A] | None:
    """Begin long work on the pool (None: no pool). Until it ends, ``spare()`` counts
    the core it takes as busy: --measure's reference half runs this way during the
    fit, and the fit then keeps to its own thread instead of slowing it down."""
    p = pool()
    if p is None:
        return None

    def run() -> _A:
        global _background
        try:
            return work()
        finally:
            with _count:
                _background -= 1

    global _background
    with _count:
        _background += 1
    return p.submit(run)


def spare() -> ThreadPoolExecutor | None:
    """The pool when it has a core no background work holds, else None: for work that
    only pays on an idle core (the image fit's side work and second encodes)."""
    p = pool()
    if p is None or _background >= _workers() - 1:
        return None
    return p


def in_parallel(pool: Executor | None, first: Callable[[], _A], second: Callable[[], _B]) -> tuple[_A, _B]:
    """``first()`` on the pool while ``second()`` runs here; ``first`` runs here too
    when no thread of the pool has started it by then (so tasks of the pool may call
    this: they never wait for work queued behind them)."""
    if pool is None:
        return first(), second()
    ahead = pool.submit(first)
    b = second()
    return (first() if ahead.cancel() else ahead.result()), b
