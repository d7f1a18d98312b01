"""Tuning aid for mediaprep/fit/image.py: the exhaustive table behind its choices.

    .venv/bin/python bench/image_sweep.py OUT.json PATH...

For each image and each candidate long side (Lanczos from the decoded original), finds
the highest jpegli quality that fits each budget and scores it (SSIMULACRA2 and SSIM at
1080, as bench/image.py does). Also records the bytes at a few fixed qualities, which is
what a size predictor sees. Run it on the tuning set only; report on held-out images
with bench/image.py.
"""
from __future__ import annotations

import json
import multiprocessing
import sys
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _quality import Reference, load_view  # noqa: E402
from image import find_images  # noqa: E402

from mediaprep.fit import encoders, image_decode, resize  # noqa: E402

SIDES = (640, 720, 800, 960, 1080, 1280, 1440, 1600, 1920, 2304, 2560)
BUDGETS = (128_000, 64_000)
PROBE_Q = (50, 60, 70, 75, 80, 85, 90, 95)


def _best_q(img: Image.Image, budget: int, sizes: dict[int, int]) -> int | None:
    def size(q: int) -> int:
        if q not in sizes:
            sizes[q] = len(encoders.encode_jpegli(img, q))
        return sizes[q]
    lo, hi = 1, 100
    if size(lo) > budget:
        return None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if size(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return hi if size(hi) <= budget else lo


def sweep_one(path: str) -> dict:
    with Image.open(path) as im:
        im.load()
        src = image_decode.flatten(ImageOps.exif_transpose(im))
    ref = Reference(load_view(path))
    long_side = max(src.size)
    sides = sorted({s for s in SIDES if s < long_side} | ({long_side} if long_side <= 2560 else set()))
    rows = []
    for side in sides:
        img = resize.to_side(src, side)
        sizes: dict[int, int] = {}
        for q in PROBE_Q:
            sizes[q] = len(encoders.encode_jpegli(img, q))
        for budget in BUDGETS:
            q = _best_q(img, budget, sizes)
            if q is None:
                rows.append({"side": side, "budget": budget, "q": None})
                continue
            data = encoders.encode_jpegli(img, q)
            view = load_view(data)
            rows.append({"side": side, "budget": budget, "q": q, "bytes": len(data),
                         "s2": ref.ssimulacra2(view), "ssim": ref.ssim(view)})
        rows.append({"side": side, "sizes": sizes})
    print(path, flush=True)
    return {"image": path, "size": list(src.size), "rows": rows}


def main() -> None:
    out = Path(sys.argv[1])
    images = [str(p) for p in find_images([Path(a) for a in sys.argv[2:]])]
    with multiprocessing.Pool(2) as pool:
        results = pool.map(sweep_one, images, chunksize=1)
    out.write_text(json.dumps(results, indent=0))


if __name__ == "__main__":
    main()
