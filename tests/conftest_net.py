"""Fixtures shared by the upload and send tests (imported by them)."""
from __future__ import annotations

import socket

import pytest

from fake_apis import FakeApis, Running
from mediaprep.net import NetOptions

# Small enough to keep the suite fast, large enough for a loaded 2-core machine.
FAST = NetOptions(timeout=2.0, attempts=3, backoff=0.01, backoff_max=0.05)
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
    import mediaprep.wechat

    mediaprep.wechat._TOKENS.clear()


@pytest.fixture
def fake():  # type: ignore[no-untyped-def]
    server = Running(FakeApis())
    yield server
    server.stop()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
