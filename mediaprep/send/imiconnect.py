"""imiconnect: POST message request bodies to IMIconnect's messaging API.

Every body is validated before the first one is sent. Each is POSTed with
``Content-Type: application/json`` and the service key in the ``key`` header; the
answer is ``{"response": [{"code", "description", "transid", "correlationid"}]}``
where 1001 means queued.

Retries never send a message twice. We resend only when the API certainly did not
queue the request: it answered 7006 (internal error) or HTTP 5xx, or the request
never reached it (connection refused, connect timeout, body not fully written).
When the request may have reached it and no usable answer came back (read timeout,
malformed JSON on HTTP 2xx), the outcome is unknown: we stop, say so, and a journal
beside the request file keeps a rerun from resending it (or anything already queued)
unless asked to.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..errors import OutcomeUnknown, RemoteError, UsageError
from ..output import write_bytes
from .net import NetOptions, TransportFailure, exchange, make_client, parse_json, redact, register_secret, retrying
from .request import ensure_valid

DEFAULT_URL = "https://api.imiconnect.io/resources/v1/messaging"
ENV_KEY = "MEDIAPREP_IMICONNECT_KEY"
ENV_URL = "MEDIAPREP_IMICONNECT_URL"
QUEUED = "1001"
INTERNAL_ERROR = "7006"
SERVICE = "IMIconnect"

# The page's response codes -> (what went wrong, the fix).
API_ERRORS: dict[str, tuple[str, str]] = {
    "7000": ("invalid JSON", "the body must be valid JSON; check it with mediaprep request, and report a "
             "bug if mediaprep made it"),
    "7001": ("authentication failed", f"check the service key (--key or {ENV_KEY}) belongs to this service"),
    "7002": ("service key missing", f"pass --key or set {ENV_KEY}"),
    "7003": ("mandatory parameters missing", "WeChat needs text, an attachment (media_id; thumb_media_id "
             "for video) and destination; build the body with mediaprep request"),
    "7004": ("invalid parameters", "check the media ids (temporary ids last 3 days: upload again), the "
             "WeChat IDs, expiry, notifyurl and smartlinks; mediaprep request validates them"),
    "7006": ("internal error", "IMIconnect failed; try again later"),
    "7007": ("service inactive", "activate the service in IMIconnect, or use the key of an active one"),
    "7009": ("too many destinations", "at most 1000 recipients per request; mediaprep request splits "
             "longer lists"),
}


@dataclass(frozen=True)
class ApiAnswer:
    code: str
    description: str
    transid: str | None
    correlationid: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "transid": self.transid,
                "correlationid": self.correlationid}


@dataclass(frozen=True)
class SendResult:
    index: int  # 1-based position of the body in the request file
    answers: tuple[ApiAnswer, ...]
    attempts: int
    skipped: bool = False  # already queued by an earlier run (journal): not sent again

    @property
    def queued(self) -> bool:
        return bool(self.answers) and all(a.code == QUEUED for a in self.answers)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request": self.index, "queued": self.queued, "attempts": self.attempts,
                               "response": [a.to_dict() for a in self.answers]}
        if self.skipped:
            out["skipped"] = "already queued by an earlier run"
        return out


def body_digest(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def encode_body(body: Any) -> bytes:
    """The exact bytes POSTed: UTF-8 JSON (Chinese text stays readable, not \\u-escaped)."""
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


class Journal:
    """What earlier runs sent, by body digest: "queued" (never resend), "pending" (sent,
    outcome unknown: resend only on request). Holds no secrets: digests, codes, ids."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, Any]] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.entries = dict(data.get("requests", {}))
            except (OSError, ValueError, AttributeError) as exc:
                raise UsageError(f"cannot read the send journal: {exc}", path=path,
                                 hint="delete it only if you know nothing from that file was queued") from exc

    def get(self, digest: str) -> dict[str, Any] | None:
        return self.entries.get(digest)

    def record(self, digest: str, state: str, index: int, answers: Sequence[ApiAnswer] = ()) -> None:
        self.entries[digest] = {"state": state, "request": index, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                "response": [a.to_dict() for a in answers]}
        self._save()

    def forget(self, digest: str) -> None:
        if self.entries.pop(digest, None) is not None:
            self._save()

    def _save(self) -> None:
        text = json.dumps({"version": 1, "requests": self.entries}, indent=2, ensure_ascii=False)
        write_bytes(self.path, text.encode("utf-8"))


def default_journal_path(request_file: Path) -> Path:
    return request_file.with_name(request_file.name + ".sent.json")


def _answers(data: Any) -> tuple[ApiAnswer, ...] | None:
    items = data.get("response") if isinstance(data, dict) else None
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        return None

    def text(value: Any) -> str | None:
        return None if value is None else str(value)

    return tuple(ApiAnswer(code=str(i.get("code", "")), description=str(i.get("description", "")),
                           transid=text(i.get("transid")), correlationid=text(i.get("correlationid")))
                 for i in items)


class Sender:
    def __init__(self, key: str | None, *, url: str = DEFAULT_URL, net: NetOptions | None = None,
                 client: httpx.Client | None = None) -> None:
        if not key:
            # The API would answer 7002; say it before anything leaves the machine.
            raise UsageError("no IMIconnect service key (the API would answer 7002)",
                             hint=f"pass --key or set {ENV_KEY}")
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"IMIconnect URL {url!r} is not http(s)", hint=f"e.g. {DEFAULT_URL}")
        register_secret(key)
        self._key = key
        self.url = url
        self.net = net or NetOptions()
        self._own_client = client is None
        self._client = client or make_client(self.net)

    def __repr__(self) -> str:
        return f"Sender(url={self.url!r})"

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own_client:
            self._client.close()

    def send_one(self, body: Any, index: int = 1) -> SendResult:
        payload = encode_body(body)
        headers = {"Content-Type": "application/json", "Accept": "application/json", "key": self._key}
        attempts = 0
        what = f"request {index}"

        def once() -> SendResult:
            nonlocal attempts
            attempts += 1
            try:
                reply = exchange(self._client, "POST", self.url, service=SERVICE, net=self.net,
                                 content=payload, headers=headers)
            except TransportFailure as exc:
                if exc.delivered:
                    raise self._unknown(what, exc.message, body) from exc
                raise
            if 300 <= reply.status < 400:
                # Not followed: the key header would go wherever the redirect points.
                raise RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status} (a redirect, not followed)",
                                  service=SERVICE, hint="check --url")
            try:
                data = parse_json(reply, SERVICE)
            except RemoteError as exc:
                if reply.status >= 500 or reply.status == 429:
                    exc.retryable = True  # a failed or throttling server; it did not queue
                    exc.retry_after = reply.retry_after()
                    raise
                if 200 <= reply.status < 300:
                    raise self._unknown(what, exc.message, body) from exc
                raise
            answers = _answers(data)
            if answers is None:
                if reply.status >= 500 or reply.status == 429:
                    raise RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status}", service=SERVICE,
                                      retryable=True)
                if 200 <= reply.status < 300:
                    raise self._unknown(what, f"{SERVICE} answered without a response code", body)
                raise RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status} without a response code",
                                  service=SERVICE, hint="is --url the messaging API?",
                                  detail=redact(reply.body[:200].decode("utf-8", "replace")))
            result = SendResult(index=index, answers=answers, attempts=attempts)
            if result.queued:
                return result
            if any(a.code == QUEUED for a in answers):
                return result  # partly queued: the caller records it and reports the rest
            first = answers[0]
            if first.code == INTERNAL_ERROR or reply.status >= 500:
                failed = RemoteError(f"{what}: {SERVICE} {first.code or reply.status} {first.description}",
                                     service=SERVICE, code=first.code, retryable=True)
                failed.retry_after = reply.retry_after()
                raise failed
            raise _refusal(what, first)

        return retrying(once, self.net, f"sending {what}")

    def _unknown(self, what: str, reason: str, body: Any) -> OutcomeUnknown:
        cid = body.get("correlationid") if isinstance(body, dict) else None
        ref = f" (correlationid {cid})" if cid else ""
        return OutcomeUnknown(f"{what}: {reason}; it may have been queued{ref}, so it was not sent again",
                              service=SERVICE,
                              hint="check the delivery reports before sending it again "
                                   "(send --resend-unknown sends it anyway)")

    def send_all(self, bodies: Sequence[Any], *, journal: Journal | None = None,
                 resend_unknown: bool = False,
                 on_result: Callable[[SendResult], None] | None = None) -> list[SendResult]:
        """Validate every body, then send them in order; stop at the first failure."""
        ensure_valid(bodies)
        results: list[SendResult] = []
        for index, body in enumerate(bodies, 1):
            digest = body_digest(body)
            seen = journal.get(digest) if journal else None
            if seen and seen.get("state") == "queued":
                answers = tuple(ApiAnswer(**a) for a in seen.get("response", []))
                result = SendResult(index=index, answers=answers, attempts=0, skipped=True)
            else:
                if seen and seen.get("state") == "pending" and not resend_unknown:
                    raise OutcomeUnknown(
                        f"request {index}: an earlier run sent it and never learned whether it was queued",
                        service=SERVICE, path=journal.path if journal else None,
                        hint="check the delivery reports; send --resend-unknown sends it anyway")
                if journal:
                    journal.record(digest, "pending", index)  # survives a crash mid-request
                try:
                    result = self.send_one(body, index)
                except OutcomeUnknown:
                    raise  # the journal keeps it "pending"
                except BaseException:
                    if journal:
                        journal.forget(digest)  # certainly not queued: a rerun may send it
                    raise
                if journal:
                    journal.record(digest, "queued" if any(a.code == QUEUED for a in result.answers)
                                   else "failed", index, result.answers)
            results.append(result)
            if on_result:
                on_result(result)
            if not result.queued:
                bad = next(a for a in result.answers if a.code != QUEUED)
                raise _refusal(f"request {index} (partly queued)", bad)
        return results


def _refusal(what: str, answer: ApiAnswer) -> RemoteError:
    meaning, hint = API_ERRORS.get(answer.code, ("refused the request", "see the API's response codes"))
    desc = redact(answer.description)[:200]
    extra = f" ({desc})" if desc and desc.lower() != meaning.lower() else ""
    return RemoteError(f"{what}: {SERVICE} {answer.code}: {meaning}{extra}", code=answer.code,
                       service=SERVICE, hint=hint)


def send_requests(bodies: Sequence[Any], key: str | None, *, url: str = DEFAULT_URL,
                  net: NetOptions | None = None, journal: Journal | None = None,
                  resend_unknown: bool = False,
                  on_result: Callable[[SendResult], None] | None = None) -> list[SendResult]:
    with Sender(key, url=url, net=net) as sender:
        return sender.send_all(bodies, journal=journal, resend_unknown=resend_unknown, on_result=on_result)
