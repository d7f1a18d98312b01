"""Everything that knows about libmagic (through python-magic)."""
from __future__ import annotations

import functools
from typing import Any

from ..errors import MissingDependency

# How to get libmagic, per system; shown once when it is missing.
INSTALL_HINT = ("install libmagic: Debian/Ubuntu: apt-get install libmagic1; Fedora: dnf install "
                "file-libs; Alpine: apk add libmagic; macOS: brew install libmagic")


@functools.lru_cache(maxsize=1)
def _magic() -> Any:
    try:
        import magic  # python-magic; needs the system's libmagic
    except ImportError as exc:  # missing wheel or missing libmagic.so
        raise MissingDependency(f"python-magic cannot load libmagic ({exc})", hint=INSTALL_HINT) from exc
    return magic.Magic(mime=True)


def require() -> None:
    """Raise MissingDependency (exit 3) now, before any work, when libmagic is missing:
    every file would fail the same way, so it is reported once, not once per file."""
    _magic()


def mime_of(head: bytes) -> str:
    """libmagic's MIME verdict on the first bytes of a file."""
    return str(_magic().from_buffer(head))


def libmagic_version() -> str:
    """libmagic's version, e.g. "5.44" (for --version and bug reports)."""
    _magic()
    import magic

    try:
        number = int(magic.version())  # type: ignore[no-untyped-call]
    except (NotImplementedError, AttributeError, ValueError):
        return "unknown version"
    return f"{number // 100}.{number % 100:02d}"


@functools.lru_cache(maxsize=1)
def _describer():  # type: ignore[no-untyped-def]
    _magic()  # the same import and the same error when libmagic is missing
    import magic

    return magic.Magic()


def describe(head: bytes) -> str:
    """libmagic's words for the first bytes of a file ("MPEG transport stream data"),
    on one line: what a refusal names when the MIME type says little."""
    text = str(_describer().from_buffer(head))
    return " ".join(text.split())
