"""``--as video`` for an animation (GIF, APNG, animated WebP): an MP4 within the video
budget, with its thumb, every frame shown for as long as the animation says.

WeChat shows only the first frame of an animation sent as an image, so the image
path warns and points here. Pillow decodes the frames (composited as a browser
shows them: disposal and transparency applied, then flattened onto white, as MP4
has no alpha); PyAV writes them once each, with their own timestamps, as a
lossless FFV1 file in the staging folder; the video fit then reads that like any
other video (constant frame rate from its fps filter, size, two passes, thumb).
One loop of the animation is kept: a video plays once.

Bounded like every input: the frame size is checked against the video limits
before any frame is decoded, frames are counted only up to the probe's limit,
and decoding stops as soon as the animation lasts longer than the duration limit.
The video's rate is the one that shows the shortest frame (up to 30 fps).
"""
from __future__ import annotations

import contextlib
import dataclasses
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import LimitExceeded, UsageError
from ..model import Fitted, PrepareOptions, ProgressFn, Role
from ..names import output_stem
from ..preflight.probe import ImageInfo, MediaInfo, open_image, probe_av, quietly
from ..preflight.sniff import Sniffed, sniff
from ..profiles import Profile
from ..tools import av as av_tools
from .image_decode import flatten
from .video import prepare_video
from .video_plan import MAX_FPS

ANIMATED = frozenset({"gif", "png", "webp"})  # APNG is format png with frames
# Browsers show a GIF frame whose delay is under 20 ms (0 and 10 ms are common) for
# 100 ms instead; an animation made for browsers is timed by that rule.
MIN_DELAY_MS = 20
DEFAULT_DELAY_MS = 100


def _delay(im: Image.Image) -> int:
    value = im.info.get("duration")
    try:
        ms = int(round(float(value))) if value is not None else DEFAULT_DELAY_MS
    except (TypeError, ValueError):
        ms = DEFAULT_DELAY_MS
    return DEFAULT_DELAY_MS if ms < MIN_DELAY_MS else ms


@dataclass
class _Timeline:
    """What the frames said while they were decoded (a WebP frame's delay is known
    only once it is decoded)."""

    limit_ms: float
    frames: int = 0
    total_ms: int = 0
    shortest_ms: int = DEFAULT_DELAY_MS


def _frames(im: Image.Image, count: int, timeline: _Timeline) -> Iterator[tuple[Image.Image, int, int]]:
    """Each frame as shown (flattened onto white), the millisecond it starts at and
    how long it is shown."""
    for index in range(count):
        im.seek(index)
        im.load()
        delay = _delay(im)
        yield flatten(im.convert("RGBA")), timeline.total_ms, delay
        timeline.frames += 1
        timeline.total_ms += delay
        timeline.shortest_ms = min(timeline.shortest_ms, delay)
        if timeline.total_ms > timeline.limit_ms:
            raise LimitExceeded(f"the animation lasts longer than our limit of {timeline.limit_ms / 3.6e6:g} h",
                                path=getattr(im, "filename", None), hint="cut it into shorter pieces first")


@dataclass(frozen=True)
class AsVideo:
    """An animation written out as a lossless video: what the video fit reads, and
    what ``--measure`` compares the MP4 with."""

    sniffed: Sniffed  # the lossless file, sniffed
    media: MediaInfo  # its probe, at the rate that shows the shortest frame
    timeline: _Timeline


@contextlib.contextmanager
def as_video(sniffed: Sniffed, info: ImageInfo, profile: Profile, scratch: Path) -> Iterator[AsVideo]:
    """The animation's frames, composited as a browser shows them, written once each
    with their own timestamps as a lossless FFV1 file in a folder under ``scratch``
    (removed on leaving)."""
    if info.format not in ANIMATED or info.frames < 2:
        raise UsageError("a still image cannot be prepared as video", path=sniffed.path,
                         hint="drop --as video: it is sent as an image")
    safety = profile.safety
    if info.width * info.height > safety.max_video_pixels:
        raise LimitExceeded(f"animation frames of {info.width}x{info.height} exceed our video limit of "
                            f"{safety.max_video_pixels:,} pixels", path=sniffed.path,
                            hint="send it as an image (its first frame), or downscale it first")
    timeline = _Timeline(limit_ms=safety.max_duration * 1000)
    with open_image(sniffed, safety) as im, \
            tempfile.TemporaryDirectory(prefix=".scratch-anim-", dir=scratch) as tmp_name:
        # Named after the input: the video fit names its outputs after its source.
        source = Path(tmp_name) / f"{output_stem(sniffed.path)}.mkv"
        av_tools.write_lossless(_frames(im, info.frames, timeline), source, (info.width, info.height))
        video = sniff(source)
        media = probe_av(video, safety)
        # The rate that shows the shortest frame (the average of a variable rate may
        # not): the video plan never goes above its source's rate.
        rate = min(float(MAX_FPS), 1000 / timeline.shortest_ms)
        media = dataclasses.replace(media, video=tuple(dataclasses.replace(v, fps=rate) for v in media.video))
        yield AsVideo(video, media, timeline)


@quietly
def prepare_animation(sniffed: Sniffed, info: ImageInfo, profile: Profile, role: Role,
                      opts: PrepareOptions, out_dir: Path, progress: ProgressFn | None = None) -> Fitted:
    """role is "video": the animation as an MP4 and its thumb."""
    with as_video(sniffed, info, profile, out_dir) as anim:
        fitted = prepare_video(anim.sniffed, anim.media, profile, "video", opts, out_dir, progress)
    timeline = anim.timeline
    note = (f"{info.format.upper()} animation ({timeline.frames} frames, {timeline.total_ms / 1000:.1f} s) "
            "sent as a video, each frame timed as in the animation")
    return Fitted(outputs=fitted.outputs, warnings=(*sniffed.warnings, note, *fitted.warnings))
