"""redact: the one step every string leaving the process passes through.

The service key, the app secret and every access token (given or fetched) are
registered here as soon as they are known. ``redact`` replaces each of them, in the
spellings they take on the way out (as they are, JSON-escaped, repr-escaped,
URL-encoded), and any ``access_token=``/``secret=``/``key=`` query value, by ``***``.

It is applied at every exit:
- the CLI's stdout and stderr (``redacted_output`` swaps in streams that redact each
  line before it is written, so ``--json``, reports and warnings all pass through it);
- exceptions, including their causes and notes, before the CLI prints them (the one
  line, and the ``--debug`` traceback);
- log records of httpx, httpcore and mediaprep (httpx logs full URLs, and WeChat
  wants the token in the query string);
- the send journal, which is written through ``redact`` too.
"""
from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values would mask ordinary words; no real key, secret or token is this short.
MIN_SECRET_LENGTH = 4

_SECRET_PARAMS = re.compile(r"(?i)(?<![\w-])(access_token|secret|key)=([^&\s\"']+)")
_secrets: set[str] = set()
_lock = threading.Lock()


def spellings(value: str) -> set[str]:
    """``value`` as it may appear in what we write: raw, inside JSON or a repr, URL-encoded."""
    forms = {value, json.dumps(value, ensure_ascii=False)[1:-1], json.dumps(value)[1:-1],
             repr(value)[1:-1], quote(value, safe=""), quote_plus(value, safe="")}
    with contextlib.suppress(UnicodeEncodeError):
        forms.add(repr(value.encode("utf-8"))[2:-1])
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Remember ``value`` for the life of the process; every later output is scrubbed of it."""
    if not value:
        return
    forms = spellings(value)
    stripped = value.strip()
    if stripped != value:
        forms |= spellings(stripped)
    with _lock:
        _secrets.update(forms)


def known_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every registered secret (and ``extra``) and any secret-looking
    query value replaced by ***."""
    secrets = set(known_secrets())
    for value in extra:
        if value:
            secrets |= spellings(value)
    # Longest first, so a secret that contains another is masked whole.
    for secret in sorted(secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}={MASK}", text)


def contains_secret(text: str) -> bool:
    return any(secret in text for secret in known_secrets())


# -- exceptions ----------------------------------------------------------------------

class RedactedError(RuntimeError):
    """Stands in for an exception whose text held a secret we could not scrub in place
    (its type keeps the text somewhere other than ``args``)."""


def _scrub_one(exc: BaseException) -> BaseException:
    """``exc`` with secrets removed from its text, in place where possible."""
    from pathlib import Path

    from ..errors import MediaprepError, RemoteError

    if isinstance(exc, MediaprepError):
        exc.message = redact(exc.message)
        exc.hint = redact(exc.hint) if exc.hint else exc.hint
        exc.detail = redact(exc.detail) if exc.detail else exc.detail
        if exc.path is not None and contains_secret(str(exc.path)):
            exc.path = Path(redact(str(exc.path)))
        if isinstance(exc, RemoteError) and isinstance(exc.code, str):
            exc.code = redact(exc.code)  # an API code is the server's text: it may echo anything
    with contextlib.suppress(Exception):
        exc.args = tuple(redact(a) if isinstance(a, str) else _redact_bytes(a) for a in exc.args)
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [redact(n) if isinstance(n, str) else n for n in notes]
    if isinstance(exc, MediaprepError):
        return exc  # cleaned through its own fields; keeps its type and exit code
    try:
        shown = str(exc)
        leaks = contains_secret(shown + repr(exc))
    except Exception:  # noqa: BLE001 - an exception that cannot even print itself
        shown, leaks = "", False
    if not leaks:
        return exc
    clean = RedactedError(redact(f"{type(exc).__name__}: {shown}"))
    clean.__traceback__ = exc.__traceback__
    return clean


def _redact_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return redact(value.decode("utf-8", "replace")).encode("utf-8")
    return value


def scrub_exception(exc: BaseException) -> BaseException:
    """``exc`` and every exception chained to it (causes, contexts) scrubbed; returns
    what to raise: ``exc`` itself, or a stand-in when it could not be cleaned in place."""
    cleaned: dict[int, BaseException] = {}

    def clean(original: BaseException) -> BaseException:
        if id(original) in cleaned:
            return cleaned[id(original)]
        result = cleaned[id(original)] = _scrub_one(original)
        cause, context = original.__cause__, original.__context__
        result.__suppress_context__ = original.__suppress_context__
        result.__cause__ = clean(cause) if cause is not None else None
        result.__context__ = clean(context) if context is not None else None
        return result

    return clean(exc)


# -- process output ------------------------------------------------------------------

class RedactingStream:
    """A text stream that writes whole lines, each passed through ``redact``.

    A partial line waits for its end (or a flush) so that a secret written in two
    pieces is still seen whole. There is deliberately no ``buffer`` or ``fileno``:
    whoever wants to write must come through here.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._pending = ""
        self.encoding: str = str(getattr(inner, "encoding", None) or "utf-8")
        self.errors: str | None = getattr(inner, "errors", None)

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(getattr(self._inner, "isatty", lambda: False)())

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = self._pending + text
        head, sep, tail = data.rpartition("\n")
        if sep:
            self._inner.write(redact(head + sep))
        self._pending = tail
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._inner.write(redact(self._pending))
            self._pending = ""
        self._inner.flush()


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """Everything written to stdout and stderr inside goes through ``redact``; an
    exception leaving it is scrubbed (with its chain) before anyone prints it."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        yield
    except BaseException as exc:
        clean = scrub_exception(exc)
        if clean is exc:
            raise
        raise clean from clean.__cause__
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = out, err


# -- logs ----------------------------------------------------------------------------

class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call is not ours to fix
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            scrub_exception(record.exc_info[1])
            record.exc_text = None
        return True


_FILTER = _RedactingFilter()
# A logger's filters apply only to records logged on it, not to its children's, so
# each logger that can see a URL, a header or an answer gets the filter.
_LOGGERS = ("httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
            "httpcore.proxy", "httpcore.socks", "mediaprep")


def install_log_filter() -> None:
    names = set(_LOGGERS)
    names.update(n for n in logging.root.manager.loggerDict
                 if n.split(".")[0] in ("httpx", "httpcore", "mediaprep"))
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
