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

The ffmpeg pieces (filters, x264 arguments, timeouts) are in video_ffmpeg.py, the
thumb in video_thumb.py.

A compliant input is copied or remuxed by video_copy.py.

Output: yuv420p, even dimensions, constant frame rate, Main profile, +faststart,
no metadata from the input (-map_metadata -1, -map_chapters -1).
"""
from __future__ import annotations

import contextlib
import math
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import BadInput, CannotComply, ToolFailed, ToolTimeout, UsageError
from ..formats.isobmff import moov_before_mdat as moov_before_mdat  # the tests read them here
from ..formats.isobmff import mvhd_duration as mvhd_duration
from ..model import Fitted, Notice, OutputFile, PrepareOptions, ProgressFn, Role
from ..output import atomic_path, output_path
from ..preflight.probe import MediaInfo, open_media
from ..preflight.sniff import Sniffed
from ..profiles import Profile
from ..tools import av as av_tools
from ..tools import ffmpeg as ff
from .video_copy import passthrough, passthrough_mode
from .video_detail import kept_detail, sample
from .video_ffmpeg import (
    HDR_TRANSFERS,
    SAME_FRAMES,
    encode_timeout,
    fps_text,
    is_hdr,
    max_pixels,
    source_input,
    video_filters,
    x264_args,
    x264_least_bitrate,
)
from .video_ffmpeg import PRESET as PRESET  # the bench reads it here
from .video_plan import (
    LADDER_SHORT,
    MIN_VIDEO_BITRATE,
    RATE_MARGIN,
    Plan,
    detail_cap,
    max_watchable_duration,
    next_video_bytes,
    plan_video,
    smallest_budget,
    split_points,
)
from .video_thumb import make_thumb, read_png, thumb_filters

MAX_ENCODES = 4  # final-pass attempts before giving up (measured: one retry sufficed)
RAW_CACHE_LIMIT = 4_000_000_000  # bytes of scaled raw frames kept between passes


@dataclass(frozen=True)
class EncodedPart:
    """One MP4 the video fit wrote, with the plan and bitrate that fitted."""
    path: Path
    bytes: int
    plan: Plan
    video_bitrate: int  # of the attempt that fitted
    encodes: int  # final-pass encodes (1 = the first attempt fitted)
    passed_through: bool = False
    notes: tuple[str, ...] = ()  # warnings for the user
    thumb: Image.Image | None = None  # the representative frame pass 1 picked


# ------------------------------------------------------------------ encoding

def _encode_audio(sniffed: Sniffed, info: MediaInfo, plan: Plan, start: float, length: float,
                  target: Path) -> int:
    """Encode the default audio track alone; returns its stream bytes (packets)."""
    a = info.default_audio
    assert a is not None and plan.audio is not None
    args = source_input(sniffed, start=start, duration=length).args()
    args += ["-map", f"0:{a.index}", "-vn", "-sn", "-dn",
             # Timestamp gaps: pad or trim so the audio keeps the video's clock.
             "-af", "aresample=async=1:first_pts=0",
             "-ac", str(plan.audio.channels), "-ar", str(plan.audio.sample_rate),
             "-c:a", "aac", "-b:a", str(plan.audio.bitrate),
             "-map_metadata", "-1", "-f", "mp4", ff.input_url(target)]
    ff.run_args(args, timeout=encode_timeout(info, length))
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
    args = source_input(sniffed, start=start, duration=length, max_pixels=max_pixels(profile)).args()
    args += ["-filter_complex", f"[0:{v.index}]split=2[main][pick];[main]{chain}{split};"
             f"[pick]{thumb_filters(v, length, tonemap)}[thumb]"]
    # The x264 output goes first: ffmpeg names the stats file after the global
    # output-stream index (x264-0.log), and pass 2 has a single output stream 0.
    args += ["-map", "[enc]", *x264_args(plan.video_bitrate, 1, passlog, plan.fps), *SAME_FRAMES,
             "-an", "-sn", "-dn", "-f", "null", "-"]
    if raw is not None:
        args += ["-map", "[raw]", "-c:v", "rawvideo", *SAME_FRAMES, "-f", "rawvideo", ff.input_url(raw)]
    args += ["-map", "[thumb]", "-frames:v", "1", "-c:v", "png", "-f", "image2",
             "-update", "1", ff.input_url(thumb)]
    ff.run_args(args, timeout=encode_timeout(info, length))


def _pass2(sniffed: Sniffed, info: MediaInfo, plan: Plan, start: float, length: float,
           profile: Profile, passlog: Path, raw: Path | None, audio: Path | None,
           bitrate: int, target: Path, tonemap: bool) -> None:
    v = info.default_video
    assert v is not None
    if raw is not None:
        args = ["-f", "rawvideo", "-pix_fmt", "yuv420p", "-video_size", f"{plan.width}x{plan.height}",
                "-framerate", fps_text(plan.fps), "-i", ff.input_url(raw)]
        vmap: list[str] = ["-map", "0:v:0"]
    else:
        args = source_input(sniffed, start=start, duration=length,
                       max_pixels=max_pixels(profile)).args()
        args += ["-filter_complex", f"[0:{v.index}]{video_filters(plan, tonemap)}[enc]"]
        vmap = ["-map", "[enc]"]
    if audio is not None:
        args += ["-f", "mp4", "-i", ff.input_url(audio)]
        amap = ["-map", "1:a:0", "-c:a", "copy"]
    else:
        amap = ["-an"]
    args += [*vmap, *amap, *x264_args(bitrate, 2, passlog, plan.fps), *SAME_FRAMES, "-sn", "-dn",
             "-map_metadata", "-1", "-map_chapters", "-1", "-movflags", "+faststart",
             "-f", "mp4", ff.input_url(target)]
    ff.run_args(args, timeout=encode_timeout(info, length))


def encode_segment(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float,
                   length: float, target: Path, plan: Plan,
                   progress: ProgressFn | None = None, label: str = "") -> EncodedPart:
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
                thumb = read_png(thumb_png.read_bytes())
            except (OSError, SyntaxError, ValueError):
                thumb = None  # picked again by its own run
        if raw is not None and raw.stat().st_size == 0:
            raise ToolFailed("ffmpeg decoded no video frames", path=sniffed.path,
                             hint="the video stream is empty or damaged")
        # What we aim at: the profile's bytes, or a small input's own (never larger).
        aim = min(budget, hard)
        video_bytes = int(aim * RATE_MARGIN) - plan.overhead - audio_bytes
        out = tmp / "out.mp4"
        floor_bps = MIN_VIDEO_BITRATE  # raised to x264's own least when it names one
        size = used = attempt = 0  # ``used``: the bitrate of the encode in ``out``
        while attempt < MAX_ENCODES:
            bitrate = int(video_bytes * 8 / max(length, 1e-3))
            if bitrate < floor_bps:
                if 0 < size <= hard:
                    break  # a small input's own size is out of reach: keep the smallest that played
                if aim >= hard:
                    raise CannotComply(f"the video would get only {bitrate / 1000:.1f} kbit/s",
                                       path=sniffed.path, hint="use --split or --trim")
                bitrate = floor_bps
            attempt += 1
            if progress:
                progress(2, 3, f"{label}pass 2" + (f" (retry {attempt - 1})" if attempt > 1 else ""))
            try:
                _pass2(sniffed, info, plan, start, length, profile, passlog, raw, audio, bitrate,
                       out, tonemap)
            except ToolFailed as exc:
                least = x264_least_bitrate(exc.detail)
                if least is None or least <= bitrate or isinstance(exc, ToolTimeout):
                    raise
                floor_bps = least  # x264 refused to start below it: try again there
                video_bytes = math.ceil(least * max(length, 1e-3) / 8)
                continue
            size, used = out.stat().st_size, bitrate
            if size <= aim or bitrate <= floor_bps:
                break
            video_bytes = next_video_bytes(video_bytes, size, aim)
        if not 0 < size <= hard:
            raise CannotComply(f"still {size:,} bytes after {attempt} encodes "
                               f"(budget {hard:,})", path=sniffed.path,
                               hint="use --split or --trim")
        if size > aim:
            notes.append(f"{size:,} bytes: more than the original's {aim:,}, as no smaller "
                         "H.264 encode of it plays")
        with atomic_path(target) as final_tmp:
            shutil.copyfile(out, final_tmp)
    if progress:
        progress(3, 3, f"{label}done")
    return EncodedPart(path=target, bytes=size, plan=plan, video_bitrate=used, encodes=attempt,
                   notes=tuple(notes), thumb=thumb)


def _probe(sniffed: Sniffed, info: MediaInfo, profile: Profile, start: float, length: float,
           keyframes: tuple[float, ...], scratch: Path) -> tuple[int | None, float | None]:
    """The largest short side worth sending, from the source's real detail, and what
    its picture costs to code (video_detail.sample); (None, None) when the stretches
    cannot be read: the encode will say why."""
    try:
        with tempfile.TemporaryDirectory(prefix=".scratch-probe-", dir=scratch) as tmp:
            got = sample(sniffed, info, start, length, keyframes, max_pixels(profile),
                         encode_timeout(info, min(length, 10.0)), Path(tmp))
    except (ToolFailed, OSError, ValueError):
        return None, None
    cap = detail_cap(kept_detail(got.frames, LADDER_SHORT)) if got.frames else None
    return cap, got.inter_bpp


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


def _segment_budget(sniffed: Sniffed, info: MediaInfo, budget: int, length: float) -> int:
    """The bytes worth spending on a stretch: the budget, but no more than the
    source itself spends on it (x1.5 from HEVC/VP9/AV1), so a small non-compliant
    input does not come out larger than it went in. Only when even that is less
    than any valid encode needs (the mp4 index, the lowest audio rate, the least
    video x264 can honour) does it get that least (a 7 KB clip once got 64 KB)."""
    v = info.default_video
    factor = 1.5 if v is not None and v.codec in _EFFICIENT_CODECS else 1.0
    share = sniffed.size * factor * length / max(info.duration, 1e-3)
    return int(min(budget, max(share, smallest_budget(info, length, MIN_VIDEO_BITRATE))))


def _media_output(enc: EncodedPart, part: int | None, start: float, length: float) -> OutputFile:
    plan = enc.plan
    details: tuple[tuple[str, object], ...] = (
        ("fps", round(float(plan.fps), 3)),
        ("video_kbps", round(enc.video_bitrate / 1000)),
        ("audio_kbps", round(plan.audio.bitrate / 1000) if plan.audio else 0),
        ("audio_hz", plan.audio.sample_rate if plan.audio else 0),
        ("encodes", enc.encodes),
        # Where in the source it was cut from (as a voice part says): --measure
        # compares each part with that very stretch.
        ("start_seconds", round(start, 3)),
        ("end_seconds", round(start + length, 3)),
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
                fitted = passthrough(sniffed, info, profile, out_dir, mode, written)
                if fitted is not None:
                    return fitted
        segments = _segments(sniffed, info, profile, opts, keep, longest)
        _describe_input(info, warn)
        if len(segments) > 1:
            warn.append(Notice(f"split into {len(segments)} parts of at most "
                               f"{max(s[1] for s in segments):.1f} s; send each with its own block"))
        outputs: list[OutputFile] = []
        keyframes = _keyframes(sniffed, info, keep)
        for i, (start, length) in enumerate(segments):
            part = i + 1 if len(segments) > 1 else None
            stem = f".part{part}" if part else ""
            cap, cost = _probe(sniffed, info, profile, start, length, keyframes, out_dir)
            plan = plan_video(info, _segment_budget(sniffed, info, budget, length), length, cap, cost)
            target = output_path(sniffed.path, out_dir, f"{stem}.mp4")
            label = f"part {part}: " if part else ""
            enc = encode_segment(sniffed, info, profile, start, length, target, plan,
                                 progress, label)
            written.append(target)
            warn.extend(n for n in enc.notes if n not in warn)
            outputs.append(_media_output(enc, part, start, length))
            thumb_target = output_path(sniffed.path, out_dir, f"{stem}.thumb.jpg")
            outputs.append(make_thumb(sniffed, info, profile, start, length, thumb_target, part,
                                       enc.thumb))
            written.append(thumb_target)
        return Fitted(outputs=tuple(outputs), warnings=tuple(warn))
    except BaseException:
        # No partial result: parts already written go too.
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
