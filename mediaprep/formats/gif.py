"""GIF block structure (GIF89a specification): the canvas, the frames and their
delays, comments, and where the image ends, from the blocks alone.

A GIF is a header, a logical screen descriptor (the canvas size) and an optional
global colour table, then blocks: extensions (``21``: a label and data
sub-blocks; the graphic control extension carries the next frame's delay), image
descriptors (``2C``: one frame's rectangle, an optional local colour table, then
LZW data in sub-blocks) and the trailer (``3B``). A sub-block is a length byte
and that many bytes; a zero length ends a chain.

The walk reads each length byte and skips the data, so counting the frames of a
GIF costs nothing like decoding them (a decoder redraws the whole canvas for each
frame: 2,000 one-pixel frames on a 5000x5000 canvas took minutes). It stops
after ``max_frames`` frames, and refuses more than ``MAX_BLOCKS`` blocks or
``MAX_SUB_BLOCKS`` sub-blocks, so a file built of millions of one-byte sub-blocks
or of empty extensions is not a long loop either.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import FormatError, TooComplex
from .source import Source

SIGNATURES = (b"GIF87a", b"GIF89a")
_EXTENSION, _IMAGE, _TRAILER = 0x21, 0x2C, 0x3B
_GRAPHIC_CONTROL, _COMMENT = 0xF9, 0xFE
# Sub-blocks walked at most: real encoders write 255-byte sub-blocks, so this is a
# GIF of about a gigabyte; one-byte sub-blocks reach it at 8 MB (in about a second).
MAX_SUB_BLOCKS = 4_000_000
# Blocks (extensions and frames) walked at most: a real GIF has one or two
# extensions per frame, and frames are counted up to max_frames (10,000 by default).
MAX_BLOCKS = 100_000
MAX_FRAMES = 10_000


class NotAGif(FormatError):
    """No GIF header, or a damaged block before the first frame ends."""


@dataclass(frozen=True)
class GifLayout:
    """What the walk of a GIF's blocks found: canvas, frames, duration, where it ends."""
    width: int  # the canvas: the logical screen, grown to hold every frame walked
    height: int  # (decoders grow it the same way)
    frames: int  # image descriptors walked (at most max_frames)
    duration: float  # the walked frames' delays added up, in seconds
    end: int  # offset just past the trailer, or of the first byte that is not a block
    size: int  # bytes in the data walked
    complete: bool  # the walk reached the trailer (or a non-block byte) with every frame whole
    comment_bytes: int  # data in comment, application and plain-text extensions

    @property
    def trailing(self) -> int:
        """Bytes after the end of the image (appended scripts, archives); 0 when
        the walk stopped early, since the end is then unknown."""
        return self.size - self.end if self.complete else 0


class _Walk:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.blocks = 0
        self.sub_blocks = 0

    def skip_chain(self, pos: int) -> tuple[int, int]:
        """Skip the data sub-blocks starting at ``pos``: the offset just past the zero
        length that ends them, and the data bytes they held. Raises EOFError when the
        data ends first."""
        held = 0
        self.blocks += 1
        if self.blocks > MAX_BLOCKS:
            raise TooComplex(f"more than {MAX_BLOCKS:,} blocks (not a real picture)")
        while True:
            window = self.src.read(pos, self.src.window_size)
            if not window:
                raise EOFError
            i, n = 0, len(window)
            while i < n:
                size = window[i]
                if size == 0:
                    return pos + i + 1, held
                i += size + 1
                held += size
                self.sub_blocks += 1
            pos += i
            if self.sub_blocks > MAX_SUB_BLOCKS:  # checked per window: at most 32,768 more
                raise TooComplex(f"more than {MAX_SUB_BLOCKS:,} data sub-blocks (not a real picture)")


def _table_bytes(packed: int) -> int:
    """Bytes of the colour table a packed field announces (0 when it has none)."""
    return 3 * (2 << (packed & 0x07)) if packed & 0x80 else 0


def walk(data: bytes | Source, max_frames: int = MAX_FRAMES) -> GifLayout:
    """Walk the blocks from the header to the trailer. Raises NotAGif when there is
    no header or the first frame is not whole; later damage ends the walk there
    (``complete`` is False), as decoders show what they could read."""
    src = Source.of(data)
    head = src.read(0, 13)
    if len(head) < 13 or head[:6] not in SIGNATURES:
        raise NotAGif("no GIF header")
    width, height = int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    pos = 13 + _table_bytes(head[10])
    walker = _Walk(src)
    frames = comments = 0
    hundredths = 0
    delay = 0  # from the last graphic control extension, for the next frame

    def result(end: int, complete: bool) -> GifLayout:
        return GifLayout(width=width, height=height, frames=frames, duration=hundredths / 100,
                         end=end, size=src.size, complete=complete, comment_bytes=comments)

    while frames < max_frames:
        kind = src.byte(pos)
        try:
            if kind == _EXTENSION:
                label = src.byte(pos + 1)
                if label == _GRAPHIC_CONTROL:
                    control = src.read(pos + 2, 6)
                    if len(control) == 6 and control[0] >= 3:
                        delay = int.from_bytes(control[2:4], "little")
                end, held = walker.skip_chain(pos + 2)
                if label != _GRAPHIC_CONTROL:
                    comments += held
                pos = end
            elif kind == _IMAGE:
                desc = src.read(pos + 1, 9)
                if len(desc) < 9:
                    raise EOFError
                x, y, w, h = (int.from_bytes(desc[i:i + 2], "little") for i in range(0, 8, 2))
                width, height = max(width, x + w), max(height, y + h)
                # The LZW minimum code size byte, then the data sub-blocks.
                pos, _ = walker.skip_chain(pos + 10 + _table_bytes(desc[8]) + 1)
                frames += 1
                hundredths += delay
                delay = 0
            elif kind == _TRAILER:
                return result(pos + 1, True)
            elif kind < 0:
                if frames == 0:
                    raise NotAGif("the GIF is truncated before its first frame")
                return result(src.size, False)  # no trailer: many GIFs in the wild end so
            else:
                # Not a block: what follows is not part of the image (an appended
                # payload, or damage). Decoders stop here too.
                if frames == 0:
                    raise NotAGif(f"unknown block 0x{kind:02x} before the first frame")
                return result(pos, True)
        except EOFError:
            if frames == 0:
                raise NotAGif("the GIF is truncated inside its first frame") from None
            return result(src.size, False)
    return result(pos, False)
