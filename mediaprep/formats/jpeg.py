"""JPEG marker structure (ITU-T T.81 annex B): the segments of the main image, its
scans, where it really ends, and lossless removal of its metadata.

One marker walk serves the probe (frame size, scans, metadata, bytes appended
after the image) and the lossless strip of the image fit. The end of the image is
found by walking the markers, never by searching for the last FF D9: a polyglot
can append a payload that itself ends in FF D9. Scans are counted the same way, never by searching for FF DA: those
two bytes are common inside a comment, EXIF or appended data.

Dropping APPn and COM segments leaves the entropy-coded data, and so every pixel,
untouched. The strip keeps APP0 (JFIF) and APP14 (Adobe: it says how to interpret
the colour transform) and drops the rest: EXIF and XMP (APP1), ICC (APP2; the
caller strips only when the profile is absent or sRGB), vendor blocks, comments,
anything after EOI.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import FormatError, TooComplex
from .source import Source

SOI = 0xD8
EOI = 0xD9
SOS = 0xDA
COM = 0xFE
# Markers without a length field (T.81 table B.1): TEM and the restart markers.
# SOI only ever appears first, where the walk has already consumed it.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_KEEP_APP = frozenset({0xE0, 0xEE})  # APP0 (JFIF), APP14 (Adobe colour transform)
# Start-of-frame markers (T.81 table B.1): C0-CF but DHT (C4), JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Segments the walk follows at most. A real JPEG has a few dozen (APPn, DQT, DHT,
# SOF, SOS per scan); a hostile one of a million 4-byte comments costs a second
# of Python per million.
MAX_SEGMENTS = 10_000

# The next marker from a position between segments, found as libjpeg's next_marker()
# finds it: any number of FF fill bytes before the marker code (T.81 B.1.1.2), and
# any other bytes before that skipped (libjpeg warns "N extraneous bytes before
# marker" and decodes on; Photoshop and some cameras write such padding), FF 00
# included. The pattern is an FF directly followed by a marker code, which is
# the last FF of any run: one fixed-width try per offset, searched in C, so a
# file of a million FFs or stray bytes costs no Python loop and no backtracking.
_NEXT_MARKER = re.compile(rb"\xff[^\x00\xff]")
# The first marker after an SOS header. In entropy-coded data FF is followed by 00
# (a stuffed byte, B.1.1.5), a restart marker D0-D7, or FF (fill); any other
# FF xx is the next real marker.
_MARKER_IN_SCAN = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


# Start-of-frame markers (T.81 table B.1) and the coding process each names. Only
# baseline sequential is required of every DCT decoder (T.81 4.11: the "baseline
# system"); the others are optional capabilities, which hardware decoders and
# minimal software ones may lack.
SOF_PROCESS = {0xC0: "baseline", 0xC1: "extended", 0xC2: "progressive", 0xC3: "lossless",
               0xC5: "hierarchical", 0xC6: "hierarchical", 0xC7: "hierarchical",
               0xC9: "arithmetic", 0xCA: "arithmetic", 0xCB: "arithmetic",
               0xCD: "hierarchical", 0xCE: "hierarchical", 0xCF: "hierarchical"}


class NotAJpeg(FormatError):
    """The bytes are not a complete JPEG: no SOI, a damaged segment, or no EOI."""


@dataclass(frozen=True)
class Segment:
    """One JPEG marker segment and where it starts and ends."""
    marker: int  # the byte after FF (0xD8 SOI, 0xE1 APP1, 0xDA SOS, ...)
    start: int  # offset of its FF
    end: int  # offset just past it; for SOS, past its entropy-coded data


@dataclass(frozen=True)
class JpegLayout:
    """The main image's segments, SOI first and EOI last."""

    segments: tuple[Segment, ...]
    size: int  # bytes in the data walked
    width: int = 0  # from the first frame header (SOF); 0 when there is none
    height: int = 0

    @property
    def end(self) -> int:
        """Offset just past the EOI that ends the main image."""
        return self.segments[-1].end

    @property
    def trailing(self) -> int:
        """Bytes after the EOI: appended archives, scripts, second images."""
        return self.size - self.end

    @property
    def process(self) -> str | None:
        """The coding process of the main image's frame ("baseline", "progressive",
        ...), from its SOF marker; None without one."""
        for s in self.segments:
            if s.marker in SOF_PROCESS:
                return SOF_PROCESS[s.marker]
        return None

    @property
    def scans(self) -> int:
        """SOS segments in the main image (1 for baseline, ~10 for progressive)."""
        return sum(1 for s in self.segments if s.marker == SOS)

    @property
    def metadata_bytes(self) -> int:
        """Bytes in the segments the strip drops (APPn but JFIF and Adobe, COM)."""
        return sum(s.end - s.start for s in self.segments if is_metadata(s.marker))

    @property
    def stripped_size(self) -> int:
        """Bytes ``strip_metadata`` returns: the image without metadata, stray bytes
        between segments or trailing bytes."""
        return sum(s.end - s.start for s in self.segments if not is_metadata(s.marker))


def walk(data: bytes | Source, max_segments: int = MAX_SEGMENTS) -> JpegLayout:
    """Walk the markers from SOI to EOI. Raises NotAJpeg when the bytes do not
    reach an EOI that way (truncated, damaged, or not a JPEG at all); TooComplex
    when the image has more than ``max_segments`` segments (no real JPEG has a
    thousand; a file of a million empty ones must not become a long loop).

    Reads only marker headers and searches scan data for the next marker: bytes
    after the EOI (2 GB of appended zeros, say) are never read."""
    src = Source.of(data)
    if src.read(0, 2) != b"\xff\xd8":
        raise NotAJpeg("no SOI marker")
    out = [Segment(SOI, 0, 2)]
    pos, n = 2, src.size
    width = height = 0
    while pos < n:
        if len(out) > max_segments:
            raise TooComplex(f"more than {max_segments:,} segments (not a real photo)")
        found = src.search(_NEXT_MARKER, pos)  # fill and stray bytes skipped, as libjpeg does
        if found is None:
            break  # no marker to the end: no EOI
        pos = found
        marker = src.byte(pos + 1)
        if marker == EOI:
            out.append(Segment(marker, pos, pos + 2))
            return JpegLayout(segments=tuple(out), size=n, width=width, height=height)
        if marker in _STANDALONE:
            out.append(Segment(marker, pos, pos + 2))
            pos += 2
            continue
        # The length counts itself (2 bytes) but not the marker (T.81 B.1.1.4).
        length = src.u16be(pos + 2)
        if length is None:
            break
        end = pos + 2 + length
        if length < 2 or end > n:
            raise NotAJpeg("segment runs past the end of the file")
        if marker in _SOF and not width:
            # Frame header: precision (1 byte), height, width (T.81 B.2.2).
            head = src.read(pos + 5, 4)
            if len(head) == 4:
                height, width = int.from_bytes(head[:2], "big"), int.from_bytes(head[2:], "big")
        if marker != SOS:
            out.append(Segment(marker, pos, end))
            pos = end
            continue
        # SOS: the header, then entropy-coded data up to the next real marker.
        found = src.search(_MARKER_IN_SCAN, end)
        if found is None:
            raise NotAJpeg("scan data runs to the end of the file (truncated, no EOI)")
        out.append(Segment(marker, pos, found))
        pos = found
    raise NotAJpeg("no EOI marker (truncated file)")


def is_metadata(marker: int) -> bool:
    """APPn segments other than JFIF and Adobe, and comments: what the strip drops."""
    return (0xE0 <= marker <= 0xEF and marker not in _KEEP_APP) or marker == COM


def strip_metadata(data: bytes, layout: JpegLayout | None = None) -> bytes:
    """The same image without metadata segments or trailing bytes, every pixel
    untouched. ``layout``: the walk of these bytes, when the caller has it already.
    Raises NotAJpeg when the bytes are not a complete JPEG."""
    layout = layout or walk(data)
    return b"".join(data[s.start:s.end] for s in layout.segments if not is_metadata(s.marker))
