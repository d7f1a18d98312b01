"""WebP container structure (RIFF, as Google's WebP container specification lays
it out): the canvas, the frames of an animation and their durations, where the
metadata is and where the file really ends, from the chunk headers alone.

A WebP file is ``RIFF``, a little-endian size, ``WEBP``, then chunks: a four-byte
tag, a little-endian size, the payload, and a pad byte when the size is odd. A
still is one ``VP8 `` (lossy) or ``VP8L`` (lossless) chunk, or ``VP8X`` (the
canvas size and flags) followed by ``ICCP``, ``ALPH``, the bitstream, ``EXIF``,
``XMP ``; an animation is ``VP8X``, ``ANIM`` and one ``ANMF`` per frame (its
rectangle and duration, then that frame's own bitstream chunks).

The walk reads each chunk header and skips the payload: an animation's frames
are counted without decoding one (a decoder composes every frame on the whole
canvas). It visits at most ``MAX_CHUNKS`` chunks.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import FormatError, TooComplex
from .source import Source

# Chunks walked at most: an animation of 10,000 frames has 10,000 ANMF chunks.
MAX_CHUNKS = 100_000
_PIXELS = frozenset({b"VP8 ", b"VP8L", b"ALPH", b"ANMF"})
_VP8X_ALPHA = 0x10
_VP8_START = b"\x9d\x01\x2a"  # after the 3-byte frame tag of a key frame
_VP8L_SIGNATURE = 0x2F


class NotAWebp(FormatError):
    """No RIFF/WEBP header, chunks that do not fit the RIFF size, or no image chunk."""


@dataclass(frozen=True)
class WebpLayout:
    """What the walk of a WebP's chunks found: canvas, frames, alpha, where it ends."""
    width: int  # the canvas (VP8X), or the bitstream's own size for a simple file
    height: int
    frames: int  # ANMF chunks (1 for a still)
    duration: float  # the frames' durations added up, in seconds (0 for a still)
    animated: bool
    alpha: bool
    end: int  # offset just past the RIFF chunk: the end of the image
    size: int  # bytes in the data walked
    exif_at: tuple[int, int] | None  # (offset, length) of the EXIF chunk's payload
    icc: bool
    xmp: bool
    other_bytes: int  # bytes of every chunk but the pixel data (metadata, unknown chunks)

    @property
    def trailing(self) -> int:
        """Bytes after the RIFF chunk: appended scripts, archives."""
        return self.size - self.end


def _u24(b: bytes) -> int:
    return int.from_bytes(b[:3], "little")


def _bitstream_size(kind: bytes, head: bytes) -> tuple[int, int, bool] | None:
    """Width, height and alpha from the start of a VP8 or VP8L payload."""
    if kind == b"VP8 " and len(head) >= 10 and head[3:6] == _VP8_START:
        w = int.from_bytes(head[6:8], "little") & 0x3FFF
        h = int.from_bytes(head[8:10], "little") & 0x3FFF
        return w, h, False
    if kind == b"VP8L" and len(head) >= 5 and head[0] == _VP8L_SIGNATURE:
        bits = int.from_bytes(head[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, bool(bits >> 28 & 1)
    return None


def walk(data: bytes | Source, max_chunks: int = MAX_CHUNKS) -> WebpLayout:
    """Walk the chunks of the RIFF container. Raises NotAWebp when there is no
    RIFF/WEBP header, the RIFF size runs past the data (truncated), a chunk runs
    past the RIFF size or there is no image chunk; TooComplex past ``max_chunks``
    chunks."""
    src = Source.of(data)
    head = src.read(0, 12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        raise NotAWebp("no RIFF/WEBP header")
    end = 8 + int.from_bytes(head[4:8], "little")
    if end > src.size:
        raise NotAWebp("the WebP is truncated (shorter than its RIFF header says)")
    pos = 12
    chunks = frames = other = 0
    width = height = 0
    ms = 0
    animated = alpha = icc = xmp = False
    found_image = False
    exif_at: tuple[int, int] | None = None
    while pos + 8 <= end:
        if chunks >= max_chunks:
            raise TooComplex(f"more than {max_chunks:,} chunks (not a real picture)")
        chunk = src.read(pos, 8)
        kind, length = chunk[:4], int.from_bytes(chunk[4:8], "little")
        body = pos + 8
        if body + length > end:
            raise NotAWebp(f"chunk {kind!r} runs past the end of the file")
        pos = body + length + (length & 1)
        chunks += 1
        if kind not in _PIXELS:
            other += length
        if kind == b"VP8X" and chunks == 1:
            ext = src.read(body, 10)
            if len(ext) == 10:
                flags = ext[0]
                animated = bool(flags & 0x02)
                alpha = bool(flags & _VP8X_ALPHA)
                width, height = _u24(ext[4:7]) + 1, _u24(ext[7:10]) + 1
        elif kind == b"ANMF":
            frames += 1
            found_image = True
            frame = src.read(body, 16)
            if len(frame) == 16:
                ms += _u24(frame[12:15])
        elif kind in (b"VP8 ", b"VP8L"):
            found_image = True
            size = _bitstream_size(kind, src.read(body, 10))
            if size is not None and not width:
                width, height, alpha = size
        elif kind == b"EXIF" and exif_at is None:
            exif_at = (body, length)
        elif kind == b"ICCP":
            icc = True
        elif kind == b"XMP ":
            xmp = True
    if not found_image:
        raise NotAWebp("no image data (no VP8, VP8L or ANMF chunk)")
    return WebpLayout(width=width, height=height, frames=max(frames, 1),
                      duration=ms / 1000 if frames else 0.0, animated=animated or frames > 1,
                      alpha=alpha, end=end, size=src.size, exif_at=exif_at, icc=icc, xmp=xmp,
                      other_bytes=other)
