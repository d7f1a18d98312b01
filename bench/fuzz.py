#!/usr/bin/env python3
"""Mutation fuzzing of sniff, probe, check and prepare on real sample files.

Each case takes a sample from testdata/ (images, audio, video), mutates it (bit
flips, byte runs overwritten, truncation, a header spliced from another sample,
chunk duplication) and runs the whole pipeline in-process. Anything raised that
is not a MediaprepError is a bug: it would reach the user as a traceback or an
"internal error". Reports the count of such cases (target: 0 in 5,000) and the
slowest cases.

    .venv/bin/python bench/fuzz.py [--cases 5000] [--seed 1] [--keep DIR]
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import mediaprep  # noqa: E402
from mediaprep.errors import MediaprepError  # noqa: E402
from mediaprep.preflight.check import check_probed, probe  # noqa: E402
from mediaprep.preflight.sniff import sniff  # noqa: E402
from mediaprep.profiles import get_profile  # noqa: E402

SAMPLE_DIRS = ("testdata/images", "testdata/audio", "testdata/video")
MAX_SAMPLE = 400_000  # bytes: keep each case cheap


def samples() -> list[Path]:
    out = []
    for d in SAMPLE_DIRS:
        for p in sorted((ROOT / d).glob("*")):
            if p.is_file() and p.stat().st_size <= MAX_SAMPLE and p.suffix != ".py" \
                    and "bomb" not in p.name:
                out.append(p)
    return out


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


def run_case(path: Path, out_dir: Path) -> None:
    prof = get_profile("wechat")
    s = sniff(path)
    info = probe(s, prof)
    check_probed(s, info, prof)
    mediaprep.prepare(path, out_dir=out_dir, profile=prof)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", type=Path, help="copy crashing inputs here")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    pool = samples()
    datas = {p: p.read_bytes() for p in pool}
    print(f"{len(pool)} samples: {', '.join(p.name for p in pool)}")
    outcomes: Counter[str] = Counter()
    bugs: list[tuple[str, str, str]] = []
    slowest: list[tuple[float, str]] = []
    work = Path(tempfile.mkdtemp(prefix="mediaprep-fuzz-"))
    t0 = time.monotonic()
    for i in range(args.cases):
        src = rng.choice(pool)
        data, how = mutate(datas[src], datas[rng.choice(pool)], rng)
        case = work / f"case{i}{src.suffix}"
        case.write_bytes(data)
        out = work / "out"
        start = time.monotonic()
        try:
            run_case(case, out)
            outcomes["ok"] += 1
        except MediaprepError as exc:
            outcomes[type(exc).__name__] += 1
        except Exception as exc:  # noqa: BLE001 - what we are hunting
            outcomes["BUG " + type(exc).__name__] += 1
            frames = traceback.extract_tb(exc.__traceback__)
            ours = [f for f in frames if "/mediaprep/" in f.filename] or frames
            where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno} {ours[-1].name}"
            bugs.append((f"{src.name} {how}", f"{type(exc).__name__}: {exc}", where))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                shutil.copy(case, args.keep / case.name)
        took = time.monotonic() - start
        slowest.append((took, f"case{i} {src.name} {how}"))
        slowest = sorted(slowest, reverse=True)[:5]
        case.unlink()
        shutil.rmtree(out, ignore_errors=True)
        if (i + 1) % 500 == 0:
            print(f"  {i + 1} cases, {len(bugs)} bugs, {time.monotonic() - t0:.0f} s", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print("\noutcomes:", dict(outcomes.most_common()))
    print(f"cases: {args.cases}; raised something other than MediaprepError: {len(bugs)} (target 0)")
    by_site = Counter((where, what.split(":")[0]) for _, what, where in bugs)
    for (where, kind), n in by_site.most_common(20):
        example = next(f"{c}: {w}" for c, w, s in bugs if s == where)
        print(f"  {n:5d} x {kind} at {where}  (e.g. {example[:160]})")
    print("slowest cases:")
    for took, what in slowest:
        print(f"  {took:6.2f} s  {what}")
    print(f"total {time.monotonic() - t0:.0f} s")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
