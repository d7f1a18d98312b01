"""What --measure costs: prepare() with and without it, on the same files, interleaved.

    make bench-deps && .venv/bin/python bench/measure.py [PATH ...] [--repeat 3] [--threads N]

PATHs are pictures, clips or folders of them. Default: Debian's mate-backgrounds
photos (/usr/share/backgrounds/mate, JPEGs; apt-get install mate-backgrounds) and
two clips: testdata's bikes_short.mp4 (4 s, every frame scored) and a 16 s clip
made from it (sampled: every 4th frame).

For each file it runs prepare() and prepare(measure=True) back to back, --repeat
times, and keeps each one's fastest run (the machine may be shared; the output is
the same every run). It also reports CPU time (every thread, and ffmpeg), which a
busy machine does not distort. Time is the library call (interpreter start and imports
excluded, the metric's first-use imports warmed up). It prints per file the two
times, their ratio and the score, and per kind the median of the per-file ratios
and the ratio of the summed times, against the targets: pictures <= 1.5x, video
<= 2x. Files that pass through unchanged are listed but not counted (their score
costs nothing). ``--threads 1`` runs as a batch worker does (one thread for
ffmpeg and OpenCV).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PICTURE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif", ".avif", ".gif", ".bmp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".webm"}
TARGET = {"picture": 1.5, "video": 2.0}


def find(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.suffix.lower() in PICTURE_EXTS | VIDEO_EXTS)
        elif p.is_file():
            found.append(p)
        else:
            sys.exit(f"bench: {p}: no such file or folder")
    return found


def long_clip(work: Path) -> Path:
    """bikes_short.mp4 looped to 16 s: long enough to be sampled."""
    from mediaprep.tools import ffmpeg as ff

    out = work / "bikes_16s.mp4"
    ff.run_args(["-stream_loop", "3", *ff.SafeInput(ROOT / "testdata/video/bikes_short.mp4", "mp4").args(),
                 "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "aac",
                 "-movflags", "+faststart", str(out)], timeout=300)
    return out


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of its finished children (ffmpeg)."""
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + ch.ru_utime + ch.ru_stime


def timed(src: Path, out: Path, measure: bool) -> tuple[float, float, object]:
    """Wall and CPU seconds of one prepare() and its result."""
    import mediaprep

    t0, c0 = time.perf_counter(), _cpu()
    res = mediaprep.prepare(src, out_dir=out, measure=measure, overwrite=True)
    return time.perf_counter() - t0, _cpu() - c0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="MEDIAPREP_THREADS for the runs (0: unset)")
    args = ap.parse_args()
    if args.threads:
        os.environ["MEDIAPREP_THREADS"] = str(args.threads)
    import mediaprep

    with tempfile.TemporaryDirectory(prefix="mediaprep-bench-measure-") as tmp:
        work = Path(tmp)
        files = find(args.paths) if args.paths else (
            find([Path("/usr/share/backgrounds/mate")])
            + [ROOT / "testdata/video/bikes_short.mp4", long_clip(work)])
        files = [f for f in files if f.suffix.lower() != ".png" or args.paths]  # mate's PNGs are art
        if not files:
            sys.exit("bench: nothing to measure (apt-get install mate-backgrounds, or give PATHs)")
        # Warm up: the first measured prepare imports OpenCV and the metric package.
        timed(ROOT / "testdata/images/photo_rotated_gps.jpg", work, True)
        rows: dict[str, list[tuple[float, float]]] = {"picture": [], "video": []}
        cpu_rows: dict[str, list[tuple[float, float]]] = {"picture": [], "video": []}
        print(f"mediaprep {mediaprep.__version__}, {len(files)} files, best of {args.repeat}, "
              f"MEDIAPREP_THREADS={os.environ.get('MEDIAPREP_THREADS', 'unset')}, "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        for src in files:
            kind = "video" if src.suffix.lower() in VIDEO_EXTS else "picture"
            off = on = off_cpu = on_cpu = float("inf")
            result = None
            for _ in range(args.repeat):
                t, c, _res = timed(src, work, False)
                off, off_cpu = min(off, t), min(off_cpu, c)
                t, c, result = timed(src, work, True)
                on, on_cpu = min(on, t), min(on_cpu, c)
            outputs = getattr(result, "outputs", ())
            media = [o for o in outputs if o.slot == "media"]
            label = "; ".join(o.score.label() for o in media if o.score) or "-"
            passed = all(o.passed_through for o in media)
            print(f"  {src.name[:34]:<34} {kind:<7} off {off:6.3f} s  on {on:6.3f} s  "
                  f"x{on / off:5.2f}  cpu x{on_cpu / off_cpu:5.2f}  {label}"
                  f"{'  (passed through: not counted)' if passed else ''}", flush=True)
            if not passed:
                rows[kind].append((off, on))
                cpu_rows[kind].append((off_cpu, on_cpu))
        print("SUMMARY")
        for kind, pairs in rows.items():
            if not pairs:
                continue
            per_file = statistics.median(on / off for off, on in pairs)
            summed = sum(on for _, on in pairs) / sum(off for off, _ in pairs)
            cpu = statistics.median(on / off for off, on in cpu_rows[kind])
            print(f"  {kind:<7} {len(pairs):>3} files: measure on/off time, median of per-file ratios "
                  f"x{per_file:.2f}, ratio of summed times x{summed:.2f} (target <= {TARGET[kind]}x); "
                  f"CPU time (all threads and ffmpeg) x{cpu:.2f}")
        cli = ROOT / ".venv/bin/mediaprep"
        photo = ROOT / "testdata/images/photo_rotated_gps.jpg"
        if cli.exists():
            times = []
            for flag in ([], ["--measure"]):
                best = float("inf")
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    subprocess.run([str(cli), "prepare", str(photo), "-o", str(work / "cli"), "--overwrite",
                                    *flag], capture_output=True, check=True)
                    best = min(best, time.perf_counter() - t0)
                times.append(best)
            print(f"  cli     mediaprep prepare {photo.name} (a whole process): {times[0]:.2f} s, with "
                  f"--measure {times[1]:.2f} s (x{times[1] / times[0]:.2f})")
        print(f"load average at the end {os.getloadavg()[0]:.1f}: wall ratios count on a spare core, "
              "so they hold only on a quiet machine; CPU ratios are the work added")


if __name__ == "__main__":
    main()
