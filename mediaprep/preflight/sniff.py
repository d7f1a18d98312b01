"""sniff: the real type of a file from its bytes; the extension is never trusted."""
from __future__ import annotations

import dataclasses
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .. import openflags
from ..errors import BadInput, UnsupportedType
from ..formats import wav
from ..model import Kind
from ..tools.magic import describe, mime_of

# How many leading bytes libmagic sees. Enough for every container signature we
# accept (ftyp boxes, RIFF headers, ID3 tags of a few hundred KB before an MP3 frame).
HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class FormatInfo:
    """A format we accept: its kind, and the one demuxer or Pillow plugin allowed to read it."""
    kind: Kind
    format: str  # our canonical name
    demuxer: str | None  # the ffmpeg/libav demuxer forced on this input (audio/video)
    pillow: str | None  # the one Pillow plugin allowed to open it (images)
    extensions: tuple[str, ...]  # extensions that agree with the content
    decoder: str | None = None  # the libav decoder forced on the audio (a RIFX WAVE's PCM)


# Our own names for what libmagic names too broadly (see _refine).
RIFX = "audio/x-wav-rifx"  # big-endian WAV
RIFX_OTHER = "audio/x-wav-rifx-unsupported"
MPEG_ES = "video/x-mpeg-elementary"  # MPEG-1/2 video without a program-stream layer
MPEG_TS = "video/mp2t"  # MPEG transport stream, 188-byte packets (or 192 with a timecode: M2TS)
CAF = "audio/x-caf"  # Apple Core Audio Format
TS_PACKETS = 8  # sync bytes in a row that make a transport stream (a random byte matches 1 in 256)

# The allowlist. Anything libmagic names that is not here is refused before any
# decoder sees it: text, HTML, SVG, PostScript/EPS, PDF, playlists, concat scripts.
ALLOWED: dict[str, FormatInfo] = {
    # .mpo: a camera's multi-picture JPEG (CIPA DC-007), a JPEG first; .apng: an animated PNG.
    "image/jpeg": FormatInfo("image", "jpeg", None, "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif", ".mpo")),
    "image/png": FormatInfo("image", "png", None, "PNG", (".png", ".apng")),
    "image/gif": FormatInfo("image", "gif", None, "GIF", (".gif",)),
    "image/webp": FormatInfo("image", "webp", None, "WEBP", (".webp",)),
    "image/bmp": FormatInfo("image", "bmp", None, "BMP", (".bmp", ".dib")),
    "image/x-ms-bmp": FormatInfo("image", "bmp", None, "BMP", (".bmp", ".dib")),
    "image/tiff": FormatInfo("image", "tiff", None, "TIFF", (".tif", ".tiff")),
    # Netpbm and Windows icons (the largest picture of an icon is taken): Pillow's own.
    "image/x-portable-pixmap": FormatInfo("image", "ppm", None, "PPM", (".ppm", ".pnm")),
    "image/x-portable-graymap": FormatInfo("image", "ppm", None, "PPM", (".pgm", ".pnm")),
    "image/x-portable-bitmap": FormatInfo("image", "ppm", None, "PPM", (".pbm", ".pnm")),
    "image/vnd.microsoft.icon": FormatInfo("image", "ico", None, "ICO", (".ico",)),
    # HEIF stills (ISO/IEC 23008-12): HEVC-coded ones ("HEIC", the iPhone's photo format)
    # are decoded by libheif through pillow-heif, AV1-coded ones ("AVIF") by Pillow's own
    # AVIF plugin (libavif). libmagic names the ftyp major brand: heic/heix -> image/heic,
    # mif1 (a generic HEIF still) -> image/heif, avif/avis -> image/avif. A mif1 file whose
    # compatible brands say avif is AV1 inside: see _refine.
    "image/heic": FormatInfo("image", "heic", None, "HEIF", (".heic", ".heif", ".hif")),
    "image/heif": FormatInfo("image", "heif", None, "HEIF", (".heif", ".heic", ".hif")),
    "image/avif": FormatInfo("image", "avif", None, "AVIF", (".avif",)),
    "audio/x-wav": FormatInfo("audio", "wav", "wav", None, (".wav", ".wave")),
    "audio/wav": FormatInfo("audio", "wav", "wav", None, (".wav", ".wave")),
    # Our own name for big-endian WAV (libmagic: application/octet-stream); see _refine.
    # The decoder is filled in from its fmt chunk.
    RIFX: FormatInfo("audio", "wav", "wav", None, (".wav", ".wave")),
    "audio/x-w64": FormatInfo("audio", "w64", "w64", None, (".w64",)),
    "audio/x-aiff": FormatInfo("audio", "aiff", "aiff", None, (".aiff", ".aif", ".aifc")),
    "audio/basic": FormatInfo("audio", "au", "au", None, (".au", ".snd")),
    "audio/mpeg": FormatInfo("audio", "mp3", "mp3", None, (".mp3",)),
    "audio/x-m4a": FormatInfo("audio", "m4a", "mov", None, (".m4a", ".mp4", ".aac", ".m4b", ".m4r")),
    "audio/mp4": FormatInfo("audio", "m4a", "mov", None, (".m4a", ".mp4", ".m4b")),
    "audio/x-hx-aac-adts": FormatInfo("audio", "aac", "aac", None, (".aac", ".adts")),
    "audio/aac": FormatInfo("audio", "aac", "aac", None, (".aac", ".adts")),
    "audio/ogg": FormatInfo("audio", "ogg", "ogg", None, (".ogg", ".oga", ".opus")),
    "application/ogg": FormatInfo("audio", "ogg", "ogg", None, (".ogg", ".oga", ".opus")),
    "audio/flac": FormatInfo("audio", "flac", "flac", None, (".flac",)),
    "audio/x-flac": FormatInfo("audio", "flac", "flac", None, (".flac",)),
    # libmagic names AMR-WB files audio/amr too (both start "#!AMR"); .awb is theirs.
    "audio/amr": FormatInfo("audio", "amr", "amr", None, (".amr", ".awb")),
    "audio/amr-wb": FormatInfo("audio", "amr-wb", "amr", None, (".awb", ".amr")),
    # An audiobook (.m4b) or song often has a generic brand (isom, mp42): video/mp4.
    "video/mp4": FormatInfo("video", "mp4", "mov", None, (".mp4", ".m4v", ".m4a", ".m4b")),
    "video/x-m4v": FormatInfo("video", "mp4", "mov", None, (".m4v", ".mp4")),
    "video/quicktime": FormatInfo("video", "mov", "mov", None, (".mov", ".qt", ".mp4")),
    "video/3gpp": FormatInfo("video", "3gp", "mov", None, (".3gp", ".3gpp", ".mp4")),
    "video/3gpp2": FormatInfo("video", "3g2", "mov", None, (".3g2", ".3gp2", ".mp4")),
    "video/x-matroska": FormatInfo("video", "mkv", "matroska", None, (".mkv", ".mka", ".webm")),
    "video/webm": FormatInfo("video", "webm", "matroska", None, (".webm", ".mkv")),
    "video/x-msvideo": FormatInfo("video", "avi", "avi", None, (".avi",)),
    # MPEG-1/2 program streams (.mpg, DVD .vob): only with a pack header, see _refine.
    "video/mpeg": FormatInfo("video", "mpeg-ps", "mpeg", None,
                             (".mpg", ".mpeg", ".mpe", ".m2p", ".vob", ".ps")),
    "video/x-flv": FormatInfo("video", "flv", "flv", None, (".flv",)),
    # ASF: Windows Media audio and video alike (an audio-only one is a voice note).
    "video/x-ms-asf": FormatInfo("video", "asf", "asf", None, (".wma", ".wmv", ".asf")),
    "video/ogg": FormatInfo("video", "ogv", "ogg", None, (".ogv", ".ogg", ".ogx")),
    # Neither has a MIME type in libmagic (see _refine): camcorder AVCHD and TV recordings,
    # Apple's Core Audio files.
    MPEG_TS: FormatInfo("video", "mpeg-ts", "mpegts", None, (".ts", ".mts", ".m2ts", ".m2t", ".tod")),
    CAF: FormatInfo("audio", "caf", "caf", None, (".caf",)),
}

# Extensions that promise media: a file with one of these that is not media is a
# failure (a broken export), anything else that is not media is simply skipped
# (README.txt, .DS_Store, sidecar files).
MEDIA_EXTENSIONS = frozenset(ext for info in ALLOWED.values() for ext in info.extensions) | {
    ".heic", ".heif", ".svg", ".mpg", ".mpeg", ".wmv", ".wma", ".flv", ".ts", ".opus",
}

# A guess from the name, for ordering a batch and for knowing before any file is
# read which tools a run needs (the worker sniffs the content).
_KIND_BY_EXT: dict[str, Kind] = {**{ext: info.kind for info in ALLOWED.values() for ext in info.extensions},
                                 ".mp4": "video", ".m4a": "audio", ".mpg": "video", ".mpeg": "video",
                                 ".wmv": "video", ".flv": "video", ".ts": "video", ".wma": "audio",
                                 # Ogg Theora exists, but an .ogg is nearly always sound.
                                 ".ogg": "audio"}


def kind_from_name(path: Path) -> Kind:
    return _KIND_BY_EXT.get(path.suffix.lower(), "image")


# Named refusals: what the user most likely has, and what to do about it.
_SEND_MEDIA = "send a photo, voice note or video file"
_REFUSAL_HINTS: dict[str, str] = {
    MPEG_ES: "a bare MPEG video stream (no container, no sound) is not supported; "
             "put it in an MP4 or MPEG-PS file first",
    RIFX_OTHER: "big-endian WAV is taken with plain integer samples only (this one holds float or "
                "extensible-format samples); convert it to WAV or FLAC first",
    "image/vnd.adobe.photoshop": "Photoshop documents are refused; export the picture as PNG or JPEG first",
    "text/plain": ("text (an HLS playlist or an ffmpeg concat script too) is not media and is never "
                   f"decoded; {_SEND_MEDIA}"),
    "text/html": f"a web page is not media; save the picture or video itself and {_SEND_MEDIA}",
    "text/csv": f"a CSV table is not media; {_SEND_MEDIA}",
    "text/xml": f"XML is not media; {_SEND_MEDIA}",
    "application/xml": f"XML is not media; {_SEND_MEDIA}",
    "application/json": f"JSON is not media; {_SEND_MEDIA}",
    "application/x-subrip": f"subtitles are not media; {_SEND_MEDIA}",
    "image/svg+xml": "SVG is refused; export it to PNG or JPEG first",
    "application/postscript": "PostScript/EPS is refused; export it to PNG or JPEG first",
    "application/pdf": "PDF is refused; export the page to PNG or JPEG first",
    "image/heic-sequence": "a HEIF image sequence (burst or animation) is not supported; "
                           "export one still as HEIC or JPEG",
    "image/heif-sequence": "a HEIF image sequence (burst or animation) is not supported; "
                           "export one still as HEIC or JPEG",
    "application/x-empty": "the file is empty; the transfer or export probably failed, get the file again",
    "inode/x-empty": "the file is empty; the transfer or export probably failed, get the file again",
}
SUPPORTED = ("JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC, AVIF, PPM, ICO; WAV, MP3, M4A/AAC, OGG/Opus, FLAC, AMR, AIFF, "
             "WMA, CAF; MP4, MOV, MKV, WebM, AVI, 3GP, MPEG-PS/TS, FLV, WMV, OGV")


def refusal_hint(mime: str) -> str:
    """What to tell the user whose file libmagic calls ``mime`` (not on the allowlist)."""
    if mime in _REFUSAL_HINTS:
        return _REFUSAL_HINTS[mime]
    if mime.startswith("text/"):  # scripts, source code, subtitles, markup of any kind
        return f"text is not media and is never decoded; {_SEND_MEDIA}"
    return f"supported: {SUPPORTED}; convert it to one of these first"
DESCRIPTION_CHARS = 80  # of libmagic's description, in a refusal


@dataclass(frozen=True)
class Sniffed:
    """A file's real type, from its bytes, and how it may be opened."""
    path: Path
    mime: str
    kind: Kind
    format: str
    demuxer: str | None
    pillow: str | None
    size: int
    warnings: tuple[str, ...] = ()
    decoder: str | None = None  # the libav audio decoder to force, where the demuxer guesses wrong


def _check_path(path: Path) -> None:
    """Refuse a path no file can have, before any system call sees it (those would
    raise ValueError or UnicodeEncodeError, not an error about the input)."""
    text = os.fspath(path)
    if "\x00" in text:
        raise BadInput("the path holds a NUL character, which no file name can hold", path=path,
                       hint="check how the path was written or passed; give the file's real name")
    try:
        os.fsencode(text)
    except UnicodeEncodeError as exc:
        raise BadInput("the path holds a lone surrogate, which no file name can hold", path=path,
                       hint="check how the path was decoded; pass it as the file system spells it") from exc


def read_head(path: Path, limit: int = HEAD_BYTES) -> tuple[bytes, int]:
    """Open only regular files (never a FIFO or device, which could block or be
    endless) and return the first ``limit`` bytes and the file size.

    The type is checked twice: on the path before opening (so the user hears what
    the path is), and on the opened descriptor (so a path swapped for something
    else in between is refused, not read)."""
    _check_path(path)
    try:
        linked = stat.S_ISLNK(os.lstat(path).st_mode)  # before the stat: a later swap is caught below
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise BadInput("no such file", path=path, hint="check the path") from exc
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror}", path=path, hint="check the path and its permissions") from exc
    _refuse_type(st.st_mode, path)
    # A path that was not a symlink at the stat must not become one now: O_NOFOLLOW.
    # A symlink the user gave is followed; the descriptor's own type decides below.
    flags = openflags.READ if linked else openflags.READ_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as exc:
        raise BadInput("no such file (it was removed while being opened)", path=path,
                       hint="check the path") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BadInput("the file was replaced by a symlink while being opened", path=path,
                           hint="make sure nothing changes it while mediaprep runs, then run again") from exc
        raise BadInput(f"cannot read: {exc.strerror}", path=path,
                       hint="check the file's permissions") from exc
    try:
        opened = os.fstat(fd)
        _refuse_type(opened.st_mode, path)
        with open(fd, "rb", closefd=False) as fh:
            return fh.read(limit), opened.st_size
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror}", path=path,
                       hint="check the file's permissions") from exc
    finally:
        os.close(fd)


def _refuse_type(mode: int, path: Path) -> None:
    if stat.S_ISDIR(mode):
        raise BadInput("is a folder", path=path, hint="use 'mediaprep batch' for folders")
    if not stat.S_ISREG(mode):
        raise BadInput("not a regular file (device, FIFO or socket)", path=path,
                       hint="copy the media into a regular file first")


def _ftyp_brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ftyp box at the start of ``head``."""
    if head[4:8] != b"ftyp":
        return set()
    size = min(int.from_bytes(head[:4], "big"), len(head), 4096)
    return {head[8:12], *(head[i:i + 4] for i in range(16, size - 3, 4))}


def _refine(mime: str, head: bytes) -> str:
    """Where libmagic's name is too broad for picking a decoder. It reads only the
    major brand: a generic HEIF still (mif1) listing the avif brand holds AV1, which
    only the AVIF plugin decodes. It names big-endian WAV (RIFX) only in words. Its
    video/mpeg is a program stream (pack header 00 00 01 BA, ISO/IEC 13818-1 2.5.3)
    or a bare video stream, which the program-stream demuxer does not read."""
    if mime == "image/heif" and b"avif" in _ftyp_brands(head):
        return "image/avif"
    if wav.is_rifx(head):
        return RIFX if wav.decoder(head) else RIFX_OTHER
    if mime == "video/mpeg" and not head.startswith(b"\0\0\1\xba"):
        return MPEG_ES
    if mime == "application/octet-stream":
        if head.startswith(b"caff\0\1"):  # Core Audio Format, version 1
            return CAF
        if _is_transport_stream(head):
            return MPEG_TS
    return mime


def _is_transport_stream(head: bytes) -> bool:
    """ISO/IEC 13818-1 transport packets from the first byte: 0x47 every 188 bytes
    (every 192 in M2TS, after a 4-byte timecode), TS_PACKETS times in a row."""
    for size, offset in ((188, 0), (192, 4)):
        if len(head) >= offset + size * TS_PACKETS and all(
                head[offset + i * size] == 0x47 for i in range(TS_PACKETS)):
            return True
    return False


def sniff(path: Path | str) -> Sniffed:
    path = Path(path)
    head, size = read_head(path)
    if size == 0:
        raise UnsupportedType("the file is empty (0 bytes)", path=path,
                              hint="the transfer or export probably failed; get the file again")
    mime = _refine(mime_of(head), head)
    info = ALLOWED.get(mime)
    if info is None:
        hint = refusal_hint(mime)
        what = ""
        if mime not in _REFUSAL_HINTS and not mime.startswith("text/"):
            # Not one we know by name: libmagic's own words say what it is.
            words = describe(head)[:DESCRIPTION_CHARS]
            what = f" ({words})" if words not in ("data", "") else ""
        raise UnsupportedType(f"content is {mime}, not a supported image, audio or video format{what}",
                              path=path, hint=hint)
    if info.demuxer == "wav" and mime == RIFX:
        info = dataclasses.replace(info, decoder=wav.decoder(head))
    warnings: list[str] = []
    ext = path.suffix.lower()
    if ext not in info.extensions:
        shown = ext or "no extension"
        warnings.append(f"extension {shown!s} does not match the content ({info.format}, {mime}); "
                        "going by the content")
    return Sniffed(path=path, mime=mime, kind=info.kind, format=info.format, demuxer=info.demuxer,
                   pillow=info.pillow, size=size, warnings=tuple(warnings), decoder=info.decoder)
