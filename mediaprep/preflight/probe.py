"""probe: the facts about a file, without decoding its pixels or samples.

Images are read by Pillow with the one plugin libmagic's verdict allows
(``formats=[...]``), so a file can never reach a decoder for another type and
Pillow can never start Ghostscript. Audio and video are read in-process by PyAV
(libav), with the demuxer forced and the input handed over as an open file object:
no protocol layer, no playlist or concat parsing, no ffprobe binary needed.
"""
from __future__ import annotations

import dataclasses
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile

from ..errors import BadInput, LimitExceeded
from ..profiles import SafetyLimits
from .sniff import Sniffed

# Pillow must fail loudly on truncated data rather than fill with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# What Pillow's plugins raise on damaged data, besides OSError.
_DECODE_ERRORS = (OSError, ValueError, IndexError, SyntaxError, EOFError, struct.error,
                  ZeroDivisionError, TypeError)

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


def open_image(sniffed: Sniffed, limits: SafetyLimits) -> Image.Image:
    """Open (lazily: header only) with the sniffed plugin and our own pixel limits."""
    assert sniffed.pillow is not None
    # Our own limit is stricter than Pillow's (which only warns from 89 MP); keep
    # Pillow's as a second fence at twice ours.
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    try:
        with warnings.catch_warnings():
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


def _jpeg_scans(data: bytes) -> int:
    """SOS markers in the file. Inside entropy-coded data an 0xFF byte is always
    followed by 0x00 or a restart marker, so every FF DA pair is a real scan header."""
    return data.count(b"\xff\xda")


def _jpeg_trailing(data: bytes, path: Path) -> int:
    """Bytes after the JPEG's EOI marker: appended archives, scripts, second images.
    Found by walking the markers (a payload may itself end in FF D9). A JPEG whose
    markers do not reach an EOI is truncated: refused, never passed through."""
    from ..formats.jpeg_strip import NotAJpeg, jpeg_end

    try:
        return len(data) - jpeg_end(data)
    except NotAJpeg as exc:
        raise BadInput(f"the JPEG is truncated or corrupt ({exc})", path=path,
                       hint="export or download it again") from exc


def _png_trailing(data: bytes, path: Path) -> int:
    """Bytes after the IEND chunk, walking the chunks (a payload may contain "IEND")."""
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        pos += 12 + length
        if kind == b"IEND":
            return max(0, len(data) - pos)
    raise BadInput("the PNG is truncated (no IEND chunk)", path=path,
                   hint="export or download it again")


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


def probe_image(sniffed: Sniffed, limits: SafetyLimits) -> ImageInfo:
    im = open_image(sniffed, limits)
    try:
        info: dict[str, Any] = dict(im.info)
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
            if sniffed.format == "png" and "exif" not in info and b"eXIf" not in data:
                exif = Image.Exif()
            else:
                exif = im.getexif()
            orientation = int(exif.get(EXIF_ORIENTATION, 1) or 1)
            has_gps = EXIF_GPS_IFD in exif
            has_exif = len(exif) > 0 or "exif" in info
        except Exception:  # noqa: BLE001 - malformed EXIF is common; treat as present
            orientation, has_gps, has_exif = 1, False, True
        if orientation not in range(1, 9):
            orientation = 1
        frames = _count_frames(im, limits.max_frames_probe)
        text_keys = {k for k in info if isinstance(info.get(k), str)} - {"dpi", "jfif", "icc_profile"}
        has_comment = "comment" in info or (sniffed.format == "png" and bool(text_keys))
        has_xmp = "xmp" in info or "XML:com.adobe.xmp" in info
        trailing = 0
        if sniffed.format == "jpeg":
            scans = _jpeg_scans(data)
            if scans > limits.max_jpeg_scans:
                raise LimitExceeded(
                    f"JPEG has {scans:,} scans (limit {limits.max_jpeg_scans}); decoding it would "
                    "take far longer than its size suggests", path=sniffed.path,
                    hint="re-save it as a baseline JPEG with another tool first")
            trailing = _jpeg_trailing(data, sniffed.path)
        elif sniffed.format == "png":
            trailing = _png_trailing(data, sniffed.path)
        subsampling = None
        progressive = False
        if sniffed.format == "jpeg":
            from PIL import JpegImagePlugin

            subsampling = _SUBSAMPLING.get(JpegImagePlugin.get_sampling(im))
            progressive = bool(info.get("progressive") or info.get("progression"))
        bits = 16 if im.mode in ("I;16", "I;16B", "I;16L", "I", "RGB;16") else 8
        if sniffed.format == "png" and "I;16" in im.mode:
            bits = 16
        return ImageInfo(
            width=im.width, height=im.height, mode=im.mode, format=sniffed.format,
            orientation=orientation, frames=frames, has_exif=has_exif, has_gps=has_gps,
            has_icc="icc_profile" in info and bool(info["icc_profile"]), has_xmp=has_xmp,
            has_comment=has_comment, trailing_bytes=trailing, bits=bits,
            progressive=progressive, subsampling=subsampling,
        )
    finally:
        im.close()


# ---------------------------------------------------------------- audio / video

@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int
    channels: int
    bit_rate: int | None
    default: bool


@dataclass(frozen=True)
class VideoStream:
    index: int
    codec: str
    profile: str | None
    width: int
    height: int
    pix_fmt: str | None
    fps: float | None  # average frame rate
    rotation: int  # degrees clockwise a player must rotate to show it upright
    default: bool
    color_trc: int | None = None  # transfer characteristic (AVColorTransferCharacteristic): 16 PQ, 18 HLG
    packets: int | None = None  # packets demuxed (main video stream only; 0 = a track without frames)


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


def open_av(sniffed: Sniffed) -> Any:
    """Open with PyAV, demuxer forced, through a Python file object (no URL handling)."""
    import av

    assert sniffed.demuxer is not None
    fh = open(sniffed.path, "rb")
    try:
        return av.open(fh, mode="r", format=sniffed.demuxer,
                       options={"probesize": "5000000", "analyzeduration": "5000000"})
    except av.FFmpegError as exc:
        fh.close()
        raise BadInput(f"cannot read the {sniffed.format.upper()} file: {exc}", path=sniffed.path,
                       hint="the file is damaged, truncated or not really "
                       f"{sniffed.format.upper()}; export or download it again") from exc
    except BaseException:
        fh.close()
        raise


def _rotation_of(stream: Any) -> int:
    """Display-matrix rotation as phones write it, normalised to 0/90/180/270 clockwise."""
    rot = 0
    try:
        tag = stream.metadata.get("rotate")
        if tag is not None:
            rot = int(float(tag))
    except (TypeError, ValueError):
        rot = 0
    try:
        sd = getattr(stream, "side_data", None)
        if sd is not None and "DISPLAYMATRIX" in sd:
            rot = -int(round(float(sd["DISPLAYMATRIX"])))
    except Exception:  # noqa: BLE001 - side data shapes differ across PyAV versions
        pass
    return rot % 360


def probe_av(sniffed: Sniffed, limits: SafetyLimits) -> MediaInfo:
    import av

    container = open_av(sniffed)
    try:
        streams = list(container.streams)
        if len(streams) > limits.max_streams:
            raise LimitExceeded(f"{len(streams)} streams (limit {limits.max_streams})",
                                path=sniffed.path)
        header = container.duration / av.time_base if container.duration else None
        audio: list[AudioStream] = []
        video: list[VideoStream] = []
        for s in streams:
            cc = s.codec_context
            if cc is None:
                continue  # a codec libav does not know (or a damaged header): not media we can use
            default = bool(int(getattr(s, "disposition", 0) or 0) & 1)
            if s.type == "audio":
                audio.append(AudioStream(index=s.index, codec=cc.name, sample_rate=int(cc.sample_rate or 0),
                                         channels=int(getattr(cc, "channels", 0) or 0),
                                         bit_rate=int(cc.bit_rate) if cc.bit_rate else None,
                                         default=default))
            elif s.type == "video":
                w, h = int(cc.width or 0), int(cc.height or 0)
                if w > limits.max_side or h > limits.max_side or w * h > limits.max_video_pixels:
                    raise LimitExceeded(
                        f"video frame {w}x{h} exceeds our limit of {limits.max_video_pixels:,} pixels",
                        path=sniffed.path, hint="downscale it to 4K or less first")
                rate = s.average_rate or s.guessed_rate
                video.append(VideoStream(index=s.index, codec=cc.name,
                                         profile=getattr(cc, "profile", None),
                                         width=w, height=h,
                                         pix_fmt=getattr(cc, "pix_fmt", None) or
                                         (cc.format.name if getattr(cc, "format", None) else None),
                                         fps=float(rate) if rate else None,
                                         rotation=_rotation_of(s), default=default,
                                         color_trc=int(getattr(cc, "color_trc", 0) or 0) or None))
        if not audio and not video:
            raise BadInput("no audio or video stream", path=sniffed.path)
        main_video = next((v for v in video if v.default), video[0] if video else None)
        duration, frame_rotation, packets = _packet_duration(
            container, limits, sniffed, main_video.index if main_video else None)
        if main_video is not None:
            found = dataclasses.replace(main_video, packets=packets)
            if frame_rotation is not None:
                found = dataclasses.replace(found, rotation=frame_rotation)
            video = [found if v is main_video else v for v in video]
        tags = tuple(sorted((str(k), str(v)) for k, v in container.metadata.items()))
        return MediaInfo(format=sniffed.format, demuxer=sniffed.demuxer or "", duration=duration,
                         header_duration=header, audio=tuple(audio), video=tuple(video),
                         tags=tags, size=sniffed.size)
    except av.FFmpegError as exc:
        raise BadInput(f"cannot read the {sniffed.format.upper()} file: {exc}", path=sniffed.path,
                       hint="the file is damaged or truncated; export or download it again") from exc
    finally:
        container.close()


# Packets fed to the decoder, at most, to get the first video frame's display matrix.
_ROTATION_PACKETS = 48


def _frame_rotation(packet: Any) -> int | None:
    """Clockwise rotation from the first decoded frame of ``packet``'s stream, or None
    while no frame has come out yet. PyAV 18 exposes the container's display matrix
    (what phones write in tkhd) only on decoded frames (``frame.rotation``, degrees
    counter-clockwise as ffmpeg's av_display_rotation_get), not on the stream."""
    import av

    try:
        frames = packet.decode()
    except av.FFmpegError:
        return None
    for frame in frames:
        ccw = int(round(float(getattr(frame, "rotation", 0) or 0)))
        return (-ccw) % 360
    return None


def _packet_duration(container: Any, limits: SafetyLimits, sniffed: Sniffed,
                     rotation_stream: int | None = None) -> tuple[float, int | None, int]:
    """Duration from the packets present (demux only, no decode): a header that
    claims ten hours over one second of data is not believed. Also returns the
    display rotation of stream ``rotation_stream`` (decoding only its first frame)
    and how many non-empty packets it has."""
    start: float | None = None
    end = 0.0
    # Seconds per tick, per stream: PyAV builds a new Fraction on every
    # packet.time_base, which cost more than the demuxing itself.
    ticks: dict[int, float | None] = {}
    rotation: int | None = None
    fed = 0
    packets = 0
    for packet in container.demux():
        index = packet.stream_index
        if rotation_stream is not None and index == rotation_stream and packet.size:
            packets += 1
            if rotation is None and fed < _ROTATION_PACKETS:
                fed += 1
                rotation = _frame_rotation(packet)
        if index not in ticks:
            ticks[index] = float(packet.time_base) if packet.time_base is not None else None
        tick = ticks[index]
        if packet.pts is None or tick is None:
            continue
        t0 = packet.pts * tick
        t1 = t0 + (packet.duration or 0) * tick
        start = t0 if start is None else min(start, t0)
        end = max(end, t1)
        if start is not None and end - start > limits.max_duration:
            raise LimitExceeded(
                f"longer than our limit of {limits.max_duration / 3600:g} h", path=sniffed.path,
                hint="cut it into shorter pieces first")
    if start is None:
        raise BadInput("no media data (the file holds headers but no packets)", path=sniffed.path,
                       hint="the file is truncated or the recording failed")
    return max(0.0, end - start), rotation, packets
