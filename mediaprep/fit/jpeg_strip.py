"""Lossless removal of a JPEG's metadata segments and trailing bytes.

Dropping APPn and COM segments leaves the entropy-coded data, and so every pixel,
untouched. We keep APP0 (JFIF) and APP14 (Adobe: it says how to interpret the
colour transform) and drop the rest: EXIF and XMP (APP1), ICC (APP2, only called
when the profile is absent or sRGB), vendor blocks, comments, anything after EOI.
"""
from __future__ import annotations

_SOI = b"\xff\xd8"
_KEEP_APP = {0xE0, 0xEE}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}


class NotAJpeg(ValueError):
    pass


def strip_jpeg(data: bytes) -> bytes:
    if not data.startswith(_SOI):
        raise NotAJpeg("no SOI marker")
    out = bytearray(_SOI)
    pos = 2
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise NotAJpeg(f"expected a marker at offset {pos}")
        marker = data[pos + 1] if pos + 1 < n else -1
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            out += data[pos:pos + 2]
            pos += 2
            continue
        if pos + 4 > n:
            raise NotAJpeg("truncated segment header")
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > n:
            raise NotAJpeg("segment runs past the end of the file")
        if marker == 0xDA:  # SOS: the rest is scan data (and later tables), up to the last EOI
            eoi = data.rfind(b"\xff\xd9")
            if eoi < pos:
                raise NotAJpeg("no EOI marker")
            out += data[pos:eoi + 2]
            return bytes(out)
        drop = (0xE0 <= marker <= 0xEF and marker not in _KEEP_APP) or marker == 0xFE
        if not drop:
            out += data[pos:end]
        pos = end
    raise NotAJpeg("no scan data")
