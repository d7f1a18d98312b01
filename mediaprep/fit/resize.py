"""Resizing a picture for the image fit: to a long side, and Lanczos on two threads.

``to_side`` is the fit's resize. Past 2x it lets Pillow box-reduce by a whole factor
first (REDUCING_GAP), which the fit then sharpens (see fit/image.py's SHARPEN); a
shorter way is one Lanczos, which ``lanczos`` runs on two threads.

``lanczos`` is Pillow's Lanczos in two calls: its rows pass, then its columns pass
(each rounds to 8 bits, and each computes a row, or a column, from that row alone).
Two calls, so that the order is ours: one call lets Pillow choose it, and for some
tall pictures (about twice as tall as wide) it runs the columns first, which rounds
the picture in between differently. The rows pass is run on the top and bottom halves
side by side, the columns pass on the left and right halves, and the halves are
pasted together: the same bytes as the two calls, whatever the thread count (tests
compare them, and with Pillow's one call where it goes rows first, as for every
picture wider than tall), in 57% of the time at 1280 -> 1080 px and 59% at 2560 ->
1080 px on two cores. Each half is a cropped copy resized one way: Pillow's ``box``
would spare the copy but run the other pass too, at scale 1, which cost more than the
split saved. RGBA goes through both passes premultiplied and is converted back once,
as Pillow does.
"""
from __future__ import annotations

from concurrent.futures import Executor

from PIL import Image

from ..tools.threads import in_parallel

# Pillow box-reduces by an integer factor while the rest of the way is still at
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
    if not box_reduced(src, long_side):  # one Lanczos pass: it can run in halves
        return lanczos(src, size, pool)
    return src.resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)


def box_reduced(src: Image.Image, long_side: int) -> bool:
    """Whether to_side takes Pillow's integer box step on the way to long_side."""
    return max(src.size) >= 2 * REDUCING_GAP * long_side


def lanczos(src: Image.Image, size: tuple[int, int], pool: Executor | None) -> Image.Image:
    """Lanczos to ``size``: rows, then columns; in halves on ``pool`` when there is one."""
    width, height = size
    w, h = src.size
    if size == src.size:
        return src.copy()  # as Pillow's resize does
    if src.mode not in ("RGB", "L", *_PREMULTIPLIED):
        return src.resize(size, Image.Resampling.LANCZOS)  # not a picture the fit makes
    premultiplied = _PREMULTIPLIED.get(src.mode)
    pic = src.convert(premultiplied) if premultiplied else src
    if pool is None or h < 2 or width < 2 or w * h > MAX_HALVED_PIXELS:
        out = pic.resize((width, h), Image.Resampling.LANCZOS).resize(size, Image.Resampling.LANCZOS)
    else:
        mid, centre = h // 2, width // 2
        top, bottom = in_parallel(pool, lambda: _part(pic, (0, 0, w, mid), (width, mid)),
                                  lambda: _part(pic, (0, mid, w, h), (width, h - mid)))
        rows = Image.new(pic.mode, (width, h))
        rows.paste(top, (0, 0))
        rows.paste(bottom, (0, mid))
        del top, bottom
        left, right = in_parallel(pool, lambda: _part(rows, (0, 0, centre, h), (centre, height)),
                                  lambda: _part(rows, (centre, 0, width, h), (width - centre, height)))
        out = Image.new(pic.mode, size)
        out.paste(left, (0, 0))
        out.paste(right, (centre, 0))
    return out.convert(src.mode) if premultiplied else out


def _part(im: Image.Image, box: tuple[int, int, int, int], size: tuple[int, int]) -> Image.Image:
    # A full-width band resized to the full width (or a full-height one to the full
    # height) takes Pillow's one pass: its coefficients are those of the whole picture.
    return im.crop(box).resize(size, Image.Resampling.LANCZOS)
