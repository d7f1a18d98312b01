#!/usr/bin/env python3
"""Regenerate the speech samples in testdata/audio/ (deterministic for a given espeak-ng).

- speech_75s.ogg: English sentences spoken by espeak-ng (Debian: apt-get install
  espeak-ng) with pauses of known length between them, 1.5 s of silence before
  and 2.0 s after; Opus 20 kbit/s mono (~190 KB; the same audio as 8 kHz WAV would
  be 1.2 MB). speech_75s.json records where the speech and each pause are, so the
  tests can check that cuts land inside pauses.
- speech_amrwb.awb: two sentences as AMR-WB (12.65 kbit/s). No ffmpeg has an AMR-WB
  encoder, so it is made through libvo-amrwbenc (apt-get install libvo-amrwbenc0)
  with ctypes; the tests only decode it.

Every other input format the tests need (WAV 8/16/24-bit, MP3, M4A, Vorbis,
FLAC, AMR-NB, MP4/MKV/WebM with video) is made from these at test time with
the bundled ffmpeg. Run: python testdata/make_testdata_audio.py
"""
from __future__ import annotations

import ctypes
import io
import json
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
AUDIO = HERE / "audio"
RATE = 22050  # espeak-ng's native rate

SENTENCES = [
    "Good morning, this is a voice message for the whole project team.",
    "The delivery of the new parts arrived yesterday afternoon at the warehouse.",
    "Please check the invoice numbers before you send anything to accounting.",
    "We still need two more photographs of the damaged packaging.",
    "The customer asked whether the replacement could ship by Friday.",
    "I told them we would confirm the date as soon as possible.",
    "Our driver will collect the old units on Tuesday morning.",
    "If anything changes, call me on my mobile number, not the office line.",
    "The meeting with the supplier moved to next Wednesday at three.",
    "Bring the signed contract and the updated price list with you.",
    "Remember that the warehouse closes early during the holiday week.",
    "Thanks for your patience, and have a good rest of the day.",
    "One more thing, the spare keys are in the top drawer of my desk.",
    "That is all for now, talk to you soon.",
]
PAUSES = [0.7, 1.0, 0.8, 1.2, 0.6, 0.9]  # seconds between sentences, cycled
LEAD, TAIL = 1.5, 2.0
TARGET_SPEECH = 67.0  # seconds from the first word to the last


def espeak(text: str) -> bytes:
    """16-bit mono PCM at 22,050 Hz, with espeak-ng's own leading/trailing silence cut."""
    out = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "155", "--stdout", text],
                         check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(out)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = w.readframes(w.getnframes())
    # Strip digital silence at the ends so our pause lengths are the real ones.
    samples = memoryview(pcm).cast("h")
    first = next(i for i, v in enumerate(samples) if abs(v) > 64)
    last = len(samples) - next(i for i, v in enumerate(reversed(samples)) if abs(v) > 64)
    return pcm[first * 2:last * 2]


def silence(seconds: float) -> bytes:
    return b"\x00\x00" * int(round(seconds * RATE))


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def write_wav(path: Path, pcm: bytes, rate: int = RATE) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)


def make_speech_75s(tmp: Path) -> None:
    chunks = [silence(LEAD)]
    t = LEAD
    pauses: list[list[float]] = []
    sentences: list[list[float]] = []
    i = 0
    while True:
        pcm = espeak(SENTENCES[i % len(SENTENCES)])
        chunks.append(pcm)
        dur = len(pcm) / 2 / RATE
        sentences.append([round(t, 3), round(t + dur, 3)])
        t += dur
        if t - LEAD >= TARGET_SPEECH:
            break
        gap = PAUSES[i % len(PAUSES)]
        chunks.append(silence(gap))
        pauses.append([round(t, 3), round(t + gap, 3)])
        t += gap
        i += 1
    speech_end = t
    chunks.append(silence(TAIL))
    t += TAIL
    wav = tmp / "speech.wav"
    write_wav(wav, b"".join(chunks))
    subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    "-i", str(wav), "-ac", "1", "-c:a", "libopus", "-b:a", "20k",
                    "-map_metadata", "-1", "-fflags", "+bitexact",
                    str(AUDIO / "speech_75s.ogg")], check=True)
    meta = {"duration": round(t, 3), "speech_start": LEAD, "speech_end": round(speech_end, 3),
            "sentences": sentences, "pauses": pauses}
    (AUDIO / "speech_75s.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"speech_75s.ogg: {t:.2f} s, {len(pauses)} pauses, "
          f"{(AUDIO / 'speech_75s.ogg').stat().st_size:,} bytes")


def make_amrwb(tmp: Path) -> None:
    try:
        lib = ctypes.CDLL("libvo-amrwbenc.so.0")
    except OSError:
        sys.exit("libvo-amrwbenc.so.0 is missing: apt-get install libvo-amrwbenc0")
    lib.E_IF_init.restype = ctypes.c_void_p
    lib.E_IF_encode.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p,
                                ctypes.c_int]
    lib.E_IF_exit.argtypes = [ctypes.c_void_p]
    pcm22 = espeak(SENTENCES[0]) + silence(0.8) + espeak(SENTENCES[5])
    src = tmp / "wb.wav"
    write_wav(src, pcm22)
    pcm16 = subprocess.run([ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
                            "-i", str(src), "-f", "s16le", "-ar", "16000", "-ac", "1", "pipe:1"],
                           check=True, capture_output=True).stdout
    frame = 320 * 2  # 20 ms at 16 kHz
    pcm16 += b"\x00" * (-len(pcm16) % frame)
    state = lib.E_IF_init()
    out = bytearray(b"#!AMR-WB\n")
    buf = ctypes.create_string_buffer(64)
    for i in range(0, len(pcm16), frame):
        speech = ctypes.create_string_buffer(pcm16[i:i + frame], frame)
        n = lib.E_IF_encode(state, 2, speech, buf, 0)  # mode 2 = 12.65 kbit/s, no DTX
        out += buf.raw[:n]
    lib.E_IF_exit(state)
    (AUDIO / "speech_amrwb.awb").write_bytes(bytes(out))
    print(f"speech_amrwb.awb: {len(pcm16) / 32000:.2f} s, {len(out):,} bytes")


def main() -> None:
    AUDIO.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        make_speech_75s(Path(d))
        make_amrwb(Path(d))


if __name__ == "__main__":
    main()
