#!/usr/bin/env python3
"""Benchmark the voice path: seconds per minute of input, mediaprep's whole prepare
against a bare ffmpeg AMR-NB encode of the same file, measured in the same run.

    .venv/bin/python bench/voice.py [--minutes 3] [--repeat 5] [--no-compile]

The baseline is ``ffmpeg -i IN -ar 8000 -ac 1 -c:a libopencore_amrnb -b:a 12.2k OUT.amr``
with the same (bundled) ffmpeg binary. mediaprep is timed twice: the library call
``mediaprep.prepare()`` (sniff, probe, decode, analyse, normalise, split, encode,
verify, write) in a warm process, and the ``mediaprep prepare`` command, which adds
Python's start-up and imports. Target: both at most 1.5x the bare encode on 3
minutes of speech (the command is what users run, so it carries the target too).
Inputs are espeak-ng speech (Debian: apt-get install espeak-ng) made in
bench/work/ (git-ignored), in the formats people send: WAV, MP3, M4A, Opus.
Runs are interleaved and the median of each is reported, since the CPU is shared.

The command runs as an installed one does: from bytecode. pip compiles a package's
modules when it installs them, and Python caches them on first import; but an
editable checkout under PYTHONDONTWRITEBYTECODE=1 (as in CI) has none, so every
command would compile ~100 modules again (~0.1 s) - a cost no user pays. The
bench compiles them first (``compileall``, into the git-ignored __pycache__);
``--no-compile`` measures without.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "bench" / "work"
sys.path.insert(0, str(ROOT))

import mediaprep  # noqa: E402 - after the sys.path line, so the checkout's own copy is used
from mediaprep.tools.ffmpeg import get_ffmpeg  # noqa: E402

TEXT = [
    "Hello everyone, this is the weekly update from the logistics team.",
    "Shipments to the northern region were delayed by two days because of the weather.",
    "We expect the backlog to clear by the end of the week.",
    "The new packaging supplier delivered samples, and they look promising.",
    "Please send your comments on the samples to me before Thursday.",
    "Next month we start the pilot with electric delivery vans in the city centre.",
    "Drivers who want to take part should sign up with their team leader.",
    "Finally, remember to submit your expense reports before the fifteenth.",
    "If you have any questions, reply to this message or call me directly.",
    "Thank you all for the hard work this quarter.",
]


def make_speech(minutes: float) -> Path:
    """A WAV of espeak-ng speech, sentences joined with natural 0.4-1.1 s pauses."""
    WORK.mkdir(parents=True, exist_ok=True)
    wav = WORK / f"speech_{minutes:g}min.wav"
    if wav.exists():
        return wav
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is missing: apt-get install espeak-ng")
    pcm = bytearray()
    rate = 22050
    i = 0
    while len(pcm) < minutes * 60 * rate * 2:
        out = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", TEXT[i % len(TEXT)]],
                             check=True, capture_output=True).stdout
        with wave.open(__import__("io").BytesIO(out)) as w:
            pcm += w.readframes(w.getnframes())
        pcm += b"\x00\x00" * int(rate * (0.4 + 0.1 * (i % 8)))
        i += 1
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(pcm[: int(minutes * 60 * rate) * 2]))
    return wav


def encode_inputs(wav: Path) -> list[Path]:
    ff = get_ffmpeg().path
    made = []
    for name, args in [("wav16k.wav", ["-ar", "16000", "-c:a", "pcm_s16le"]),
                       ("stereo.mp3", ["-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"]),
                       ("speech.m4a", ["-ar", "44100", "-c:a", "aac", "-b:a", "64k"]),
                       ("speech.opus", ["-c:a", "libopus", "-b:a", "24k"])]:
        out = WORK / f"{wav.stem}_{name}"
        if not out.exists():
            subprocess.run([ff, "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), *args, str(out)],
                           check=True)
        made.append(out)
    return made


def cpu() -> float:
    """CPU seconds of this process and of every child it has waited for (ffmpeg
    included): unlike wall time, barely moved by other work on a shared machine."""
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


class Timed:
    def __enter__(self) -> Timed:
        self.w0, self.c0 = time.perf_counter(), cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.w0, cpu() - self.c0


def time_bare(src: Path, out_dir: Path) -> Timed:
    ff = get_ffmpeg().path
    with Timed() as t:
        subprocess.run([ff, "-nostdin", "-loglevel", "error", "-y", "-i", str(src), "-ar", "8000",
                        "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k",
                        str(out_dir / "bare.amr")], check=True)
    return t


def time_library(src: Path, out_dir: Path) -> tuple[Timed, int]:
    with Timed() as t:
        res = mediaprep.prepare(src, out_dir=out_dir)
    return t, len(res.outputs)


def time_cli(src: Path, out_dir: Path) -> Timed:
    exe = Path(sys.executable).parent / "mediaprep"
    with Timed() as t:
        res = subprocess.run([str(exe), "prepare", str(src), "-o", str(out_dir)], capture_output=True)
    if res.returncode != 0:
        sys.exit(f"mediaprep prepare {src.name} failed (exit {res.returncode}):\n"
                 f"{res.stderr.decode('utf-8', 'replace')}")
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-compile", action="store_true",
                    help="leave mediaprep's modules uncompiled (see above)")
    args = ap.parse_args()
    wav = make_speech(args.minutes)
    inputs = encode_inputs(wav)
    if not args.no_compile:
        import compileall

        compileall.compile_dir(ROOT / "mediaprep", quiet=1)
    print(f"# {get_ffmpeg().describe()}")
    print(f"# the command runs from {'source (compiled on every start)' if args.no_compile else 'bytecode'}"
          f"; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start")
    print(f"# {args.minutes:g} min of espeak-ng speech per input, median of {args.repeat} interleaved runs")
    print(f"{'input':<26} {'parts':>5} | {'wall s/min: bare':>16} {'prepare':>8} {'ratio':>6} "
          f"{'CLI':>6} {'ratio':>6} | {'CPU s/min: bare':>15} {'prepare':>8} {'ratio':>6} "
          f"{'CLI':>6} {'ratio':>6}")
    time_library(inputs[0], Path(tempfile.mkdtemp()))  # warm the imports and the ffmpeg probe
    per = 1 / args.minutes
    worst: dict[str, float] = {"wall": 0.0, "cpu": 0.0, "cli_wall": 0.0, "cli_cpu": 0.0}
    totals = {k: 0.0 for k in ("bw", "lw", "cw", "bc", "lc", "cc")}
    for src in inputs:
        runs: dict[str, list[float]] = {k: [] for k in totals}
        parts = 0
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as d:
                b = time_bare(src, Path(d))
                lib, parts = time_library(src, Path(d))
                c = time_cli(src, Path(d))
            for key, t in (("b", b), ("l", lib), ("c", c)):
                runs[key + "w"].append(t.wall)
                runs[key + "c"].append(t.cpu)
        m = {k: statistics.median(v) for k, v in runs.items()}
        for k in totals:
            totals[k] += m[k]
        worst["wall"] = max(worst["wall"], m["lw"] / m["bw"])
        worst["cpu"] = max(worst["cpu"], m["lc"] / m["bc"])
        worst["cli_wall"] = max(worst["cli_wall"], m["cw"] / m["bw"])
        worst["cli_cpu"] = max(worst["cli_cpu"], m["cc"] / m["bc"])
        print(f"{src.name:<26} {parts:>5} | {m['bw'] * per:>16.3f} {m['lw'] * per:>8.3f} "
              f"{m['lw'] / m['bw']:>6.2f} {m['cw'] * per:>6.3f} {m['cw'] / m['bw']:>6.2f} | "
              f"{m['bc'] * per:>15.3f} {m['lc'] * per:>8.3f} {m['lc'] / m['bc']:>6.2f} "
              f"{m['cc'] * per:>6.3f} {m['cc'] / m['bc']:>6.2f}")
    t = totals
    print(f"\nsummary: prepare/bare = {t['lw'] / t['bw']:.2f}x wall (worst {worst['wall']:.2f}x), "
          f"{t['lc'] / t['bc']:.2f}x CPU (worst {worst['cpu']:.2f}x); "
          f"CLI/bare = {t['cw'] / t['bw']:.2f}x wall, {t['cc'] / t['bc']:.2f}x CPU")
    print(f"target prepare <= 1.5x bare: {'met' if worst['cpu'] <= 1.5 else 'NOT met'} on CPU time, "
          f"{'met' if worst['wall'] <= 1.5 else 'NOT met'} on wall time; CLI <= 1.5x bare: "
          f"{'met' if worst['cli_cpu'] <= 1.5 else 'NOT met'} on CPU time, "
          f"{'met' if worst['cli_wall'] <= 1.5 else 'NOT met'} on wall time (worst {worst['cli_wall']:.2f}x; "
          f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
