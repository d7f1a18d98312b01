#!/usr/bin/env python3
"""Mutation fuzzing of the byte parsers and of sniff, probe, check and prepare.

Each case takes a sample (the files in testdata/ and animated containers made
here: an animated GIF, APNG and WebP, a still WebP with EXIF), mutates it (bit
flips, byte runs overwritten, truncation, a header spliced from another sample,
chunk duplication), runs every byte parser of ``mediaprep.formats`` on the bytes
directly (in memory and through a file), then the whole pipeline in-process.
Anything raised that is not a MediaprepError is a bug: it would reach the user
as a traceback or an "internal error". Reports the count of such cases (target:
0) and the slowest cases.

    .venv/bin/python bench/fuzz.py [--cases 5000] [--seed 1] [--keep DIR] [--measure]

A short seeded run (tests/test_fuzz.py) is part of the test suite.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mediaprep  # noqa: E402
from mediaprep.errors import MediaprepError  # noqa: E402
from mediaprep.formats import amr, gif, isobmff, jpeg, png, webp  # noqa: E402
from mediaprep.formats.source import Source  # noqa: E402
from mediaprep.preflight.check import check_probed, probe  # noqa: E402
from mediaprep.preflight.sniff import sniff  # noqa: E402
from mediaprep.profiles import get_profile  # noqa: E402

SAMPLE_DIRS = ("testdata/images", "testdata/audio", "testdata/video")
MAX_SAMPLE = 400_000  # bytes: keep each case cheap


def samples() -> dict[str, bytes]:
    """The testdata samples and the animated containers, by file name."""
    out = {}
    for d in SAMPLE_DIRS:
        for p in sorted((ROOT / d).glob("*")):
            if p.is_file() and p.stat().st_size <= MAX_SAMPLE and p.suffix != ".py" \
                    and "bomb" not in p.name:
                out[p.name] = p.read_bytes()
    return {**out, **animated_samples()}


def animated_samples() -> dict[str, bytes]:
    """Animated containers (and a WebP still with EXIF), made here: testdata has one GIF."""
    ramp = Image.linear_gradient("L").resize((48, 36))
    frames = [ramp.point(lambda v, i=i: (v + 41 * i) % 256).convert("RGB") for i in range(5)]

    def saved(fmt: str, **opts: object) -> bytes:
        buf = io.BytesIO()
        frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=60, **opts)
        return buf.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6
    still = io.BytesIO()
    frames[0].save(still, "WEBP", quality=70, exif=exif.tobytes())
    return {"fuzz_anim.gif": saved("GIF"), "fuzz_anim.png": saved("PNG"),
            "fuzz_anim.webp": saved("WEBP", lossless=True), "fuzz_still.webp": still.getvalue()}


def mutate(data: bytes, other: bytes, rng: random.Random) -> tuple[bytes, str]:
    b = bytearray(data)
    how = rng.choice(["flip", "flip", "run", "truncate", "splice", "dup", "zero-header"])
    if how == "flip":
        for _ in range(rng.randint(1, 20)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif how == "run":
        i = rng.randrange(len(b))
        n = rng.randint(1, 64)
        b[i:i + n] = bytes([rng.choice([0, 0xFF, rng.randrange(256)])]) * n
    elif how == "truncate":
        b = b[: rng.randrange(1, len(b))]
    elif how == "splice":
        cut = rng.randrange(1, min(len(b), 4096))
        b = bytearray(other[:cut]) + b[cut:]
    elif how == "dup":
        i = rng.randrange(len(b))
        n = rng.randint(1, 4096)
        b[i:i] = b[i:i + n] * rng.randint(1, 8)
    else:
        i = rng.randrange(min(len(b), 64))
        b[i:i + 8] = b"\0" * 8
    return bytes(b), how


# Every byte parser, on bytes in memory and (where it takes one) on a file.
PARSERS: dict[str, Callable[[bytes | Source], object]] = {
    "jpeg": jpeg.walk, "png": png.walk, "gif": gif.walk, "webp": webp.walk,
}


def run_parsers(data: bytes, path: Path) -> None:
    """Every parser on the bytes; a FormatError (a MediaprepError) is an answer."""
    for walk in PARSERS.values():
        for source in (data, None):
            try:
                if source is None:
                    with open(path, "rb") as fh:
                        walk(Source.of_file(fh))
                else:
                    walk(source)
            except MediaprepError:
                pass
    with contextlib.suppress(MediaprepError):
        amr.frame_offsets(data)
    isobmff.moov_before_mdat(io.BytesIO(data))
    isobmff.mvhd_duration(path)


def run_case(path: Path, out_dir: Path, measure: bool = False) -> None:
    prof = get_profile("wechat")
    s = sniff(path)
    info = probe(s, prof)
    check_probed(s, info, prof)
    mediaprep.prepare(path, out_dir=out_dir, profile=prof, measure=measure)


@dataclass
class Report:
    cases: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    bugs: list[tuple[str, str, str]] = field(default_factory=list)  # (case, error, where)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    seconds: float = 0.0


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/mediaprep/" in f.filename] or frames
    return f"{Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}" if ours else "?"


def fuzz(cases: int, seed: int, keep: Path | None = None, progress: bool = False,
         measure: bool = False) -> Report:
    rng = random.Random(seed)
    datas = samples()
    names = sorted(datas)
    report = Report()
    work = Path(tempfile.mkdtemp(prefix="mediaprep-fuzz-"))
    t0 = time.monotonic()
    try:
        for i in range(cases):
            src = rng.choice(names)
            data, how = mutate(datas[src], datas[rng.choice(names)], rng)
            case = work / f"case{i}{Path(src).suffix}"
            case.write_bytes(data)
            label = f"case{i} {src} {how}"
            start = time.monotonic()
            for stage in ("parsers", "pipeline"):
                try:
                    if stage == "parsers":
                        run_parsers(data, case)
                    else:
                        run_case(case, work / "out", measure)
                    report.outcomes[f"{stage} ok"] += 1
                except MediaprepError as exc:
                    report.outcomes[f"{stage} {type(exc).__name__}"] += 1
                except Exception as exc:  # noqa: BLE001 - what we are hunting
                    report.outcomes[f"{stage} BUG {type(exc).__name__}"] += 1
                    report.bugs.append((label, f"{type(exc).__name__}: {exc}", _where(exc)))
                    if keep:
                        keep.mkdir(parents=True, exist_ok=True)
                        shutil.copy(case, keep / case.name)
            report.slowest = sorted([*report.slowest, (time.monotonic() - start, label)], reverse=True)[:5]
            report.cases += 1
            case.unlink()
            shutil.rmtree(work / "out", ignore_errors=True)
            if progress and (i + 1) % 500 == 0:
                print(f"  {i + 1} cases, {len(report.bugs)} bugs, {time.monotonic() - t0:.0f} s", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.seconds = time.monotonic() - t0
    return report


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="copy crashing inputs here")
    ap.add_argument("--measure", action="store_true",
                    help="prepare with measure=True (the quality scores read the damaged inputs too)")
    args = ap.parse_args()
    print(f"samples: {', '.join(sorted(samples()))}")
    report = fuzz(args.cases, args.seed, args.keep, progress=True, measure=args.measure)
    print("\noutcomes:", dict(report.outcomes.most_common()))
    print(f"cases: {report.cases}; raised something other than MediaprepError: {len(report.bugs)} (target 0)")
    by_site = Counter((where, what.split(":")[0]) for _, what, where in report.bugs)
    for (where, kind), n in by_site.most_common(20):
        example = next(f"{c}: {w}" for c, w, s in report.bugs if s == where)
        print(f"  {n:5d} x {kind} at {where}  (e.g. {example[:160]})")
    print("slowest cases:")
    for took, what in report.slowest:
        print(f"  {took:6.2f} s  {what}")
    print(f"total {report.seconds:.0f} s")
    return 1 if report.bugs else 0


if __name__ == "__main__":
    sys.exit(main())
