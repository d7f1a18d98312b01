"""``--as video`` for animations: GIF, APNG and animated WebP made here with Pillow
become H.264 MP4s within the video budget with a thumb, each frame shown for as
long as the animation said (measured on the decoded output)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

import mediaprep
from mediaprep.errors import LimitExceeded, UsageError
from mediaprep.fit.video import moov_before_mdat

pytestmark = pytest.mark.slow

DELAYS = [100] * 6 + [300] * 6  # ms: 2.4 s


def _ball(path: Path, fmt: str, delays: list[int], size: tuple[int, int] = (120, 90)) -> Path:
    """A red ball moving 8 px right each frame. GIF and APNG frames are transparent
    around the ball and cleared after showing (disposal to background), as browsers
    show them: on white, one ball at a time."""
    frames = []
    for i in range(len(delays)):
        im = Image.new("RGBA", size, (0, 0, 0, 0) if fmt != "WEBP" else (255, 255, 255, 255))
        ImageDraw.Draw(im).ellipse((i * 8, 30, i * 8 + 20, 50), fill=(200, 0, 0, 255))
        frames.append(im)
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=delays, loop=0,
                   disposal=2 if fmt == "GIF" else 1)
    return path


def _ball_positions(mp4: Path) -> list[int]:
    """The ball's left edge in every decoded frame."""
    out = []
    with av.open(str(mp4)) as c:
        for frame in c.decode(video=0):
            row = np.asarray(frame.to_image().convert("RGB"))[40, :, 1]
            out.append(int(np.argmax(row < 100)))
    return out


@pytest.mark.parametrize("fmt, ext", [("GIF", "gif"), ("PNG", "png"), ("WEBP", "webp")])
def test_animation_becomes_a_video_with_its_timing(tmp_path: Path, fmt: str, ext: str) -> None:
    src = _ball(tmp_path / f"ball.{ext}", fmt, DELAYS)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out", as_="video")
    media, thumb = res.outputs
    assert res.role == "video" and media.format == "mp4" and thumb.role == "thumb"
    assert media.bytes <= 1_000_000 and moov_before_mdat(media.path) is True
    assert res.attachments[0].to_dict()["type"] == "video"
    assert any("animation (12 frames, 2.4 s) sent as a video" in w for w in res.warnings)
    with av.open(str(media.path)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.name, v.codec_context.profile) == ("h264", "Main")
        assert c.duration / av.time_base == pytest.approx(2.4, abs=0.05)
        rate = float(v.average_rate)
    positions = _ball_positions(media.path)
    # Each frame's position held for its own delay: 100 ms, then 300 ms.
    held = [positions.count(8 * i) for i in range(12)]
    assert held == [round(d * rate / 1000) for d in DELAYS], (held, rate)
    with Image.open(thumb.path) as im:
        assert im.format == "JPEG" and thumb.bytes <= 64_000


def test_zero_delays_are_shown_as_browsers_show_them(tmp_path: Path) -> None:
    src = _ball(tmp_path / "fast.gif", "GIF", [0] * 5)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out", as_="video")
    with av.open(str(res.outputs[0].path)) as c:
        assert c.duration / av.time_base == pytest.approx(0.5, abs=0.05)  # 100 ms a frame


def test_image_path_suggests_as_video(tmp_path: Path) -> None:
    src = _ball(tmp_path / "ball.gif", "GIF", DELAYS)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert res.outputs[0].format == "jpeg"
    assert any("--as video" in w for w in res.warnings)


def test_still_image_cannot_be_a_video(tmp_path: Path) -> None:
    src = tmp_path / "still.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(src)
    with pytest.raises(UsageError, match="still image"):
        mediaprep.prepare(src, out_dir=tmp_path / "out", as_="video")


def test_animation_frames_over_the_video_limit_are_refused_before_decoding(tmp_path: Path) -> None:
    src = _ball(tmp_path / "wide.gif", "GIF", [100, 100], size=(5000, 2000))
    with pytest.raises(LimitExceeded, match="video limit"):
        mediaprep.prepare(src, out_dir=tmp_path / "out", as_="video")
