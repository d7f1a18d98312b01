"""DST/manifest.jsonl: one JSON line per input, and resuming from it.

The parent appends a line (flushed and fsynced) only after the file's outputs are
in place, so every ok line describes outputs that exist; a run killed mid-write
leaves at worst a torn last line, which the next run drops. A rerun skips an input
whose bytes, settings and output stem match its latest line and whose outputs are
still there with the recorded sizes.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import OutputError
from ..model import ROLES, OutputFile, PrepareOptions, Role
from ..output import atomic_path
from ..pipeline import attachments_for
from ..profiles import Profile
from .results import DEFAULT_ROLE, STATUSES, FileResult
from .worker import Task

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


def _line(result: FileResult, dst: Path) -> bytes:
    # json escapes everything outside ASCII and every control character: always one line.
    return (json.dumps(result.to_dict(dst), separators=(",", ":")) + "\n").encode("ascii")


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
        # Held open for the whole run (appended to after every file); close() ends it.
        self.fh: IO[bytes] = os.fdopen(fd, "ab+")
        self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        self.fh.seek(0)
        data = self.fh.read()
        if data and not data.endswith(b"\n"):
            self.fh.truncate(data.rfind(b"\n") + 1)

    def append(self, result: FileResult) -> None:
        try:
            self.fh.write(_line(result, self.dst))
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except OSError as exc:
            raise OutputError(f"cannot write the manifest: {exc.strerror}", path=self.path,
                              hint="free some space and rerun: finished files are kept") from exc

    def rewrite(self, results: Iterable[FileResult]) -> None:
        """At the end of a complete run: exactly one line per input, atomically."""
        self.fh.close()
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as fh:
                for r in results:
                    fh.write(_line(r, self.dst))
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


def resumed(entry: dict[str, Any] | None, task: Task, sha: str, dst: Path) -> FileResult | None:
    """A 'skipped' result carrying the earlier outputs, when nothing would change;
    None when the file must be prepared again."""
    if entry is None or entry.get("status") not in ("ok", "passed", "skipped"):
        return None
    if (entry.get("sha256") != sha or entry.get("settings") != task.settings
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
    for out in outputs:
        try:
            st = os.lstat(out.path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode) or st.st_size != out.bytes:
            return None
    return FileResult(input=task.rel, status="skipped", role=role, input_bytes=task.size,
                      sha256=sha, outputs=outputs,
                      attachments=attachments_for(outputs, role, task.options),
                      warnings=tuple(entry.get("warnings") or ()),
                      reason="unchanged since an earlier run (use --force to redo)",
                      settings=task.settings, stem=task.stem, resumed=True,
                      attachment_style=task.options.attachment_style)
