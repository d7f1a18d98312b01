"""PNG chunk structure (PNG specification, 3rd edition, section 5): the size from
IHDR, where the image ends (the IEND chunk) and so how many bytes were appended
after it, where an eXIf chunk is, how many bytes are not pixels, and for an
animated PNG (APNG: ``acTL``, then an ``fcTL`` per frame) the frames and their
total duration, counted from the chunks without decoding a frame.

A chunk is a 4-byte big-endian length, a 4-byte type, the data, and a 4-byte CRC.
The end is found by walking the chunks from the signature, never by searching for
"IEND": a payload (a text chunk, appended HTML) may contain those four bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import FormatError, TooComplex
from .source import Source

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_OVERHEAD = 12  # length + type + CRC
_IMAGE_DATA = frozenset({b"IDAT", b"fdAT"})  # pixels (APNG frames in fdAT)
_TEXT = frozenset({b"tEXt", b"zTXt", b"iTXt"})
# Chunks the walk follows at most: a 100 MB PNG written in 8 KB IDAT chunks has
# 12,500, an APNG of 10,000 frames about 20,000; a million costs about a second.
MAX_CHUNKS = 1_000_000
# fcTL delays with a zero denominator mean hundredths of a second (APNG spec).
_DEFAULT_DELAY_DEN = 100


class NotAPng(FormatError):
    """No PNG signature, or the chunks do not reach an IEND."""


@dataclass(frozen=True)
class PngLayout:
    """What the walk of a PNG's chunks found: size, frames, EXIF, where it ends."""
    end: int  # offset just past the IEND chunk (or the end of the data, if IEND is cut short)
    size: int  # bytes in the data walked
    chunks: int  # chunks up to and including IEND
    exif_chunk: bool  # an eXIf chunk before IEND
    width: int = 0  # from IHDR; 0 when IHDR is missing or short
    height: int = 0
    frames: int = 1  # APNG: fcTL chunks present (acTL's claim is not believed); else 1
    duration: float = 0.0  # APNG: the fcTL delays added up, in seconds
    animated: bool = False  # an acTL chunk is present
    exif_at: tuple[int, int] | None = None  # (offset, length) of the first eXIf chunk's data
    text_chunks: int = 0  # tEXt, zTXt, iTXt anywhere before IEND
    other_bytes: int = 0  # bytes of every chunk but the pixel data (IDAT, fdAT)

    @property
    def trailing(self) -> int:
        """Bytes after IEND: appended archives, scripts, HTML."""
        return self.size - self.end


def walk(data: bytes | Source, max_chunks: int = MAX_CHUNKS) -> PngLayout:
    """Walk the chunks from the signature to IEND. The CRCs are not checked (the
    decoder does that); only the lengths are followed, reading 8 bytes a chunk (and
    the few of IHDR and fcTL), so pixel data and bytes after IEND are never read.
    Raises NotAPng when there is no signature or no IEND is reached; TooComplex
    past ``max_chunks`` chunks."""
    src = Source.of(data)
    if src.read(0, len(SIGNATURE)) != SIGNATURE:
        raise NotAPng("no PNG signature")
    pos, n = len(SIGNATURE), src.size
    chunks = frames = text = other = width = height = 0
    exif_at: tuple[int, int] | None = None
    animated = False
    seconds = 0.0
    while pos + 8 <= n:
        if chunks >= max_chunks:
            raise TooComplex(f"more than {max_chunks:,} chunks (not a real picture)")
        head = src.read(pos, 8)
        length = int.from_bytes(head[:4], "big")
        kind = head[4:8]
        body = pos + 8
        pos += _CHUNK_OVERHEAD + length
        chunks += 1
        if kind not in _IMAGE_DATA:
            other += length
        if kind == b"IHDR" and chunks == 1:
            dims = src.read(body, 8)
            if len(dims) == 8:
                width, height = int.from_bytes(dims[:4], "big"), int.from_bytes(dims[4:], "big")
        elif kind == b"acTL":
            animated = True
        elif kind == b"fcTL":
            frames += 1
            # sequence, width, height, x, y (4 bytes each), then delay num/den (2 each).
            delay = src.read(body + 20, 4)
            if len(delay) == 4:
                den = int.from_bytes(delay[2:], "big") or _DEFAULT_DELAY_DEN
                seconds += int.from_bytes(delay[:2], "big") / den
        elif kind == b"eXIf" and exif_at is None:
            exif_at = (body, length)
        elif kind in _TEXT:
            text += 1
        elif kind == b"IEND":
            # An IEND whose CRC is cut off still ends the image: nothing follows it.
            return PngLayout(end=min(pos, n), size=n, chunks=chunks, exif_chunk=exif_at is not None,
                             width=width, height=height,
                             frames=max(frames, 1) if animated else 1,
                             duration=seconds if animated else 0.0, animated=animated,
                             exif_at=exif_at, text_chunks=text, other_bytes=other)
    raise NotAPng("the PNG is truncated (no IEND chunk)")


# Where a PNG can say how it is oriented: the eXIf chunk (PNG 3rd edition), the hex
# EXIF dump ImageMagick writes in a (usually compressed) text chunk, and an XMP
# packet's tiff:Orientation. Pillow's getexif reads all three; the text chunks'
# keywords are never compressed, so the bytes show whether one is there.
_EXIF_CARRIERS = (b"eXIf", b"Raw profile type exif", b"XML:com.adobe.xmp")


def may_hold_exif(data: bytes) -> bool:
    """False only when no EXIF (nor an orientation) can be in the file: none of
    its carriers' names appears anywhere. A byte search rather than the walk on
    purpose: it only decides whether to ask Pillow, which finds the data its own
    way (and which decodes every pixel to look past the image data, 50 ms on
    2 MP). A false yes costs that time, never a wrong answer."""
    return any(name in data for name in _EXIF_CARRIERS)
