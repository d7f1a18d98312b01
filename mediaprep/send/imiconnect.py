"""imiconnect: POST message request bodies to IMIconnect's messaging API.

Every body is validated before the first one is sent. Each is POSTed with
``Content-Type: application/json`` and the service key in the ``key`` header; the
answer is ``{"response": [{"code", "description", "transid", "correlationid"}]}``
where 1001 means queued.

A message goes out once. A definite outcome is an answer read whole and parsed;
we resend only when one says the API did not queue the request (7006, HTTP 5xx or
429), or when the request cannot have reached it whole (no connection; the
connection broke while the body was being written). When the whole request may
have reached it and no definite answer came back (a timeout after sending, an
answer cut off, oversize or not JSON on HTTP 2xx), the outcome is unknown: we stop,
say so, and the journal (journal.py) keeps a rerun from resending it, or anything
already queued, unless asked to.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import OutcomeUnknown, RemoteError, UsageError
from .credentials import clean_credential
from .endpoints import DEFAULT_URL as DEFAULT_URL
from .endpoints import ENV_KEY as ENV_KEY
from .endpoints import ENV_URL as ENV_URL
from .exchange import exchange
from .journal import FAILED, PENDING, Journal, default_journal_path
from .journal import QUEUED as JOURNAL_QUEUED
from .net import NetOptions, Reply, TransportFailure, check_endpoint, make_client, parse_json, redact, retrying
from .request import ensure_valid

if TYPE_CHECKING:  # httpx costs ~0.15 s to import; only sending needs it
    import httpx

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
    """One entry of IMIconnect's answer to a message request."""
    code: str
    description: str
    transid: str | None
    correlationid: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "transid": self.transid,
                "correlationid": self.correlationid}


@dataclass(frozen=True)
class SendResult:
    """What became of one request body: IMIconnect's answers and the attempts."""
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


class _Outcome:
    """What one request's tries have settled so far (mutable, private to send_all)."""

    def __init__(self) -> None:
        self.uncertain = False  # bytes of the last try that sent any may have left, no answer settled it
        self.answered = False  # some try got a definite answer
        self.status: int | None = None
        self.answers: tuple[ApiAnswer, ...] = ()

    def sending(self) -> None:
        self.uncertain = True

    def settled(self, status: int, answers: tuple[ApiAnswer, ...]) -> None:
        self.uncertain, self.answered, self.status, self.answers = False, True, status, answers


class Sender:
    def __init__(self, key: str | None, *, url: str = DEFAULT_URL, net: NetOptions | None = None,
                 client: httpx.Client | None = None) -> None:
        self.net = net or NetOptions()
        if not key:
            # The API would answer 7002; say it before anything leaves the machine.
            raise UsageError("no IMIconnect service key (the API would answer 7002)",
                             hint=f"pass --key or set {ENV_KEY}")
        cleaned = clean_credential(key, f"the IMIconnect service key (--key or {ENV_KEY})", self.net.say)
        assert cleaned  # a non-empty key stays non-empty or is refused
        self._key = cleaned
        check_endpoint(url, "IMIconnect URL", DEFAULT_URL)
        self.url = url
        self._own_client = client is None
        self._client = client or make_client(self.net)

    def __repr__(self) -> str:
        return f"Sender(url={redact(self.url)!r})"

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._own_client:
            self._client.close()

    def send_one(self, body: Any, index: int = 1, *, outcome: _Outcome | None = None) -> SendResult:
        """POST one body, retrying what is safe to retry; raise OutcomeUnknown when the
        whole request may have reached the API and no definite answer came back."""
        payload = encode_body(body)
        headers = {"Content-Type": "application/json", "Accept": "application/json", "key": self._key}
        outcome = outcome or _Outcome()
        attempts = 0
        what = f"request {index}"

        def once() -> SendResult:
            nonlocal attempts
            attempts += 1
            try:
                reply = exchange(self._client, "POST", self.url, service=SERVICE, net=self.net,
                                 on_send=outcome.sending, content=payload, headers=headers)
            except TransportFailure as exc:
                if exc.delivered:
                    raise self._unknown(what, exc.message, body) from exc
                raise
            answers = self._judge(reply, what, body)
            outcome.settled(reply.status, answers)
            return self._result(reply, answers, index, attempts, what)

        return retrying(once, self.net, "")  # every message already names the request

    def _judge(self, reply: Reply, what: str, body: Any) -> tuple[ApiAnswer, ...]:
        """The answers in a reply read whole; OutcomeUnknown for a 2xx we cannot read
        (the API may have queued it and told us so in words we did not get)."""
        try:
            answers = _answers(parse_json(reply, SERVICE))
        except RemoteError as exc:
            if 200 <= reply.status < 300:
                raise self._unknown(what, exc.message, body) from exc
            return ()
        if answers is None:
            if 200 <= reply.status < 300:
                raise self._unknown(what, f"{SERVICE} answered without a response code", body)
            return ()
        return answers

    def _result(self, reply: Reply, answers: tuple[ApiAnswer, ...], index: int, attempts: int,
                what: str) -> SendResult:
        if any(a.code == QUEUED for a in answers):
            # Queued (for some recipients at least): the caller records it and reports the rest.
            return SendResult(index=index, answers=answers, attempts=attempts)
        if 300 <= reply.status < 400:
            # Not followed: the key header would go wherever the redirect points.
            raise RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status} (a redirect, not followed)",
                              service=SERVICE, hint="check --url")
        first = answers[0] if answers else None
        if reply.status >= 500 or reply.status == 429 or (first is not None and first.code == INTERNAL_ERROR):
            label = f"{first.code} {first.description}" if first is not None else f"HTTP {reply.status}"
            failed = RemoteError(f"{what}: {SERVICE} answered {redact(label)[:200]}", service=SERVICE,
                                 code=first.code if first is not None else reply.status, retryable=True)
            failed.retry_after = reply.retry_after()
            raise failed
        if first is None:
            raise RemoteError(f"{what}: {SERVICE} answered HTTP {reply.status} without a response code",
                              service=SERVICE, hint="is --url the messaging API?",
                              detail=redact(reply.body[:200].decode("utf-8", "replace")))
        raise _refusal(what, first)

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
            result = self._send_journaled(body, index, journal, resend_unknown)
            results.append(result)
            if on_result:
                on_result(result)
            if not result.queued:
                bad = next(a for a in result.answers if a.code != QUEUED)
                raise _refusal(f"request {index} (partly queued)", bad)
        return results

    def _send_journaled(self, body: Any, index: int, journal: Journal | None, resend_unknown: bool) -> SendResult:
        digest = body_digest(body)
        seen = journal.get(digest) if journal else None
        state = seen.get("state") if seen else None
        if seen and state == JOURNAL_QUEUED:
            answers = tuple(ApiAnswer(**a) for a in seen.get("response", []))
            return SendResult(index=index, answers=answers, attempts=0, skipped=True)
        if state == PENDING and not resend_unknown:
            raise OutcomeUnknown(
                f"request {index}: an earlier run sent it and never learned whether it was queued",
                service=SERVICE, path=journal.path if journal else None,
                hint="check the delivery reports; send --resend-unknown sends it anyway")
        if journal:
            journal.record(digest, PENDING, index)  # before the first byte: survives a crash mid-request
        outcome = _Outcome()
        try:
            result = self.send_one(body, index, outcome=outcome)
        except BaseException as exc:
            if journal:
                _settle(journal, digest, index, outcome)
            if outcome.uncertain and isinstance(exc, RemoteError) and not isinstance(exc, OutcomeUnknown):
                # The last try that sent anything was cut off while sending and later
                # tries never got through: the journal keeps it pending, so say so.
                raise self._unknown(f"request {index}", exc.message, body) from exc
            raise
        if journal:
            journal.record(digest, JOURNAL_QUEUED, index, result.answers)
        return result


def _settle(journal: Journal, digest: str, index: int, outcome: _Outcome) -> None:
    """After a failure: pending stays pending while bytes may have left unanswered; a
    definite answer records "failed"; a request that never left is forgotten."""
    if outcome.uncertain:
        return
    if outcome.answered:
        journal.record(digest, FAILED, index, outcome.answers, http_status=outcome.status)
    else:
        journal.forget(digest)


def _refusal(what: str, answer: ApiAnswer) -> RemoteError:
    meaning, hint = API_ERRORS.get(answer.code, ("refused the request", "see the API's response codes"))
    desc = redact(answer.description)[:200]
    extra = f" ({desc})" if desc and desc.lower() != meaning.lower() else ""
    return RemoteError(f"{what}: {SERVICE} {redact(answer.code)}: {meaning}{extra}", code=answer.code,
                       service=SERVICE, hint=hint)


def send_requests(bodies: Sequence[Any], key: str | None, *, url: str = DEFAULT_URL,
                  net: NetOptions | None = None, journal: Journal | None = None,
                  resend_unknown: bool = False,
                  on_result: Callable[[SendResult], None] | None = None) -> list[SendResult]:
    with Sender(key, url=url, net=net) as sender:
        return sender.send_all(bodies, journal=journal, resend_unknown=resend_unknown, on_result=on_result)


__all__ = ["API_ERRORS", "ApiAnswer", "DEFAULT_URL", "ENV_KEY", "ENV_URL", "Journal", "SendResult", "Sender",
           "body_digest", "default_journal_path", "encode_body", "send_requests"]
