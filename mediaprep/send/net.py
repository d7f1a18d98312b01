"""net: the one place HTTP requests are made (WeChat upload, IMIconnect send).

Like tools/proc.run for child processes, ``exchange`` is the chokepoint for the
network: a timeout on every request, TLS verification left on (httpx's default; we
never offer a switch to turn it off), redirects not followed (a redirect could carry
the app secret or access token in the query string to another host), the answer
read up to a bound, and transport failures classified by whether the request could
have reached the server (which decides whether resending is safe).

Secrets (service key, app secret, access tokens) are registered with a Redactor and
scrubbed from every message we build and from httpx's own log lines, which print the
full URL (WeChat wants the token in the query string).
"""
from __future__ import annotations

import logging
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from ..errors import RemoteError, RemoteTimeout

T = TypeVar("T")

_SECRET_PARAMS = re.compile(r"(?i)(?<![\w-])(access_token|secret|key)=([^&\s\"']+)")
_SECRETS: set[str] = set()  # every secret seen in this process, for the log filter
_SECRETS_LOCK = threading.Lock()


def register_secret(value: str | None) -> None:
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)


def redact(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every registered secret, and any ``access_token=``/``secret=``
    query value, replaced by ***."""
    with _SECRETS_LOCK:
        secrets = set(_SECRETS)
    secrets.update(s for s in extra if s and len(s) >= 4)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)


class _RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call is not ours to fix
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _RedactingFilter()


def _install_log_filter() -> None:
    # httpx logs "HTTP Request: POST https://...?access_token=..." at INFO.
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@dataclass(frozen=True)
class NetOptions:
    """Timeouts and retry policy. Tests shrink them; users rarely need to."""

    timeout: float = 30.0  # seconds for each of connect, write, read (httpx.Timeout)
    attempts: int = 4  # tries for failures that are safe to repeat
    backoff: float = 1.0  # first wait between tries; doubles each time
    backoff_max: float = 30.0
    max_response_bytes: int = 1 << 20  # both APIs answer a few hundred bytes of JSON
    notify: Callable[[str], None] | None = field(default=None, compare=False, repr=False)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        wait = self.backoff * (2 ** (retry - 1))
        if retry_after is not None:
            wait = max(wait, retry_after)
        return float(min(wait, self.backoff_max))

    def say(self, message: str) -> None:
        if self.notify is not None:
            self.notify(redact(message))


def make_client(net: NetOptions) -> httpx.Client:
    _install_log_filter()
    return httpx.Client(timeout=httpx.Timeout(net.timeout), follow_redirects=False, verify=True,
                        headers={"User-Agent": _user_agent()})


def _user_agent() -> str:
    from .. import __version__

    return f"mediaprep/{__version__}"


class TransportFailure(RemoteError):
    """No HTTP answer. ``delivered`` says whether the server may have received the whole
    request (a read timeout) or certainly did not (refused connection, connect timeout)."""

    def __init__(self, message: str, *, delivered: bool, timed_out: bool, **kwargs: Any) -> None:
        super().__init__(message, retryable=True, **kwargs)
        self.delivered = delivered
        self.timed_out = timed_out


@dataclass(frozen=True)
class Reply:
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
        value = self.header("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


def exchange(client: httpx.Client, method: str, url: str, *, service: str, net: NetOptions,
             **kwargs: Any) -> Reply:
    """One HTTP request; the answer read up to ``net.max_response_bytes``. Raises
    TransportFailure (never an httpx exception, whose text may hold a secret URL)."""
    shown = redact(url.split("?", 1)[0])
    try:
        with client.stream(method, url, **kwargs) as resp:
            chunks: list[bytes] = []
            total = 0
            for chunk in resp.iter_bytes():
                total += len(chunk)
                if total > net.max_response_bytes:
                    raise RemoteError(f"{service} answered more than {net.max_response_bytes:,} bytes",
                                      service=service, hint=f"is {shown} the right URL?")
                chunks.append(chunk)
            return Reply(resp.status_code, b"".join(chunks), tuple(resp.headers.items()))
    except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransportFailure(f"{service}: connecting to {shown} timed out after {net.timeout:g} s",
                               service=service, delivered=False, timed_out=True) from _scrubbed(exc)
    except httpx.ConnectError as exc:
        tls = _tls_cause(exc)
        if tls is not None:
            # Not retried: a certificate that fails now fails on every try.
            raise RemoteError(f"{service}: the TLS certificate of {shown} is not trusted: {redact(tls)}",
                              service=service,
                              hint="TLS verification stays on; if a proxy re-signs traffic, point "
                                   "SSL_CERT_FILE at its CA bundle") from _scrubbed(exc)
        raise TransportFailure(f"{service}: cannot connect to {shown}: {_reason(exc)}", service=service,
                               delivered=False, timed_out=False) from _scrubbed(exc)
    except httpx.WriteTimeout as exc:
        # The server never got the whole body, so it cannot have acted on it.
        raise TransportFailure(f"{service}: sending to {shown} timed out after {net.timeout:g} s",
                               service=service, delivered=False, timed_out=True) from _scrubbed(exc)
    except httpx.TimeoutException as exc:
        raise TransportFailure(f"{service}: no answer from {shown} within {net.timeout:g} s",
                               service=service, delivered=True, timed_out=True) from _scrubbed(exc)
    except httpx.HTTPError as exc:
        raise TransportFailure(f"{service}: connection to {shown} failed: {_reason(exc)}",
                               service=service, delivered=True, timed_out=False) from _scrubbed(exc)


def _tls_cause(exc: BaseException) -> str | None:
    """The reason of an ssl.SSLError somewhere in ``exc``'s chain, if there is one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return getattr(current, "verify_message", None) or current.reason or str(current)
        current = current.__cause__ or current.__context__
    text = str(exc)
    return text if "CERTIFICATE_VERIFY_FAILED" in text else None


def _reason(exc: Exception) -> str:
    return redact(str(exc) or type(exc).__name__)


def _scrubbed(exc: Exception) -> Exception:
    """The cause we chain: same type, secrets removed from its text (shown by --debug)."""
    try:
        clean = type(exc)(_reason(exc))
    except Exception:  # noqa: BLE001 - an exception type with another signature
        clean = RuntimeError(f"{type(exc).__name__}: {_reason(exc)}")
    return clean


def retrying(once: Callable[[], T], net: NetOptions, what: str) -> T:
    """Call ``once`` until it returns, retrying RemoteErrors marked retryable with
    exponential backoff; the last error says how many tries were made."""
    attempt = 1
    while True:
        try:
            return once()
        except RemoteError as exc:
            if not exc.retryable or attempt >= net.attempts:
                if exc.retryable and net.attempts > 1:
                    exc.message = f"{exc.message} (tried {attempt} times)"
                    if isinstance(exc, TransportFailure) and exc.timed_out and not isinstance(exc, RemoteTimeout):
                        raise RemoteTimeout(exc.message, service=exc.service, code=exc.code,
                                            hint=exc.hint or "the server is slow or unreachable; "
                                            "try again later or raise --timeout") from exc
                raise
            wait = net.delay(attempt, exc.retry_after)
            net.say(f"{what}: {exc.message}; retrying in {wait:g} s ({attempt}/{net.attempts})")
            time.sleep(wait)
            attempt += 1


def parse_json(reply: Reply, service: str) -> Any:
    import json

    try:
        return json.loads(reply.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        snippet = redact(reply.body[:200].decode("utf-8", "replace"))
        raise RemoteError(f"{service} answered HTTP {reply.status} with malformed JSON", service=service,
                          detail=f"answer began: {snippet!r}") from exc
