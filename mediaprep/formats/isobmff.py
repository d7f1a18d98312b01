"""ISO base media file format (ISO/IEC 14496-12, the MP4/MOV box structure): the
top-level box order and the duration the movie header claims.

A box is a 4-byte big-endian size (0: to the end of the file, 1: a 64-bit size
follows the type), a 4-byte type and its payload. The walker reads 16 bytes per
box header and seeks over payloads, so a multi-gigabyte file costs a few reads;
it visits at most ``MAX_BOXES`` boxes per level and stops quietly at a box whose
size cannot be right (a cut-off or damaged file): the facts asked of it are then
"not found" (None), never an exception.
"""
from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Boxes visited per level at most: a real file has a handful at the top level and
# in moov; a file of millions of 8-byte boxes must not become a long loop.
MAX_BOXES = 10_000
_MVHD_V0 = struct.Struct(">II")  # timescale, duration (32-bit), at payload offset 12
_MVHD_V1 = struct.Struct(">IQ")  # timescale, duration (64-bit), at payload offset 20

Source = Path | BinaryIO


@dataclass(frozen=True)
class Box:
    """One ISO BMFF box: its type and where its header, payload and end are."""
    type: bytes  # four bytes: b"moov", b"mdat", ...
    start: int  # offset of its header
    body: int  # offset of its payload
    end: int  # offset just past it (clipped to the enclosing box)


def boxes(fh: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """The boxes between ``start`` and ``end`` of a seekable binary file, one level
    deep. Seeks before every header, so two walks over one file may interleave."""
    pos = start
    for _ in range(MAX_BOXES):
        if pos + 8 > end:
            return
        fh.seek(pos)
        head = fh.read(16)
        if len(head) < 8:
            return
        size = int.from_bytes(head[:4], "big")
        kind = bytes(head[4:8])
        header = 8
        if size == 1 and len(head) >= 16:
            size, header = int.from_bytes(head[8:16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header:
            return  # a size smaller than its own header: damaged, nothing more to trust
        yield Box(type=kind, start=pos, body=pos + header, end=min(pos + size, end))
        pos += size


@contextlib.contextmanager
def _opened(source: Source) -> Iterator[tuple[BinaryIO, int]]:
    """The source as a binary file and its size; a path is opened and closed here."""
    if isinstance(source, Path):
        with open(source, "rb") as fh:
            yield fh, source.stat().st_size
        return
    yield source, source.seek(0, 2)


def moov_before_mdat(source: Source) -> bool | None:
    """True when the top-level moov box comes before mdat (+faststart): a phone can
    start playing before the whole file arrived. None when neither is found."""
    with _opened(source) as (fh, size):
        for box in boxes(fh, 0, size):
            if box.type == b"moov":
                return True
            if box.type == b"mdat":
                return False
    return None


def mvhd_duration(source: Source) -> float | None:
    """The duration the movie header (moov/mvhd) claims, in seconds: libav may
    prefer the track headers, while players show this one. None when there is no
    readable mvhd or its timescale is 0."""
    with _opened(source) as (fh, size):
        for box in boxes(fh, 0, size):
            if box.type != b"moov":
                continue
            for sub in boxes(fh, box.body, box.end):
                if sub.type != b"mvhd":
                    continue
                fh.seek(sub.body)
                # version (1 byte) + flags (3), then creation and modification
                # times: 4 bytes each in version 0, 8 in version 1 (14496-12 8.2.2).
                data = fh.read(32)
                if data[:1] == b"\x01" and len(data) >= 32:
                    scale, dur = _MVHD_V1.unpack(data[20:32])
                elif len(data) >= 20:
                    scale, dur = _MVHD_V0.unpack(data[12:20])
                else:
                    return None
                return float(dur / scale) if scale else None
    return None
