"""DST/manifest.jsonl: one JSON line per input, and resuming from it.

The parent appends a line (flushed and fsynced) only after the file's outputs are
in place, so every ok line describes outputs that exist; a run killed mid-write
leaves at worst a torn last line, which the next run drops. A rerun skips an input
whose settings and output stem match its latest line and whose outputs are still
there with the recorded sizes, when its size and mtime match too (not read at all)
or, failing that, its sha256.

Outputs an earlier line listed that the input no longer makes (fewer parts, or it
failed) are carried as ``stale`` until they are pruned (``--prune``); only paths a
line listed are ever removed.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any

from ..errors import OutputError
from ..measure.bands import Score
from ..model import ROLES, OutputFile, PrepareOptions, Role
from ..output import atomic_path, write_failure
from ..pipeline import attachments_for
from ..profiles import Profile
from .results import DEFAULT_ROLE, STATUSES, FileResult
from .worker import RACY_NS, Task

MANIFEST = "manifest.jsonl"


def settings_key(profile: Profile, options: PrepareOptions) -> str:
    """Changes when anything that shapes the outputs changes."""
    from .. import __version__  # here, not at the top: the package imports this module

    blob = json.dumps({"mediaprep": __version__, "profile": dataclasses.asdict(profile),
                       "options": dataclasses.asdict(options)}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


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


def _line(result: FileResult, dst: Path, src: Path | None = None) -> bytes:
    # json escapes everything outside ASCII and every control character: always one line.
    return (json.dumps(result.to_dict(dst, src), separators=(",", ":")) + "\n").encode("ascii")


def remove_leftover_parts(dst: Path) -> None:
    """Drop the temporary files of a final rewrite that was killed (.manifest.jsonl.*.part);
    only called under the batch lock, so no rewrite of ours is running."""
    prefix = f".{MANIFEST}."
    try:
        entries = list(os.scandir(dst))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(".part"):
            try:
                os.unlink(entry.path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise _failure(exc, dst / entry.name) from exc


def _failure(exc: OSError, path: Path) -> OutputError:
    failure = write_failure(exc, path.parent)
    return OutputError(f"cannot write the manifest: {failure.message.removeprefix('cannot write here: ')}",
                       path=path.parent, hint="free some space and rerun: finished files are kept")


class ManifestWriter:
    """Appends one complete line per finished file, flushed and fsynced, so a
    killed run leaves at worst a torn last line, which the next run drops.
    Used as a context manager: closing never hides the error that ended the run,
    and a close that fails on its own is an OutputError (exit 7) naming the folder."""

    def __init__(self, path: Path, dst: Path, src: Path | None = None) -> None:
        self.path, self.dst, self.src = path, dst, src
        try:
            # O_NOFOLLOW: a manifest.jsonl symlinked elsewhere is never written through.
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o666)
        except OSError as exc:
            raise OutputError(f"cannot write the manifest: {exc.strerror}", path=path,
                              hint="remove it if it is a symlink") from exc
        # Held open for the whole run (appended to after every file); close() ends it.
        self.fh: IO[bytes] = os.fdopen(fd, "ab+")
        try:
            self._drop_torn_tail()
        except OSError as exc:
            self.close(quiet=True)
            raise _failure(exc, path) from exc

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close(quiet=et is not None)

    def _drop_torn_tail(self) -> None:
        self.fh.seek(0)
        data = self.fh.read()
        if data and not data.endswith(b"\n"):
            self.fh.truncate(data.rfind(b"\n") + 1)

    def append(self, *results: FileResult) -> None:
        """The lines of ``results``, in one write and one fsync."""
        if not results:
            return
        try:
            self.fh.write(b"".join(_line(r, self.dst, self.src) for r in results))
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            raise _failure(exc, self.path) from exc

    def rewrite(self, results: Iterable[FileResult]) -> None:
        """At the end of a complete run: exactly one line per input, atomically
        (atomic_path creates the file 0666 less the umask, like the manifest itself)."""
        self.close()
        try:
            with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
                fh.write(b"".join(_line(r, self.dst, self.src) for r in results))
        except OSError as exc:
            raise _failure(exc, self.path) from exc

    def close(self, quiet: bool = False) -> None:
        """``quiet``: another error is already on its way out; a failing close must not
        replace it (the lines that matter were fsynced when appended)."""
        if self.fh.closed:
            return
        try:
            self.fh.close()
        except OSError as exc:
            if not quiet:
                raise _failure(exc, self.path) from exc


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
                      height=d.get("height"), duration=d.get("duration_seconds", d.get("duration")),
                      quality=d.get("quality"), part=d.get("part"),
                      passed_through=bool(d.get("passed_through")),
                      details=tuple((d.get("settings") or {}).items()),
                      score=Score.from_dict(d.get("score")))


def same_stat(entry: dict[str, Any], task: Task) -> bool:
    """Whether the input has the size and mtime its entry recorded (an entry without
    a trusted mtime never matches: the file is hashed instead)."""
    return (isinstance(entry.get("mtime_ns"), int) and entry["mtime_ns"] == task.mtime_ns
            and entry.get("bytes") == task.size)


def resumed(entry: dict[str, Any] | None, task: Task, dst: Path,
            sha: str | None = None) -> FileResult | None:
    """A 'skipped' result carrying the earlier outputs, when nothing would change;
    None when the file must be prepared again (or, without ``sha``, hashed first).
    Without ``sha`` the input is judged by size and mtime alone and never opened."""
    if entry is None or entry.get("status") not in ("ok", "passed", "skipped"):
        return None
    same = same_stat(entry, task) if sha is None else entry.get("sha256") == sha
    if (not same or not entry.get("sha256") or entry.get("settings") != task.settings
            or entry.get("stem") != task.stem or not entry.get("outputs")):
        return None
    # Manifests written before "role" existed called it "kind".
    role = entry.get("role") or entry.get("kind") or DEFAULT_ROLE[task.kind]
    if role not in ROLES:
        return None
    try:
        outputs = tuple(_output_from_dict(o, dst, role) for o in entry["outputs"])
    except (KeyError, TypeError, ValueError):
        return None
    if task.measure and not _measured(outputs, entry):
        return None  # made before --measure was asked for: made (and scored) again
    for out in outputs:
        try:
            st = os.lstat(out.path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size != out.bytes:
            return None
    trusted = time.time_ns() - task.mtime_ns >= RACY_NS  # see worker.stat_key
    return FileResult(input=task.rel, status="skipped", role=role, input_bytes=task.size,
                      sha256=entry["sha256"], mtime_ns=task.mtime_ns if trusted else None,
                      outputs=outputs,
                      attachments=attachments_for(outputs, role, task.options),
                      warnings=tuple(entry.get("warnings") or ()),
                      notices=tuple(entry.get("notices") or ()),
                      reason="unchanged since an earlier run (use --force to redo)",
                      settings=task.settings, stem=task.stem, resumed=True,
                      attachment_style=task.options.attachment_style)


def _measured(outputs: tuple[OutputFile, ...], entry: dict[str, Any]) -> bool:
    """Whether an entry's outputs carry their scores (or say why they could not)."""
    if any(o.score is not None for o in outputs):
        return True
    return any(isinstance(w, str) and w.startswith("quality not measured")
               for w in entry.get("warnings") or ())


def _listed(entry: dict[str, Any]) -> list[tuple[str, int]]:
    """(path, bytes) of every output and stale output an entry lists; malformed items
    are ignored (never trusted with a removal)."""
    out = []
    for item in [*(entry.get("outputs") or ()), *(entry.get("stale") or ())]:
        if isinstance(item, dict) and isinstance(item.get("path"), str) \
                and isinstance(item.get("bytes"), int):
            out.append((item["path"], item["bytes"]))
    return out


def _rel_outputs(result: FileResult, dst: Path) -> set[str]:
    made = set()
    for o in result.outputs:
        try:
            made.add(str(o.path.relative_to(dst)))
        except ValueError:
            continue
    return made


def with_stale(result: FileResult, entry: dict[str, Any] | None, dst: Path) -> FileResult:
    """``result`` listing as stale what ``entry`` (the input's earlier line) listed and
    this result did not make: parts no longer needed, outputs of a file that now fails."""
    if entry is None:
        return result
    made = _rel_outputs(result, dst)
    stale = tuple(dict.fromkeys(item for item in _listed(entry) if item[0] not in made))
    return dataclasses.replace(result, stale=stale) if stale or result.stale else result


def settle_stale(results: list[FileResult], dst: Path, prune: bool) -> list[FileResult]:
    """At the end of a run: drop from the stale lists what another input of this run
    made, what is gone, and what is no longer the file we made (another type or
    size: not ours to remove); with ``prune``, remove the rest and list it as pruned."""
    claimed = set().union(*(_rel_outputs(r, dst) for r in results)) if results else set()
    root = os.path.realpath(dst)
    out = []
    for r in results:
        if not r.stale:
            out.append(r)
            continue
        keep: list[tuple[str, int]] = []
        pruned: list[str] = []
        for rel, size in r.stale:
            parts = PurePosixPath(rel).parts
            if rel in claimed or not parts or PurePosixPath(rel).is_absolute() or ".." in parts:
                continue
            full = dst / rel
            try:
                st = os.lstat(full)
            except OSError:
                continue
            # A symlinked folder on the way could lead outside DST: never follow one.
            if (not stat.S_ISREG(st.st_mode) or st.st_size != size
                    or os.path.realpath(full.parent) != os.path.join(root, *parts[:-1]).rstrip("/")):
                continue
            if prune:
                try:
                    os.unlink(full)
                    pruned.append(rel)
                    continue
                except OSError:
                    pass  # kept listed: the next --prune tries again
            keep.append((rel, size))
        out.append(dataclasses.replace(r, stale=tuple(keep), pruned=tuple(pruned)))
    return out
