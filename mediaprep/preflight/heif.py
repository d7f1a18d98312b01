"""HEIC/AVIF before any decoder sees them: the item layout (formats/heif.py) against
our limits, and the coding against the one decoder the sniffed type allows.

A HEIF file holds many images (the primary picture, often a grid of tiles; its
thumbnails; depth, alpha and gain maps): only the primary is ever decoded. What is
refused here, with nothing decoded: more items than ``MAX_ITEMS``, a primary larger
than the pixel limits, a grid whose tiles together hold far more pixels than the
picture (tiles are decoded whole, then cropped), a primary coded with something the
allowed decoder lacks, and files larger than both decoders can sensibly hold (each
reads the whole file into memory).
"""
from __future__ import annotations

from ..errors import BadInput, LimitExceeded
from ..formats import heif
from ..profiles import SafetyLimits
from .sniff import Sniffed

# libheif's own default limit is 1000 items a file; ours is the same, checked first,
# so the message is ours. An iPhone's 48 MP photo has about 200 (192 tiles).
MAX_ITEMS = 1000
# Tiles are decoded whole and the grid cropped to its ispe: the tiles together may
# hold a little more than the picture (edge padding), never many times more.
MAX_TILE_OVERSHOOT = 2
# Both decoders read the whole file into memory; a real photo is under 30 MB.
MAX_FILE_BYTES = 256 << 20

# Item types each decoder can decode (a grid's tiles, or the primary itself).
_CODING = {
    "HEIF": frozenset({b"hvc1"}),  # libde265: HEVC only in the pillow-heif wheel
    "AVIF": frozenset({b"av01"}),  # libavif with dav1d / libaom
}
_CODING_NAMES = {b"avc1": "H.264 (AVC)", b"jpeg": "JPEG", b"hvc1": "HEVC", b"av01": "AV1",
                 b"vvc1": "H.266 (VVC)", b"j2k1": "JPEG 2000", b"unci": "uncompressed"}
_DERIVED = frozenset({b"grid", b"iden", b"iovl"})


def _name(coding: frozenset[bytes]) -> str:
    return ", ".join(sorted(_CODING_NAMES.get(c, c.decode("ascii", "replace") or "unknown") for c in coding))


def check_layout(sniffed: Sniffed, limits: SafetyLimits) -> heif.HeifLayout | None:
    """The layout, checked; None for an AVIF sequence without a still item (its size
    is then checked by the caller from the decoder's header, before decoding)."""
    label = sniffed.format.upper()
    if sniffed.size > MAX_FILE_BYTES:
        raise LimitExceeded(f"the {label} file is {sniffed.size:,} bytes (limit {MAX_FILE_BYTES:,})",
                            path=sniffed.path, hint="no photo is this large; export it as JPEG")
    try:
        layout = heif.read_layout(sniffed.path)
    except heif.NotAHeif as exc:
        if sniffed.format == "avif" and "no HEIF meta box" in exc.message:
            return None  # an animated AVIF may be tracks only (avis): libavif reads those
        raise BadInput(f"cannot read the {label} image: {exc.message}", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    except OSError as exc:
        raise BadInput(f"cannot read the {label} image: {exc.strerror}", path=sniffed.path) from exc
    if layout.items > MAX_ITEMS:
        raise LimitExceeded(f"the {label} file holds {layout.items:,} images and items (limit {MAX_ITEMS})",
                            path=sniffed.path, hint="export the photo itself as JPEG")
    w, h = layout.width, layout.height
    if w > limits.max_side or h > limits.max_side or w * h > limits.max_pixels:
        raise LimitExceeded(f"image dimensions {w}x{h} exceed our limit ({limits.max_pixels:,} pixels, "
                            f"{limits.max_side} px a side)", path=sniffed.path,
                            hint="downscale it first; such sizes are refused before decoding")
    if layout.primary_type in _DERIVED:
        tile_pixels = layout.tiles * layout.tile_width * layout.tile_height
        if layout.tiles == 0 or tile_pixels > MAX_TILE_OVERSHOOT * max(w * h, 1) \
                or tile_pixels > limits.max_pixels:
            raise LimitExceeded(
                f"the {label} grid declares {layout.tiles:,} tiles of {layout.tile_width}x"
                f"{layout.tile_height} for a {w}x{h} picture", path=sniffed.path,
                hint="the file is damaged or built to waste work; export the photo as JPEG")
    allowed = _CODING[sniffed.pillow or ""]
    if not layout.coding <= allowed:
        raise BadInput(f"this {label} holds {_name(layout.coding)} images, which are not supported",
                       path=sniffed.path, hint="export it as JPEG, or as HEIC with HEVC")
    return layout
