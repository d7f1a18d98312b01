"""How much picture detail a video really has: the input to the planner's size cap.

A 1080p file is not always 1080p of detail: footage scaled up from a small
original, a soft phone clip, a forwarded video. Its pixels above the detail it
holds cost bits and show nothing. Measured on bench/video.py's grid (VMAF at 720p
against the source, 1,000,000 B per 15 s): street footage scaled up from 272 lines
scored 89.6 at 426x240 and 80.4 at 960x540, while a pan over a sharp photo scored
89.7 at 960x540 and 88.4 at 640x360. So the planner needs the detail, and this
module measures it on a few keyframes: each is brought to 720 lines (what the
score and a phone show), then down to each ladder size and back up; the PSNR of
that round trip says how much of the picture the size keeps.

``kept_detail`` is pure (pictures in, numbers out); ``sample_frames`` runs ffmpeg.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageChops, ImageStat

from ..preflight.probe import MediaInfo
from ..preflight.sniff import Sniffed
from ..tools import ffmpeg as ff
from .video_plan import display_size

VIEW_SHORT = 720  # the short side the round trip is judged at (the grid's VMAF is at 720p)
MAX_FRAMES = 8  # keyframes sampled: enough for the median, cheap to decode (keyframes only)


def kept_detail(frames: Sequence[Image.Image], shorts: Sequence[int]) -> dict[int, float]:
    """PSNR (dB) of a frame against itself scaled to short side ``s`` and back, for
    each ``s`` in ``shorts``: the lowest over the frames (the most detailed frame
    decides, so a clip that is partly sharp keeps its size). 99: nothing lost."""
    out: dict[int, float] = {}
    for s in shorts:
        values: list[float] = []
        for f in frames:
            w, h = f.size
            scale = s / min(w, h)
            if scale >= 1.0:
                values.append(99.0)
                continue
            small = f.resize((max(2, round(w * scale)), max(2, round(h * scale))), Image.Resampling.LANCZOS)
            back = small.resize((w, h), Image.Resampling.BICUBIC)
            rms = ImageStat.Stat(ImageChops.difference(f, back)).rms[0]
            values.append(99.0 if rms < 1e-3 else min(99.0, 20 * math.log10(255.0 / rms)))
        out[s] = min(values, default=99.0)
    return out


def sample_frames(sniffed: Sniffed, info: MediaInfo, start: float, length: float,
                  max_pixels: int, timeout: float) -> list[Image.Image]:
    """Up to MAX_FRAMES keyframes spread over the stretch, grey, short side VIEW_SHORT
    (or the source's own when smaller). Only keyframes are decoded (-skip_frame
    nokey): about 0.5 s for a 1080p clip. Empty when ffmpeg gives nothing."""
    v = info.default_video
    if v is None:
        return []
    w, h = display_size(v)  # ffmpeg turns the frames upright (autorotate)
    scale = min(1.0, VIEW_SHORT / max(1, min(w, h)))
    sw, sh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
    src = ff.SafeInput(sniffed.path, sniffed.demuxer or "", start=start, duration=length,
                       max_pixels=max_pixels)
    args = ["-skip_frame", "nokey", *src.args(), "-map", f"0:{v.index}", "-an", "-sn", "-dn",
            # Keyframes at least length/MAX_FRAMES apart: spread over the stretch.
            "-vf", f"select='isnan(prev_selected_t)+gte(t-prev_selected_t\\,{length / MAX_FRAMES:.3f})',"
            f"scale={sw}:{sh}:flags=bicubic,format=gray", "-fps_mode", "passthrough",
            "-frames:v", str(MAX_FRAMES), "-f", "rawvideo", "-"]
    data = ff.run_args(args, timeout=timeout).stdout
    size = sw * sh
    return [Image.frombytes("L", (sw, sh), data[i:i + size]) for i in range(0, len(data) - size + 1, size)]
