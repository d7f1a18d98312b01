"""Decode the first frame of an image as a phone would show it: upright, sRGB, 8-bit.

Upright: EXIF orientation (in a PNG also the eXIf chunk, ImageMagick's "Raw profile
type exif" text and the XMP ``tiff:Orientation``, all of which Pillow's getexif
reads); HEIF's own ``irot``/``imir`` are applied by libheif, an AVIF's by Pillow as
an orientation. sRGB: an ICC profile through LittleCMS, HEIF/AVIF colour code
points (``nclx``: Display P3, BT.2020, PQ and HLG HDR) through ``colour.py``.
8-bit: 16-bit samples scaled, 32-bit integer and float samples scaled by the range
their TIFF tags declare (not clipped at 255, which posterises), transparency kept
as alpha (including a PNG/TIFF colour key, tRNS) and flattened onto white after
resizing.

Pillow's warnings (about odd metadata it skips, with its own file paths) are never
printed: what matters becomes one of our notices.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextvars import ContextVar
from typing import Any

from PIL import Image, ImageOps

from .. import prefetch
from ..errors import BadInput, LimitExceeded
from ..guard import bounded, check_memory
from ..preflight.probe import HEIF_FORMATS, ImageInfo, decode_bytes, open_image, quietly
from ..preflight.sniff import Sniffed
from ..profiles import Profile
from ..tools import threads
from .sizes import decode_long_side, draft_size

# Who else wants the picture as the file holds it, decoded whole (before any turn or
# conversion): --measure's view of the input, which then need not decode the file a
# second time (a 4K PNG's zlib alone is ~0.1 s). Set by ``handing_over`` around one
# prepare; called at most once, on the decoding thread.
_wanted: ContextVar[Callable[[Image.Image], None] | None] = ContextVar("mediaprep_decoded_wanted",
                                                                      default=None)


@contextlib.contextmanager
def handing_over(take: Callable[[Image.Image], None]) -> Iterator[None]:
    """Within this block, the next picture decoded whole from its file (one frame, at
    its full size) is also given to ``take``, on this thread, which may keep it: the
    fit then closes only its file, never the picture, and changes nothing of it in
    place. ``take`` reads there what it needs of the file (its EXIF) at once."""
    token = _wanted.set(take)
    try:
        yield
    finally:
        _wanted.reset(token)


def _hand_over(im: Image.Image, info: ImageInfo) -> bool:
    """Give ``im`` to whoever wants it (see handing_over), when it is the whole
    picture: the size the probe read (not DCT-scaled, here or by the early decode),
    its only frame. True when it was taken."""
    take = _wanted.get()
    if take is None or info.frames != 1 or im.size != (info.width, info.height):
        return False
    _wanted.set(None)  # once
    take(im)
    return True


_TIFF_BITS = 258  # BitsPerSample
_TIFF_SAMPLE_FORMAT = 339  # SampleFormat: 1 unsigned, 2 signed, 3 float


def to_srgb(im: Image.Image, warn: list[str], pool: Executor | None = None) -> Image.Image:
    """``im`` in sRGB by its embedded ICC profile (see icc.to_srgb); a broken profile
    is a warning, and the pixels are taken as sRGB."""
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    from . import icc as profiles  # LittleCMS: only a picture with a profile needs it

    try:
        return profiles.to_srgb(im, icc, pool)
    except profiles.ERRORS:
        warn.append("embedded colour profile is broken; colours are taken as sRGB")
        return im


def _sample_range(im: Image.Image) -> tuple[float, float]:
    """The value range a grey I/F picture's samples are meant to span. TIFF declares
    bits and signedness; 16-bit data that Pillow widened to I (a PNG, an I;16 TIFF)
    spans 16 bits; float spans 0..1 unless its values say otherwise."""
    tags: Any = getattr(im, "tag_v2", None) or {}
    bits_tag = tags.get(_TIFF_BITS, (16,))
    bits = int(bits_tag[0] if isinstance(bits_tag, tuple) else bits_tag)
    fmt_tag = tags.get(_TIFF_SAMPLE_FORMAT, (1,))
    sample_format = int(fmt_tag[0] if isinstance(fmt_tag, tuple) else fmt_tag)
    extrema: Any = im.getextrema()  # a single band: (min, max)
    lo, hi = float(extrema[0]), float(extrema[1])
    if im.mode == "F" or sample_format == 3:
        if lo >= -1e-3 and hi <= 1.0 + 1e-3:
            return 0.0, 1.0
        return lo, hi if hi > lo else lo + 1.0
    bits = min(max(bits, 1), 32)
    if sample_format == 2:  # signed: zero is black unless the data goes below it
        top = float(2 ** (bits - 1) - 1)
        return (0.0, top) if lo >= 0 else (-top - 1, top)
    return 0.0, float(2 ** bits - 1)


def _to_8bit_grey(im: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float grey picture -> L, its declared range scaled to
    0..255 (Pillow's convert('L') clips at 255: a 32-bit picture came out in two
    levels)."""
    lo, hi = _sample_range(im)
    scale = 255.0 / (hi - lo)
    src = im if im.mode in ("I", "F") else im.convert("I")
    return src.point(lambda v: v * scale - lo * scale).convert("L")


def normalize(im: Image.Image) -> Image.Image:
    """Any mode -> 8-bit RGB, or RGBA when some pixel is not opaque. The alpha is
    kept this far so that it is flattened after resizing, on 4-16x fewer pixels:
    Pillow resizes RGBA premultiplied, and compositing onto a constant colour is
    linear in premultiplied values, so the order does not change the picture."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        im = _to_8bit_grey(im)
        mode = "L"
    if mode == "1":
        im = im.convert("L")
        mode = "L"
    # A colour key (PNG tRNS on an RGB or grey picture, a GIF/palette index) makes the
    # pixels of that colour transparent, exactly as an alpha channel would.
    keyed = "transparency" in im.info and mode in ("P", "RGB", "L")
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or keyed
    if has_alpha:
        rgba = im if mode == "RGBA" else im.convert("RGBA")
        if rgba.getchannel("A").getextrema()[0] == 255:
            return rgba.convert("RGB")  # an alpha channel that is all opaque: drop it
        return rgba
    if mode != "RGB":
        return im.convert("RGB")
    return im


def flatten(im: Image.Image) -> Image.Image:
    """Any mode -> 8-bit RGB, transparency composited onto white."""
    im = normalize(im)
    if im.mode == "RGBA":
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(im, mask=im.getchannel("A"))
        return white
    return im


# EXIF orientation -> the transposition that shows the picture upright (TIFF 6.0 / EXIF 2.3).
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
              4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
              6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    """A picture already stripped of its EXIF, turned as its orientation said."""
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _heif_colour(sniffed: Sniffed, im: Image.Image, warn: list[str]) -> Image.Image | None:
    """A HEIF/AVIF picture described by nclx code points, converted to sRGB; None
    when it has an ICC profile (converted by to_srgb) or is sRGB already."""
    if im.info.get("icc_profile"):
        return None
    from ..formats import heif
    from . import colour  # code points to sRGB: HEIF/AVIF only

    layout = heif.read_layout(sniffed.path)
    if not colour.needs_conversion(layout.nclx):
        return None
    assert layout.nclx is not None
    import numpy as np

    if layout.hdr:
        warn.append(f"HDR ({'PQ' if layout.nclx.transfer == heif.TRANSFER_PQ else 'HLG'}) "
                    "tone-mapped to SDR")
    if sniffed.pillow == "HEIF" and layout.bits > 8:
        from ..tools import heif as heif_tool

        # The full 10/12 bits: an HDR curve stretched from 8 bits bands visibly.
        return colour.convert(heif_tool.decode_16bit(sniffed.path), layout.nclx, 65535)
    rgb = im.convert("RGBA" if "A" in im.mode else "RGB")
    return colour.convert(np.asarray(rgb), layout.nclx, 255)


def decode_side(info: ImageInfo, by_width: bool = True) -> int:
    """The long side the fit decodes this picture at, at least (fit/sizes.decode_long_side;
    ``by_width`` False for a thumb)."""
    return decode_long_side(*info.display_size, by_width=by_width)


@quietly
def decode(sniffed: Sniffed, info: ImageInfo, profile: Profile, max_side: int,
           warn: list[str]) -> Image.Image:
    """Decode the first frame as a phone would show it: upright, sRGB, 8-bit RGB, or
    RGBA when some pixel is not opaque (flattened after resizing: see normalize).
    JPEGs are decoded at a reduced DCT scale when that still leaves at least
    ``max_side`` pixels on the long side (fast and sharp). Runs under the profile's
    wall clock; its memory is estimated before it starts."""
    with bounded(f"decoding the {sniffed.format.upper()} image", profile.safety.decode_seconds,
                 sniffed.path):
        return _decode_first_frame(sniffed, info, profile, max_side, warn)


def _decode_first_frame(sniffed: Sniffed, info: ImageInfo, profile: Profile, max_side: int,
                        warn: list[str]) -> Image.Image:
    # The command may have decoded this very file while it started (prefetch.py):
    # the same plugin and DCT scale as below, so the same pixels.
    im = prefetch.take(sniffed, info.frames, profile.safety, max_side) \
        or open_image(sniffed, profile.safety, sniffed.size - info.trailing_bytes)
    pic: Image.Image | None = None
    handed = False
    try:
        if info.frames > 1:
            warn.append(f"animated image ({info.frames} frames): only the first frame is kept"
                        + (" (send it with --as video to keep the animation)"
                           if sniffed.format in ("gif", "png", "webp") else ""))
            im.seek(0)
        if sniffed.format == "jpeg" and (scaled := draft_size(*im.size, max_side)) is not None:
            im.draft(im.mode, scaled)
        check_memory(f"decoding the {sniffed.format.upper()} image", decode_bytes(im),
                     profile.safety.memory_mb, sniffed.path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decoder chatter: never printed raw
            im.load()
        handed = _hand_over(im, info)
        coded = _heif_colour(sniffed, im, warn) if sniffed.format in HEIF_FORMATS else None
        if coded is not None:
            pic = normalize(_orient(coded, info.orientation))
            return pic
        icc = im.info.get("icc_profile")
        # exif_transpose copies the whole picture even when there is nothing to turn
        # (12 ms on 4 MP): call it only for a real orientation.
        upright = ImageOps.exif_transpose(im) if info.orientation != 1 else im
        if icc and "icc_profile" not in upright.info:
            upright.info["icc_profile"] = icc
        pic = normalize(to_srgb(upright, warn, threads.spare()))
        return pic
    except (OSError, SyntaxError, ValueError, EOFError, RuntimeError) as exc:
        raise BadInput(f"cannot decode the {sniffed.format.upper()} image: {exc}", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    except MemoryError as exc:
        raise LimitExceeded("not enough memory to decode the image", path=sniffed.path) from exc
    finally:
        if pic is not im and not handed:
            im.close()
        else:
            # The picture itself is the result, or was handed over: close only its
            # files. Leaving the context closes the one Pillow keeps open to seek an
            # animation's frames too (closing im.fp alone leaked it for animated PNGs).
            im.__exit__(None, None, None)
