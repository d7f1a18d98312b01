"""What a voice note sounds like after the fit: its level and how much speech it kept.

No standard metric scores "what cutting and AMR-NB did to speech" (the codec's own
listening tests are not something a file can be run through), so no quality number
is made up. Each part is described instead by what can be measured and compared
with documented levels:

- the active speech level (ITU-T P.56's idea: the energy of the frames that carry
  speech, pauses left out) and the sample peak, both in dBFS, of the decoded part;
- the share of the input's speech the parts still hold: 20 ms frames louder than
  the input's silence threshold, counted in the input and in the decoded parts
  (whose threshold moves by the gain the fit applied), so a trim or a lost word
  shows as less than 100%.

The frame levels, silence threshold and active level are fit/voice_plan.py's own
numpy functions: the measurement judges the output by the same idea of speech the
fit used to cut it. The band (bands.voice_band) judges the level.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ToolFailed
from ..fit.voice_plan import SAMPLE_RATE, active_level, frame_levels, silence_threshold
from ..formats.amr import FRAME_SECONDS as FRAME_S
from ..tools import ffmpeg as ff
from .bands import Score, voice_band

FLOOR_DB = -100.0


def decode_pcm(path: Path, demuxer: str, stream: int | None = None,
               floor: float = 60.0, duration: float | None = None) -> np.ndarray:
    """One audio stream as 8 kHz mono int16 samples (the voice note's own rate)."""
    args = [*ff.SafeInput(path, demuxer).args(), "-map", f"0:{stream}" if stream is not None else "0:a:0",
            "-vn", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"]
    res = ff.run_args(args, timeout=ff.timeout_for(duration, floor=floor))
    if len(res.stdout) % 2:
        raise ToolFailed("ffmpeg returned a partial sample while decoding", path=path,
                         hint="unset MEDIAPREP_FFMPEG or reinstall imageio-ffmpeg", detail=res.stderr)
    return np.frombuffer(res.stdout, dtype="<i2")


def _peak_db(samples: np.ndarray) -> float:
    if not len(samples):
        return FLOOR_DB
    peak = int(np.max(np.abs(samples.astype(np.int32))))
    return float(20 * np.log10(peak / 32768.0)) if peak else FLOOR_DB


@dataclass(frozen=True)
class VoicePart:
    """An output part to describe: its file, and the gain the fit applied to it."""

    path: Path
    gain_db: float = 0.0
    identical: bool = False  # the input's own bytes (a pass-through)


def score_voice(source: Path, demuxer: str, stream: int | None, parts: Sequence[VoicePart],
                duration: float | None = None, floor: float = 60.0) -> list[Score]:
    """One Score per part: its level and peak, and the share of the input's speech
    that all parts together kept (the same share on every part)."""
    t0 = time.perf_counter()
    src = decode_pcm(source, demuxer, stream, floor, duration)
    src_levels = frame_levels(src)
    threshold = silence_threshold(src_levels) if len(src_levels) else 0.0
    speech_in = int(np.count_nonzero(src_levels > threshold))
    decoded = []
    kept = 0
    for part in parts:
        samples = src if part.identical else decode_pcm(part.path, "amr", None, floor, duration)
        levels = src_levels if part.identical else frame_levels(samples)
        part_threshold = threshold + part.gain_db
        kept += int(np.count_nonzero(levels > part_threshold))
        decoded.append((samples, levels, part_threshold))
    share = min(1.0, kept / speech_in) if speech_in else 1.0
    shared_cost = time.perf_counter() - t0
    scores = []
    for samples, levels, part_threshold in decoded:
        level = active_level(levels, part_threshold) if len(levels) else FLOOR_DB
        peak = _peak_db(samples)
        facts = (("level_dbfs", round(level, 1)), ("peak_dbfs", round(peak, 1)),
                 ("speech_kept", round(share, 3)),
                 ("speech_seconds", round(speech_in * FRAME_S, 2)))
        scores.append(Score("speech", None, voice_band(level), shared_cost / len(parts), facts))
    return scores
