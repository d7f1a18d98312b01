"""prepare(): sniff -> probe -> fit -> attach, for one file."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .attachment import Attachment, placeholder
from .errors import UsageError
from .model import Fitted, OutputFile, PrepareOptions, PrepareResult, ProgressFn
from .output import resolve_out_dir
from .preflight.check import default_role, probe
from .preflight.probe import ImageInfo, MediaInfo
from .preflight.sniff import Sniffed, sniff
from .profiles import ROLES, Profile, get_profile

# (content kind, role) -> "module:function" of the fit stage that makes it.
# Every handler is called as handler(sniffed, info, profile, role, opts, out_dir, progress).
_HANDLERS: dict[tuple[str, str], str] = {
    ("image", "image"): "mediaprep.fit.image:prepare_image",
    ("image", "thumb"): "mediaprep.fit.image:prepare_image",
    ("audio", "voice"): "mediaprep.fit.voice:prepare_voice",
    ("video", "voice"): "mediaprep.fit.voice:prepare_voice",
    ("video", "video"): "mediaprep.fit.video:prepare_video",
    ("video", "thumb"): "mediaprep.fit.video:prepare_thumb",
}


def _handler(sniffed: Sniffed, info: ImageInfo | MediaInfo, role: str) -> Callable[..., Fitted]:
    kind = sniffed.kind
    if isinstance(info, MediaInfo) and not info.video:
        kind = "audio"  # audio-only MP4/MKV/WebM
    key = _HANDLERS.get((kind, role))
    if key is None:
        article = "an" if kind[0] in "aeiou" else "a"
        raise UsageError(f"{article} {kind} file cannot be prepared as {role}", path=sniffed.path,
                         hint=f"drop --as, or use --as {default_role(sniffed, info)}")
    module_name, func = key.split(":")
    return getattr(importlib.import_module(module_name), func)  # type: ignore[no-any-return]


def attachments_for(outputs: tuple[OutputFile, ...], role: str,
                    opts: PrepareOptions) -> tuple[Attachment, ...]:
    """One block per media output, in order; a video's block names its part's thumb."""
    if role == "thumb":
        return ()
    media = [o for o in outputs if o.slot == "media"]
    thumbs = {o.part: o for o in outputs if o.slot == "thumb"}
    single = len(media) == 1
    blocks = []
    for out in media:
        media_id = opts.media_id if (single and opts.media_id) else placeholder(role, out.path.name)
        thumb_id = None
        if role == "video":
            thumb = thumbs.get(out.part)
            thumb_name = thumb.path.name if thumb else out.path.name
            thumb_id = (opts.thumb_media_id if (single and opts.thumb_media_id)
                        else placeholder("thumb", thumb_name))
        blocks.append(Attachment(type=role, media_id=media_id, thumb_media_id=thumb_id))
    return tuple(blocks)


def prepare(
    path: Path | str,
    out_dir: Path | str | None = None,
    profile: str | Profile = "wechat",
    as_: str | None = None,
    *,
    options: PrepareOptions | None = None,
    progress: ProgressFn | None = None,
    **option_fields: Any,
) -> PrepareResult:
    """Make one file ready to send. Raises a MediaprepError subclass on failure.

    ``options`` (or keyword fields of PrepareOptions: media_id, thumb_media_id,
    trim, split, max_parts, attachment_style) tune the fit.
    """
    opts = options or PrepareOptions(as_=as_, **option_fields)
    if options is not None and as_ is not None:
        opts = PrepareOptions(**{**opts.__dict__, "as_": as_})
    if opts.as_ is not None and opts.as_ not in ROLES:
        raise UsageError(f"unknown --as {opts.as_!r}", hint=f"use one of {', '.join(ROLES)}")
    prof = get_profile(profile)
    path = Path(path)
    sniffed = sniff(path)
    info = probe(sniffed, prof)
    role = opts.as_ or default_role(sniffed, info)
    handler = _handler(sniffed, info, role)
    target_dir = resolve_out_dir(path, Path(out_dir) if out_dir is not None else None)
    fitted = handler(sniffed, info, prof, role, opts, target_dir, progress)
    warnings = tuple(dict.fromkeys((*sniffed.warnings, *fitted.warnings)))
    if len([o for o in fitted.outputs if o.slot == "media"]) > 1 and opts.media_id:
        warnings += ("--media-id ignored: there are several parts, each needs its own upload",)
    return PrepareResult(input=path, role=role, input_bytes=sniffed.size, outputs=fitted.outputs,
                         attachments=attachments_for(fitted.outputs, role, opts),
                         warnings=warnings, attachment_style=opts.attachment_style)
