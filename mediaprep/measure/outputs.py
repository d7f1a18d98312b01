"""Which score each output of one prepare gets.

Runs after the outputs are committed and only reads: the input, the outputs,
nothing written (the log of libvmaf goes to a pipe). So a measured run writes the
same bytes as an unmeasured one; tests/test_measure.py checks it.

A measurement that fails (a tool error on a strange file) does not undo a good
prepare: the output keeps no score and a warning says why.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MediaprepError, MissingDependency
from ..model import OutputFile, Role
from ..preflight.probe import ImageInfo, MediaInfo
from ..preflight.sniff import Sniffed
from ..profiles import Profile
from ..tools import ffmpeg as ff
from .bands import Score

if TYPE_CHECKING:
    from .image import EarlyReference

# The picture metric's packages: the `measure` extra.
_EXTRA_MODULES = ("cv2",)
PIP_HINT = "pip install 'mediaprep[measure]'"
# PQ and HLG (ffmpeg's transfer numbers 16 and 18), as the video fit tells them.
_HDR_TRANSFERS = (16, 18)


def require() -> None:
    """Raise MissingDependency (exit 3) unless the `measure` extra is installed;
    called before any work, so a run never stops halfway for it."""
    missing = [m for m in _EXTRA_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        names = {"cv2": "opencv-python-headless"}
        raise MissingDependency(
            f"--measure needs {', '.join(names.get(m, m) for m in missing)}, which is not installed",
            hint=f"{PIP_HINT}, or run without --measure")


def _setting(out: OutputFile, key: str) -> object:
    return dict(out.details).get(key)


def _number(value: object, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def start(sniffed: Sniffed, info: ImageInfo | MediaInfo, role: Role) -> EarlyReference | None:
    """Work that can begin before the fit: a picture's reference view, made on a
    spare core while the fit encodes (None where there is nothing to begin: a voice
    note, a video, an animation sent as video). The fit runs in its ``listening()``
    block, to hand over its decode."""
    if not isinstance(info, ImageInfo) or role not in ("image", "thumb"):
        return None
    from ..fit.image_decode import decode_side
    from .image import start_reference

    return start_reference(sniffed.path, info, decode_side(info, by_width=role == "image"))


def _pictures(sniffed: Sniffed, outputs: tuple[OutputFile, ...],
              early: EarlyReference | None) -> dict[int, Score]:
    from .image import score_picture

    scores = {}
    for i, o in enumerate(outputs):
        # The early view serves the first output that needs one; a rare second picture
        # output decodes its own.
        scores[i] = score_picture(sniffed.path, o.path, o.passed_through,
                                  None if o.passed_through else early)
        if not o.passed_through:
            early = None
    return scores


def _videos(sniffed: Sniffed, info: MediaInfo, profile: Profile,
            outputs: tuple[OutputFile, ...]) -> dict[int, Score]:
    from .video import score_video

    if not ff.has_filter("libvmaf"):
        raise MissingDependency(f"the ffmpeg in use ({ff.get_ffmpeg().path}) has no libvmaf filter",
                                hint="unset MEDIAPREP_FFMPEG to use the bundled ffmpeg, which has it")
    v = info.default_video
    media = sorted(((i, o) for i, o in enumerate(outputs) if o.slot == "media"),
                   key=lambda item: item[1].part or 0)
    scores: dict[int, Score] = {}
    start = 0.0  # parts follow each other: each starts where the last one ended ...
    for i, out in media:
        length = out.duration or info.duration
        cut_from, cut_to = _setting(out, "start_seconds"), _setting(out, "end_seconds")
        if isinstance(cut_from, (int, float)) and isinstance(cut_to, (int, float)) and cut_to > cut_from:
            # ... where the fit says it cut them: an output's own length (its audio's
            # frames, its last frame's duration) drifts from the cut by a few frames a
            # part, and part 3 of a 4-minute clip was compared 0.2 s off (VMAF 10).
            start, length = float(cut_from), float(cut_to) - float(cut_from)
        identical = out.passed_through or _setting(out, "encodes") == 0
        scores[i] = score_video(sniffed.path, sniffed.demuxer or "", out.path,
                                width=out.width or (v.width if v else 0),
                                height=out.height or (v.height if v else 0),
                                fps=_number(_setting(out, "fps"), (v.fps if v else None) or 30.0),
                                start=start, duration=length, identical=identical,
                                floor=profile.safety.timeout_floor)
        start += length
    return scores


def _animation(sniffed: Sniffed, info: ImageInfo, profile: Profile,
               outputs: tuple[OutputFile, ...]) -> dict[int, Score]:
    """An animation sent as video (``--as video``): its MP4 against the animation as
    the fit read it, a lossless video of its frames as shown, made again (in a
    folder of the system's temporary space, removed after: nothing is written
    beside the outputs), by VMAF."""
    from ..fit.animation import as_video

    with as_video(sniffed, info, profile, Path(tempfile.gettempdir())) as anim:
        return _videos(anim.sniffed, anim.media, profile, outputs)


def _voices(sniffed: Sniffed, info: MediaInfo, profile: Profile,
            outputs: tuple[OutputFile, ...]) -> dict[int, Score]:
    from .voice import VoicePart, score_voice

    media = [(i, o) for i, o in enumerate(outputs) if o.slot == "media"]
    parts = [VoicePart(o.path, _number(_setting(o, "gain_db"), 0.0), o.passed_through)
             for _, o in media]
    stream = info.default_audio.index if info.default_audio else None
    scores = score_voice(sniffed.path, sniffed.demuxer or "", stream, parts,
                         duration=info.duration, floor=profile.safety.timeout_floor)
    return {i: s for (i, _), s in zip(media, scores, strict=True)}


def measure_outputs(sniffed: Sniffed, info: ImageInfo | MediaInfo, role: Role, profile: Profile,
                    outputs: tuple[OutputFile, ...], early: EarlyReference | None = None,
                    ) -> tuple[tuple[OutputFile, ...], tuple[str, ...]]:
    """``outputs`` with their scores, and warnings for what could not be measured.
    A video's thumb and a thumb made from a video get no score (a still chosen from
    a clip has no one picture to be compared with)."""
    try:
        if isinstance(info, ImageInfo) and role == "video":
            scores = _animation(sniffed, info, profile, outputs)
        elif isinstance(info, ImageInfo):
            scores = _pictures(sniffed, outputs, early)
        elif role == "video":
            v = info.default_video
            if v is not None and v.color_trc in _HDR_TRANSFERS:
                return outputs, ("quality not measured: VMAF compares SDR pictures and this "
                                 "video is HDR (tone-mapped to SDR by the fit)",)
            scores = _videos(sniffed, info, profile, outputs)
        elif role == "voice":
            scores = _voices(sniffed, info, profile, outputs)
        else:
            return outputs, ()
    except MissingDependency:
        raise
    except MediaprepError as exc:
        return outputs, (f"quality not measured: {exc.message}",)
    return tuple(dataclasses.replace(o, score=scores[i]) if i in scores else o
                 for i, o in enumerate(outputs)), ()
