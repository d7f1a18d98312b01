"""The ffmpeg pieces every video run shares (the encodes, the remux, the thumb):
how an input is read, how long a run may take, the filter chains and x264's
arguments. Built as plain argv lists; see tools/ffmpeg.py for why."""
from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from ..preflight.probe import MediaInfo
from ..preflight.sniff import Sniffed
from ..profiles import Profile
from ..tools import ffmpeg as ff
from ..tools.av import VideoStream
from .video_plan import Plan

# Encoder effort (bench/video.py --grid's spare time, measured on a photo pan at
# 960x540@30, 460 kbit/s, VMAF at 720p): medium 85.9, slow 86.5 (+16% pass-2 time),
# slower 86.6 (+115%); on slow, psy-rd 0.5 86.8, aq-strength 0.8 87.0, aq-mode 3 85.9,
# psy off 87.3, psy off + aq-strength 0.8 87.6 (and 3% fewer bytes). Pass 1 keeps
# x264's fast first-pass settings whatever the preset.
PRESET = "slow"  # libx264 preset of both passes
X264_PARAMS = "psy=0:aq-strength=0.8"
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}  # AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67


def is_hdr(v: VideoStream) -> bool:
    return v.color_trc in HDR_TRANSFERS


def encode_timeout(info: MediaInfo, length: float) -> float:
    """Scaled to the seconds of source decoded and its pixel rate (4K60 costs ~8x 1080p30)."""
    v = info.default_video
    pixels = (v.width * v.height) if v else 0
    fps = min(v.fps or 30.0, 120.0) if v else 30.0
    per_second = 4.0 + 12.0 * (pixels / (1920 * 1080)) * (fps / 30.0)
    return ff.timeout_for(length, per_second=per_second, floor=120.0)


def source_input(sniffed: Sniffed, *, start: float | None = None, duration: float | None = None,
                 max_pixels: int | None = None) -> ff.SafeInput:
    """The input file as every ffmpeg run here reads it (demuxer forced, file only)."""
    return ff.SafeInput(sniffed.path, sniffed.demuxer or "", start=start, duration=duration,
                        max_pixels=max_pixels, decoder=sniffed.decoder)


def max_pixels(profile: Profile) -> int:
    return profile.safety.max_video_pixels


def fps_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def scale_filters(w: int, h: int, tonemap: bool) -> list[str]:
    """Resize to w x h; with ``tonemap`` (and the zscale and tonemap filters in this
    ffmpeg) HDR is converted to BT.709 SDR on the way: linearise (nominal peak
    100 nits), BT.709 primaries, Hable's curve without desaturation, then BT.709
    transfer and matrix in TV range, so PQ/HLG does not play washed out."""
    if tonemap and ff.has_filter("zscale") and ff.has_filter("tonemap"):
        return [f"zscale=w={w}:h={h}:t=linear:npl=100", "format=gbrpf32le", "zscale=p=bt709",
                "tonemap=hable:desat=0", "zscale=t=bt709:m=bt709:r=tv"]
    # out_range=tv: a full-range source (yuvj420p, many phones and webcams) is
    # converted to the TV range every H.264 player assumes, not copied level for level.
    return [f"scale={w}:{h}:flags=lanczos:out_range=tv"]


def video_filters(plan: Plan, hdr: bool) -> str:
    """The filter chain after ffmpeg's autorotate: constant frame rate first (fewer
    frames to scale), then size (tone-mapping HDR), then 8-bit 4:2:0; 10-bit SDR
    just drops to 8 bits.

    The frame rate is made constant from time 0 (``start_time=0``): a video track
    that starts after the audio (a camera's or muxer's delay, 0.08 s is common) gets
    its first frame repeated up to 0, here, once. Left to ffmpeg's output stage,
    each output pads by its own rule (a raw file CFR-pads, the null muxer of x264's
    first pass does not), so the two outputs of pass 1 got 25 and 23 frames and
    pass 2 failed ("2nd pass has more frames than 1st pass", "Incomplete MB-tree
    stats file")."""
    chain = [f"fps={fps_text(plan.fps)}:start_time=0", *scale_filters(plan.width, plan.height, hdr),
             "setsar=1", "format=yuv420p"]
    return ",".join(chain)


# Every output of the encodes takes the filter's frames as they are, one each:
# frame counts never depend on an output format's own timestamp rules.
SAME_FRAMES = ["-fps_mode", "passthrough"]


def x264_args(bitrate: int, pass_no: int, passlog: Path, fps: Fraction) -> list[str]:
    # Main profile (no 8x8 transform, no High-only tools) for old clients; keyframe
    # every 10 s: at these rates every I-frame is expensive.
    return ["-c:v", "libx264", "-preset", PRESET, "-x264-params", X264_PARAMS,
            "-profile:v", "main", "-pix_fmt", "yuv420p",
            "-b:v", str(int(bitrate)), "-pass", str(pass_no), "-passlogfile", str(passlog),
            "-g", str(max(1, int(round(float(fps) * 10)))), *ff.thread_args()]


# x264 refuses a two-pass target below what its first pass measured the headers and
# skipped blocks to need, and says how much that is.
_X264_LEAST = re.compile(r"requested bitrate is too low\. estimated minimum is (\d+) kbps")


def x264_least_bitrate(stderr: str | None) -> int | None:
    """The least bitrate (bits/s) x264 said it would take, from a failed run's stderr."""
    found = _X264_LEAST.search(stderr or "")
    return (int(found.group(1)) + 1) * 1000 if found else None
