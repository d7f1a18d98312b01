"""Any audio (or a video's sound) becomes WeChat voice: AMR-NB, 8 kHz mono,
12.2 kbit/s, each file at most the profile's duration (60 s) and byte limit.

One decode, whatever the length, then the encode:
1. decode the chosen audio stream to 8 kHz mono 16-bit PCM on stdout (the
   resample to the codec's rate happens once, here);
2. after planning in numpy (voice_plan: silence, loudness, cut points), encode
   the parts from that PCM: gain, a limiter when peaks would pass -1 dBFS,
   ``asplit`` + ``atrim`` per part, one AMR file each. A long recording's parts
   are encoded in a few runs side by side (lanes of consecutive parts, each fed
   only its own samples on stdin), so that the encode uses every core.
Each part is written to a temporary name and renamed only when every part has
been checked frame by frame, so a failure never leaves a part behind.

A compliant AMR-NB input (right codec, <= 60 s, <= the byte limit) is copied
byte for byte: AMR files carry no metadata to strip. A longer AMR-NB input whose
level is already near the target is cut without re-encoding: the plan is made on
the decoded samples as usual, and since one decoded 20 ms frame is one frame of
the file, each part is the header plus a run of the original frames (a second
AMR generation would cost audible quality; a cut inside a pause hides the
decoder settling on the first frames).
"""
from __future__ import annotations

import contextlib
import importlib
import itertools
import math
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import ffmpeg as ffmpeg_python  # ffmpeg-python: builds the graph; tools.ffmpeg runs it

from ..errors import BadInput, CannotComply, LimitExceeded, ToolFailed
from ..formats import amr
from ..formats.source import read_prefix
from ..model import Fitted, Notice, OutputFile, PrepareOptions, ProgressFn, Role
from ..output import atomic_path, output_path, write_bytes
from ..preflight.check import voice_format, voice_violations
from ..preflight.probe import MediaInfo
from ..preflight.sniff import Sniffed
from ..profiles import Profile, RoleLimits
from ..tools import env
from ..tools import ffmpeg as ff

if TYPE_CHECKING:
    import numpy as np

    from .voice_plan import Analysis, Part

# numpy and the planner (voice_plan) are imported while ffmpeg decodes (prepare_voice):
# numpy's import is 0.07 s of a command's start, and a passthrough never needs it.
FRAME = amr.FRAME_SAMPLES
SAMPLE_RATE = amr.SAMPLE_RATE
FRAME_S = amr.FRAME_SECONDS

ENCODER = "libopencore_amrnb"
BITRATE = "12.2k"  # the highest AMR-NB mode: 1,600 B/s, so 60 s is ~96 KB, well under 256 KB
# ffmpeg's AMR-NB encoder flushes one frame more than the samples fill; plan one
# more frame of margin so a part never lands on the limit itself.
ENCODER_EXTRA_FRAMES = 1
MARGIN_FRAMES = 1
# An AMR-NB source whose level is within this of the target is cut losslessly
# rather than normalised: the gain is not worth a second lossy generation.
LOSSLESS_GAIN_DB = 6.0
# The parts are encoded in lanes, one ffmpeg run each, side by side (see _encode).
MAX_LANES = 16
ROLL_FRAMES = 25  # 0.5 s of context around a lane's parts for the limiter


def max_part_frames(limits: RoleLimits) -> int:
    """Frames of audio one part may hold so that the AMR file stays within both the
    duration and the byte limit (at 12.2 kbit/s every frame is 32 bytes)."""
    by_bytes = (limits.max_bytes - len(amr.MAGIC)) // amr.MR122_FRAME_BYTES
    frames = by_bytes
    if limits.max_duration is not None:
        frames = min(frames, int(math.floor(limits.max_duration / FRAME_S + 1e-9)))
    return frames - ENCODER_EXTRA_FRAMES - MARGIN_FRAMES


# Tags every encoder writes; anything else (title, artist, comment, cover art)
# could be personal, and re-encoding to AMR drops it.
_HARMLESS_TAGS = {"encoder", "encoded_by"}
# Shorter than this is no voice note (a click; a scipy test WAV of 9 mu-law samples
# would have become one 20 ms AMR frame), and may resample to nothing at 8 kHz (a
# test file of 10 samples at 1234 Hz): refused as too short.
MIN_SECONDS = 0.05


def _passthrough(sniffed: Sniffed, info: MediaInfo, limits: RoleLimits,
                 opts: PrepareOptions) -> bytes | None:
    """The input's bytes when it is already compliant AMR-NB (or, where the profile
    takes it, MP3 without tags or cover art) and no trim shortens it."""
    if voice_violations(sniffed, info, limits):
        return None
    if opts.trim and opts.trim < info.duration:
        return None
    fmt = voice_format(info)
    # Within the budget (no "bytes" violation above): read at most that much.
    data = read_prefix(sniffed.path, limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        return None  # it grew since it was checked
    if fmt == "amr":
        try:
            amr.count_frames(data)  # trailing junk or damage: re-encode instead
        except amr.NotAmrNb:
            return None
        return data
    personal = {k for k, _ in info.tags} - _HARMLESS_TAGS
    if fmt == "mp3" and not personal and not info.video and not info.attached_pictures:
        return data
    return None


def _decode(sniffed: Sniffed, info: MediaInfo, profile: Profile) -> bytes:
    """The chosen audio stream as 8 kHz mono 16-bit samples (little-endian)."""
    stream = info.default_audio
    assert stream is not None
    safety = profile.safety
    # ffmpeg passes every frame from thread to thread (decoder, filters, encoder,
    # muxer), and writes every packet to the pipe at once, waking us: 9,000 frames
    # for 3 minutes of Opus. So the samples, once in the output's format (aformat
    # makes them 8 kHz mono s16: the only conversion, the output takes its format
    # as it comes), go on in 1 s frames (asetnsamples), and
    # reach the pipe 32 KB at a time (flush_packets=0): half the context switches,
    # a third less system time, the same bytes.
    graph = (ff.safe_input(sniffed.path, sniffed.demuxer or "", sniffed.decoder)[str(stream.index)]
             .filter("aformat", sample_fmts="s16", sample_rates=SAMPLE_RATE, channel_layouts="mono")
             .filter("asetnsamples", n=SAMPLE_RATE, p=0)
             .output("pipe:1", format="s16le", acodec="pcm_s16le",
                     t=f"{safety.max_duration:.0f}", flush_packets=0))
    res = ff.run_graph(graph, timeout=ff.timeout_for(info.duration, floor=safety.timeout_floor))
    if len(res.stdout) % 2:
        raise ToolFailed("ffmpeg returned a partial sample while decoding", path=sniffed.path,
                         hint="the ffmpeg in use misbehaves; unset MEDIAPREP_FFMPEG or reinstall "
                         "imageio-ffmpeg", detail=res.stderr)
    count = len(res.stdout) // 2
    if count >= safety.max_duration * SAMPLE_RATE:
        raise LimitExceeded(f"decodes to more than our limit of {safety.max_duration / 3600:g} h",
                            path=sniffed.path, hint="cut it into shorter pieces first")
    if count < MIN_SECONDS * SAMPLE_RATE:
        if info.duration < MIN_SECONDS:
            raise BadInput(f"the audio lasts only {info.duration * 1000:.0f} ms, too short for a voice note",
                           path=sniffed.path, hint="record or export a longer one")
        raise BadInput("no audio could be decoded" if count == 0 else
                       f"only {count * 1000 / SAMPLE_RATE:.0f} ms of its {info.duration:.1f} s could be decoded",
                       path=sniffed.path, hint="the audio data is damaged; export or download it again")
    return res.stdout


def _lane_count(parts: int) -> int:
    """How many ffmpeg runs encode the parts side by side: MEDIAPREP_THREADS when set
    (a batch worker sets 1), else two per core, so that the operating system evens
    out lanes of unequal length (four parts of 55, 57, 56 and 12 s in two lanes would
    leave one core idle for a third of the time)."""
    n = env.threads() or 2 * env.cores()
    return max(1, min(parts, n, MAX_LANES))


def _lanes(parts: list[Part], count: int) -> list[list[Part]]:
    """``parts`` in ``count`` runs of consecutive parts, as even in length as cuts
    between parts allow."""
    ends = list(itertools.accumulate(p.frames for p in parts))
    total = float(ends[-1])
    bounds = [0]
    for k in range(1, count):
        lo, hi = bounds[-1] + 1, len(parts) - (count - k)  # every lane keeps at least one part
        best = min(range(lo, hi + 1), key=lambda i: abs(float(ends[i - 1]) - total * k / count))
        bounds.append(best)
    bounds.append(len(parts))
    return [parts[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def _encode(samples: np.ndarray, parts: list[Part], base: int, analysis: Analysis,
            targets: list[Path], timeout: float) -> list[tuple[int, int]]:
    """Encode every part; returns (frames, bytes) per part. The targets appear only
    when all parts are written and verified.

    The parts are encoded in lanes, runs of consecutive parts, one ffmpeg each, side
    by side: AMR-NB encoding is most of the work and runs on one core per stream,
    and one ffmpeg keeps its outputs in step, so one run encodes on one core however
    many parts it has. Each lane gets its samples on stdin. With the limiter on, a
    lane starts and ends ROLL_FRAMES beyond its parts, so that the limiter reaches
    each part as it would through one input (its release is 50 ms); without it,
    every sample is the same as through one input."""
    from .voice_plan import PEAK_CEILING_DB

    gain = analysis.gain_db
    roll = ROLL_FRAMES if analysis.needs_limiter else 0
    end = parts[-1].end
    lanes = _lanes(parts, _lane_count(len(parts)))
    with contextlib.ExitStack() as stack:
        tmps = [stack.enter_context(atomic_path(t)) for t in targets]
        unused = iter(tmps)
        graphs, inputs = [], []
        for lane in lanes:
            first, last = max(base, lane[0].start - roll), min(end, lane[-1].end + roll)
            inputs.append(samples[first * FRAME:last * FRAME].tobytes())
            audio = ff.pipe_input("s16le", ar=SAMPLE_RATE, ac=1)
            if abs(gain) >= 0.05:
                # precision=float: a fixed-point gain on s16 would clip before the limiter sees it.
                audio = audio.filter("volume", volume=f"{gain:.2f}dB", precision="float")
            if analysis.needs_limiter:
                # Lookahead limiter holding peaks at -1 dBFS; latency=1 removes its delay so
                # the cut points stay where they were planned; level=0: no auto make-up gain.
                audio = audio.filter("alimiter", limit=f"{10 ** (PEAK_CEILING_DB / 20):.4f}",
                                     attack=5, release=50, level=0, latency=1)
            whole = len(lane) == 1 and (lane[0].start, lane[0].end) == (first, last)
            branches = [audio] if len(lane) == 1 else \
                [audio.filter_multi_output("asplit", len(lane)).stream(i) for i in range(len(lane))]
            outs = []
            # strict: one branch per part; a mismatch must fail, not drop a part.
            for part, branch in zip(lane, branches, strict=True):
                if not whole:
                    branch = (branch.filter("atrim", start_sample=(part.start - first) * FRAME,
                                            end_sample=(part.end - first) * FRAME)
                              .filter("asetpts", "N/SR/TB"))
                outs.append(branch.output(ff.input_url(next(unused)), format="amr", acodec=ENCODER,
                                          ar=SAMPLE_RATE, ac=1, **{"b:a": BITRATE}))
            graphs.append(outs[0] if len(outs) == 1 else ffmpeg_python.merge_outputs(*outs))
        if next(unused, None) is not None:
            raise AssertionError("a part was left out of the lanes")
        ff.run_graphs(graphs, timeout=timeout, inputs=inputs)
        made = []
        for part, tmp in zip(parts, tmps, strict=True):
            data = tmp.read_bytes()
            try:
                frames = amr.count_frames(data)
            except amr.NotAmrNb as exc:
                raise ToolFailed(f"ffmpeg wrote an unusable AMR file ({exc})",
                                 hint="the ffmpeg in use misbehaves; unset MEDIAPREP_FFMPEG or "
                                 "reinstall imageio-ffmpeg") from exc
            expected = part.frames + ENCODER_EXTRA_FRAMES
            if abs(frames - expected) > 1:
                raise ToolFailed(f"ffmpeg wrote {frames} AMR frames where {expected} were due",
                                 hint="the ffmpeg in use misbehaves; unset MEDIAPREP_FFMPEG or "
                                 "reinstall imageio-ffmpeg")
            made.append((frames, len(data)))
        return made


def _amr_source(sniffed: Sniffed, info: MediaInfo, samples: np.ndarray) -> tuple[bytes, list[int]] | None:
    """The AMR-NB input's bytes and frame offsets, when decoded frame k is file frame k."""
    if voice_format(info) != "amr":
        return None
    frames = -(-len(samples) // FRAME)
    # Never more than the decoded frames can take (32 bytes each at most): a file
    # longer than that does not match them anyway, whatever follows.
    most = len(amr.MAGIC) + frames * amr.MR122_FRAME_BYTES
    data = read_prefix(sniffed.path, most + 1)
    if len(data) > most:
        return None
    try:
        offsets = amr.frame_offsets(data)
    except amr.NotAmrNb:
        return None
    if len(offsets) - 1 != frames:
        return None
    return data, offsets


def _split_amr(data: bytes, offsets: list[int], parts: list[Part],
               targets: list[Path]) -> list[tuple[int, int]]:
    """Each part as the AMR header plus its run of the source's frames, written
    atomically together. Returns (frames, bytes) per part."""
    made = []
    with contextlib.ExitStack() as stack:
        for part, target in zip(parts, targets, strict=True):
            tmp = stack.enter_context(atomic_path(target))
            end = min(part.end, len(offsets) - 1)
            chunk = amr.MAGIC + data[offsets[part.start]:offsets[end]]
            tmp.write_bytes(chunk)
            made.append((end - part.start, len(chunk)))
    return made


def _import_meanwhile(module: str) -> threading.Thread:
    """Import ``module`` in a thread of its own, to be joined before its first use:
    numpy's import (0.07 s of CPU, most of the planner's) runs while ffmpeg decodes,
    on the core ffmpeg leaves free. A failure there is left for the import proper
    to raise, in the caller's thread (Python keeps no half-imported module)."""
    def load() -> None:
        with contextlib.suppress(Exception):
            importlib.import_module(module)

    thread = threading.Thread(target=load, name="mediaprep-import", daemon=True)
    thread.start()
    return thread


def _fmt_time(seconds: float) -> str:
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def prepare_voice(sniffed: Sniffed, info: MediaInfo, profile: Profile, role: Role,
                  opts: PrepareOptions, out_dir: Path,
                  progress: ProgressFn | None = None) -> Fitted:
    limits = profile.limits("voice")
    warn: list[str] = []
    if info.default_audio is None:
        raise BadInput("no audio stream to make a voice note from", path=sniffed.path,
                       hint="the file has pictures only")
    same = _passthrough(sniffed, info, limits, opts)
    if same is not None:
        fmt = voice_format(info)
        target = output_path(sniffed.path, out_dir, "." + fmt)
        write_bytes(target, same)
        return Fitted(outputs=(OutputFile(path=target, slot="media", role="voice", bytes=len(same),
                                          format=fmt, duration=info.duration,
                                          passed_through=True),))
    if "amr" not in limits.formats:
        raise CannotComply(f"profile {profile.name!r} does not accept AMR for voice",
                           path=sniffed.path, hint="add amr to the profile's voice formats")
    ff.get_ffmpeg().require(ENCODER)
    max_frames = max_part_frames(limits)
    if max_frames < 1:
        raise CannotComply(f"a voice byte limit of {limits.max_bytes:,} holds no AMR audio",
                           path=sniffed.path, hint="raise the profile's voice max_bytes")

    def step(done: float, what: str) -> None:
        if progress:
            progress(done, 3, what)

    step(0, "decoding")
    planner = _import_meanwhile(f"{__package__}.voice_plan")
    pcm = _decode(sniffed, info, profile)
    planner.join()
    import numpy as np

    from .voice_plan import analyse, frame_levels, plan_parts, trim_end

    samples = np.frombuffer(pcm, dtype="<i2")
    decoded = len(samples) / SAMPLE_RATE
    if info.header_duration and abs(info.header_duration - decoded) > max(1.0, 0.05 * decoded):
        warn.append(f"the header claims {_fmt_time(info.header_duration)} but the audio lasts "
                    f"{_fmt_time(decoded)}; going by the audio")
    step(1, "analysing")
    levels = frame_levels(samples)
    an = analyse(samples, levels)
    if an.silent:
        raise BadInput("the audio is silent", path=sniffed.path,
                       hint="the recording failed or the microphone was muted; record it again")
    start, end = an.speech_start, an.speech_end
    limit_s = max_frames * FRAME_S
    if opts.trim is not None and end - start > 0:
        keep = max_frames if opts.trim <= 0 else min(max_frames, int(opts.trim / FRAME_S))
        if opts.trim > limit_s:
            warn.append(f"--trim {opts.trim:g} s is over the {limits.max_duration or limit_s:g} s "
                        "limit; keeping what fits")
        cut = trim_end(levels, an.threshold_db, start, end, max(1, keep))
        if cut.frame < end:
            warn.append(Notice(f"trimmed: kept the first {(cut.frame - start) * FRAME_S:.1f} s of "
                               f"{(end - start) * FRAME_S:.1f} s" + (" (cut in a pause)" if cut.how != "hard" else "")))
        end = cut.frame
    long_s = (end - start) * FRAME_S
    if end - start > max_frames and opts.split is False:
        raise CannotComply(f"{long_s:.1f} s of sound is over the {limit_s:.1f} s a voice note may last",
                           path=sniffed.path,
                           hint="use --trim to keep the first part, or drop --no-split to send it in parts")
    parts = plan_parts(levels, an.threshold_db, start, end, max_frames)
    if opts.max_parts is not None and len(parts) > opts.max_parts:
        raise CannotComply(f"{long_s:.1f} s needs {len(parts)} voice notes of at most "
                           f"{limit_s:.1f} s, more than --max-parts {opts.max_parts}",
                           path=sniffed.path, hint="raise --max-parts, or use --trim to keep the first part")
    hard = [i + 1 for i, p in enumerate(parts) if p.cut == "hard"]
    if hard:
        warn.append(f"no pause near the {limit_s:.0f} s limit: part(s) {', '.join(map(str, hard))} "
                    "end at the quietest moment instead")
    if an.gain_db >= 29.95:
        warn.append("very quiet recording: raised by 30 dB, the most we apply")
    single = len(parts) == 1
    targets = [output_path(sniffed.path, out_dir, ".amr" if single else f".part{i}.amr")
               for i in range(1, len(parts) + 1)]
    source = _amr_source(sniffed, info, samples) if abs(an.gain_db) <= LOSSLESS_GAIN_DB else None
    if source is not None:
        step(2, "cutting the AMR frames")
        made = _split_amr(*source, parts, targets)
        settings: tuple[tuple[str, object], ...] = (
            ("codec", "amr_nb"), ("lossless", True), ("sample_rate_hz", SAMPLE_RATE), ("channels", 1))
    else:
        step(2, "encoding" if single else f"encoding {len(parts)} parts")
        timeout = ff.timeout_for((end - start) * FRAME_S, floor=profile.safety.timeout_floor)
        made = _encode(samples, parts, start, an, targets, timeout)
        settings = (("codec", "amr_nb"), ("bitrate", BITRATE), ("sample_rate_hz", SAMPLE_RATE),
                    ("channels", 1), ("gain_db", round(an.gain_db, 1)), ("limiter", an.needs_limiter))
    step(3, "done")
    outputs = []
    for i, (part, target, (frames, size)) in enumerate(zip(parts, targets, made, strict=True), start=1):
        details = (*settings, ("start_seconds", round(part.start * FRAME_S, 3)),
                   ("end_seconds", round(part.end * FRAME_S, 3)), ("ends_at", part.cut))
        outputs.append(OutputFile(path=target, slot="media", role="voice", bytes=size, format="amr",
                                  duration=frames * amr.FRAME_SECONDS, part=None if single else i,
                                  details=details))
    return Fitted(outputs=tuple(outputs), warnings=tuple(warn))
