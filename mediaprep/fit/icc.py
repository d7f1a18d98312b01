"""Embedded ICC profiles: whether one is sRGB already, and converting a picture to sRGB.

One rule for both places that show a picture in sRGB: the fit's decode
(``image_decode.to_srgb``) and the phone's view that ``--measure`` and the image
benchmark compare (``measure/image.py``).

A profile counts as sRGB when LittleCMS maps every colour of a probe (each channel's
256 levels alone and all together, and a 9x9x9 grid of colours) within one level of
itself. Converting with such a profile changes at most a few saturated colours by
one level (the sRGB profiles cameras and wallpapers embed: pure greens above 235
gain one level of red), and costs 16-18 ms per megapixel on one core: 75 ms of a
4 MP picture's view. The profile's name is not trusted: an "esRGB" profile contains
the word and moves colours by up to 96 levels. The probe is built once per process
and the answer remembered per profile; a check costs about 1 ms (an unoptimised transform:
LittleCMS's optimisation, which pays on millions of pixels, takes 2.6 ms to set up).
"""
from __future__ import annotations

import functools
import io
import itertools
from concurrent.futures import Executor

from PIL import Image, ImageChops, ImageCms

from ..tools.threads import in_parallel

BANDS = 4  # convert() with a pool: bands of rows (an even number)
TOLERANCE = 1  # levels a colour may move for the profile to count as sRGB
_GRID = (0, 32, 64, 96, 128, 160, 192, 224, 255)

# What converting may raise on a profile that is broken or does not fit the picture.
ERRORS = (ImageCms.PyCMSError, OSError, ValueError, TypeError)


@functools.cache
def _probe() -> Image.Image:
    ramps = ((v, 0, 0, 0, v, 0, 0, 0, v, v, v, v) for v in range(256))
    colours = bytes(itertools.chain(itertools.chain.from_iterable(ramps),
                                    itertools.chain.from_iterable(itertools.product(_GRID, repeat=3))))
    return Image.frombytes("RGB", (len(colours) // 3, 1), colours)


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@functools.lru_cache(maxsize=16)
def is_srgb(icc: bytes) -> bool:
    """Whether the profile maps every colour within TOLERANCE of itself (raises
    ERRORS when the profile is broken or not an RGB one)."""
    transform = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), _srgb(), "RGB", "RGB",
                                        flags=ImageCms.Flags.NOOPTIMIZE)
    probe = _probe()
    moved = ImageCms.applyTransform(probe, transform)
    assert moved is not None  # None only in place
    extrema = ImageChops.difference(moved, probe).getextrema()  # per band: (min, max)
    return all(high <= TOLERANCE for _low, high in extrema)  # type: ignore[misc]


def to_srgb(im: Image.Image, icc: bytes, pool: Executor | None = None) -> Image.Image:
    """``im`` shown in sRGB by its profile ``icc``: an RGB or RGBA picture whose profile
    is not sRGB already, and any CMYK one, converted (RGBA keeps its alpha, CMYK comes
    out RGB); any other (grey, palette) is returned as it is: a grey profile changes
    little, and a profile of another colour space does not describe it. Raises
    ERRORS when the profile is broken or does not fit the picture."""
    if im.mode == "CMYK":
        return convert(im, icc, "RGB", pool)
    if im.mode not in ("RGB", "RGBA") or is_srgb(icc):
        return im
    return convert(im, icc, im.mode, pool)


def convert(im: Image.Image, icc: bytes, out_mode: str, pool: Executor | None = None) -> Image.Image:
    """``im`` (RGB, RGBA or CMYK) from its profile to sRGB in ``out_mode``, with the
    perceptual intent (raises ERRORS on a broken profile). With a pool, in BANDS bands
    of rows, two at a time: LittleCMS converts each pixel on its own, so the bytes are
    the same as one call's (1.6x faster on two cores: a 12 MP phone photo's
    conversion takes ~0.19 s on one)."""
    transform = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), _srgb(), im.mode, out_mode,
                                        renderingIntent=ImageCms.Intent.PERCEPTUAL)
    if pool is None or im.height < BANDS:
        out = ImageCms.applyTransform(im, transform)
        assert out is not None  # None only in place
        return out
    out = Image.new(out_mode, im.size)
    edges = [im.height * i // BANDS for i in range(BANDS + 1)]

    def band(i: int) -> Image.Image:
        converted = ImageCms.applyTransform(im.crop((0, edges[i], im.width, edges[i + 1])), transform)
        assert converted is not None
        return converted

    for i in range(0, BANDS, 2):  # two bands at a time: at most half the picture copied at once
        first, second = in_parallel(pool, functools.partial(band, i), functools.partial(band, i + 1))
        out.paste(first, (0, edges[i]))
        out.paste(second, (0, edges[i + 1]))
    return out
