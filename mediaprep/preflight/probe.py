"""probe: the facts about a file, without decoding its pixels or samples.

Images are first walked by the byte parsers in ``mediaprep.formats`` (through
``structure``): canvas, frames, scans, metadata and the end of the image come from
the container's own records and are checked against the profile's ``[safety]``
limits before any decoder sees the file. Then Pillow reads the header with the one
plugin libmagic's verdict allows (``formats=[...]``), so a file can never reach a
decoder for another type and Pillow can never start Ghostscript. Audio and video
are read in-process by PyAV through ``mediaprep.tools.av``, with the demuxer
forced and the input handed over as an open file object: no protocol layer, no
playlist or concat parsing, no ffprobe binary needed. Both run under the
profile's wall clock (``guard.bounded``).

Pillow's module settings (``MAX_IMAGE_PIXELS``, ``LOAD_TRUNCATED_IMAGES``) are the
host program's and are never changed here: our limits are checked on sizes we read
ourselves, and truncation is found by the structure walks.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from ..errors import BadInput, LimitExceeded, UnsupportedType
from ..formats.source import Source
from ..guard import bounded, check_memory
from ..profiles import SafetyLimits
from .sniff import Sniffed
from .structure import Structure, check_size, read_structure

if TYPE_CHECKING:
    from PIL import Image

    # Audio and video are read by tools.av (AudioStream and VideoStream are part of
    # MediaInfo), imported where a file is one: a picture never pays for it.
    from ..tools.av import AudioStream, Media, VideoStream

P = ParamSpec("P")
R = TypeVar("R")

EXIF_ORIENTATION = 0x0112
EXIF_GPS_IFD = 0x8825


@dataclass(frozen=True)
class ImageInfo:
    """What the probe read of a picture, without decoding its pixels."""
    width: int
    height: int
    mode: str
    format: str  # our canonical name (jpeg, png, ...)
    orientation: int  # EXIF orientation 1..8 (1 = upright)
    frames: int  # animation frames (1 for a still), counted up to safety.max_frames_probe
    has_exif: bool
    has_gps: bool
    has_icc: bool
    has_xmp: bool
    has_comment: bool  # JPEG COM, PNG text chunks, GIF comment
    trailing_bytes: int  # bytes after the end of the image (JPEG EOI); 0 if unknown
    bits: int  # bits per sample (8 or 16)
    progressive: bool
    subsampling: str | None  # "4:2:0", "4:4:4", ... for JPEG
    duration: float = 0.0  # an animation's frame delays added up, in seconds
    complete: bool = True  # the structure walk reached the end (False: frames capped, no trailer)
    jpeg_process: str | None = None  # "baseline", "extended", "progressive", ... (formats.jpeg.SOF_PROCESS)

    @property
    def display_size(self) -> tuple[int, int]:
        """Width and height as a phone shows it (after EXIF orientation)."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height

    @property
    def carries_extras(self) -> bool:
        """Anything but the picture: metadata, profiles, comments, appended bytes."""
        return (self.has_exif or self.has_icc or self.has_xmp or self.has_comment
                or self.trailing_bytes > 0)


_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}
# HEIF stills: HEVC-coded (HEIC, via pillow-heif) and AV1-coded (AVIF, Pillow's plugin).
HEIF_FORMATS = frozenset({"heic", "heif", "avif"})


def _webp_bytes(sniffed: Sniffed, end: int | None, limits: SafetyLimits) -> io.BytesIO:
    """The WebP's own bytes (its RIFF chunk), in memory: Pillow's WebP reader reads
    its whole input when it opens it, so it never gets the file, whose appended
    bytes could be gigabytes."""
    with open(sniffed.path, "rb") as fh:
        if end is None:
            end = read_structure(sniffed, Source.of_file(fh), limits).end or 0
        # Pillow copies what it reads once more; the decoder keeps one copy.
        check_memory("opening the WebP", 3 * end, limits.memory_mb, sniffed.path)
        return io.BytesIO(fh.read(end))


def open_image(sniffed: Sniffed, limits: SafetyLimits, end: int | None = None) -> Image.Image:
    """Open (lazily: header only) with the sniffed plugin, checked against our own
    pixel limits. ``end``: where the image ends, when the structure walk knows."""
    from PIL import Image, UnidentifiedImageError  # pictures only: a voice note never needs Pillow

    assert sniffed.pillow is not None
    if sniffed.format in HEIF_FORMATS:
        # The item layout against our limits first: nothing of it is decoded yet.
        from . import heif

        heif.check_layout(sniffed, limits)
        if sniffed.pillow == "HEIF":
            from ..tools import heif as heif_tool

            heif_tool.register()
    source = _webp_bytes(sniffed, end, limits) if sniffed.format == "webp" else sniffed.path
    try:
        with warnings.catch_warnings():
            # Our limits decide, on sizes we read ourselves (structure.check_size
            # before, and again below); Pillow's other warnings (odd EXIF it skips, a
            # palette note) are about metadata we drop anyway: never printed.
            warnings.simplefilter("ignore")
            im = Image.open(source, formats=[sniffed.pillow])
    except Image.DecompressionBombError as exc:  # the host program set a lower limit
        raise LimitExceeded(f"image dimensions exceed Pillow's limit: {exc}", path=sniffed.path,
                            hint="such sizes are refused before decoding; downscale it first") from exc
    except ValueError as exc:
        if "too large" in str(exc).lower():  # a text/ICC chunk that inflates past Pillow's cap
            raise LimitExceeded("a metadata chunk inflates to more than we accept", path=sniffed.path,
                                hint="strip the metadata with another tool first") from exc
        raise BadInput(f"cannot read the {sniffed.format.upper()} image: {exc}", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    except UnidentifiedImageError as exc:
        # The plugin refused the header (its message only repeats the file name).
        raise BadInput(f"cannot read the {sniffed.format.upper()} image: its header is damaged or "
                       "incomplete", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    except (OSError, SyntaxError, EOFError) as exc:
        raise BadInput(f"cannot read the {sniffed.format.upper()} image: {exc}", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    w, h = im.size
    try:
        if w <= 0 or h <= 0:
            raise BadInput(f"the image claims a size of {w}x{h}", path=sniffed.path,
                           hint="the file is damaged; export or download it again")
        check_size(w, h, limits, sniffed.path)
    except BadInput:
        im.close()
        raise
    return im


# Bytes a pixel may cost while the image fit decodes: the decoded frame, its
# conversion to 8-bit RGB(A) and the normalized copy resized from, 4 bytes a pixel
# each at most; a WebP's decoder holds two more canvases of its own.
_DECODE_COPIES = 3
_WEBP_CANVASES = 2


def decode_bytes(im: Image.Image) -> int:
    """About how much memory decoding ``im`` (at its current, possibly reduced,
    size) may hold at once: checked against safety.memory_mb before decoding."""
    copies = _DECODE_COPIES + (_WEBP_CANVASES if im.format == "WEBP" else 0)
    return im.width * im.height * 4 * copies


def _exif(sniffed: Sniffed, im: Image.Image, block: bytes | None, facts: Structure) -> Image.Exif:
    """The EXIF tags. For PNG from the eXIf chunk we found ourselves: Pillow's PNG
    getexif() decodes every pixel to look for one after the image data. A PNG can
    also carry its EXIF (and so its orientation) in ImageMagick's "Raw profile type
    exif" text chunk or an XMP packet: only then is Pillow asked."""
    if sniffed.format != "png":
        return im.getexif()
    from PIL import Image

    exif = Image.Exif()
    if block:
        exif.load(block)
    elif facts.text_chunks > 0 or "XML:com.adobe.xmp" in im.info:
        return im.getexif()
    return exif


def quietly(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with Python warnings dropped: Pillow warns (with its own file paths)
    about metadata it skips while reading EXIF or seeking frames; none of it is
    the user's concern, and what is gets one of our own notices."""
    @functools.wraps(fn)
    def quiet(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kwargs)
    return quiet


@quietly
def probe_image(sniffed: Sniffed, limits: SafetyLimits) -> ImageInfo:
    with open(sniffed.path, "rb") as fh:
        src = Source.of_file(fh)
        facts = read_structure(sniffed, src, limits)
        block = src.read(*facts.exif_at) if facts.exif_at else None
    if not facts.walked:
        # No walk of our own for this format (BMP, TIFF): Pillow's header parser may
        # read as much as the file holds (a TIFF tag can claim any length).
        check_memory(f"reading the {sniffed.format.upper()} header", sniffed.size, limits.memory_mb,
                     sniffed.path)
    with bounded(f"reading the {sniffed.format.upper()} header", limits.decode_seconds,
                 sniffed.path):
        im = open_image(sniffed, limits, facts.end)
        try:
            return _image_info(sniffed, im, facts, block, limits)
        finally:
            im.close()


def _image_info(sniffed: Sniffed, im: Image.Image, facts: Structure, block: bytes | None,
                limits: SafetyLimits) -> ImageInfo:
    # Pillow's info keys are str, except the (x, y) tuples some plugins add.
    info: dict[str | tuple[int, int], Any] = dict(im.info)
    for key in ("icc_profile", "exif", "xmp", "XML:com.adobe.xmp", "comment"):
        value = info.get(key)
        if isinstance(value, (bytes, str)) and len(value) > limits.max_metadata_bytes:
            raise LimitExceeded(
                f"{key} metadata is {len(value):,} bytes (limit {limits.max_metadata_bytes:,})",
                path=sniffed.path, hint="strip the metadata with another tool first")
    try:
        exif = _exif(sniffed, im, block, facts)
        orientation = int(exif.get(EXIF_ORIENTATION, 1) or 1)
        has_gps = EXIF_GPS_IFD in exif
        has_exif = len(exif) > 0 or "exif" in info or facts.exif_at is not None
    except Exception:  # noqa: BLE001 - malformed EXIF is common; treat as present
        orientation, has_gps, has_exif = 1, False, True
    if orientation not in range(1, 9):
        orientation = 1
    text_keys = {k for k in info if isinstance(info.get(k), str)} - {"dpi", "jfif", "icc_profile"}
    has_comment = ("comment" in info or facts.text_chunks > 0
                   or (sniffed.format == "png" and bool(text_keys)))
    has_xmp = "xmp" in info or "XML:com.adobe.xmp" in info
    subsampling = None
    progressive = False
    if sniffed.format == "jpeg":
        from PIL import JpegImagePlugin

        subsampling = _SUBSAMPLING.get(JpegImagePlugin.get_sampling(im))
        progressive = bool(info.get("progressive") or info.get("progression"))
    bits = 16 if im.mode in ("I;16", "I;16B", "I;16L", "I", "RGB;16") else 8
    if sniffed.format == "png" and "I;16" in im.mode:
        bits = 16
    if sniffed.format in HEIF_FORMATS:
        bits = int(info.get("bit_depth") or 8)  # pillow-heif says; Pillow's AVIF decodes to 8
    # A HEIF holds several images (bursts, alternatives): only the primary is ours.
    frames = 1 if sniffed.format in HEIF_FORMATS else facts.frames
    return ImageInfo(
        width=im.width, height=im.height, mode=im.mode, format=sniffed.format,
        orientation=orientation, frames=frames, has_exif=has_exif, has_gps=has_gps,
        has_icc="icc_profile" in info and bool(info["icc_profile"]), has_xmp=has_xmp,
        has_comment=has_comment, trailing_bytes=facts.trailing(sniffed.size), bits=bits,
        progressive=progressive, subsampling=subsampling, duration=facts.duration,
        complete=facts.complete, jpeg_process=facts.jpeg_process,
    )


# ---------------------------------------------------------------- audio / video

@dataclass(frozen=True)
class MediaInfo:
    """What the probe read of an audio or video file: its streams and duration."""
    format: str  # our canonical format name from sniff
    demuxer: str
    duration: float  # seconds, from the packets actually present (headers lie)
    header_duration: float | None  # what the container header claims
    audio: tuple[AudioStream, ...]
    video: tuple[VideoStream, ...]
    tags: tuple[tuple[str, str], ...]  # container metadata (title, comment, ...)
    size: int
    attached_pictures: int = 0  # cover art streams: never video, but metadata an output must not carry

    @property
    def default_audio(self) -> AudioStream | None:
        for s in self.audio:
            if s.default:
                return s
        return self.audio[0] if self.audio else None

    @property
    def default_video(self) -> VideoStream | None:
        for s in self.video:
            if s.default:
                return s
        return self.video[0] if self.video else None


@contextlib.contextmanager
def open_media(sniffed: Sniffed, limits: SafetyLimits | None = None) -> Iterator[Media]:
    """The sniffed audio/video file, open in PyAV with its demuxer forced, for the
    length of the ``with`` block, which runs under the wall clock of ``limits``
    (the default profile's when not given): libav demuxes in this process."""
    from ..tools import av as av_tools

    assert sniffed.demuxer is not None
    limits = limits or SafetyLimits()
    # Twice our frame limit for libav's own decodes while opening: its check counts
    # the padded width, and the streams' real sizes are checked by probe_av.
    max_pixels = 2 * limits.max_video_pixels
    with bounded(f"reading the {sniffed.format.upper()} file", limits.decode_seconds, sniffed.path), \
            av_tools.open_media(sniffed.path, sniffed.demuxer, sniffed.format.upper(), max_pixels) as media:
        yield media


def probe_av(sniffed: Sniffed, limits: SafetyLimits) -> MediaInfo:
    from ..tools.av import AudioStream

    with open_media(sniffed, limits) as media:
        if media.stream_count > limits.max_streams:
            raise LimitExceeded(f"{media.stream_count} streams (limit {limits.max_streams})",
                                path=sniffed.path)
        header = media.header_duration
        audio: list[AudioStream] = []
        video: list[VideoStream] = []
        covers: list[int] = []
        for s in media.streams():
            if isinstance(s, AudioStream):
                audio.append(s)
                continue
            if s.attached_pic:
                covers.append(s.index)  # cover art: an M4A with it is audio, never decoded as video
                continue
            w, h = s.width, s.height
            if w > limits.max_side or h > limits.max_side or w * h > limits.max_video_pixels:
                raise LimitExceeded(
                    f"video frame {w}x{h} exceeds our limit of {limits.max_video_pixels:,} pixels",
                    path=sniffed.path, hint="downscale it to 4K or less first")
            video.append(s)
        if not audio and not video:
            unknown = media.undecodable()
            if unknown:
                raise UnsupportedType(f"its {unknown[0]} is coded in a way no decoder we have reads",
                                      path=sniffed.path, hint="convert it to WAV, FLAC, MP3 or MP4 first")
            raise BadInput("no audio or video stream", path=sniffed.path)
        main_video = next((v for v in video if v.default), video[0] if video else None)
        # Duration from the packets present (demux only, no decode): a header that
        # claims ten hours over one second of data is not believed.
        scan = media.scan_packets(limits.max_duration, main_video.index if main_video else None,
                                  frozenset(covers))
        if scan.stopped:
            raise LimitExceeded(
                f"longer than our limit of {limits.max_duration / 3600:g} h", path=sniffed.path,
                hint="cut it into shorter pieces first")
        if scan.start is None and scan.packets:
            raise UnsupportedType("its packets carry no timestamps, so its length cannot be known",
                                  path=sniffed.path, hint="remux it to MP4 or MKV, which gives it timestamps, first")
        if scan.start is None:
            raise BadInput("no media data (the file holds headers but no packets)", path=sniffed.path,
                           hint="the file is truncated or the recording failed")
        if main_video is not None:
            found = dataclasses.replace(main_video, packets=scan.packets)
            if scan.rotation is not None:
                found = dataclasses.replace(found, rotation=scan.rotation)
            video = [found if v is main_video else v for v in video]
        return MediaInfo(format=sniffed.format, demuxer=sniffed.demuxer or "", duration=scan.span,
                         header_duration=header, audio=tuple(audio), video=tuple(video),
                         tags=media.tags, size=sniffed.size, attached_pictures=len(covers))
