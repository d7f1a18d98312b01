"""How much picture detail a video really has and what its picture costs to code:
the planner's size cap and its cost factor (video_plan.py).

A 1080p file is not always 1080p of detail: footage scaled up from a small
original, a soft phone clip, a forwarded video. Its pixels above the detail it
holds cost bits and show nothing. Measured on bench/video.py's grid (VMAF at 720p
against the source, 1,000,000 B per 15 s): street footage scaled up from 272 lines
scored 89.6 at 426x240 and 80.4 at 960x540, while a pan over a sharp photo scored
89.7 at 960x540 and 88.4 at 640x360. So the planner needs the detail, and this
module measures it on a few keyframes: each is brought to 720 lines (what the
score and a phone show), then down to each ladder size and back up; the PSNR of
that round trip says how much of the picture the size keeps.

Detail is not all: street footage and a photo pan with the same detail need very
different bits per pixel (the street's moving cars and people predict badly). So
the same run encodes a few frames after each sampled keyframe with x264 at a
constant quality, and the bits of the predicted frames say what the motion costs
(``inter_bpp``: street footage 0.024-0.036, a talking head in a car 0.023,
animation 0.014, photo pans 0.005-0.011 on the grid's clips).

``kept_detail`` and ``inter_bpp`` are pure (pictures or text in, numbers out);
``sample`` runs ffmpeg.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

from ..preflight.probe import MediaInfo
from ..preflight.sniff import Sniffed
from ..tools import ffmpeg as ff
from .video_plan import display_size, scaled

VIEW_SHORT = 720  # the short side the round trip is judged at (the grid's VMAF is at 720p)
MAX_STRETCHES = 8  # stretches the probe encodes, one from each of up to 8 keyframes
PROBE_FRAMES = 10  # frames per stretch: a keyframe and 9 that predict from it
PROBE_SHORT = 360  # the probe encode's short side
PROBE_CRF = 26  # its constant quality (x264 veryfast)


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


@dataclass(frozen=True)
class Sampled:
    """What the probe saw: grey frames (short side VIEW_SHORT) for the detail, and
    the bits a quick constant-quality encode spent on the frames between keyframes."""
    frames: list[Image.Image]
    inter_bpp: float | None  # bits per pixel per non-key frame at PROBE_CRF, PROBE_SHORT lines


def _positions(keyframes: Sequence[float], start: float, length: float, step: float) -> list[float]:
    """Up to MAX_STRETCHES keyframe times spread over the stretch (at least
    length/MAX_STRETCHES apart), the stretch's start when none is inside it."""
    positions: list[float] = []
    for k in sorted(k for k in keyframes if start <= k < start + length - PROBE_FRAMES * step):
        if not positions or k - positions[-1] >= length / MAX_STRETCHES:
            positions.append(k)
    return positions[:MAX_STRETCHES] or [start]


def sample(sniffed: Sniffed, info: MediaInfo, start: float, length: float,
           keyframes: Sequence[float], max_pixels: int, timeout: float, scratch: Path) -> Sampled:
    """One ffmpeg run over PROBE_FRAMES frames from each of up to MAX_STRETCHES
    keyframes spread over the stretch (``keyframes``: times from the packets,
    relative to the stream's first). Each stretch is an input of its own seeked to
    its keyframe, so little more than the frames used is decoded (about 0.3 s for
    a 1080p clip however long). The first frame of each stretch comes back grey for
    the detail; all of them go through x264 at a constant quality (keyframe at each
    stretch's start), whose packet sizes say how many bits the motion costs."""
    v = info.default_video
    if v is None:
        return Sampled([], None)
    w, h = display_size(v)  # ffmpeg turns the frames upright (autorotate)
    scale = min(1.0, VIEW_SHORT / max(1, min(w, h)))
    sw, sh = max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)
    pw, ph = scaled(w, h, min(PROBE_SHORT, min(w, h)))
    step = 1.0 / (v.fps if v.fps and 1.0 <= v.fps <= 240.0 else 30.0)
    positions = _positions(keyframes, start, length, step)
    args: list[str] = []
    chains: list[str] = []
    for i, t in enumerate(positions):
        # Half a frame past the keyframe: the seek lands on it, not on the one before.
        src = ff.SafeInput(sniffed.path, sniffed.demuxer or "", start=t + step / 2,
                           duration=(PROBE_FRAMES + 2) * step, max_pixels=max_pixels)
        args += src.args()
        chains.append(f"[{i}:{v.index}]trim=end_frame={PROBE_FRAMES},setpts=PTS-STARTPTS[p{i}]")
    joined = "".join(f"[p{i}]" for i in range(len(positions)))
    graph = ";".join(chains) + (
        f";{joined}concat=n={len(positions)}:v=1:a=0,split=2[c][g];"
        f"[c]scale={pw}:{ph}:flags=bicubic,format=yuv420p[enc];"
        f"[g]select='eq(mod(n\\,{PROBE_FRAMES})\\,0)',scale={sw}:{sh}:flags=bicubic,format=gray[grey]")
    grey = scratch / "probe-grey.raw"
    args += ["-filter_complex", graph,
             "-map", "[enc]", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(PROBE_CRF),
             "-force_key_frames", f"expr:eq(mod(n,{PROBE_FRAMES}),0)", "-x264-params", "scenecut=0",
             *ff.thread_args(), "-f", "framecrc", "-",
             "-map", "[grey]", "-fps_mode", "passthrough", "-f", "rawvideo", ff.input_url(grey)]
    out = ff.run_args(args, timeout=timeout).stdout
    data = grey.read_bytes() if grey.exists() else b""
    size = sw * sh
    frames = [Image.frombytes("L", (sw, sh), data[i:i + size]) for i in range(0, len(data) - size + 1, size)]
    return Sampled(frames, inter_bpp(out.decode("ascii", "replace"), pw * ph))


def inter_bpp(framecrc: str, pixels: int) -> float | None:
    """Bits per pixel of the non-key packets in ffmpeg's framecrc listing (a key
    packet has no ``F=`` flags field); None when there are none."""
    total = count = 0
    for line in framecrc.splitlines():
        if line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 5 or not fields[4].isdigit():
            continue
        if any(f.startswith("F=") for f in fields[6:]):
            total += int(fields[4])
            count += 1
    return total * 8 / (count * pixels) if count and pixels > 0 else None
