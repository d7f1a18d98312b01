"""Fit an image into a JPEG of at most N bytes that looks as good as possible.

Measured on real photos: at a fixed byte budget, choosing the
pixel size matters about ten times more than the encoder, the full original size
never wins, and a plain quality search at full size (ImageMagick's jpeg:extent)
collapses. Our own sweep (bench/image_sweep.py: 11 sides x the best quality that
fits, scored as a phone shows the picture, at 1080 px) then found one size best for
nearly every picture: the phone's own, 1080 px on the long side. So: that size
(or the picture's own when smaller) at the highest quality that fits; smaller only
when the budget cannot buy even FLOOR_QUALITY there. Encoding is jpegli (baseline,
4:2:0), which scores higher than libjpeg-turbo at the same bytes on SSIMULACRA2.
Most of the time goes to decoding and resizing, so both take shortcuts that were
measured not to cost visible quality (DECODE_SIDE, REDUCING_GAP, _normalize).
The quality search at one size is image_search.py, the resizing resize.py; with a
thread pool, side work and second encodes run beside the search (same bytes).
bench/image.py measures the result against ImageMagick in the same run.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import CannotComply
from ..formats import FormatError, jpeg
from ..formats.source import Source, read_prefix
from ..model import Fitted, Notice, OutputFile, PrepareOptions, ProgressFn, Role
from ..output import atomic_path, output_path, write_bytes
from ..preflight.check import image_violations
from ..preflight.probe import ImageInfo
from ..preflight.sniff import Sniffed
from ..profiles import Profile, RoleLimits
from ..tools import threads
from .chroma import FULL_CHROMA_IF_DETAIL, FULL_CHROMA_QUALITY, chroma_detail, encode_444
from .encoders import pick_encoder as _pick_encoder
from .image_decode import decode, decode_side, normalize
from .image_search import QualitySearch
from .resize import box_reduced
from .sharpen import sharpen
from .sizes import DISPLAY_SIDE, display_long_side

# Larger than DISPLAY_SIDE when 1080 px cannot show the picture well even at high
# quality. The cause, measured: 4:2:0 halves the colour resolution, so at 1080 px a
# picture with fine, saturated colour detail loses to its own 1920 px version (one
# 3840 px wallpaper: 68 at 1080 q100 vs 83 at 1920, 4:4:4 would score 97 at 1080). So
# when the budget buys GROW_IF_QUALITY at 1080 and the colour detail that 4:2:0 drops
# (chroma_detail) is at least GROW_IF_CHROMA, the side grows while the budget still buys
# GROW_QUALITY; a picture that fits MAX_QUALITY at 1080 grows while it buys
# GROW_FLAT_QUALITY. Tuned on mate-backgrounds + gnome-backgrounds + ukui-wallpapers
# sweeps: 86.3 mean at 128,000 B over both against 85.1 for a fixed 1080 (89.40 vs 89.42
# on mate, 82.9 vs 80.5 on the others; any of q88-92 and chroma 6-10 gave the same).
GROW_IF_QUALITY = 90
GROW_IF_CHROMA = 8.0
GROW_QUALITY = 83
GROW_FLAT_QUALITY = 95
MIN_GROWTH = 1.2  # grow only by at least this much: a few % more pixels buy nothing
MIN_STEP = 0.02  # after growing, try a larger side again only if it is this much larger
MAX_SIDE = 2560  # nothing larger ever scored better on the sweeps
MAX_QUALITY = 100  # flat pictures fit even this at 1080 px; the budget is there to use
# At DISPLAY_SIDE we accept any quality down to this before shrinking below it. On the
# sweeps, 40 beat 30 and 50 overall at 64,000 B (+0.3): a photo at 1080 q35 still beat
# 960 q52 (upscaling on the phone hurts), but fine-patterned graphics did better smaller.
FLOOR_QUALITY = 40
MIN_QUALITY = 20  # below DISPLAY_SIDE, the lowest quality we accept before refusing
# Sides below DISPLAY_SIDE, for budgets too small for it (thumbnails of tiny profiles).
CANDIDATE_SIDES = (960, 864, 768, 640, 560, 480, 400, 320, 240, 160, 120, 80)
# JPEG bytes at a fixed quality grow about as side**1.7 on the sweep's pictures (between
# side**1.5 for noisy photos and side**2 for flat graphics); used only to guess the next
# side to try, every guess is encoded and checked.
SIDE_EXPONENT = 1.7


@dataclass(frozen=True)
class Encoded:
    """A JPEG the fit made: its bytes, size and quality."""
    data: bytes
    width: int
    height: int
    quality: int


# ------------------------------------------------------------------ the search

# Resizing is most of our time (encodes are 5-10 ms at 1080 px; a Lanczos from 4 MP is
# 60-100 ms). Pillow first box-reduces by an integer factor while the rest of the way is
# still at least REDUCING_GAP times (fit/resize.py), then finishes with Lanczos: 2560
# px -> 1080 goes 2x box + 1.19x Lanczos in 45% of the time, for -1.0 SSIMULACRA2 at 128,000 B on the
# sweep's 2560 px photos (-0.5 at 64,000). JPEGs get the same 2x step for free from a
# DCT-scaled decode (DECODE_SIDE), at the same quality. After such a 2x step (box or DCT)
# a light unsharp mask on the final picture (``sharpen``; size and quality are chosen first,
# then the quality is re-fitted) wins part of it back: on mate-backgrounds, 89.35 ->
# 89.46 at 128,000 B (+0.2 to +0.8 on each 2560 px photo) and 82.92 -> 82.95 at 64,000;
# checked on gnome + the other /usr/share/backgrounds: 82.88 -> 83.01 and 73.18 -> 73.27.
# On every resize it lost up to 0.9 on pictures Lanczos-resized straight from 1920 px;
# radius 1.0 at 50% or 1.5 at 30% lost 1-1.7 mean. That mask (radius 0.8, 30%) is now
# done as the 3x3 kernel fitted to it, in half the time (fit/sharpen.py).


def _guess_side(known: list[tuple[int, int]], budget: int) -> float:
    """Long side at which the bytes would meet the budget, from (side, bytes) points
    measured at one quality: a power law through the two nearest, else SIDE_EXPONENT."""
    pts = sorted(known, key=lambda p: abs(math.log(p[1] / budget)))[:2]
    (s1, b1) = pts[0]
    gamma = SIDE_EXPONENT
    if len(pts) == 2 and pts[1][0] != s1 and pts[1][1] != b1:
        s2, b2 = pts[1]
        gamma = min(3.0, max(1.0, math.log(b2 / b1) / math.log(s2 / s1)))
    return float(s1 * (budget / b1) ** (1 / gamma))


def _grow(search: QualitySearch, start: int, top: int, q: int, tries: int = 3) -> int:
    """Largest long side in [start, top] that fits at quality q (start must fit)."""
    good, bad = start, top + 1
    known = [(start, search.size_at(start, q))]
    for _ in range(tries):
        if bad - good <= max(16, good // 20):
            break  # within 5%: another resize is not worth its time
        guess = _guess_side(known, int(search.budget * 0.98))
        side = min(bad - 1, top, int(guess) // 8 * 8)
        if side <= good or (good == start and side < start * MIN_GROWTH):
            break
        if good > start and side - good < good * MIN_STEP:
            break  # a few pixels more (1872 -> 1880 px) for another full-size resize
        size = search.size_at(side, q)
        known.append((side, size))
        if size <= search.budget:
            good = side
        else:
            bad = side
    return good


def _shrink(search: QualitySearch, display: int, floor_q: int) -> tuple[int, int]:
    """The budget misses floor_q even at the display side: the largest smaller side
    that fits floor_q (then its best quality), or the lowest quality we accept at the
    smallest side."""
    # A portrait picture shrinks in the same steps, in proportion to its own side.
    factor = max(1.0, display / DISPLAY_SIDE)
    sides = [round(s * factor) for s in CANDIDATE_SIDES if round(s * factor) < display] or [display]
    known = [(display, search.size_at(display, floor_q))]
    i = 0
    fits: int | None = None
    too_big: set[int] = set()
    while i < len(sides):
        size = search.size_at(sides[i], floor_q)
        known.append((sides[i], size))
        if size <= search.budget:
            fits = i
            break
        too_big.add(i)
        estimate = _guess_side(known, search.budget)
        j = i + 1
        while j < len(sides) - 1 and sides[j] > estimate:
            j += 1
        i = j
    if fits is not None:
        # The guess may have overshot downwards: climb back while a larger side fits too.
        while fits > 0 and (fits - 1) not in too_big and search.fits(sides[fits - 1], floor_q):
            fits -= 1
        side = sides[fits]
        q = search.best_quality(side, floor_q, MAX_QUALITY)
        assert q is not None
        return side, q
    side, q = sides[-1], None
    for s in sides[::-1]:
        found = search.best_quality(s, MIN_QUALITY, floor_q - 1)
        if found is None:
            break
        side, q = s, found
    if q is None:
        raise CannotComply(f"even {sides[-1]} px at quality {MIN_QUALITY} exceeds {search.budget:,} bytes")
    return side, q


def fit_jpeg(src: Image.Image, budget: int, *, floor_q: int = FLOOR_QUALITY,
             encode: Callable[[Image.Image, int], bytes] | None = None,
             full_size: Callable[[], Image.Image] | None = None,
             pool: Executor | None = None, by_width: bool = True) -> tuple[Encoded, int]:
    """Choose size and quality together. Returns the encode and how many encodes it took.

    The phone's size (DISPLAY_SIDE wide, or the picture's own size if smaller; with
    ``by_width`` False, as for a thumb, DISPLAY_SIDE on the long side: see
    fit/sizes.display_long_side) at the highest quality that fits: where the sweeps
    found the best picture for most inputs. Larger
    when that quality is high and the picture's colour detail suffers from 4:2:0 at
    that size (see GROW_IF_QUALITY); smaller when even floor_q misses (see _shrink).
    ``full_size``, when src was decoded smaller than the original (a DCT-scaled JPEG),
    gives the full picture for growing past src's size. ``pool``: threads to sharpen
    and encode on beside this one; the result is the same without them.
    """
    search = QualitySearch(_normalized(src), budget, encode or _pick_encoder(),
                     dct_reduced=full_size is not None, pool=pool)
    display = display_long_side(*src.size, by_width=by_width)
    ahead = _Ahead()
    if pool is not None:
        # Most pictures end at the display side: while the search encodes, measure its
        # colour detail and sharpen it, in case the rules below ask for them.
        at_display = search.image(display)
        ahead.detail = pool.submit(chroma_detail, at_display)
        if _sharpens(search, display):
            ahead.sharpened = pool.submit(sharpen, at_display, pool)
    try:
        return _fit(search, budget, floor_q, display, full_size, ahead)
    finally:
        search.drop_pending()
        for task in (ahead.detail, ahead.sharpened):
            if task is not None:
                task.cancel()


def _normalized(im: Image.Image) -> Image.Image:
    """``normalize(im)``, except that RGB and RGBA pictures are taken as they are: the
    decode has normalized them already (RGBA only when some pixel is not opaque), and
    normalize would scan the alpha again (25 ms on a 5120x2880 PNG). An RGBA picture
    that is opaque after all (another caller's) comes out the same, only slower:
    resizing premultiplied by 255 and flattening change nothing."""
    return im if im.mode in ("RGB", "RGBA") else normalize(im)


@dataclass
class _Ahead:
    """Work on the display-size picture begun on the pool before it is known to be needed."""
    detail: Future[float] | None = None
    sharpened: Future[Image.Image] | None = None


def _sharpens(search: QualitySearch, side: int) -> bool:
    """Whether the picture at this side is sharpened (see ``sharpen``): it came through a
    2x step, a DCT-scaled decode or Pillow's box reduction."""
    return side >= DISPLAY_SIDE and max(search.src.size) > side \
        and (search.dct_reduced or box_reduced(search.src, side))


def _fit(search: QualitySearch, budget: int, floor_q: int, display: int,
         full_size: Callable[[], Image.Image] | None,
         ahead: _Ahead) -> tuple[Encoded, int]:
    long_side = max(search.src.size)
    q = search.best_quality(display, floor_q, MAX_QUALITY)
    side = display
    detail = 0.0
    if q is not None and q >= GROW_IF_QUALITY:
        detail = ahead.detail.result() if ahead.detail else chroma_detail(search.image(display))
    if detail >= FULL_CHROMA_IF_DETAIL:
        # Colour that 4:2:0 smears, and room in the budget: 4:4:4 when it fits at a high quality.
        full = QualitySearch(search.image(display), budget, encode_444)
        full_q = full.best_quality(display, FULL_CHROMA_QUALITY, MAX_QUALITY)
        search.encodes += full.encodes
        if full_q is not None:
            im = full.image(display)
            return Encoded(data=full.bytes_at(display, full_q), width=im.width, height=im.height,
                           quality=full_q), search.encodes
    if q is None:
        side, q = _shrink(search, display, floor_q)
    elif display <= DISPLAY_SIDE and (long_side >= display * MIN_GROWTH or full_size is not None):
        # (A portrait picture, made at the phone's width, is never grown past it.)
        grow_q = None
        if q >= MAX_QUALITY:
            grow_q = GROW_FLAT_QUALITY
        elif q >= GROW_IF_QUALITY and detail >= GROW_IF_CHROMA:
            grow_q = GROW_QUALITY
        if grow_q is not None:
            if full_size is not None:
                search.src = _normalized(full_size())
                search.dct_reduced = False
                long_side = max(search.src.size)
            side = _grow(search, display, min(long_side, MAX_SIDE), grow_q)
            if side != display:
                q = search.best_quality(side, grow_q, MAX_QUALITY) or grow_q
    data = search.bytes_at(side, q)
    im = search.image(side)
    if _sharpens(search, side):
        # Size and quality were chosen on the plain resize (the rules above were tuned
        # on it); the sharpened picture then takes the highest quality that still fits.
        # The picture sharpened early is this one when the search ended at the display side.
        early = ahead.sharpened if side == display else None
        sharp_im = early.result() if early is not None else sharpen(im, search.pool)
        sharp = QualitySearch(sharp_im, budget, search.encode, pool=search.pool)
        sharp_q = sharp.best_quality(side, min(q, floor_q), q, start=q)
        sharp.drop_pending()
        search.encodes += sharp.encodes
        if sharp_q is not None:
            im, q, data = sharp.src, sharp_q, sharp.bytes_at(side, sharp_q)
    return Encoded(data=data, width=im.width, height=im.height, quality=q), search.encodes


# ------------------------------------------------------------------ the stage

def _passthrough(sniffed: Sniffed, info: ImageInfo, limits: RoleLimits) -> bytes | None:
    """The input's own bytes when it complies; its losslessly stripped bytes when it
    complies but carries extras that can go without touching a pixel; else None.
    Bytes are read only when they fit the budget (an input may be gigabytes)."""
    if (info.frames > 1 and info.format != "gif") or not info.complete:
        return None  # not complete: the walk stopped early, what follows is unknown
    rules = [v for v in image_violations(sniffed, info, limits) if v.rule != "bytes"]
    if rules:
        return None
    if not info.carries_extras:
        fits = limits.min_bytes <= sniffed.size <= limits.max_bytes
        return read_prefix(sniffed.path, sniffed.size) if fits else None
    if info.format != "jpeg" or info.orientation != 1:
        return None  # rotating or re-encoding is needed: do the full fit
    if info.has_icc:
        return None  # dropping a non-trivial ICC profile would shift colours
    with open(sniffed.path, "rb") as fh:
        try:
            layout = jpeg.walk(Source.of_file(fh))
        except FormatError:
            return None
        if not limits.min_bytes <= layout.stripped_size <= limits.max_bytes:
            return None
        data = fh.read(layout.end)
    try:
        return jpeg.strip_metadata(data, layout)
    except jpeg.NotAJpeg:
        return None


def prepare_image(sniffed: Sniffed, info: ImageInfo, profile: Profile, role: Role,
                  opts: PrepareOptions, out_dir: Path,
                  progress: ProgressFn | None = None) -> Fitted:
    """role is "image" or "thumb"."""
    limits = profile.limits(role)
    warn: list[str] = list(sniffed.warnings)
    suffix = ".thumb.jpg" if role == "thumb" else ".jpg"
    same = _passthrough(sniffed, info, limits)
    if same is not None:
        ext = {"jpeg": ".jpg", "png": ".png", "gif": ".gif"}[info.format]
        target = output_path(sniffed.path, out_dir, (".thumb" if role == "thumb" else "") + ext)
        write_bytes(target, same)
        identical = len(same) == sniffed.size
        if not identical:
            warn.append(Notice("metadata removed losslessly (EXIF/XMP/comments/trailing bytes); pixels untouched"))
        return Fitted(outputs=(OutputFile(path=target, slot="thumb" if role == "thumb" else "media", role=role,
                                           bytes=len(same), format=info.format,
                                          width=info.width, height=info.height,
                                          passed_through=identical),), warnings=tuple(warn))
    if "jpeg" not in limits.formats:
        raise CannotComply(f"profile {profile.name!r} does not accept JPEG for {role}",
                           path=sniffed.path, hint="add jpeg to the profile's formats")
    if info.has_gps:
        warn.append(Notice("GPS location removed"))
    if info.orientation != 1:
        warn.append(Notice(f"rotated upright (EXIF orientation {info.orientation})"))
    by_width = role == "image"  # a thumb (a cover, shown small) keeps 1080 on its long side
    pic = decode(sniffed, info, profile, decode_side(info, by_width), warn)
    full_size: Callable[[], Image.Image] | None = None
    if max(pic.size) < max(info.width, info.height):
        # Decoded DCT-scaled: growing past that (rare) needs the full picture again.
        full_size = functools.partial(decode, sniffed, info, profile, info.width + info.height, [])
    if progress:
        progress(0, 1, "encoding")
    try:
        enc, _count = fit_jpeg(pic, limits.max_bytes, full_size=full_size, pool=threads.spare(),
                               by_width=by_width)
    except CannotComply as exc:
        raise CannotComply(exc.message, path=sniffed.path,
                           hint="the budget is too small for any watchable picture") from exc
    assert len(enc.data) <= limits.max_bytes
    target = output_path(sniffed.path, out_dir, suffix)
    write_bytes(target, enc.data)
    if progress:
        progress(1, 1, "done")
    return Fitted(outputs=(OutputFile(path=target, slot="thumb" if role == "thumb" else "media", role=role,
                                       bytes=len(enc.data), format="jpeg",
                                      width=enc.width, height=enc.height, quality=enc.quality),),
                  warnings=tuple(warn))


def fit_picture_to_file(pic: Image.Image, budget: int, target: Path) -> OutputFile:
    """For other stages (a video's thumb): fit an already-decoded RGB picture."""
    enc, _ = fit_jpeg(pic, budget, pool=threads.spare(), by_width=False)
    with atomic_path(target) as tmp:
        tmp.write_bytes(enc.data)
    return OutputFile(path=target, slot="thumb", role="thumb", bytes=len(enc.data), format="jpeg",
                      width=enc.width, height=enc.height, quality=enc.quality)
