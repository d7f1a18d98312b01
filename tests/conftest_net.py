"""Fixtures for the upload and send tests, loaded by them as a pytest plugin."""
from __future__ import annotations

import pytest
from fake_apis import FakeApis, Running

SECRET_ENV = ("MEDIAPREP_WECHAT_ACCESS_TOKEN", "MEDIAPREP_WECHAT_APPID", "MEDIAPREP_WECHAT_SECRET",
              "MEDIAPREP_WECHAT_BASE_URL", "MEDIAPREP_IMICONNECT_KEY", "MEDIAPREP_IMICONNECT_URL")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    # A proxy from the environment must not intercept requests to our local servers.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    # Tokens are cached per process by base URL; a new server may reuse an old port.
    import mediaprep.send.wechat

    mediaprep.send.wechat._TOKENS.clear()


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    server = Running(FakeApis())
    yield server
    server.stop()

