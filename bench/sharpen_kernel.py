"""Fit fit/sharpen.py's 3x3 KERNEL to Pillow's UnsharpMask(radius 0.8, 30%, threshold 0).

    .venv/bin/python bench/sharpen_kernel.py [PATH ...]

The image fit's sharpening was chosen and tuned as that unsharp mask; a 3x3
convolution does the same in half the time. This finds the centre, edge and corner
weights (adding up to 1) that come closest to the mask's output, by least squares
over every pixel of the pictures given, each shown as the fit shows it: decoded at
half size or more, Lanczos to long side 1080 (default: the JPEGs directly in
/usr/share/backgrounds, from Debian's ubuntu-wallpapers; tuning pictures, not the
held-out set). Prints the weights and the RMS and largest difference from the mask.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

DEFAULT = Path("/usr/share/backgrounds")


def planes(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with Image.open(path) as im:
        im.draft("RGB", (1280, 1280))
        pic = im.convert("RGB")
    scale = 1080 / max(pic.size)
    pic = pic.resize((round(pic.width * scale), round(pic.height * scale)), Image.Resampling.LANCZOS)
    mask = pic.filter(ImageFilter.UnsharpMask(radius=0.8, percent=30, threshold=0))
    return np.asarray(pic, dtype=np.float64), np.asarray(mask, dtype=np.float64)


def main() -> None:
    paths = [Path(p) for p in sys.argv[1:]] or sorted(DEFAULT.glob("*.jpg"))
    columns, targets = [], []
    for path in paths:
        a, mask = planes(path)
        p = np.pad(a, ((1, 1), (1, 1), (0, 0)), mode="edge")
        edges = p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
        corners = p[:-2, :-2] + p[:-2, 2:] + p[2:, :-2] + p[2:, 2:]
        # With the centre weight 1 - 4 edge - 4 corner: mask - a = edge (E - 4a) + corner (C - 4a).
        columns.append(np.stack([(edges - 4 * a).ravel(), (corners - 4 * a).ravel()], axis=1))
        targets.append((mask - a).ravel())
    x, y = np.concatenate(columns), np.concatenate(targets)
    (edge, corner), *_ = np.linalg.lstsq(x, y, rcond=None)
    centre = 1 - 4 * edge - 4 * corner
    residual = y - x @ np.array([edge, corner])
    print(f"{len(paths)} pictures: CENTRE, EDGE, CORNER = {centre:.5f}, {edge:.5f}, {corner:.5f}")
    print(f"difference from the unsharp mask: RMS {np.sqrt(np.mean(residual ** 2)):.3f}, "
          f"largest {np.abs(residual).max():.1f} levels")


if __name__ == "__main__":
    main()
