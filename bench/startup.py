#!/usr/bin/env python3
"""Start-up cost as a user meets it: import time, wall and CPU time of short commands.

Run by hand: ``.venv/bin/python bench/startup.py [-n 7] [--photo BIG.jpg]``. Each
command runs N times (after one warm-up run that also fills the ffmpeg inspection
cache); medians are printed beside a bare ``python -c pass`` measured in the same
run, so the numbers are what mediaprep adds. CPU is the child's user + system time:
unlike wall time, barely moved by other work on a shared machine.

Imports: ``python -X importtime -m mediaprep COMMAND``, all modules' own times
added up (interpreter start-up's own imports included), and mediaprep's share.
Targets (issue 16): importing what ``check`` needs in <= 0.15 s; ``prepare`` of a
photo in at most half the time of ImageMagick's ``convert IN -define
jpeg:extent=128kb OUT`` (the last lines, on --photo: by default a 2560x1600
wallpaper from Debian's mate-backgrounds when installed).

The package's bytecode is compiled first, as ``pip install`` does: a source tree
run with PYTHONDONTWRITEBYTECODE set (or never run before) would otherwise pay
for compiling every module on every run (~75 ms for ``prepare``), which no
installed copy does.
"""
from __future__ import annotations

import argparse
import compileall
import math
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import mediaprep

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "testdata" / "images" / "compliant.jpg"  # compliant: passed through, start-up only
FIT = ROOT / "testdata" / "images" / "photo_rotated_gps.jpg"  # a small real fit
WALLPAPER = Path("/usr/share/backgrounds/mate/nature/Aqua.jpg")  # 2560x1600, 200 KB


def _children_cpu() -> float:
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ch.ru_utime + ch.ru_stime


def wall(argv: list[str], n: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``argv``."""
    warm = subprocess.run(argv, capture_output=True, check=False)  # warm-up (page cache, ffmpeg cache)
    if warm.returncode not in (0, 5):  # 5: a picture checked over the limit is still a full run
        sys.exit(f"bench: {' '.join(argv)} failed (exit {warm.returncode}): "
                 + warm.stderr.decode(errors="replace").strip()[-300:])
    times, cpus = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - c0)
    return statistics.median(times), statistics.median(cpus)


def import_time(args: list[str], n: int) -> tuple[float, float]:
    """Median seconds spent importing for ``mediaprep ARGS``: all modules, and
    mediaprep's own modules (their own time, without what they import)."""
    totals, ours = [], []
    for _ in range(n):
        err = subprocess.run([sys.executable, "-X", "importtime", "-m", "mediaprep", *args],
                             capture_output=True, text=True, check=False).stderr
        rows = [ln.split("|") for ln in err.splitlines() if ln.startswith("import time:") and "self" not in ln]
        totals.append(sum(int(r[0].split(":")[1]) for r in rows) / 1e6)
        ours.append(sum(int(r[0].split(":")[1]) for r in rows if r[2].strip().startswith("mediaprep")) / 1e6)
    return statistics.median(totals), statistics.median(ours)


def _voice(path: Path) -> None:
    """Five seconds of a 440 Hz tone, 16 kHz mono WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 16000)))
                               for i in range(5 * 16000)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=7, help="runs per command (median)")
    ap.add_argument("--photo", type=Path, default=WALLPAPER if WALLPAPER.is_file() else None,
                    help="a big JPEG for prepare against ImageMagick (default: mate's Aqua.jpg)")
    args = ap.parse_args()
    n = args.n
    compileall.compile_dir(str(Path(mediaprep.__file__).parent), quiet=1)
    exe = str(Path(sys.executable).parent / "mediaprep")
    work = Path(tempfile.mkdtemp(prefix="mediaprep-startup-"))
    try:
        photo, fit, voice = work / "photo.jpg", work / "fit.jpg", work / "voice.wav"
        shutil.copyfile(PHOTO, photo)
        shutil.copyfile(FIT, fit)
        _voice(voice)
        out = str(work / "out")
        base, base_cpu = wall([sys.executable, "-c", "pass"], n)
        print(f"python -c pass: {base:.3f} s wall, {base_cpu:.3f} s CPU (baseline)")
        commands: list[tuple[str, list[str]]] = [
            ("--version", ["--version"]),
            ("prepare --help", ["prepare", "--help"]),
            ("check photo.jpg", ["check", str(photo)]),
            ("prepare photo.jpg", ["prepare", str(photo), "-o", out, "--overwrite"]),
            ("prepare fit.jpg", ["prepare", str(fit), "-o", out, "--overwrite"]),
            ("prepare voice.wav", ["prepare", str(voice), "-o", out, "--overwrite"]),
        ]
        big = None
        if args.photo is not None:
            big = work / "big.jpg"
            shutil.copyfile(args.photo, big)
            commands.append((f"prepare {args.photo.name}", ["prepare", str(big), "-o", out, "--overwrite"]))
        print(f"{'command':<24} {'imports':>8} {'ours':>6} {'wall':>7} {'over':>7} {'CPU':>7} {'over':>7}")
        walls: dict[str, tuple[float, float]] = {}
        for label, argv in commands:
            imp, ours = import_time(argv, n)
            t, c = wall([exe, *argv], n)
            walls[label] = (t, c)
            print(f"{label:<24} {imp * 1e3:6.1f}ms {ours * 1e3:4.1f}ms {t:6.3f}s {t - base:+6.3f}s "
                  f"{c:6.3f}s {c - base_cpu:+6.3f}s")
        if big is not None and shutil.which("convert"):
            t, c = wall(["convert", str(big), "-define", "jpeg:extent=128kb", str(work / "im.jpg")], n)
            mine, mine_cpu = walls[f"prepare {args.photo.name}"]
            print(f"{'convert (ImageMagick)':<24} {'':>8} {'':>6} {t:6.3f}s {'':>7} {c:6.3f}s")
            print(f"prepare / convert on {args.photo.name}: wall {mine / t:.2f}, CPU {mine_cpu / c:.2f} "
                  "(target <= 0.50)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
