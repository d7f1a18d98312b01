"""Full-resolution colour (4:4:4) for pictures that 4:2:0 visibly damages.

jpegli (the image fit's encoder) always writes 4:2:0: half the colour resolution.
On photos that costs nothing visible, but on graphics with thin saturated lines or
text it does: a white picture with 1 px pure-blue lines came out of jpegli at
quality 100 as (15, 14, 142) on the lines, from (0, 0, 255), in 13 KB of a
128,000 B budget. libjpeg-turbo (Pillow) at 4:4:4 gives (0, 0, 254) in 17 KB.
So when the picture's colour detail is high (``chroma_detail``) and 4:4:4 fits the
budget at a high quality, it is used instead; otherwise the 4:2:0 path stands.
"""
from __future__ import annotations

import io

from PIL import Image, ImageChops

# chroma_detail above which 4:2:0 is known to cost visibly (photos score 1-5,
# saturated fine detail 8-18; the 1 px blue-line graphic 41): the image fit's own
# GROW_IF_CHROMA threshold, which was tuned on the sweeps for the same question.
FULL_CHROMA_IF_DETAIL = 8.0
# The lowest libjpeg-turbo quality worth 4:4:4: at q90 4:4:4 the blue-line graphic
# keeps its colour within 2 levels; below it luma ringing outweighs the colour gained.
FULL_CHROMA_QUALITY = 90


def encode_444(im: Image.Image, quality: int) -> bytes:
    """Baseline JPEG with unsubsampled colour (libjpeg-turbo, optimised Huffman)."""
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True, progressive=False, subsampling=0)
    return buf.getvalue()


def chroma_detail(im: Image.Image) -> float:
    """How much colour detail 4:2:0 throws away: the L4 norm (which weighs the worst
    places, as SSIMULACRA2 does) of Cb/Cr after halving and restoring their resolution.
    About 1-5 for photos, 8-18 for saturated fine detail (measured on the sweeps)."""
    w, h = im.size
    total = 0.0
    for band in im.convert("YCbCr").split()[1:]:
        half = band.resize((max(1, (w + 1) // 2), max(1, (h + 1) // 2)), Image.Resampling.BOX)
        hist = ImageChops.difference(band, half.resize((w, h), Image.Resampling.BILINEAR)).histogram()
        n = sum(hist)
        total += (sum(count * v ** 4 for v, count in enumerate(hist)) / n) ** 0.25
    return total
