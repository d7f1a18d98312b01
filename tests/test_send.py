"""IMIconnect send and send-media, against real local HTTP servers."""
from __future__ import annotations

import json
import logging
import time

import pytest
from click.testing import CliRunner
from fake_apis import (
    FAST,
    MESSAGING,
    TOKEN,
    UPLOAD,
    Answer,
    answer_json,
    closed_port_url,
    delay,
    disposition,
    force,
    parse_multipart,
)

from mediaprep import Attachment, build_requests
from mediaprep.cli.main import main
from mediaprep.errors import ExitCode, OutcomeUnknown, RemoteError, UsageError
from mediaprep.send.imiconnect import Journal, Sender

NET_ARGS = ["--timeout", "2", "--attempts", "3", "--backoff", "0.01"]

pytest_plugins = ("conftest_net",)  # fixtures: fake (the servers), _clean_env (autouse)


def _known_media(server, *ids: str) -> None:
    for mid in ids:
        server.fake.media[mid] = ("image", f"{mid}.jpg", b"\xff\xd8")


def _bodies(server, n: int = 1, **kw):
    ids = [f"MEDIA{i}" for i in range(n)]
    _known_media(server, *ids)
    return build_requests("APP1", "你好", ["wx_user_1", "wx_user_2"], [Attachment("image", i) for i in ids],
                          correlationid="cid-7", **kw)


def _sender(server, **kw) -> Sender:
    return Sender(server.fake.key, url=server.messaging_url, net=kw.pop("net", FAST), **kw)


def _queue_answer(code: str, desc: str, status: int = 400) -> Answer:
    return answer_json({"response": [{"code": code, "description": desc, "transid": None,
                                      "correlationid": "cid-7"}]}, status)


def test_cli_send_posts_exact_headers_and_bodies_and_reports_each(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_KEY", fake.fake.key)
    bodies = _bodies(fake, 2)
    req = tmp_path / "req.json"
    req.write_text(json.dumps(bodies))
    res = CliRunner().invoke(main, ["send", str(req), "--url", fake.messaging_url, *NET_ARGS])
    assert res.exit_code == 0, res.output
    calls = fake.fake.calls(MESSAGING)
    assert fake.fake.queued == bodies and len(calls) == 2
    for call, body in zip(calls, bodies, strict=True):
        assert call.method == "POST"
        headers = {k.lower(): v for k, v in call.headers}
        assert set(headers) == {"host", "accept", "accept-encoding", "connection", "user-agent",
                                "content-type", "key", "content-length"}
        assert headers["content-type"] == "application/json"
        assert headers["key"] == fake.fake.key
        assert headers["accept"] == "application/json"
        assert headers["user-agent"] == "mediaprep/0.1.0"
        assert call.body == json.dumps(body, ensure_ascii=False).encode("utf-8")
        assert int(headers["content-length"]) == len(call.body)
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("request 1/2: 1001 Queued transid=") and lines[0].endswith("correlationid=cid-7")
    journal = (tmp_path / "req.json.sent.json").read_text()
    assert fake.fake.key not in journal
    assert [e["state"] for e in json.loads(journal)["requests"].values()] == ["queued", "queued"]


def test_cli_send_json_reports_code_description_transid_correlationid(fake, tmp_path):
    (body,) = _bodies(fake)
    req = tmp_path / "one.json"
    req.write_text(json.dumps(body))
    res = CliRunner().invoke(main, ["send", str(req), "--key", fake.fake.key, "--url", fake.messaging_url,
                                    "--json", "--no-journal", *NET_ARGS])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (result,) = out["results"]
    (answer,) = result["response"]
    assert answer["code"] == "1001" and answer["description"] == "Queued"
    assert answer["correlationid"] == "cid-7" and len(answer["transid"]) == 36
    assert result["attempts"] == 1 and out["complete"] is True
    assert not (tmp_path / "one.json.sent.json").exists()


@pytest.mark.parametrize("first", [
    Answer(503, b"<html>Service Unavailable</html>", "text/html"),
    Answer(500, b"", "text/plain"),
    None,  # 7006 internal error
])
def test_5xx_or_7006_then_success_sends_exactly_one_message(fake, first):
    fake.fake.script(MESSAGING, force(first or _queue_answer("7006", "Internal error occurred", 500)))
    (body,) = _bodies(fake)
    with _sender(fake) as sender:
        (result,) = sender.send_all([body])
    assert result.queued and result.attempts == 2
    assert len(fake.fake.calls(MESSAGING)) == 2 and fake.fake.queued == [body]


@pytest.mark.parametrize("code, fix", [
    ("7000", "valid JSON"), ("7001", "service key"), ("7002", "--key"), ("7003", "mandatory"),
    ("7004", "media ids"), ("7007", "activate the service"), ("7009", "at most 1000 recipients"),
])
def test_api_refusals_name_the_fix_and_are_not_retried(fake, code, fix):
    fake.fake.script(MESSAGING, force(_queue_answer(code, "as documented")))
    (body,) = _bodies(fake)
    with _sender(fake) as sender, pytest.raises(RemoteError) as err:
        sender.send_all([body])
    assert err.value.code == code and err.value.exit_code == ExitCode.TOOL_FAILED
    assert fix in err.value.one_line() and code in err.value.one_line()
    assert len(fake.fake.calls(MESSAGING)) == 1 and fake.fake.queued == []


def test_wrong_key_and_unknown_media_id_as_the_server_judges_them(fake):
    (body,) = _bodies(fake)
    with Sender("not-the-key-123", url=fake.messaging_url, net=FAST) as sender, pytest.raises(RemoteError) as err:
        sender.send_all([body])
    assert err.value.code == "7001" and "not-the-key-123" not in err.value.one_line()
    stale = build_requests("APP1", "hi", ["u1"], [Attachment("image", "EXPIRED-ID")])
    with _sender(fake) as sender, pytest.raises(RemoteError) as err:
        sender.send_all(stale)
    assert err.value.code == "7004" and "upload again" in err.value.one_line()


def test_missing_key_is_refused_before_sending():
    with pytest.raises(UsageError) as err:
        Sender(None, url="http://127.0.0.1:9/x")
    assert "7002" in str(err.value) and "MEDIAPREP_IMICONNECT_KEY" in str(err.value)


def test_slow_server_timeout_is_not_resent_and_the_journal_blocks_a_rerun(fake, tmp_path):
    fake.fake.script(MESSAGING, delay(1.0))  # answers 1001, but too late
    (body,) = _bodies(fake)
    req = tmp_path / "req.json"
    req.write_text(json.dumps(body))
    args = ["send", str(req), "--key", fake.fake.key, "--url", fake.messaging_url,
            "--timeout", "0.3", "--attempts", "3", "--backoff", "0.01"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == ExitCode.TOOL_FAILED
    assert "may have been queued (correlationid cid-7), so it was not sent again" in res.stderr
    assert len(fake.fake.calls(MESSAGING)) == 1
    res = CliRunner().invoke(main, args)  # a rerun does not send it blindly
    assert res.exit_code == ExitCode.TOOL_FAILED and "--resend-unknown" in res.stderr
    assert len(fake.fake.calls(MESSAGING)) == 1
    deadline = time.monotonic() + 5
    while not fake.fake.queued and time.monotonic() < deadline:
        time.sleep(0.05)  # the slow server finishes its (late) answer
    assert len(fake.fake.queued) == 1  # the server did queue it: one message, not two
    res = CliRunner().invoke(main, [*args, "--resend-unknown"])
    assert res.exit_code == 0 and len(fake.fake.calls(MESSAGING)) == 2


def test_malformed_json_on_success_is_unknown_not_resent(fake):
    fake.fake.script(MESSAGING, force(Answer(200, b'{"response": [{"code": "1001"', "application/json")))
    (body,) = _bodies(fake)
    with _sender(fake) as sender, pytest.raises(OutcomeUnknown) as err:
        sender.send_all([body])
    assert "malformed JSON" in str(err.value) and len(fake.fake.calls(MESSAGING)) == 1


def test_connection_refused_is_retried_then_reported():
    body = build_requests("A", "t", ["u"], [Attachment("image", "M")])
    with Sender("key-123456", url=closed_port_url() + "/x", net=FAST) as sender, \
            pytest.raises(RemoteError) as err:
        sender.send_all(body)
    assert "cannot connect" in str(err.value) and "tried 3 times" in str(err.value)


def test_rerun_after_a_refusal_skips_what_was_already_queued(fake, tmp_path):
    bodies = _bodies(fake, 2)
    fake.fake.script(MESSAGING, lambda rec: None, force(_queue_answer("7004", "Invalid parameters")))
    with Journal(tmp_path / "j.json") as journal, _sender(fake) as sender, pytest.raises(RemoteError):
        sender.send_all(bodies, journal=journal)
    assert fake.fake.queued == bodies[:1]
    with Journal(tmp_path / "j.json") as journal, _sender(fake) as sender:
        results = sender.send_all(bodies, journal=journal)
    assert [r.skipped for r in results] == [True, False] and all(r.queued for r in results)
    assert fake.fake.queued == bodies  # the first once, the second once
    assert len(fake.fake.calls(MESSAGING)) == 3


def test_invalid_request_file_sends_nothing_and_lists_every_problem(fake, tmp_path):
    good, bad = _bodies(fake, 2)
    del bad["channels"]["OTT-Messaging"]["wechat"]["text"]
    bad["destination"] = [{"wechatID": ["a", "a"]}]
    req = tmp_path / "req.json"
    req.write_text(json.dumps([good, bad]))
    res = CliRunner().invoke(main, ["send", str(req), "--key", fake.fake.key, "--url", fake.messaging_url])
    assert res.exit_code == ExitCode.USAGE
    assert "7003 [2].channels.OTT-Messaging.wechat.text" in res.stderr
    assert "7004 [2].destination[1]" in res.stderr
    assert fake.fake.requests == []


def _wechat_env(monkeypatch, server) -> None:
    monkeypatch.setenv("MEDIAPREP_WECHAT_APPID", server.fake.appid)
    monkeypatch.setenv("MEDIAPREP_WECHAT_SECRET", server.fake.secret)
    monkeypatch.setenv("MEDIAPREP_WECHAT_BASE_URL", server.base_url)
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_KEY", server.fake.key)
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_URL", server.messaging_url)


def test_send_media_image_prepares_uploads_and_sends(fake, copy_of, tmp_path, monkeypatch):
    _wechat_env(monkeypatch, fake)
    fake.fake.token_uses = 1  # the second run's cached token has expired on the server
    src = copy_of("images/ladybird.png", "瓢虫 ladybird.png")
    out = tmp_path / "out"
    for run in range(2):
        res = CliRunner().invoke(main, ["send-media", str(src), "--to", "wx_user_1", "--text", "看 look",
                                        "--appid", "APP1", "-o", str(out), "--correlationid", f"run{run}",
                                        *NET_ARGS])
        assert res.exit_code == 0, res.output
        assert "request 1: 1001 Queued" in res.stdout
    (prepared,) = out.glob("*.jpg")
    assert prepared.name == "瓢虫 ladybird.jpg" and prepared.stat().st_size <= 128_000
    uploads = fake.fake.calls(UPLOAD)
    assert len(uploads) == 3 and len(fake.fake.calls(TOKEN)) == 2  # 42001 on run 2 -> one refresh
    headers, data = parse_multipart(uploads[0].header("content-type"), uploads[0].body)[0]
    # The upload's file name is the ASCII transliteration WeChat accepts.
    assert disposition(headers["content-disposition"]) == {"name": "media", "filename": "PiaoChong_ladybird.jpg"}
    assert data == prepared.read_bytes()
    media_id = next(k for k, v in fake.fake.media.items() if v[2] == data)
    assert fake.fake.queued[0] == {
        "appid": "APP1", "deliverychannel": "wechat",
        "channels": {"OTT-Messaging": {"wechat": {"text": "看 look",
                                                  "attachment": {"type": "image", "media_id": media_id}}}},
        "destination": [{"wechatID": ["wx_user_1"]}], "correlationid": "run0"}
    assert len(fake.fake.queued) == 2


def test_send_media_checks_the_request_before_preparing_or_uploading(fake, copy_of, tmp_path, monkeypatch):
    _wechat_env(monkeypatch, fake)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["send-media", str(copy_of("images/ladybird.png")), "--to", "a", "--to", "a",
                                    "--appid", "APP1", "-o", str(out), "--expiry", "soon"])
    assert res.exit_code == ExitCode.USAGE
    assert "7003" in res.stderr and "duplicate recipient" in res.stderr and "expiry" in res.stderr
    assert fake.fake.requests == [] and not list(out.glob("*"))


def _make_video(path) -> None:
    from mediaprep.tools.ffmpeg import run_args

    run_args(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=15:duration=2", "-f", "lavfi",
              "-i", "sine=frequency=440:duration=2", "-c:v", "mpeg4", "-c:a", "pcm_s16le",
              "-f", "matroska", f"file:{path}"], timeout=60)


def test_send_media_video_uploads_its_thumb_and_sends_both_ids(fake, tmp_path, monkeypatch):
    _wechat_env(monkeypatch, fake)
    fake.fake.token_uses = 1  # the token expires between the video and the thumb upload
    src = tmp_path / "clip.mkv"
    _make_video(src)
    res = CliRunner().invoke(main, ["send-media", str(src), "--to", "wx_user_1", "--text", "clip",
                                    "--appid", "APP1", "-o", str(tmp_path / "out"), "--json", *NET_ARGS])
    assert res.exit_code == 0, res.output
    types = sorted(v[0] for v in fake.fake.media.values())
    assert types == ["thumb", "video"]
    by_type = {v[0]: (k, v) for k, v in fake.fake.media.items()}
    assert by_type["video"][1][1].endswith(".mp4") and by_type["thumb"][1][1].endswith(".jpg")
    assert len(by_type["thumb"][1][2]) <= 64_000 and len(by_type["video"][1][2]) <= 1_000_000
    (queued,) = fake.fake.queued
    assert queued["channels"]["OTT-Messaging"]["wechat"]["attachment"] == {
        "type": "video", "media_id": by_type["video"][0], "thumb_media_id": by_type["thumb"][0]}
    assert len(fake.fake.calls(TOKEN)) == 2
    out = json.loads(res.stdout)
    assert out["results"][0]["response"][0]["code"] == "1001"


def test_prepare_upload_puts_real_media_ids_in_the_json(fake, copy_of, tmp_path, monkeypatch):
    _wechat_env(monkeypatch, fake)
    res = CliRunner().invoke(main, ["prepare", str(copy_of("images/ladybird.png")), "-o", str(tmp_path / "o"),
                                    "--upload", "--json", *NET_ARGS])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    (block,) = out["attachments"]
    assert block["type"] == "image" and fake.fake.media[block["media_id"]][2] == \
        (tmp_path / "o" / "ladybird.jpg").read_bytes()
    # ... which `request --from` takes as it is.
    prepared = tmp_path / "p.json"
    prepared.write_text(res.stdout)
    res = CliRunner().invoke(main, ["request", "--appid", "A", "--text", "t", "--to", "u", "--from", str(prepared)])
    assert res.exit_code == 0 and json.loads(res.stdout)["channels"]["OTT-Messaging"]["wechat"]["attachment"] == block


def test_secrets_never_reach_output_errors_logs_or_files(fake, copy_of, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    _wechat_env(monkeypatch, fake)
    token_seen: list[str] = []
    runner = CliRunner()
    outputs = []
    src = copy_of("images/ladybird.png")
    # A good run with --json, then failures of every kind, all with --debug (tracebacks).
    outputs.append(runner.invoke(main, ["--debug", "send-media", str(src), "--to", "u1", "--text", "t",
                                        "--appid", "A", "-o", str(tmp_path / "o"), "--json", *NET_ARGS]))
    token_seen += list(fake.fake.tokens)
    outputs.append(runner.invoke(main, ["--debug", "upload", str(tmp_path / "o" / "ladybird.jpg"), "--type",
                                        "image", "--access-token", "given-token-SECRET", *NET_ARGS],
                                 env={"MEDIAPREP_WECHAT_APPID": "", "MEDIAPREP_WECHAT_SECRET": ""}))
    outputs.append(runner.invoke(main, ["--debug", "upload", str(tmp_path / "o" / "ladybird.jpg"), "--type",
                                        "image", "--wechat-secret", "wrong-secret-SECRET", *NET_ARGS]))
    fake.fake.script(MESSAGING, force(_queue_answer("7001", f"Authentication failed for {fake.fake.key}", 401)))
    req = tmp_path / "req.json"
    req.write_text(json.dumps(_bodies(fake)))
    outputs.append(runner.invoke(main, ["--debug", "send", str(req), "--json", *NET_ARGS]))
    outputs.append(runner.invoke(main, ["--debug", "send", str(req), "--url", closed_port_url(), "--json",
                                        "--journal", str(tmp_path / "j2.json"), *NET_ARGS]))
    assert [r.exit_code for r in outputs] == [0, 6, 6, 6, 6], [r.output for r in outputs]
    files = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.json"))
    everything = "".join(r.stdout + r.stderr for r in outputs) + caplog.text + files
    secrets = [fake.fake.key, fake.fake.secret, "given-token-SECRET", "wrong-secret-SECRET", *token_seen]
    assert token_seen and not [s for s in secrets if s in everything]
    assert "Traceback" in everything  # --debug did print tracebacks: they are scrubbed too


def _make_amr(path, seconds: float) -> None:
    from mediaprep.tools.ffmpeg import run_args

    run_args(["-f", "lavfi", "-i", f"sine=frequency=300:duration={seconds}", "-ar", "8000", "-ac", "1",
              "-c:a", "libopencore_amrnb", "-b:a", "12.2k", "-f", "amr", f"file:{path}"], timeout=60)


def test_split_voice_is_uploaded_part_by_part_and_sent_as_one_request_each_in_order(fake, tmp_path):
    from mediaprep.model import OutputFile, PrepareResult
    from mediaprep.send.deliver import upload_prepared
    from mediaprep.send.imiconnect import Sender
    from mediaprep.send.wechat import WeChatClient, WeChatConfig

    parts = []
    for n, seconds in ((1, 3.0), (2, 1.0)):
        path = tmp_path / f"note_part{n}.amr"
        _make_amr(path, seconds)
        parts.append(OutputFile(path, "media", "voice", path.stat().st_size, "amr", duration=seconds, part=n))
    result = PrepareResult(input=tmp_path / "note.wav", role="voice", input_bytes=1, outputs=tuple(parts),
                           attachments=())
    config = WeChatConfig(base_url=fake.base_url, appid=fake.fake.appid, secret=fake.fake.secret, net=FAST)
    with WeChatClient(config) as client:
        uploaded, uploads = upload_prepared(result, client)
    sent = [parse_multipart(c.header("content-type"), c.body)[0] for c in fake.fake.calls(UPLOAD)]
    assert [disposition(h["content-disposition"])["filename"] for h, _ in sent] == ["note_part1.amr", "note_part2.amr"]
    assert [h["content-type"] for h, _ in sent] == ["audio/amr", "audio/amr"]
    assert [d for _, d in sent] == [p.path.read_bytes() for p in parts]
    assert [a.media_id for a in uploaded.attachments] == [u.media_id for u in uploads]
    bodies = build_requests("APP1", "voice", ["u1"], list(uploaded.attachments))
    with Sender(fake.fake.key, url=fake.messaging_url, net=FAST) as sender:
        sender.send_all(bodies)
    assert [q["channels"]["OTT-Messaging"]["wechat"]["attachment"] for q in fake.fake.queued] == [
        {"type": "voice", "media_id": uploads[0].media_id}, {"type": "voice", "media_id": uploads[1].media_id}]


def test_redirect_is_not_followed_so_the_key_goes_nowhere_else(fake):
    fake.fake.script(MESSAGING, force(Answer(307, b"", "text/plain", (("Location", fake.base_url + "/elsewhere"),))))
    (body,) = _bodies(fake)
    with _sender(fake) as sender, pytest.raises(RemoteError) as err:
        sender.send_all([body])
    assert "redirect, not followed" in str(err.value)
    assert [r.path for r in fake.fake.requests] == [MESSAGING]


# -- issue 13: header values, the lock, the deadline, redaction -------------------------

def _req_file(server, tmp_path):
    req = tmp_path / "req.json"
    req.write_text(json.dumps(_bodies(server)))
    return req


@pytest.mark.parametrize("raw, removed", [
    ("{key}\r", "carriage return (\\r) after it"),
    ("{key}\r\n", "carriage return (\\r), line feed (\\n) after it"),
    ("  {key}\t", "space, tab before and after it"),
])
def test_key_with_surrounding_whitespace_is_stripped_with_a_warning(fake, tmp_path, raw, removed):
    req = _req_file(fake, tmp_path)
    key = raw.format(key=fake.fake.key)
    res = CliRunner().invoke(main, ["send", str(req), "--url", fake.messaging_url, *NET_ARGS],
                             env={"MEDIAPREP_IMICONNECT_KEY": key})
    assert res.exit_code == 0, res.output
    assert f"warning: the IMIconnect service key (--key or MEDIAPREP_IMICONNECT_KEY) had {removed}" in res.stderr
    assert fake.fake.calls(MESSAGING)[0].header("key") == fake.fake.key  # what was sent is the clean key
    assert fake.fake.key not in res.stdout + res.stderr


@pytest.mark.parametrize("raw, words", [
    ("{key}\r\nmore", "contains carriage return (\\r), line feed (\\n) inside it"),
    ("{key}\x00", "contains control character U+0000 inside it"),
    ("{key}é", "contains non-ASCII characters"),
    ("Ключ-{key}", "contains non-ASCII characters"),
    (" \r\n", "is only whitespace"),
])
def test_key_that_stripping_cannot_fix_is_a_usage_error_before_any_connection(fake, tmp_path, raw, words):
    req = _req_file(fake, tmp_path)
    key = raw.format(key=fake.fake.key)
    res = CliRunner().invoke(main, ["--debug", "send", str(req), "--url", fake.messaging_url, "--json",
                                    "--key", key, *NET_ARGS])
    assert res.exit_code == ExitCode.USAGE, res.output
    assert words in res.stderr
    assert "value not shown" in res.stderr or "whitespace" in words
    assert fake.fake.requests == []
    journal = tmp_path / "req.json.sent.json"
    assert not journal.exists() or json.loads(journal.read_text())["requests"] == {}  # nothing pending
    assert fake.fake.key not in res.stdout + res.stderr and "Traceback" in res.stderr
    rerun = CliRunner().invoke(main, ["send", str(req), "--url", fake.messaging_url, *NET_ARGS],
                               env={"MEDIAPREP_IMICONNECT_KEY": fake.fake.key})
    assert rerun.exit_code == 0 and len(fake.fake.queued) == 1  # nothing blocks the corrected run


def test_a_second_send_on_the_same_file_exits_2_naming_the_lock(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIAPREP_IMICONNECT_KEY", fake.fake.key)
    req = _req_file(fake, tmp_path)
    journal_path = tmp_path / "req.json.sent.json"
    with Journal(journal_path):  # another run holds it
        res = CliRunner().invoke(main, ["send", str(req), "--url", fake.messaging_url, *NET_ARGS])
    assert res.exit_code == ExitCode.USAGE
    assert f"{journal_path}.lock is locked" in res.stderr and "another mediaprep send (pid" in res.stderr
    assert fake.fake.requests == []
    res = CliRunner().invoke(main, ["send", str(req), "--url", fake.messaging_url, *NET_ARGS])
    assert res.exit_code == 0 and len(fake.fake.queued) == 1  # released with the run that held it


def test_two_send_processes_at_once_send_each_message_once(fake, tmp_path):
    import os
    import subprocess
    import sys
    import threading

    second_done = threading.Event()
    # The server holds the first run's answer until the second run has ended.
    fake.fake.script(MESSAGING, lambda rec: second_done.wait(30) and None)
    req = _req_file(fake, tmp_path)
    env = {**os.environ, "MEDIAPREP_IMICONNECT_KEY": fake.fake.key, "NO_PROXY": "127.0.0.1"}
    first = subprocess.Popen([sys.executable, "-m", "mediaprep", "send", str(req), "--url", fake.messaging_url,
                              "--timeout", "40"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while not fake.fake.calls(MESSAGING) and time.monotonic() < deadline:
            time.sleep(0.02)
        second = subprocess.run([sys.executable, "-m", "mediaprep", "send", str(req), "--url",
                                 fake.messaging_url, *NET_ARGS], env=env, capture_output=True, text=True,
                                timeout=30)
        second_done.set()
        out, err = first.communicate(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert second.returncode == ExitCode.USAGE and "is locked" in second.stderr
    assert first.returncode == 0, err
    assert len(fake.fake.calls(MESSAGING)) == 1 and len(fake.fake.queued) == 1


def test_the_deadline_interrupts_a_hung_read_and_the_worker_ends(fake):
    import threading

    from fake_apis import drip_headers

    from mediaprep.send.exchange import exchange
    from mediaprep.send.net import SENT_WHOLE, NetOptions, TransportFailure, make_client

    fake.fake.script(MESSAGING, drip_headers(1.0))
    net = NetOptions(timeout=1.0)
    sent: list[bool] = []
    with make_client(net) as client:
        start = time.monotonic()
        with pytest.raises(TransportFailure) as err:
            exchange(client, "POST", fake.messaging_url, service="IMIconnect", net=net, content=b"{}",
                     on_send=lambda: sent.append(True))
        assert time.monotonic() - start < 1.5
    assert err.value.sent == SENT_WHOLE and err.value.timed_out and sent == [True]
    deadline = time.monotonic() + 2
    while any(t.name == "mediaprep-http" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(t.name == "mediaprep-http" for t in threading.enumerate())  # the blocked read was woken


def test_ctrl_c_mid_request_keeps_the_journal_entry_pending(fake, tmp_path):
    import os
    import signal
    import threading

    from fake_apis import drip_body

    fake.fake.script(MESSAGING, drip_body(1.0))
    (body,) = _bodies(fake)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()  # a real Ctrl-C
    start = time.monotonic()
    with Journal(tmp_path / "j.json") as journal, _sender(fake) as sender, pytest.raises(KeyboardInterrupt):
        sender.send_all([body], journal=journal)
    assert time.monotonic() - start < 1.5  # not held until the deadline
    states = [e["state"] for e in json.loads((tmp_path / "j.json").read_text())["requests"].values()]
    assert states == ["pending"] and len(fake.fake.calls(MESSAGING)) == 1


def test_refused_connection_leaves_no_journal_entry(tmp_path):
    body = build_requests("A", "t", ["u"], [Attachment("image", "M")])
    with Journal(tmp_path / "j.json") as journal, pytest.raises(RemoteError), \
            Sender("key-123456", url=closed_port_url() + "/x", net=FAST) as sender:
        sender.send_all(body, journal=journal)
    assert json.loads((tmp_path / "j.json").read_text())["requests"] == {}


def test_retry_after_in_both_forms():
    from email.utils import formatdate

    from mediaprep.send.net import parse_retry_after

    now = 1_700_000_000.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30.0)
    assert parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now=now) == 0.0  # past: no wait
    assert parse_retry_after("soon") is None and parse_retry_after("-5") is None and parse_retry_after(None) is None


def test_redaction_covers_split_writes_chained_exceptions_and_spellings():
    import io
    import traceback

    from mediaprep.send.redact import RedactingStream, register_secret, scrub_exception

    secret = 'k3y"with\\quote-0001'
    register_secret(secret)
    sink = io.StringIO()
    stream = RedactingStream(sink)
    stream.write("first half " + secret[:5])
    stream.write(secret[5:] + " and json " + json.dumps(secret) + "\n")
    stream.write("trailing " + secret)
    stream.flush()
    assert secret not in sink.getvalue() and json.dumps(secret)[1:-1] not in sink.getvalue()
    assert sink.getvalue().count("***") == 3

    class Odd(Exception):
        def __init__(self, value: str) -> None:
            super().__init__()
            self.value = value

        def __str__(self) -> str:
            return f"odd {self.value}"

    try:
        try:
            raise Odd(secret)
        except Odd as inner:
            raise UsageError(f"outer with {secret}", hint=f"hint {secret}", detail=secret) from inner
    except UsageError as exc:
        raised, clean = exc, scrub_exception(exc)
    assert clean is raised  # our own errors are cleaned in place and keep their exit code
    text = "".join(traceback.format_exception(clean))
    assert secret not in text and "Odd: odd ***" in text and "outer with ***" in text


def test_a_deadline_reached_while_sending_counts_as_possibly_sent_whole():
    import socket
    import threading

    from mediaprep.send.exchange import exchange
    from mediaprep.send.net import SENT_WHOLE, NetOptions, TransportFailure, make_client

    held: list[socket.socket] = []
    with socket.socket() as listener:  # accepts, never reads: the client's write stalls
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
        net = NetOptions(timeout=1.0)
        notes: list[bool] = []
        try:
            with make_client(net) as client, pytest.raises(TransportFailure) as err:
                exchange(client, "POST", f"http://127.0.0.1:{listener.getsockname()[1]}/x", service="T", net=net,
                         content=b"x" * (64 << 20), on_send=lambda: notes.append(True))
        finally:
            for conn in held:
                conn.close()
    # The last bytes handed to the kernel may still arrive whole: never resent blindly.
    assert "did not finish within 1 s" in str(err.value) and err.value.sent == SENT_WHOLE and notes == [True]


@pytest.mark.parametrize("url", ["http://api.imiconnect.io/resources/v1/messaging", "http://10.0.0.5:8080/m",
                                 "ftp://api.imiconnect.io/x", "https://", "not a url"])
def test_the_key_never_goes_out_over_plain_http_or_to_no_address(url: str) -> None:
    """Plain http to another machine would carry the service key in clear: refused
    before any connection (exit 2), with the https address to use; plain http to this
    machine (a local test server) is taken, as the other tests here show."""
    from mediaprep.errors import UsageError
    from mediaprep.send.wechat import WeChatClient, WeChatConfig

    with pytest.raises(UsageError) as err:
        Sender("SvcKey-0123456789abcdef", url=url, net=FAST)
    assert err.value.exit_code == 2 and "https://api.imiconnect.io" in (err.value.hint or "")
    wechat_url = url.replace("api.imiconnect.io/resources/v1/messaging", "api.weixin.qq.com")
    with pytest.raises(UsageError) as err:
        WeChatClient(WeChatConfig(base_url=wechat_url, access_token="tok-123456", net=FAST))
    assert "https://api.weixin.qq.com" in (err.value.hint or "")
    for local in ("http://127.0.0.1:9/x", "http://localhost:9/x", "http://[::1]:9/x"):
        with Sender("SvcKey-0123456789abcdef", url=local, net=FAST) as sender:
            assert sender.url == local
