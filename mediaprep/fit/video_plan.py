"""The video plan: size, frame rate, audio and bitrates for a byte budget.

Pure functions of the probe result, the profile's budget and (when measured) the
source's real detail: no ffmpeg, no files, so every choice here is unit-tested
without encoding anything.

Why a ladder: at 1,000,000 bytes a 30 s clip has about 260 kbit/s for everything.
Spent on 1080p pixels that is ~0.004 bits per pixel and the picture is blocks; the
same bits at 640x360 are clean. What the bits buy was measured with bench/video.py
--grid (two-pass x264 over 1280x720 .. 426x240 x 30/24/15 fps, VMAF at 720p against
the source) and fitted on its fitting clips:
- The best size spends fewer bits per pixel than the 0.035 this planner used to aim
  at, and fewer still when the rate is low: a sharp photo pan at 460 kbit/s of video
  peaked at 960x540@30 (0.030 bpp, VMAF 89.7; 0.035's 854x480 89.6, 1280x720 88.2),
  at 129 kbit/s at 640x360@30 (0.019 bpp, 72.7; the 0.035 rule's 640x360@15 70.2).
  Earlier grids agree: 1280x720@30 at 0.026 for 10 s of 2160p, 960x540@15 at 0.017
  for 45 s of 1080p. So the target is TARGET_BPP_LOW at LOW_RATE and below, rising
  to TARGET_BPP_HIGH at HIGH_RATE and above (log-linear between).
- Fewer frames cost more than fewer pixels on moving pictures: on the pan 24 fps
  lost 4 VMAF and 15 fps 11 at 460 kbit/s against 30 fps at the same size, so 30 fps
  is kept down to a 360-line picture (MIN_SHORT_AT_RUNG).
- A source with little real detail (scaled up from a small original) wants far
  fewer pixels: street footage upscaled from 272 lines scored 87.8 at 426x240@30
  and 81.3 at 960x540@30 (every frame scored: that footage is 25 fps made 30, and
  scoring every 3rd frame let 15 fps look best, 89.6). video_detail.py measures
  that detail; ``detail_cap`` turns it into the largest size worth sending.
- Detail is not the whole cost: footage whose motion predicts badly (a street
  scene) needs more bits per pixel than a photo pan of the same detail. The same
  probe encodes a few frames at a constant quality; ``cost_factor`` turns their
  bits into a multiplier on the target (COMPLEX_BPP).
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

from ..preflight.probe import MediaInfo
from ..tools.av import VideoStream

# Short side of the output (720p -> 540p -> 480p -> 360p -> 240p); for a portrait
# video the short side is its width, so 1080x1920 becomes 360x640, not 202x360.
LADDER_SHORT = (720, 540, 480, 360, 240)
MAX_FPS = Fraction(30)
LOWER_FPS = (Fraction(24), Fraction(15))
# The smallest short side we accept at each fps rung before trying a lower fps (see
# the module docstring: on the grid 30 fps beat 24 and 15 at every size of 360+).
MIN_SHORT_AT_RUNG = (360, 240, 0)

MIN_VIDEO_BITRATE = 6000  # bits/s: below this x264 cannot honour the target at any size
# Video bits per pixel per frame aimed at (H.264 two-pass), by the video bit rate:
# the grid's best points (module docstring) sit at 0.017-0.019 around 130 kbit/s and
# 0.026-0.030 from 460 kbit/s up; 0.025 keeps 1280x720@30 at 710 kbit/s (0.026).
TARGET_BPP_LOW, LOW_RATE = 0.018, 130_000
TARGET_BPP_HIGH, HIGH_RATE = 0.025, 460_000
# What the picture costs to code: video_detail.sample's ``inter_bpp`` (bits per pixel
# of the frames between keyframes, x264 veryfast CRF 26 at 360 lines). Up to
# COMPLEX_BPP the targets above hold (the photo pans they were fitted on cost
# 0.005-0.011, animation 0.014); above it the target rises in proportion (capped at
# COST_FACTOR_MAX): on the grid (every frame scored), street footage costing 0.024
# at 130 kbit/s and 0.031 at 460 scored best at 426x240@30 (87.8 at 460 kbit/s, 85.9
# at 640x360@30), where a talking head in a car costing 0.023 at 200 kbit/s
# peaked at 640x360@30 (78.1; 426x240 74.4). Such footage also keeps 30 fps at 240
# lines rather than dropping frames (24 fps: 78.7 at 426x240, 15 fps lower still).
COMPLEX_BPP = 0.02
COST_FACTOR_MAX = 3.0
# On a picture that costs no more than COMPLEX_BPP, the detail cap below is one rung
# too low: what a 48 dB round trip still loses is fine texture, which VMAF at 720p
# sees and such a picture can afford. At 460 kbit/s the fitted photo pans peaked at
# 960x540 (86.2; 854x480 85.5), 1280x720 (87.6; 854x480 85.7), and 960x540 or
# 854x480 (89.6 both) for the one the 48 dB cap holds to 480 lines.
# Costly footage keeps the cap: street footage scaled up from 272 lines (cap 240)
# scored 87.8 at 426x240@30 and 85.9 at 640x360@30.
# A size keeps the picture when scaling a 720-line frame down to it and back loses
# less than this (PSNR, dB, of the most detailed keyframe sampled; video_detail.py).
# Measured on the grid's sources: the 272-line street footage keeps 48.8 dB at 240
# lines (best grid size 426x240), the softest photo pan 43.8 at 240 and 48.8 at 480
# (best 960x540, 854x480 within 0.1 VMAF), a sharp pan 33.8 at 240.
DETAIL_KEPT_DB = 48.0
# The watchability floor: the lowest rung (240p, 15 fps) must get at least this.
# At 1,000,000 bytes with 24k audio that is about 140 s of video (VMAF ~30 on
# moving footage, still recognisable); below it we refuse unless --split/--trim.
FLOOR_BPP = 0.018

# Rate control and container: x264's two-pass lands within a few percent of its
# target (+0.9% on the bench's 15 s clip); the mp4 index (stts/stsz/stco/ctts/stss) grows with the sample count.
RATE_MARGIN = 0.98
# Measured on the bench's 120 s output (67 KB of index, 7% of the file): ffmpeg's
# mov muxer interleaves one video frame per chunk, so with sound every video frame
# costs a chunk offset in both tracks and an audio stsc entry.
MOOV_FIXED = 3000  # ftyp + moov headers, two tracks, edit lists
MOOV_PER_VIDEO_FRAME = 12  # stsz 4 + ctts 8 (B-frames)
MOOV_PER_INTERLEAVED_FRAME = 20  # with audio: stco 4 + 4, audio stsc 12
MOOV_PER_AUDIO_FRAME = 4  # stsz
AAC_FRAME_SAMPLES = 1024


@dataclass(frozen=True)
class AudioPlan:
    """The AAC track's settings in a video plan."""
    bitrate: int  # bits per second
    sample_rate: int
    channels: int


# (minimum total kbit/s available, audio kbit/s, sample rate, max channels). AAC-LC
# (the only AAC every WeChat client plays); mono is fine at these rates, and every
# bit not spent on a second channel goes to the picture.
AUDIO_LADDER: tuple[tuple[int, int, int, int], ...] = (
    (1500, 128, 48000, 2),
    (600, 64, 44100, 1),
    (250, 48, 44100, 1),
    (120, 32, 32000, 1),
    (0, 24, 24000, 1),
)


@dataclass(frozen=True)
class Plan:
    """What a video encode aims at: size, frame rate, bitrates and the byte budget."""
    duration: float  # seconds encoded
    budget: int  # bytes the whole file may take
    width: int
    height: int
    fps: Fraction
    audio: AudioPlan | None
    overhead: int  # container bytes budgeted
    video_bitrate: int  # bits per second for the video stream (first attempt)
    bpp: float  # video bits per pixel per frame at that rate
    watchable: bool  # the smallest picture at the lowest rate is at or above the floor

    @property
    def frames(self) -> int:
        return max(1, math.ceil(self.duration * float(self.fps)))

    @property
    def audio_bytes(self) -> int:
        return 0 if self.audio is None else int(self.audio.bitrate * self.duration / 8)


def display_size(v: VideoStream) -> tuple[int, int]:
    """Width and height as shown: ffmpeg's autorotate turns 90/270 on their side."""
    if v.rotation in (90, 270):
        return v.height, v.width
    return v.width, v.height


def fps_rungs(src_fps: float | None) -> tuple[Fraction, ...]:
    """The frame rates worth trying, highest first; never above the source's."""
    # An unknown or absurd rate (VFR headers): assume a phone's 30.
    src = MAX_FPS if src_fps is None or not 1.0 <= src_fps <= 240.0 else Fraction(src_fps).limit_denominator(1001)
    top = min(src, MAX_FPS)
    rungs = [top]
    for rate in LOWER_FPS:
        # Skip a rung too close to the one above (25 -> 24 buys nothing).
        if rate < rungs[-1] * Fraction(9, 10):
            rungs.append(rate)
    return tuple(rungs)


def even(x: float) -> int:
    return max(2, int(round(x / 2.0)) * 2)


def scaled(src_w: int, src_h: int, short: int) -> tuple[int, int]:
    """Even dimensions with the source's aspect and the given short side."""
    if src_w <= src_h:
        w = even(short)
        h = even(src_h * w / src_w)
    else:
        h = even(short)
        w = even(src_w * h / src_h)
    return w, h


def short_sides(src_w: int, src_h: int) -> tuple[int, ...]:
    """Candidate short sides, largest first: the ladder rungs below the source's,
    plus the source's own when it is smaller than the top rung (never upscale)."""
    src_short = min(src_w, src_h)
    sides = {s for s in LADDER_SHORT if s <= src_short}
    if src_short < LADDER_SHORT[0]:
        sides.add(src_short)
    return tuple(sorted(sides, reverse=True))


def audio_plan(total_bps: float, src_rate: int, src_channels: int) -> AudioPlan:
    kbps = total_bps / 1000.0
    # The first rung the total rate affords; below them all, the last (smallest).
    _, a_kbps, rate, channels = next((rung for rung in AUDIO_LADDER if kbps >= rung[0]), AUDIO_LADDER[-1])
    if src_rate > 0:
        # No upsampling; AAC-LC takes the standard rates down to 8 kHz.
        rate = min(rate, max(8000, src_rate))
    return AudioPlan(bitrate=a_kbps * 1000, sample_rate=rate,
                     channels=max(1, min(channels, src_channels or 1)))


def overhead_bytes(duration: float, fps: Fraction, audio: AudioPlan | None) -> int:
    frames = math.ceil(duration * float(fps))
    audio_frames = 0 if audio is None else math.ceil(duration * audio.sample_rate / AAC_FRAME_SAMPLES)
    per_frame = MOOV_PER_VIDEO_FRAME + (MOOV_PER_INTERLEAVED_FRAME if audio is not None else 0)
    return MOOV_FIXED + frames * per_frame + audio_frames * MOOV_PER_AUDIO_FRAME


def video_bits(budget: int, duration: float, fps: Fraction, audio: AudioPlan | None,
               audio_bytes: int | None = None) -> int:
    """Bits per second left for video after audio, the mp4 index and a margin."""
    if audio_bytes is None:
        audio_bytes = 0 if audio is None else int(audio.bitrate * duration / 8)
    free = budget * RATE_MARGIN - overhead_bytes(duration, fps, audio) - audio_bytes
    return int(free * 8 / max(duration, 1e-3))


def target_bpp(video_bps: float) -> float:
    """Bits per pixel aimed at for this video bit rate (see TARGET_BPP_LOW/HIGH)."""
    if video_bps <= LOW_RATE:
        return TARGET_BPP_LOW
    if video_bps >= HIGH_RATE:
        return TARGET_BPP_HIGH
    t = math.log(video_bps / LOW_RATE) / math.log(HIGH_RATE / LOW_RATE)
    return TARGET_BPP_LOW + t * (TARGET_BPP_HIGH - TARGET_BPP_LOW)


def cost_factor(inter_bpp: float | None) -> float:
    """How much more than the fitted targets the picture needs (1: not more)."""
    if inter_bpp is None or not inter_bpp > 0:
        return 1.0
    return min(COST_FACTOR_MAX, max(1.0, inter_bpp / COMPLEX_BPP))


def detail_cap(kept: dict[int, float]) -> int | None:
    """The smallest short side that keeps the picture (round-trip PSNR of at least
    DETAIL_KEPT_DB), from video_detail.kept_detail; None when every size loses some."""
    keeps = [s for s, db in kept.items() if db >= DETAIL_KEPT_DB]
    return min(keeps) if keeps else None


# The detail cap saves bits on pixels that hold no detail. Where the largest size
# gets at least this many times the bits per pixel aimed at (a small or short source
# in a large budget), there is nothing to save, and the picture keeps its own size
# instead of being resampled. Near the target the cap still pays: the grid's 4K pan
# at 1.16x the target scored 94.8 at 960x540 and 94.3 at 1280x720.
AFFORD_MARGIN = 2.0


def _bpp(vbps: int, w: int, h: int, fps: Fraction) -> float:
    """Bits per pixel of ``vbps`` bits a second at w x h and ``fps``."""
    return vbps / (w * h * float(fps))


def _affords(budget: int, duration: float, fps: Fraction, audio: AudioPlan | None, factor: float,
             size: tuple[int, int]) -> bool:
    """Whether ``size`` at ``fps`` gets AFFORD_MARGIN times the bits per pixel it needs."""
    vbps = video_bits(budget, duration, fps, audio)
    return _bpp(vbps, *size, fps) >= AFFORD_MARGIN * target_bpp(vbps) * factor


def plan_video(info: MediaInfo, budget: int, duration: float | None = None,
               max_short: int | None = None, inter_bpp: float | None = None) -> Plan:
    """Choose size, fps and audio for ``duration`` seconds of ``info`` in ``budget`` bytes;
    ``max_short`` (from detail_cap) caps the short side for a source with little detail
    (unless the largest size already gets AFFORD_MARGIN times its target),
    ``inter_bpp`` (video_detail.sample's) raises the bits per pixel aimed at for a
    picture that costs more than COMPLEX_BPP to code (cost_factor)."""
    v = info.default_video
    if v is None:
        raise ValueError("plan_video needs a video stream")
    duration = info.duration if duration is None else duration
    duration = max(duration, 0.04)
    src_w, src_h = display_size(v)
    src_w, src_h = max(src_w, 2), max(src_h, 2)
    a = info.default_audio
    audio = audio_plan(budget * 8 / duration, a.sample_rate, a.channels) if a else None

    rungs = fps_rungs(v.fps)
    sides = short_sides(src_w, src_h)
    factor = cost_factor(inter_bpp)
    if max_short is not None and inter_bpp is not None and factor <= 1.0:
        # A cheap picture may go one rung above its detail cap (see DETAIL_KEPT_DB).
        max_short = min((s for s in LADDER_SHORT if s > max_short), default=max_short)
    if max_short is not None and not _affords(budget, duration, rungs[0], audio, factor,
                                              scaled(src_w, src_h, sides[0])):
        sides = tuple(s for s in sides if s <= max_short) or sides[-1:]
    src_short = min(src_w, src_h)
    # Costly footage keeps its frames down to the lowest rung but one (240 lines).
    least = MIN_SHORT_AT_RUNG if factor <= 1.0 else (LADDER_SHORT[-1], *MIN_SHORT_AT_RUNG[1:])
    choice: tuple[Fraction, int, int, int, float] | None = None
    for i, fps in enumerate(rungs):
        vbps = video_bits(budget, duration, fps, audio)
        target = target_bpp(vbps) * factor
        min_short = min(least[min(i, len(least) - 1)], src_short, sides[0])
        last = i == len(rungs) - 1
        for short in sides:
            w, h = scaled(src_w, src_h, short)
            bpp = _bpp(vbps, w, h, fps)
            if bpp >= target and (short >= min_short or last):
                choice = (fps, w, h, vbps, bpp)
                break
        if choice is not None:
            break
    # The floor is judged on the smallest picture at the lowest rate, whatever is chosen.
    floor_vbps = video_bits(budget, duration, rungs[-1], audio)
    floor_w, floor_h = scaled(src_w, src_h, sides[-1])
    floor_bpp = _bpp(floor_vbps, floor_w, floor_h, rungs[-1])
    if choice is None:
        # Nothing reaches the target: the smallest picture at the lowest rate,
        # watchable as long as it clears the floor.
        choice = (rungs[-1], floor_w, floor_h, floor_vbps, floor_bpp)
    fps, w, h, vbps, bpp = choice
    return Plan(duration=duration, budget=budget, width=w, height=h, fps=fps, audio=audio,
                overhead=overhead_bytes(duration, fps, audio), video_bitrate=vbps, bpp=bpp,
                watchable=floor_vbps > 0 and floor_bpp >= FLOOR_BPP)


def smallest_budget(info: MediaInfo, duration: float, video_bps: int = MIN_VIDEO_BITRATE) -> int:
    """The fewest bytes a valid encode of ``duration`` seconds needs whatever plan_video
    picks for them: the mp4 index at the highest frame rate it may choose, the lowest
    audio rung, and ``video_bps`` of video."""
    v = info.default_video
    fps = fps_rungs(v.fps if v else None)[0]
    a = info.default_audio
    audio = audio_plan(0.0, a.sample_rate, a.channels) if a else None
    audio_bytes = audio.bitrate * duration / 8 if audio else 0.0
    need = overhead_bytes(duration, fps, audio) + audio_bytes + video_bps * duration / 8
    return math.ceil(need / RATE_MARGIN)


def max_watchable_duration(info: MediaInfo, budget: int) -> float:
    """The longest stretch of ``info`` that clears the floor in ``budget`` bytes."""
    lo, hi = 0.5, max(1.0, info.duration)
    if plan_video(info, budget, hi).watchable:
        return hi
    if not plan_video(info, budget, lo).watchable:
        return 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if plan_video(info, budget, mid).watchable:
            lo = mid
        else:
            hi = mid
        if hi - lo < 0.05:
            break
    return lo


def next_video_bytes(video_bytes: int, file_bytes: int, budget: int) -> int:
    """After an oversize attempt: lower the video target by the overshoot plus 1.5%
    of the budget (measured: one such retry fixed every oversize case)."""
    over = file_bytes - int(0.985 * budget)
    return max(1, video_bytes - max(over, budget // 100))


def split_points(duration: float, max_part: float, keyframes: tuple[float, ...] = (),
                 ) -> tuple[tuple[float, float], ...]:
    """(start, length) of parts of at most ``max_part`` seconds, equal-ish in length,
    each cut moved to a source keyframe near it when one is close (a scene change
    or a camera's GOP start; the cut is re-encoded anyway, so it is exact)."""
    if max_part <= 0:
        raise ValueError("max_part must be positive")
    n = max(1, math.ceil(duration / max_part - 1e-9))
    length = duration / n
    cuts = [0.0]
    for i in range(1, n):
        ideal = i * length
        prev = cuts[-1]
        remaining_parts = n - i
        lo = max(ideal - 0.2 * length, duration - remaining_parts * max_part, prev + 0.5)
        hi = min(ideal + 0.2 * length, prev + max_part)
        near = [k for k in keyframes if lo <= k <= hi]
        cut = min(near, key=lambda k: abs(k - ideal)) if near else min(max(ideal, lo), hi)
        cuts.append(cut)
    cuts.append(duration)
    return tuple((a, b - a) for a, b in itertools.pairwise(cuts))
