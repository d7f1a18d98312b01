"""exchange: one HTTP request and its whole answer, within one total deadline.

Like tools/proc.run for child processes, this is the chokepoint for the network.
httpx's timeouts bound each read or write, not the exchange: a server that sends
one byte a second (in the headers or the body) never trips them. So the request
runs in a worker thread and the caller waits at most ``net.timeout`` for all of it
(connect, TLS, send, the whole answer). At the deadline the connection's socket is
shut down (which wakes a read blocked in the worker) and the caller gets a timeout
at once, whatever the worker is stuck in (even a name lookup).

httpcore's trace hook tells the worker how far the request got, so every failure
says whether nothing, part, or all of the request left the machine: only the last
can have been acted on by the server. The answer is read up to a bound; a
Content-Length over it is refused before reading. Failures are raised as our own
errors (never an httpx exception, whose text may hold a secret URL).
"""
from __future__ import annotations

import contextlib
import os
import socket
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import RemoteError
from .net import SENT_NONE, SENT_PART, SENT_WHOLE, AnswerTooLarge, NetOptions, Reply, TransportFailure
from .redact import redact

if TYPE_CHECKING:  # httpx costs ~0.15 s to import; a client (net.make_client) loads it
    import httpx


class _Abandoned(Exception):
    """Raised in the worker when the caller has already given up on the exchange."""


class _TooLarge(Exception):
    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size


class _Call:
    """One exchange's state, shared by the waiting caller and the worker thread."""

    def __init__(self, on_send: Callable[[], None] | None) -> None:
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.sent = SENT_NONE
        self.abandoned = False
        self.finished = False
        self.sock: socket.socket | None = None  # our own handle on the connection, to shut it down
        self.reply: Reply | None = None
        self.error: BaseException | None = None
        self._on_send = on_send
        self._tunnel = False  # the events seen are a proxy's CONNECT, not our request

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event.endswith("connect_tcp.complete"):
            raw = info["return_value"].get_extra_info("socket")
            if raw is None:
                return
            # A duplicate of the descriptor: shutting it down ends the connection even
            # after TLS has wrapped (and taken over) the original socket object.
            handle = socket.socket(fileno=os.dup(raw.fileno()))
            with self.lock:
                if self.sock is not None:
                    self.sock.close()
                self.sock = handle
                if self.abandoned:
                    _shutdown(handle)
        elif event.endswith("send_request_headers.started"):
            # Through an HTTPS proxy, a CONNECT goes first, carrying nothing of ours.
            self._tunnel = getattr(info.get("request"), "method", b"") == b"CONNECT"
            if self._tunnel:
                return
            with self.lock:
                if self.abandoned:
                    raise _Abandoned()
                self.sent = SENT_PART
                if self._on_send is not None:
                    self._on_send()
        elif event.endswith("send_request_body.complete") and not self._tunnel:
            with self.lock:
                self.sent = SENT_WHOLE

    def run(self, client: httpx.Client, method: str, url: str, limit: int, kwargs: dict[str, Any]) -> None:
        try:
            with client.stream(method, url, extensions={"trace": self.trace}, **kwargs) as resp:
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _TooLarge(int(declared))
                chunks: list[bytes] = []
                total = 0
                for chunk in resp.iter_bytes():
                    total += len(chunk)
                    if total > limit:
                        raise _TooLarge(None)
                    chunks.append(chunk)
                self.reply = Reply(resp.status_code, b"".join(chunks), tuple(resp.headers.items()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, who raises it
            self.error = exc
        finally:
            with self.lock:
                self.finished = True
                if self.sock is not None:
                    self.sock.close()
                    self.sock = None
            self.done.set()

    def abandon(self) -> str | None:
        """Give up: cut the connection. How much had been sent, or None if it finished first."""
        with self.lock:
            if self.finished:
                return None
            self.abandoned = True
            if self.sock is not None:
                _shutdown(self.sock)
            return self.sent


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def exchange(client: httpx.Client, method: str, url: str, *, service: str, net: NetOptions,
             on_send: Callable[[], None] | None = None, **kwargs: Any) -> Reply:
    """One HTTP request; the whole answer, read up to ``net.max_response_bytes``, within
    ``net.timeout`` seconds in all. ``on_send`` is called just before the first byte of
    the request is written. Raises TransportFailure (``sent`` says how far it got) or
    RemoteError."""
    call = _Call(on_send)
    worker = threading.Thread(target=call.run, args=(client, method, url, net.max_response_bytes, kwargs),
                              name="mediaprep-http", daemon=True)
    worker.start()
    try:
        finished = call.done.wait(net.timeout)
    except BaseException:
        call.abandon()  # Ctrl-C: nothing more may leave, and the worker stops reading
        raise
    shown = redact(url.split("?", 1)[0])
    if not finished:
        sent = call.abandon()
        if sent is not None:
            raise _deadline_failure(service, shown, net.timeout, sent)
    call.done.wait()
    if call.error is not None:
        failure = _failure(call.error, call.sent, service, shown, net)
        if failure is call.error:
            raise failure
        raise failure from _scrubbed(call.error)
    assert call.reply is not None
    return call.reply


def _deadline_failure(service: str, shown: str, timeout: float, sent: str) -> TransportFailure:
    if sent == SENT_NONE:
        text = f"{service}: connecting to {shown} timed out after {timeout:g} s"
    elif sent == SENT_PART:
        text = f"{service}: sending to {shown} did not finish within {timeout:g} s"
        # Cut off by us mid-write, the last bytes may already sit in the kernel's
        # buffer and still go out whole: unlike a write the network refused, this
        # one cannot be called partial.
        sent = SENT_WHOLE
    else:
        text = f"{service}: no complete answer from {shown} within {timeout:g} s"
    return TransportFailure(text, service=service, sent=sent, timed_out=True)


def _failure(exc: BaseException, sent: str, service: str, shown: str, net: NetOptions) -> BaseException:
    """Our error for what the worker raised."""
    import httpx  # loaded already: the client that raised it is one

    if isinstance(exc, _TooLarge):
        size = f" ({exc.size:,} bytes announced)" if exc.size is not None else ""
        return AnswerTooLarge(f"{service} answered more than {net.max_response_bytes:,} bytes{size}; "
                              "stopped reading", service=service, sent=SENT_WHOLE, timed_out=False,
                              retryable=False, hint=f"is {shown} the right URL?")
    if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
        return TransportFailure(f"{service}: connecting to {shown} timed out after {net.timeout:g} s",
                                service=service, sent=SENT_NONE, timed_out=True)
    if isinstance(exc, httpx.ConnectError):
        tls = _tls_cause(exc)
        if tls is not None:
            # Not retried: a certificate that fails now fails on every try.
            return RemoteError(f"{service}: the TLS certificate of {shown} is not trusted: {redact(tls)}",
                               service=service,
                               hint="TLS verification stays on; if a proxy re-signs traffic, point "
                                    "SSL_CERT_FILE at its CA bundle")
        return TransportFailure(f"{service}: cannot connect to {shown}: {_reason(exc)}", service=service,
                                sent=SENT_NONE, timed_out=False)
    if isinstance(exc, httpx.TimeoutException):
        if sent == SENT_WHOLE:
            text = f"{service}: no complete answer from {shown} within {net.timeout:g} s"
        else:
            text = f"{service}: sending to {shown} timed out after {net.timeout:g} s"
        return TransportFailure(text, service=service, sent=sent, timed_out=True)
    if isinstance(exc, httpx.HTTPError):
        when = {SENT_NONE: "failed", SENT_PART: "broke while sending",
                SENT_WHOLE: "broke before the whole answer arrived"}[sent]
        return TransportFailure(f"{service}: connection to {shown} {when}: {_reason(exc)}", service=service,
                                sent=sent, timed_out=False)
    return exc  # not a network failure: a bug, or Ctrl-C in the worker; raised as it is


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


def _reason(exc: BaseException) -> str:
    return redact(str(exc) or type(exc).__name__)


def _scrubbed(exc: BaseException) -> BaseException | None:
    """The cause we chain: same type, secrets removed from its text (shown by --debug)."""
    if isinstance(exc, (_TooLarge, _Abandoned)):
        return None
    try:
        clean = type(exc)(_reason(exc))
    except Exception:  # noqa: BLE001 - an exception type with another signature
        clean = RuntimeError(f"{type(exc).__name__}: {_reason(exc)}")
    return clean
