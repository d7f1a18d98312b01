"""JPEG marker structure: where the image really ends, and lossless removal of
its metadata segments and trailing bytes.

Dropping APPn and COM segments leaves the entropy-coded data, and so every pixel,
untouched. We keep APP0 (JFIF) and APP14 (Adobe: it says how to interpret the
colour transform) and drop the rest: EXIF and XMP (APP1), ICC (APP2, only called
when the profile is absent or sRGB), vendor blocks, comments, anything after EOI.

The end of the image is found by walking the markers, never by searching for the
last FF D9: a polyglot can append a payload that itself ends in FF D9.
"""
from __future__ import annotations

_SOI = b"\xff\xd8"
_KEEP_APP = {0xE0, 0xEE}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


class NotAJpeg(ValueError):
    pass


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of every marker segment up to and including EOI.
    Entropy-coded data after an SOS is skipped: there, FF is followed by 00 (a
    stuffed byte) or a restart marker, so the next other FFxx is the next marker."""
    if not data.startswith(_SOI):
        raise NotAJpeg("no SOI marker")
    out: list[tuple[int, int, int]] = [(0xD8, 0, 2)]
    pos, n = 2, len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise NotAJpeg(f"expected a marker at offset {pos}")
        if pos + 1 >= n:
            break
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:
            out.append((marker, pos, pos + 2))
            return out
        if marker in _STANDALONE:
            out.append((marker, pos, pos + 2))
            pos += 2
            continue
        if pos + 4 > n:
            break
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > n:
            raise NotAJpeg("segment runs past the end of the file")
        if marker != 0xDA:
            out.append((marker, pos, end))
            pos = end
            continue
        # SOS: header, then entropy-coded data up to the next real marker.
        scan = end
        while True:
            nxt = data.find(b"\xff", scan)
            if nxt < 0 or nxt + 1 >= n:
                raise NotAJpeg("scan data runs to the end of the file (truncated, no EOI)")
            follow = data[nxt + 1]
            if follow == 0x00 or 0xD0 <= follow <= 0xD7 or follow == 0xFF:
                scan = nxt + (2 if follow != 0xFF else 1)
                continue
            break
        out.append((marker, pos, nxt))
        pos = nxt
    raise NotAJpeg("no EOI marker (truncated file)")


def jpeg_end(data: bytes) -> int:
    """Offset just past the EOI that ends the main image."""
    return _segments(data)[-1][2]


def strip_jpeg(data: bytes) -> bytes:
    out = bytearray()
    for marker, start, end in _segments(data):
        drop = (0xE0 <= marker <= 0xEF and marker not in _KEEP_APP) or marker == 0xFE
        if not drop:
            out += data[start:end]
    return bytes(out)
