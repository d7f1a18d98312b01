"""The one place a child process is started.

Every external run has a timeout, reads no terminal (stdin is /dev/null), runs in
its own process group so that a timeout or Ctrl-C kills it and anything it spawned,
and on failure raises with the last meaningful stderr line as the message and the
whole stderr kept for --debug.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ToolFailed, ToolTimeout

# Address-space cap for every child (bytes). A decoder fed a hostile file must not
# take the machine down; 4 GiB is far above what ffmpeg needs for 4K H.264.
MEMORY_ENV = "MEDIAPREP_CHILD_MEMORY_MB"
DEFAULT_MEMORY_MB = 4096


def _can_limit() -> bool:
    """The memory cap needs POSIX's resource module; elsewhere children run without it."""
    try:
        import resource  # noqa: F401
    except ImportError:
        return False
    return os.name == "posix"


def _child_limits() -> None:  # runs in the child between fork and exec
    import resource

    mb = int(os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_MB))
    if mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mb << 20, mb << 20))


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
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # own process group: killable as a whole
            preexec_fn=_child_limits if _can_limit() else None,
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise ToolFailed(f"cannot start {tool}: {exc.strerror}",
                         hint=f"check the {tool} binary ({argv[0]})") from exc
    try:
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
            why = f"ran out of its memory limit ({os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_MB)} MB)"
        if proc.returncode < 0:
            why = f"killed by signal {-proc.returncode}" + (f": {why}" if stderr.strip() else "")
            if proc.returncode in (-signal.SIGSEGV, -signal.SIGKILL, -signal.SIGABRT):
                why += (f" (it may have hit its memory limit of "
                        f"{os.environ.get(MEMORY_ENV, DEFAULT_MEMORY_MB)} MB; {MEMORY_ENV} sets it)")
        raise ToolFailed(f"{tool} failed: {why}", detail=stderr)
    return result
