"""prepare(): sniff -> probe -> fit -> attach, for one file."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import fit
from .attachment import Attachment, placeholder
from .errors import UsageError
from .fit import Fitter
from .model import Fitted, Kind, OutputFile, PrepareOptions, PrepareResult, ProgressFn, Role
from .output import resolve_out_dir
from .preflight.check import default_role, probe
from .preflight.probe import ImageInfo, MediaInfo
from .preflight.sniff import Sniffed, sniff
from .profiles import Profile, get_profile

# Which fitter makes each (content kind, role); audio-only MP4/MKV/WebM count as audio.
_IMAGE_FITTERS: dict[Role, Callable[[], Fitter[ImageInfo]]] = {
    "image": fit.image_fitter,
    "thumb": fit.image_fitter,
}
_AV_FITTERS: dict[tuple[Kind, Role], Callable[[], Fitter[MediaInfo]]] = {
    ("audio", "voice"): fit.voice_fitter,
    ("video", "voice"): fit.voice_fitter,
    ("video", "video"): fit.video_fitter,
    ("video", "thumb"): fit.video_thumb_fitter,
}


def _refuse(kind: str, role: Role, sniffed: Sniffed, info: ImageInfo | MediaInfo) -> UsageError:
    article = "an" if kind[0] in "aeiou" else "a"
    return UsageError(f"{article} {kind} file cannot be prepared as {role}", path=sniffed.path,
                      hint=f"drop --as, or use --as {default_role(sniffed, info)}")


def _fit(sniffed: Sniffed, info: ImageInfo | MediaInfo, profile: Profile, role: Role,
         opts: PrepareOptions, out_dir: Path, progress: ProgressFn | None) -> Fitted:
    if isinstance(info, ImageInfo):
        image_loader = _IMAGE_FITTERS.get(role)
        if image_loader is None:
            raise _refuse(sniffed.kind, role, sniffed, info)
        return image_loader()(sniffed, info, profile, role, opts, out_dir, progress)
    kind: Kind = "audio" if not info.video else sniffed.kind
    av_loader = _AV_FITTERS.get((kind, role))
    if av_loader is None:
        raise _refuse(kind, role, sniffed, info)
    return av_loader()(sniffed, info, profile, role, opts, out_dir, progress)


def attachments_for(outputs: tuple[OutputFile, ...], role: Role,
                    opts: PrepareOptions) -> tuple[Attachment, ...]:
    """One block per media output, in order; a video's block names its part's thumb."""
    if role == "thumb":
        return ()  # a thumb travels inside a video's block, never on its own
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
    as_: Role | None = None,
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
    prof = get_profile(profile)
    path = Path(path)
    sniffed = sniff(path)
    info = probe(sniffed, prof)
    role = opts.as_ or default_role(sniffed, info)
    target_dir = resolve_out_dir(path, Path(out_dir) if out_dir is not None else None)
    fitted = _fit(sniffed, info, prof, role, opts, target_dir, progress)
    warnings = tuple(dict.fromkeys((*sniffed.warnings, *fitted.warnings)))
    if len([o for o in fitted.outputs if o.slot == "media"]) > 1 and opts.media_id:
        warnings += ("--media-id ignored: there are several parts, each needs its own upload",)
    return PrepareResult(input=path, role=role, input_bytes=sniffed.size, outputs=fitted.outputs,
                         attachments=attachments_for(fitted.outputs, role, opts),
                         warnings=warnings, attachment_style=opts.attachment_style)
