"""The WeChat and network options, declared without the HTTP machinery.

``prepare`` takes them for ``--upload``: its command is put together from this
module alone, and the sending code (cli/send.py, and through it ssl, httpx and the
API clients) is imported only when ``--upload`` is given. The send commands
(cli/send.py) take the same options from here.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from ..send.endpoints import DEFAULT_BASE_URL, ENV_ACCESS_TOKEN, ENV_APPID, ENV_BASE_URL, ENV_SECRET

F = Callable[..., Any]


def stack(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several decorators as one, applied in the order written."""
    def apply(f: F) -> F:
        for deco in reversed(decorators):
            f = deco(f)
        return f
    return apply


NET_FLAGS = stack(
    click.option("--timeout", type=click.FloatRange(min=0.01), default=30.0, show_default=True,
                 help="Seconds allowed for each HTTP exchange in all: connect, send, and the whole answer."),
    click.option("--attempts", type=click.IntRange(min=1), default=4, show_default=True,
                 help="Tries per operation, for failures safe to repeat (a token fetch counts as one "
                      "of its upload's tries)."),
    click.option("--backoff", type=click.FloatRange(min=0), default=1.0, show_default=True,
                 help="Seconds before the first retry; doubles each time."),
)
NET_KEYS = ("timeout", "attempts", "backoff")

WECHAT_OPTIONS = stack(
    click.option("--base-url", envvar=ENV_BASE_URL, show_envvar=True, default=DEFAULT_BASE_URL,
                 show_default=True, help="WeChat API base URL."),
    click.option("--access-token", envvar=ENV_ACCESS_TOKEN, show_envvar=True,
                 help="WeChat access token (prefer the environment variable: arguments show in ps)."),
    click.option("--wechat-appid", envvar=ENV_APPID, show_envvar=True,
                 help="WeChat app id, to fetch an access token."),
    click.option("--wechat-secret", envvar=ENV_SECRET, show_envvar=True,
                 help="WeChat app secret, to fetch an access token (prefer the environment variable)."),
)
WECHAT_KEYS = ("base_url", "access_token", "wechat_appid", "wechat_secret")


def upload_option(f: F) -> F:
    """For `prepare`: --upload plus the WeChat and network options, passed on as one
    ``wechat`` argument (a send.wechat.WeChatConfig, or None without --upload)."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        given = {key: kw.pop(key) for key in (*WECHAT_KEYS, *NET_KEYS)}
        config = None
        if kw.pop("upload"):
            from .send import upload_config  # the HTTP machinery: only for --upload

            config = upload_config(given, kw.get("profile_name") or "wechat")
        return f(*args, wechat=config, **kw)
    return stack(
        click.option("--upload", is_flag=True,
                     help="Upload the outputs to WeChat and put the real media ids in the blocks."),
        WECHAT_OPTIONS,
        NET_FLAGS,
    )(wrapper)
