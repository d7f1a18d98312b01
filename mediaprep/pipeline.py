"""prepare(): sniff -> probe -> fit -> attach, for one file."""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import fit
from .attachment import Attachment, placeholder
from .errors import MediaprepError, OutputError, UsageError
from .fit import Fitter
from .model import Fitted, Kind, Notice, OutputFile, PrepareOptions, PrepareResult, ProgressFn, Role
from .names import fit_name, output_stem
from .output import WRITE_ERRNOS, OutputSet, resolve_out_dir, write_failure
from .preflight.check import default_role, probe
from .preflight.probe import ImageInfo, MediaInfo
from .preflight.sniff import Sniffed, sniff
from .profiles import Profile, get_profile
from .spool import Stream, is_stream, named_as, spooled

# Which fitter makes each (content kind, role); audio-only MP4/MKV/WebM count as audio.
_IMAGE_FITTERS: dict[Role, Callable[[], Fitter[ImageInfo]]] = {
    "image": fit.image_fitter,
    "thumb": fit.image_fitter,
    "video": fit.animation_fitter,  # an animated GIF/APNG/WebP as an MP4
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


# What a tool says when the folder, not the tool, is at fault.
_WRITE_FAILURE_TEXT = ("No space left on device", "Disk quota exceeded", "Read-only file system",
                       "File too large")


def _fit_writing(sniffed: Sniffed, info: ImageInfo | MediaInfo, profile: Profile, role: Role,
                 opts: PrepareOptions, work_dir: Path, progress: ProgressFn | None,
                 target_dir: Path) -> Fitted:
    """The fit, with a full disk, a quota or a read-only folder reported as what it is
    (exit 7, the folder named), whichever tool or write ran into it."""
    try:
        return _fit(sniffed, info, profile, role, opts, work_dir, progress)
    except OSError as exc:
        if exc.errno in WRITE_ERRNOS:
            raise write_failure(exc, target_dir) from exc
        raise
    except MediaprepError as exc:
        if isinstance(exc, OutputError):
            raise OutputError(exc.message, path=target_dir, hint=exc.hint, detail=exc.detail) from exc
        text = f"{exc.message}\n{exc.detail or ''}"
        for reason in _WRITE_FAILURE_TEXT:
            if reason in text:
                raise OutputError(f"cannot write here: {reason.lower()}", path=target_dir,
                                  hint="nothing was written; free some space or choose another "
                                       "folder with -o") from exc
        raise


def _renamer(produced: str, stem: str | None) -> Callable[[str], str] | None:
    """Staged names start with the input's stem; give them ``stem`` instead."""
    if stem is None or stem == produced:
        return None

    def rename(name: str) -> str:
        return fit_name(stem, name[len(produced):]) if name.startswith(produced) else name

    return rename


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


def _expecting(seconds: float | None) -> contextlib.AbstractContextManager[None]:
    """Audio and video: their duration, for ffmpeg's progress (tools/ffprogress.py);
    a picture runs no ffmpeg, and its prepare does not import the progress reader."""
    if seconds is None:
        return contextlib.nullcontext()
    from .tools import ffprogress

    return ffprogress.expect(seconds)


def prepare(
    path: Path | str | Stream,
    out_dir: Path | str | None = None,
    profile: str | Profile = "wechat",
    as_: Role | None = None,
    *,
    options: PrepareOptions | None = None,
    progress: ProgressFn | None = None,
    stem: str | None = None,
    overwrite: bool = False,
    measure: bool = False,
    name: str | None = None,
    **option_fields: Any,
) -> PrepareResult:
    """Make one file ready to send. Raises a MediaprepError subclass on failure.

    ``path`` is a file's path, or its content: bytes or a binary file object (a web
    upload), with ``name`` (the file's name: outputs are named after it and its
    extension is checked against the content) and ``out_dir`` (see spool.py).
    ``options`` (or keyword fields of PrepareOptions: media_id, thumb_media_id,
    trim, split, max_parts, attachment_style) tune the fit. Outputs are named after
    the input (or ``stem``) and land all together or not at all; a file already
    holding an output's name is an error (exit 7) unless ``overwrite``.
    ``measure``: score each output against the input (see mediaprep.measure);
    nothing written changes, and MissingDependency (exit 3) comes before any work
    when the ``measure`` extra is not installed.
    """
    opts = options or PrepareOptions(as_=as_, **option_fields)
    if options is not None and as_ is not None:
        opts = PrepareOptions(**{**opts.__dict__, "as_": as_})
    prof = get_profile(profile)
    if measure:
        from .measure.outputs import require

        require()  # before any work: exit 3 with the pip command when the extra is missing
    if is_stream(path):
        if name is None:
            raise UsageError("prepare() of bytes or a file object needs name=",
                             hint='e.g. name="photo.heic": outputs are named after it')
        if out_dir is None:
            raise UsageError("prepare() of bytes or a file object needs out_dir=",
                             hint="the folder the outputs go to")
        with spooled(path, name, prof.safety.max_input_bytes) as spool, named_as(spool, name):
            result = _prepare_file(spool, out_dir, prof, opts, progress, stem or output_stem(name),
                                   overwrite, measure)
        return dataclasses.replace(result, input=Path(name))
    assert isinstance(path, (str, Path))
    return _prepare_file(Path(path), out_dir, prof, opts, progress, stem, overwrite, measure)


def _prepare_file(path: Path, out_dir: Path | str | None, prof: Profile, opts: PrepareOptions,
                  progress: ProgressFn | None, stem: str | None, overwrite: bool,
                  measure: bool) -> PrepareResult:
    sniffed = sniff(path)
    info = probe(sniffed, prof)
    role = opts.as_ or default_role(sniffed, info)
    target_dir = resolve_out_dir(path, Path(out_dir) if out_dir is not None else None)
    early = None
    if measure:
        from .measure.outputs import start

        early = start(sniffed, info, role)  # a picture's reference view, made during the fit
    seconds = info.duration if isinstance(info, MediaInfo) else None
    with OutputSet(target_dir, protect=path, overwrite=overwrite) as staged, _expecting(seconds), \
            (early.listening() if early is not None else contextlib.nullcontext()):
        fitted = _fit_writing(sniffed, info, prof, role, opts, staged.dir, progress, target_dir)
        outputs = staged.commit(fitted.outputs, _renamer(output_stem(path), stem))
    measured: tuple[str, ...] = ()
    if measure:
        from .measure.outputs import measure_outputs

        outputs, measured = measure_outputs(sniffed, info, role, prof, outputs, early)
    said = tuple(dict.fromkeys((*sniffed.warnings, *fitted.warnings, *measured)))
    warnings = tuple(str(w) for w in said if not isinstance(w, Notice))
    notices = tuple(str(w) for w in said if isinstance(w, Notice))
    if len([o for o in outputs if o.slot == "media"]) > 1 and opts.media_id:
        warnings += ("--media-id ignored: there are several parts, each needs its own upload",)
    return PrepareResult(input=path, role=role, input_bytes=sniffed.size, outputs=outputs,
                         attachments=attachments_for(outputs, role, opts),
                         warnings=warnings, attachment_style=opts.attachment_style, notices=notices,
                         profile=prof.name)
