"""sniff: the real type of a file from its bytes; the extension is never trusted."""
from __future__ import annotations

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
_REFUSAL_HINTS: dict[str, str] = {
    "text/plain": "text files (including HLS playlists and ffmpeg concat scripts) are never decoded",
    "text/html": "HTML is not media",
    "text/csv": "text files are never decoded",
    "image/svg+xml": "SVG is refused; export it to PNG or JPEG first",
    "application/postscript": "PostScript/EPS is refused; export it to PNG or JPEG first",
    "application/pdf": "PDF is refused; export the page to PNG or JPEG first",
    "image/heic-sequence": "a HEIF image sequence (burst or animation) is not supported; "
                           "export one still as HEIC or JPEG",
    "image/heif-sequence": "a HEIF image sequence (burst or animation) is not supported; "
                           "export one still as HEIC or JPEG",
    "application/x-empty": "the file is empty",
    "inode/x-empty": "the file is empty",
}


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


def read_head(path: Path, limit: int = HEAD_BYTES) -> tuple[bytes, int]:
    """Open only regular files (never a FIFO or device, which could block or be
    endless) and return the first ``limit`` bytes and the file size."""
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise BadInput("no such file", path=path, hint="check the path") from exc
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror}", path=path) from exc
    if stat.S_ISDIR(st.st_mode):
        raise BadInput("is a folder", path=path, hint="use 'mediaprep batch' for folders")
    if not stat.S_ISREG(st.st_mode):
        raise BadInput("not a regular file (device, FIFO or socket)", path=path,
                       hint="copy the media into a regular file first")
    try:
        with open(path, "rb") as fh:
            return fh.read(limit), st.st_size
    except OSError as exc:
        raise BadInput(f"cannot read: {exc.strerror}", path=path,
                       hint="check the file's permissions") from exc


def _ftyp_brands(head: bytes) -> set[bytes]:
    """The major and compatible brands of an ftyp box at the start of ``head``."""
    if head[4:8] != b"ftyp":
        return set()
    size = min(int.from_bytes(head[:4], "big"), len(head), 4096)
    return {head[8:12], *(head[i:i + 4] for i in range(16, size - 3, 4))}


def _refine(mime: str, head: bytes) -> str:
    """libmagic reads only the major brand: a generic HEIF still (mif1) that lists the
    avif brand holds AV1 images, which only the AVIF plugin decodes."""
    if mime == "image/heif" and b"avif" in _ftyp_brands(head):
        return "image/avif"
    return mime


def sniff(path: Path | str) -> Sniffed:
    path = Path(path)
    head, size = read_head(path)
    if size == 0:
        raise UnsupportedType("the file is empty (0 bytes)", path=path,
                              hint="the transfer or export probably failed; get the file again")
    mime = _refine(mime_of(head), head)
    info = ALLOWED.get(mime)
    if info is None:
        hint = _REFUSAL_HINTS.get(mime, "supported: JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC, AVIF; WAV, MP3, "
                                  "M4A/AAC, OGG/Opus, FLAC, AMR; MP4, MOV, MKV, WebM, AVI, 3GP")
        raise UnsupportedType(f"content is {mime}, not a supported image, audio or video format",
                              path=path, hint=hint)
    warnings: list[str] = []
    ext = path.suffix.lower()
    if ext not in info.extensions:
        shown = ext or "no extension"
        warnings.append(f"extension {shown!s} does not match the content ({info.format}, {mime}); "
                        "going by the content")
    return Sniffed(path=path, mime=mime, kind=info.kind, format=info.format, demuxer=info.demuxer,
                   pillow=info.pillow, size=size, warnings=tuple(warnings))
