"""The voice planner and the AMR-NB parser, on synthetic signals (no ffmpeg)."""
from __future__ import annotations

import numpy as np
import pytest

from mediaprep.fit.voice import max_part_frames
from mediaprep.fit.voice_plan import (
    FRAME,
    SAMPLE_RATE,
    analyse,
    choose_cut,
    find_pauses,
    frame_levels,
    plan_parts,
    trim_end,
)
from mediaprep.formats import amr
from mediaprep.profiles import WECHAT, RoleLimits

RNG = np.random.default_rng(7)


def tone(seconds: float, amp: float = 0.3, f: float = 300.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (amp * 32767 * np.sin(2 * np.pi * f * t)).astype(np.int16)


def hush(seconds: float, noise_db: float | None = None) -> np.ndarray:
    n = int(seconds * SAMPLE_RATE)
    if noise_db is None:
        return np.zeros(n, np.int16)
    return (RNG.standard_normal(n) * 32767 * 10 ** (noise_db / 20)).astype(np.int16)


def test_frame_levels_of_a_sine():
    levels = frame_levels(tone(1.0, amp=0.5))
    assert len(levels) == 50
    # RMS of a sine is amplitude / sqrt(2): 0.5 -> -9.03 dBFS
    assert levels[1:-1] == pytest.approx(-9.03, abs=0.05)
    assert frame_levels(hush(0.1)).max() == -100.0


def test_analysis_trims_silence_at_both_ends_with_small_pads():
    x = np.concatenate([hush(2.0), tone(3.0), hush(0.5), tone(2.0), hush(3.0)])
    an = analyse(x)
    assert an.speech_start == 100 - 5  # 2.0 s in, less 100 ms
    assert an.speech_end == 100 + 150 + 25 + 100 + 10  # last sound + 200 ms
    assert not an.silent
    assert an.active_db == pytest.approx(20 * np.log10(0.3 / np.sqrt(2)), abs=0.2)


def test_gain_is_clamped_and_limiter_engages_on_peaks():
    quiet = analyse(np.concatenate([hush(1), tone(2.0, amp=0.0005), hush(1)]))
    assert quiet.gain_db == 30.0  # the most we apply
    loud = analyse(tone(2.0, amp=0.99))
    assert loud.gain_db < 0 and not loud.needs_limiter
    x = tone(3.0, amp=0.02)
    x[8000:8010] = 32000  # a click: 10 samples at full scale
    spiky = analyse(x)
    assert spiky.gain_db > 10 and spiky.needs_limiter


def test_silence_and_near_silence_are_silent():
    assert analyse(hush(3.0)).silent
    assert analyse(hush(3.0, noise_db=-80)).silent


def test_pauses_are_found_in_a_noisy_room():
    # Speech at about -13 dBFS over a -45 dBFS noise floor: pauses are noise, not zero.
    x = np.concatenate([hush(1.0, -45), tone(4.0), hush(0.6, -45), tone(4.0), hush(0.3, -45),
                        tone(4.0), hush(1.0, -45)])
    an = analyse(x)
    pauses = find_pauses(frame_levels(x), an.threshold_db)
    spans = [(p.start, p.end) for p in pauses]
    assert (250, 280) in spans and (480, 495) in spans
    assert an.speech_start == 45


def test_cut_prefers_the_latest_sentence_pause_then_a_gap_then_the_quietest_frame():
    levels = np.full(4000, -20.0)
    levels[1000:1030] = -90  # 0.6 s pause
    levels[2500:2512] = -90  # 0.24 s gap, later
    pauses = find_pauses(levels, -55.0)
    assert choose_cut(levels, pauses, 500, 2999).how == "pause"
    assert choose_cut(levels, pauses, 500, 2999).frame == 1015
    assert choose_cut(levels, pauses, 1100, 2999) == choose_cut(levels, pauses, 1100, 2999)
    gap = choose_cut(levels, pauses, 1100, 2999)
    assert (gap.how, gap.frame) == ("gap", 2506)
    levels[3990] = -40  # the quietest moment of the last second
    hard = choose_cut(levels, [], 3000, 3999)
    assert (hard.how, hard.frame) == ("hard", 3990)


def test_a_pause_straddling_the_limit_is_cut_at_the_limit():
    levels = np.full(4000, -20.0)
    levels[2990:3040] = -90
    cut = choose_cut(levels, find_pauses(levels, -55.0), 2000, 3000)
    assert (cut.how, cut.frame) == ("pause", 3000)


def test_plan_covers_everything_in_the_fewest_parts_within_the_limit():
    rng = np.random.default_rng(1)
    levels = np.full(20_000, -20.0)  # 400 s
    for start in rng.integers(0, 19_900, 60):  # pauses at random places
        levels[start:start + rng.integers(10, 60)] = -90
    parts = plan_parts(levels, -55.0, 10, 19_990, 2998)
    assert parts[0].start == 10 and parts[-1].end == 19_990
    assert all(a.end == b.start for a, b in zip(parts, parts[1:], strict=False))
    assert all(p.frames <= 2998 for p in parts)
    assert len(parts) <= -(-19_980 // 2000)  # never short parts: each but the last >= 40 s
    for p in parts[:-1]:
        assert p.frames >= 2000
        if p.cut in ("pause", "gap"):
            assert levels[p.end] == -90 or levels[p.end - 1] == -90


def test_exactly_the_limit_is_one_part():
    levels = np.full(2998, -20.0)
    assert len(plan_parts(levels, -55.0, 0, 2998, 2998)) == 1
    assert len(plan_parts(np.full(2999, -20.0), -55.0, 0, 2999, 2998)) == 2


def test_trim_ends_in_a_pause_of_the_last_5_seconds_else_at_the_limit():
    levels = np.full(5000, -20.0)
    levels[2800:2830] = -90
    assert trim_end(levels, -55.0, 0, 5000, 2998).frame == 2815
    assert trim_end(np.full(5000, -20.0), -55.0, 0, 5000, 2998).frame == 2998
    assert trim_end(levels, -55.0, 0, 1000, 2998).how == "end"


def test_part_length_obeys_duration_and_bytes():
    # 60 s is 3000 frames; one frame the encoder adds, one of margin.
    assert max_part_frames(WECHAT.voice) == 2998
    # 50,000 B holds (50,000 - 6) // 32 = 1562 frames.
    assert max_part_frames(RoleLimits(max_bytes=50_000, formats=("amr",), max_duration=60.0)) == 1560


def test_amr_parser_counts_frames_and_rejects_garbage():
    frame = bytes([7 << 3 | 0x04]) + bytes(31)  # 12.2 kbit/s, quality bit set
    data = amr.MAGIC + frame * 50 + bytes([15 << 3 | 0x04])  # and one NO_DATA frame
    assert amr.count_frames(data) == 51 and amr.duration_of(data) == pytest.approx(1.02)
    assert amr.bytes_for(3000) == 96_006
    for bad in (b"garbage", amr.MAGIC + frame[:-1], amr.MAGIC + b"\xff" * 32,
                b"#!AMR-WB\n" + frame):
        with pytest.raises(amr.NotAmrNb):
            amr.count_frames(bad)
    assert FRAME == 160


def test_lanes_are_runs_of_whole_parts_of_even_length():
    from mediaprep.fit.voice import _lanes
    from mediaprep.fit.voice_plan import Part

    frames = [2759, 2837, 2800, 608]  # 55.2, 56.7, 56.0 and 12.2 s
    parts, pos = [], 0
    for n in frames:
        parts.append(Part(pos, pos + n, "pause"))
        pos += n
    for count in range(1, 5):
        lanes = _lanes(parts, count)
        assert len(lanes) == count and [p for lane in lanes for p in lane] == parts
    assert [len(lane) for lane in _lanes(parts, 2)] == [2, 2]  # 112 s and 68 s: the most even
    assert [len(lane) for lane in _lanes(parts, 3)] == [1, 1, 2]
    assert _lanes(parts[:1], 1) == [parts[:1]]


def test_percentile_is_numpys_to_the_bit():
    from mediaprep.fit.voice_plan import percentile

    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 101, 9000):
        for values in (rng.normal(-40.0, 20.0, n), rng.normal(-40.0, 20.0, n).round(1)):
            for q in (0, 10, 33.3, 50, 95, 100):
                assert percentile(values, q) == float(np.percentile(values, q))
