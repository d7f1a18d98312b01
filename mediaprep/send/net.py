"""net: the HTTP policy shared by the WeChat upload and the IMIconnect send.

The client: TLS verification left on (httpx's default; we never offer a switch to
turn it off), redirects not followed (a redirect could carry the app secret or
access token in the query string to another host), no connection kept alive between
requests (a kept-alive connection the server has since closed fails in a way we
could not tell from "the server got it and hung up"). The request itself is made by
``exchange.exchange`` within a total deadline; ``retrying`` repeats what is safe to
repeat, counting attempts once per operation.
"""
from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ..errors import RemoteError, RemoteTimeout, UsageError
from .redact import install_log_filter, redact, register_secret

if TYPE_CHECKING:  # httpx costs ~0.15 s to import: loaded when a client is made
    import httpx

T = TypeVar("T")

# How much of a request may have left when an exchange failed.
SENT_NONE = "none"  # nothing: the server cannot have seen it
SENT_PART = "partial"  # some bytes, not the whole request: the server cannot have acted on it
SENT_WHOLE = "whole"  # all of it: the server may have acted on it


@dataclass(frozen=True)
class NetOptions:
    """Deadline and retry policy. Tests shrink them; users rarely need to."""

    timeout: float = 30.0  # seconds for one whole exchange: connect, send, the entire answer
    attempts: int = 4  # tries per operation (a token fetch and the upload it serves count together)
    backoff: float = 1.0  # first wait between tries; doubles each time
    backoff_max: float = 30.0
    max_response_bytes: int = 1 << 20  # both APIs answer a few hundred bytes of JSON
    notify: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def delay(self, retry: int) -> float:
        return float(min(self.backoff * (2 ** (retry - 1)), self.backoff_max))

    def say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(redact(message))


def check_endpoint(url: str, what: str, example: str) -> None:
    """Refuse an API address that is not http(s), or plain http to another machine:
    the app secret, access token and service key would cross the network in clear
    (both APIs are https). Plain http stays open to this machine's own addresses,
    for a local test server or a proxy the user runs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("http", "https") or not host:
        raise UsageError(f"{what} {redact(url)!r} is not an http(s) address", hint=f"e.g. {example}")
    if parts.scheme == "http":
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = host == "localhost"
        if not local:
            raise UsageError(f"{what} {redact(url)!r} is plain http to another machine: the credentials "
                             "would cross the network in clear",
                             hint=f"use https, as {example} does; plain http is taken only to "
                                  "this machine (a local test server)")


def make_client(net: NetOptions) -> httpx.Client:
    import httpx

    install_log_filter()
    return httpx.Client(timeout=httpx.Timeout(net.timeout), follow_redirects=False, verify=True,
                        limits=httpx.Limits(max_keepalive_connections=0),
                        headers={"User-Agent": _user_agent()})


def _user_agent() -> str:
    from .. import __version__

    return f"mediaprep/{__version__}"


class TransportFailure(RemoteError):
    """No usable HTTP answer. ``sent`` says how much of the request may have reached
    the server (SENT_NONE, SENT_PART, SENT_WHOLE), which decides whether resending is safe."""

    def __init__(self, message: str, *, sent: str, timed_out: bool, retryable: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(message, retryable=retryable, **kwargs)
        self.sent = sent
        self.timed_out = timed_out

    @property
    def delivered(self) -> bool:
        """The whole request left: the server may have acted on it."""
        return self.sent == SENT_WHOLE


class AnswerTooLarge(TransportFailure):
    """The answer went past the size bound; we stopped reading it."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds or an HTTP date."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        from datetime import timezone

        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class Reply:
    """An answer read whole (status, every byte of the body, headers)."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def retry_after(self) -> float | None:
        return parse_retry_after(self.header("retry-after"))


def parse_json(reply: Reply, service: str) -> Any:
    try:
        return json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        snippet = redact(reply.body[:200].decode("utf-8", "replace"))
        raise RemoteError(f"{service} answered HTTP {reply.status} with malformed JSON", service=service,
                          detail=f"answer began: {snippet!r}") from exc


def retrying(once: Callable[[], T], net: NetOptions, what: str) -> T:
    """Call ``once`` until it returns, retrying RemoteErrors marked retryable with
    exponential backoff, at most ``net.attempts`` calls in all. A Retry-After the
    server sent is honoured up to the exchange deadline (``net.timeout``); a longer
    wait ends the operation. The last error says once how many tries were made."""
    attempt = 1
    while True:
        try:
            return once()
        except RemoteError as exc:
            if not exc.retryable or attempt >= net.attempts:
                final = _final(exc, attempt)
                if final is exc:
                    raise
                raise final from exc
            wait = net.delay(attempt)
            if exc.retry_after is not None:
                if exc.retry_after > net.timeout:
                    exc.message = (f"{exc.message}; it asked to be retried after {exc.retry_after:.0f} s, "
                                   f"longer than the {net.timeout:g} s deadline")
                    exc.hint = "try again later (or raise --timeout to wait that long)"
                    exc.retryable = False
                    raise _final(exc, attempt) from exc.__cause__
                wait = max(wait, exc.retry_after)
            prefix = f"{what}: " if what else ""
            net.say(f"{prefix}{exc.message}; retrying in {wait:.3g} s ({attempt}/{net.attempts})")
            time.sleep(wait)
            attempt += 1


def _final(exc: RemoteError, attempt: int) -> RemoteError:
    """``exc`` naming the number of tries (once, however many layers it passes)."""
    if attempt > 1 and not getattr(exc, "tries_noted", False):
        exc.message = f"{exc.message} (tried {attempt} times)"
        exc.tries_noted = True  # type: ignore[attr-defined]
    if isinstance(exc, TransportFailure) and exc.timed_out and exc.retryable:
        slow = RemoteTimeout(exc.message, service=exc.service, code=exc.code, path=exc.path,
                             hint=exc.hint or "the server is slow or unreachable; try again later or raise --timeout",
                             detail=exc.detail)
        slow.tries_noted = True  # type: ignore[attr-defined]
        return slow
    return exc


__all__ = ["AnswerTooLarge", "NetOptions", "Reply", "SENT_NONE", "SENT_PART", "SENT_WHOLE", "TransportFailure",
           "make_client", "parse_json", "parse_retry_after", "redact", "register_secret", "retrying"]
