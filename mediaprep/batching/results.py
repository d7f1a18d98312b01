"""What a batch reports: one FileResult per input (one manifest line each) and
the BatchResult of the whole run."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from ..attachment import Attachment, AttachmentStyle
from ..errors import ExitCode
from ..model import Kind, OutputFile, Role

# ok: outputs were made; passed: the input already complied and was copied as is;
# failed: see error and exit_code; skipped: not media, never opened, or unchanged
# since an earlier run (see reason).
Status = Literal["ok", "passed", "failed", "skipped"]
STATUSES: tuple[Status, ...] = get_args(Status)

# Content kind -> the role it is prepared as by default; results speak in roles.
DEFAULT_ROLE: dict[Kind, Role] = {"image": "image", "audio": "voice", "video": "video"}


@dataclass(frozen=True)
class FileResult:
    """What happened to one input: one line of the manifest."""

    input: Path  # relative to SRC
    status: Status
    role: Role | None = None  # what it was (or would have been) prepared as; None: not media
    input_bytes: int = 0
    sha256: str | None = None
    outputs: tuple[OutputFile, ...] = ()  # absolute paths
    attachments: tuple[Attachment, ...] = ()
    warnings: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()  # what was done as intended (GPS removed, ...): model.Notice
    error: str | None = None  # one line, for failed
    exit_code: int | None = None  # the code a single `mediaprep prepare` would have exited with
    reason: str | None = None  # for skipped: why
    settings: str | None = None  # key of the profile + options it was made with
    stem: str | None = None  # output name stem chosen by the plan
    seconds: float = 0.0  # wall time in the worker
    cpu_seconds: float = 0.0  # CPU time of the worker and the tools it ran
    resumed: bool = False  # skipped because an earlier run already made it
    mtime_ns: int | None = None  # the input's, when its sha256 was taken (None: hash next time)
    # Outputs an earlier run made for this input that this run did not: (path
    # relative to DST, bytes when made). Removed only with --prune, then in pruned.
    stale: tuple[tuple[str, int], ...] = ()
    pruned: tuple[str, ...] = ()
    attachment_style: AttachmentStyle = "table"

    @property
    def output_bytes(self) -> int:
        return sum(o.bytes for o in self.outputs)

    def to_dict(self, dst: Path | None = None, src: Path | None = None) -> dict[str, Any]:
        """The manifest line. Output paths are relative to ``dst`` when given; ``src``
        (the source folder) is recorded so `mediaprep report DST` finds the inputs."""
        outputs = []
        for o in self.outputs:
            d = o.to_dict()
            if dst is not None:
                with contextlib.suppress(ValueError):
                    d["path"] = str(o.path.relative_to(dst))
            outputs.append(d)
        out: dict[str, Any] = {"input": str(self.input), "status": self.status}
        for key in ("role", "sha256", "mtime_ns", "error", "exit_code", "reason", "settings",
                    "stem"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["bytes"] = self.input_bytes
        out["outputs"] = outputs
        out["attachments"] = [a.to_dict(self.attachment_style) for a in self.attachments]
        out["warnings"] = list(self.warnings)
        if self.notices:
            out["notices"] = list(self.notices)
        out["seconds"] = round(self.seconds, 3)
        out["cpu_seconds"] = round(self.cpu_seconds, 3)
        if self.resumed:
            out["resumed"] = True
        if self.stale:
            out["stale"] = [{"path": p, "bytes": b} for p, b in self.stale]
        if self.pruned:
            out["pruned"] = list(self.pruned)
        if src is not None:
            out["src"] = str(src)
        return out


@dataclass(frozen=True)
class BatchResult:
    """A whole batch run: every input's result, the counts and where the manifest is."""
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
    def made(self) -> tuple[FileResult, ...]:
        """Files whose outputs exist: made by this run (ok, passed) or an earlier one
        (resumed). The byte totals count these, in the summary and the JSON alike."""
        return tuple(f for f in self.files if f.outputs)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.BATCH_FAILURES if self.failed else ExitCode.OK

    def counts(self) -> dict[Status, dict[str, int]]:
        """{status: {role: count}} for the summary table ("other": not media)."""
        table: dict[Status, dict[str, int]] = {s: {} for s in STATUSES}
        for f in self.files:
            role = f.role or "other"
            table[f.status][role] = table[f.status].get(role, 0) + 1
        return table

    def to_dict(self) -> dict[str, Any]:
        """The `batch --json` document (mediaprep/schemas/batch.schema.json)."""
        return {
            "schema": "mediaprep/batch/1",
            "src": str(self.src), "dst": str(self.dst), "manifest": str(self.manifest),
            "exit_code": int(self.exit_code), "elapsed_seconds": round(self.elapsed, 3),
            "jobs": self.jobs, "dispatched": self.dispatched,
            "counts": {s: c for s, c in self.counts().items() if c},
            "bytes_in": sum(f.input_bytes for f in self.made),
            "bytes_out": sum(f.output_bytes for f in self.made),
            "stale": sum(len(f.stale) for f in self.files),
            "pruned": sum(len(f.pruned) for f in self.files),
            "files": [f.to_dict(self.dst.absolute(), self.src.absolute()) for f in self.files],
        }
