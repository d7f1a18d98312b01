"""HEIF item structure (ISO/IEC 23008-12, over the ISO-BMFF boxes of 14496-12): the
facts needed before any decoder sees a HEIC or AVIF file.

A HEIF file is a set of items described in the top-level ``meta`` box: ``pitm``
names the primary item, ``iinf`` lists every item and its type (``hvc1`` HEVC,
``av01`` AV1, ``grid`` tiles put together, ``Exif``, ...), ``iref`` links them
(``dimg``: the tiles a grid is made of; ``thmb``, ``auxl``: thumbnails, alpha and
depth maps), and ``iprp`` holds the properties (``ispe`` size, ``irot`` rotation,
``imir`` mirroring, ``pixi`` bit depth, ``colr`` colour) that ``ipma`` associates
with each item. A phone photo is a grid: a 12 MP iPhone picture is 48 tiles of
512x512 plus a thumbnail, a depth map and a gain map.

The facts come from a bounded walk: the ``meta`` box is read whole only up to
``MAX_META_BYTES``, every list stops at ``MAX_ENTRIES`` (the caller refuses more
items than its own, lower limit), and box levels are walked by
``isobmff.boxes`` (at most ``isobmff.MAX_BOXES`` a level). Whatever the bytes,
``read_layout`` returns a ``HeifLayout`` or raises ``NotAHeif``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from . import FormatError
from .isobmff import boxes

# A real meta box is a few KB (an iPhone's 48-tile grid: ~6 KB without Exif);
# 4 MB leaves room for odd writers and keeps a hostile header from costing more.
MAX_META_BYTES = 4 << 20
# Entries read per list (items, references, associations): far above any real file,
# and the caller's limit on items is lower still.
MAX_ENTRIES = 100_000

# Levels of derived images followed (tmap -> grid -> tiles is 2).
MAX_DEPTH = 4

# nclx transfer characteristics (ITU-T H.273 table 3) that are high dynamic range.
TRANSFER_PQ = 16  # SMPTE ST 2084
TRANSFER_HLG = 18  # ARIB STD-B67


class NotAHeif(FormatError):
    """No readable meta box, no primary item, or the primary item is not listed."""


@dataclass(frozen=True)
class Nclx:
    """A ``colr`` box of type nclx: code points of ITU-T H.273."""

    primaries: int  # 1 BT.709/sRGB, 9 BT.2020, 12 Display P3
    transfer: int  # 1/6/13 SDR curves, 8 linear, 16 PQ, 18 HLG
    matrix: int
    full_range: bool


@dataclass(frozen=True)
class HeifLayout:
    """What the walk of a HEIF/AVIF's boxes found about its primary image."""
    major_brand: bytes
    brands: frozenset[bytes]  # major and compatible brands of ftyp
    items: int  # items listed in iinf (capped at MAX_ENTRIES)
    primary_type: bytes  # item type of the primary item: b"hvc1", b"av01", b"grid", ...
    coding: frozenset[bytes]  # item types actually decoded for the primary (a grid's tiles')
    width: int  # the primary item's ispe (0: none)
    height: int
    tiles: int  # coded images the primary is derived from (through dimg); 0 for a coded image
    tile_width: int  # ispe of the first such tile (0: none)
    tile_height: int
    rotation: int  # irot: degrees anticlockwise (0, 90, 180, 270)
    mirror: int | None  # imir axis (0: about a vertical axis, 1: horizontal), None: no imir
    bits: int  # bits per channel from pixi (8 when absent)
    nclx: Nclx | None
    has_icc: bool  # a colr box of type prof/rICC
    has_exif: bool  # an Exif item
    has_xmp: bool  # an XMP (mime application/rdf+xml) item

    @property
    def hdr(self) -> bool:
        return self.nclx is not None and self.nclx.transfer in (TRANSFER_PQ, TRANSFER_HLG)


def _u(data: bytes, pos: int, size: int) -> int:
    """A big-endian unsigned integer of ``size`` bytes at ``pos``; NotAHeif when cut off."""
    if pos < 0 or pos + size > len(data):
        raise NotAHeif("a HEIF box is cut short")
    return int.from_bytes(data[pos:pos + size], "big")


def _children(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes between start and end of data."""
    fh = io.BytesIO(data)
    return [(b.type, b.body, b.end) for b in boxes(fh, start, min(end, len(data)))]


def _items(data: bytes, start: int, end: int) -> dict[int, bytes]:
    """iinf: item id -> item type (and mime content type for ``mime`` items)."""
    version = _u(data, start, 1)
    first = start + 4 + (2 if version == 0 else 4)
    out: dict[int, bytes] = {}
    for kind, body, stop in _children(data, first, end):
        if kind != b"infe" or len(out) >= MAX_ENTRIES:
            continue
        infe_version = _u(data, body, 1)
        if infe_version < 2:
            continue  # version 0/1 (pre-HEIF) carry no item type
        id_size = 2 if infe_version == 2 else 4
        item_id = _u(data, body + 4, id_size)
        type_at = body + 4 + id_size + 2
        item_type = data[type_at:type_at + 4] if type_at + 4 <= stop else b""
        if item_type == b"mime":
            # item_name (NUL-terminated), then content_type (NUL-terminated).
            name_end = data.find(b"\0", type_at + 4, stop)
            ctype_end = data.find(b"\0", name_end + 1, stop) if name_end >= 0 else -1
            if ctype_end > name_end >= 0:
                item_type = b"mime:" + data[name_end + 1:ctype_end]
        out[item_id] = bytes(item_type)
    return out


def _references(data: bytes, start: int, end: int, kind: bytes) -> dict[int, list[int]]:
    """iref: from-item id -> to-item ids, for references of one type (dimg, thmb, ...)."""
    version = _u(data, start, 1)
    size = 2 if version == 0 else 4
    out: dict[int, list[int]] = {}
    entries = 0
    for ref_type, body, stop in _children(data, start + 4, end):
        if ref_type != kind:
            continue
        from_id = _u(data, body, size)
        count = _u(data, body + size, 2)
        pos = body + size + 2
        targets = out.setdefault(from_id, [])
        for _ in range(count):
            if pos + size > stop or entries >= MAX_ENTRIES:
                break
            targets.append(_u(data, pos, size))
            pos += size
            entries += 1
    return out


def _associations(data: bytes, start: int, end: int) -> dict[int, list[int]]:
    """ipma: item id -> 1-based indexes into ipco's properties (23008-12 9.3.3: 7- or
    15-bit indexes, the top bit marking an essential property)."""
    version = _u(data, start, 1)
    flags = _u(data, start + 1, 3)
    count = _u(data, start + 4, 4)
    pos = start + 8
    id_size = 2 if version < 1 else 4
    index_size = 2 if flags & 1 else 1
    mask = 0x7FFF if flags & 1 else 0x7F
    out: dict[int, list[int]] = {}
    total = 0
    for _ in range(min(count, MAX_ENTRIES)):
        if pos + id_size + 1 > end or total >= MAX_ENTRIES:
            break
        item_id = _u(data, pos, id_size)
        n = _u(data, pos + id_size, 1)
        pos += id_size + 1
        indexes = out.setdefault(item_id, [])
        for _ in range(n):
            if pos + index_size > end:
                break
            indexes.append(_u(data, pos, index_size) & mask)
            pos += index_size
            total += 1
    return out


def _leaves(dimg: dict[int, list[int]], item: int) -> list[int]:
    """The coded images a derived item is made of, through up to MAX_DEPTH levels
    (a tone-mapped HDR item over a grid over tiles); [] for a coded image. At most
    MAX_ENTRIES are listed: a reference cycle cannot make the walk grow without end."""
    if item not in dimg:
        return []
    out: list[int] = []
    stack = [(ref, 1) for ref in reversed(dimg[item])]
    while stack and len(out) < MAX_ENTRIES:
        ref, depth = stack.pop()
        if ref in dimg and depth < MAX_DEPTH:
            stack.extend((r, depth + 1) for r in reversed(dimg[ref][:MAX_ENTRIES]))
        else:
            out.append(ref)
    return out


@dataclass(frozen=True)
class _Props:
    """The properties (ipma/ipco) associated with one item."""
    width: int = 0
    height: int = 0
    rotation: int = 0
    mirror: int | None = None
    bits: int = 8
    nclx: Nclx | None = None
    icc: bool = False


def _properties_of(data: bytes, props: list[tuple[bytes, int, int]], indexes: list[int]) -> _Props:
    width = height = rotation = 0
    mirror: int | None = None
    bits = 8
    nclx: Nclx | None = None
    icc = False
    for index in indexes:
        if not 1 <= index <= len(props):
            continue  # 0 means "no property"; past the end: ignored, as libheif does
        kind, body, stop = props[index - 1]
        if kind == b"ispe" and body + 12 <= stop:
            width, height = _u(data, body + 4, 4), _u(data, body + 8, 4)
        elif kind == b"irot" and body < stop:
            rotation = (data[body] & 3) * 90
        elif kind == b"imir" and body < stop:
            mirror = data[body] & 1
        elif kind == b"pixi" and body + 5 <= stop and data[body + 4] > 0:
            bits = data[body + 5] if body + 6 <= stop else 8
        elif kind == b"colr" and body + 4 <= stop:
            colour_type = data[body:body + 4]
            if colour_type == b"nclx" and body + 11 <= stop:
                nclx = Nclx(primaries=_u(data, body + 4, 2), transfer=_u(data, body + 6, 2),
                            matrix=_u(data, body + 8, 2), full_range=bool(data[body + 10] & 0x80))
            elif colour_type in (b"prof", b"rICC"):
                icc = True
    return _Props(width, height, rotation, mirror, bits, nclx, icc)


def parse_meta(data: bytes, major_brand: bytes = b"", brands: frozenset[bytes] = frozenset()) -> HeifLayout:
    """The facts from the payload of a ``meta`` box (its version and flags first)."""
    if len(data) < 4:
        raise NotAHeif("the HEIF meta box is empty")
    found = {kind: (body, stop) for kind, body, stop in _children(data, 4, len(data))}
    if b"pitm" not in found or b"iinf" not in found:
        raise NotAHeif("no primary item (pitm) or item list (iinf) in the HEIF meta box")
    body, _ = found[b"pitm"]
    primary = _u(data, body + 4, 2 if _u(data, body, 1) == 0 else 4)
    items = _items(data, *found[b"iinf"])
    if primary not in items:
        raise NotAHeif("the primary item is not in the HEIF item list")
    dimg = _references(data, *found[b"iref"], b"dimg") if b"iref" in found else {}
    props: list[tuple[bytes, int, int]] = []
    assoc: dict[int, list[int]] = {}
    if b"iprp" in found:
        for kind, body, stop in _children(data, *found[b"iprp"]):
            if kind == b"ipco":
                props = _children(data, body, stop)
            elif kind == b"ipma":
                for item_id, indexes in _associations(data, body, stop).items():
                    assoc.setdefault(item_id, []).extend(indexes)
    main = _properties_of(data, props, assoc.get(primary, []))
    tiles = _leaves(dimg, primary)
    coding = frozenset(items.get(t, b"") for t in tiles) if tiles else frozenset({items[primary]})
    first_tile = _properties_of(data, props, assoc.get(tiles[0], [])) if tiles else _Props()
    # A grid's tiles carry the bit depth and colour when the grid item itself does not.
    bits = main.bits if not tiles or main.bits != 8 else first_tile.bits
    nclx = main.nclx or first_tile.nclx
    return HeifLayout(
        major_brand=major_brand, brands=brands, items=len(items), primary_type=items[primary],
        coding=coding, width=main.width, height=main.height, tiles=len(tiles),
        tile_width=first_tile.width, tile_height=first_tile.height, rotation=main.rotation,
        mirror=main.mirror, bits=bits, nclx=nclx, has_icc=main.icc or first_tile.icc,
        has_exif=any(t == b"Exif" for t in items.values()),
        has_xmp=any(t == b"mime:application/rdf+xml" for t in items.values()))


def _ftyp_brands(fh: BinaryIO, body: int, end: int) -> tuple[bytes, frozenset[bytes]]:
    fh.seek(body)
    raw = fh.read(min(end - body, 4096))
    major = raw[:4]
    compatible = {raw[i:i + 4] for i in range(8, len(raw) - 3, 4)}
    return major, frozenset({major, *compatible})


def read_layout(source: Path | BinaryIO) -> HeifLayout:
    """The layout of a HEIF/AVIF file: ftyp brands and the top-level meta box's facts.
    Reads the box headers and at most MAX_META_BYTES of meta."""
    if isinstance(source, Path):
        with open(source, "rb") as opened:
            return read_layout(opened)
    fh = source
    size = fh.seek(0, 2)
    major, brands = b"", frozenset[bytes]()
    for box in boxes(fh, 0, size):
        if box.type == b"ftyp":
            major, brands = _ftyp_brands(fh, box.body, box.end)
        elif box.type == b"meta":
            if box.end - box.body > MAX_META_BYTES:
                raise NotAHeif(f"the HEIF meta box is over {MAX_META_BYTES >> 20} MB")
            fh.seek(box.body)
            data = fh.read(box.end - box.body)
            return parse_meta(data, major, brands)
    raise NotAHeif("no HEIF meta box (truncated, or not a HEIF image)")
