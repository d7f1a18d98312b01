"""The image fit's sharpening: a 3x3 kernel, on two threads.

The fit sharpens a picture that went through a 2x step on its way to the display
size (fit/image.py, ``_sharpens``). It was chosen and tuned as Pillow's UnsharpMask at
radius 0.8, 30%, threshold 0: a Gaussian blur (three box blurs, each pass rounded to
8 bits) and a step on each pixel, 24 ms at 1080 x 675 px. At that radius nearly all
of the blur is within one pixel, so one 3x3 convolution does the same work:
KERNEL was fitted by least squares to UnsharpMask's output on the 19 ubuntu-wallpapers
(tuning pictures) at 1080 px (bench/sharpen_kernel.py; RMS difference 0.35 of a
level, and a test checks it stays under 0.5 on a photo not among them), and takes
12 ms.

A convolution's row depends on the rows next to it alone, so the top and bottom
halves are filtered side by side, each with a row of context beyond the seam: the
same bytes as one call (a test compares them).
"""
from __future__ import annotations

from concurrent.futures import Executor

from PIL import Image, ImageFilter

from ..tools.threads import in_parallel

# Centre, edge and corner weights (they add up to 1: flat areas stay as they are).
CENTRE, EDGE, CORNER = 1.18465, -0.03053, -0.01563
KERNEL = ImageFilter.Kernel((3, 3), (CORNER, EDGE, CORNER, EDGE, CENTRE, EDGE, CORNER, EDGE, CORNER),
                            scale=1)
MARGIN = 1  # rows of context a band needs beyond the seam
# Below this many rows the split saves less than it costs.
MIN_SPLIT_ROWS = 64


def sharpen(im: Image.Image, pool: Executor | None) -> Image.Image:
    """``im`` through KERNEL, in halves on ``pool`` when there is one."""
    w, h = im.size
    if pool is None or h < MIN_SPLIT_ROWS:
        return im.filter(KERNEL)
    mid = h // 2

    def band(top: int, bottom: int) -> Image.Image:
        above, below = max(0, top - MARGIN), min(h, bottom + MARGIN)
        done = im.crop((0, above, w, below)).filter(KERNEL)
        return done.crop((0, top - above, w, bottom - above))

    upper, lower = in_parallel(pool, lambda: band(0, mid), lambda: band(mid, h))
    out = Image.new(im.mode, im.size)
    out.paste(upper, (0, 0))
    out.paste(lower, (0, mid))
    return out
