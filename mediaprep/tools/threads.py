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

from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from . import env

MAX_WORKERS = 4  # more never paid on the measured work (1080 px pictures)

_pool: ThreadPoolExecutor | None = None
_A = TypeVar("_A")
_B = TypeVar("_B")


def pool() -> ThreadPoolExecutor | None:
    """The shared pool, or None when this process may use only one core
    (MEDIAPREP_THREADS=1, or one usable core)."""
    global _pool
    cores = env.threads() or env.cores()  # MEDIAPREP_THREADS, else the usable cores
    if cores < 2:
        return None
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=min(cores, MAX_WORKERS), thread_name_prefix="mediaprep")
    return _pool


def in_parallel(pool: Executor | None, first: Callable[[], _A], second: Callable[[], _B]) -> tuple[_A, _B]:
    """``first()`` on the pool while ``second()`` runs here; ``first`` runs here too
    when no thread of the pool has started it by then (so tasks of the pool may call
    this: they never wait for work queued behind them)."""
    if pool is None:
        return first(), second()
    ahead = pool.submit(first)
    b = second()
    return (first() if ahead.cancel() else ahead.result()), b
