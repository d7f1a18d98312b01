"""The video fit on sources whose timestamps are not a tidy constant frame rate from
zero: a video track that starts after the audio, jittered timestamps, dropped
frames. Each file is made here with the bundled ffmpeg; each output decoded."""
from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest

import mediaprep
from mediaprep.fit.video import moov_before_mdat
from mediaprep.tools import ffmpeg as ff

pytestmark = pytest.mark.slow


def _make(path: Path, *args: str) -> Path:
    subprocess.run([ff.get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *args, str(path)], check=True, timeout=120, capture_output=True)
    return path


def _facts(path: Path) -> tuple[int, float, float, float]:
    """Video frames, video start, audio start, video duration (seconds)."""
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert v.codec_context.name == "h264" and v.codec_context.profile == "Main"
        frames = sum(1 for p in c.demux(v) if p.size)
        assert v.start_time is not None and a.start_time is not None and v.time_base and a.time_base
        return (frames, float(v.start_time * v.time_base), float(a.start_time * a.time_base),
                float(c.duration / av.time_base))


def test_video_starting_after_the_audio(tmp_path: Path) -> None:
    # Pass 1 used to hand x264 and the raw-frame cache different frame counts here
    # (the cache padded the late start, x264's null output did not), and pass 2 failed:
    # "2nd pass has more frames than 1st pass", exit 6.
    src = _make(tmp_path / "late.mp4", "-f", "lavfi", "-i", "testsrc=d=2:s=320x240:r=25",
                "-f", "lavfi", "-i", "sine=d=2.5", "-vf", "setpts=PTS+0.5/TB",
                "-c:v", "mpeg4", "-q:v", "5", "-c:a", "aac")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media = res.outputs[0]
    assert media.format == "mp4" and moov_before_mdat(media.path) is True
    frames, v_start, a_start, duration = _facts(media.path)
    assert v_start == pytest.approx(0.0, abs=0.01) and a_start == pytest.approx(0.0, abs=0.03)
    assert duration == pytest.approx(2.5, abs=0.1)
    # One frame per 1/25 s from 0: the first frame held over the late start.
    assert abs(frames - 2.5 * 25) <= 2


@pytest.mark.parametrize("name, vf", [
    ("jitter.mkv", "settb=1/1000,setpts='(N+0.45*sin(N*1.7))/25/TB'"),  # a phone's wobbly clock
    ("dropped.avi", "select='not(between(mod(n\\,7)\\,2\\,3))'"),  # 2 of every 7 frames missing
])
def test_irregular_timestamps_give_constant_frame_rate(tmp_path: Path, name: str, vf: str) -> None:
    src = _make(tmp_path / name, "-f", "lavfi", "-i", "testsrc=d=3:s=320x240:r=25", "-f", "lavfi",
                "-i", "sine=d=3", "-vf", vf, "-fps_mode", "passthrough", "-enc_time_base", "filter",
                "-c:v", "mpeg4", "-q:v", "5",
                "-c:a", "aac" if name.endswith(".mkv") else "libmp3lame", "-shortest")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    frames, v_start, _, duration = _facts(res.outputs[0].path)
    assert v_start == pytest.approx(0.0, abs=0.01)
    with av.open(str(res.outputs[0].path)) as c:
        v = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(v) if p.pts is not None)
    steps = {b - a for a, b in zip(pts, pts[1:], strict=False)}
    assert len(steps) == 1  # constant frame rate
    assert abs(frames - duration * float(v.average_rate)) <= 2


def test_a_small_video_never_comes_out_larger(tmp_path: Path) -> None:
    # A 64 KB floor in the segment budget once made a 7 KB clip a 60 KB one.
    src = _make(tmp_path / "small.avi", "-f", "lavfi", "-i", "testsrc=d=2:s=160x120:r=10",
                "-c:v", "mpeg4", "-q:v", "31")
    size = src.stat().st_size
    assert size < 20_000
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media = res.outputs[0]
    assert media.bytes <= size, (media.bytes, size)
    with av.open(str(media.path)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.duration / av.time_base == pytest.approx(2.0, abs=0.15)
    assert not any("more than the original" in w for w in res.warnings)
