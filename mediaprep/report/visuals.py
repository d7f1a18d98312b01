"""The pictures of one report row: small before/after thumbnails, a video's frame
strip, a voice note's waveform, and the input's size or duration.

Made from the files themselves (the input under SRC, the outputs under DST) in
batching.isolate's killable workers: a report of 10,000 files reads 10,000 inputs
again, and one that hangs a decoder must cost its row's pictures, not the report.
``make_visuals`` never raises; what it cannot read is simply left out.

Everything is small on purpose (a 10,000-row report must stay under ~30 MB):
thumbnails fit 64 px and are WebP at quality 50 (~0.4-1 KB), a strip is four
frames 32 px high, a waveform is 160 peak values drawn by the page itself.
"""
from __future__ import annotations

import base64
import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

THUMB_PX = 64
STRIP_FRAMES = 4
STRIP_PX = 32
WAVE_POINTS = 160
_WEBP_QUALITY = 50


@dataclass(frozen=True)
class VisualTask:
    """What one row needs drawn; absolute paths, decided in the parent."""

    index: int
    role: str | None
    source: Path | None  # None: the source folder is unknown (no "before" pictures)
    media: tuple[Path, ...] = ()  # the media outputs, in part order
    media_seconds: float = 0.0  # the first media output's duration
    thumb: Path | None = None  # a video's first thumb


@dataclass(frozen=True)
class Visuals:
    """A report row's pictures: before and after, a video's frame strip, a voice note's waveform."""
    before: str | None = None  # data: URIs
    after: str | None = None
    strip: str | None = None
    wave: tuple[int, ...] = ()  # peak per slice of the input, 0-100
    wave_seconds: float = 0.0
    width: int | None = None  # the input as a phone shows it
    height: int | None = None
    duration: float | None = None


def _uri(im: Image.Image) -> str:
    buf = io.BytesIO()
    im.save(buf, "WEBP", quality=_WEBP_QUALITY, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def picture_thumb(path: Path, px: int = THUMB_PX) -> tuple[str, int, int]:
    """A thumbnail data: URI, and the picture's size as a phone shows it."""
    with Image.open(path) as im:
        if getattr(im, "n_frames", 1) > 1:
            im.seek(0)
        w, h = im.size
        if im.getexif().get(0x0112) in (5, 6, 7, 8):  # EXIF orientation: turned a quarter
            w, h = h, w
        im.draft("RGB", (px * 2, px * 2))  # a JPEG decodes at 1/8 scale when that is enough
        view = ImageOps.exif_transpose(im)
        if view.mode in ("RGBA", "LA", "PA", "P"):
            rgba = view.convert("RGBA")
            view = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
        view = view.convert("RGB")
        view.thumbnail((px, px), Image.Resampling.LANCZOS)
        return _uri(view), w, h


def video_strip(path: Path, duration: float) -> str | None:
    """Four frames of a video output side by side, one ffmpeg run."""
    from ..tools import ffmpeg as ff

    if duration <= 0:
        return None
    # 4.2 frames per clip length: four picked early, a quarter apart, then tiled.
    chain = f"fps={STRIP_FRAMES + 0.2}/{duration:.3f},scale=-2:{STRIP_PX},tile={STRIP_FRAMES}x1"
    res = ff.run_args([*ff.SafeInput(path, "mp4").args(), "-vf", chain, "-frames:v", "1", "-an",
                       "-f", "image2pipe", "-c:v", "png", "pipe:1"], timeout=60.0)
    if not res.stdout:
        return None
    with Image.open(io.BytesIO(res.stdout)) as im:
        return _uri(im.convert("RGB"))


def waveform(path: Path, demuxer: str, stream: int | None, duration: float | None) -> tuple[tuple[int, ...], float]:
    """Peak level of WAVE_POINTS slices of the input's speech (8 kHz mono), 0-100."""
    from ..fit.voice_plan import SAMPLE_RATE
    from ..measure.voice import decode_pcm

    samples = decode_pcm(path, demuxer, stream, duration=duration)
    if not len(samples):
        return (), 0.0
    n = min(WAVE_POINTS, len(samples))
    edges = np.linspace(0, len(samples), n + 1).astype(np.int64)
    peaks = np.maximum.reduceat(np.abs(samples.astype(np.int32)), edges[:-1])
    scaled = np.minimum(100, np.round(peaks * 100 / 32768)).astype(int)
    return tuple(int(v) for v in scaled), len(samples) / SAMPLE_RATE


def _input_facts(source: Path) -> tuple[int | None, int | None, float | None, str, int | None]:
    """Width, height (as shown), duration, demuxer and audio stream of the input,
    by mediaprep's own sniff and probe."""
    from ..preflight.check import probe
    from ..preflight.probe import ImageInfo
    from ..preflight.sniff import sniff
    from ..profiles import get_profile

    sniffed = sniff(source)
    info = probe(sniffed, get_profile("wechat"))
    if isinstance(info, ImageInfo):
        w, h = info.display_size
        return w, h, None, "", None
    v = info.default_video
    a = info.default_audio
    return (v.width if v else None, v.height if v else None, info.duration,
            sniffed.demuxer or "", a.index if a else None)


def make_visuals(task: VisualTask) -> Visuals:
    """Everything the row can show; whatever fails to read is left out."""
    out: dict[str, object] = {}
    demuxer, stream = "", None
    if task.source is not None:
        with contextlib.suppress(Exception):
            w, h, duration, demuxer, stream = _input_facts(task.source)
            out.update(width=w, height=h, duration=duration)
    if task.role in ("image", "thumb") and task.thumb is None:
        if task.source is not None:
            with contextlib.suppress(Exception):
                out["before"] = picture_thumb(task.source)[0]
        if task.media:
            with contextlib.suppress(Exception):
                out["after"] = picture_thumb(task.media[0])[0]
    elif task.role == "video":
        if task.thumb is not None:
            with contextlib.suppress(Exception):
                out["after"] = picture_thumb(task.thumb)[0]
        if task.media:
            with contextlib.suppress(Exception):
                out["strip"] = video_strip(task.media[0], task.media_seconds)
    elif task.role == "voice" and task.source is not None and demuxer:
        with contextlib.suppress(Exception):
            dur = out.get("duration")
            wave, seconds = waveform(task.source, demuxer, stream, dur if isinstance(dur, float) else None)
            out.update(wave=wave, wave_seconds=seconds)
    return Visuals(**out)  # type: ignore[arg-type]
