"""Everything that knows about libmagic (through python-magic)."""
from __future__ import annotations

import functools

from ..errors import MissingDependency


@functools.lru_cache(maxsize=1)
def _magic():  # type: ignore[no-untyped-def]
    try:
        import magic  # python-magic; needs the system's libmagic1
    except ImportError as exc:  # missing wheel or missing libmagic.so
        raise MissingDependency(
            f"python-magic cannot load libmagic: {exc}",
            hint="install the system library (Debian/Ubuntu: apt-get install libmagic1)",
        ) from exc
    return magic.Magic(mime=True)


def mime_of(head: bytes) -> str:
    """libmagic's MIME verdict on the first bytes of a file."""
    return str(_magic().from_buffer(head))


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
