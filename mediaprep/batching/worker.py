"""The work of one file, as it runs in a worker process.

The parent decides everything about a file up front (a Task: where it goes, under
which stem, with which limits) and the worker only prepares it: it sniffs and
hashes the input and prepares it into its output folder under the planned stem;
prepare() stages every output and commits them together (see output.OutputSet), so
a killed worker never leaves a partial file under a final name, and the staging
folder it leaves is removed as soon as its process is gone. ``process`` never
raises for a bad file; what went wrong comes back as a failed FileResult with a
one-line error.

Workers receive ``process`` pickled by name (see isolate.PRELOAD), so it stays a
module-level function of this module.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .. import openflags
from ..errors import BadInput, ExitCode, MediaprepError, UnsupportedType, escape_name
from ..model import Kind, PrepareOptions
from ..output import clean_stale_staging
from ..pipeline import attachments_for, prepare
from ..preflight.check import probe
from ..preflight.sniff import sniff
from ..profiles import Profile
from .isolate import Job, Outcome, set_time_limit
from .results import DEFAULT_ROLE, FileResult
from .walk import MEDIA_EXTENSIONS

# Relative cost per input byte, for ordering only: encoding a second of video costs
# far more than decoding a photo of the same size. Longest-first keeps a late large
# video from running alone at the end while the other workers sit idle.
_COST_PER_BYTE: dict[Kind, float] = {"video": 20.0, "audio": 4.0, "image": 1.0}


@dataclass(frozen=True)
class Task:
    """Everything a worker needs for one file; decided in the parent, picklable."""

    index: int
    path: Path  # absolute input path
    rel: Path
    out_dir: Path  # absolute: DST plus the input's relative folder
    stem: str  # output names are this plus the suffix prepare() chose
    kind: Kind  # content kind, from the extension until the worker sniffs it
    size: int
    profile: Profile
    options: PrepareOptions
    settings: str
    time_limit: float | None  # fixed per-file limit, or None to scale by duration
    mtime_ns: int  # from the walk; with size, what a rerun compares before hashing
    measure: bool = False  # score each output (--measure)
    dev: int = 0  # the input's (device, inode) as the walk saw it; 0: not checked
    ino: int = 0

    @property
    def weight(self) -> float:
        return max(self.size, 1) * _COST_PER_BYTE.get(self.kind, 1.0)


def default_time_limit(profile: Profile, duration: float | None = None) -> float:
    """Wall-clock seconds one file may take. Every external run already has its own
    timeout (at least timeout_floor, 2 s per media second); a file may make several
    (two passes, a retry, a thumbnail), so the file gets five floors plus 10 s per
    media second."""
    floor = profile.safety.timeout_floor
    return 5 * floor + 10 * (duration or 0.0)


def job_for(task: Task) -> Job:
    """The isolate.Job that runs ``process(task)``, with the task's starting time limit."""
    limit = task.time_limit if task.time_limit is not None else default_time_limit(task.profile)
    return Job(key=task.index, fn=process, arg=task, time_limit=limit)


def discard_staging(job: Job) -> None:
    """After a job's worker was killed: drop the staging folder it left (its process
    is gone, so clean_stale_staging knows the folder is abandoned)."""
    clean_stale_staging(job.arg.out_dir)


# A file changed again within the file system's timestamp granularity after we
# stat it would keep its mtime; an mtime this recent is not recorded, so the next
# run hashes the file instead of trusting the stat (git's "racily clean" files).
RACY_NS = 2_000_000_000


def stat_key(st: os.stat_result) -> int | None:
    """The mtime_ns to record for a file just statted, or None when too recent to trust."""
    return None if time.time_ns() - st.st_mtime_ns < RACY_NS else st.st_mtime_ns


class InputChanged(BadInput):
    """The name no longer leads to the file the walk saw: reported as skipped."""


def open_as_walked(path: Path, dev: int, ino: int) -> int:
    """A descriptor of ``path``, open for reading, when it is still the regular file
    the walk saw (device and inode ``dev``, ``ino``; not checked when 0). Raises
    InputChanged when it is a link now, or another file; OSError when it is gone."""
    try:
        # Never through a link in its last component: the walk decided which links to
        # follow, and a link swapped in since is not one of them.
        fd = os.open(path, openflags.READ_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise InputChanged("is a symlink now, swapped in after the folder was listed "
                               "(not followed)", path=path) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputChanged("is no longer a regular file (not read)", path=path)
        if dev and (st.st_dev, st.st_ino) != (dev, ino):
            raise InputChanged("was replaced by another file after the folder was listed "
                               "(not read)", path=path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _sha256_of(fd: int) -> str:
    h = hashlib.sha256()
    pos = 0
    while chunk := os.pread(fd, 1 << 20, pos):
        h.update(chunk)
        pos += len(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    """The content hash, read 1 MB at a time, never through a link (as open_as_walked)."""
    fd = os.open(path, openflags.READ_NOFOLLOW)
    try:
        return _sha256_of(fd)
    finally:
        os.close(fd)


def _cpu_seconds() -> float:
    import resource  # POSIX only; batch checks for it before any worker starts

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # ffmpeg runs, once reaped
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def error_line(rel: Path, exc: MediaprepError) -> str:
    """exc.one_line() naming the input by its path relative to SRC (workers see
    absolute paths; the manifest and the user think in SRC-relative ones)."""
    line = exc.one_line()
    if exc.path is not None and line.startswith(escape_name(exc.path) + ": "):
        line = line[len(escape_name(exc.path)) + 2:]
    return f"{escape_name(rel)}: {line}"


def process(task: Task) -> FileResult:
    """Prepare one file (runs in a worker). Never raises for a bad file; a
    MemoryError is left to the worker loop, which reports it and retires the worker."""
    t0, c0 = time.monotonic(), _cpu_seconds()
    # What every result below shares; each return sets its own status.
    base = FileResult(input=task.rel, status="failed", input_bytes=task.size,
                      settings=task.settings, stem=task.stem,
                      attachment_style=task.options.attachment_style)
    try:
        fd = open_as_walked(task.path, task.dev, task.ino)
    except InputChanged as exc:
        return dataclasses.replace(base, status="skipped", reason=exc.message,
                                   seconds=time.monotonic() - t0)
    except OSError:
        fd = -1  # gone or unreadable: sniff says which, in its own words
    try:
        return _process(task, base, fd, t0, c0)
    finally:
        if fd >= 0:
            os.close(fd)


def _process(task: Task, base: FileResult, fd: int, t0: float, c0: float) -> FileResult:
    try:
        sniffed = sniff(task.path)
    except BadInput as exc:
        if isinstance(exc, UnsupportedType) and fd >= 0:  # read fine, refused by content: hash it
            with contextlib.suppress(OSError):
                base = dataclasses.replace(base, sha256=_sha256_of(fd))
        if task.path.suffix.lower() not in MEDIA_EXTENSIONS:
            return dataclasses.replace(base, status="skipped", reason=f"not a media file: {exc.message}",
                                       seconds=time.monotonic() - t0)
        return dataclasses.replace(base, status="failed", error=error_line(task.rel, exc),
                                   exit_code=int(exc.exit_code), seconds=time.monotonic() - t0)
    base = dataclasses.replace(base, role=DEFAULT_ROLE.get(sniffed.kind))
    try:
        if fd < 0:
            raise OSError(errno.ENOENT, "No such file or directory")
        # Statted before hashing: a change while we read leaves a newer mtime, so the
        # next run hashes again rather than trusting this one.
        st = os.fstat(fd)
        sha = _sha256_of(fd)
        base = dataclasses.replace(base, input_bytes=st.st_size, mtime_ns=stat_key(st))
    except OSError as exc:
        return dataclasses.replace(base, status="failed",
                                   error=f"{escape_name(task.rel)}: cannot read: {exc.strerror}",
                                   exit_code=int(ExitCode.BAD_INPUT), seconds=time.monotonic() - t0)
    base = dataclasses.replace(base, sha256=sha)
    try:
        if task.time_limit is None and sniffed.kind in ("audio", "video"):
            with contextlib.suppress(MediaprepError):
                info = probe(sniffed, task.profile)
                set_time_limit(default_time_limit(task.profile, getattr(info, "duration", None)))
        # The batch owns DST: its plan gave this input this stem, and the manifest
        # records what it wrote, so a rerun replaces its own earlier outputs.
        result = prepare(task.path, out_dir=task.out_dir, profile=task.profile,
                         options=task.options, stem=task.stem, overwrite=True,
                         measure=task.measure)
        made = result.outputs
        return dataclasses.replace(
            base, status="passed" if made and all(o.passed_through for o in made) else "ok",
            role=result.role, outputs=made,
            attachments=attachments_for(made, result.role, task.options),
            warnings=result.warnings, notices=result.notices, seconds=time.monotonic() - t0,
            cpu_seconds=_cpu_seconds() - c0)
    except MediaprepError as exc:
        error, code = error_line(task.rel, exc), int(exc.exit_code)
    except MemoryError:
        raise
    except OSError as exc:
        error = f"{escape_name(task.rel)}: cannot write output: {exc.strerror}"
        code = int(ExitCode.CANNOT_WRITE)
    except Exception as exc:  # noqa: BLE001 - one bad file never stops the batch
        error = (f"{escape_name(task.rel)}: internal error: {escape_name(type(exc).__name__)}: "
                 f"{escape_name(exc)}")
        code = int(ExitCode.INTERNAL)
    return dataclasses.replace(base, status="failed", error=error, exit_code=code,
                               seconds=time.monotonic() - t0, cpu_seconds=_cpu_seconds() - c0)


def failed_from_outcome(task: Task, outcome: Outcome) -> FileResult:
    """The result of a file whose worker did not return one (killed at its time
    limit, out of memory, crashed, or the job raised)."""
    if outcome.reason == "timeout":
        code, hint = ExitCode.TOOL_FAILED, "the file may be damaged, or raise --timeout"
    elif outcome.reason == "memory":
        code, hint = ExitCode.BAD_INPUT, "the file needs more memory than the profile's memory_mb"
    else:
        code, hint = ExitCode.INTERNAL, "rerun this file alone with --debug and report it"
    return FileResult(input=task.rel, status="failed", role=DEFAULT_ROLE.get(task.kind),
                      input_bytes=task.size, settings=task.settings, stem=task.stem,
                      error=f"{escape_name(task.rel)}: {escape_name(outcome.error)} ({hint})",
                      exit_code=int(code), seconds=outcome.seconds,
                      attachment_style=task.options.attachment_style)
