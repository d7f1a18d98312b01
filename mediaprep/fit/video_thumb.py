"""A video's thumb: one representative frame, fitted as a JPEG within the thumb budget.

The encodes pick their thumb during pass 1 (a branch of the same decode); a
pass-through, a remux and ``--as thumb`` pick it with a run of their own here.
"""
from __future__ import annotations

import dataclasses
import io
from pathlib import Path

from PIL import Image

from ..errors import BadInput, CannotComply, ToolFailed, ToolTimeout
from ..model import Fitted, OutputFile, PrepareOptions, ProgressFn, Role
from ..output import output_path
from ..preflight.probe import MediaInfo
from ..preflight.sniff import Sniffed
from ..profiles import Profile
from ..tools import ffmpeg as ff
from ..tools.av import VideoStream
from .image import fit_picture_to_file
from .video_ffmpeg import encode_timeout, is_hdr, max_pixels, scale_filters, source_input
from .video_plan import display_size

THUMB_SCAN_SECONDS = 30.0  # the thumb is picked from the first 30 s of a part
THUMB_SAMPLE_FPS = 2  # frames per second the thumbnail filter compares
THUMB_LONG_SIDE = 1280  # the image fit picks the final size; no need to hand it more


def thumb_filters(v: VideoStream, length: float, tonemap: bool) -> str:
    """ffmpeg's thumbnail filter compares frames sampled at 2 per second over the
    first 30 s and keeps the one closest to the average histogram, so a black
    fade-in or a flash frame is never the thumb."""
    scan = max(0.04, min(length, THUMB_SCAN_SECONDS))
    dw, dh = display_size(v)
    scale = min(1.0, THUMB_LONG_SIDE / max(dw, dh, 1))
    w, h = max(2, round(dw * scale / 2) * 2), max(2, round(dh * scale / 2) * 2)
    n = max(2, min(int(scan * THUMB_SAMPLE_FPS), 60))  # the filter takes n >= 2
    chain = [f"fps={THUMB_SAMPLE_FPS}"] if (v.fps or 30.0) > THUMB_SAMPLE_FPS else []
    chain += [*scale_filters(w, h, tonemap), f"thumbnail=n={n}", "setsar=1", "format=rgb24"]
    return ",".join(chain)


def read_png(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data), formats=["PNG"]) as im:
        im.load()
        rgb: Image.Image = im.convert("RGB")
        return rgb


def grab_frame(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float,
               length: float, tonemap: bool | None = None) -> Image.Image:
    """A representative frame of the stretch, by its own ffmpeg run (encodes pick
    theirs during pass 1 instead; this serves pass-through and --as thumb)."""
    v = info.default_video
    assert v is not None
    if tonemap is None:
        tonemap = is_hdr(v)
    scan = max(0.04, min(length, THUMB_SCAN_SECONDS))
    args = source_input(sniffed, start=start, duration=scan, max_pixels=max_pixels(profile)).args()
    args += ["-map", f"0:{v.index}", "-vf", thumb_filters(v, length, tonemap), "-frames:v", "1",
             "-an", "-sn", "-dn", "-f", "image2pipe", "-c:v", "png", "pipe:1"]
    try:
        res = ff.run_args(args, timeout=encode_timeout(info, scan))
    except ToolTimeout:
        raise
    except ToolFailed:
        if not tonemap:
            raise
        return grab_frame(sniffed, info, profile, start, length, tonemap=False)
    if not res.stdout:
        raise ToolFailed("ffmpeg produced no frame for the thumb", path=sniffed.path,
                         hint="the video stream is empty or damaged", detail=res.stderr)
    try:
        return read_png(res.stdout)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ToolFailed(f"ffmpeg's thumb frame is unreadable: {exc}", path=sniffed.path) from exc


def make_thumb(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float,
                length: float, target: Path, part: int | None,
                picked: Image.Image | None = None) -> OutputFile:
    pic = picked if picked is not None else grab_frame(sniffed, info, profile, start, length)
    out = fit_picture_to_file(pic, profile.thumb.max_bytes, target)
    if out.bytes > profile.thumb.max_bytes:  # fit_jpeg guarantees it; never ship oversize
        target.unlink(missing_ok=True)
        raise CannotComply(f"thumb is {out.bytes:,} bytes", path=sniffed.path)
    return dataclasses.replace(out, part=part)


def prepare_thumb(sniffed: Sniffed, info: MediaInfo, profile: Profile, role: Role,
                  opts: PrepareOptions, out_dir: Path,
                  progress: ProgressFn | None = None) -> Fitted:
    """``--as thumb`` on a video: only the thumb, from a representative frame."""
    if info.default_video is None or info.default_video.packets == 0:
        raise BadInput("no video frames to take a thumb from", path=sniffed.path)
    if "jpeg" not in profile.thumb.formats:
        raise CannotComply(f"profile {profile.name!r} does not accept JPEG thumbs",
                           path=sniffed.path)
    target = output_path(sniffed.path, out_dir, ".thumb.jpg")
    if progress:
        progress(0, 1, "thumb")
    out = make_thumb(sniffed, info, profile, 0.0, info.duration, target, None)
    if progress:
        progress(1, 1, "done")
    return Fitted(outputs=(out,))
