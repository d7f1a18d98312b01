"""Shared helpers for the voice tests: make inputs with the bundled ffmpeg, decode
outputs with PyAV, measure them. Not a test module (no test_ prefix)."""
from __future__ import annotations

import json
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "testdata" / "audio"
SPEECH = AUDIO / "speech_75s.ogg"
SPEECH_META = json.loads((AUDIO / "speech_75s.json").read_text())


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg(*args: str) -> None:
    """Make test media (never used on anything but our own files)."""
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=120)


@dataclass(frozen=True)
class Decoded:
    codec: str
    sample_rate: int
    channels: int
    samples: np.ndarray  # int16, first channel

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def decode(path: Path) -> Decoded:
    """Decode every frame with PyAV (what a player would hear)."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        codec, rate, channels = s.codec_context.name, s.codec_context.sample_rate, s.codec_context.channels
        chunks = []
        for frame in c.decode(s):
            arr = frame.to_ndarray()
            if arr.dtype.kind == "f":
                arr = np.clip(arr * 32768, -32768, 32767)
            chunks.append(arr.reshape(-1) if frame.format.is_packed and channels == 1 else arr[0])
    return Decoded(codec, rate, channels, np.concatenate(chunks).astype(np.int16))


def active_level_db(samples: np.ndarray) -> float:
    """Active speech level, measured the same way the planner does (frames over the
    adaptive silence threshold, P.56-style)."""
    from mediaprep.fit.voice_plan import active_level, frame_levels, silence_threshold

    levels = frame_levels(samples)
    return active_level(levels, silence_threshold(levels))


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())
    return path


def music(seconds: float, rate: int = 22050) -> np.ndarray:
    """A synthetic piece with no pauses: plucked notes that overlap, over a held
    bass, so the level dips but never falls silent (the hard-cut case)."""
    t = np.arange(int(seconds * rate)) / rate
    out = 0.12 * np.sin(2 * np.pi * 110 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.25 * t))
    notes = [261.6, 329.6, 392.0, 523.3, 440.0, 349.2, 293.7, 392.0]
    step = 0.25
    for k in range(int(seconds / step)):
        f = notes[k % len(notes)] * (2 if (k // 16) % 2 else 1)
        a = int(k * step * rate)
        n = min(int(1.0 * rate), len(t) - a)
        tt = np.arange(n) / rate
        env = np.exp(-tt * 4)
        out[a:a + n] += 0.18 * env * (np.sin(2 * np.pi * f * tt) + 0.4 * np.sin(4 * np.pi * f * tt))
    return np.clip(out * 32767, -32768, 32767).astype(np.int16)


def lie_wav(src: Path, dst: Path, seconds: int = 36000) -> Path:
    """A WAV whose RIFF and data sizes claim ``seconds`` (10 h) over a few seconds of data."""
    d = bytearray(src.read_bytes())
    with wave.open(str(src)) as w:
        rate, width, ch = w.getframerate(), w.getsampwidth(), w.getnchannels()
    claim = seconds * rate * width * ch
    i = d.find(b"data")
    struct.pack_into("<I", d, i + 4, claim)
    struct.pack_into("<I", d, 4, claim + i + 4)
    dst.write_bytes(bytes(d))
    return dst


def lie_mp3(src: Path, dst: Path, seconds: int = 36000) -> Path:
    """An MP3 whose Xing/Info header counts frames for ``seconds`` (LAME writes one)."""
    d = bytearray(src.read_bytes())
    i = d.find(b"Xing")
    i = i if i >= 0 else d.find(b"Info")
    assert i >= 0 and struct.unpack_from(">I", d, i + 4)[0] & 1, "no frame count in the header"
    struct.pack_into(">I", d, i + 8, seconds * 1000 // 26)  # ~26 ms a frame at 44.1 kHz
    dst.write_bytes(bytes(d))
    return dst


def lie_m4a(src: Path, dst: Path, seconds: int = 36000) -> Path:
    """An M4A whose movie and media headers (mvhd, mdhd) claim ``seconds``."""
    d = bytearray(src.read_bytes())
    for box in (b"mvhd", b"mdhd"):
        i = d.find(box)
        assert i > 0 and d[i + 4] == 0, "expected version-0 boxes"
        scale_at = i + 4 + 4 + 8  # version/flags, creation and modification times
        scale = struct.unpack_from(">I", d, scale_at)[0]
        struct.pack_into(">I", d, scale_at + 4, min(seconds * scale, 2**32 - 1))
    dst.write_bytes(bytes(d))
    return dst


def inside_a_pause(t: float, slack: float = 0.05) -> bool:
    return any(a - slack <= t <= b + slack for a, b in SPEECH_META["pauses"])
