"""JPEG marker structure (ITU-T T.81 annex B): the segments of the main image, its
scans, where it really ends, and lossless removal of its metadata.

One marker walk serves the probe (bytes appended after the image) and the lossless
strip of the image fit. The end of the image is found by walking the markers,
never by searching for the last FF D9: a polyglot can append a payload that itself
ends in FF D9.

Dropping APPn and COM segments leaves the entropy-coded data, and so every pixel,
untouched. The strip keeps APP0 (JFIF) and APP14 (Adobe: it says how to interpret
the colour transform) and drops the rest: EXIF and XMP (APP1), ICC (APP2; the
caller strips only when the profile is absent or sRGB), vendor blocks, comments,
anything after EOI.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import FormatError

SOI = 0xD8
EOI = 0xD9
SOS = 0xDA
COM = 0xFE
# Markers without a length field (T.81 table B.1): TEM and the restart markers.
# SOI only ever appears first, where the walk has already consumed it.
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_KEEP_APP = frozenset({0xE0, 0xEE})  # APP0 (JFIF), APP14 (Adobe colour transform)

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
    marker: int  # the byte after FF (0xD8 SOI, 0xE1 APP1, 0xDA SOS, ...)
    start: int  # offset of its FF
    end: int  # offset just past it; for SOS, past its entropy-coded data


@dataclass(frozen=True)
class JpegLayout:
    """The main image's segments, SOI first and EOI last."""

    segments: tuple[Segment, ...]
    size: int  # bytes in the data walked

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


def walk(data: bytes) -> JpegLayout:
    """Walk the markers from SOI to EOI, skipping fill and stray bytes between
    segments as libjpeg does. Raises NotAJpeg when the bytes do not reach an EOI
    that way (truncated, damaged, or not a JPEG at all)."""
    if not data.startswith(b"\xff\xd8"):
        raise NotAJpeg("no SOI marker")
    out = [Segment(SOI, 0, 2)]
    pos, n = 2, len(data)
    while pos < n:
        found = _NEXT_MARKER.search(data, pos)
        if found is None:
            break  # no marker to the end: no EOI
        pos = found.start()
        marker = data[pos + 1]
        if marker == EOI:
            out.append(Segment(marker, pos, pos + 2))
            return JpegLayout(segments=tuple(out), size=n)
        if marker in _STANDALONE:
            out.append(Segment(marker, pos, pos + 2))
            pos += 2
            continue
        if pos + 4 > n:
            break
        # The length counts itself (2 bytes) but not the marker (T.81 B.1.1.4).
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        end = pos + 2 + length
        if length < 2 or end > n:
            raise NotAJpeg("segment runs past the end of the file")
        if marker != SOS:
            out.append(Segment(marker, pos, end))
            pos = end
            continue
        # SOS: the header, then entropy-coded data up to the next real marker.
        found = _MARKER_IN_SCAN.search(data, end)
        if found is None:
            raise NotAJpeg("scan data runs to the end of the file (truncated, no EOI)")
        out.append(Segment(marker, pos, found.start()))
        pos = found.start()
    raise NotAJpeg("no EOI marker (truncated file)")


def count_sos_markers(data: bytes) -> int:
    """Every FF DA pair in the bytes: an upper bound on ``walk(data).scans``, since
    a pair inside metadata or appended bytes counts too (inside entropy-coded data
    FF is always followed by 00 or a restart marker, so it never adds one there).

    The probe checks its scan limit with this, before walking: one pass in C over
    the bytes, and never lower than the real count, so a file built to make the
    decoder run thousands of scans is refused before anything else looks at it."""
    return data.count(b"\xff\xda")


def is_metadata(marker: int) -> bool:
    """APPn segments other than JFIF and Adobe, and comments: what the strip drops."""
    return (0xE0 <= marker <= 0xEF and marker not in _KEEP_APP) or marker == COM


def strip_metadata(data: bytes) -> bytes:
    """The same image without metadata segments or trailing bytes, every pixel
    untouched. Raises NotAJpeg when the bytes are not a complete JPEG."""
    layout = walk(data)
    return b"".join(data[s.start:s.end] for s in layout.segments if not is_metadata(s.marker))
