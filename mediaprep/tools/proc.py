"""The one place a child process is started.

Every external run has a timeout, reads no terminal (stdin is /dev/null), runs in
its own process group so that a timeout or Ctrl-C kills it and anything it spawned,
has its address space capped (``MEDIAPREP_CHILD_MEMORY_MB``), and on failure raises
with the last meaningful stderr line as the message and the whole stderr kept for
--debug.

The memory cap is set from this process on the started child
(``resource.prlimit``), not by a ``preexec_fn``: code between fork and exec is
unsafe when the host program has threads, and an error there surfaces only as a
SubprocessError. Only the soft limit is lowered, never above the hard limit the
user set (``ulimit -v``), which stays as it was. The child runs for the moment
between its exec and the prlimit call uncapped by us; ffmpeg reads no input in
that time.

``run_all`` runs several children side by side on the same terms (the voice
encode's lanes): one deadline for all, and the first failure, timeout or Ctrl-C
kills every one still running before its error is raised.
"""
from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ToolFailed, ToolTimeout
from .env import DEFAULT_MEMORY_MB as DEFAULT_MEMORY_MB
from .env import MEMORY_ENV as MEMORY_ENV
from .env import child_memory_mb


def _resource() -> Any:
    """POSIX's resource module, or None (the memory cap needs it; elsewhere children
    run without it)."""
    try:
        import resource
    except ImportError:
        return None
    return resource


def address_space_limit(mb: int) -> tuple[int, int] | None:
    """The (soft, hard) RLIMIT_AS that caps a process at ``mb`` MB under this
    process's own limits (which a child inherits): the soft limit lowered to ``mb``
    but never above the hard limit, the hard limit unchanged. None when nothing
    would be lowered (no cap asked, or the soft limit is already that low)."""
    resource = _resource()
    if mb <= 0 or resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = mb << 20
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        return None
    return cap, hard


def _cap_memory(pid: int, mb: int) -> None:
    limit = address_space_limit(mb)
    resource = _resource()
    if limit is None or resource is None or not hasattr(resource, "prlimit"):  # prlimit: Linux only
        return
    # ProcessLookupError: gone already (it failed at once), its exit status says
    # what happened. PermissionError: a sandbox forbids it; the child keeps the
    # limits it inherited from us.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        resource.prlimit(pid, resource.RLIMIT_AS, limit)


@dataclass(frozen=True)
class ProcResult:
    """A finished external process: its command line and output."""
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str


def last_line(stderr: str) -> str:
    """The last non-empty stderr line: usually the one that says what went wrong."""
    for line in reversed(stderr.splitlines()):
        line = line.strip()
        if line:
            return line[:300]
    return ""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # Already gone (or, for the group, not ours to signal): nothing left to kill.
    with contextlib.suppress(ProcessLookupError, PermissionError, AttributeError):  # no killpg: not POSIX
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _start(argv: tuple[str, ...], tool: str, stdin: bool, pass_fds: Sequence[int]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: killable as a whole
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise ToolFailed(f"cannot start {tool}: {exc.strerror}",
                         hint=f"check the {tool} binary ({argv[0]})") from exc


def _timed_out(tool: str, timeout: float, err: bytes) -> ToolTimeout:
    return ToolTimeout(
        f"{tool} did not finish within {timeout:.0f} s and was stopped",
        hint="the input may be damaged or far larger than it looks",
        detail=err.decode("utf-8", "replace"),
    )


def _result(argv: tuple[str, ...], returncode: int, out: bytes, err: bytes, tool: str,
            check: bool, memory_mb: int) -> ProcResult:
    stderr = err.decode("utf-8", "replace")
    result = ProcResult(argv=argv, returncode=returncode, stdout=out, stderr=stderr)
    if check and returncode != 0:
        why = last_line(stderr) or f"exit status {returncode}"
        if "Cannot allocate memory" in stderr or "out of memory" in stderr.lower():
            why = f"ran out of its memory limit ({memory_mb} MB)"
        if returncode < 0:
            why = f"killed by signal {-returncode}" + (f": {why}" if stderr.strip() else "")
            if returncode in (-signal.SIGSEGV, -signal.SIGKILL, -signal.SIGABRT):
                why += (f" (it may have hit its memory limit of "
                        f"{memory_mb} MB; {MEMORY_ENV} sets it)")
        raise ToolFailed(f"{tool} failed: {why}", detail=stderr)
    return result


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    tool: str,
    check: bool = True,
    input_bytes: bytes | None = None,
    pass_fds: Sequence[int] = (),
) -> ProcResult:
    """Run ``argv`` (a list, never a shell string) and wait at most ``timeout`` seconds.
    ``pass_fds``: descriptors the child keeps (ffprogress's progress pipe)."""
    argv = tuple(str(a) for a in argv)
    memory_mb = child_memory_mb()  # here, in the parent: a bad value is exit 2
    proc = _start(argv, tool, input_bytes is not None, pass_fds)
    try:
        _cap_memory(proc.pid, memory_mb)
        out, err = proc.communicate(input=input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise _timed_out(tool, timeout, err) from None
    except BaseException:  # Ctrl-C or anything else: never leave the child running
        _kill_group(proc)
        proc.wait()
        raise
    return _result(argv, proc.returncode, out, err, tool, check, memory_mb)


@dataclass(frozen=True)
class Job:
    """One child of :func:`run_all`: its argv, its stdin's bytes (None: /dev/null)
    and the descriptors it keeps."""

    argv: Sequence[str]
    input_bytes: bytes | None = None
    pass_fds: Sequence[int] = ()


def run_all(jobs: Sequence[Job], *, timeout: float, tool: str) -> list[ProcResult]:
    """Run several children side by side, each the way :func:`run` runs one, and wait
    for all of them, at most ``timeout`` seconds in all. The first to fail or time out
    stops the others (as does Ctrl-C), and its error is the one raised: no child is
    ever left running. One job is simply :func:`run`."""
    if len(jobs) == 1:
        job = jobs[0]
        return [run(job.argv, timeout=timeout, tool=tool, input_bytes=job.input_bytes,
                    pass_fds=job.pass_fds)]
    argvs = [tuple(str(a) for a in job.argv) for job in jobs]
    memory_mb = child_memory_mb()
    deadline = time.monotonic() + timeout
    procs: list[subprocess.Popen[bytes]] = []
    ended: queue.SimpleQueue[int] = queue.SimpleQueue()
    # Per job: (stdout, stderr, timed out), or what communicate() raised.
    outcomes: list[tuple[bytes, bytes, bool] | BaseException | None] = [None] * len(jobs)

    def wait_for(i: int) -> None:
        proc = procs[i]
        try:
            try:
                out, err = proc.communicate(input=jobs[i].input_bytes,
                                            timeout=max(0.0, deadline - time.monotonic()))
                outcomes[i] = (out, err, False)
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                out, err = proc.communicate()
                outcomes[i] = (out, err, True)
        except BaseException as exc:  # an OS error reading its pipes: stop them all
            outcomes[i] = exc
        finally:
            ended.put(i)

    def bad(i: int) -> bool:
        outcome = outcomes[i]
        return not isinstance(outcome, tuple) or outcome[2] or procs[i].returncode != 0

    def stop_all() -> None:
        for proc in procs:
            if proc.returncode is None:  # not reaped yet: its group is still its own
                _kill_group(proc)

    waiters: list[threading.Thread] = []
    first_bad: int | None = None
    try:
        for argv, job in zip(argvs, jobs, strict=True):
            procs.append(_start(argv, tool, job.input_bytes is not None, job.pass_fds))
            _cap_memory(procs[-1].pid, memory_mb)
        for i in range(len(jobs)):
            waiters.append(threading.Thread(target=wait_for, args=(i,), daemon=True))
            waiters[-1].start()
        for _ in jobs:
            i = ended.get()
            if first_bad is None and bad(i):
                first_bad = i
                stop_all()
    except BaseException:  # Ctrl-C, or a child that could not start: none left running
        stop_all()
        for i, proc in enumerate(procs):
            if i < len(waiters):
                waiters[i].join(timeout=5)  # its communicate() ends with the kill
            else:
                for pipe in (proc.stdin, proc.stdout, proc.stderr):
                    if pipe is not None:
                        pipe.close()
                proc.wait()
        raise
    for waiter in waiters:
        waiter.join()
    if first_bad is not None:
        outcome = outcomes[first_bad]
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome is not None
        out, err, timed_out = outcome
        if timed_out:
            raise _timed_out(tool, timeout, err)
        _result(argvs[first_bad], procs[first_bad].returncode, out, err, tool, True, memory_mb)  # raises
    results = []
    for argv, proc, outcome in zip(argvs, procs, outcomes, strict=True):
        assert isinstance(outcome, tuple)  # every one ended well
        results.append(_result(argv, proc.returncode, outcome[0], outcome[1], tool, False, memory_mb))
    return results
