"""credentials: check a key, secret or token before it goes into a header or URL.

A value read with ``export K="$(cat key.txt)"`` from a file saved on Windows keeps
its ``\\r``; pasted values bring spaces or a trailing newline. httpx would refuse
such a header only when the request is built, with the value in its message. So each
credential is checked before any connection is made: surrounding whitespace and line
breaks are removed with a warning that says what was removed (never the value);
anything stripping cannot fix (a line break or control character inside it, or a
non-ASCII character, which no header can carry as text) is a usage error. The value
is registered as a secret before anything is said about it.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Callable

from ..errors import UsageError
from .redact import register_secret

_NAMES = {"\r": "carriage return (\\r)", "\n": "line feed (\\n)", "\t": "tab", " ": "space",
          "\u00a0": "no-break space", "\ufeff": "byte order mark"}


def _describe(chars: str) -> str:
    names: list[str] = []
    for ch in chars:
        name = _NAMES.get(ch)
        if name is None:
            code = f"U+{ord(ch):04X}"
            if unicodedata.category(ch).startswith("C"):
                name = f"control character {code}"
            else:
                name = f"{unicodedata.name(ch, '').lower() or 'character'} ({code})"
        if name not in names:
            names.append(name)
    return ", ".join(names)


def _strip(value: str) -> str:
    # str.strip() leaves a byte order mark, which an editor may have saved at the start.
    return value.strip().strip("\ufeff").strip()


def clean_credential(value: str | None, what: str, warn: Callable[[str], None] | None = None, *,
                     secret: bool = True) -> str | None:
    """``value`` ready for a header or query string, or a UsageError (exit 2).

    ``what`` names the value and where it came from, e.g. "the IMIconnect key
    (--key or MEDIAPREP_IMICONNECT_KEY)"; messages never include the value itself.
    ``secret`` False is for values that go out the same way but are not secret (an app id).
    """
    if value is None or value == "":
        return value
    if secret:
        register_secret(value)
    stripped = _strip(value)
    if not stripped:
        raise UsageError(f"{what} is only whitespace", hint="nothing was sent; check where it is set")
    if not stripped.isascii():
        raise UsageError(f"{what} contains non-ASCII characters (value not shown)",
                         hint="nothing was sent; keys, secrets and tokens are plain ASCII: copy it again")
    inner = [ch for ch in stripped if not ch.isprintable() or ch.isspace()]
    if inner:
        raise UsageError(f"{what} contains {_describe(''.join(inner))} inside it (value not shown)",
                         hint="nothing was sent; removing it could make a different value: copy it again")
    if stripped != value:
        if secret:
            register_secret(stripped)
        start = value.find(stripped)
        head, tail = value[:start], value[start + len(stripped):]
        where = " and ".join(part for part, chars in (("before", head), ("after", tail)) if chars)
        if warn is not None:
            warn(f"warning: {what} had {_describe(head + tail)} {where} it; removed "
                 "(a file saved with Windows line endings?)")
    return stripped
