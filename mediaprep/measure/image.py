"""SSIMULACRA2 of a picture output against its input, as a phone shows them.

The recipe is the one the README's image benchmark reports (bench/image.py): both
pictures EXIF-oriented, converted to sRGB from an embedded ICC profile, flattened on
white, and resized with Lanczos to 1080 px wide (a phone held upright shows a picture
fitted to its width; see view_size); then SSIMULACRA2 (``measure/ssimulacra2.py``)
between the two views.

Cost: the input's half of the metric (decoding it at full size, its view, and every
scale's planes, blurs and variances) is made on a spare core while the fit encodes,
from the fit's own decode where the fit decodes the file whole (``EarlyReference``);
after the fit only the output's view and its half of the metric remain, spread over
the same threads. numpy and OpenCV (~0.08 s to import) are imported there too, off
the fit's thread.
"""
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from PIL import ExifTags, Image, ImageOps

from ..errors import ToolFailed
from ..fit import icc as profiles
from ..fit.image_decode import handing_over
from ..fit.resize import lanczos
from ..fit.sizes import draft_size
from ..tools import env, threads
from .bands import Score, ssimulacra2_band

if TYPE_CHECKING:
    from ..preflight.probe import ImageInfo
    from .ssimulacra2 import Reference

VIEW_SIDE = 1080  # phones show pictures about 1080 px wide
# The view is capped at this many pixels (a long screenshot 1080 px wide can be tens
# of MP): the metric holds about 13 float planes of it at once (4 MP: ~0.2 GB).
MAX_VIEW_PIXELS = 4_000_000
_T = TypeVar("_T")
_A = TypeVar("_A")


def phone_view(im: Image.Image, side: int = VIEW_SIDE) -> Image.Image:
    """EXIF-oriented, sRGB, flattened on white, Lanczos to ``side`` px wide (view_size)."""
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # an animation: the first frame is what a chat list shows
    return frame_view(im, im.getexif().get(ExifTags.Base.Orientation, 1), side)


def frame_view(im: Image.Image, orientation: int, side: int = VIEW_SIDE) -> Image.Image:
    """``phone_view`` of one decoded frame whose EXIF orientation was read already:
    nothing here reads the file, so another thread may make it."""
    icc = im.info.get("icc_profile")
    if orientation in range(2, 9):
        im = ImageOps.exif_transpose(im)  # (without a turn it would only copy the picture)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    if icc:
        # A broken profile: the pixels as they are, as a viewer would show them.
        with contextlib.suppress(*profiles.ERRORS):
            im = profiles.to_srgb(im, icc, threads.spare())
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    if im.mode != "RGB":
        im = im.convert("RGB")
    # A new picture even at the same size; in halves when the pool has a core that
    # background work does not hold (the same pixels either way): on two cores, not
    # while the reference half, itself background work, runs.
    return lanczos(im, view_size(*im.size, side), threads.spare())


def view_size(w: int, h: int, side: int = VIEW_SIDE) -> tuple[int, int]:
    """The size of a w x h (upright) picture at the phone's view: fitted to the width
    of a phone held upright, ``side`` px wide (fit/sizes.display_long_side), at most
    MAX_VIEW_PIXELS (a long screenshot is scrolled through)."""
    scale = min(side / w, math.sqrt(MAX_VIEW_PIXELS / (w * h)))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _upright_size(path: Path) -> tuple[int, int]:
    """A picture's size once its EXIF orientation is applied, from its header."""
    with Image.open(path) as im:
        w, h = im.size
        return (h, w) if im.getexif().get(ExifTags.Base.Orientation, 1) in range(5, 9) else (w, h)


def load_view(path: Path, side: int = VIEW_SIDE) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return phone_view(im, side)


def _opencv() -> None:
    """Import OpenCV (~0.1 s: only a measured run pays it) and give it the thread
    count a batch worker asks for (the files are its parallelism)."""
    import cv2

    n = env.threads()
    if n:
        cv2.setNumThreads(n)


def reference_of(source: Path) -> Reference:
    """The input's view and its half of the metric."""
    return _reference(_read(load_view, source))


def _reference(view: Image.Image) -> Reference:
    _opencv()
    import numpy as np

    from .ssimulacra2 import reference

    return reference(np.asarray(view))


def _view_reference(im: Image.Image, orientation: int) -> Reference:
    """The half of the metric from the fit's decoded picture (see EarlyReference)."""
    return _reference(_read(lambda i: frame_view(i, orientation), im))


def _read(load: Callable[[_A], _T], source: _A) -> _T:
    try:
        return load(source)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types; the fit read these fine
        raise ToolFailed(f"cannot read the pictures to compare: {type(exc).__name__}: {exc}",
                         hint="the outputs are fine; rerun without --measure") from exc


class EarlyReference:
    """The input's half of the metric, begun before the fit ends, on a core the fit
    leaves spare (``threads.background``).

    Where the fit decodes the input whole (a PNG, a HEIC, a JPEG too small to be
    DCT-scaled), it hands its decoded picture over (``image_decode.handing_over``),
    and the view is made from that: the file is decoded once, not twice (a 3840x2160
    PNG: ~0.1 s less). Else (a JPEG the fit decodes DCT-scaled, an animation) the
    view is begun from the file at once. With no spare core, the half is made when
    the score asks for it, from the handed picture if there was one."""

    def __init__(self, source: Path, from_fit: bool) -> None:
        self.source = source
        self.from_fit = from_fit
        self._future: Future[Reference] | None = None
        self._handed: tuple[Image.Image, int] | None = None
        if not from_fit:
            self._future = threads.background(lambda: reference_of(source))
        elif (pool := threads.pool()) is not None:
            pool.submit(_opencv)  # its imports, while the fit decodes

    def listening(self) -> contextlib.AbstractContextManager[None]:
        """The block the fit runs in: its decode is handed over here."""
        return handing_over(self._take) if self.from_fit else contextlib.nullcontext()

    def _take(self, im: Image.Image) -> None:
        # On the fit's thread: the EXIF is read here (Pillow caches it on first
        # reading; two threads reading it first at once could see it half-loaded).
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
        self._future = threads.background(lambda: _view_reference(im, orientation))
        if self._future is None:
            self._handed = im, orientation

    def reference(self) -> Reference | Future[Reference]:
        """The half, or its Future while it is still being made."""
        if self._future is not None:
            return self._future
        if self._handed is not None:
            im, orientation = self._handed
            self._handed = None
            return _view_reference(im, orientation)
        return reference_of(self.source)  # the fit never decoded the file whole


def start_reference(source: Path, info: ImageInfo, fit_side: int) -> EarlyReference:
    """Begin the input's half (see EarlyReference). ``fit_side``: the long side the
    fit decodes a JPEG at, at least (a larger one is DCT-scaled towards it)."""
    scaled = info.format == "jpeg" and draft_size(info.width, info.height, fit_side) is not None
    return EarlyReference(source, from_fit=info.frames == 1 and not scaled)


def score_picture(source: Path, output: Path, passed_through: bool = False,
                  early: EarlyReference | None = None) -> Score:
    """The output against the input, both at the phone's view (``early``: the
    input's half, when start_reference began it)."""
    t0 = time.perf_counter()
    facts: tuple[tuple[str, object], ...] = (("view_px", VIEW_SIDE),)
    if passed_through:
        # The same bytes: nothing to compare, and 100 is the metric's own "lossless".
        return Score("ssimulacra2", 100.0, "excellent", time.perf_counter() - t0,
                     (*facts, ("identical", True)))
    _opencv()
    import numpy as np

    from .ssimulacra2 import score

    out = _read(load_view, output)
    size = view_size(*_read(_upright_size, source))
    if out.size != size:  # a rounding apart in the aspect ratio
        out = out.resize(size, Image.Resampling.LANCZOS)
    # The output's planes are built while the input's half may still be finishing.
    value = score(early.reference() if early is not None else reference_of(source), np.asarray(out),
                  threads.pool())
    return Score("ssimulacra2", value, ssimulacra2_band(value), time.perf_counter() - t0, facts)
