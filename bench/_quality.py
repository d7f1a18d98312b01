"""Image quality as the issue defines it: the output against the original as a phone
shows it, both resized with Lanczos to long side 1080, the original EXIF-oriented
and flattened on white. SSIMULACRA2 is the PyPI ``ssimulacra2`` package's own code
(a port of libjxl's metric), called on arrays so the reference side of each
original is computed once and reused for every output scored against it. SSIM is
the classic Wang et al. SSIM (11x11 Gaussian, sigma 1.5) on BT.601 luma.

Kept independent of mediaprep's own decoding on purpose: the reference must not
share a bug with the thing it measures.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from ssimulacra2 import ssimulacra2 as s2

# The phone's view is the product's own (mediaprep --measure): one recipe for both.
from mediaprep.measure.image import VIEW_SIDE as VIEW_SIDE
from mediaprep.measure.image import phone_view


def load_view(path: Path | str | bytes) -> Image.Image:
    src = io.BytesIO(path) if isinstance(path, bytes) else path
    with Image.open(src) as im:
        im.load()
        return phone_view(im)


# ------------------------------------------------------------------ SSIMULACRA2

def _xyb(linear: np.ndarray) -> np.ndarray:
    return s2.make_positive_xyb(s2.linear_rgb_to_xyb(linear))


class Reference:
    """One original at 1080, with what SSIMULACRA2 and SSIM need of it precomputed."""

    def __init__(self, view: Image.Image):
        self.size = view.size
        rgb = np.asarray(view, dtype=np.float64)
        self.luma = _luma(rgb)
        self.luma_stats = _ssim_stats(self.luma)
        self.scales: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        linear = s2.srgb_to_linear(rgb)
        for scale in range(s2.kNumScales):
            img = _xyb(linear)
            if img.shape[0] < 8 or img.shape[1] < 8:
                break
            # (linear, xyb, mu, sigma_sq) at this scale: the reference half of the work.
            self.scales.append((linear, img, s2.blur_image(img), s2.blur_image(img * img)))
            if scale < s2.kNumScales - 1:
                linear = s2.downsample(linear, 2, 2)

    def ssimulacra2(self, view: Image.Image) -> float:
        """The package's compute_ssimulacra2, with the reference half cached."""
        if view.size != self.size:
            view = view.resize(self.size, Image.Resampling.LANCZOS)
        linear = s2.srgb_to_linear(np.asarray(view.convert("RGB"), dtype=np.float64))
        msssim = s2.Msssim()
        for scale, (_ref_lin, img1, mu1, sigma1_sq) in enumerate(self.scales):
            img2 = _xyb(linear)
            mu2 = s2.blur_image(img2)
            sigma2_sq = s2.blur_image(img2 * img2)
            sigma12 = s2.blur_image(img1 * img2)
            data = s2.MsssimScale()
            data.avg_ssim = s2.ssim_map(mu1, mu2, sigma1_sq, sigma2_sq, sigma12)
            data.avg_edgediff = s2.edge_diff_map(img1, mu1, img2, mu2)
            msssim.scales.append(data)
            if scale < s2.kNumScales - 1:
                linear = s2.downsample(linear, 2, 2)
        return float(msssim.score())

    def ssim(self, view: Image.Image) -> float:
        if view.size != self.size:
            view = view.resize(self.size, Image.Resampling.LANCZOS)
        y = _luma(np.asarray(view.convert("RGB"), dtype=np.float64))
        return _ssim(self.luma, self.luma_stats, y)


# ------------------------------------------------------------------ SSIM on luma

_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _blur(a: np.ndarray) -> np.ndarray:
    # 11x11 Gaussian window (radius int(3.5 * 1.5 + 0.5) = 5), sigma 1.5, as in Wang et al. 2004.
    return ndimage.gaussian_filter(a, 1.5, truncate=3.5, mode="reflect")


def _ssim_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = _blur(x)
    return mu, _blur(x * x) - mu * mu


def _ssim(x: np.ndarray, stats: tuple[np.ndarray, np.ndarray], y: np.ndarray) -> float:
    mu_x, var_x = stats
    mu_y, var_y = _ssim_stats(y)
    cov = _blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + _C1) * (2 * cov + _C2)
    den = (mu_x * mu_x + mu_y * mu_y + _C1) * (var_x + var_y + _C2)
    return float((num / den).mean())
