"""structure: what an image file's own records say, read before any decoder sees it.

The byte parsers of ``mediaprep.formats`` walk the file (JPEG markers, PNG chunks,
GIF blocks, WebP chunks) through a bounded reader, and the facts that decide how
much work a decode would be (the canvas, the frames, the scans, the metadata) are
checked against the profile's ``[safety]`` limits here, so a file built to make a
decoder run for minutes or fill memory is refused before Pillow opens it. Frame
counts, canvas sizes and durations of animations come from these walks: nothing
seeks a Pillow image frame by frame (a decoder redraws the whole canvas on every
frame). Formats without a walk here (BMP, TIFF) are checked on Pillow's header.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, LimitExceeded
from ..formats import FormatError, TooComplex
from ..formats.source import Source
from ..profiles import SafetyLimits
from .sniff import Sniffed

# Metadata of all kinds together (every JPEG APPn and COM segment, every PNG chunk
# that is not pixels, GIF comments, WebP metadata chunks), as a multiple of
# max_metadata_bytes. Decoders keep all of it in memory while opening; phones write
# up to a few MB (depth maps in extended XMP), so 16 MB refuses only built files.
METADATA_TOTAL_FACTOR = 16


@dataclass(frozen=True)
class Structure:
    """The facts an image's container records; 0 where the format has no walk here."""

    width: int = 0  # the canvas
    height: int = 0
    frames: int = 1  # counted up to the profile's max_frames_probe
    duration: float = 0.0  # an animation's delays added up, in seconds
    end: int | None = None  # offset just past the image; None when unknown
    complete: bool = True  # the walk reached the end of the image
    scans: int = 0  # JPEG scans
    metadata_bytes: int = 0
    exif_at: tuple[int, int] | None = None  # (offset, length) of an EXIF block to read ourselves
    text_chunks: int = 0  # PNG text chunks anywhere, GIF comment extensions' bytes
    walked: bool = True  # False: no walk here for this format (BMP, TIFF)
    jpeg_process: str | None = None  # "baseline", "progressive", ... (formats.jpeg.SOF_PROCESS)

    def trailing(self, size: int) -> int:
        """Bytes after the end of the image; 0 when the end is unknown."""
        return size - self.end if self.end is not None else 0


def _walk(sniffed: Sniffed, src: Source, limits: SafetyLimits) -> Structure:
    # Each format's parser is imported when a file of it comes: a JPEG needs one.
    fmt = sniffed.format
    frames_cap = max(1, limits.max_frames_probe)
    if fmt == "jpeg":
        from ..formats import jpeg

        j = jpeg.walk(src)
        if j.scans > limits.max_jpeg_scans:
            raise LimitExceeded(
                f"JPEG has {j.scans:,} scans (limit {limits.max_jpeg_scans}); decoding it would "
                "take far longer than its size suggests", path=sniffed.path,
                hint="re-save it as a baseline JPEG with another tool first")
        return Structure(width=j.width, height=j.height, end=j.end, scans=j.scans,
                         metadata_bytes=j.metadata_bytes, jpeg_process=j.process)
    if fmt == "png":
        from ..formats import png

        p = png.walk(src)
        return Structure(width=p.width, height=p.height, frames=min(p.frames, frames_cap),
                         duration=p.duration, end=p.end, metadata_bytes=p.other_bytes,
                         exif_at=p.exif_at, text_chunks=p.text_chunks)
    if fmt == "gif":
        from ..formats import gif

        g = gif.walk(src, frames_cap)
        if g.frames == 0:
            raise BadInput("the GIF holds no image", path=sniffed.path,
                           hint="export or download it again")
        return Structure(width=g.width, height=g.height, frames=g.frames, duration=g.duration,
                         end=g.end if g.complete else None, complete=g.complete,
                         metadata_bytes=g.comment_bytes, text_chunks=int(g.comment_bytes > 0))
    if fmt == "webp":
        from ..formats import webp

        w = webp.walk(src)
        return Structure(width=w.width, height=w.height, frames=min(w.frames, frames_cap),
                         duration=w.duration, end=w.end, metadata_bytes=w.other_bytes,
                         exif_at=w.exif_at)
    return Structure(walked=False)


def check_size(width: int, height: int, limits: SafetyLimits, path: Path) -> None:
    """Refuse a canvas over our pixel or side limits (our own limits, not Pillow's)."""
    if width > limits.max_side or height > limits.max_side or width * height > limits.max_pixels:
        raise LimitExceeded(
            f"image dimensions {width}x{height} exceed our limit ({limits.max_pixels:,} pixels, "
            f"{limits.max_side} px a side)", path=path,
            hint="downscale it first; such sizes are refused before decoding")


def read_structure(sniffed: Sniffed, src: Source, limits: SafetyLimits) -> Structure:
    """Walk the image's container and check what it says against ``limits``.
    Raises BadInput (damaged, truncated) or LimitExceeded (too much work), exit 4."""
    label = sniffed.format.upper()
    try:
        found = _walk(sniffed, src, limits)
    except TooComplex as exc:
        raise LimitExceeded(f"the {label} has {exc.message}", path=sniffed.path,
                            hint="such files are refused before decoding") from exc
    except FormatError as exc:
        raise BadInput(f"the {label} is truncated or corrupt ({exc.message})", path=sniffed.path,
                       hint="export or download it again") from exc
    check_size(found.width, found.height, limits, sniffed.path)
    most = METADATA_TOTAL_FACTOR * limits.max_metadata_bytes
    if found.metadata_bytes > most:
        raise LimitExceeded(f"{found.metadata_bytes:,} bytes of metadata (limit {most:,})",
                            path=sniffed.path, hint="strip the metadata with another tool first")
    if found.exif_at is not None and found.exif_at[1] > limits.max_metadata_bytes:
        raise LimitExceeded(
            f"exif metadata is {found.exif_at[1]:,} bytes (limit {limits.max_metadata_bytes:,})",
            path=sniffed.path, hint="strip the metadata with another tool first")
    return found
