"""WeChat upload against a real local HTTP server that behaves as the API documents."""
from __future__ import annotations

import json
import logging
import time

import pytest
from click.testing import CliRunner
from fake_apis import (
    FAST,
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

from mediaprep.cli.main import main
from mediaprep.errors import (
    CannotComply,
    ExitCode,
    RemoteError,
    RemoteTimeout,
    UsageError,
)
from mediaprep.send.net import NetOptions
from mediaprep.send.wechat import WeChatClient, WeChatConfig

pytest_plugins = ("conftest_net",)  # fixtures: fake (the servers), _clean_env (autouse)


def _config(server, **over) -> WeChatConfig:
    values = {"base_url": server.base_url, "appid": server.fake.appid, "secret": server.fake.secret, "net": FAST}
    values.update(over)
    return WeChatConfig(**values)


def _media_part(rec):
    parts = parse_multipart(rec.header("content-type"), rec.body)
    assert len(parts) == 1
    headers, data = parts[0]
    return disposition(headers["content-disposition"]), headers.get("content-type"), data


def test_upload_sends_exact_multipart_and_caches_the_token(fake, copy_of):
    photo = copy_of("images/compliant.jpg", "café photo.JPEG")
    thumb = copy_of("images/grey.jpg", "照片.png")  # JPEG content under a misleading, non-ASCII name
    with WeChatClient(_config(fake)) as client:
        a = client.upload(photo, "image")
        b = client.upload(thumb, "thumb")
    assert len(fake.fake.calls(TOKEN)) == 1  # fetched once, cached for the second upload
    token_query = fake.fake.calls(TOKEN)[0].query
    assert token_query == {"grant_type": "client_credential", "appid": fake.fake.appid, "secret": fake.fake.secret}
    up1, up2 = fake.fake.calls(UPLOAD)
    token = next(iter(fake.fake.tokens))
    assert up1.query == {"access_token": token, "type": "image"}
    assert up2.query == {"access_token": token, "type": "thumb"}
    disp, ctype, data = _media_part(up1)
    assert disp == {"name": "media", "filename": "cafe_photo.jpg"} and ctype == "image/jpeg"
    assert data == photo.read_bytes()
    disp, ctype, data = _media_part(up2)
    assert disp == {"name": "media", "filename": "ZhaoPian.jpg"} and data == thumb.read_bytes()
    assert (a.type, a.filename, a.bytes) == ("image", "cafe_photo.jpg", photo.stat().st_size)
    assert fake.fake.media[a.media_id][0] == "image"
    assert b.type == "thumb" and fake.fake.media[b.media_id] == ("thumb", "ZhaoPian.jpg", thumb.read_bytes())
    assert b.to_dict()["thumb_media_id"] == b.media_id and "media_id" not in b.to_dict()


def test_token_that_expires_mid_run_is_refreshed_once(fake, copy_of):
    fake.fake.token_uses = 1  # the server expires every token after one upload
    photo = copy_of("images/compliant.jpg")
    with WeChatClient(_config(fake)) as client:
        first = client.upload(photo, "image")
        second = client.upload(photo, "image")  # 42001 -> new token -> retried
    assert first.media_id != second.media_id
    assert len(fake.fake.calls(TOKEN)) == 2
    uploads = fake.fake.calls(UPLOAD)
    assert len(uploads) == 3 and uploads[1].query["access_token"] == uploads[0].query["access_token"]
    assert uploads[2].query["access_token"] != uploads[1].query["access_token"]


def test_token_refused_after_refresh_is_reported_not_looped(fake, copy_of):
    photo = copy_of("images/compliant.jpg")
    expired = force(answer_json({"errcode": 42001, "errmsg": "access_token expired"}))
    fake.fake.script(UPLOAD, expired, expired)
    with WeChatClient(_config(fake)) as client, pytest.raises(RemoteError) as err:
        client.upload(photo, "image")
    assert err.value.code == 42001 and err.value.exit_code == ExitCode.TOOL_FAILED
    assert "access token has expired" in str(err.value)
    assert len(fake.fake.calls(TOKEN)) == 2 and len(fake.fake.calls(UPLOAD)) == 2


def test_stale_given_token_is_replaced_when_credentials_are_known(fake, copy_of):
    photo = copy_of("images/compliant.jpg")
    with WeChatClient(_config(fake, access_token="stale-token-abcdef")) as client:
        client.upload(photo, "image")
    first, second = fake.fake.calls(UPLOAD)
    assert first.query["access_token"] == "stale-token-abcdef"  # 40001 from the server
    assert second.query["access_token"].startswith("TOKEN-")


def test_invalid_given_token_without_credentials_names_the_fix_and_hides_the_token(fake, copy_of):
    photo = copy_of("images/compliant.jpg")
    with WeChatClient(_config(fake, appid=None, secret=None, access_token="stale-token-abcdef")) as client, \
            pytest.raises(RemoteError) as err:
        client.upload(photo, "image")
    assert err.value.code == 40001
    assert "--access-token" in err.value.one_line()
    # The fake echoes the token in errmsg; we keep errmsg for --debug, redacted.
    assert "stale-token-abcdef" not in err.value.one_line() + (err.value.detail or "")
    assert "***" in (err.value.detail or "")


@pytest.mark.parametrize("code, words", [
    (40004, "media type"), (40005, "file type"), (40113, "file type"), (40006, "too big"),
    (45001, "size limit"), (40007, "media id is invalid or expired"), (41005, "multipart malformed"),
    (44001, "empty"), (45007, "too long"), (45009, "quota"),
])
def test_wechat_error_codes_become_clear_errors_without_retry(fake, copy_of, code, words):
    fake.fake.script(UPLOAD, force(answer_json({"errcode": code, "errmsg": "whatever"})))
    with WeChatClient(_config(fake)) as client, pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert err.value.code == code and words in str(err.value) and err.value.hint
    assert err.value.exit_code == ExitCode.TOOL_FAILED
    assert len(fake.fake.calls(UPLOAD)) == 1


def test_busy_is_retried_with_backoff_then_succeeds(fake, copy_of):
    busy = force(answer_json({"errcode": -1, "errmsg": "system error"}))
    fake.fake.script(UPLOAD, busy, busy)
    notes: list[str] = []
    net = NetOptions(timeout=2.0, attempts=3, backoff=0.01, notify=notes.append)
    with WeChatClient(_config(fake, net=net)) as client:
        done = client.upload(copy_of("images/compliant.jpg"), "image")
    assert done.media_id in fake.fake.media and len(fake.fake.calls(UPLOAD)) == 3
    assert len(notes) == 2 and "retrying" in notes[0]


def test_busy_every_time_gives_up_after_the_attempts(fake, copy_of):
    busy = force(answer_json({"errcode": -1, "errmsg": "system error"}))
    fake.fake.script(UPLOAD, busy, busy, busy)
    with WeChatClient(_config(fake)) as client, pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert err.value.code == -1 and "tried 3 times" in str(err.value)


def test_5xx_then_success(fake, copy_of):
    fake.fake.script(UPLOAD, force(Answer(502, b"<html>bad gateway</html>", "text/html")))
    with WeChatClient(_config(fake)) as client:
        done = client.upload(copy_of("images/compliant.jpg"), "image")
    assert done.media_id in fake.fake.media and len(fake.fake.calls(UPLOAD)) == 2


def test_slow_server_times_out_quickly_after_the_attempts(fake, copy_of):
    fake.fake.script(UPLOAD, delay(1.5), delay(1.5))
    net = NetOptions(timeout=0.3, attempts=2, backoff=0.01)
    start = time.monotonic()
    with WeChatClient(_config(fake, net=net)) as client, pytest.raises(RemoteTimeout) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert time.monotonic() - start < 1.5
    assert "within 0.3 s" in str(err.value) and "tried 2 times" in str(err.value)


def test_malformed_json_is_an_error(fake, copy_of):
    fake.fake.script(UPLOAD, force(Answer(200, b'{"media_id": "abc"', "application/json")))
    with WeChatClient(_config(fake)) as client, pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert "malformed JSON" in str(err.value)


def test_connection_refused_is_retried_then_reported(copy_of):
    base = closed_port_url()
    with WeChatClient(WeChatConfig(base_url=base, access_token="tok-123456", net=FAST)) as client, \
            pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert "cannot connect" in str(err.value) and "tried 3 times" in str(err.value)
    assert "tok-123456" not in str(err.value)


def test_non_compliant_file_is_refused_before_any_request(fake, copy_of):
    with WeChatClient(_config(fake)) as client:
        with pytest.raises(CannotComply) as err:
            client.upload(copy_of("images/ladybird.png"), "image")  # PNG, 407 KB
        assert "mediaprep prepare" in err.value.one_line()
        with pytest.raises(CannotComply):
            client.upload(copy_of("images/photo_rotated_gps.jpg"), "thumb")  # 180 KB > 64 KB
        with pytest.raises(UsageError):
            client.upload(copy_of("images/compliant.jpg"), "voice")
    assert fake.fake.requests == []


def test_wrong_secret_is_reported_without_the_secret(fake, copy_of):
    with WeChatClient(_config(fake, secret="wrong-secret-999")) as client, pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert err.value.code == 40125 and "--wechat-secret" in err.value.one_line()
    assert "wrong-secret-999" not in err.value.one_line() + (err.value.detail or "")


def test_cli_upload_with_env_credentials_prints_json_and_no_secret(fake, copy_of, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MEDIAPREP_WECHAT_APPID", fake.fake.appid)
    monkeypatch.setenv("MEDIAPREP_WECHAT_SECRET", fake.fake.secret)
    photo = copy_of("images/compliant.jpg")
    res = CliRunner().invoke(main, ["upload", str(photo), "--type", "image", "--base-url", fake.base_url,
                                    "--json", "--timeout", "2"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["media_id"] in fake.fake.media and out["type"] == "image" and out["filename"] == "compliant.jpg"
    token = next(iter(fake.fake.tokens))
    everything = res.stdout + res.stderr + caplog.text
    assert token not in everything and fake.fake.secret not in everything
    assert "access_token=***" in caplog.text  # httpx's request log line, redacted


def test_cli_upload_takes_as_as_prepare_spells_it(fake, copy_of, monkeypatch):
    monkeypatch.setenv("MEDIAPREP_WECHAT_APPID", fake.fake.appid)
    monkeypatch.setenv("MEDIAPREP_WECHAT_SECRET", fake.fake.secret)
    res = CliRunner().invoke(main, ["upload", str(copy_of("images/compliant.jpg")), "--as", "thumb",
                                    "--base-url", fake.base_url, "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["type"] == "thumb" and fake.fake.media[out["thumb_media_id"]][0] == "thumb"


def test_cli_upload_without_credentials_is_a_usage_error(fake, copy_of):
    res = CliRunner().invoke(main, ["upload", str(copy_of("images/compliant.jpg")), "--type", "image",
                                    "--base-url", fake.base_url])
    assert res.exit_code == ExitCode.USAGE and "no WeChat access token" in res.stderr
    assert fake.fake.requests == []


def test_cached_token_is_refetched_shortly_before_it_expires(fake, copy_of):
    now = [1000.0]
    photo = copy_of("images/compliant.jpg")
    with WeChatClient(_config(fake), clock=lambda: now[0]) as client:
        client.upload(photo, "image")
        now[0] += 6800  # expires_in 7200: still inside the cache (refreshed 300 s early)
        client.upload(photo, "image")
        now[0] += 200  # 7000 s: within 300 s of expiry, so fetched again before WeChat says 42001
        client.upload(photo, "image")
    tokens = [c.query["access_token"] for c in fake.fake.calls(UPLOAD)]
    assert len(fake.fake.calls(TOKEN)) == 2 and tokens[0] == tokens[1] != tokens[2]


@pytest.fixture
def tls_fake(testdata):  # type: ignore[no-untyped-def]
    from fake_apis import FakeApis, Running

    server = Running(FakeApis(), tls=testdata / "tls")
    yield server
    server.stop()


def test_tls_verification_stays_on(tls_fake, copy_of):
    # The server's certificate is signed by a test CA nobody trusts: refused, not retried.
    with WeChatClient(_config(tls_fake)) as client, pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    assert "TLS certificate" in str(err.value) and "not trusted" in str(err.value)
    assert "unable to get local issuer certificate" in str(err.value)
    assert tls_fake.fake.requests == []


def test_tls_with_the_ca_trusted_through_ssl_cert_file(tls_fake, copy_of, testdata, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(testdata / "tls" / "ca.pem"))
    with WeChatClient(_config(tls_fake)) as client:
        done = client.upload(copy_of("images/compliant.jpg"), "image")
    assert done.media_id in tls_fake.fake.media


# -- issue 13: attempts counted once, credentials checked before any connection ------------

def _busy() -> Answer:
    return Answer(503, b"<html>busy</html>", "text/html")


def test_attempts_are_counted_once_across_the_token_fetch(fake, copy_of, monkeypatch):
    monkeypatch.setenv("MEDIAPREP_WECHAT_APPID", fake.fake.appid)
    monkeypatch.setenv("MEDIAPREP_WECHAT_SECRET", fake.fake.secret)
    fake.fake.script(TOKEN, *[force(_busy())] * 20)
    res = CliRunner().invoke(main, ["upload", str(copy_of("images/compliant.jpg")), "--type", "image",
                                    "--base-url", fake.base_url, "--attempts", "4", "--backoff", "0.01",
                                    "--timeout", "2"])
    assert res.exit_code == ExitCode.TOOL_FAILED
    assert len(fake.fake.calls(TOKEN)) == 4 and fake.fake.calls(UPLOAD) == []  # 4, not 16
    (error,) = [line for line in res.stderr.splitlines() if "error:" in line]
    assert error.count("(tried 4 times)") == 1 and error.count("(tried") == 1


def test_token_and_upload_failures_share_one_budget(fake, copy_of):
    fake.fake.script(TOKEN, force(_busy()), force(_busy()))
    fake.fake.script(UPLOAD, *[force(_busy())] * 5)
    net = NetOptions(timeout=2.0, attempts=4, backoff=0.01)
    with WeChatClient(_config(fake, net=net)) as client, pytest.raises(RemoteError) as err:
        client.upload(copy_of("images/compliant.jpg"), "image")
    # Tries: token 503, token 503, token ok + upload 503, upload 503 (cached token).
    assert len(fake.fake.calls(TOKEN)) == 3 and len(fake.fake.calls(UPLOAD)) == 2
    assert str(err.value).count("(tried 4 times)") == 1


def test_access_token_with_a_windows_line_ending_is_stripped_with_a_warning(fake, copy_of):
    with WeChatClient(_config(fake)) as client:  # a real token from the fake
        token = client.token()
    res = CliRunner().invoke(main, ["upload", str(copy_of("images/compliant.jpg")), "--type", "image",
                                    "--base-url", fake.base_url, "--timeout", "2"],
                             env={"MEDIAPREP_WECHAT_ACCESS_TOKEN": token + "\r\n"})
    assert res.exit_code == 0, res.output
    assert ("warning: the WeChat access token (--access-token or MEDIAPREP_WECHAT_ACCESS_TOKEN) had carriage "
            "return (\\r), line feed (\\n) after it; removed") in res.stderr
    assert fake.fake.calls(UPLOAD)[0].query["access_token"] == token
    assert token not in res.stdout + res.stderr


@pytest.mark.parametrize("option, value, words", [
    ("--wechat-secret", "sécret-0123456789", "the WeChat app secret (--wechat-secret or MEDIAPREP_WECHAT_SECRET) "
                                             "contains non-ASCII characters (value not shown)"),
    ("--access-token", "tok-0123\n456789", "the WeChat access token (--access-token or "
                                           "MEDIAPREP_WECHAT_ACCESS_TOKEN) contains line feed (\\n) inside it"),
])
def test_credentials_stripping_cannot_fix_are_usage_errors_before_any_connection(fake, copy_of, option, value,
                                                                                 words):
    res = CliRunner().invoke(main, ["--debug", "upload", str(copy_of("images/compliant.jpg")), "--type", "image",
                                    "--base-url", fake.base_url, "--wechat-appid", fake.fake.appid,
                                    option, value])
    assert res.exit_code == ExitCode.USAGE and words in res.stderr
    assert fake.fake.requests == []
    assert not [part for part in value.split("\n") if part in res.stdout + res.stderr]


def test_the_option_key_lists_name_exactly_the_options_they_pop() -> None:
    """`prepare --upload` pops the WeChat and network options by name (send_options'
    WECHAT_KEYS and NET_KEYS, kept apart from the HTTP code so `prepare` need not
    import it): an option added to one list but not the other would reach the
    command as an unexpected argument."""
    from mediaprep.cli import send_options

    for options, keys in ((send_options.WECHAT_OPTIONS, send_options.WECHAT_KEYS),
                          (send_options.NET_FLAGS, send_options.NET_KEYS)):
        def target() -> None: ...

        declared = {p.name for p in options(target).__click_params__}  # type: ignore[attr-defined]
        assert declared == set(keys)
