"""send and upload against a server on 127.0.0.1 that misbehaves on the wire, one mode
per case (issue 13). For each: how many requests the server received, the exit code,
the journal after the run and after a rerun, how many messages it queued (never two),
and every byte mediaprep wrote (stdout, stderr, journal, --json, --debug, logs)
searched for every secret value."""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fake_apis import (
    MESSAGING,
    UPLOAD,
    Action,
    Answer,
    FakeApis,
    Raw,
    Recorded,
    Running,
    answer_json,
    close_without_answer,
    cut_off,
    drip_body,
    drip_headers,
    echo_secret,
    force,
    huge,
    invalid_json,
    make_self_signed,
    reset_after_body,
    reset_before_answer,
    retry_after_date,
    retry_after_seconds,
)

from mediaprep import Attachment, build_requests
from mediaprep.cli.main import main
from mediaprep.send.redact import spellings

pytest_plugins = ("conftest_net",)  # fixtures: fake (the servers), _clean_env (autouse)

TIMEOUT = 2.0
SEND_NET = ["--timeout", str(TIMEOUT), "--attempts", "3", "--backoff", "0.01"]
UPLOAD_TIMEOUT = 1.5
UPLOAD_NET = ["--timeout", str(UPLOAD_TIMEOUT), "--attempts", "2", "--backoff", "0.01"]


def _answer(code: str, status: int = 200) -> Answer:
    return answer_json({"response": [{"code": code, "description": "as documented", "transid": None,
                                      "correlationid": "cid-13"}]}, status)


def _redirect(other: Running) -> Action:
    return force(Answer(307, b"", "text/plain", (("Location", other.messaging_url.replace("127.0.0.1",
                                                                                          "localhost")),)))


@dataclass(frozen=True)
class SendCase:
    name: str
    actions: Callable[[Running], tuple[Action, ...]]  # given the other host, for a redirect
    exit: int
    received: int  # requests the server got in the first run
    state: str | None  # the journal entry after the first run (None: no entry)
    rerun_exit: int
    rerun_received: int  # requests in all after the rerun
    rerun_state: str | None
    min_seconds: float = 0.0  # the first run waits at least this long (Retry-After)
    words: str = ""  # the first run's stderr says this


UNKNOWN = "may have been queued"
SEND_CASES = [
    SendCase("reset before the answer", lambda o: (reset_before_answer(),), 6, 1, "pending", 6, 1, "pending",
             words=UNKNOWN),
    SendCase("reset after the body", lambda o: (reset_after_body(),), 0, 1, "queued", 0, 1, "queued"),
    SendCase("close without answer", lambda o: (close_without_answer(),), 6, 1, "pending", 6, 1, "pending",
             words=UNKNOWN),
    SendCase("answer cut off", lambda o: (cut_off(),), 6, 1, "pending", 6, 1, "pending", words=UNKNOWN),
    SendCase("slow drip of headers", lambda o: (drip_headers(1.0),), 6, 1, "pending", 6, 1, "pending",
             words=f"no complete answer from http://127.0.0.1:PORT{MESSAGING} within 2 s"),
    SendCase("slow drip of body", lambda o: (drip_body(1.0),), 6, 1, "pending", 6, 1, "pending",
             words="within 2 s; it may have been queued"),
    SendCase("50 MB answer with Content-Length", lambda o: (huge(),), 6, 1, "pending", 6, 1, "pending",
             words="more than 1,048,576 bytes (50,000,000 bytes announced)"),
    SendCase("50 MB answer without Content-Length", lambda o: (huge(with_length=False),), 6, 1, "pending",
             6, 1, "pending", words="more than 1,048,576 bytes; stopped reading"),
    SendCase("invalid JSON", lambda o: (invalid_json(),), 6, 1,
             "pending", 6, 1, "pending", words="malformed JSON"),
    SendCase("200 with 7006, then queued", lambda o: (force(_answer("7006")),), 0, 2, "queued", 0, 2, "queued"),
    SendCase("7006 on every try", lambda o: (force(_answer("7006")),) * 3, 6, 3, "failed", 0, 4, "queued",
             words="(tried 3 times)"),
    SendCase("429 with Retry-After in seconds", lambda o: (retry_after_seconds("1"),), 0, 2, "queued", 0, 2,
             "queued", min_seconds=0.95),
    SendCase("429 with Retry-After as a date", lambda o: (retry_after_date(2),), 0, 2, "queued", 0, 2, "queued",
             min_seconds=0.95),
    SendCase("429 with Retry-After beyond the deadline", lambda o: (retry_after_seconds("3600"),), 6, 1, "failed",
             0, 2, "queued", words="retried after 3600 s, longer than the 2 s deadline"),
    SendCase("redirect to another host", lambda o: (_redirect(o),), 6, 1, "failed", 0, 2, "queued",
             words="HTTP 307 (a redirect, not followed)"),
    SendCase("the key echoed in a success answer", lambda o: (echo_secret(FakeApis.key),), 0, 1, "queued",
             0, 1, "queued"),
]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    """Every secret (in any spelling we might write it) found in ``text``."""
    return [s for s in secrets for form in spellings(s) if form in text]


def _journal_states(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [e["state"] for e in json.loads(path.read_text(encoding="utf-8"))["requests"].values()]


def _request_file(server: Running, tmp_path: Path) -> Path:
    server.fake.media["MEDIA-13"] = ("image", "a.jpg", b"\xff\xd8")
    bodies = build_requests("APP1", "你好", ["wx_user_1"], [Attachment("image", "MEDIA-13")], correlationid="cid-13")
    req = tmp_path / "req.json"
    req.write_text(json.dumps(bodies), encoding="utf-8")
    return req


@pytest.fixture
def other():  # type: ignore[no-untyped-def]
    server = Running(FakeApis())
    yield server
    server.stop()


@pytest.mark.parametrize("case", SEND_CASES, ids=[c.name for c in SEND_CASES])
def test_send_against_a_misbehaving_server(case: SendCase, fake, other, tmp_path, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # httpcore's debug lines carry headers: they must be clean too
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_KEY", fake.fake.key)
    fake.fake.script(MESSAGING, *case.actions(other))
    req = _request_file(fake, tmp_path)
    journal = tmp_path / "req.json.sent.json"
    args = ["--debug", "send", str(req), "--url", fake.messaging_url, *SEND_NET]

    start = time.monotonic()
    first = CliRunner().invoke(main, [*args, "--json"])
    took = time.monotonic() - start
    assert first.exit_code == case.exit, first.output
    assert len(fake.fake.calls(MESSAGING)) == case.received
    assert _journal_states(journal) == ([case.state] if case.state else [])
    assert case.min_seconds <= took < TIMEOUT + 2.5  # a drip never holds a run past the deadline
    port = fake.base_url.rsplit(":", 1)[1]
    assert case.words.replace("PORT", port) in first.stderr
    if case.exit == 0:
        assert json.loads(first.stdout)["complete"] is True
    assert all(line.count("(tried") <= 1 for line in first.stderr.splitlines())  # the count named once

    second = CliRunner().invoke(main, args)
    assert second.exit_code == case.rerun_exit, second.output
    assert len(fake.fake.calls(MESSAGING)) == case.rerun_received
    assert _journal_states(journal) == ([case.rerun_state] if case.rerun_state else [])
    if case.rerun_state == "pending":
        assert "--resend-unknown" in second.stderr
    assert len(fake.fake.queued) == 1  # whatever happened on the wire: one message, not two
    assert other.fake.requests == []  # a redirect never took the key elsewhere

    written = first.stdout + first.stderr + second.stdout + second.stderr + caplog.text
    written += "".join(p.read_text(errors="replace") for p in tmp_path.iterdir() if p.is_file())
    assert not _leaks(written, [fake.fake.key])
    if case.name.startswith("the key echoed"):
        answer = json.loads(first.stdout)["results"][0]["response"][0]
        assert "***" in answer["description"] and "***" in answer["transid"] and "***" in answer["correlationid"]
        assert "***" in second.stdout and "***" in journal.read_text()


@pytest.fixture
def self_signed(tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = make_self_signed(tmp_path_factory.mktemp("self-signed"))
    server = Running(FakeApis(), tls=folder)
    yield server
    server.stop()


def test_send_to_a_self_signed_certificate_sends_nothing_and_keeps_no_entry(self_signed, tmp_path, monkeypatch,
                                                                            caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_KEY", self_signed.fake.key)
    req = _request_file(self_signed, tmp_path)
    args = ["--debug", "send", str(req), "--url", self_signed.messaging_url, *SEND_NET]
    runs = [CliRunner().invoke(main, [*args, "--json"]), CliRunner().invoke(main, args)]
    for run in runs:
        assert run.exit_code == 6 and "TLS certificate" in run.stderr and "self-signed certificate" in run.stderr
    assert self_signed.fake.requests == [] and self_signed.fake.queued == []
    assert _journal_states(tmp_path / "req.json.sent.json") == []  # nothing left: nothing pending
    written = "".join(r.stdout + r.stderr for r in runs) + caplog.text
    assert not _leaks(written, [self_signed.fake.key])


# -- upload --------------------------------------------------------------------------

@dataclass(frozen=True)
class UploadCase:
    name: str
    actions: Callable[[Running], tuple[Action, ...]]
    exit: int
    received: int  # uploads the server got (a failed upload is retried: nothing is sent twice)
    words: str = ""


UPLOAD_CASES = [
    UploadCase("reset before the answer", lambda o: (reset_before_answer(),) * 2, 6, 2, "(tried 2 times)"),
    UploadCase("reset after the body", lambda o: (reset_after_body(),), 0, 1),
    UploadCase("close without answer", lambda o: (close_without_answer(),) * 2, 6, 2, "(tried 2 times)"),
    UploadCase("answer cut off", lambda o: (cut_off(),) * 2, 6, 2, "broke before the whole answer arrived"),
    UploadCase("slow drip of headers", lambda o: (drip_headers(1.0),) * 2, 6, 2,
               "no complete answer from http://127.0.0.1:PORT/cgi-bin/media/upload within 1.5 s (tried 2 times)"),
    UploadCase("slow drip of body", lambda o: (drip_body(1.0),) * 2, 6, 2, "within 1.5 s (tried 2 times)"),
    UploadCase("50 MB answer with Content-Length", lambda o: (huge(),), 6, 1, "50,000,000 bytes announced"),
    UploadCase("50 MB answer without Content-Length", lambda o: (huge(with_length=False),), 6, 1,
               "more than 1,048,576 bytes"),
    UploadCase("invalid JSON", lambda o: (force(Answer(200, b'{"media_id": "abc"')),), 6, 1, "malformed JSON"),
    UploadCase("HTTP 503, then the upload", lambda o: (force(Answer(503, b"<html>busy</html>", "text/html")),), 0, 2),
    # A date has whole seconds: one a second ahead is at most 1 s away, within the 1.5 s deadline...
    UploadCase("429 with Retry-After as a date", lambda o: (retry_after_date(1),), 0, 2),
    # ... and one 30 s ahead is beyond it, which only a date that was understood can tell.
    UploadCase("429 with Retry-After as a date beyond the deadline", lambda o: (retry_after_date(30),), 6, 1,
               "longer than the 1.5 s deadline"),
    UploadCase("redirect to another host", lambda o: (_redirect(o),), 6, 1, "HTTP 307"),
    UploadCase("the token echoed in the media id", lambda o: (_echo_token,), 6, 1,
               "media id that contains a credential"),
]


def _echo_token(rec: Recorded) -> Raw:
    """The token is only known once fetched: echo whichever the upload carried."""
    return echo_secret(rec.query["access_token"])(rec)


def _upload(server: Running, photo: Path, *extra: str) -> Result:
    return CliRunner().invoke(main, ["--debug", "upload", str(photo), "--type", "image", "--base-url",
                                     server.base_url, "--json", *UPLOAD_NET, *extra])


@pytest.mark.parametrize("case", UPLOAD_CASES, ids=[c.name for c in UPLOAD_CASES])
def test_upload_against_a_misbehaving_server(case: UploadCase, fake, other, copy_of, monkeypatch, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MEDIAPREP_WECHAT_APPID", fake.fake.appid)
    monkeypatch.setenv("MEDIAPREP_WECHAT_SECRET", fake.fake.secret)
    fake.fake.script(UPLOAD, *case.actions(other))
    start = time.monotonic()
    res = _upload(fake, copy_of("images/compliant.jpg"))
    took = time.monotonic() - start
    assert res.exit_code == case.exit, res.output
    assert len(fake.fake.calls(UPLOAD)) == case.received
    assert took < case.received * UPLOAD_TIMEOUT + 2.5
    port = fake.base_url.rsplit(":", 1)[1]
    assert case.words.replace("PORT", port) in res.stderr
    assert all(line.count("(tried") <= 1 for line in res.stderr.splitlines())
    if case.exit == 0:
        assert json.loads(res.stdout)["media_id"] in fake.fake.media
    assert other.fake.requests == []
    secrets = [fake.fake.secret, *fake.fake.tokens]
    assert fake.fake.tokens and not _leaks(res.stdout + res.stderr + caplog.text, secrets)


def test_upload_to_a_self_signed_certificate_is_refused_before_any_request(self_signed, copy_of, monkeypatch) -> None:
    res = _upload(self_signed, copy_of("images/compliant.jpg"), "--access-token", "given-token-0123456789")
    assert res.exit_code == 6 and "not trusted: self-signed certificate" in res.stderr
    assert self_signed.fake.requests == []
    assert "given-token-0123456789" not in res.stdout + res.stderr
