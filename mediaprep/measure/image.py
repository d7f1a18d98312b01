"""SSIMULACRA2 of a picture output against its input, as a phone shows them.

The recipe is the one the README's image benchmark reports (bench/image.py): both
pictures EXIF-oriented, converted to sRGB from an embedded ICC profile, flattened on
white, and resized with Lanczos to long side 1080 (phones show pictures about 1080
px wide); then SSIMULACRA2 between the two views.

The metric is the PyPI ``ssimulacra2`` package's: its colour constants, weights and
final pooling (``Msssim.score``) are used as they are. What is ours is only how the
per-scale error maps are computed, because the package's float64 arrays and
scipy blurs take 1.5-4 s for one 1080 px picture, ten to thirty times the prepare
itself. Here the same maths runs in float32 with OpenCV's separable filter for the
Gaussian blurs and its area resize for the 2x2 averaging, matching the package's
edge handling exactly (zero beyond the left and right edges, mirrored at the top
and bottom: the package blurs its arrays transposed; odd sizes average the partial
blocks). Scores agree with the package's to within 0.05
(tests/test_measure.py checks it on real pictures).
"""
from __future__ import annotations

import io
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

from ..errors import ToolFailed
from ..tools import ffmpeg as ff
from .bands import Score, ssimulacra2_band

VIEW_SIDE = 1080  # phones show pictures about 1080 px wide

_RADIUS = 5  # the package's Gaussian: sigma 1.5, truncated at 3.33 sigma -> 11 taps
_SIGMA = 1.5
_C2 = np.float32(0.0009)


def phone_view(im: Image.Image, side: int = VIEW_SIDE) -> Image.Image:
    """EXIF-oriented, sRGB, flattened on white, Lanczos to long side ``side``."""
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # an animation: the first frame is what a chat list shows
    icc = im.info.get("icc_profile")
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        im = im.convert("I").point(lambda v: v / 256).convert("L")
    if icc and im.mode in ("RGB", "RGBA", "CMYK"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(im, src, ImageCms.createProfile("sRGB"),
                                                  outputMode=out_mode)
            if converted is not None:
                im = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the pixels as they are, as a viewer would show them
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    im = im.convert("RGB")
    w, h = im.size
    scale = side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return im.resize(size, Image.Resampling.LANCZOS)


def load_view(path: Path, side: int = VIEW_SIDE) -> Image.Image:
    with Image.open(path) as im:
        im.load()
        return phone_view(im, side)


# Threads: decoding, resizing, OpenCV's filters and numpy's arithmetic on large
# arrays all release the GIL, so one prepare can use a second core for its score
# (the input's view is decoded while the fit encodes; the three colour planes are
# scored side by side). A batch worker runs with MEDIAPREP_THREADS=1: there the
# files are the parallelism, and everything here runs in the calling thread.
_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor | None:
    global _pool
    if (ff.threads() or os.cpu_count() or 1) < 2:
        return None
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="mediaprep-measure")
    return _pool


def _early_view(source: Path) -> Image.Image:
    _k()  # the metric's imports (~0.3 s: OpenCV, the package and scipy) happen here too
    return load_view(source)


def start_reference(source: Path) -> Future[Image.Image] | None:
    """Begin decoding the input's view in the background (None: no spare thread)."""
    pool = _threads()
    return pool.submit(_early_view, source) if pool is not None else None


class _Kernels:
    """The package's constants in float32, built once (importing the package and
    OpenCV costs ~0.2 s, so only a measured run pays it)."""

    def __init__(self) -> None:
        import cv2
        from ssimulacra2 import ssimulacra2 as s2

        self.cv2 = cv2
        self.s2 = s2
        taps = np.arange(-_RADIUS, _RADIUS + 1, dtype=np.float64)
        gauss = np.exp(-0.5 * taps * taps / (_SIGMA * _SIGMA))
        self.kernel = (gauss / gauss.sum()).astype(np.float32)
        levels = np.arange(256, dtype=np.float64) / 255.0
        # sRGB decoding as a table: the inputs are 8-bit, so this is exact and one lookup.
        self.to_linear = np.where(levels <= 0.04045, levels / 12.92,
                                  ((levels + 0.055) / 1.055) ** 2.4).astype(np.float32)
        self.opsin = np.asarray(s2.kOpsinAbsorbanceMatrix, dtype=np.float32).reshape(3, 3)
        self.bias = np.float32(s2.kOpsinAbsorbanceBias[0])
        self.cbrt_bias = np.float32(np.cbrt(s2.kOpsinAbsorbanceBias[0]))
        n = ff.threads()
        if n:
            cv2.setNumThreads(n)  # a batch worker: one thread, the files are the parallelism


_kernels: _Kernels | None = None


def _k() -> _Kernels:
    global _kernels
    if _kernels is None:
        _kernels = _Kernels()
    return _kernels


def _xyb(k: _Kernels, linear: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear RGB (h, w, 3) -> the metric's positive XYB planes (X, Y, B-Y)."""
    mixed = k.cv2.transform(linear, k.opsin)
    mixed += k.bias
    np.maximum(mixed, 0, out=mixed)
    np.cbrt(mixed, out=mixed)
    mixed -= k.cbrt_bias
    m0, m1, m2 = k.cv2.split(mixed)
    y = m0 + m1
    y *= 0.5
    x = m0
    x -= m1
    x *= 7.0  # 0.5 * (m0 - m1), then the metric's x14 scaling
    x += 0.42
    b = m2
    b -= y
    b += 0.55
    y += 0.01
    return x, y, b


def _blur(k: _Kernels, plane: np.ndarray) -> np.ndarray:
    padded = k.cv2.copyMakeBorder(plane, 0, 0, _RADIUS, _RADIUS, k.cv2.BORDER_CONSTANT, value=0)
    out: np.ndarray = k.cv2.sepFilter2D(padded, -1, k.kernel, k.kernel,
                                        borderType=k.cv2.BORDER_REFLECT)
    return out[:, _RADIUS:_RADIUS + plane.shape[1]]


def _norms(a: np.ndarray) -> tuple[float, float]:
    """1-norm and 4-norm (means), consuming ``a``."""
    n = a.size
    one = float(a.sum(dtype=np.float64)) / n
    np.multiply(a, a, out=a)
    four = float(np.dot(a.ravel(), a.ravel())) / n
    return one, four ** 0.25


def _channel(k: _Kernels, i1: np.ndarray, i2: np.ndarray) -> tuple[float, ...]:
    """The six norms of one XYB plane at one scale: SSIM error, ringing, blurring."""
    mu1, mu2 = _blur(k, i1), _blur(k, i2)
    s11, s22, s12 = _blur(k, i1 * i1), _blur(k, i2 * i2), _blur(k, i1 * i2)
    # SSIM with the metric's corrected formula: 1 - (1 - (mu1-mu2)^2) * num_s / den_s.
    t = mu1 * mu2
    s12 -= t
    s12 *= 2
    s12 += _C2
    np.multiply(mu1, mu1, out=t)
    s11 -= t
    np.multiply(mu2, mu2, out=t)
    s22 -= t
    s11 += s22
    s11 += _C2
    np.subtract(mu1, mu2, out=t)
    t *= t
    np.subtract(1.0, t, out=t)
    t *= s12
    t /= s11
    np.subtract(1.0, t, out=t)
    np.maximum(t, 0, out=t)
    ssim = _norms(t)
    # Edge maps: > 0 where the output has edges the input lacks (ringing, blocks),
    # < 0 where the input's edges were smoothed away (blur).
    e1 = np.subtract(i1, mu1, out=mu1)
    np.abs(e1, out=e1)
    e1 += 1
    e2 = np.subtract(i2, mu2, out=mu2)
    np.abs(e2, out=e2)
    e2 += 1
    e2 /= e1
    e2 -= 1
    ringing = _norms(np.maximum(e2, 0, out=e1))
    np.negative(e2, out=e2)
    blurring = _norms(np.maximum(e2, 0, out=e2))
    return (*ssim, *ringing, *blurring)


def _half(k: _Kernels, linear: np.ndarray) -> np.ndarray:
    """2x2 mean in linear light; an odd last row or column averages what it has."""
    h, w = linear.shape[:2]
    if h % 2 or w % 2:
        linear = k.cv2.copyMakeBorder(linear, 0, h % 2, 0, w % 2, k.cv2.BORDER_REPLICATE)
    out: np.ndarray = k.cv2.resize(linear, ((w + 1) // 2, (h + 1) // 2),
                                   interpolation=k.cv2.INTER_AREA)
    return out


def ssimulacra2(reference: np.ndarray, distorted: np.ndarray) -> float:
    """SSIMULACRA2 of two 8-bit sRGB images of the same size, (h, w, 3) uint8."""
    if reference.shape != distorted.shape:
        raise ValueError(f"sizes differ: {reference.shape} and {distorted.shape}")
    k = _k()
    lin1 = k.cv2.LUT(np.ascontiguousarray(reference), k.to_linear)
    lin2 = k.cv2.LUT(np.ascontiguousarray(distorted), k.to_linear)
    msssim = k.s2.Msssim()
    for scale in range(k.s2.kNumScales):
        if lin1.shape[0] < 8 or lin1.shape[1] < 8:
            break
        planes1, planes2 = _xyb(k, lin1), _xyb(k, lin2)
        pool = _threads() if lin1.shape[0] * lin1.shape[1] >= 65_536 else None  # small: not worth it
        if pool is not None:
            norms = list(pool.map(lambda p: _channel(k, *p), zip(planes1, planes2, strict=True)))
        else:
            norms = [_channel(k, p1, p2) for p1, p2 in zip(planes1, planes2, strict=True)]
        data = k.s2.MsssimScale()
        data.avg_ssim = np.array([v for n in norms for v in n[0:2]])
        data.avg_edgediff = np.array([v for n in norms for v in n[2:6]])
        msssim.scales.append(data)
        if scale < k.s2.kNumScales - 1:
            lin1, lin2 = _half(k, lin1), _half(k, lin2)
    return float(msssim.score())


def score_picture(source: Path, output: Path, passed_through: bool = False,
                  reference: Future[Image.Image] | None = None) -> Score:
    """The output against the input, both at the phone's view (``reference``: the
    input's view, when start_reference began decoding it earlier)."""
    t0 = time.perf_counter()
    facts: tuple[tuple[str, object], ...] = (("view_px", VIEW_SIDE),)
    if passed_through:
        # The same bytes: nothing to compare, and 100 is the metric's own "lossless".
        return Score("ssimulacra2", 100.0, "excellent", time.perf_counter() - t0,
                     (*facts, ("identical", True)))
    try:
        out = load_view(output)
        ref = reference.result() if reference is not None else load_view(source)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types; the fit read these fine
        raise ToolFailed(f"cannot read the pictures to compare: {type(exc).__name__}: {exc}",
                         hint="the outputs are fine; rerun without --measure") from exc
    if out.size != ref.size:  # a rounding apart in the aspect ratio
        out = out.resize(ref.size, Image.Resampling.LANCZOS)
    value = ssimulacra2(np.asarray(ref), np.asarray(out))
    return Score("ssimulacra2", value, ssimulacra2_band(value), time.perf_counter() - t0, facts)
