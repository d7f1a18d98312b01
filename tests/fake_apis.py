"""Real HTTP servers on 127.0.0.1 that behave as WeChat's temporary media API and
IMIconnect's messaging API are documented to, for the upload and send tests, and
misbehave on request.

WeChat: GET /cgi-bin/token (client_credential), POST /cgi-bin/media/upload
(multipart field "media"), answering errcodes 40001/42001/40004/40005/41005/44001/
40006/45007 for the conditions they name. IMIconnect: POST /resources/v1/messaging
with the "key" header, answering 1001 or 7000-7009. Tests can queue scripted
actions per path that run before the normal behaviour: a forced answer, a delay,
or a misbehaviour on the wire (``MODES``: resets, a close without answer, a cut-off
answer, headers or body dripped a byte at a time, a 50 MB answer, a secret echoed
in a success answer). A misbehaving action first does what the real server would
(queues the message, stores the upload), so a test can tell "sent twice" from "sent
once, answer lost".
"""
from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mediaprep.send.net import NetOptions

# Small enough to keep the suite fast, large enough for a loaded 2-core machine.
FAST = NetOptions(timeout=2.0, attempts=3, backoff=0.01, backoff_max=0.05)

UPLOAD = "/cgi-bin/media/upload"
TOKEN = "/cgi-bin/token"
MESSAGING = "/resources/v1/messaging"

# Real WeChat temporary media limits (the fake is the server, not the profile).
_EXTS = {"image": (".jpg", ".jpeg", ".png", ".gif"), "voice": (".amr", ".mp3"), "video": (".mp4",),
         "thumb": (".jpg", ".jpeg")}
_MAX = {"image": 10_000_000, "voice": 2_000_000, "video": 10_000_000, "thumb": 64_000}


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def answer_json(obj: Any, status: int = 200) -> Answer:
    return Answer(status, json.dumps(obj).encode())


@dataclass
class Raw:
    """Take over the connection: ``act(handler, normal)`` writes (or does not write)
    whatever it likes; ``normal()`` is the answer the fake would have given."""

    act: Callable[[_Handler, Callable[[], Answer]], None]


Action = Callable[["Recorded"], Answer | Raw | None]


def parse_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Strict multipart/form-data parser: [(headers, data)]. Raises ValueError if malformed."""
    m = re.match(r'multipart/form-data;\s*boundary=("?)([^";]+)\1$', content_type)
    if not m:
        raise ValueError(f"not multipart/form-data: {content_type!r}")
    delim = b"--" + m.group(2).encode()
    if not body.startswith(delim) or not body.endswith(delim + b"--\r\n"):
        raise ValueError("bad multipart framing")
    pieces = body[: -len(b"--\r\n")].split(delim)
    assert pieces[0] == b"" and pieces[-1] == b""
    parts = []
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise ValueError("bad part framing")
        head, sep, data = piece[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part without header end")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        parts.append((headers, data))
    return parts


def disposition(value: str) -> dict[str, str]:
    return dict(re.findall(r';\s*(\w+)="([^"]*)"', value))


@dataclass
class FakeApis:
    appid: str = "wx-test-appid"
    secret: str = "S3cret-AppSecret-0001"
    key: str = "SvcKey-0123456789abcdef"
    token_uses: int | None = None  # a token expires after this many uploads (None: by time only)
    token_lifetime: int = 7200
    requests: list[Recorded] = field(default_factory=list)
    tokens: dict[str, list[Any]] = field(default_factory=dict)  # token -> [expires_at, uses_left]
    media: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)  # id -> (type, filename, data)
    queued: list[dict[str, Any]] = field(default_factory=list)
    scripts: dict[str, list[Action]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    # -- test controls ---------------------------------------------------------------
    def script(self, path: str, *actions: Action) -> None:
        self.scripts.setdefault(path, []).extend(actions)

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def expire_tokens(self) -> None:
        with self.lock:
            for entry in self.tokens.values():
                entry[0] = 0.0

    # -- dispatch --------------------------------------------------------------------
    def handle(self, rec: Recorded) -> Answer | Raw:
        with self.lock:
            self.requests.append(rec)
            actions = self.scripts.get(rec.path)
            action = actions.pop(0) if actions else None
        if action is not None:
            forced = action(rec)
            if forced is not None:
                return forced
        return self.normal(rec)

    def normal(self, rec: Recorded) -> Answer:
        if rec.path == TOKEN and rec.method == "GET":
            return self._token(rec)
        if rec.path == UPLOAD and rec.method == "POST":
            return self._upload(rec)
        if rec.path == MESSAGING and rec.method == "POST":
            return self._message(rec)
        return Answer(404, b"not found", "text/plain")

    def _token(self, rec: Recorded) -> Answer:
        q = rec.query
        if q.get("grant_type") != "client_credential":
            return answer_json({"errcode": 40002, "errmsg": "invalid grant_type"})
        if q.get("appid") != self.appid:
            return answer_json({"errcode": 40013, "errmsg": "invalid appid"})
        if q.get("secret") != self.secret:
            return answer_json({"errcode": 40125, "errmsg": f"invalid appsecret {q.get('secret')}"})
        token = "TOKEN-" + uuid.uuid4().hex
        with self.lock:
            self.tokens[token] = [time.time() + self.token_lifetime, self.token_uses]
        return answer_json({"access_token": token, "expires_in": self.token_lifetime})

    def _upload(self, rec: Recorded) -> Answer:
        token = rec.query.get("access_token")
        with self.lock:
            entry = self.tokens.get(token or "")
            if not token:
                return answer_json({"errcode": 41001, "errmsg": "access_token missing"})
            if entry is None:
                # WeChat echoes nothing secret, but a test proves we would redact it if it did.
                return answer_json({"errcode": 40001, "errmsg": f"invalid credential, access_token is "
                                    f"invalid or not latest: {token}"})
            if entry[0] < time.time() or entry[1] == 0:
                return answer_json({"errcode": 42001, "errmsg": "access_token expired"})
            if entry[1] is not None:
                entry[1] -= 1
        media_type = rec.query.get("type", "")
        if media_type not in _EXTS:
            return answer_json({"errcode": 40004, "errmsg": "invalid media type"})
        try:
            parts = parse_multipart(rec.header("content-type") or "", rec.body)
        except ValueError:
            return answer_json({"errcode": 41005, "errmsg": "media data missing"})
        media = [(h, d) for h, d in parts if disposition(h.get("content-disposition", "")).get("name") == "media"]
        if len(media) != 1 or "filename" not in disposition(media[0][0].get("content-disposition", "")):
            return answer_json({"errcode": 41005, "errmsg": "media data missing"})
        headers, data = media[0]
        filename = disposition(headers["content-disposition"])["filename"]
        if not filename.isascii() or not filename.lower().endswith(_EXTS[media_type]):
            return answer_json({"errcode": 40005, "errmsg": "invalid file type"})
        if not data:
            return answer_json({"errcode": 44001, "errmsg": "empty media data"})
        if len(data) > _MAX[media_type]:
            return answer_json({"errcode": 40006, "errmsg": "invalid meida size"})
        if media_type == "voice" and filename.endswith(".amr") and (len(data) - 6) / 32 * 0.02 > 60.0:
            return answer_json({"errcode": 45007, "errmsg": "playing time exceed limit"})
        media_id = uuid.uuid4().hex + uuid.uuid4().hex[:20]
        with self.lock:
            self.media[media_id] = (media_type, filename, data)
        key = "thumb_media_id" if media_type == "thumb" else "media_id"
        return answer_json({"type": media_type, key: media_id, "created_at": int(time.time())})

    def _message(self, rec: Recorded) -> Answer:
        def reply(code: str, desc: str, status: int, cid: Any = None) -> Answer:
            item = {"code": code, "description": desc, "transid": str(uuid.uuid4()) if code == "1001" else None,
                    "correlationid": cid}
            return answer_json({"response": [item]}, status)

        key = rec.header("key")
        if not key:
            return reply("7002", "Service key missing", 401)
        if key != self.key:
            return reply("7001", "Authentication failed", 401)
        try:
            body = json.loads(rec.body.decode("utf-8"))
            assert isinstance(body, dict)
        except (ValueError, AssertionError):
            return reply("7000", "Invalid JSON", 400)
        cid = body.get("correlationid")
        wechat = ((body.get("channels") or {}).get("OTT-Messaging") or {}).get("wechat") or {}
        dest = body.get("destination")
        if not wechat.get("text") or not wechat.get("attachment") or not dest or not body.get("appid"):
            return reply("7003", "Mandatory parameters missing", 400, cid)
        ids = [i for entry in dest for v in entry.values() for i in v]
        if len(ids) > 1000:
            return reply("7009", "Max number of destinations", 400, cid)
        att = wechat["attachment"]
        with self.lock:
            known = att.get("media_id") in self.media and (
                att.get("type") != "video" or att.get("thumb_media_id") in self.media)
        if body.get("deliverychannel") != "wechat" or not known:
            return reply("7004", "Invalid parameters", 400, cid)
        with self.lock:
            self.queued.append(body)
        return reply("1001", "Queued", 200, cid)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        rec = Recorded(self.command, split.path, query, list(self.headers.items()), body)
        fake = self.server.fake
        ans = fake.handle(rec)
        try:
            if isinstance(ans, Raw):
                self.close_connection = True
                ans.act(self, lambda: fake.normal(rec))
            else:
                self.wfile.write(self.head(ans) + ans.body)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (a timeout test)

    def head(self, ans: Answer, length: int | None = -1) -> bytes:
        """Status line and headers; ``length`` None leaves Content-Length out."""
        lines = [f"HTTP/1.1 {ans.status} {self.responses.get(ans.status, ('',))[0]}",
                 f"Content-Type: {ans.content_type}"]
        if length is not None:
            lines.append(f"Content-Length: {len(ans.body) if length == -1 else length}")
        lines += [f"{name}: {value}" for name, value in ans.headers]
        if length is None:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def reset(self) -> None:
        """Abort the connection: RST, not FIN."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def drip(self, data: bytes, interval: float) -> None:
        for i in range(len(data)):
            if self.server.fake.stopping.wait(interval if i else 0):
                return
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()

    do_GET = do_POST = _serve

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the connection was reset on purpose
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeApis


def delay(seconds: float) -> Callable[[Recorded], None]:
    """Answer normally, but only after ``seconds`` (the client's timeout fires first)."""
    def act(rec: Recorded) -> None:
        time.sleep(seconds)
    return act


def force(ans: Answer) -> Callable[[Recorded], Answer]:
    return lambda rec: ans


class Running:
    def __init__(self, fake: FakeApis, tls: Path | None = None) -> None:
        """Serve ``fake`` on 127.0.0.1; with ``tls`` (a folder holding server.pem and
        server.key) over HTTPS."""
        self.fake = fake
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.fake = fake
        scheme = "http"
        if tls is not None:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(tls / "server.pem", tls / "server.key")
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.base_url = f"{scheme}://{host}:{port}"
        self.messaging_url = self.base_url + MESSAGING

    def stop(self) -> None:
        self.fake.stopping.set()  # ends any drip still going
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- misbehaviour on the wire ----------------------------------------------------------

def _raw(act: Callable[[_Handler, Callable[[], Answer]], None]) -> Action:
    return lambda rec: Raw(act)


def reset_before_answer() -> Action:
    """Read the request, act on it, then reset the connection without a byte of answer."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        normal()
        h.reset()
    return _raw(act)


def reset_after_body() -> Action:
    """The whole answer, then a reset (late enough for the client to have read it)."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        ans = normal()
        h.wfile.write(h.head(ans) + ans.body)
        h.wfile.flush()
        time.sleep(0.3)
        h.reset()
    return _raw(act)


def close_without_answer() -> Action:
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        normal()
        h.connection.shutdown(socket.SHUT_RDWR)
    return _raw(act)


def cut_off() -> Action:
    """Headers promising the whole answer, half of its body, then the connection closed."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        ans = normal()
        h.wfile.write(h.head(ans) + ans.body[: len(ans.body) // 2])
        h.wfile.flush()
        h.connection.shutdown(socket.SHUT_RDWR)
    return _raw(act)


def invalid_json() -> Action:
    """Act on the request, then answer HTTP 200 with the first half of the JSON."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        ans = normal()
        body = ans.body[: len(ans.body) // 2]
        h.wfile.write(h.head(Answer(ans.status, body)) + body)
    return _raw(act)


def drip_headers(interval: float = 1.0) -> Action:
    """The answer one byte per ``interval``, from the status line on."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        ans = normal()
        h.drip(h.head(ans) + ans.body, interval)
    return _raw(act)


def drip_body(interval: float = 1.0) -> Action:
    """Headers at once, then the body one byte per ``interval``."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        ans = normal()
        h.wfile.write(h.head(ans))
        h.wfile.flush()
        h.drip(ans.body, interval)
    return _raw(act)


def huge(size: int = 50_000_000, with_length: bool = True) -> Action:
    """A 200 answer of ``size`` bytes (the normal answer padded with spaces), with or
    without Content-Length; written until the client stops reading."""
    def act(h: _Handler, normal: Callable[[], Answer]) -> None:
        ans = normal()
        h.wfile.write(h.head(Answer(200, b""), size if with_length else None))
        h.wfile.write(ans.body)
        block = b" " * 65536
        left = size - len(ans.body)
        while left > 0 and not h.server.fake.stopping.is_set():
            h.wfile.write(block[:left])
            left -= len(block)
    return _raw(act)


def echo_secret(*secrets: str) -> Action:
    """Do the normal thing, but echo ``secrets`` in every string of a success answer
    (IMIconnect's description, transid and correlationid; WeChat's media id)."""
    def act(rec: Recorded) -> Raw:
        def write(h: _Handler, normal: Callable[[], Answer]) -> None:
            ans = normal()
            echoed = " ".join(secrets)
            data = json.loads(ans.body)
            for item in data.get("response", []):
                for name in ("description", "transid", "correlationid"):
                    item[name] = f"{item.get(name) or ''} {echoed}"
            for name in ("media_id", "thumb_media_id"):
                if name in data:
                    data[name] = f"{data[name]}{echoed}"
            body = json.dumps(data).encode()
            h.wfile.write(h.head(Answer(ans.status, body)) + body)
        return Raw(write)
    return act


def retry_after_date(seconds: int) -> Action:
    """429 with Retry-After as an HTTP date ``seconds`` from the moment of the answer."""
    return lambda rec: Answer(429, b"{}", "application/json",
                              (("Retry-After", formatdate(time.time() + seconds, usegmt=True)),))


def retry_after_seconds(value: str) -> Action:
    return force(Answer(429, b"{}", "application/json", (("Retry-After", value),)))


def make_self_signed(folder: Path) -> Path:
    """A folder holding server.pem/server.key: a certificate signed by its own key."""
    import subprocess

    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(folder / "server.key"), "-out", str(folder / "server.pem")],
                   check=True, capture_output=True, timeout=60)
    return folder
