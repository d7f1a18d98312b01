"""Plain typed objects passed between stages (no dicts threaded through)."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from .attachment import Attachment, AttachmentStyle

if TYPE_CHECKING:  # a Score is made only when a run measures (mediaprep.measure)
    from .measure.bands import Score

# The words for the closed sets, one meaning each:
# - kind: what the bytes are (from sniffing): image, audio or video;
# - role: what a file is sent as (a profile has limits per role);
# - slot: which id of the attachment block an output fills (media_id or thumb_media_id).
Kind = Literal["image", "audio", "video"]
Role = Literal["image", "voice", "video", "thumb"]
Slot = Literal["media", "thumb"]
KINDS: tuple[Kind, ...] = get_args(Kind)
ROLES: tuple[Role, ...] = get_args(Role)

class Notice(str):
    """A message saying what was done as intended ("GPS location removed", "rotated
    upright"), as opposed to a warning the user may want to act on. Fit stages put
    both in ``Fitted.warnings``; prepare() sorts them into ``PrepareResult.notices``
    and ``.warnings``, so the command line can show them apart and ``-q`` can hide both."""

    __slots__ = ()


# A stage reports progress as (done, total, what) so long work can show a bar.
ProgressFn = Callable[[float, float, str], None]


@dataclass(frozen=True)
class PrepareOptions:
    """How to prepare a file (the CLI's options; the library's keyword arguments)."""
    as_: Role | None = None  # None: the role follows from the content
    media_id: str | None = None
    thumb_media_id: str | None = None
    trim: float | None = None  # keep only the first N seconds; 0 means "the profile's limit"
    split: bool | None = None  # None: the role decides (voice splits, video refuses)
    max_parts: int | None = None
    attachment_style: AttachmentStyle = "table"

    def __post_init__(self) -> None:
        """Every option is checked once, here, whoever made it (CLI, library, batch)."""
        from .attachment import STYLES
        from .errors import UsageError

        if self.as_ is not None and self.as_ not in ROLES:
            raise UsageError(f"unknown --as {self.as_!r}", hint=f"use one of {', '.join(ROLES)}")
        if self.trim is not None and not (isinstance(self.trim, (int, float))
                                          and math.isfinite(self.trim) and self.trim >= 0):
            raise UsageError(f"--trim must be a number of seconds >= 0, not {self.trim!r}",
                             hint="e.g. --trim 60, or --trim alone for the profile's limit")
        if self.max_parts is not None and not (isinstance(self.max_parts, int) and self.max_parts >= 1):
            raise UsageError(f"--max-parts must be a whole number >= 1, not {self.max_parts!r}")
        if self.attachment_style not in STYLES:
            raise UsageError(f"unknown attachment style {self.attachment_style!r}",
                             hint=f"use one of {', '.join(STYLES)}")


@dataclass(frozen=True)
class OutputFile:
    """One file a prepare wrote, with what it is sent as and what it holds."""
    path: Path
    slot: Slot  # a video's thumb fills thumb_media_id; everything else media_id
    role: Role  # what this file is sent as (a video's thumb: "thumb")
    bytes: int
    format: str  # jpeg | amr | mp4 | png | ...
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    quality: int | None = None  # JPEG quality chosen, where it applies
    part: int | None = None  # 1-based part number for split outputs
    passed_through: bool = False  # byte-identical copy of a compliant input
    details: tuple[tuple[str, Any], ...] = ()  # encoder settings chosen, for humans and JSON
    score: Score | None = None  # what the budget cost, when measured (--measure)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": str(self.path), "slot": self.slot, "role": self.role,
                               "bytes": self.bytes,
                               "format": self.format}
        for key, name in (("width", "width"), ("height", "height"), ("duration", "duration_seconds"),
                          ("quality", "quality"), ("part", "part")):
            value = getattr(self, key)
            if value is not None:
                out[name] = round(value, 3) if isinstance(value, float) else value
        if self.passed_through:
            out["passed_through"] = True
        if self.details:
            out["settings"] = dict(self.details)
        if self.score is not None:
            out["score"] = self.score.to_dict()
        return out


@dataclass(frozen=True)
class Fitted:
    """What a fit stage made: the files and anything the user should know."""

    outputs: tuple[OutputFile, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class PrepareResult:
    """One input prepared: its outputs, their attachment blocks, notices and warnings."""
    input: Path
    role: Role  # what the input was prepared as
    input_bytes: int
    outputs: tuple[OutputFile, ...]
    attachments: tuple[Attachment, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)
    attachment_style: AttachmentStyle = "table"
    notices: tuple[str, ...] = ()  # what was done as intended (see Notice)
    profile: str = ""  # the profile's name

    def to_dict(self) -> dict[str, Any]:
        """The `prepare --json` document (mediaprep/schemas/prepare.schema.json)."""
        return {
            "schema": "mediaprep/prepare/1",
            "input": str(self.input),
            "input_bytes": self.input_bytes,
            "profile": self.profile,
            "role": self.role,
            "outputs": [o.to_dict() for o in self.outputs],
            "attachments": [a.to_dict(self.attachment_style) for a in self.attachments],
            "warnings": list(self.warnings),
            "notices": list(self.notices),
        }
