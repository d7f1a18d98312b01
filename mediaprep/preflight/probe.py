"""probe: the facts about a file, without decoding its pixels or samples.

Images are read by Pillow with the one plugin libmagic's verdict allows
(``formats=[...]``), so a file can never reach a decoder for another type and
Pillow can never start Ghostscript; the JPEG and PNG structure (scans, bytes
after the image) comes from the byte parsers in ``mediaprep.formats``. Audio and
video are read in-process by PyAV through ``mediaprep.tools.av``, with the demuxer
forced and the input handed over as an open file object: no protocol layer, no
playlist or concat parsing, no ffprobe binary needed.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import struct
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from PIL import Image, ImageFile, UnidentifiedImageError

from ..errors import BadInput, LimitExceeded, UnsupportedType
from ..formats import jpeg, png
from ..profiles import SafetyLimits
from ..tools import av as av_tools
from ..tools.av import AudioStream as AudioStream
from ..tools.av import VideoStream as VideoStream
from .sniff import Sniffed

# AudioStream and VideoStream are read by tools.av and are part of this stage's
# result (MediaInfo): re-exported, so the stages after the probe find them here.

# Pillow must fail loudly on truncated data rather than fill with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# What Pillow's plugins raise on damaged data, besides OSError.
_DECODE_ERRORS = (OSError, ValueError, IndexError, SyntaxError, EOFError, struct.error,
                  ZeroDivisionError, TypeError)

P = ParamSpec("P")
R = TypeVar("R")

EXIF_ORIENTATION = 0x0112
EXIF_GPS_IFD = 0x8825


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    mode: str
    format: str  # our canonical name (jpeg, png, ...)
    orientation: int  # EXIF orientation 1..8 (1 = upright)
    frames: int  # animation frames (1 for a still)
    has_exif: bool
    has_gps: bool
    has_icc: bool
    has_xmp: bool
    has_comment: bool  # JPEG COM, PNG text chunks, GIF comment
    trailing_bytes: int  # bytes after the end of the image (JPEG EOI); 0 if unknown
    bits: int  # bits per sample (8 or 16)
    progressive: bool
    subsampling: str | None  # "4:2:0", "4:4:4", ... for JPEG
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


def open_image(sniffed: Sniffed, limits: SafetyLimits) -> Image.Image:
    """Open (lazily: header only) with the sniffed plugin and our own pixel limits."""
    assert sniffed.pillow is not None
    if sniffed.format in HEIF_FORMATS:
        # The item layout against our limits first: nothing of it is decoded yet.
        from . import heif

        heif.check_layout(sniffed, limits)
        if sniffed.pillow == "HEIF":
            from ..tools import heif as heif_tool

            heif_tool.register()
    # Our own limit is stricter than Pillow's (which only warns from 89 MP); keep
    # Pillow's as a second fence at twice ours.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
            # Pillow's other warnings (odd EXIF it skips, a palette note) are about
            # metadata we drop anyway: never printed. The bomb warning is an error.
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(sniffed.path, formats=[sniffed.pillow])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LimitExceeded(f"image dimensions exceed our limit of {limits.max_pixels:,} pixels",
                            path=sniffed.path,
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
    if w <= 0 or h <= 0 or w > limits.max_side or h > limits.max_side or w * h > limits.max_pixels:
        im.close()
        raise LimitExceeded(
            f"image dimensions {w}x{h} exceed our limit ({limits.max_pixels:,} pixels, "
            f"{limits.max_side} px a side)", path=sniffed.path,
            hint="downscale it first; such sizes are refused before decoding")
    return im


def _count_frames(im: Image.Image, limit: int) -> int:
    """Frames in an animation, counted only up to ``limit``: Pillow's n_frames walks
    every frame, which a GIF with a million frames turns into a denial of service.
    Only the first frame is ever used."""
    try:
        if not getattr(im, "is_animated", False):
            return 1
    except _DECODE_ERRORS:
        return 1  # the second frame is damaged: a still, as far as we are concerned
    count = 1
    try:
        while count < limit:
            im.seek(count)
            count += 1
    except EOFError:
        pass
    except (*_DECODE_ERRORS, Image.DecompressionBombError):
        pass  # a damaged or oversized later frame: we only ever use the first
    try:
        im.seek(0)
    except _DECODE_ERRORS as exc:
        raise BadInput(f"cannot read the first frame: {exc}", path=getattr(im, "filename", None),
                       hint="the file is damaged; export or download it again") from exc
    return count


def _structure(sniffed: Sniffed, data: bytes, limits: SafetyLimits) -> tuple[int, str | None]:
    """Bytes after the end of the image (appended archives, scripts, second images),
    from the format's own structure (0 for formats we do not walk), and a JPEG's
    coding process. A JPEG or PNG whose structure does not reach its end marker is
    truncated: refused, never passed through. A JPEG with more scans than our limit
    is refused first."""
    if sniffed.format == "jpeg":
        scans = jpeg.count_sos_markers(data)
        if scans > limits.max_jpeg_scans:
            raise LimitExceeded(
                f"JPEG has {scans:,} scans (limit {limits.max_jpeg_scans}); decoding it would "
                "take far longer than its size suggests", path=sniffed.path,
                hint="re-save it as a baseline JPEG with another tool first")
        try:
            layout = jpeg.walk(data)
            return layout.trailing, layout.process
        except jpeg.NotAJpeg as exc:
            raise BadInput(f"the JPEG is truncated or corrupt ({exc.message})", path=sniffed.path,
                           hint="export or download it again") from exc
    if sniffed.format == "png":
        try:
            return png.walk(data).trailing, None
        except png.NotAPng as exc:
            raise BadInput(exc.message, path=sniffed.path, hint="export or download it again") from exc
    return 0, None


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
    im = open_image(sniffed, limits)
    try:
        # Pillow's info keys are str, except the (x, y) tuples some plugins add.
        info: dict[str | tuple[int, int], Any] = dict(im.info)
        for key in ("icc_profile", "exif", "xmp", "XML:com.adobe.xmp", "comment"):
            value = info.get(key)
            if isinstance(value, (bytes, str)) and len(value) > limits.max_metadata_bytes:
                raise LimitExceeded(
                    f"{key} metadata is {len(value):,} bytes (limit {limits.max_metadata_bytes:,})",
                    path=sniffed.path, hint="strip the metadata with another tool first")
        # The bytes, read once: the PNG eXIf look-up, the JPEG scan count and the
        # end-of-image walk all need them.
        data = sniffed.path.read_bytes() if sniffed.format in ("jpeg", "png") else b""
        try:
            # Pillow's PNG getexif() decodes every pixel to look for an eXIf chunk after
            # the image data (50 ms on 2 MP); the bytes tell first whether there is one.
            if sniffed.format == "png" and "exif" not in info and not png.may_hold_exif(data):
                exif = Image.Exif()
            else:
                exif = im.getexif()
            orientation = int(exif.get(EXIF_ORIENTATION, 1) or 1)
            has_gps = EXIF_GPS_IFD in exif
            has_exif = len(exif) > 0 or bool(info.get("exif"))
        except Exception:  # noqa: BLE001 - malformed EXIF is common; treat as present
            orientation, has_gps, has_exif = 1, False, True
        if orientation not in range(1, 9):
            orientation = 1
        # A HEIF holds several images (bursts, alternatives): only the primary is ours.
        frames = 1 if sniffed.pillow == "HEIF" else _count_frames(im, limits.max_frames_probe)
        text_keys = {k for k in info if isinstance(info.get(k), str)} - {"dpi", "jfif", "icc_profile"}
        has_comment = "comment" in info or (sniffed.format == "png" and bool(text_keys))
        has_xmp = "xmp" in info or "XML:com.adobe.xmp" in info
        trailing, process = _structure(sniffed, data, limits)
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
        return ImageInfo(
            width=im.width, height=im.height, mode=im.mode, format=sniffed.format,
            orientation=orientation, frames=frames, has_exif=has_exif, has_gps=has_gps,
            has_icc="icc_profile" in info and bool(info["icc_profile"]), has_xmp=has_xmp,
            has_comment=has_comment, trailing_bytes=trailing, bits=bits,
            progressive=progressive, subsampling=subsampling, jpeg_process=process,
        )
    finally:
        im.close()


# ---------------------------------------------------------------- audio / video

@dataclass(frozen=True)
class MediaInfo:
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


def open_media(sniffed: Sniffed) -> contextlib.AbstractContextManager[av_tools.Media]:
    """The sniffed audio/video file, open in PyAV with its demuxer forced."""
    assert sniffed.demuxer is not None
    return av_tools.open_media(sniffed.path, sniffed.demuxer, sniffed.format.upper())


def probe_av(sniffed: Sniffed, limits: SafetyLimits) -> MediaInfo:
    with open_media(sniffed) as media:
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
