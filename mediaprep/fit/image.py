"""Fit an image into a JPEG of at most N bytes that looks as good as possible.

Measured on real photos (shared/MEASURED.md): at a fixed byte budget, choosing the
pixel size matters about ten times more than the encoder, the full original size
never wins, and a plain quality search at full size (ImageMagick's jpeg:extent)
collapses. So we choose the size and the quality together: the largest candidate
size at which the budget still buys a quality of at least ``floor_q``, then the
highest quality that fits at that size. Encoding is jpegli (baseline, 4:2:0),
which scores higher than libjpeg-turbo at the same bytes on SSIMULACRA2.
"""
from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image, ImageCms, ImageOps

from ..check import image_violations
from ..errors import BadInput, CannotComply, LimitExceeded
from ..model import Fitted, OutputFile, PrepareOptions, ProgressFn
from ..output import atomic_path, output_path, write_bytes
from ..probe import ImageInfo, open_image
from ..profiles import Profile, RoleLimits
from ..sniff import Sniffed
from .jpeg_strip import NotAJpeg, strip_jpeg

# Long sides we consider. Photographs land at 1080-1600 at 128 KB, flat graphics
# higher; nothing above 2560 ever won (phones show 1080 wide).
CANDIDATE_SIDES = (2560, 2304, 2048, 1920, 1792, 1600, 1440, 1280, 1152, 1080, 960, 864, 768,
                   640, 560, 480, 400, 320, 240, 160, 120, 80)
MAX_QUALITY = 95  # above this the bytes buy nothing visible
FLOOR_QUALITY = 80  # jpegli quality we insist on before we trade pixels for quality
MIN_QUALITY = 30  # below this the picture is visibly damaged; shrink instead


@dataclass(frozen=True)
class Encoded:
    data: bytes
    width: int
    height: int
    quality: int


# ------------------------------------------------------------------ encoders

def _encode_jpegli(im: Image.Image, quality: int) -> bytes:
    import pyjpegli

    return bytes(pyjpegli.encode(im.tobytes(), im.width, im.height, quality))


def _encode_pillow(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, optimize=True, progressive=False, subsampling=2)
    return buf.getvalue()


def _pick_encoder() -> Callable[[Image.Image, int], bytes]:
    try:
        import pyjpegli  # noqa: F401
    except ImportError:
        return _encode_pillow
    return _encode_jpegli


# ------------------------------------------------------------------ decoding

def _to_srgb(im: Image.Image, warn: list[str]) -> Image.Image:
    icc = im.info.get("icc_profile")
    if not icc:
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        desc = ImageCms.getProfileDescription(src) or ""
        if "srgb" in desc.lower() and im.mode in ("RGB", "RGBA"):
            return im
        mode = im.mode
        out_mode = "RGBA" if mode in ("RGBA", "LA", "PA") else ("L" if mode == "L" else "RGB")
        if mode == "LA":
            im = im.convert("RGBA")
            mode = "RGBA"
        if mode not in ("RGB", "RGBA", "CMYK", "L"):
            return im
        dst = ImageCms.createProfile("sRGB")
        if out_mode == "L":
            return im  # grey stays grey; a grey ICC changes little
        return ImageCms.profileToProfile(im, src, dst, outputMode=out_mode,
                                         renderingIntent=ImageCms.Intent.PERCEPTUAL)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        warn.append("embedded colour profile is broken; colours are taken as sRGB")
        return im


def _flatten(im: Image.Image) -> Image.Image:
    """Any mode -> 8-bit RGB, transparency composited onto white."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # 16-bit grey: scale to 8 bits rather than clip (convert('L') clips at 255).
        scale = 1 / 256 if mode != "F" else 255.0
        im = im.convert("I").point(lambda v: v * scale).convert("L") if mode != "F" \
            else im.point(lambda v: v * scale).convert("L")
        mode = "L"
    if mode == "1":
        im = im.convert("L")
        mode = "L"
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode != "RGB":
        return im.convert("RGB")
    return im


def load_picture(sniffed: Sniffed, info: ImageInfo, profile: Profile, max_side: int,
                 warn: list[str]) -> Image.Image:
    """Decode the first frame as a phone would show it: EXIF-oriented, sRGB, flat on
    white, 8-bit RGB. JPEGs are decoded at a reduced DCT scale when that still
    leaves at least ``max_side`` pixels on the long side (fast and sharp)."""
    im = open_image(sniffed, profile.safety)
    try:
        if info.frames > 1:
            warn.append(f"animated image ({info.frames} frames): only the first frame is kept")
            im.seek(0)
        if sniffed.fmt == "jpeg":
            w, h = im.size
            long_side = max(w, h)
            if long_side > max_side:
                scale = max_side / long_side
                im.draft(im.mode, (max(1, math.ceil(w * scale)), max(1, math.ceil(h * scale))))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            im.load()
        icc = im.info.get("icc_profile")
        exif_transposed = ImageOps.exif_transpose(im)
        if icc and "icc_profile" not in exif_transposed.info:
            exif_transposed.info["icc_profile"] = icc
        pic = _to_srgb(exif_transposed, warn)
        return _flatten(pic)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadInput(f"cannot decode the {sniffed.fmt.upper()} image: {exc}", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    except MemoryError as exc:
        raise LimitExceeded("not enough memory to decode the image", path=sniffed.path) from exc
    finally:
        im.close()


# ------------------------------------------------------------------ the search

def _resize(src: Image.Image, long_side: int) -> Image.Image:
    w, h = src.size
    if max(w, h) <= long_side:
        return src
    scale = long_side / max(w, h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return src.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


class _Search:
    """Remembers every encode so no (size, quality) pair is encoded twice."""

    def __init__(self, src: Image.Image, budget: int, encode: Callable[[Image.Image, int], bytes]):
        self.src = src
        self.budget = budget
        self.encode = encode
        self.resized: dict[int, Image.Image] = {}
        self.cache: dict[tuple[int, int], bytes] = {}
        self.encodes = 0

    def image(self, side: int) -> Image.Image:
        if side not in self.resized:
            self.resized[side] = _resize(self.src, side)
        return self.resized[side]

    def size_at(self, side: int, q: int) -> int:
        return len(self.bytes_at(side, q))

    def bytes_at(self, side: int, q: int) -> bytes:
        key = (side, q)
        if key not in self.cache:
            self.cache[key] = self.encode(self.image(side), q)
            self.encodes += 1
        return self.cache[key]

    def best_quality(self, side: int, lo: int, hi: int) -> int | None:
        """Highest quality in [lo, hi] that fits, or None. Sizes grow with quality."""
        if self.size_at(side, lo) > self.budget:
            return None
        if self.size_at(side, hi) <= self.budget:
            return hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self.size_at(side, mid) <= self.budget:
                lo = mid
            else:
                hi = mid
        return lo


def fit_jpeg(src: Image.Image, budget: int, *, floor_q: int = FLOOR_QUALITY,
             encode: Callable[[Image.Image, int], bytes] | None = None) -> tuple[Encoded, int]:
    """Choose size and quality together. Returns the encode and how many encodes it took."""
    search = _Search(src, budget, encode or _pick_encoder())
    long_side = max(src.size)
    sides = sorted({s for s in CANDIDATE_SIDES if s < long_side} | {long_side}, reverse=True)
    sides = [s for s in sides if s <= CANDIDATE_SIDES[0]] or [sides[-1]]

    # 1. Walk down from the largest side, jumping by the byte ratio (bytes grow
    #    roughly with the pixel count), to the largest side that fits at floor_q.
    i = 0
    fits: int | None = None
    tried_too_big: set[int] = set()
    while i < len(sides):
        side = sides[i]
        size = search.size_at(side, floor_q)
        if size <= budget:
            fits = i
            break
        tried_too_big.add(i)
        estimate = side * math.sqrt(budget / size)
        j = i + 1
        while j < len(sides) - 1 and sides[j] > estimate:
            j += 1
        i = j
    if fits is not None:
        # 2. The jump may have overshot downwards: climb back while the next larger
        #    side also fits at floor_q.
        while fits > 0 and (fits - 1) not in tried_too_big:
            if search.size_at(sides[fits - 1], floor_q) <= budget:
                fits -= 1
            else:
                break
        side = sides[fits]
        q = search.best_quality(side, floor_q, MAX_QUALITY)
        assert q is not None
    else:
        # 3. Even the smallest side misses floor_q: take the lowest quality we accept
        #    at the smallest side that fits it.
        side, q = sides[-1], None
        for s in sides[::-1]:
            found = search.best_quality(s, MIN_QUALITY, floor_q - 1)
            if found is None:
                break
            side, q = s, found
        if q is None:
            raise CannotComply(f"even {sides[-1]} px at quality {MIN_QUALITY} exceeds {budget:,} bytes")
    data = search.bytes_at(side, q)
    im = search.image(side)
    return Encoded(data=data, width=im.width, height=im.height, quality=q), search.encodes


# ------------------------------------------------------------------ the stage

def _passthrough(sniffed: Sniffed, info: ImageInfo, limits: RoleLimits) -> bytes | None:
    """The input's own bytes when it complies; its losslessly stripped bytes when it
    complies but carries extras that can go without touching a pixel; else None."""
    if info.frames > 1 and info.fmt != "gif":
        return None
    rules = [v for v in image_violations(sniffed, info, limits) if v.rule != "bytes"]
    if rules:
        return None
    data = sniffed.path.read_bytes()
    if not info.carries_extras:
        return data if limits.min_bytes <= len(data) <= limits.max_bytes else None
    if info.fmt != "jpeg" or info.orientation != 1:
        return None  # rotating or re-encoding is needed: do the full fit
    if info.has_icc:
        return None  # dropping a non-trivial ICC profile would shift colours
    try:
        stripped = strip_jpeg(data)
    except NotAJpeg:
        return None
    return stripped if limits.min_bytes <= len(stripped) <= limits.max_bytes else None


def prepare_image(sniffed: Sniffed, info: ImageInfo, profile: Profile, role: str,
                  opts: PrepareOptions, out_dir: Path,
                  progress: ProgressFn | None = None) -> Fitted:
    """role is "image" or "thumb"."""
    limits = profile.limits(role)
    warn: list[str] = list(sniffed.warnings)
    suffix = ".thumb.jpg" if role == "thumb" else ".jpg"
    same = _passthrough(sniffed, info, limits)
    if same is not None:
        ext = {"jpeg": ".jpg", "png": ".png", "gif": ".gif"}[info.fmt]
        target = output_path(sniffed.path, out_dir, (".thumb" if role == "thumb" else "") + ext)
        write_bytes(target, same)
        identical = len(same) == sniffed.size
        if not identical:
            warn.append("metadata removed losslessly (EXIF/XMP/comments/trailing bytes); pixels untouched")
        return Fitted(outputs=(OutputFile(path=target, role="thumb" if role == "thumb" else "media",
                                          kind=role, bytes=len(same), format=info.fmt,
                                          width=info.width, height=info.height,
                                          passed_through=identical),), warnings=tuple(warn))
    if "jpeg" not in limits.formats:
        raise CannotComply(f"profile {profile.name!r} does not accept JPEG for {role}",
                           path=sniffed.path, hint="add jpeg to the profile's formats")
    if info.has_gps:
        warn.append("GPS location removed")
    pic = load_picture(sniffed, info, profile, CANDIDATE_SIDES[0], warn)
    if progress:
        progress(0, 1, "encoding")
    try:
        enc, _count = fit_jpeg(pic, limits.max_bytes)
    except CannotComply as exc:
        raise CannotComply(exc.message, path=sniffed.path,
                           hint="the budget is too small for any watchable picture") from exc
    assert len(enc.data) <= limits.max_bytes
    target = output_path(sniffed.path, out_dir, suffix)
    write_bytes(target, enc.data)
    if progress:
        progress(1, 1, "done")
    return Fitted(outputs=(OutputFile(path=target, role="thumb" if role == "thumb" else "media",
                                      kind=role, bytes=len(enc.data), format="jpeg",
                                      width=enc.width, height=enc.height, quality=enc.quality),),
                  warnings=tuple(warn))


def fit_picture_to_file(pic: Image.Image, budget: int, target: Path) -> OutputFile:
    """For other stages (a video's thumb): fit an already-decoded RGB picture."""
    enc, _ = fit_jpeg(_flatten(pic), budget)
    with atomic_path(target) as tmp:
        tmp.write_bytes(enc.data)
    return OutputFile(path=target, role="thumb", kind="thumb", bytes=len(enc.data), format="jpeg",
                      width=enc.width, height=enc.height, quality=enc.quality)
