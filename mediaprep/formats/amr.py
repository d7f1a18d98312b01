"""The AMR-NB storage format (RFC 4867 section 5): a 6-byte ``#!AMR\\n`` header, then
frames, each a one-byte table of contents and a payload whose size the frame type
fixes. Parsing it to the last byte tells a real AMR-NB file from garbage and gives
the exact duration (20 ms a frame) without a decoder.
"""
from __future__ import annotations

from . import FormatError

MAGIC = b"#!AMR\n"
SAMPLE_RATE = 8000  # AMR-NB is narrow-band: 8 kHz mono, always
FRAME_SAMPLES = 160  # one frame: 20 ms
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
# Bytes per frame including the ToC byte, by frame type (3GPP TS 26.101 table 1a):
# 0-7 speech modes 4.75 ... 12.2 kbit/s, 8 SID (comfort noise), 15 no data.
# Types 9-11 (other systems' SID) and 12-14 (reserved) never appear in a file we write.
_FRAME_BYTES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}
MR122_FRAME_BYTES = 32  # 12.2 kbit/s: 244 bits + ToC = 1,600 bytes a second


class NotAmrNb(FormatError):
    """No ``#!AMR\\n`` header, or a byte that is not a valid AMR-NB frame."""


def frame_offsets(data: bytes) -> list[int]:
    """Byte offset of every frame, and the end of the last one (len = frames + 1).
    Raises NotAmrNb when any byte does not fit the format."""
    if not data.startswith(MAGIC):
        raise NotAmrNb("no #!AMR header")
    pos, n = len(MAGIC), len(data)
    offsets = [pos]
    while pos < n:
        toc = data[pos]
        if toc & 0x83:  # the padding bits (P) must be zero
            raise NotAmrNb(f"bad frame header at byte {pos}")
        size = _FRAME_BYTES.get((toc >> 3) & 0x0F)
        if size is None or pos + size > n:
            raise NotAmrNb(f"bad or truncated frame at byte {pos}")
        pos += size
        offsets.append(pos)
    return offsets


def count_frames(data: bytes) -> int:
    """Frames in an AMR-NB file; raises NotAmrNb when any byte does not fit the format."""
    return len(frame_offsets(data)) - 1


def duration_of(data: bytes) -> float:
    """Seconds of audio (20 ms a frame); raises NotAmrNb like ``count_frames``."""
    return count_frames(data) * FRAME_SECONDS


def bytes_for(frames: int) -> int:
    """File size at 12.2 kbit/s with DTX off (every frame is a full speech frame)."""
    return len(MAGIC) + frames * MR122_FRAME_BYTES
