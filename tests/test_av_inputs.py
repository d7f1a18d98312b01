"""Audio and video containers beyond the phone's own, each made here by the bundled
ffmpeg and prepared end to end: AIFF, AU, Wave64, Core Audio, big-endian WAV (RIFX),
WMA/WMV (ASF), FLV, MPEG-1/2 program streams, MPEG transport streams (M2TS too), Ogg
Theora. Voice outputs are decoded and their pitch measured (a wrongly decoded PCM
is noise); video outputs are H.264 MP4s with a thumb. What is still refused names
what it is and says what to do."""
from __future__ import annotations

import gzip
import struct
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

import mediaprep
from mediaprep.errors import UnsupportedType
from mediaprep.fit.video import moov_before_mdat
from mediaprep.preflight.sniff import sniff
from mediaprep.tools import ffmpeg as ff

TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=1.5:sample_rate=22050"]
PICTURE = ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=1.5"]


def _make(path: Path, *args: str) -> Path:
    subprocess.run([ff.get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *args, str(path)], check=True, timeout=120, capture_output=True)
    return path


def _pitch(amr: Path) -> float:
    """The strongest frequency of a decoded AMR file, in Hz."""
    with av.open(str(amr)) as c:
        samples = np.concatenate([f.to_ndarray().ravel() for f in c.decode(audio=0)]).astype(np.float64)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * 8000 / len(samples))


def _rifx(wav: bytes) -> bytes:
    """A little-endian WAV's chunks and samples rewritten big-endian (RIFX)."""
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    out = bytearray(b"RIFX" + struct.pack(">I", len(wav) - 8) + b"WAVE")
    pos = 12
    while pos + 8 <= len(wav):
        kind, size = wav[pos:pos + 4], struct.unpack("<I", wav[pos + 4:pos + 8])[0]
        body = wav[pos + 8:pos + 8 + size]
        if kind == b"fmt ":
            body = struct.pack(">HHIIHH", *struct.unpack("<HHIIHH", body[:16])) + body[16:]
        elif kind == b"data":
            body = np.frombuffer(body, dtype="<i2").astype(">i2").tobytes()
        out += kind + struct.pack(">I", size) + body + b"\0" * (size & 1)
        pos += 8 + size + (size & 1)
    return bytes(out)


VOICE = [
    ("tone.aiff", [], "aiff"),
    ("tone.au", ["-c:a", "pcm_s16be"], "au"),
    ("tone.w64", [], "w64"),
    ("tone.caf", ["-f", "caf"], "caf"),
    ("tone.wma", ["-c:a", "wmav2"], "asf"),
    ("tone.flv", ["-c:a", "libmp3lame", "-ar", "22050"], "flv"),
]


@pytest.mark.parametrize("name, args, fmt", VOICE)
def test_audio_containers_become_voice_notes(tmp_path: Path, name: str, args: list[str], fmt: str) -> None:
    src = _make(tmp_path / name, *TONE, *args)
    sniffed = sniff(src)
    assert (sniffed.format, sniffed.warnings) == (fmt, ())
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    assert res.role == "voice" and out.format == "amr" and out.duration == pytest.approx(1.5, abs=0.2)
    assert _pitch(out.path) == pytest.approx(440, abs=15)


def test_big_endian_wav_is_decoded_as_big_endian(tmp_path: Path) -> None:
    made = _make(tmp_path / "made.wav", *TONE, "-c:a", "pcm_s16le", "-map_metadata", "-1")
    src = tmp_path / "tone.wav"
    src.write_bytes(_rifx(made.read_bytes()))
    sniffed = sniff(src)
    assert (sniffed.format, sniffed.decoder, sniffed.warnings) == ("wav", "pcm_s16be", ())
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    # libav's wav demuxer calls RIFX samples little-endian: without the forced
    # decoder the note is loud noise, not a 440 Hz tone.
    assert _pitch(out.path) == pytest.approx(440, abs=15)


VIDEO = [
    ("clip.mpg", ["-c:v", "mpeg1video", "-c:a", "mp2", "-f", "mpeg"], "mpeg-ps"),
    ("clip.vob", ["-c:v", "mpeg2video", "-c:a", "ac3", "-f", "dvd"], "mpeg-ps"),
    ("clip.flv", ["-c:v", "flv1", "-c:a", "libmp3lame", "-ar", "22050"], "flv"),
    ("clip.wmv", ["-c:v", "wmv2", "-c:a", "wmav2"], "asf"),
    ("clip.ogv", ["-c:v", "libtheora", "-c:a", "libvorbis"], "ogv"),
    ("clip.ts", ["-c:v", "libx264", "-c:a", "aac", "-f", "mpegts"], "mpeg-ts"),
    ("clip.m2ts", ["-c:v", "libx264", "-c:a", "aac", "-f", "mpegts", "-mpegts_m2ts_mode", "1"], "mpeg-ts"),
]


@pytest.mark.slow
@pytest.mark.parametrize("name, args, fmt", VIDEO)
def test_video_containers_become_mp4(tmp_path: Path, name: str, args: list[str], fmt: str) -> None:
    src = _make(tmp_path / name, *PICTURE, *TONE, *args)
    assert sniff(src).format == fmt
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media, thumb = res.outputs
    assert res.role == "video" and media.format == "mp4" and thumb.role == "thumb"
    assert moov_before_mdat(media.path) is True and media.bytes <= 1_000_000
    with av.open(str(media.path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert (v.codec_context.name, v.codec_context.profile) == ("h264", "Main")
        assert (v.codec_context.width, v.codec_context.height) == (160, 120)
        assert a.codec_context.name == "aac"
        assert c.duration / av.time_base == pytest.approx(1.5, abs=0.2)


def test_bare_mpeg_video_stream_is_refused_with_what_to_do(tmp_path: Path) -> None:
    src = _make(tmp_path / "clip.mpg", *PICTURE, "-c:v", "mpeg1video", "-f", "mpeg1video")
    with pytest.raises(UnsupportedType) as err:
        sniff(src)
    assert "bare MPEG video stream" in (err.value.hint or "") and "MP4" in (err.value.hint or "")


def test_unknown_content_is_named_in_the_refusal(tmp_path: Path) -> None:
    src = tmp_path / "clip.mp4"
    src.write_bytes(gzip.compress(b"not media" * 100))
    with pytest.raises(UnsupportedType) as err:
        sniff(src)
    line = err.value.one_line()
    assert "gzip compressed data" in line and "convert it to one of these first" in line
    assert "\n" not in line


def test_big_endian_float_wav_is_refused_with_what_to_do(tmp_path: Path) -> None:
    made = _make(tmp_path / "made.wav", *TONE, "-c:a", "pcm_s16le", "-map_metadata", "-1")
    data = bytearray(_rifx(made.read_bytes()))
    at = data.index(b"fmt ") + 8
    data[at:at + 2] = (3).to_bytes(2, "big")  # IEEE float: libav's demuxer has no RIFX float
    src = tmp_path / "float.wav"
    src.write_bytes(bytes(data))
    with pytest.raises(UnsupportedType) as err:
        sniff(src)
    assert "convert it to WAV or FLAC" in (err.value.hint or "")
