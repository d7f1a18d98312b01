#!/usr/bin/env python3
"""Start-up cost as a user meets it: import time and wall time of short commands.

Run by hand: ``.venv/bin/python bench/startup.py [-n 7]``. Each command runs N times
(after one warm-up run that also fills the ffmpeg inspection cache); the median is
printed beside a bare ``python -c pass`` measured in the same run, so the numbers
are what mediaprep adds. Target: importing what ``check`` needs in <= 0.15 s.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "testdata" / "images" / "compliant.jpg"


def wall(argv: list[str], n: int) -> float:
    subprocess.run(argv, capture_output=True, check=False)  # warm-up (page cache, ffmpeg cache)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def import_time(module: str, n: int) -> float:
    """Seconds spent importing ``module`` (python -X importtime's cumulative total)."""
    totals = []
    for _ in range(n):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                             capture_output=True, text=True, check=False).stderr
        line = [ln for ln in err.splitlines() if ln.rstrip().endswith(f"| {module}")][-1]
        totals.append(int(line.split("|")[1]) / 1e6)
    return statistics.median(totals)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("-n", type=int, default=7, help="runs per command (median)")
    n = ap.parse_args().n
    exe = str(Path(sys.executable).parent / "mediaprep")
    work = Path(tempfile.mkdtemp(prefix="mediaprep-startup-"))
    try:
        photo = work / "photo.jpg"
        shutil.copyfile(PHOTO, photo)
        base = wall([sys.executable, "-c", "pass"], n)
        print(f"python -c pass: {base:.3f} s (baseline)")
        for module in ("mediaprep", "mediaprep.preflight.check", "mediaprep.pipeline", "mediaprep.cli"):
            t = import_time(module, n)
            print(f"import {module:<28} {t:.3f} s")
        for label, argv in (("mediaprep --version", [exe, "--version"]),
                            ("mediaprep check photo.jpg", [exe, "check", str(photo)]),
                            ("mediaprep prepare photo.jpg", [exe, "prepare", str(photo), "-o",
                                                             str(work / "out"), "--overwrite"])):
            t = wall(argv, n)
            print(f"{label:<30} {t:.3f} s wall ({t - base:+.3f} s over bare python)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
