"""Planning a voice note: where the speech is, how loud it is, where to cut.

Pure functions of decoded 8 kHz mono samples (numpy int16): no ffmpeg, no files,
so every decision is testable on synthetic signals. Everything works on 20 ms
frames of 160 samples, which is exactly one AMR-NB frame: a cut on a frame
boundary makes each part's duration exact (frames x 20 ms).

Why numpy rather than pydub: pydub's ``detect_silence`` slides a window one
millisecond at a time (minutes of CPU for an hour of audio) and pydub needs
``audioop``, which Python 3.13 removed; per-frame levels in numpy take a few
milliseconds a minute and need no external binary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formats.amr import FRAME_SAMPLES as FRAME  # 20 ms: planning frame = one AMR-NB frame
from ..formats.amr import FRAME_SECONDS as FRAME_S
from ..formats.amr import SAMPLE_RATE as SAMPLE_RATE  # 8 kHz mono, always

FLOOR_DB = -100.0  # level given to digital silence

# Loudness target: active speech level -19 dBFS (an RMS over the frames that carry
# speech, after ITU-T P.56's idea of ignoring pauses). Why -19: AES TD1004
# recommends -19 LUFS for mono speech on mobile devices (-16 for stereo), and a
# voice note is mono speech played on a phone. It sits inside the range the AMR-NB
# codec is specified and tested over (3GPP tests -16, -26 and -36 dBov, nominal
# -26 dBov), so quiet recordings come up ~7 dB above the telephone nominal level
# and stay audible through the narrow band, while speech peaks (10-20 dB above
# the active level) rarely need the limiter that holds them under -1 dBFS.
TARGET_LEVEL_DB = -19.0
PEAK_CEILING_DB = -1.0
MAX_GAIN_DB = 30.0  # beyond this we would mostly be amplifying noise
MIN_GAIN_DB = -20.0

# Pauses. ffmpeg's silencedetect (-35 dB, 0.5 s) and pydub agree on where real
# speech pauses are (measured on recorded speech); a sentence break is >= 0.5 s, a gap
# between words or phrases >= 0.2 s.
PAUSE_FRAMES = 25  # 0.5 s: a sentence break, preferred cut
GAP_FRAMES = 10  # 0.2 s: a breath between phrases, second choice
SEARCH_BACK_S = 20.0  # look this far back from the limit for a pause (parts of 40-60 s)
HARD_CUT_SEARCH_S = 1.0  # no pause at all: cut at the quietest frame in the last second
LEAD_PAD_FRAMES = 5  # keep 100 ms before the first sound (onsets are soft)
TAIL_PAD_FRAMES = 10  # and 200 ms after the last (decays are long)


def frame_levels(samples: np.ndarray) -> np.ndarray:
    """RMS level in dBFS of each 20 ms frame (the last one zero-padded)."""
    n = len(samples)
    frames = -(-n // FRAME)
    out = np.empty(frames, dtype=np.float64)
    chunk = 60_000  # frames per step (20 min): bounds the float copy's memory
    for i in range(0, frames, chunk):
        part = samples[i * FRAME:(i + chunk) * FRAME].astype(np.float32)
        if len(part) % FRAME:
            part = np.concatenate([part, np.zeros(FRAME - len(part) % FRAME, np.float32)])
        blocks = part.reshape(-1, FRAME)
        power = np.einsum("ij,ij->i", blocks, blocks, dtype=np.float64) / FRAME
        out[i:i + len(blocks)] = 10 * np.log10(power / (32768.0 ** 2) + 1e-10)
    return np.maximum(out, FLOOR_DB)


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` of a 1-d array, to the bit (its default: linear
    interpolation, including the way it rounds): np.percentile imports numpy.ma on
    first use, 10 ms of every command's start."""
    n = len(values)
    if n == 0:
        raise ValueError("percentile of no values")
    pos = (q / 100) * (n - 1)
    lo = int(pos // 1)
    hi = min(lo + 1, n - 1)
    part = np.partition(values, (lo, hi))
    a, b, t = float(part[lo]), float(part[hi]), pos - lo
    return b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t


def silence_threshold(levels: np.ndarray) -> float:
    """The level under which a frame counts as a pause, adapted to the recording.

    Clean speech: 35 dB under the loud frames (95th percentile). A noisy room whose
    floor (10th percentile) comes within 35 dB: just above that floor, provided it
    is still 15 dB under the speech. Without that much contrast (music, constant
    noise) only near-digital silence counts, so nothing audible is ever trimmed.
    """
    loud = percentile(levels, 95)
    floor = percentile(levels, 10)
    thr = loud - 35.0
    if floor + 6.0 > thr and floor + 6.0 <= loud - 15.0:
        thr = floor + 6.0
    return thr


def active_level(levels: np.ndarray, threshold: float) -> float:
    """Energy mean of the speech frames, P.56-style: frames more than 15.9 dB under
    the result do not count (iterated to a fixed point, a few steps)."""
    cut = threshold
    level = FLOOR_DB
    for _ in range(4):
        active = levels[levels > cut]
        if len(active) == 0:
            break
        level = float(10 * np.log10(np.mean(10 ** (active / 10))))
        cut = max(threshold, level - 15.9)
    return level


@dataclass(frozen=True)
class Analysis:
    """The levels of a voice note and where its speech starts and ends, in 20 ms frames."""
    frames: int  # 20 ms frames in the decoded audio
    threshold_db: float
    speech_start: int  # first frame kept (after trimming leading silence)
    speech_end: int  # frame after the last one kept
    active_db: float  # active speech level of the kept audio
    peak_db: float  # sample peak of the kept audio
    silent: bool  # no sound at all above the threshold

    @property
    def gain_db(self) -> float:
        if self.silent:
            return 0.0
        return float(min(MAX_GAIN_DB, max(MIN_GAIN_DB, TARGET_LEVEL_DB - self.active_db)))

    @property
    def needs_limiter(self) -> bool:
        return self.peak_db + self.gain_db > PEAK_CEILING_DB


def analyse(samples: np.ndarray, levels: np.ndarray | None = None) -> Analysis:
    if levels is None:
        levels = frame_levels(samples)
    n = len(levels)
    if n == 0:
        return Analysis(0, 0.0, 0, 0, FLOOR_DB, FLOOR_DB, True)
    thr = silence_threshold(levels)
    loud = np.flatnonzero(levels > thr)
    if len(loud) == 0 or float(levels.max()) < -70.0:
        return Analysis(n, thr, 0, n, FLOOR_DB, FLOOR_DB, True)
    start = max(0, int(loud[0]) - LEAD_PAD_FRAMES)
    end = min(n, int(loud[-1]) + 1 + TAIL_PAD_FRAMES)
    kept = samples[start * FRAME:end * FRAME]
    peak = int(np.max(np.abs(kept.astype(np.int32)))) if len(kept) else 0
    peak_db = 20 * np.log10(peak / 32768.0) if peak else FLOOR_DB
    return Analysis(frames=n, threshold_db=thr, speech_start=start, speech_end=end,
                    active_db=active_level(levels[start:end], thr), peak_db=float(peak_db),
                    silent=False)


@dataclass(frozen=True)
class Pause:
    """A run of silent frames, where a voice note may be cut."""
    start: int  # first silent frame
    end: int  # frame after the last silent one

    @property
    def length(self) -> int:
        return self.end - self.start


def find_pauses(levels: np.ndarray, threshold: float, min_frames: int = GAP_FRAMES) -> list[Pause]:
    """Runs of at least ``min_frames`` frames under the threshold."""
    quiet = np.concatenate([[False], levels <= threshold, [False]]).astype(np.int8)
    edges = np.diff(quiet)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    # Padded with loud frames at both ends, every rise has its fall: as many starts as ends.
    return [Pause(int(s), int(e)) for s, e in zip(starts, ends, strict=True) if e - s >= min_frames]


@dataclass(frozen=True)
class Cut:
    """Where a long voice note is cut, and what it was cut at."""
    frame: int  # cut before this frame
    how: str  # "pause" (>= 0.5 s), "gap" (>= 0.2 s), "hard" (no pause found), "end"


def choose_cut(levels: np.ndarray, pauses: list[Pause], lo: int, hi: int) -> Cut:
    """Where to end a part that may end no later than frame ``hi`` and should end
    after ``lo``: the latest sentence pause, else the latest word gap, else the
    quietest frame of the last second (a hard cut)."""
    for min_len, how in ((PAUSE_FRAMES, "pause"), (GAP_FRAMES, "gap")):
        best: int | None = None
        for p in pauses:
            if p.length < min_len or p.start > hi or p.end < lo:
                continue
            cut = min((p.start + p.end) // 2, hi)
            if cut < max(lo, p.start):
                continue
            best = cut if best is None else max(best, cut)
        if best is not None:
            return Cut(best, how)
    window = max(1, int(round(HARD_CUT_SEARCH_S / FRAME_S)))
    a = max(lo, hi - window)
    if a >= hi:
        return Cut(hi, "hard")
    # The quietest frame; the latest of equals keeps the part long.
    seg = levels[a:hi + 1]
    quietest = a + int(len(seg) - 1 - np.argmin(seg[::-1]))
    return Cut(max(quietest, lo + 1), "hard")


@dataclass(frozen=True)
class Part:
    """One part of a split voice note, in frames."""
    start: int  # frame
    end: int  # frame (exclusive)
    cut: str  # how this part ends: "pause" | "gap" | "hard" | "end"

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def duration(self) -> float:
        return self.frames * FRAME_S


def plan_parts(levels: np.ndarray, threshold: float, start: int, end: int,
               max_frames: int) -> list[Part]:
    """Split frames [start, end) into parts of at most ``max_frames``, greedily
    ending each as late as a pause allows (greedy latest cut gives the fewest parts)."""
    if max_frames <= 0:
        raise ValueError("max_frames must be positive")
    pauses = find_pauses(levels[start:end], threshold)
    pauses = [Pause(p.start + start, p.end + start) for p in pauses]
    back = max(1, min(int(SEARCH_BACK_S / FRAME_S), max_frames // 2))
    parts: list[Part] = []
    pos = start
    while end - pos > max_frames:
        hi = pos + max_frames
        cut = choose_cut(levels, pauses, hi - back, hi)
        parts.append(Part(pos, cut.frame, cut.how))
        pos = cut.frame
    parts.append(Part(pos, end, "end"))
    return parts


def trim_end(levels: np.ndarray, threshold: float, start: int, end: int, keep_frames: int) -> Cut:
    """Where ``--trim`` ends: a pause in the last 5 s before the limit, else the limit."""
    hi = start + keep_frames
    if hi >= end:
        return Cut(end, "end")
    pauses = find_pauses(levels[start:end], threshold)
    pauses = [Pause(p.start + start, p.end + start) for p in pauses]
    back = min(keep_frames // 2, int(5.0 / FRAME_S))
    cut = choose_cut(levels, pauses, hi - back, hi)
    if cut.how == "hard":
        return Cut(hi, "hard")  # a trim at the limit itself, as asked
    return cut
