"""PNG chunk structure (PNG specification, 3rd edition, section 5): where the
image ends (the IEND chunk) and so how many bytes were appended after it, and
whether the file can hold an eXIf chunk.

A chunk is a 4-byte big-endian length, a 4-byte type, the data, and a 4-byte CRC.
The end is found by walking the chunks from the signature, never by searching for
"IEND": a payload (a text chunk, appended HTML) may contain those four bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import FormatError

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK_OVERHEAD = 12  # length + type + CRC


class NotAPng(FormatError):
    """No PNG signature, or the chunks do not reach an IEND."""


@dataclass(frozen=True)
class PngLayout:
    end: int  # offset just past the IEND chunk (or the end of the data, if IEND is cut short)
    size: int  # bytes in the data walked
    chunks: int  # chunks up to and including IEND
    exif_chunk: bool  # an eXIf chunk before IEND

    @property
    def trailing(self) -> int:
        """Bytes after IEND: appended archives, scripts, HTML."""
        return self.size - self.end


def walk(data: bytes) -> PngLayout:
    """Walk the chunks from the signature to IEND. The CRCs are not checked (the
    decoder does that); only the lengths are followed. Raises NotAPng when there
    is no signature or no IEND is reached."""
    if not data.startswith(SIGNATURE):
        raise NotAPng("no PNG signature")
    pos, n = len(SIGNATURE), len(data)
    chunks = 0
    exif = False
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        pos += _CHUNK_OVERHEAD + length
        chunks += 1
        if kind == b"eXIf":
            exif = True
        elif kind == b"IEND":
            # An IEND whose CRC is cut off still ends the image: nothing follows it.
            return PngLayout(end=min(pos, n), size=n, chunks=chunks, exif_chunk=exif)
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
