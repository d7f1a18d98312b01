"""What `prepare` and `batch` need installed, checked before any work: libmagic for
every file, ffmpeg with its encoders for audio and video. A missing dependency is
exit 3 in one line, once, instead of the same failure for every file after minutes
of work on the others."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..model import Role
from ..preflight.sniff import kind_from_name
from ..tools import magic

# Encoders each role's output needs (the voice note is AMR-NB; video is H.264 + AAC).
_ENCODERS: dict[str, tuple[str, ...]] = {"voice": ("libopencore_amrnb",), "video": ("libx264", "aac")}


def require_tools(paths: Iterable[Path], as_: Role | None = None, *, all_kinds: bool = False) -> None:
    """Raise MissingDependency for the first missing tool these inputs need. The
    kind comes from the name (the content is read later): a name that promises no
    audio or video needs no ffmpeg here; ``all_kinds`` (a folder, whose names are
    not read first) needs everything."""
    magic.require()
    roles: set[str] = set()
    for path in paths:
        if path == Path("-"):
            continue  # stdin: its kind is known once read
        kind = kind_from_name(path)
        if as_ is not None:
            roles.add(as_)
        elif kind == "audio":
            roles.add("voice")
        elif kind == "video":
            roles.add("video")
    if all_kinds:
        roles.update(_ENCODERS)
    needed = [enc for role in sorted(roles) for enc in _ENCODERS.get(role, ())]
    if needed:
        from ..tools.ffmpeg import get_ffmpeg

        get_ffmpeg().require(*dict.fromkeys(needed))
