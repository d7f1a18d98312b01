"""wechat: upload a prepared file to WeChat's temporary media API for a media id.

``POST {base}/cgi-bin/media/upload?access_token=TOKEN&type=TYPE`` with the file as
the multipart field ``media``. WeChat judges the file by its name's extension and
mishandles non-ASCII names (40005/41005), so the name we send is an ASCII stem plus
the extension of what the content really is. The answer is ``{"type", "media_id",
"created_at"}``; a thumb answers ``thumb_media_id`` instead. Temporary media ids
last 3 days.

The access token comes from the caller (``--access-token`` or
MEDIAPREP_WECHAT_ACCESS_TOKEN) or is fetched from ``{base}/cgi-bin/token`` with the
app id and secret and cached until shortly before it expires. A token WeChat calls
invalid or expired (40001/42001) is refreshed once and the upload retried.
"""
from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CannotComply, RemoteError, UsageError
from ..names import ascii_stem
from ..preflight.check import check
from .credentials import clean_credential
from .endpoints import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from .endpoints import ENV_ACCESS_TOKEN as ENV_ACCESS_TOKEN
from .endpoints import ENV_APPID as ENV_APPID
from .endpoints import ENV_BASE_URL as ENV_BASE_URL
from .endpoints import ENV_SECRET as ENV_SECRET
from .exchange import exchange
from .net import NetOptions, Reply, TransportFailure, check_endpoint, make_client, parse_json, retrying
from .redact import contains_secret, redact, register_secret

if TYPE_CHECKING:  # httpx costs ~0.15 s to import; only sending needs it
    import httpx


UPLOAD_TYPES = ("image", "voice", "video", "thumb")
SERVICE = "WeChat"

# What the content is (check's facts) -> the extension WeChat expects and the part's type.
_EXTENSIONS: dict[str, tuple[str, str]] = {
    "jpeg": (".jpg", "image/jpeg"),
    "png": (".png", "image/png"),
    "gif": (".gif", "image/gif"),
    "amr": (".amr", "audio/amr"),
    "mp3": (".mp3", "audio/mpeg"),
    "mp4": (".mp4", "video/mp4"),
}

_TOKEN_CODES = (40001, 42001, 40014)  # invalid, expired, invalid token string
_SIZE_HINT = "prepare it first: image 128 KB, voice 256 KB and 60 s, video 1 MB, thumb 64 KB"
_TYPE_HINT = "upload a prepared file: image/thumb .jpg, voice .amr, video .mp4"
_CREDENTIALS_HINT = (f"pass --access-token (or set {ENV_ACCESS_TOKEN}), or --wechat-appid and "
                     f"--wechat-secret (or {ENV_APPID} and {ENV_SECRET}) so mediaprep fetches one")

# WeChat's error codes -> (what it means, what to do).
WECHAT_ERRORS: dict[int, tuple[str, str]] = {
    -1: ("WeChat is busy", "try again in a moment"),
    40001: ("the access token is invalid or not the latest", _CREDENTIALS_HINT),
    40014: ("the access token is not valid", _CREDENTIALS_HINT),
    42001: ("the access token has expired", _CREDENTIALS_HINT),
    40004: ("WeChat refused the media type", "use --type image, voice, video or thumb to match the file"),
    40005: ("WeChat refused the file type (it goes by the file name's extension)", _TYPE_HINT),
    40113: ("WeChat does not support this file type", _TYPE_HINT),
    40006: ("the file is too big for WeChat", _SIZE_HINT),
    45001: ("the file is over WeChat's multimedia size limit", _SIZE_HINT),
    40007: ("the media id is invalid or expired", "temporary media ids last 3 days: upload the file again"),
    41005: ("WeChat found no media file in the upload (multipart malformed)",
            "the file must be sent as multipart field 'media' with a file name; report a bug"),
    44001: ("the file is empty", "prepare the media again"),
    45007: ("the voice note is too long for WeChat (60 s at most)",
            "mediaprep prepare --as voice splits or trims it"),
    45009: ("WeChat's daily API quota is used up", "wait for the quota to reset (daily) or ask for more"),
    40013: ("WeChat does not know this app id", "check --wechat-appid"),
    40125: ("the app secret is wrong", "check --wechat-secret"),
    40164: ("this machine's IP address is not on the app's IP whitelist",
            "add it in the WeChat admin console"),
}


@dataclass(frozen=True)
class WeChatConfig:
    """Where and as whom to upload media to WeChat."""
    base_url: str = DEFAULT_BASE_URL
    access_token: str | None = field(default=None, repr=False)
    appid: str | None = None
    secret: str | None = field(default=None, repr=False)
    profile: str = "wechat"  # what `check` holds a file to before it is uploaded
    net: NetOptions = field(default_factory=NetOptions)

    @classmethod
    def from_env(cls, **overrides: Any) -> WeChatConfig:
        """Fill what the caller left None from MEDIAPREP_WECHAT_* variables."""
        env = {"base_url": os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL,
               "access_token": os.environ.get(ENV_ACCESS_TOKEN) or None,
               "appid": os.environ.get(ENV_APPID) or None,
               "secret": os.environ.get(ENV_SECRET) or None}
        values = {k: v for k, v in overrides.items() if v is not None}
        return cls(**{**env, **values})

    @property
    def can_fetch_token(self) -> bool:
        return bool(self.appid and self.secret)


@dataclass(frozen=True)
class Uploaded:
    """One file uploaded to WeChat and the media id it got."""
    path: Path
    type: str  # image | voice | video | thumb
    media_id: str  # for a thumb: its thumb_media_id
    created_at: int | None
    bytes: int
    filename: str  # the ASCII name WeChat was given

    def to_dict(self) -> dict[str, Any]:
        key = "thumb_media_id" if self.type == "thumb" else "media_id"
        return {"path": str(self.path), "type": self.type, key: self.media_id,
                "created_at": self.created_at, "bytes": self.bytes, "filename": self.filename}


def upload_name(path: Path, fmt: str) -> tuple[str, str]:
    """ASCII file name with the extension of the content, and the part's content type."""
    ext, ctype = _EXTENSIONS.get(fmt, ("", "application/octet-stream"))
    return f"{ascii_stem(path)}{ext}", ctype


def _format_of(facts: dict[str, Any]) -> str:
    return str(facts.get("format") or facts.get("container") or "")


# Tokens shared by every client in this process: (base, appid, sha256(secret)) -> (token, expires).
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


def _raise_for_errcode(data: Any, what: str) -> None:
    if not isinstance(data, dict):
        raise RemoteError(f"{SERVICE} answered {what} with JSON that is not an object", service=SERVICE)
    code = data.get("errcode")
    if code in (None, 0, "0"):
        return
    try:
        code = int(code)
    except (TypeError, ValueError):
        raise RemoteError(f"{SERVICE} answered {what} with errcode {redact(str(code))!r}",
                          service=SERVICE) from None
    meaning, hint = WECHAT_ERRORS.get(code, (f"{SERVICE} refused the request", "see WeChat's error code list"))
    errmsg = redact(str(data.get("errmsg", "")))[:200]
    raise RemoteError(f"{what}: {SERVICE} error {code}: {meaning}", code=code, service=SERVICE,
                      hint=hint, retryable=(code == -1),
                      detail=f"errmsg: {errmsg}" if errmsg else None)


class WeChatClient:
    """Fetches and caches access tokens; uploads files. Use as a context manager."""

    def __init__(self, config: WeChatConfig, *, clock: Callable[[], float] = time.monotonic,
                 client: httpx.Client | None = None) -> None:
        # Checked before any connection: they go into the query string of every request.
        say = config.net.say
        config = replace(
            config,
            access_token=clean_credential(config.access_token, f"the WeChat access token (--access-token or "
                                          f"{ENV_ACCESS_TOKEN})", say),
            secret=clean_credential(config.secret, f"the WeChat app secret (--wechat-secret or {ENV_SECRET})", say),
            appid=clean_credential(config.appid, f"the WeChat app id (--wechat-appid or {ENV_APPID})", say,
                                   secret=False))
        check_endpoint(config.base_url, "WeChat base URL", DEFAULT_BASE_URL)
        self.config = config
        self._clock = clock
        self._given_token = config.access_token
        self._own_client = client is None
        self._client = client or make_client(config.net)

    def __enter__(self) -> WeChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path

    def _cache_key(self) -> tuple[str, str, str]:
        digest = hashlib.sha256((self.config.secret or "").encode()).hexdigest()
        return (self.config.base_url.rstrip("/"), self.config.appid or "", digest)

    # -- token ---------------------------------------------------------------------
    def token(self) -> str:
        """The access token: given, cached, or fetched (retried on its own)."""
        return self._token(lambda: retrying(self._fetch_token_once, self.config.net,
                                            "fetching a WeChat access token"))

    def _token(self, fetch: Callable[[], str]) -> str:
        if self._given_token:
            return self._given_token
        if not self.config.can_fetch_token:
            raise UsageError("no WeChat access token", hint=_CREDENTIALS_HINT)
        with _TOKENS_LOCK:
            cached = _TOKENS.get(self._cache_key())
        if cached and cached[1] > self._clock():
            return cached[0]
        return fetch()

    def invalidate(self) -> None:
        """Forget the current token (WeChat said it is invalid or expired)."""
        self._given_token = None
        with _TOKENS_LOCK:
            _TOKENS.pop(self._cache_key(), None)

    def _fetch_token_once(self) -> str:
        """One token request, no retries: the caller's retry loop counts it as a try."""
        reply = exchange(self._client, "GET", self._url("/cgi-bin/token"), service=SERVICE, net=self.config.net,
                         params={"grant_type": "client_credential", "appid": self.config.appid,
                                 "secret": self.config.secret})
        data = _json_or_retry(reply, "fetching an access token")
        _raise_for_errcode(data, "fetching an access token")
        token, expires_in = data.get("access_token"), data.get("expires_in", 7200)
        if not isinstance(token, str) or not token:
            raise RemoteError(f"{SERVICE} answered the token request without an access_token", service=SERVICE)
        register_secret(token)
        try:
            lifetime = float(expires_in)
        except (TypeError, ValueError):
            lifetime = 7200.0
        # Refresh a little early (a tenth of the lifetime, at most 5 minutes) so a
        # token never expires between our check and WeChat's.
        expires = self._clock() + max(0.0, lifetime - min(300.0, lifetime / 10))
        with _TOKENS_LOCK:
            _TOKENS[self._cache_key()] = (token, expires)
        return token

    # -- upload --------------------------------------------------------------------
    def upload(self, path: Path | str, media_type: str) -> Uploaded:
        """Upload one file that passes `check` as ``media_type``; its media id."""
        path = Path(path)
        if media_type not in UPLOAD_TYPES:
            raise UsageError(f"unknown upload type {media_type!r}", hint=f"use one of {', '.join(UPLOAD_TYPES)}")
        report = check(path, self.config.profile, media_type)
        if not report.complies:
            raise CannotComply(f"not ready to upload as {media_type}: "
                               + "; ".join(str(v) for v in report.violations), path=path,
                               hint=f"run mediaprep prepare FILE --as {media_type} first")
        data = path.read_bytes()
        filename, ctype = upload_name(path, _format_of(dict(report.facts)))
        refreshed = False
        net = self.config.net

        def once() -> Uploaded:
            nonlocal refreshed
            while True:
                token = self._token(self._fetch_token_once)  # a failed fetch costs this try
                reply = exchange(self._client, "POST", self._url("/cgi-bin/media/upload"), service=SERVICE,
                                 net=net, params={"access_token": token, "type": media_type},
                                 files={"media": (filename, data, ctype)})
                answer = _json_or_retry(reply, f"uploading {filename}")
                code = answer.get("errcode") if isinstance(answer, dict) else None
                if code in _TOKEN_CODES and not refreshed and self.config.can_fetch_token:
                    refreshed = True  # refresh once; a second refusal is reported
                    net.say(f"WeChat: access token {'expired' if code == 42001 else 'refused'}; "
                            "fetching a new one")
                    self.invalidate()
                    continue
                _raise_for_errcode(answer, f"uploading {filename}")
                media_id = answer.get("thumb_media_id" if media_type == "thumb" else "media_id")
                media_id = media_id or answer.get("media_id") or answer.get("thumb_media_id")
                if not isinstance(media_id, str) or not media_id:
                    raise RemoteError(f"{SERVICE} answered the upload without a media id", service=SERVICE)
                if contains_secret(media_id):
                    # Used, it would carry the credential into request bodies and prepared JSON.
                    raise RemoteError(f"{SERVICE} answered the upload with a media id that contains a "
                                      "credential (not shown); it is not used", service=SERVICE,
                                      hint=f"is {redact(self.config.base_url)} really WeChat?")
                created = answer.get("created_at")
                known = isinstance(created, (int, str)) and str(created).isdigit()
                return Uploaded(path=path, type=media_type, media_id=media_id,
                                created_at=int(created) if known else None, bytes=len(data), filename=filename)

        try:
            return retrying(once, net, f"uploading {filename}")
        except RemoteError as exc:
            if exc.path is None:
                exc.path = path
            raise


def _json_or_retry(reply: Reply, what: str) -> Any:
    """WeChat answers 200 with a JSON object; 5xx means try again later."""
    if reply.status >= 500 or reply.status == 429:
        exc = RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status}", service=SERVICE,
                          retryable=True, hint="WeChat is having trouble; try again later")
        exc.retry_after = reply.retry_after()
        raise exc
    if reply.status >= 300:
        raise RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status}", service=SERVICE,
                          hint="check --base-url")
    return parse_json(reply, SERVICE)


def upload(path: Path | str, media_type: str, config: WeChatConfig | None = None) -> Uploaded:
    """Upload one prepared file; credentials from ``config`` or MEDIAPREP_WECHAT_* variables."""
    with WeChatClient(config or WeChatConfig.from_env()) as client:
        return client.upload(path, media_type)


__all__ = ["DEFAULT_BASE_URL", "TransportFailure", "UPLOAD_TYPES", "Uploaded", "WECHAT_ERRORS",
           "WeChatClient", "WeChatConfig", "upload", "upload_name"]
