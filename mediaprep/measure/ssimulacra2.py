"""SSIMULACRA2, the perceptual picture metric of libjxl (Cloudinary), computed fast.

The definition is libjxl's ``tools/ssimulacra2.cc``: both pictures to linear light,
then to the XYB colour space (opsin absorbance, cube root), six scales halved by 2x2
averaging; at each scale and XYB plane, an SSIM error map and two edge maps
(ringing: edges the distorted picture has and the original lacks; blurring: the
reverse), each pooled as a 1-norm and a 4-norm; 108 weighted terms; a cubic and a
power turn the sum into a 0..100 score. The constants below are that file's (as the
PyPI ``ssimulacra2`` package ports them); the tests check that scores agree with the
package to within 0.05 on real pictures, at odd sizes where the edge handling counts.

What is ours is only how fast it runs. The package's float64 arrays and scipy blurs
take 1.5-4 s for one 1080 px picture; here everything is float32 with OpenCV's
separable filter and area resize, with the package's edge handling (zero beyond the
left and right edges, mirrored at the top and bottom; odd sizes average the partial
2x2 blocks). And the work is split in two halves: ``Reference`` holds everything that
depends on the original alone (its XYB planes, their blurs, local variances and edge
magnitudes at every scale), so it can be computed on a spare core while the fit is
still encoding; ``score`` then does only the distorted picture's half, its
(scale, plane) pieces spread over the given thread pool.
"""
from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass

import cv2
import numpy as np

NUM_SCALES = 6
MIN_SIDE = 8  # a scale smaller than this on either side ends the pyramid

_C2 = np.float32(0.0009)
_RADIUS = 5  # Gaussian sigma 1.5, truncated as libjxl's: 11 taps
_SIGMA = 1.5

# Opsin absorbance (libjxl opsin_params.h): linear RGB -> LMS-like mix, plus a bias.
_OPSIN = np.array([[0.30, 0.622, 0.078],
                   [0.23, 0.692, 0.078],
                   [0.24342268924547819, 0.20476744424496821, 0.5518098665095561]], dtype=np.float32)
_BIAS = 0.0037930732552754493
_CBRT_BIAS = np.float32(np.cbrt(_BIAS))
# The mix and its bias in one affine transform (a fourth column of bias).
_OPSIN_AFFINE = np.hstack([_OPSIN, np.full((3, 1), _BIAS, dtype=np.float32)])

# After the cube roots m0, m1, m2 (each less the cube root of the bias, c):
# X = 14 * (m0 - m1) / 2 + 0.42, Y = (m0 + m1) / 2 + 0.01, B = m2 - (m0 + m1) / 2 + 0.55
# (the metric's scaled and shifted planes; c cancels in X and B).
_TO_XYB = tuple(np.array([row], dtype=np.float32) for row in (
    [7.0, -7.0, 0.0, 0.42],
    [0.5, 0.5, 0.0, 0.01 - float(_CBRT_BIAS)],
    [-0.5, -0.5, 1.0, 0.55],
))

# The 108 weights: per plane (X, Y, B), per scale, per norm (1, 4): SSIM error,
# ringing, blurring.
_WEIGHTS = (
    0.0, 0.0007376606707406586, 0.0, 0.0,
    0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379,
    0.0, 1.1041726426657346, 0.00066284834129271, 0.00015231632783718752,
    0.0, 0.0016406437456599754, 0.0, 1.8422455520539298,
    11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653,
    0.0, 1.8787594979546387, 10.94906990605142, 0.0,
    0.0007289346991508072, 0.9677937080626833, 0.0, 0.00014003424285435884,
    0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0,
    0.0, 0.0013648766163243398, 0.0, 0.0,
    0.0, 0.0, 0.0, 7.466890328078848,
    0.0, 17.445833984131262, 0.0006235601634041466, 0.0,
    0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016,
    0.0011401524586618361, 0.001237755635509985, 176.39317598450694, 0.0,
    0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408,
    0.0, 0.0, 0.0, 34.77906344483772,
    44.835625328877896, 0.0, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0,
    0.0, 0.0008680556573291698, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0005313191874358747,
    0.0, 0.00016533814161379112, 0.0, 0.0,
    0.0, 0.0, 0.0, 0.0004179171803251336,
    0.0017290828234722833, 0.0, 0.0020827005846636437, 0.0,
    0.0, 8.826982764996862, 23.19243343998926, 0.0,
    95.1080498811086, 0.9863978034400682, 0.9834382792465353, 0.0012286405048278493,
    171.2667255897307, 0.9807858872435379, 0.0, 0.0,
    0.0, 0.0005130064588990679, 0.0, 0.00010854057858411537,
)


def _kernel() -> np.ndarray:
    taps = np.arange(-_RADIUS, _RADIUS + 1, dtype=np.float64)
    gauss = np.exp(-0.5 * taps * taps / (_SIGMA * _SIGMA))
    kernel: np.ndarray = (gauss / gauss.sum()).astype(np.float32)
    return kernel


_GAUSS = _kernel()
_ROW = _GAUSS.reshape(1, -1)
_COL = _GAUSS.reshape(-1, 1)
_LEVELS = np.arange(256, dtype=np.float64) / 255.0
# sRGB decoding as a table: the inputs are 8-bit, so this is exact and one lookup.
_TO_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, ((_LEVELS + 0.055) / 1.055) ** 2.4).astype(np.float32)


def _blur(plane: np.ndarray) -> np.ndarray:
    """The metric's Gaussian: rows with zeros beyond the ends, columns mirrored."""
    rows = cv2.filter2D(plane, -1, _ROW, borderType=cv2.BORDER_CONSTANT)
    out: np.ndarray = cv2.filter2D(rows, -1, _COL, borderType=cv2.BORDER_REFLECT)
    return out


def _linear(rgb: np.ndarray) -> np.ndarray:
    out: np.ndarray = cv2.LUT(np.ascontiguousarray(rgb), _TO_LINEAR)
    return out


def _half(linear: np.ndarray) -> np.ndarray:
    """2x2 mean in linear light; an odd last row or column averages what it has."""
    h, w = linear.shape[:2]
    if h % 2 or w % 2:
        linear = cv2.copyMakeBorder(linear, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    out: np.ndarray = cv2.resize(linear, ((w + 1) // 2, (h + 1) // 2), interpolation=cv2.INTER_AREA)
    return out


def _xyb(linear: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear RGB (h, w, 3) -> the metric's positive XYB planes (X, Y, B-Y)."""
    # Linear light is >= 0 and every weight and the bias are > 0, so the mix is
    # positive: the clamp at 0 that libjxl applies never acts and is left out.
    mixed = cv2.transform(linear, _OPSIN_AFFINE)
    np.cbrt(mixed, out=mixed)
    # X, Y and B are affine in the three cube roots: one transform each, straight to
    # its own plane (no split, no intermediate planes).
    x, y, b = (cv2.transform(mixed, row) for row in _TO_XYB)
    return x, y, b


def _norms(a: np.ndarray) -> tuple[float, float]:
    """Mean and 4-norm mean of ``a`` (>= 0), consuming it."""
    n = a.size
    one = cv2.sumElems(a)[0] / n
    np.multiply(a, a, out=a)
    four = cv2.norm(a, cv2.NORM_L2SQR) / n
    return float(one), float(four) ** 0.25


@dataclass(frozen=True)
class _Need:
    """Which of one plane's terms at one scale carry weight. About a third of the 108
    weights are exactly 0 (SSIM error of X and B at full size, Y at the coarsest
    scale...); a term that only ever meets a 0 is not computed, which changes no
    score and saves about half the work at full size, where most of it is."""

    ssim: bool
    ringing: bool
    blurring: bool

    @property
    def edges(self) -> bool:
        return self.ringing or self.blurring


def _needs(n_scales: int) -> list[tuple[_Need, _Need, _Need]]:
    """Per scale, per plane. The metric reads its weights in order, plane by plane and
    scale by scale over the scales the picture has, so with fewer than six scales a
    term meets a different weight: the flags depend on ``n_scales``."""
    rows: list[tuple[_Need, _Need, _Need]] = []
    for s in range(n_scales):
        needs = []
        for c in range(3):
            w = _WEIGHTS[(c * n_scales + s) * 6:(c * n_scales + s + 1) * 6]  # ssim, ringing, blurring; x2 norms
            needs.append(_Need(w[0] != 0 or w[3] != 0, w[1] != 0 or w[4] != 0, w[2] != 0 or w[5] != 0))
        rows.append((needs[0], needs[1], needs[2]))
    return rows


def _scales(h: int, w: int) -> int:
    """How many scales a picture of h x w has (each halves, rounding up, down to MIN_SIDE)."""
    n = 0
    while n < NUM_SCALES and h >= MIN_SIDE and w >= MIN_SIDE:
        n, h, w = n + 1, (h + 1) // 2, (w + 1) // 2
    return n


@dataclass(frozen=True)
class _Plane:
    """One XYB plane of the original at one scale, with what the metric derives from
    it (only what its weights need: the rest is None)."""

    need: _Need
    i: np.ndarray  # the plane
    mu: np.ndarray | None  # its blur
    var: np.ndarray | None  # blur(i*i) - mu*mu: local variance
    edge: np.ndarray | None  # |i - mu|
    inv_edge: np.ndarray | None  # 1 / (|i - mu| + 1)


def _plane(i: np.ndarray, need: _Need) -> _Plane:
    if not (need.ssim or need.edges):
        return _Plane(need, i, None, None, None, None)
    mu = _blur(i)
    var = edge = inv_edge = None
    if need.ssim:
        var = _blur(np.multiply(i, i))
        var -= np.multiply(mu, mu)
    if need.edges:
        edge = cv2.absdiff(i, mu)
        inv_edge = np.add(edge, np.float32(1.0))
        np.reciprocal(inv_edge, out=inv_edge)
    return _Plane(need, i, mu, var, edge, inv_edge)


@dataclass(frozen=True)
class Reference:
    """The original's half of the metric, every scale (built by ``reference``)."""

    shape: tuple[int, ...]  # (h, w, 3) of the original
    scales: tuple[tuple[_Plane, _Plane, _Plane], ...]


def reference(rgb: np.ndarray) -> Reference:
    """Precompute the original's half: ``rgb`` is 8-bit sRGB, (h, w, 3) uint8."""
    linear = _linear(rgb)
    needs = _needs(_scales(rgb.shape[0], rgb.shape[1]))
    scales: list[tuple[_Plane, _Plane, _Plane]] = []
    for s, need in enumerate(needs):
        x, y, b = _xyb(linear)
        scales.append((_plane(x, need[0]), _plane(y, need[1]), _plane(b, need[2])))
        if s < len(needs) - 1:
            linear = _half(linear)
    return Reference(tuple(rgb.shape), tuple(scales))


_Terms = tuple[float, float, float, float, float, float]
_NOTHING = (0.0, 0.0)


def _ssim(ref: _Plane, i2: np.ndarray, mu2: np.ndarray) -> tuple[float, float]:
    """Norms of the metric's corrected SSIM error, 1 - (1 - (mu1 - mu2)^2) * num / den."""
    assert ref.mu is not None and ref.var is not None
    num = _blur(np.multiply(ref.i, i2))
    den = _blur(np.multiply(i2, i2))
    t = np.multiply(ref.mu, mu2)
    num -= t
    num *= 2
    num += _C2  # 2 cov + C2
    den -= np.multiply(mu2, mu2, out=t)
    den += ref.var
    den += _C2  # var1 + var2 + C2, rounded as num is: a picture against itself is exactly 0
    d = np.subtract(ref.mu, mu2, out=t)
    np.multiply(d, d, out=d)
    np.subtract(1.0, d, out=d)
    d *= num
    d /= den
    np.subtract(1.0, d, out=d)
    np.maximum(d, 0, out=d)
    return _norms(d)


def _terms(ref: _Plane, i2: np.ndarray) -> _Terms:
    """The six norms of one plane at one scale: SSIM error, ringing, blurring (0 where
    the weights make the term count for nothing)."""
    need = ref.need
    if not (need.ssim or need.edges):
        return (0.0,) * 6
    mu2 = _blur(i2)
    ssim = _ssim(ref, i2, mu2) if need.ssim else _NOTHING
    ringing = blurring = _NOTHING
    if need.edges:
        assert ref.edge is not None and ref.inv_edge is not None
        # Edge ratio: > 0 where the distorted picture has edges the original lacks
        # (ringing, blocks), < 0 where the original's edges were smoothed away (blur):
        # (|i2 - mu2| + 1) / (|i1 - mu1| + 1) - 1, as (|i2 - mu2| - |i1 - mu1|) / (|i1 - mu1| + 1).
        r = np.subtract(i2, mu2, out=mu2)
        np.abs(r, out=r)
        r -= ref.edge
        r *= ref.inv_edge
        if need.ringing:
            ringing = _norms(np.maximum(r, 0, out=np.empty_like(r) if need.blurring else r))
        if need.blurring:
            np.negative(r, out=r)
            blurring = _norms(np.maximum(r, 0, out=r))
    return (*ssim, *ringing, *blurring)


def score(ref: Reference | Future[Reference], rgb: np.ndarray, pool: Executor | None = None) -> float:
    """SSIMULACRA2 of ``rgb`` (8-bit sRGB, the original's size) against ``ref``.

    ``ref`` may still be in the making (a Future): the distorted picture's planes are
    built meanwhile, and each scale's pieces go to ``pool`` as soon as both halves of
    them exist, so the pool works on the large scale while this thread builds the
    small ones."""
    waiting: list[tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
    pieces: dict[tuple[int, int], Future[_Terms]] = {}

    def submit(r: Reference, s: int, xyb: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
        for c in range(3):
            if pool is not None:
                pieces[s, c] = pool.submit(_terms, r.scales[s][c], xyb[c])
            else:
                pieces[s, c] = Future()
                pieces[s, c].set_result(_terms(r.scales[s][c], xyb[c]))

    def resolve() -> Reference:
        r = ref if isinstance(ref, Reference) else ref.result()
        if r.shape != tuple(rgb.shape):
            raise ValueError(f"sizes differ: {r.shape} and {rgb.shape}")
        return r

    done: Reference | None = None
    if isinstance(ref, Reference):
        done = resolve()
    linear = _linear(rgb)
    count = _scales(rgb.shape[0], rgb.shape[1])
    for s in range(count):
        xyb = _xyb(linear)
        if done is None and isinstance(ref, Future) and ref.done():
            done = resolve()
        if done is not None:
            submit(done, s, xyb)
        else:
            waiting.append((s, xyb))
        if s < count - 1:
            linear = _half(linear)
    if done is None:
        done = resolve()
    for s, xyb in waiting:
        submit(done, s, xyb)
    flat = [pieces[s, c].result() for s in range(count) for c in range(3)]
    terms = [flat[i:i + 3] for i in range(0, len(flat), 3)]
    total = 0.0
    w = iter(_WEIGHTS)
    for c in range(3):
        for scale in terms:
            norms = scale[c]
            for n in range(2):  # ssim, ringing, blurring of norm n, in the metric's order
                total += next(w) * abs(norms[n])
                total += next(w) * abs(norms[2 + n])
                total += next(w) * abs(norms[4 + n])
    total *= 0.9562382616834844
    total = 2.326765642916932 * total - 0.020884521182843837 * total ** 2 + 6.248496625763138e-05 * total ** 3
    return 100.0 - 10.0 * total ** 0.6276336467831387 if total > 0 else 100.0


def ssimulacra2(original: np.ndarray, distorted: np.ndarray, pool: Executor | None = None) -> float:
    """SSIMULACRA2 of two 8-bit sRGB pictures of the same size, (h, w, 3) uint8."""
    if original.shape != distorted.shape:
        raise ValueError(f"sizes differ: {original.shape} and {distorted.shape}")
    return score(reference(original), distorted, pool)
