"""Big-endian WAV (RIFX): the sample format its ``fmt `` chunk declares.

RIFX is RIFF with every number big-endian (written by old Mac and Java tools and
found in test suites). libav's wav demuxer reads its headers but labels the PCM
little-endian, so the samples come out as noise unless the decoder is named:
``decoder`` gives the libav PCM decoder for the declared format.
"""
from __future__ import annotations

# fmt chunk format tag (RFC 2361) of integer PCM: the only one libav's wav demuxer
# takes in RIFX (floating point and WAVE_FORMAT_EXTENSIBLE: "not yet implemented").
_PCM = 1
_INTEGER = {8: "pcm_u8", 16: "pcm_s16be", 24: "pcm_s24be", 32: "pcm_s32be"}
MAX_CHUNKS = 64  # chunks looked at before fmt: a real file has one or two (LIST, fact)


def is_rifx(head: bytes) -> bool:
    return head[:4] == b"RIFX" and head[8:12] == b"WAVE"


def decoder(head: bytes) -> str | None:
    """The libav decoder for the samples of a RIFX WAVE whose start is ``head``;
    None when it is not RIFX, its fmt chunk is not in ``head``, or the format is
    not PCM/float of a size libav has a big-endian decoder for."""
    if not is_rifx(head):
        return None
    pos = 12
    for _ in range(MAX_CHUNKS):
        if pos + 8 > len(head):
            return None
        size = int.from_bytes(head[pos + 4:pos + 8], "big")
        if head[pos:pos + 4] == b"fmt ":
            if size < 16 or pos + 24 > len(head):
                return None
            tag = int.from_bytes(head[pos + 8:pos + 10], "big")
            bits = int.from_bytes(head[pos + 22:pos + 24], "big")
            return _INTEGER.get(bits) if tag == _PCM else None
        pos += 8 + size + (size & 1)  # chunks are padded to an even size
    return None
