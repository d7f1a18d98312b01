"""sniff: the real type of a file from its bytes; the extension is never trusted."""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput, UnsupportedType
from ..model import Kind
from ..tools.magic import mime_of

# How many leading bytes libmagic sees. Enough for every container signature we
# accept (ftyp boxes, RIFF headers, ID3 tags of a few hundred KB before an MP3 frame).
HEAD_BYTES = 1 << 20


@dataclass(frozen=True)
class FormatInfo:
    kind: Kind
    format: str  # our canonical name
    demuxer: str | None  # the ffmpeg/libav demuxer forced on this input (audio/video)
    pillow: str | None  # the one Pillow plugin allowed to open it (images)
    extensions: tuple[str, ...]  # extensions that agree with the content


# The allowlist. Anything libmagic names that is not here is refused before any
# decoder sees it: text, HTML, SVG, PostScript/EPS, PDF, playlists, concat scripts.
ALLOWED: dict[str, FormatInfo] = {
    "image/jpeg": FormatInfo("image", "jpeg", None, "JPEG", (".jpg", ".jpeg", ".jpe", ".jfif")),
    "image/png": FormatInfo("image", "png", None, "PNG", (".png",)),
    "image/gif": FormatInfo("image", "gif", None, "GIF", (".gif",)),
    "image/webp": FormatInfo("image", "webp", None, "WEBP", (".webp",)),
    "image/bmp": FormatInfo("image", "bmp", None, "BMP", (".bmp", ".dib")),
    "image/x-ms-bmp": FormatInfo("image", "bmp", None, "BMP", (".bmp", ".dib")),
    "image/tiff": FormatInfo("image", "tiff", None, "TIFF", (".tif", ".tiff")),
    "audio/x-wav": FormatInfo("audio", "wav", "wav", None, (".wav", ".wave")),
    "audio/wav": FormatInfo("audio", "wav", "wav", None, (".wav", ".wave")),
    "audio/mpeg": FormatInfo("audio", "mp3", "mp3", None, (".mp3",)),
    "audio/x-m4a": FormatInfo("audio", "m4a", "mov", None, (".m4a", ".mp4", ".aac", ".m4b")),
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
    "video/mp4": FormatInfo("video", "mp4", "mov", None, (".mp4", ".m4v", ".m4a")),
    "video/x-m4v": FormatInfo("video", "mp4", "mov", None, (".m4v", ".mp4")),
    "video/quicktime": FormatInfo("video", "mov", "mov", None, (".mov", ".qt", ".mp4")),
    "video/3gpp": FormatInfo("video", "3gp", "mov", None, (".3gp", ".3gpp", ".mp4")),
    "video/3gpp2": FormatInfo("video", "3g2", "mov", None, (".3g2", ".3gp2", ".mp4")),
    "video/x-matroska": FormatInfo("video", "mkv", "matroska", None, (".mkv", ".mka", ".webm")),
    "video/webm": FormatInfo("video", "webm", "matroska", None, (".webm", ".mkv")),
    "video/x-msvideo": FormatInfo("video", "avi", "avi", None, (".avi",)),
}

# Named refusals: what the user most likely has, and what to do about it.
_SEND_MEDIA = "send a photo, voice note or video file"
_REFUSAL_HINTS: dict[str, str] = {
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
    "image/heic": ("HEIC is not supported yet; export it as JPEG "
                   "(iPhone: Settings > Camera > Formats > Most Compatible)"),
    "image/heif": "HEIF is not supported yet; export it as JPEG",
    "application/x-empty": "the file is empty; the transfer or export probably failed, get the file again",
    "inode/x-empty": "the file is empty; the transfer or export probably failed, get the file again",
}
_SUPPORTED = ("supported: JPEG, PNG, GIF, WebP, BMP, TIFF; WAV, MP3, M4A/AAC, OGG/Opus, FLAC, AMR; "
              "MP4, MOV, MKV, WebM, AVI, 3GP")


def refusal_hint(mime: str) -> str:
    """What to tell the user whose file libmagic calls ``mime`` (not on the allowlist)."""
    if mime in _REFUSAL_HINTS:
        return _REFUSAL_HINTS[mime]
    if mime.startswith("text/"):  # scripts, source code, subtitles, markup of any kind
        return f"text is not media and is never decoded; {_SEND_MEDIA}"
    return _SUPPORTED


@dataclass(frozen=True)
class Sniffed:
    path: Path
    mime: str
    kind: Kind
    format: str
    demuxer: str | None
    pillow: str | None
    size: int
    warnings: tuple[str, ...] = ()


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


# How the file is opened: never wait (a FIFO swapped in after the stat would block a
# plain open until a writer comes), never take a terminal as the controlling one.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


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
    flags = _OPEN_FLAGS | (0 if linked else os.O_NOFOLLOW)
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


def sniff(path: Path | str) -> Sniffed:
    path = Path(path)
    head, size = read_head(path)
    if size == 0:
        raise UnsupportedType("the file is empty (0 bytes)", path=path,
                              hint="the transfer or export probably failed; get the file again")
    mime = mime_of(head)
    info = ALLOWED.get(mime)
    if info is None:
        raise UnsupportedType(f"content is {mime}, not a supported image, audio or video format",
                              path=path, hint=refusal_hint(mime))
    warnings: list[str] = []
    ext = path.suffix.lower()
    if ext not in info.extensions:
        shown = ext or "no extension"
        warnings.append(f"extension {shown!s} does not match the content ({info.format}, {mime}); "
                        "going by the content")
    return Sniffed(path=path, mime=mime, kind=info.kind, format=info.format, demuxer=info.demuxer,
                   pillow=info.pillow, size=size, warnings=tuple(warnings))
