"""The video fit: any video -> H.264 Main/AAC-LC MP4 within the profile's bytes, plus its thumb.

How a size-exact encode is made here (video_plan.py chooses the numbers):
1. Audio first, alone, at the planned rate; its real byte count is then known
   rather than guessed (the usual recipe's overshoot comes from audio and the mp4
   index not being budgeted).
2. Pass 1 decodes, rotates (ffmpeg's autorotate, so no display matrix reaches the
   output), converts the frame rate (constant, from the fps filter), scales,
   tone-maps HDR and writes the resulting small raw frames to a temp file while
   x264 analyses them (x264's first pass already runs faster settings).
3. Pass 2 (and any retry) reads those raw frames instead of decoding the source
   again, so a retry costs one x264 encode at the small size and nothing more.
4. The bytes are verified; an oversize result is re-encoded with a target lowered
   by the overshoot (never shipped). The temp file is renamed into place only
   when it fits.

Output: yuv420p, even dimensions, constant frame rate, Main profile, +faststart,
no metadata from the input (-map_metadata -1, -map_chapters -1).
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import re
import shutil
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from ..errors import BadInput, CannotComply, ToolFailed, ToolTimeout, UsageError
from ..formats.isobmff import moov_before_mdat, mvhd_duration
from ..model import Fitted, Notice, OutputFile, PrepareOptions, ProgressFn, Role
from ..output import atomic_path, output_path
from ..preflight.check import H264_PROFILES, video_violations
from ..preflight.probe import MediaInfo, VideoStream, open_media
from ..preflight.sniff import Sniffed
from ..profiles import Profile, RoleLimits
from ..tools import av as av_tools
from ..tools import ffmpeg as ff
from .image import fit_picture_to_file
from .video_detail import kept_detail, sample_frames
from .video_plan import (
    LADDER_SHORT,
    RATE_MARGIN,
    Plan,
    detail_cap,
    display_size,
    max_watchable_duration,
    next_video_bytes,
    plan_video,
    split_points,
)

# Encoder effort (bench/video.py --grid's spare time, measured on a photo pan at
# 960x540@30, 460 kbit/s, VMAF at 720p): medium 85.9, slow 86.5 (+16% pass-2 time),
# slower 86.6 (+115%); on slow, psy-rd 0.5 86.8, aq-strength 0.8 87.0, aq-mode 3 85.9,
# psy off 87.3, psy off + aq-strength 0.8 87.6 (and 3% fewer bytes). Pass 1 keeps
# x264's fast first-pass settings whatever the preset.
PRESET = "slow"  # libx264 preset of both passes
X264_PARAMS = "psy=0:aq-strength=0.8"
MAX_ENCODES = 4  # final-pass attempts before giving up (measured: one retry sufficed)
MIN_VIDEO_BITRATE = 6000  # bits/s: below this x264 cannot honour the target at any size
RAW_CACHE_LIMIT = 4_000_000_000  # bytes of scaled raw frames kept between passes
# Container tags every mp4 muxer writes; anything else (title, comment, location,
# creation_time, encoder strings) may carry a payload or a privacy leak.
BENIGN_TAGS = {"major_brand", "minor_version", "compatible_brands"}
_LAVF_ENCODER = re.compile(r"^Lavf\d+(\.\d+)*$")
HDR_TRANSFERS = {16: "PQ", 18: "HLG"}  # AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67
THUMB_SCAN_SECONDS = 30.0  # the thumb is picked from the first 30 s of a part
THUMB_SAMPLE_FPS = 2  # frames per second the thumbnail filter compares
THUMB_LONG_SIDE = 1280  # the image fit picks the final size; no need to hand it more


@dataclass(frozen=True)
class Encoded:
    path: Path
    bytes: int
    plan: Plan
    video_bitrate: int  # of the attempt that fitted
    encodes: int  # final-pass encodes (1 = the first attempt fitted)
    passed_through: bool = False
    notes: tuple[str, ...] = ()  # warnings for the user
    thumb: Image.Image | None = None  # the representative frame pass 1 picked


# ------------------------------------------------------------------ small facts

def is_hdr(v: VideoStream) -> bool:
    return v.color_trc in HDR_TRANSFERS


def _timeout(info: MediaInfo, length: float) -> float:
    """Scaled to the seconds of source decoded and its pixel rate (4K60 costs ~8x 1080p30)."""
    v = info.default_video
    pixels = (v.width * v.height) if v else 0
    fps = min(v.fps or 30.0, 120.0) if v else 30.0
    per_second = 4.0 + 12.0 * (pixels / (1920 * 1080)) * (fps / 30.0)
    return ff.timeout_for(length, per_second=per_second, floor=120.0)


def _source(sniffed: Sniffed, *, start: float | None = None, duration: float | None = None,
            max_pixels: int | None = None) -> ff.SafeInput:
    """The input file as every ffmpeg run here reads it (demuxer forced, file only)."""
    return ff.SafeInput(sniffed.path, sniffed.demuxer or "", start=start, duration=duration,
                        max_pixels=max_pixels)


def _max_pixels(profile: Profile) -> int:
    return profile.safety.max_video_pixels


def _fps_text(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def _scale_filters(w: int, h: int, tonemap: bool) -> list[str]:
    """Resize to w x h; with ``tonemap`` (and the zscale and tonemap filters in this
    ffmpeg) HDR is converted to BT.709 SDR on the way: linearise (nominal peak
    100 nits), BT.709 primaries, Hable's curve without desaturation, then BT.709
    transfer and matrix in TV range, so PQ/HLG does not play washed out."""
    if tonemap and ff.has_filter("zscale") and ff.has_filter("tonemap"):
        return [f"zscale=w={w}:h={h}:t=linear:npl=100", "format=gbrpf32le", "zscale=p=bt709",
                "tonemap=hable:desat=0", "zscale=t=bt709:m=bt709:r=tv"]
    return [f"scale={w}:{h}:flags=lanczos"]


def video_filters(plan: Plan, hdr: bool) -> str:
    """The filter chain after ffmpeg's autorotate: constant frame rate first (fewer
    frames to scale), then size (tone-mapping HDR), then 8-bit 4:2:0; 10-bit SDR
    just drops to 8 bits."""
    chain = [f"fps={_fps_text(plan.fps)}", *_scale_filters(plan.width, plan.height, hdr),
             "setsar=1", "format=yuv420p"]
    return ",".join(chain)


def _x264_args(bitrate: int, pass_no: int, passlog: Path, fps: Fraction) -> list[str]:
    # Main profile (no 8x8 transform, no High-only tools) for old clients; keyframe
    # every 10 s: at these rates every I-frame is expensive.
    return ["-c:v", "libx264", "-preset", PRESET, "-x264-params", X264_PARAMS,
            "-profile:v", "main", "-pix_fmt", "yuv420p",
            "-b:v", str(int(bitrate)), "-pass", str(pass_no), "-passlogfile", str(passlog),
            "-g", str(max(1, int(round(float(fps) * 10)))), *ff.thread_args()]


# ------------------------------------------------------------------ encoding

def _encode_audio(sniffed: Sniffed, info: MediaInfo, plan: Plan, start: float, length: float,
                  target: Path) -> int:
    """Encode the default audio track alone; returns its stream bytes (packets)."""
    a = info.default_audio
    assert a is not None and plan.audio is not None
    args = _source(sniffed, start=start, duration=length).args()
    args += ["-map", f"0:{a.index}", "-vn", "-sn", "-dn",
             # Timestamp gaps: pad or trim so the audio keeps the video's clock.
             "-af", "aresample=async=1:first_pts=0",
             "-ac", str(plan.audio.channels), "-ar", str(plan.audio.sample_rate),
             "-c:a", "aac", "-b:a", str(plan.audio.bitrate),
             "-map_metadata", "-1", "-f", "mp4", ff.input_url(target)]
    ff.run_args(args, timeout=_timeout(info, length))
    return av_tools.stream_bytes(target)


def _pass1(sniffed: Sniffed, info: MediaInfo, plan: Plan, start: float, length: float,
           profile: Profile, passlog: Path, raw: Path | None, tonemap: bool,
           thumb: Path) -> None:
    """Decode once for three consumers: x264's analysis pass, the raw frame cache
    for pass 2, and the thumb pick (a branch sampling 2 frames a second)."""
    v = info.default_video
    assert v is not None
    chain = video_filters(plan, tonemap)
    split = ",split=2[enc][raw]" if raw is not None else "[enc]"
    args = _source(sniffed, start=start, duration=length, max_pixels=_max_pixels(profile)).args()
    args += ["-filter_complex", f"[0:{v.index}]split=2[main][pick];[main]{chain}{split};"
             f"[pick]{thumb_filters(v, length, tonemap)}[thumb]"]
    # The x264 output goes first: ffmpeg names the stats file after the global
    # output-stream index (x264-0.log), and pass 2 has a single output stream 0.
    args += ["-map", "[enc]", *_x264_args(plan.video_bitrate, 1, passlog, plan.fps),
             "-an", "-sn", "-dn", "-f", "null", "-"]
    if raw is not None:
        # passthrough: the rawvideo muxer's constant-rate sync otherwise adds a frame
        # x264's pass 1 never saw (49 vs 48 from -ss 2.008 at 24 fps; pass 2 then
        # fails with "Incomplete MB-tree stats file").
        args += ["-map", "[raw]", "-c:v", "rawvideo", "-fps_mode", "passthrough", "-f", "rawvideo",
                 ff.input_url(raw)]
    args += ["-map", "[thumb]", "-frames:v", "1", "-c:v", "png", "-f", "image2",
             "-update", "1", ff.input_url(thumb)]
    ff.run_args(args, timeout=_timeout(info, length))


def _pass2(sniffed: Sniffed, info: MediaInfo, plan: Plan, start: float, length: float,
           profile: Profile, passlog: Path, raw: Path | None, audio: Path | None,
           bitrate: int, target: Path, tonemap: bool) -> None:
    v = info.default_video
    assert v is not None
    if raw is not None:
        args = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{plan.width}x{plan.height}",
                "-framerate", _fps_text(plan.fps), "-i", ff.input_url(raw)]
        vmap: list[str] = ["-map", "0:v:0"]
    else:
        args = _source(sniffed, start=start, duration=length,
                       max_pixels=_max_pixels(profile)).args()
        args += ["-filter_complex", f"[0:{v.index}]{video_filters(plan, tonemap)}[enc]"]
        vmap = ["-map", "[enc]"]
    if audio is not None:
        args += ["-f", "mp4", "-i", ff.input_url(audio)]
        amap = ["-map", "1:a:0", "-c:a", "copy"]
    else:
        amap = ["-an"]
    args += [*vmap, *amap, *_x264_args(bitrate, 2, passlog, plan.fps), "-sn", "-dn",
             "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
             "-f", "mp4", ff.input_url(target)]
    ff.run_args(args, timeout=_timeout(info, length))


def encode_segment(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float,
                   length: float, target: Path, plan: Plan,
                   progress: ProgressFn | None = None, label: str = "") -> Encoded:
    """Encode ``length`` seconds from ``start`` into ``target`` (atomically), within budget."""
    budget = plan.budget  # what we aim at
    hard = profile.video.max_bytes  # what we never exceed
    raw_bytes = plan.width * plan.height * 3 // 2 * plan.frames
    notes: list[str] = []
    # Scratch (pass logs, the raw frame cache) beside the target, in the pipeline's
    # staging folder: removed with it if we are stopped, never in the system temp folder.
    with tempfile.TemporaryDirectory(prefix=".scratch-video-", dir=target.parent) as tmp_name:
        tmp = Path(tmp_name)
        audio: Path | None = None
        audio_bytes = 0
        if plan.audio is not None and info.default_audio is not None:
            if progress:
                progress(0, 3, f"{label}audio")
            audio = tmp / "audio.m4a"
            audio_bytes = _encode_audio(sniffed, info, plan, start, length, audio)
        raw = tmp / "frames.yuv" if raw_bytes <= RAW_CACHE_LIMIT else None
        passlog = tmp / "x264"
        thumb_png = tmp / "thumb.png"
        if progress:
            progress(1, 3, f"{label}pass 1")
        v = info.default_video
        assert v is not None  # prepare_video refuses a file without video
        tonemap = is_hdr(v)
        try:
            _pass1(sniffed, info, plan, start, length, profile, passlog, raw, tonemap, thumb_png)
            if tonemap:
                notes.append(f"HDR ({HDR_TRANSFERS[v.color_trc or 0]}) tone-mapped to SDR")
        except ToolTimeout:
            raise
        except ToolFailed:
            if not tonemap:
                raise
            # zscale refuses HDR whose colour tags are incomplete or contradictory:
            # better washed-out colours than no video at all.
            tonemap = False
            notes.append("HDR tone mapping failed (incomplete colour tags); converted "
                         "without it, colours may look flat")
            _pass1(sniffed, info, plan, start, length, profile, passlog, raw, tonemap, thumb_png)
        thumb: Image.Image | None = None
        if thumb_png.exists() and thumb_png.stat().st_size > 0:
            try:
                thumb = _read_png(thumb_png.read_bytes())
            except (OSError, SyntaxError, ValueError):
                thumb = None  # picked again by its own run
        if raw is not None and raw.stat().st_size == 0:
            raise ToolFailed("ffmpeg decoded no video frames", path=sniffed.path,
                             hint="the video stream is empty or damaged")
        video_bytes = int(budget * RATE_MARGIN) - plan.overhead - audio_bytes
        out = tmp / "out.mp4"
        for attempt in range(1, MAX_ENCODES + 1):
            bitrate = int(video_bytes * 8 / max(length, 1e-3))
            if bitrate < MIN_VIDEO_BITRATE:
                raise CannotComply(f"the video would get only {bitrate / 1000:.1f} kbit/s",
                                   path=sniffed.path, hint="use --split or --trim")
            if progress:
                progress(2, 3, f"{label}pass 2" + (f" (retry {attempt - 1})" if attempt > 1 else ""))
            _pass2(sniffed, info, plan, start, length, profile, passlog, raw, audio, bitrate,
                   out, tonemap)
            size = out.stat().st_size
            if size <= hard:
                break
            video_bytes = next_video_bytes(video_bytes, size, min(budget, hard))
        else:
            raise CannotComply(f"still {size:,} bytes after {MAX_ENCODES} encodes "
                               f"(budget {hard:,})", path=sniffed.path,
                               hint="use --split or --trim")
        with atomic_path(target) as final_tmp:
            shutil.copyfile(out, final_tmp)
    if progress:
        progress(3, 3, f"{label}done")
    return Encoded(path=target, bytes=size, plan=plan, video_bitrate=bitrate, encodes=attempt,
                   notes=tuple(notes), thumb=thumb)


def _detail_cap(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float,
                length: float) -> int | None:
    """The largest short side worth sending, from the source's real detail (None:
    no cap, also when the keyframes cannot be read: the encode will say why)."""
    try:
        frames = sample_frames(sniffed, info, start, length, _max_pixels(profile),
                               _timeout(info, min(length, 10.0)))
    except (ToolFailed, OSError, ValueError):
        return None
    if not frames:
        return None
    return detail_cap(kept_detail(frames, LADDER_SHORT))


# ------------------------------------------------------------------ pass-through

def passthrough_mode(sniffed: Sniffed, info: MediaInfo, limits: RoleLimits) -> str | None:
    """"copy" for an input that already complies byte for byte; "remux" when it
    complies but carries metadata, extra tracks or a trailing moov (fixed by a
    lossless stream copy); None when it needs an encode."""
    if video_violations(sniffed, info, limits):
        return None
    v = info.default_video
    if v is None or v.profile not in H264_PROFILES or v.pix_fmt != "yuv420p":
        return None
    if v.width % 2 or v.height % 2 or v.rotation:
        return None  # players that ignore the matrix would show it on its side
    a = info.default_audio
    if a is not None and a.channels > 2:
        return None
    extra_tags = [k for k, val in info.tags
                  if k not in BENIGN_TAGS and not (k == "encoder" and _LAVF_ENCODER.match(val))]
    if extra_tags or len(info.video) > 1 or len(info.audio) > 1:
        return "remux"
    claimed = mvhd_duration(sniffed.path)
    if claimed is None or abs(claimed - info.duration) > 1.0:
        return "remux"  # a header that lies about the duration: the muxer rewrites it
    if moov_before_mdat(sniffed.path) is not True:
        return "remux"
    return "copy"


def _remux(sniffed: Sniffed, info: MediaInfo, target: Path) -> int:
    v = info.default_video
    a = info.default_audio
    assert v is not None
    args = _source(sniffed, duration=info.duration + 1.0).args()
    args += ["-map", f"0:{v.index}"] + (["-map", f"0:{a.index}"] if a else [])
    args += ["-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1",
             "-movflags", "+faststart", "-f", "mp4"]
    with tempfile.TemporaryDirectory(prefix=".scratch-remux-", dir=target.parent) as tmp_name:
        out = Path(tmp_name) / "remux.mp4"
        ff.run_args([*args, ff.input_url(out)], timeout=_timeout(info, 1.0))
        size = out.stat().st_size
        if size > 0:
            with atomic_path(target) as final_tmp:
                shutil.copyfile(out, final_tmp)
    return size


# ------------------------------------------------------------------ thumb

def thumb_filters(v: VideoStream, length: float, tonemap: bool) -> str:
    """ffmpeg's thumbnail filter compares frames sampled at 2 per second over the
    first 30 s and keeps the one closest to the average histogram, so a black
    fade-in or a flash frame is never the thumb."""
    scan = max(0.04, min(length, THUMB_SCAN_SECONDS))
    dw, dh = display_size(v)
    scale = min(1.0, THUMB_LONG_SIDE / max(dw, dh, 1))
    w, h = max(2, round(dw * scale / 2) * 2), max(2, round(dh * scale / 2) * 2)
    n = max(1, min(int(scan * THUMB_SAMPLE_FPS), 60))
    chain = [f"fps={THUMB_SAMPLE_FPS}"] if (v.fps or 30.0) > THUMB_SAMPLE_FPS else []
    chain += [*_scale_filters(w, h, tonemap), f"thumbnail=n={n}", "setsar=1", "format=rgb24"]
    return ",".join(chain)


def _read_png(data: bytes) -> Image.Image:
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
    args = _source(sniffed, start=start, duration=scan, max_pixels=_max_pixels(profile)).args()
    args += ["-map", f"0:{v.index}", "-vf", thumb_filters(v, length, tonemap), "-frames:v", "1",
             "-an", "-sn", "-dn", "-f", "image2pipe", "-c:v", "png", "pipe:1"]
    try:
        res = ff.run_args(args, timeout=_timeout(info, scan))
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
        return _read_png(res.stdout)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ToolFailed(f"ffmpeg's thumb frame is unreadable: {exc}", path=sniffed.path) from exc


def _make_thumb(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float,
                length: float, target: Path, part: int | None,
                picked: Image.Image | None = None) -> OutputFile:
    pic = picked if picked is not None else grab_frame(sniffed, info, profile, start, length)
    out = fit_picture_to_file(pic, profile.thumb.max_bytes, target)
    if out.bytes > profile.thumb.max_bytes:  # fit_jpeg guarantees it; never ship oversize
        target.unlink(missing_ok=True)
        raise CannotComply(f"thumb is {out.bytes:,} bytes", path=sniffed.path)
    return dataclasses.replace(out, part=part)


# ------------------------------------------------------------------ the stages

def _kept_duration(info: MediaInfo, opts: PrepareOptions, longest: float,
                   warn: list[str]) -> float:
    if opts.trim is None:
        return info.duration
    if opts.trim < 0 or math.isnan(opts.trim):
        raise UsageError(f"--trim {opts.trim:g}: seconds must be positive")
    if opts.trim == 0:
        # Plain --trim on a video: keep as much as stays watchable in the budget.
        keep = min(info.duration, longest)
        if keep <= 0:
            raise CannotComply("not even a second of this video fits the budget watchably")
    else:
        keep = min(opts.trim, info.duration)
    if keep < info.duration - 0.05:
        warn.append(Notice(f"trimmed: kept the first {keep:.1f} s of {info.duration:.1f} s"))
    return keep


def _segments(sniffed: Sniffed, info: MediaInfo, profile: Profile, opts: PrepareOptions,
              keep: float, longest: float) -> tuple[tuple[float, float], ...]:
    limits = profile.video
    if keep <= longest:
        return ((0.0, keep),)
    n_hint = max(2, math.ceil(keep / max(longest, 0.1)))
    if longest < 1.0:
        raise CannotComply(f"not even a second fits {limits.max_bytes:,} bytes watchably",
                           path=sniffed.path, hint="use a profile with a larger video budget")
    if not opts.split:
        raise CannotComply(
            f"{keep:.0f} s of video cannot fit {limits.max_bytes:,} bytes watchably: at most "
            f"about {longest:.0f} s can (240p at 15 fps is the floor)", path=sniffed.path,
            hint=f"use --split (about {n_hint} parts) or --trim {int(longest)}")
    # A little under the longest, so each part sits above the floor, not on it.
    parts = split_points(keep, longest * 0.97, _keyframes(sniffed, info, keep))
    if opts.max_parts is not None and len(parts) > opts.max_parts:
        raise CannotComply(f"needs {len(parts)} parts, more than --max-parts {opts.max_parts}",
                           path=sniffed.path, hint="raise --max-parts or use --trim")
    return parts


def _keyframes(sniffed: Sniffed, info: MediaInfo, keep: float) -> tuple[float, ...]:
    """Keyframe times of the main video stream, from packets only (no decode)."""
    v = info.default_video
    assert v is not None
    with open_media(sniffed) as media:
        return media.keyframe_times(v.index, keep)


def _describe_input(info: MediaInfo, warn: list[str]) -> None:
    v = info.default_video
    assert v is not None
    if v.rotation:
        warn.append(Notice(f"rotated upright ({v.rotation} degrees from the display matrix)"))
    if len(info.audio) > 1 and info.default_audio is not None:
        warn.append(f"{len(info.audio)} audio tracks: kept the default one "
                    f"(stream #{info.default_audio.index})")


# Codecs that need more bits than H.264 for the same picture (x ~1.5) and the rest.
_EFFICIENT_CODECS = {"hevc", "vp9", "av1", "libdav1d", "libaom-av1", "vvc"}
MIN_SEGMENT_BUDGET = 64_000  # below this, container and audio leave nothing to cap


def _segment_budget(sniffed: Sniffed, info: MediaInfo, budget: int, length: float) -> int:
    """The bytes worth spending on a stretch: the budget, but no more than the
    source itself spends on it (x1.5 from HEVC/VP9/AV1), so a small non-compliant
    input does not come out larger than it went in."""
    v = info.default_video
    factor = 1.5 if v is not None and v.codec in _EFFICIENT_CODECS else 1.0
    share = sniffed.size * factor * length / max(info.duration, 1e-3)
    return int(min(budget, max(share, MIN_SEGMENT_BUDGET)))


def _media_output(enc: Encoded, part: int | None) -> OutputFile:
    plan = enc.plan
    details: tuple[tuple[str, object], ...] = (
        ("fps", round(float(plan.fps), 3)),
        ("video_kbps", round(enc.video_bitrate / 1000)),
        ("audio_kbps", round(plan.audio.bitrate / 1000) if plan.audio else 0),
        ("audio_hz", plan.audio.sample_rate if plan.audio else 0),
        ("encodes", enc.encodes),
    )
    return OutputFile(path=enc.path, slot="media", role="video", bytes=enc.bytes, format="mp4",
                      width=plan.width, height=plan.height,
                      duration=av_tools.duration_of(enc.path) or plan.duration, part=part,
                      passed_through=enc.passed_through, details=details)


def prepare_video(sniffed: Sniffed, info: MediaInfo, profile: Profile, role: Role,
                  opts: PrepareOptions, out_dir: Path,
                  progress: ProgressFn | None = None) -> Fitted:
    limits = profile.limits("video")
    if "mp4" not in limits.formats:
        raise CannotComply(f"profile {profile.name!r} does not accept MP4 for video",
                           path=sniffed.path, hint="add mp4 to the profile's video formats")
    v = info.default_video
    if v is None:
        raise BadInput("no video stream", path=sniffed.path,
                       hint="an audio-only file is a voice note: drop --as video")
    if v.packets == 0:
        raise BadInput("the video track holds no frames", path=sniffed.path,
                       hint="the recording failed or was cut; if the sound matters, use --as voice")
    ff.get_ffmpeg().require("libx264", "aac")
    budget = limits.max_bytes
    warn: list[str] = []

    longest = max_watchable_duration(info, budget)
    if limits.max_duration is not None:
        longest = min(longest, limits.max_duration)
    keep = _kept_duration(info, opts, longest, warn)

    written: list[Path] = []
    try:
        if keep >= info.duration - 0.05:
            mode = passthrough_mode(sniffed, info, limits)
            if mode is not None:
                fitted = _passthrough(sniffed, info, profile, out_dir, mode, written)
                if fitted is not None:
                    return fitted
        segments = _segments(sniffed, info, profile, opts, keep, longest)
        _describe_input(info, warn)
        if len(segments) > 1:
            warn.append(Notice(f"split into {len(segments)} parts of at most "
                               f"{max(s[1] for s in segments):.1f} s; send each with its own block"))
        outputs: list[OutputFile] = []
        for i, (start, length) in enumerate(segments):
            part = i + 1 if len(segments) > 1 else None
            stem = f".part{part}" if part else ""
            plan = plan_video(info, _segment_budget(sniffed, info, budget, length), length,
                              _detail_cap(sniffed, info, profile, start, length))
            target = output_path(sniffed.path, out_dir, f"{stem}.mp4")
            label = f"part {part}: " if part else ""
            enc = encode_segment(sniffed, info, profile, start, length, target, plan,
                                 progress, label)
            written.append(target)
            warn.extend(n for n in enc.notes if n not in warn)
            outputs.append(_media_output(enc, part))
            thumb_target = output_path(sniffed.path, out_dir, f"{stem}.thumb.jpg")
            outputs.append(_make_thumb(sniffed, info, profile, start, length, thumb_target, part,
                                       enc.thumb))
            written.append(thumb_target)
        return Fitted(outputs=tuple(outputs), warnings=tuple(warn))
    except BaseException:
        # No partial result: parts already written go too.
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def _passthrough(sniffed: Sniffed, info: MediaInfo, profile: Profile, out_dir: Path,
                 mode: str, written: list[Path]) -> Fitted | None:
    v = info.default_video
    assert v is not None
    target = output_path(sniffed.path, out_dir, ".mp4")
    if mode == "copy":
        with atomic_path(target) as tmp:
            shutil.copyfile(sniffed.path, tmp)
        size = sniffed.size
        note: tuple[str, ...] = ()
    else:
        size = _remux(sniffed, info, target)
        if not 0 < size <= profile.video.max_bytes:
            target.unlink(missing_ok=True)
            return None
        note = ("metadata and extra tracks removed by a lossless remux (+faststart); "
                "picture and sound untouched",)
    written.append(target)
    media = OutputFile(path=target, slot="media", role="video", bytes=size, format="mp4",
                       width=v.width, height=v.height, duration=info.duration,
                       passed_through=mode == "copy",
                       details=(("fps", round(v.fps or 0.0, 3)), ("encodes", 0)))
    thumb_target = output_path(sniffed.path, out_dir, ".thumb.jpg")
    thumb = _make_thumb(sniffed, info, profile, 0.0, info.duration, thumb_target, None)
    written.append(thumb_target)
    return Fitted(outputs=(media, thumb), warnings=note)


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
    out = _make_thumb(sniffed, info, profile, 0.0, info.duration, target, None)
    if progress:
        progress(1, 1, "done")
    return Fitted(outputs=(out,))
