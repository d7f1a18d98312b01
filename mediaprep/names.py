"""Output names: the input's own name, kept.

Unicode, CJK, emoji and spaces stay; only what a file system or a shell would
misread is replaced (``/``, ``\\``, NUL, control characters, bidi controls, a
leading ``-`` or ``.``), and a long name is cut on a character boundary to fit 255
bytes. WeChat's upload wants ASCII file names: :func:`ascii_stem` makes that form,
for the upload's multipart file name only.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

NAME_MAX = 255  # bytes in one file name on ext4, XFS, btrfs, APFS, NTFS (as UTF-16 units)

# Separators, NUL, control characters, and the bidi controls that make a name display
# as another (photo\u202egpj.exe shows as photoexe.jpg).
# Lone surrogates other than U+DC80-U+DCFF (surrogateescape'd bytes of a non-UTF-8 name,
# which encode back to those bytes) cannot be encoded into any file name at all.
_NOT_IN_NAMES = re.compile("[/\\\\\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                           "\ud800-\udc7f\udd00-\udfff]")
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")



def split_name(name: str) -> tuple[str, str]:
    """``("photo", ".jpg")`` for ``photo.jpg``; a leading dot is not an extension."""
    body = name.lstrip(".")
    if "." in body:
        cut = name.rfind(".")
        return name[:cut], name[cut:]
    return name, ""


def fit_name(stem: str, suffix: str, limit: int = NAME_MAX) -> str:
    """``stem + suffix``, the stem cut on a character boundary so the name fits ``limit``
    bytes as the file system stores it."""
    room = limit - len(os.fsencode(suffix))
    used = 0
    for i, ch in enumerate(stem):  # one pass: a long stem must not cost a re-encode per character
        used += len(os.fsencode(ch))
        if used > room:
            return stem[:i] + suffix
    return stem + suffix


def output_stem(path: Path | str) -> str:
    """The input's own name, without its extension, made safe to create and to pass to a
    shell: path separators, NUL and control characters become ``_``, a leading ``-``
    or ``.`` becomes ``_``. Everything else (CJK, emoji, spaces, accents) is kept."""
    stem, _ = split_name(Path(path).name)
    stem = unicodedata.normalize("NFC", stem) if _decodable(stem) else stem
    stem = _NOT_IN_NAMES.sub("_", stem).strip(" ")
    if stem[:1] in ("-", "."):
        stem = "_" + stem[1:]
    # Room for suffixes like .part12.thumb.jpg. Spaces are stripped again after the cut
    # so that the stem of an output's own name is that stem (a rerun names alike).
    return fit_name(stem, "", NAME_MAX - 32).rstrip(" ") or "media"


def _decodable(text: str) -> bool:
    return not any(0xDC80 <= ord(c) <= 0xDCFF for c in text)


def ascii_stem(path: Path | str) -> str:
    """An ASCII stem for WeChat's upload (its multipart file name; 40005/41005 otherwise):
    ``照片`` -> ``ZhaoPian``, ``ñandú`` -> ``nandu``. A name with nothing usable left
    becomes ``media-<8 hex digits of its hash>``, stable across runs."""
    import hashlib  # here, with anyascii: only an upload needs it

    from anyascii import anyascii

    stem, _ = split_name(Path(path).name)
    # Undecodable bytes (and lone surrogates) carry no letters: they go, like any other
    # character WeChat would refuse.
    text = "".join("_" if 0xD800 <= ord(c) <= 0xDFFF else c for c in stem)
    text = anyascii(unicodedata.normalize("NFC", text))
    text = _ASCII_UNSAFE.sub("_", text).strip("._-")[:120].rstrip("._-")
    if not text or not any(c.isalnum() for c in text):
        digest = hashlib.sha256(_name_bytes(stem)).hexdigest()[:8]
        return f"media-{digest}"
    return text


def _name_bytes(name: str) -> bytes:
    """The bytes a name stands for; a lone surrogate (no file name has one) as itself."""
    try:
        return os.fsencode(name)
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogatepass")
