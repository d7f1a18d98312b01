"""A full-range source (yuvj420p: many phones and webcams) keeps its levels: it is
converted to the TV range H.264 players assume, not copied level for level."""
from __future__ import annotations

from pathlib import Path

import av
import pytest

import mediaprep
from mediaprep.tools.ffmpeg import get_ffmpeg
from mediaprep.tools.proc import run

pytestmark = pytest.mark.slow


def _mean_luma_full_range(path: Path) -> float:
    """Average luma of the first frame, read as full range whatever the file's range."""
    res = run([get_ffmpeg().path, "-v", "error", "-i", f"file:{path}", "-vf",
               "scale=in_range=auto:out_range=pc,format=gray,signalstats,"
               "metadata=print:key=lavfi.signalstats.YAVG:file=-",
               "-frames:v", "1", "-f", "null", "-"], timeout=60, tool="ffmpeg")
    line = next(ln for ln in res.stdout.decode().splitlines() if "YAVG=" in ln)
    return float(line.split("=")[1])


def test_full_range_source_keeps_its_levels(tmp_path: Path) -> None:
    src = tmp_path / "full.mp4"
    run([get_ffmpeg().path, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=1",
         "-vf", "format=yuvj420p", "-c:v", "libx264", "-pix_fmt", "yuvj420p", "-color_range", "pc",
         f"file:{src}"], timeout=120, tool="ffmpeg")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out", as_="video")
    out = next(o for o in res.outputs if o.slot == "media")
    with av.open(str(out.path)) as c:
        # TV range, or unsignalled, which H.264 (E.2.1, video_full_range_flag) reads as TV range.
        assert c.streams.video[0].codec_context.color_range in (0, 1)
    before, after = _mean_luma_full_range(src), _mean_luma_full_range(out.path)
    assert abs(after - before) < 1.0, (before, after)  # before the fix: +2.4 levels
