"""Colour described by code points (ITU-T H.273, a HEIF/AVIF ``nclx`` box) -> 8-bit sRGB.

An ICC profile is converted by LittleCMS (``fit/icc.py``); a HEIF or AVIF
often carries no profile, only code points: which primaries (BT.709, Display P3,
BT.2020) and which transfer curve (the sRGB curve, or PQ/HLG for HDR). Decoders
hand back the coded values as they are, so a P3 photo looks dull and a PQ one grey
and washed out unless converted here:

1. to linear light with the transfer curve; PQ (SMPTE ST 2084) and HLG (ARIB
   STD-B67, with the BT.2100 OOTF for a 1000 nit display) are scaled so that HDR
   reference white (203 nits, ITU-R BT.2408) is 1.0, SDR curves so that their
   white is 1.0;
2. to BT.709 primaries (those of sRGB) by a 3x3 matrix built from the
   chromaticities (SMPTE RP 177);
3. HDR only: highlights above reference white compressed by Hable's curve on the
   largest channel (as ffmpeg's ``tonemap=hable:desat=0``, which the video path
   uses), scaled to the picture's own peak, so hues are kept and nothing clips;
4. the sRGB curve (IEC 61966-2-1) and 8 bits.

Worked in bands of rows, so a 48 MP photo never needs more than a few MB of floats.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from PIL import Image

from ..formats.heif import TRANSFER_HLG, TRANSFER_PQ, Nclx

if TYPE_CHECKING:
    import numpy as np

# (x, y) of red, green, blue and white (H.273 table 2).
_D65 = (0.3127, 0.3290)
PRIMARIES: dict[int, tuple[tuple[float, float], ...]] = {
    1: ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), _D65),  # BT.709, sRGB
    9: ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), _D65),  # BT.2020, BT.2100
    # Display P3. 11 (DCI-P3) has the same primaries and a greenish projector white that
    # no phone means: read as Display P3, as browsers do.
    12: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65),
    11: ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), _D65),
}
TRANSFER_LINEAR = 8
REFERENCE_WHITE_NITS = 203.0  # ITU-R BT.2408: HDR diffuse white
HLG_PEAK_NITS = 1000.0  # the BT.2100 nominal HLG display
BAND_ROWS = 256


def needs_conversion(nclx: Nclx | None) -> bool:
    """Whether coded values differ from sRGB enough to convert: other primaries, or a
    linear or HDR curve. Unknown code points (2 = unspecified, ...) are taken as sRGB."""
    if nclx is None:
        return False
    other_primaries = nclx.primaries in PRIMARIES and nclx.primaries != 1
    return other_primaries or nclx.transfer in (TRANSFER_PQ, TRANSFER_HLG, TRANSFER_LINEAR)


def _rgb_to_xyz(primaries: tuple[tuple[float, float], ...]) -> np.ndarray:
    import numpy as np

    cols = np.array([[x / y, 1.0, (1 - x - y) / y] for x, y in primaries[:3]]).T
    wx, wy = primaries[3]
    white = np.array([wx / wy, 1.0, (1 - wx - wy) / wy])
    scale = np.linalg.solve(cols, white)
    return np.asarray(cols * scale)


def primaries_matrix(code: int) -> np.ndarray:
    """3x3 matrix from linear RGB in primaries ``code`` to linear BT.709/sRGB."""
    import numpy as np

    src = _rgb_to_xyz(PRIMARIES.get(code, PRIMARIES[1]))
    dst = _rgb_to_xyz(PRIMARIES[1])
    return np.asarray(np.linalg.solve(dst, src), dtype=np.float32)


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    import numpy as np

    return np.asarray(np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4))


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    import numpy as np

    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def _pq_to_linear(v: np.ndarray) -> np.ndarray:
    """SMPTE ST 2084 EOTF, relative to reference white."""
    import numpy as np

    m1, m2 = 2610 / 16384, 2523 / 4096 * 128
    c1, c2, c3 = 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
    p = np.power(np.clip(v, 0.0, 1.0), 1 / m2)
    nits = 10000.0 * np.power(np.maximum(p - c1, 0.0) / (c2 - c3 * p), 1 / m1)
    return np.asarray(nits / REFERENCE_WHITE_NITS)


def _hlg_to_linear(rgb: np.ndarray) -> np.ndarray:
    """ARIB STD-B67 inverse OETF, then the BT.2100 OOTF (system gamma 1.2 at 1000
    nits, on the BT.2020 luminance), relative to reference white."""
    import numpy as np

    a, b, c = 0.17883277, 0.28466892, 0.55991073
    v = np.clip(rgb, 0.0, 1.0)
    scene = np.where(v <= 0.5, v * v / 3.0, (np.exp((v - c) / a) + b) / 12.0)
    luma = scene @ np.array([0.2627, 0.6780, 0.0593], dtype=np.float32)
    gain = np.power(np.maximum(luma, 1e-6), 0.2)[..., None]
    return np.asarray(HLG_PEAK_NITS * gain * scene / REFERENCE_WHITE_NITS)


def _hable(x: np.ndarray | float) -> np.ndarray:
    import numpy as np

    a, b, c, d, e, f = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    x = np.asarray(x, dtype=np.float32)
    return np.asarray((x * (a * x + c * b) + d * e) / (x * (a * x + b) + d * f) - e / f)


def _to_linear(rgb: np.ndarray, transfer: int) -> np.ndarray:
    if transfer == TRANSFER_PQ:
        return _pq_to_linear(rgb)
    if transfer == TRANSFER_HLG:
        return _hlg_to_linear(rgb)
    if transfer == TRANSFER_LINEAR:
        return rgb
    return _srgb_to_linear(rgb)


def convert(pixels: np.ndarray, nclx: Nclx, max_value: int) -> Image.Image:
    """H x W x 3 (or 4, alpha last) coded values in [0, max_value] -> an 8-bit sRGB
    RGB (or RGBA) Pillow image."""
    import numpy as np

    height, width, channels = pixels.shape
    hdr = nclx.transfer in (TRANSFER_PQ, TRANSFER_HLG)
    matrix = primaries_matrix(nclx.primaries).T
    out = np.empty((height, width, channels), dtype=np.uint8)
    peak = 1.0
    if hdr:
        # The picture's own peak (99.9th percentile of its largest channel), from a
        # subsample: the curve then uses the whole output range for what is there.
        step = max(1, int((height * width / 250_000) ** 0.5))
        sample = _to_linear(pixels[::step, ::step, :3].astype(np.float32) / max_value, nclx.transfer)
        sample = np.maximum(sample @ matrix, 0.0)
        peak = max(1.0, float(np.percentile(sample.max(axis=2), 99.9)))
    norm = float(_hable(peak))
    for top in range(0, height, BAND_ROWS):
        band = pixels[top:top + BAND_ROWS]
        rgb = _to_linear(band[..., :3].astype(np.float32) / max_value, nclx.transfer)
        rgb = np.maximum(rgb @ matrix, 0.0)
        if hdr:
            sig = np.maximum(rgb.max(axis=2, keepdims=True), 1e-6)
            rgb = rgb * (_hable(np.minimum(sig, peak)) / norm / sig)
        out[top:top + BAND_ROWS, :, :3] = np.round(linear_to_srgb(rgb) * 255.0)
        if channels == 4:
            out[top:top + BAND_ROWS, :, 3] = np.round(band[..., 3].astype(np.float32) * 255.0 / max_value)
    return Image.fromarray(out)  # uint8 H x W x 3 -> RGB, x 4 -> RGBA
