"""What the probe reads from audio/video containers, on files that once misled it,
each made here with the bundled ffmpeg: cover art (an attached picture is not a
video stream), and an Ogg whose last page has a negative end trim (its packet
duration wraps to 2**32 - N when read as unsigned)."""
from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import av
import pytest
from PIL import Image

import mediaprep
from mediaprep.tools import ffmpeg as ff


def _make(path: Path, *args: str) -> Path:
    subprocess.run([ff.get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *args, str(path)], check=True, timeout=120, capture_output=True)
    return path


@pytest.fixture(scope="module")
def cover(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("art")
    Image.new("RGB", (64, 64), (200, 0, 0)).save(folder / "art.jpg", quality=90)
    Image.new("RGB", (64, 64), (200, 0, 0)).save(folder / "art.png")
    return folder


# (name, audio codec, picture, extra muxer arguments)
WITH_ART = [
    ("song.m4a", "aac", "art.jpg", []),
    ("book.m4b", "aac", "art.jpg", ["-f", "ipod"]),
    ("song.mp3", "libmp3lame", "art.jpg", []),
    ("song.flac", "flac", "art.png", []),
    ("voice.mp4", "aac", "art.jpg", ["-brand", "mp42"]),  # brand mp42: sniffed as video/mp4
]


@pytest.mark.parametrize("name, codec, picture, extra", WITH_ART)
def test_cover_art_is_not_video(tmp_path: Path, cover: Path, name: str, codec: str, picture: str,
                                extra: list[str]) -> None:
    src = _make(tmp_path / name, "-f", "lavfi", "-i", "sine=d=3", "-i", str(cover / picture),
                "-map", "0", "-map", "1", "-c:a", codec, "-c:v", "copy", "-disposition:v", "attached_pic",
                *extra)
    with av.open(str(src)) as c:  # the file really carries the picture as a stream
        assert len(c.streams.video) == 1
    report = mediaprep.check(src)
    assert report.role == "voice"
    assert "streams" not in {v.rule for v in report.violations}
    facts = dict(report.facts)
    assert "video_codec" not in facts and facts["duration"] == pytest.approx(3.0, abs=0.1)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert res.role == "voice" and [o.format for o in res.outputs] == ["amr"]
    assert not any("extension" in w for w in res.warnings)


def test_mp3_with_cover_art_is_not_passed_through(tmp_path: Path, cover: Path) -> None:
    # wechat-oa takes MP3 as it is, but not one carrying a picture (metadata).
    src = _make(tmp_path / "song.mp3", "-f", "lavfi", "-i", "sine=d=2", "-i", str(cover / "art.jpg"),
                "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "copy", "-disposition:v", "attached_pic")
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out", profile="wechat-oa").outputs
    assert not out.passed_through


def test_video_with_cover_art_uses_the_real_video(tmp_path: Path, cover: Path) -> None:
    src = _make(tmp_path / "clip.mp4", "-f", "lavfi", "-i", "testsrc=d=1:s=160x120:r=10",
                "-i", str(cover / "art.jpg"), "-map", "0", "-map", "1", "-c:v:0", "libx264",
                "-c:v:1", "copy", "-disposition:v:1", "attached_pic")
    facts = dict(mediaprep.check(src).facts)
    assert (facts["video_codec"], facts["width"], facts["height"]) == ("h264", 160, 120)


# --------------------------------------------------------------------- Ogg end trim

def _ogg_crc(data: bytes) -> int:
    """The Ogg page checksum (RFC 3533: CRC-32, polynomial 0x04c11db7, not reflected)."""
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        crc &= 0xFFFFFFFF
    return crc


def _pages(data: bytes) -> list[tuple[int, int]]:
    out, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS"
        count = data[pos + 26]
        size = 27 + count + sum(data[pos + 27:pos + 27 + count])
        out.append((pos, size))
        pos += size
    return out


def _negative_end_trim(data: bytes, samples: int) -> bytes:
    """The last page's granule position set ``samples`` before the previous page's:
    libav then gives the last packet a duration of -samples, as an unsigned 32-bit
    number (about 24 hours at 48 kHz)."""
    out = bytearray(data)
    pages = _pages(data)
    (prev, _), (last, size) = pages[-2], pages[-1]
    granule = struct.unpack("<q", out[prev + 6:prev + 14])[0] - samples
    out[last + 6:last + 14] = struct.pack("<q", granule)
    out[last + 22:last + 26] = b"\0\0\0\0"
    out[last + 22:last + 26] = struct.pack("<I", _ogg_crc(bytes(out[last:last + size])))
    return bytes(out)


def test_ogg_with_negative_end_trim_is_not_hours_long(tmp_path: Path) -> None:
    made = _make(tmp_path / "made.ogg", "-f", "lavfi", "-i", "sine=d=1.19:r=48000", "-c:a", "libvorbis")
    src = tmp_path / "ding.ogg"
    src.write_bytes(_negative_end_trim(made.read_bytes(), 223))
    with open(src, "rb") as fh, av.open(fh) as c:  # the damage is really there
        durations = [p.duration for p in c.demux(c.streams.audio[0]) if p.size]
    assert max(durations) > 2**31
    report = mediaprep.check(src)
    assert dict(report.facts)["duration"] == pytest.approx(1.19, abs=0.1)
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    assert out.format == "amr" and out.duration == pytest.approx(1.19, abs=0.15)
