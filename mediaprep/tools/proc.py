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
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
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
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: killable as a whole
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise ToolFailed(f"cannot start {tool}: {exc.strerror}",
                         hint=f"check the {tool} binary ({argv[0]})") from exc
    try:
        _cap_memory(proc.pid, memory_mb)
        out, err = proc.communicate(input=input_bytes, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        raise ToolTimeout(
            f"{tool} did not finish within {timeout:.0f} s and was stopped",
            hint="the input may be damaged or far larger than it looks",
            detail=err.decode("utf-8", "replace"),
        ) from None
    except BaseException:  # Ctrl-C or anything else: never leave the child running
        _kill_group(proc)
        proc.wait()
        raise
    stderr = err.decode("utf-8", "replace")
    result = ProcResult(argv=argv, returncode=proc.returncode, stdout=out, stderr=stderr)
    if check and proc.returncode != 0:
        why = last_line(stderr) or f"exit status {proc.returncode}"
        if "Cannot allocate memory" in stderr or "out of memory" in stderr.lower():
            why = f"ran out of its memory limit ({memory_mb} MB)"
        if proc.returncode < 0:
            why = f"killed by signal {-proc.returncode}" + (f": {why}" if stderr.strip() else "")
            if proc.returncode in (-signal.SIGSEGV, -signal.SIGKILL, -signal.SIGABRT):
                why += (f" (it may have hit its memory limit of "
                        f"{memory_mb} MB; {MEMORY_ENV} sets it)")
        raise ToolFailed(f"{tool} failed: {why}", detail=stderr)
    return result
