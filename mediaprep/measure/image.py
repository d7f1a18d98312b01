"""SSIMULACRA2 of a picture output against its input, as a phone shows them.

The recipe is the one the README's image benchmark reports (bench/image.py): both
pictures EXIF-oriented, converted to sRGB from an embedded ICC profile, flattened on
white, and resized with Lanczos to long side 1080 (phones show pictures about 1080
px wide); then SSIMULACRA2 (``measure/ssimulacra2.py``) between the two views.

Cost: the input's half of the metric (decoding it at full size, its view, and every
scale's planes, blurs and variances) is begun on a spare core as soon as the input
is probed, so it runs while the fit encodes; after the fit only the output's view
and its half of the metric remain, spread over the same threads.
"""
from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from PIL import ExifTags, Image, ImageOps

from ..errors import ToolFailed
from ..fit import icc as profiles
from ..fit.resize import lanczos
from ..tools import env, threads
from .bands import Score, ssimulacra2_band

if TYPE_CHECKING:
    from .ssimulacra2 import Reference

VIEW_SIDE = 1080  # phones show pictures about 1080 px wide
_T = TypeVar("_T")


def phone_view(im: Image.Image, side: int = VIEW_SIDE) -> Image.Image:
    """EXIF-oriented, sRGB, flattened on white, Lanczos to long side ``side``."""
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # an animation: the first frame is what a chat list shows
    icc = im.info.get("icc_profile")
    if im.getexif().get(ExifTags.Base.Orientation, 1) in range(2, 9):
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
    """The size of a w x h (upright) picture at the phone's view."""
    scale = side / max(w, h)
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
    _opencv()
    from .ssimulacra2 import reference

    return reference(np.asarray(_read(load_view, source)))


def _read(load: Callable[[Path], _T], path: Path) -> _T:
    try:
        return load(path)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types; the fit read these fine
        raise ToolFailed(f"cannot read the pictures to compare: {type(exc).__name__}: {exc}",
                         hint="the outputs are fine; rerun without --measure") from exc


def start_reference(source: Path) -> Future[Reference] | None:
    """Begin the input's half on a spare thread (None: no spare thread)."""
    return threads.background(lambda: reference_of(source))


def score_picture(source: Path, output: Path, passed_through: bool = False,
                  reference: Future[Reference] | None = None) -> Score:
    """The output against the input, both at the phone's view (``reference``: the
    input's half, when start_reference began it earlier)."""
    t0 = time.perf_counter()
    facts: tuple[tuple[str, object], ...] = (("view_px", VIEW_SIDE),)
    if passed_through:
        # The same bytes: nothing to compare, and 100 is the metric's own "lossless".
        return Score("ssimulacra2", 100.0, "excellent", time.perf_counter() - t0,
                     (*facts, ("identical", True)))
    _opencv()
    from .ssimulacra2 import score

    out = _read(load_view, output)
    size = view_size(*_read(_upright_size, source))
    if out.size != size:  # a rounding apart in the aspect ratio
        out = out.resize(size, Image.Resampling.LANCZOS)
    # The output's planes are built while the input's half may still be finishing.
    value = score(reference if reference is not None else reference_of(source), np.asarray(out), threads.pool())
    return Score("ssimulacra2", value, ssimulacra2_band(value), time.perf_counter() - t0, facts)
