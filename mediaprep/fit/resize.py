"""Resizing a picture for the image fit: to a long side, and Lanczos on two threads.

``to_side`` is the fit's resize. Past 2x it first box-reduces by a whole factor, as
Pillow's ``reducing_gap`` does (REDUCING_GAP), and the fit then sharpens the result
(fit/sharpen.py); either way it ends with ``lanczos``.

``lanczos`` is Pillow's Lanczos in two calls: its rows pass, then its columns pass
(each rounds to 8 bits, and each computes a row, or a column, from that row alone).
Two calls, so that the order is ours: one call lets Pillow choose it, and for some
tall pictures (about twice as tall as wide) it runs the columns first, which rounds
the picture in between differently. The rows pass is run on the top and bottom halves
side by side, the columns pass on the left and right halves, and the halves are
pasted together: the same bytes as the two calls, whatever the thread count (tests
compare them, and with Pillow's one call where it goes rows first, as for every
picture wider than tall), in 57-85% of the time at 1280 -> 1080 px and ~60% at
2560 -> 1080 px on two cores (less when the other core is busy too). Each half is a
cropped copy resized one way: Pillow's ``box`` would spare the copy but run the other
pass too, at scale 1, which cost more than the split saved. RGBA goes through both
passes premultiplied and is converted back once, as Pillow does.
"""
from __future__ import annotations

from concurrent.futures import Executor

from PIL import Image

from ..tools.threads import in_parallel

# to_side box-reduces by an integer factor while the rest of the way is still at
# least this many times, then finishes with Lanczos: 2560 px -> 1080 goes 2x box +
# 1.19x Lanczos in 45% of the time (the cost and the sharpening that wins it back are
# in fit/image.py).
REDUCING_GAP = 1.0
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
# Halves hold one more copy of the source (the two crops) and of the rows pass than
# one call does: above this many source pixels (a 12 MP phone photo, +48 MB) the time
# saved is small beside the decode, and one call's memory is kept.
MAX_HALVED_PIXELS = 12_000_000


def to_side(src: Image.Image, long_side: int, pool: Executor | None = None) -> Image.Image:
    """``src`` with its long side at most ``long_side`` (itself when it already is)."""
    w, h = src.size
    if max(w, h) <= long_side:
        return src
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if not box_reduced(src, long_side):
        return lanczos(src, size, pool)
    # Pillow's resize(size, LANCZOS, reducing_gap=REDUCING_GAP): a box reduction by
    # whole factors, then Lanczos over the part of the reduced picture that is the
    # original (the last block of a row or column may be partial).
    factor = (max(1, int(w / size[0] / REDUCING_GAP)), max(1, int(h / size[1] / REDUCING_GAP)))
    premultiplied = _PREMULTIPLIED.get(src.mode)
    pic = src.convert(premultiplied) if premultiplied else src
    out = lanczos(pic.reduce(factor), size, pool, (w / factor[0], h / factor[1]))
    return out.convert(src.mode) if premultiplied else out


def box_reduced(src: Image.Image, long_side: int) -> bool:
    """Whether to_side takes Pillow's integer box step on the way to long_side."""
    return max(src.size) >= 2 * REDUCING_GAP * long_side


def lanczos(src: Image.Image, size: tuple[int, int], pool: Executor | None,
            extent: tuple[float, float] | None = None) -> Image.Image:
    """Lanczos to ``size``: rows, then columns; in halves on ``pool`` when there is one.
    ``extent``: resize only the picture's (0, 0, *extent) (as Pillow's ``box``)."""
    width, height = size
    w, h = src.size
    x1, y1 = extent or (w, h)
    if size == src.size and (x1, y1) == (w, h):
        return src.copy()  # as Pillow's resize does
    if src.mode not in ("RGB", "L", *_PREMULTIPLIED, *_PREMULTIPLIED.values()):
        return src.resize(size, Image.Resampling.LANCZOS, (0, 0, x1, y1))  # not a picture the fit makes
    src.load()  # here, once: the halves, each cropping a lazily opened picture, would each load it
    premultiplied = _PREMULTIPLIED.get(src.mode)
    pic = src.convert(premultiplied) if premultiplied else src

    def across(band: tuple[int, int, int, int]) -> Image.Image:  # the rows pass, on a band of rows
        return _part(pic, band, (width, band[3] - band[1]), (0, 0, x1, band[3] - band[1]))

    def down(rows: Image.Image, band: tuple[int, int, int, int]) -> Image.Image:  # the columns pass
        return _part(rows, band, (band[2] - band[0], height), (0, 0, band[2] - band[0], y1))

    if pool is None or h < 2 or width < 2 or w * h > MAX_HALVED_PIXELS:
        out = down(across((0, 0, w, h)), (0, 0, width, h))
    else:
        mid, centre = h // 2, width // 2
        top, bottom = in_parallel(pool, lambda: across((0, 0, w, mid)), lambda: across((0, mid, w, h)))
        rows = Image.new(pic.mode, (width, h))
        rows.paste(top, (0, 0))
        rows.paste(bottom, (0, mid))
        del top, bottom
        left, right = in_parallel(pool, lambda: down(rows, (0, 0, centre, h)),
                                  lambda: down(rows, (centre, 0, width, h)))
        out = Image.new(pic.mode, size)
        out.paste(left, (0, 0))
        out.paste(right, (centre, 0))
    return out.convert(src.mode) if premultiplied else out


def _part(im: Image.Image, band: tuple[int, int, int, int], size: tuple[int, int],
          box: tuple[float, float, float, float]) -> Image.Image:
    """One pass over a band of ``im`` (a cropped copy, unless it is all of it): a band
    of whole rows resized across, or of whole columns resized down, over ``box`` of
    the band. Its coefficients are those of the whole picture's pass."""
    part = im if band == (0, 0, *im.size) else im.crop(band)
    return part.resize(size, Image.Resampling.LANCZOS, box)
