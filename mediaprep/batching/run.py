"""Folders: walk SRC, plan outputs, prepare each file in an isolated worker,
record every result in DST/manifest.jsonl, and resume from it.

The parent process walks, sniffs, names outputs and writes the manifest; workers
(mediaprep/isolate.py, or Dask workers with ``scheduler=``) only prepare files.
A worker prepares into a private staging folder beside the final outputs and
renames the finished files into place, so a killed run never leaves a partial file
under a final name; the parent appends a manifest line (flushed and fsynced) only
after that rename, so every ok line describes outputs that exist.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import json
import os
import shutil
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..attachment import Attachment
from ..errors import (
    BadInput,
    ExitCode,
    MediaprepError,
    MissingDependency,
    OutputError,
    UnsupportedType,
    UsageError,
    escape_name,
)
from ..model import ROLES, Kind, OutputFile, PrepareOptions, Role
from ..output import output_stem
from ..preflight.sniff import ALLOWED, sniff
from ..profiles import Profile, get_profile
from .isolate import Job, Outcome, run_jobs, set_time_limit

MANIFEST = "manifest.jsonl"
LOCK = ".mediaprep-batch.lock"
STAGING_PREFIX = ".mediaprep-staging-"
STATUSES = ("ok", "passed", "failed", "skipped")
DASK_CONNECT_TIMEOUT = 15.0  # seconds to reach a scheduler before giving up

# Extensions that promise media: a file with one of these that is not media is a
# failure (a broken export), anything else that is not media is simply skipped
# (README.txt, .DS_Store, sidecar files).
MEDIA_EXTENSIONS = frozenset(ext for info in ALLOWED.values() for ext in info.extensions) | {
    ".heic", ".heif", ".svg", ".mpg", ".mpeg", ".wmv", ".wma", ".flv", ".ts", ".opus",
}

# Relative cost per input byte, for ordering only: encoding a second of video costs
# far more than decoding a photo of the same size. Longest-first keeps a late large
# video from running alone at the end while the other workers sit idle.
_COST_PER_BYTE: dict[Kind, float] = {"video": 20.0, "audio": 4.0, "image": 1.0}

# A guess from the name, for ordering only (the worker sniffs the content).
_KIND_BY_EXT: dict[str, Kind] = {**{ext: info.kind for info in ALLOWED.values() for ext in info.extensions},
                ".mp4": "video", ".m4a": "audio", ".mpg": "video", ".mpeg": "video",
                ".wmv": "video", ".flv": "video", ".ts": "video", ".wma": "audio"}


def kind_from_name(path: Path) -> Kind:
    return _KIND_BY_EXT.get(path.suffix.lower(), "image")


# Content kind -> the role it is prepared as by default; results speak in roles.
_ROLE_OF: dict[Kind, Role] = {"image": "image", "audio": "voice", "video": "video"}


# ---------------------------------------------------------------- walking

@dataclass(frozen=True)
class Found:
    """One entry of the source tree: a file to read, or why it was not read."""

    path: Path  # under the root as given (a symlink keeps its own name)
    rel: Path  # relative to the root
    size: int = 0
    skip: str | None = None  # set: reported and never opened
    error: str | None = None  # set: could not be listed (counts as a failure)


def _not_regular(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def walk(root: Path | str, exclude: Path | str | None = None) -> Iterator[Found]:
    """Every entry under root, sorted, depth first. Only regular files are offered
    for reading: FIFOs, devices and sockets (which could block or never end), and
    symlinks that lead outside root or to a folder, are yielded with ``skip`` set
    and are never opened. A symlink to a regular file inside root is read under its
    own name. ``exclude`` (the output folder, when it lies inside root) is left out."""
    root = Path(root)
    root_real = root.resolve()
    exclude_real = Path(exclude).resolve() if exclude is not None else None
    stack: list[tuple[Path, Path]] = [(root, Path())]
    while stack:
        folder, rel_folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield Found(folder, rel_folder, error=f"cannot list folder: {exc.strerror}")
            continue
        subfolders: list[tuple[Path, Path]] = []
        for entry in entries:
            path, rel = Path(entry.path), rel_folder / entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                yield Found(path, rel, error=f"cannot stat: {exc.strerror}")
                continue
            if stat.S_ISLNK(st.st_mode):
                try:
                    target = path.resolve(strict=True)
                    st = os.stat(path)
                except (OSError, RuntimeError):
                    yield Found(path, rel, skip="broken symlink")
                    continue
                if not target.is_relative_to(root_real) or (
                        exclude_real is not None and target.is_relative_to(exclude_real)):
                    yield Found(path, rel, skip="symlink pointing outside the source folder "
                                "(not followed)")
                elif stat.S_ISDIR(st.st_mode):
                    yield Found(path, rel, skip="symlink to a folder (not followed)")
                elif not stat.S_ISREG(st.st_mode):
                    yield Found(path, rel, skip=f"symlink to a {_not_regular(st.st_mode)} "
                                "(never opened)")
                else:
                    yield Found(path, rel, size=st.st_size)
            elif stat.S_ISDIR(st.st_mode):
                if exclude_real is not None and path.resolve() == exclude_real:
                    continue
                subfolders.append((path, rel))
            elif stat.S_ISREG(st.st_mode):
                yield Found(path, rel, size=st.st_size)
            else:
                yield Found(path, rel, skip=f"{_not_regular(st.st_mode)} (never opened)")
        stack.extend(reversed(subfolders))


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class FileResult:
    """What happened to one input: one line of the manifest."""

    input: Path  # relative to SRC
    status: str  # ok | passed | failed | skipped
    role: Role | None = None  # what it was (or would have been) prepared as; None: not media
    input_bytes: int = 0
    sha256: str | None = None
    outputs: tuple[OutputFile, ...] = ()  # absolute paths
    attachments: tuple[Attachment, ...] = ()
    warnings: tuple[str, ...] = ()
    error: str | None = None  # one line, for failed
    exit_code: int | None = None  # the code a single `mediaprep prepare` would have exited with
    reason: str | None = None  # for skipped: why
    settings: str | None = None  # key of the profile + options it was made with
    stem: str | None = None  # output name stem chosen by the plan
    seconds: float = 0.0  # wall time in the worker
    cpu_seconds: float = 0.0  # CPU time of the worker and the tools it ran
    resumed: bool = False  # skipped because an earlier run already made it
    attachment_style: str = "table"

    @property
    def output_bytes(self) -> int:
        return sum(o.bytes for o in self.outputs)

    def to_dict(self, dst: Path | None = None) -> dict[str, Any]:
        """The manifest line. Output paths are relative to ``dst`` when given."""
        outputs = []
        for o in self.outputs:
            d = o.to_dict()
            if dst is not None:
                with contextlib.suppress(ValueError):
                    d["path"] = str(o.path.relative_to(dst))
            outputs.append(d)
        out: dict[str, Any] = {"input": str(self.input), "status": self.status}
        for key in ("role", "sha256", "error", "exit_code", "reason", "settings", "stem"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["bytes"] = self.input_bytes
        out["outputs"] = outputs
        out["attachments"] = [a.to_dict(self.attachment_style) for a in self.attachments]
        out["warnings"] = list(self.warnings)
        out["seconds"] = round(self.seconds, 3)
        out["cpu_seconds"] = round(self.cpu_seconds, 3)
        if self.resumed:
            out["resumed"] = True
        return out


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


@dataclass(frozen=True)
class BatchResult:
    src: Path
    dst: Path
    files: tuple[FileResult, ...]  # one per input, sorted by input path
    elapsed: float
    jobs: int
    dispatched: int  # files sent to workers (0 on a rerun with nothing to do)
    manifest: Path

    @property
    def failed(self) -> tuple[FileResult, ...]:
        return tuple(f for f in self.files if f.status == "failed")

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.BATCH_FAILURES if self.failed else ExitCode.OK

    def counts(self) -> dict[str, dict[str, int]]:
        """{status: {role: count}} for the summary table."""
        table: dict[str, dict[str, int]] = {s: {} for s in STATUSES}
        for f in self.files:
            role = f.role or "other"
            table[f.status][role] = table[f.status].get(role, 0) + 1
        return table

    def to_dict(self) -> dict[str, Any]:
        return {
            "src": str(self.src), "dst": str(self.dst), "manifest": str(self.manifest),
            "exit_code": int(self.exit_code), "elapsed": round(self.elapsed, 3),
            "jobs": self.jobs, "dispatched": self.dispatched,
            "counts": {s: c for s, c in self.counts().items() if c},
            "bytes_in": sum(f.input_bytes for f in self.files),
            "bytes_out": sum(f.output_bytes for f in self.files),
            "files": [f.to_dict(self.dst.absolute()) for f in self.files],
        }


# ---------------------------------------------------------------- the work of one file

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
    staging: Path  # private folder in out_dir; removed afterwards
    time_limit: float | None  # fixed per-file limit, or None to scale by duration

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


def default_jobs() -> int:
    """The cores this process may use (cgroup/affinity aware where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _cpu_seconds() -> float:
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)  # ffmpeg runs, once reaped
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _final_name(produced: str, prepare_stem: str, stem: str) -> str:
    # prepare() names every output "<safe stem><suffix>" (suffix: .jpg, .thumb.jpg,
    # .part2.amr, ...); keep the suffix, put the planned stem in front.
    if produced.startswith(prepare_stem):
        return stem + produced[len(prepare_stem):]
    return f"{stem}_{produced}"


def process(task: Task) -> FileResult:
    """Prepare one file (runs in a worker). Never raises for a bad file; a
    MemoryError is left to the worker loop, which reports it and retires the worker."""
    from ..pipeline import attachments_for, prepare
    from ..preflight.check import probe

    t0, c0 = time.monotonic(), _cpu_seconds()
    base = dict(input=task.rel, role=None, input_bytes=task.size,
                settings=task.settings, stem=task.stem,
                attachment_style=task.options.attachment_style)
    try:
        sniffed = sniff(task.path)
    except BadInput as exc:
        if isinstance(exc, UnsupportedType):  # read fine, refused by content: still hash it
            with contextlib.suppress(OSError):
                base["sha256"] = file_sha256(task.path)
        if task.path.suffix.lower() not in MEDIA_EXTENSIONS:
            return FileResult(status="skipped", reason=f"not a media file: {exc.message}",
                              seconds=time.monotonic() - t0, **base)  # type: ignore[arg-type]
        return FileResult(status="failed", error=error_line(task.rel, exc),
                          exit_code=int(exc.exit_code), seconds=time.monotonic() - t0,
                          **base)  # type: ignore[arg-type]
    base["role"] = _ROLE_OF.get(sniffed.kind)
    try:
        sha = file_sha256(task.path)
        base["input_bytes"] = task.path.stat().st_size
    except OSError as exc:
        return FileResult(status="failed", error=f"{escape_name(task.rel)}: cannot read: "
                          f"{exc.strerror}", exit_code=int(ExitCode.BAD_INPUT),
                          seconds=time.monotonic() - t0, **base)  # type: ignore[arg-type]
    base["sha256"] = sha
    try:
        task.staging.mkdir()
        if task.time_limit is None and sniffed.kind in ("audio", "video"):
            with contextlib.suppress(MediaprepError):
                info = probe(sniffed, task.profile)
                set_time_limit(default_time_limit(task.profile, getattr(info, "duration", None)))
        result = prepare(task.path, out_dir=task.staging, profile=task.profile,
                         options=task.options)
        prepare_stem = output_stem(task.path)
        outputs = []
        for out in result.outputs:
            final = task.out_dir / _final_name(out.path.name, prepare_stem, task.stem)
            _publish(out.path, final)
            outputs.append(dataclasses.replace(out, path=final))
        _fsync_dir(task.out_dir)
        status = "passed" if outputs and all(o.passed_through for o in outputs) else "ok"
        base["role"] = result.role
        return FileResult(status=status, outputs=tuple(outputs),
                          attachments=attachments_for(tuple(outputs), result.role, task.options),
                          warnings=result.warnings, seconds=time.monotonic() - t0,
                          cpu_seconds=_cpu_seconds() - c0, **base)  # type: ignore[arg-type]
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
    finally:
        shutil.rmtree(task.staging, ignore_errors=True)
    return FileResult(status="failed", error=error, exit_code=code,
                      seconds=time.monotonic() - t0, cpu_seconds=_cpu_seconds() - c0,
                      **base)  # type: ignore[arg-type]


def error_line(rel: Path, exc: MediaprepError) -> str:
    """exc.one_line() naming the input by its path relative to SRC (workers see
    absolute paths; the manifest and the user think in SRC-relative ones)."""
    line = exc.one_line()
    if exc.path is not None and line.startswith(escape_name(exc.path) + ": "):
        line = line[len(escape_name(exc.path)) + 2:]
    return f"{escape_name(rel)}: {line}"


def _publish(tmp: Path, final: Path) -> None:
    """Move a finished output into place, readable like any file the user makes
    (mkstemp creates 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, final)  # same filesystem: atomic


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _failed_from_outcome(task: Task, outcome: Outcome) -> FileResult:
    if outcome.reason == "timeout":
        code, hint = ExitCode.TOOL_FAILED, "the file may be damaged, or raise --timeout"
    elif outcome.reason == "memory":
        code, hint = ExitCode.BAD_INPUT, "the file needs more memory than the profile's memory_mb"
    else:
        code, hint = ExitCode.INTERNAL, "rerun this file alone with --debug and report it"
    return FileResult(input=task.rel, status="failed", role=_ROLE_OF.get(task.kind),
                      input_bytes=task.size, settings=task.settings, stem=task.stem,
                      error=f"{escape_name(task.rel)}: {escape_name(outcome.error)} ({hint})",
                      exit_code=int(code), seconds=outcome.seconds,
                      attachment_style=task.options.attachment_style)


def run_isolated(task: Task) -> FileResult:
    """One file in its own killable, memory-limited process (the Dask task body)."""
    out: list[FileResult] = []

    def done(outcome: Outcome) -> None:
        out.append(outcome.value if outcome.ok else _failed_from_outcome(task, outcome))

    run_jobs([_job(task)], 1, done, memory_mb=task.profile.safety.memory_mb,
             on_kill=lambda job: shutil.rmtree(job.arg.staging, ignore_errors=True))
    return out[0]


def order(tasks: list[Task]) -> list[Task]:
    """Longest expected work first (videos, then audio, then pictures, each by size):
    the last file to start is a short one, so all workers finish close together."""
    return sorted(tasks, key=lambda t: (-t.weight, t.index))


def _job(task: Task) -> Job:
    limit = task.time_limit if task.time_limit is not None else default_time_limit(task.profile)
    return Job(key=task.index, fn=process, arg=task, time_limit=limit)


# ---------------------------------------------------------------- the manifest

def read_manifest(path: Path) -> dict[str, dict[str, Any]]:
    """The latest entry per input. A torn or garbled line (a run killed while
    writing) is ignored."""
    latest: dict[str, dict[str, Any]] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return latest
    except OSError as exc:
        raise OutputError(f"cannot read the manifest: {exc.strerror}", path=path) from exc
    for line in data.split(b"\n"):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("input"), str) \
                and entry.get("status") in STATUSES:
            latest[entry["input"]] = entry
    return latest


class ManifestWriter:
    """Appends one complete line per finished file, flushed and fsynced, so a
    killed run leaves at worst a torn last line, which the next run drops."""

    def __init__(self, path: Path, dst: Path) -> None:
        self.path, self.dst = path, dst
        try:
            # O_NOFOLLOW: a manifest.jsonl symlinked elsewhere is never written through.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot write the manifest: {exc.strerror}", path=path,
                              hint="remove it if it is a symlink") from exc
        self.fh: IO[bytes] = os.fdopen(fd, "ab+")
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        self.fh.seek(0)
        data = self.fh.read()
        if data and not data.endswith(b"\n"):
            self.fh.truncate(data.rfind(b"\n") + 1)

    def append(self, result: FileResult) -> None:
        line = json.dumps(result.to_dict(self.dst), separators=(",", ":")) + "\n"
        try:
            self.fh.write(line.encode("ascii"))  # json escapes everything else: one line always
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write the manifest: {exc.strerror}", path=self.path,
                              hint="free some space and rerun: finished files are kept") from exc

    def rewrite(self, results: Iterable[FileResult]) -> None:
        """At the end of a complete run: exactly one line per input, atomically."""
        from ..output import atomic_path

        self.fh.close()
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                for r in results:
                    fh.write((json.dumps(r.to_dict(self.dst), separators=(",", ":")) + "\n")
                             .encode("ascii"))
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)

    def close(self) -> None:
        if not self.fh.closed:
            self.fh.close()


def _output_from_dict(d: dict[str, Any], dst: Path, role: Role) -> OutputFile:
    # Manifests written before "slot" existed used "role" for media/thumb.
    slot = d.get("slot") or d["role"]
    if slot not in ("media", "thumb"):
        raise ValueError(f"bad slot {slot!r}")
    out_role = d["role"] if "slot" in d else ("thumb" if slot == "thumb" else role)
    if out_role not in ROLES:
        raise ValueError(f"bad role {out_role!r}")
    return OutputFile(path=dst / d["path"], slot=slot, role=out_role,
                      bytes=int(d["bytes"]), format=d["format"], width=d.get("width"),
                      height=d.get("height"), duration=d.get("duration"),
                      quality=d.get("quality"), part=d.get("part"),
                      passed_through=bool(d.get("passed_through")),
                      details=tuple((d.get("settings") or {}).items()))


def _resume(entry: dict[str, Any] | None, task: Task, sha: str, dst: Path) -> FileResult | None:
    """A 'skipped' result carrying the earlier outputs, when nothing would change."""
    if entry is None or entry.get("status") not in ("ok", "passed", "skipped"):
        return None
    if (entry.get("sha256") != sha or entry.get("settings") != task.settings
            or entry.get("stem") != task.stem or not entry.get("outputs")):
        return None
    role = entry.get("role") or entry.get("kind") or _ROLE_OF[task.kind]
    if role not in ROLES:
        return None
    try:
        outputs = tuple(_output_from_dict(o, dst, role) for o in entry["outputs"])
    except (KeyError, TypeError, ValueError):
        return None
    for out in outputs:
        try:
            st = os.lstat(out.path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size != out.bytes:
            return None
    from ..pipeline import attachments_for

    return FileResult(input=task.rel, status="skipped", role=role, input_bytes=task.size,
                      sha256=sha, outputs=outputs,
                      attachments=attachments_for(outputs, role, task.options),
                      warnings=tuple(entry.get("warnings") or ()),
                      reason="unchanged since an earlier run (use --force to redo)",
                      settings=task.settings, stem=task.stem, resumed=True,
                      attachment_style=task.options.attachment_style)


# ---------------------------------------------------------------- planning

def settings_key(profile: Profile, options: PrepareOptions) -> str:
    """Changes when anything that shapes the outputs changes."""
    from .. import __version__

    blob = json.dumps({"mediaprep": __version__, "profile": dataclasses.asdict(profile),
                       "options": dataclasses.asdict(options)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _clashes(a: str, b: str) -> bool:
    # Outputs are "<stem><suffix>" with suffixes like .jpg, .thumb.jpg, .part2.amr,
    # so stems clash when equal or when one is the other plus a dot-suffix.
    # Compared case-folded: DST may be on a case-insensitive filesystem.
    a, b = a.casefold(), b.casefold()
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


# Inputs whose extension is already an output format keep the plain name first.
_NATURAL = (".jpg", ".jpeg", ".mp4", ".amr")


def choose_stems(names: list[Path], taken: Iterable[str] = ()) -> dict[Path, str]:
    """Distinct output stems for the inputs of one folder, the same every run for the
    same folder. An input whose extension is already an output format (photo.jpg)
    is served first, then the rest in byte order; on a clash the input's extension
    is added (photo.png -> photo_png), then a counter. ``taken``: names already used
    in the output folder (sub-folders)."""
    used: list[str] = list(taken)
    chosen: dict[Path, str] = {}
    def rank(p: Path) -> tuple[int, bytes]:
        ext = p.suffix.lower()
        # Sidecars (photo.xmp, IMG_1.AAE) come last: they will not be media anyway.
        return (0 if ext in _NATURAL else 1 if ext in MEDIA_EXTENSIONS else 2, os.fsencode(p.name))

    order = sorted(names, key=rank)
    for path in order:
        base = output_stem(path)
        flat = base.replace(".", "_")  # a dotless stem cannot clash by prefix
        ext = "".join(ch for ch in path.suffix.lower() if ch.isascii() and ch.isalnum())
        candidates = [base, flat] + ([f"{flat}_{ext}"] if ext else [])
        stem = next((c for c in candidates if not any(_clashes(c, u) for u in used)), None)
        n = 2
        while stem is None:  # ends: only finitely many names are taken
            c = f"{candidates[-1]}-{n}"
            stem = None if any(_clashes(c, u) for u in used) else c
            n += 1
        used.append(stem)
        chosen[path] = stem
    return chosen


def _ensure_out_dir(dst: Path, rel_dir: Path, created: list[Path]) -> Path:
    """DST/rel_dir, created; refuses a symlink or non-folder on the way, so nothing
    is ever written outside DST."""
    cur = dst
    for part in rel_dir.parts:
        cur = cur / part
        try:
            st = os.lstat(cur)
        except FileNotFoundError:
            try:
                cur.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create output folder: {exc.strerror}",
                                  path=cur) from exc
            created.append(cur)
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise OutputError("output folder is a symlink or not a folder; refusing to write "
                              "through it", path=cur, hint="remove it from the output folder")
    return cur


def _clean_staging(folder: Path) -> None:
    """Remove staging folders a killed run left behind (they hold only partial work)."""
    with contextlib.suppress(OSError), os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)


@contextlib.contextmanager
def _lock(dst: Path) -> Iterator[None]:
    path = dst / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot write to the output folder: {exc.strerror}", path=dst) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise UsageError("another mediaprep batch is writing to this output folder",
                                 path=dst, hint="wait for it to finish") from exc
            raise
        yield
    finally:
        os.close(fd)


def _decided(found: Found) -> FileResult | None:
    """The result of an entry that is never opened, or None for a file to prepare.
    (The parent never parses a file's bytes: sniffing happens in the worker too.)"""
    if found.skip is not None:
        return FileResult(input=found.rel, status="skipped", reason=found.skip)
    if found.error is not None:
        return FileResult(input=found.rel, status="failed", exit_code=int(ExitCode.BAD_INPUT),
                          error=f"{escape_name(found.rel)}: {found.error}")
    return None


# ---------------------------------------------------------------- the run

def batch(
    src: Path | str,
    dst: Path | str,
    profile: str | Profile = "wechat",
    *,
    jobs: int | None = None,
    force: bool = False,
    options: PrepareOptions | None = None,
    time_limit: float | None = None,
    scheduler: str | None = None,
    progress: ProgressCallback | None = None,
) -> BatchResult:
    """Prepare every media file under ``src`` into ``dst`` (same relative folders),
    in parallel, resumably. Returns one FileResult per input; raises only for
    problems with the whole batch (bad folders, another run holding ``dst``).

    ``jobs``: worker processes (default: the number of usable cores).
    ``force``: redo files an earlier run already made.
    ``time_limit``: seconds per file (default: scaled by media duration).
    ``scheduler``: address of a Dask distributed scheduler to run the files on.
    ``progress``: called with a BatchProgress after each file and on a timer.
    """
    t0 = time.monotonic()
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise UsageError("source is not a folder", path=src,
                         hint="use 'mediaprep prepare' for one file")
    src_real, dst_real = src.resolve(), dst.resolve()
    if dst_real == src_real or src_real.is_relative_to(dst_real):
        raise UsageError("the output folder must not be the source folder or contain it",
                         path=dst, hint="choose a separate output folder")
    if jobs is not None and jobs < 1:
        raise UsageError("--jobs must be at least 1")
    jobs = jobs or default_jobs()
    prof = get_profile(profile)
    opts = options or PrepareOptions()
    settings = settings_key(prof, opts)
    try:
        dst.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder: {exc.strerror}", path=dst) from exc

    with _lock(dst):
        result = _run(src, dst.absolute(), prof, opts, settings, jobs, force, time_limit,
                      scheduler, progress, t0)
    # Paths as the caller gave them (outputs stay absolute).
    return dataclasses.replace(result, src=src, dst=dst, manifest=dst / MANIFEST)


def _plan(src: Path, dst: Path, prof: Profile, opts: PrepareOptions, settings: str,
          time_limit: float | None, created: list[Path]) -> tuple[list[FileResult], list[Task]]:
    decided: list[FileResult] = []
    by_folder: dict[Path, list[Found]] = {}
    for found in walk(src, exclude=dst):
        result = _decided(found)
        if result is not None:
            decided.append(result)
        else:
            by_folder.setdefault(found.rel.parent, []).append(found)
    run_id = uuid.uuid4().hex[:8]
    tasks: list[Task] = []
    for rel_dir, items in by_folder.items():
        try:
            out_dir = _ensure_out_dir(dst, rel_dir, created)
        except OutputError as exc:
            decided.extend(FileResult(input=f.rel, status="failed", input_bytes=f.size,
                                      error=error_line(f.rel, exc), exit_code=int(exc.exit_code))
                           for f in items)
            continue
        _clean_staging(out_dir)
        taken: list[str] = []
        with contextlib.suppress(OSError):  # sub-folder names are taken in the output folder
            taken = [e.name for e in os.scandir(src / rel_dir) if e.is_dir(follow_symlinks=False)]
        stems = choose_stems([f.path for f in items], taken)
        for found in items:
            index = len(tasks)
            tasks.append(Task(index=index, path=found.path.absolute(), rel=found.rel,
                              out_dir=out_dir.absolute(), stem=stems[found.path],
                              kind=kind_from_name(found.path), size=found.size, profile=prof,
                              options=opts, settings=settings,
                              staging=out_dir.absolute() / f"{STAGING_PREFIX}{run_id}-{index}",
                              time_limit=time_limit))
    return decided, tasks


def _run(src: Path, dst: Path, prof: Profile, opts: PrepareOptions, settings: str, jobs: int,
         force: bool, time_limit: float | None, scheduler: str | None,
         progress: ProgressCallback | None, t0: float) -> BatchResult:
    manifest_path = dst / MANIFEST
    previous = {} if force else read_manifest(manifest_path)
    created: list[Path] = []  # output folders this run made (removed again if left empty)
    decided, tasks = _plan(src, dst, prof, opts, settings, time_limit, created)

    # Resume: hash only the inputs an earlier run made (the others are hashed by
    # their worker); threads, since hashlib releases the GIL on large reads.
    candidates = [t for t in tasks if str(t.rel) in previous]
    todo: list[Task] = [t for t in tasks if str(t.rel) not in previous]
    if candidates:
        def resumed(task: Task) -> FileResult | None:
            try:
                return _resume(previous.get(str(task.rel)), task, file_sha256(task.path), dst)
            except OSError:
                return None

        with ThreadPoolExecutor(max_workers=max(2, jobs)) as pool:
            for task, res in zip(candidates, pool.map(resumed, candidates)):
                if res is None:
                    todo.append(task)
                else:
                    decided.append(res)
    todo = order(todo)

    writer = ManifestWriter(manifest_path, dst)
    results: list[FileResult] = []
    state = _Progress(progress, total=len(decided) + len(todo),
                      bytes_total=sum(r.input_bytes for r in decided) + sum(t.size for t in todo),
                      weight_total=sum(t.weight for t in todo), t0=t0)
    try:
        for res in decided:
            writer.append(res)
            results.append(res)
            state.finished(res, weight=0.0)
        by_index = {t.index: t for t in todo}

        def done(task: Task, res: FileResult) -> None:
            writer.append(res)
            results.append(res)
            state.finished(res, weight=task.weight)

        def local_done(outcome: Outcome) -> None:
            task = by_index[outcome.key]
            done(task, outcome.value if outcome.ok else _failed_from_outcome(task, outcome))

        state.running = min(jobs, len(todo))
        state.work_started = time.monotonic()
        if scheduler:
            _run_dask(todo, scheduler, done, state)
        else:
            run_jobs((_job(t) for t in todo), jobs, local_done, memory_mb=prof.safety.memory_mb,
                     on_tick=state.tick,
                     on_kill=lambda job: shutil.rmtree(job.arg.staging, ignore_errors=True))
        results.sort(key=lambda r: os.fsencode(str(r.input)))
        writer.rewrite(results)
    finally:
        writer.close()
        for folder in reversed(created):  # e.g. a folder that held only sidecar files
            with contextlib.suppress(OSError):
                folder.rmdir()
    return BatchResult(src=src, dst=dst, files=tuple(results), elapsed=time.monotonic() - t0,
                       jobs=jobs, dispatched=len(todo), manifest=manifest_path)


class _Progress:
    def __init__(self, callback: ProgressCallback | None, total: int, bytes_total: int,
                 weight_total: float, t0: float) -> None:
        self.callback, self.total, self.bytes_total = callback, total, bytes_total
        self.weight_total, self.t0 = weight_total, t0
        self.done = self.bytes_done = self.failed = self.running = 0
        self.weight_done = 0.0
        self.work_started: float | None = None
        self.last_tick = 0.0

    def _report(self, last: FileResult | None) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        eta = None
        if self.work_started is not None and self.weight_done > 0:
            rate = self.weight_done / max(now - self.work_started, 1e-6)
            eta = (self.weight_total - self.weight_done) / rate
        elif self.done == self.total:
            eta = 0.0
        self.callback(BatchProgress(done=self.done, total=self.total, bytes_done=self.bytes_done,
                                    bytes_total=self.bytes_total, failed=self.failed,
                                    running=min(self.running, self.total - self.done),
                                    elapsed=now - self.t0, eta=eta, last=last))

    def finished(self, res: FileResult, weight: float) -> None:
        self.done += 1
        self.bytes_done += res.input_bytes
        self.weight_done += weight
        self.failed += res.status == "failed"
        self._report(res)

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last_tick >= 0.5:
            self.last_tick = now
            self._report(None)


def _run_dask(tasks: list[Task], address: str, done: Callable[[Task, FileResult], None],
              state: _Progress) -> None:
    """The same tasks on a Dask distributed cluster. Each task still runs its file in
    an isolated child process on the worker (run_isolated), so the time and memory
    limits hold there too. Workers must see SRC and DST at the same paths."""
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise MissingDependency("--scheduler needs dask.distributed",
                                hint="pip install 'mediaprep[dask]'") from exc
    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}",
                         hint="check the address (tcp://host:8786) and that the scheduler runs"
                         ) from exc
    run = uuid.uuid4().hex[:8]
    futures: dict[Any, Task] = {}
    try:
        futures = {client.submit(run_isolated, task, key=f"mediaprep-{run}-{task.index}",
                                 priority=len(tasks) - i, pure=False): task
                   for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            task = futures[future]
            try:
                res = future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker costs one file
                res = _failed_from_outcome(task, Outcome(task.index, False, reason="crashed",
                                                         error=f"Dask task failed: {exc}"))
                shutil.rmtree(task.staging, ignore_errors=True)
            done(task, res)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    finally:
        client.close()
