#!/usr/bin/env python3
"""Start-up cost as a user meets it: import time and wall time of short commands.

Run by hand: ``.venv/bin/python bench/startup.py [-n 7]``. Each command runs N times
(after one warm-up run that also fills the ffmpeg inspection cache); the median is
printed beside a bare ``python -c pass`` measured in the same run, so the numbers
are what mediaprep adds. Target: importing what ``check`` needs in <= 0.15 s.
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "testdata" / "images" / "compliant.jpg"


def _children_cpu() -> float:
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ch.ru_utime + ch.ru_stime


def wall(argv: list[str], n: int) -> tuple[float, float]:
    """Median wall and CPU seconds (the child's user + system time: unlike wall time,
    barely moved by other work on a shared machine)."""
    subprocess.run(argv, capture_output=True, check=False)  # warm-up (page cache, ffmpeg cache)
    times, cpus = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), _children_cpu()
        subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - t0)
        cpus.append(_children_cpu() - c0)
    return statistics.median(times), statistics.median(cpus)


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
        base, base_cpu = wall([sys.executable, "-c", "pass"], n)
        print(f"python -c pass: {base:.3f} s wall, {base_cpu:.3f} s CPU (baseline)")
        for label, module in (("import for check", "mediaprep.cli.main, mediaprep.cli.check"),
                              ("import for prepare", "mediaprep.cli.main, mediaprep.cli.prepare")):
            _, c = wall([sys.executable, "-c", f"import {module}"], n)
            print(f"{label:<30} {c - base_cpu:.3f} s CPU over bare python")
        for module in ("mediaprep", "mediaprep.preflight.check", "mediaprep.pipeline", "mediaprep.cli"):
            t = import_time(module, n)
            print(f"import {module:<28} {t:.3f} s")
        for label, argv in (("mediaprep --version", [exe, "--version"]),
                            ("mediaprep check photo.jpg", [exe, "check", str(photo)]),
                            ("mediaprep prepare photo.jpg", [exe, "prepare", str(photo), "-o",
                                                             str(work / "out"), "--overwrite"])):
            t, c = wall(argv, n)
            print(f"{label:<30} {t:.3f} s wall ({t - base:+.3f} s over bare python), "
                  f"{c:.3f} s CPU ({c - base_cpu:+.3f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
