"""attachment: the block a message request carries for one prepared file.

The form follows the API page's parameter table: ``{"type": "image"|"voice"|"video",
"media_id": ..., ["thumb_media_id": ...]}``. The page's request example shows
``{"type": "media", "media": {"id": ...}}``, copied from another channel's page;
it is offered only behind an explicit option (style "media").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

AttachmentType = Literal["image", "voice", "video"]
# "table": the API page's parameter table; "media": the form of its request example.
AttachmentStyle = Literal["table", "media"]
ATTACHMENT_TYPES: tuple[AttachmentType, ...] = get_args(AttachmentType)
STYLES: tuple[AttachmentStyle, ...] = get_args(AttachmentStyle)


def placeholder(role: str, filename: str) -> str:
    """A media id nobody can mistake for a real one: upload the file, then replace it."""
    return f"<{role}_media_id of {filename}>"


@dataclass(frozen=True)
class Attachment:
    """One attachment block of a message request: the media's type and its ids."""
    type: AttachmentType
    media_id: str
    thumb_media_id: str | None = None

    def to_dict(self, style: AttachmentStyle = "table") -> dict[str, Any]:
        if style == "media":
            block: dict[str, Any] = {"type": "media", "media": {"id": self.media_id}}
            if self.thumb_media_id is not None:
                block["media"]["thumb_id"] = self.thumb_media_id
            return block
        out: dict[str, Any] = {"type": self.type, "media_id": self.media_id}
        if self.thumb_media_id is not None:
            out["thumb_media_id"] = self.thumb_media_id
        return out
