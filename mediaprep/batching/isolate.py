"""Run jobs in worker processes that can be killed one at a time.

A ``concurrent.futures.ProcessPoolExecutor`` cannot stop one hung task: cancelling
a running future does nothing, and a worker that dies breaks the whole pool. A
batch must survive a file that hangs a decoder or eats all memory, so this module
keeps N long-lived workers under a supervisor (the parent):

- each worker runs one job at a time, sent over its own pipe;
- each worker has an address-space limit (``RLIMIT_AS``, inherited by the ffmpeg
  it starts), so a runaway allocation fails in that worker only;
- each job has a wall-clock limit; past it, the supervisor freezes the worker,
  kills everything the worker started (ffmpeg runs in its own session, see
  tools/proc.py, so killing the worker alone would orphan it), kills the worker,
  reports the job as timed out and starts a fresh worker for the next job;
- a worker that dies (segfault, OOM killer) costs only its current job.

A job may raise its own limit once it knows more (a video's limit scales with its
duration, which is known only after probing): it calls :func:`set_time_limit`.

Workers are fresh interpreters (``python -c``), talking over a socketpair, not
``multiprocessing`` children: multiprocessing's spawn and forkserver methods re-run
the caller's main script in every worker (a library user's script without an
``if __name__ == "__main__"`` guard would run again N times), fork is unsafe in a
process holding threads (a Dask client, a hashing pool), and Dask's daemonic
workers may not start multiprocessing children at all. A worker costs one
interpreter start (imports included) and then serves many jobs.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Literal

from ..errors import ToolFailed
from ..tools.ffmpeg import THREADS_ENV
from ..tools.proc import address_space_limit

# The worker's end of its pipe, so a running job can talk to the supervisor.
_CONN: Connection | None = None


@dataclass(frozen=True)
class Job:
    """One call to run in a worker process, with its wall-clock limit."""
    key: Any  # the caller's handle, echoed back in the Outcome
    fn: Callable[[Any], Any]  # a module-level function (it is pickled by name)
    arg: Any
    time_limit: float  # seconds of wall clock before the worker is killed


# Why a job has no value: killed at its time limit, out of memory (the worker's
# address-space limit), its worker died, or the job raised; "" when it has one.
FailReason = Literal["", "timeout", "memory", "crashed", "raised"]


@dataclass(frozen=True)
class Outcome:
    """What became of a Job: its value, or one line on why it failed."""
    key: Any
    ok: bool
    value: Any = None  # fn's return value when ok
    error: str = ""  # one line when not ok
    reason: FailReason = ""
    seconds: float = 0.0  # wall time the job held a worker


def set_time_limit(seconds: float) -> None:
    """From inside a job: replace the job's wall-clock limit (counted from the job's start)."""
    if _CONN is not None:
        _CONN.send(("limit", float(seconds)))


def _die_with_parent(parent: int) -> None:
    # Linux: SIGKILL this worker when the batch process exits, even by SIGKILL, so
    # no orphan keeps writing while a rerun has started.
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)


def worker_entry() -> None:
    """``python -c 'from mediaprep.batching.isolate import worker_entry; worker_entry()' FD PARENT MB``"""
    fd, parent, memory_mb = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    _die_with_parent(parent)
    conn = Connection(fd)
    sys.path[:] = conn.recv()  # the parent's, so jobs' functions import the same way
    for name in conn.recv():  # warm imports before the memory limit and the first job
        __import__(name)
    conn.send(("ready", None))
    _worker_main(conn, memory_mb or None)


def _worker_main(conn: Connection, memory_mb: int | None) -> None:
    global _CONN
    _CONN = conn
    # The worker has its own session, so a terminal's Ctrl-C does not reach it;
    # only the supervisor decides what happens to running jobs.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The same rule as every child (tools/proc.py): the soft limit lowered, never
    # above the user's hard limit, which stays; a soft limit already lower stays too.
    # Set here, after the imports, by the worker itself: it is a fresh interpreter
    # (no fork without exec), and memory_mb was parsed by the parent.
    limit = address_space_limit(memory_mb or 0)
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, limit)
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            return
        try:
            fn, arg = pickle.loads(data)
            value = fn(arg)
            message: tuple[Any, ...] = ("done", value)
        except MemoryError:
            message = ("memory", f"ran out of memory (worker limit {memory_mb} MB)")
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, worker lives on
            message = ("raised", f"{type(exc).__name__}: {exc}")
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - the value could not be pickled
            data = pickle.dumps(("raised", f"result not picklable: {type(exc).__name__}: {exc}"))
        try:
            conn.send_bytes(data)
        except (EOFError, OSError):
            return
        if message[0] == "memory":
            return  # a fresh worker for the next job: this heap may stay bloated


def _children_of(pid: int) -> list[int]:
    """Every live descendant of pid (Linux /proc; empty elsewhere)."""
    parents: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(pid: int) -> None:
    """SIGKILL pid and everything it started, including children in their own sessions."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGSTOP)  # frozen: it cannot start anything new meanwhile
    for child in _children_of(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child, signal.SIGKILL)  # proc.run's children lead their own group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # workers lead their own group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


# Imported by every worker before its first job (and before its memory limit).
# worker.process is the job function of every batch; its module must import here.
PRELOAD = ["mediaprep.pipeline", "mediaprep.batching.worker"]
STARTUP_LIMIT = 60.0  # seconds a new worker may take to import everything


class _Worker:
    def __init__(self, memory_mb: int | None) -> None:
        mine, theirs = socket.socketpair()
        # stderr kept in a file, read only if the worker fails to start (a pipe
        # nobody reads could fill up and block it). It lives as long as the worker:
        # kill() or run_jobs closes it, so no `with` block fits.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from mediaprep.batching.isolate import worker_entry; worker_entry()",
                 str(theirs.fileno()), str(os.getpid()), str(memory_mb or 0)],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stdout belongs to the batch's results
                stderr=self.stderr,
                start_new_session=True,  # its own group: killable as a whole, no terminal ^C
                # One ffmpeg thread per worker unless the user says otherwise: the
                # workers are the parallelism (see tools/ffmpeg.THREADS_ENV).
                env={THREADS_ENV: "1", **os.environ},
            )
        except OSError as exc:
            mine.close()
            self.stderr.close()
            raise ToolFailed(f"cannot start a worker process: {exc.strerror}",
                             hint=f"check the Python interpreter {sys.executable}") from exc
        finally:
            theirs.close()
        self.ready = False
        self.conn = Connection(mine.detach())
        with contextlib.suppress(OSError):  # if it died already, EOF will say so
            self.conn.send(list(sys.path))
            self.conn.send(PRELOAD)
        self.job: Job | None = None
        self.started = 0.0
        self.limit = 0.0

    def assign(self, job: Job) -> bool:
        """Hand over a job; False when the worker died while idle (OOM killer, say)."""
        try:
            self.conn.send((job.fn, job.arg))
        except OSError:
            return False
        self.job = job
        self.started = time.monotonic()
        self.limit = job.time_limit
        return True

    @property
    def deadline(self) -> float:
        # The job's clock starts when the worker is ready (imports done); until
        # then allow the worker a minute to start.
        return self.started + (self.limit if self.ready else max(self.limit, STARTUP_LIMIT))

    def exit_reason(self) -> str:
        try:
            code = self.proc.wait(2)
        except subprocess.TimeoutExpired:
            return "stopped answering"
        if code < 0:
            why = f"killed by signal {-code}"
            return why + " (out of memory?)" if code == -signal.SIGKILL else why
        return f"exited with status {code}"

    def stderr_tail(self) -> str:
        with contextlib.suppress(OSError):
            self.stderr.seek(0)
            lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1][:300] if lines else ""
        return ""

    def kill(self) -> None:
        if self.proc.poll() is None:  # never signal a reaped pid: it may be reused
            kill_tree(self.proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.conn.close()
        self.stderr.close()


def run_jobs(
    jobs: Iterable[Job],
    workers: int,
    on_done: Callable[[Outcome], None],
    *,
    memory_mb: int | None = None,
    on_tick: Callable[[], None] | None = None,
    tick: float = 0.5,
    on_kill: Callable[[Job], None] | None = None,
) -> None:
    """Run jobs in order on ``workers`` processes; call on_done(outcome) in this
    process as each finishes. ``on_kill(job)`` runs after a job's worker was killed
    (to clean up what it left). Ctrl-C kills every worker and re-raises."""
    pending = deque(jobs)
    if not pending:
        return
    pool: list[_Worker] = []
    start_failures = 0
    try:
        def start_failed(w: _Worker) -> None:
            nonlocal start_failures
            why = w.stderr_tail() or w.exit_reason()
            w.kill()
            pool.remove(w)
            start_failures += 1
            if start_failures >= 3:
                raise ToolFailed(f"worker processes cannot start: {why}",
                                 hint=f"check that {sys.executable} can import mediaprep")

        def give(w: _Worker) -> None:
            job = pending.popleft()
            if not w.assign(job):  # it died while idle or while starting
                pending.appendleft(job)
                if w.ready:
                    w.kill()
                    pool.remove(w)
                else:
                    start_failed(w)

        while pending or any(w.job is not None for w in pool):
            for w in list(pool):
                if w.job is None and pending:
                    give(w)
            while pending and len(pool) < workers:
                w = _Worker(memory_mb)
                pool.append(w)
                give(w)
            busy = [w for w in pool if w.job is not None]
            now = time.monotonic()
            wait_for = min([tick] + [max(0.0, w.deadline - now) for w in busy])
            # A dead worker's socket reads EOF, so the sockets alone tell us everything.
            ready = set(wait([w.conn for w in busy], wait_for))
            for w in list(busy):
                job = w.job
                assert job is not None
                outcome: Outcome | None = None
                if w.conn in ready:
                    try:
                        kind, payload = w.conn.recv()
                    except (EOFError, OSError):
                        kind, payload = "crashed", None
                    except Exception as exc:  # noqa: BLE001 - e.g. a result class we cannot import
                        kind, payload = "raised", f"result could not be read: {exc}"
                    if kind == "ready":
                        w.ready = True
                        w.started = time.monotonic()
                        start_failures = 0
                        continue
                    if kind == "limit":
                        w.limit = float(payload)
                        continue
                    if kind == "crashed" and not w.ready:
                        # Died while starting: not the job's fault. Retry it on a new
                        # worker, but give up if workers cannot start at all.
                        w.job = None
                        pending.appendleft(job)
                        start_failed(w)
                        continue
                    seconds = time.monotonic() - w.started
                    if kind == "done":
                        outcome = Outcome(job.key, True, value=payload, seconds=seconds)
                    elif kind in ("memory", "raised"):
                        outcome = Outcome(job.key, False, error=str(payload), reason=kind,
                                          seconds=seconds)
                        if kind == "memory":  # that worker exits: see _worker_main
                            w.kill()
                            pool.remove(w)
                if outcome is None and w.conn in ready:  # EOF: the worker died
                    why = w.exit_reason()
                    outcome = Outcome(job.key, False, error=f"worker process died: {why}",
                                      reason="crashed", seconds=time.monotonic() - w.started)
                    w.kill()
                    pool.remove(w)
                    if on_kill:
                        on_kill(job)
                elif outcome is None and time.monotonic() >= w.deadline:
                    w.kill()
                    pool.remove(w)
                    if on_kill:
                        on_kill(job)
                    outcome = Outcome(job.key, False, reason="timeout",
                                      error=f"did not finish within {w.limit:g} s and was stopped",
                                      seconds=time.monotonic() - w.started)
                if outcome is not None:
                    w.job = None
                    if pending and w in pool:  # next job first: on_done may fsync
                        give(w)
                    on_done(outcome)
            if on_tick:
                on_tick()
    except BaseException:
        for w in pool:
            job = w.job
            w.kill()
            if job is not None and on_kill:
                with contextlib.suppress(Exception):
                    on_kill(job)
        pool.clear()
        raise
    finally:
        for w in pool:  # idle workers: closing the socket makes them exit
            w.conn.close()
        for w in pool:
            try:
                w.proc.wait(5)
            except subprocess.TimeoutExpired:
                kill_tree(w.proc.pid)
                w.proc.wait()
            w.stderr.close()
