"""Commands from prepared file to sent message: request, upload, send, send-media.

Registered on the main group in cli/main.py, whose MediaprepGroup turns any
MediaprepError into one line and an exit code. Secrets come from options or
environment variables and are never echoed: each command that holds one runs inside
``redacted_output`` (send/redact.py), so whatever it prints, and whatever it raises
for the group to print, has passed through the one redaction step.
"""
from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import MediaprepError, UsageError, escape_name
from ..model import PrepareOptions, PrepareResult, Role
from ..send.endpoints import DEFAULT_URL, ENV_KEY, ENV_URL
from ..send.imiconnect import Sender, SendResult
from ..send.journal import Journal, default_journal_path
from ..send.net import NetOptions
from ..send.redact import redact, redacted_output, register_secret
from ..send.request import (
    RECIPIENT_KEYS,
    AttachmentLike,
    attachment_from_block,
    attachments_from_prepared,
    build_requests,
    load_bodies,
)
from ..send.wechat import UPLOAD_TYPES, Uploaded, WeChatClient, WeChatConfig
from .messages import print_json, say, verbosity
from .options import as_option, attachment_style_option, json_option, profile_option
from .send_options import NET_FLAGS, WECHAT_OPTIONS, stack

F = Callable[..., Any]


def _notify(message: str) -> None:
    say(redact(message))


_SECRET_OPTIONS = ("key", "access_token", "wechat_secret")


def _redacted(f: F) -> F:
    """Run the command with its output, and any error it raises, redacted; the
    secrets it was given are known to the redaction step before anything runs."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        for name in _SECRET_OPTIONS:
            value = kw.get(name)
            register_secret(value if isinstance(value, str) else None)
        with redacted_output():
            return f(*args, **kw)
    return wrapper


def _pop_net(kw: dict[str, Any]) -> NetOptions:
    return NetOptions(timeout=kw.pop("timeout"), attempts=kw.pop("attempts"), backoff=kw.pop("backoff"),
                      notify=_notify)


def _net_options(f: F) -> F:
    """--timeout/--attempts/--backoff, passed on as one NetOptions ``net``."""
    @functools.wraps(f)
    def wrapper(*args: Any, **kw: Any) -> Any:
        return f(*args, net=_pop_net(kw), **kw)
    return NET_FLAGS(wrapper)


def _wechat_config(kw: dict[str, Any], net: NetOptions, profile: str = "wechat") -> WeChatConfig:
    return WeChatConfig(base_url=kw.pop("base_url"), access_token=kw.pop("access_token") or None,
                        appid=kw.pop("wechat_appid") or None, secret=kw.pop("wechat_secret") or None,
                        profile=profile, net=net)


def upload_config(given: dict[str, Any], profile: str) -> WeChatConfig:
    """`prepare --upload`: the WeChat and network options given (send_options.upload_option
    collects them) as one WeChatConfig."""
    return _wechat_config(given, _pop_net(given), profile)


def check_upload_credentials(config: WeChatConfig) -> None:
    """`prepare --upload`: the credentials are checked before any encoding, as
    send-media does, so a missing or malformed token is exit 2 at once, not after
    minutes of work (no connection is made here)."""
    with redacted_output(), WeChatClient(config) as client:
        if not client.config.access_token and not client.config.can_fetch_token:
            client.token()  # raises the "no WeChat access token" usage error


def upload_prepared_result(result: PrepareResult, config: WeChatConfig) -> PrepareResult:
    """`prepare --upload`: upload every output, report each id on stderr."""
    from ..send.deliver import upload_prepared

    with redacted_output(), WeChatClient(config) as client:
        uploaded, _ = upload_prepared(result, client,
                                      on_upload=lambda u: _notify(f"uploaded {u.path} as {u.type}: {u.media_id}"))
    return uploaded


_KEY_OPTIONS = stack(
    click.option("--key", envvar=ENV_KEY, show_envvar=True,
                 help="IMIconnect service key (prefer the environment variable: arguments show in ps)."),
    click.option("--url", envvar=ENV_URL, show_envvar=True, default=DEFAULT_URL, show_default=True,
                 help="IMIconnect messaging API URL."),
)

_REQUEST_OPTIONS = stack(
    click.option("--appid", required=True, help="IMIconnect app id (the body's appid)."),
    click.option("--text", help="Message text (IMIconnect requires it for WeChat)."),
    click.option("--to", "to", multiple=True, help="Recipient WeChat ID (repeatable)."),
    click.option("--to-file", type=click.Path(dir_okay=False, path_type=Path),
                 help="File of recipient IDs, one a line (blank lines and #comments skipped); - for stdin."),
    click.option("--expiry", help="UTC time after which it is not pushed, e.g. 2015-04-12T13:00:19.456Z."),
    click.option("--correlationid", help="Your identifier for the request (at most 50 bytes)."),
    click.option("--notifyurl", help="http(s) URL for delivery notifications."),
    click.option("--callback-data", help="Data sent along with notifications."),
    click.option("--smartlink", "smartlinks", multiple=True, metavar="LINKID[:MINUTES]",
                 help="Smartlink id, optionally with validity in minutes (repeatable)."),
    click.option("--recipient-key", type=click.Choice(RECIPIENT_KEYS), default=RECIPIENT_KEYS[0],
                 show_default=True, help="Spelling of the destination key (the page's example vs its errors)."),
    attachment_style_option,
)


def _read_text(path: Path, what: str) -> str:
    try:
        if str(path) == "-":
            return sys.stdin.read()
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {what}: {exc.strerror}", path=path) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} is not UTF-8 text", path=path) from exc


def _read_json(path: Path, what: str) -> Any:
    text = _read_text(path, what)
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{what} is not valid JSON: {exc}", path=path) from exc


def _recipients(to: tuple[str, ...], to_file: Path | None) -> list[str]:
    out = list(to)
    if to_file is not None:
        for line in _read_text(to_file, "recipient file").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


def _request_kwargs(kw: dict[str, Any]) -> dict[str, Any]:
    return {"expiry": kw.pop("expiry"), "correlationid": kw.pop("correlationid"),
            "notifyurl": kw.pop("notifyurl"), "callback_data": kw.pop("callback_data"),
            "smartlinks": list(kw.pop("smartlinks")), "recipient_key": kw.pop("recipient_key"),
            "attachment_style": kw.pop("attachment_style")}


def _print_json(data: Any) -> None:
    print_json(data, indent=2)


@click.command("request")
@_REQUEST_OPTIONS
@click.option("--attachment", "attachments", multiple=True, metavar="JSON",
              help='Attachment block, e.g. \'{"type": "image", "media_id": "..."}\' (repeatable).')
@click.option("--from", "from_file", type=click.Path(dir_okay=False, path_type=Path),
              help="The --json output of mediaprep prepare (one request per attachment); - for stdin.")
def request_cmd(appid: str, text: str | None, to: tuple[str, ...], to_file: Path | None,
                attachments: tuple[str, ...], from_file: Path | None, **kw: Any) -> None:
    """Print the message request body (a JSON array when there are several).

    One request per attachment, in order; more than 1000 recipients are split into
    requests of at most 1000. Every problem IMIconnect would refuse is reported at
    once, with the code it would answer, and nothing is printed (exit 2).
    """
    if bool(attachments) == (from_file is not None):
        raise UsageError("give either --attachment or --from", hint="--from takes mediaprep prepare --json output")
    blocks: list[AttachmentLike] = []
    if from_file is not None:
        blocks = attachments_from_prepared(_read_json(from_file, "prepared file"), from_file)
    for raw in attachments:
        try:
            blocks.append(attachment_from_block(json.loads(raw)))
        except ValueError as exc:
            raise UsageError(f"--attachment is not valid JSON: {exc}",
                             hint='e.g. --attachment \'{"type": "image", "media_id": "..."}\'') from exc
    bodies = build_requests(appid, text, _recipients(to, to_file), blocks, **_request_kwargs(kw))
    _print_json(bodies[0] if len(bodies) == 1 else bodies)


@click.command("upload")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--type", "--as", "media_type", type=click.Choice(UPLOAD_TYPES), required=True,
              help="WeChat media type (a thumb answers thumb_media_id); --as, as prepare and check "
                   "spell it, says the same.")
@profile_option
@WECHAT_OPTIONS
@_net_options
@json_option()
@_redacted
def upload_cmd(path: Path, media_type: str, profile_name: str, net: NetOptions, as_json: bool,
               **kw: Any) -> None:
    """Upload a prepared file to WeChat's temporary media API and print its media id.

    The file must pass `mediaprep check --as TYPE`; ids last 3 days.
    """
    config = _wechat_config(kw, net, profile_name)
    with WeChatClient(config) as client:
        done = client.upload(path, media_type)
    if as_json:
        _print_json({"schema": "mediaprep/upload/1", **done.to_dict()})
    else:
        _print_upload(done)


def _print_upload(done: Uploaded) -> None:
    key = "thumb_media_id" if done.type == "thumb" else "media_id"
    click.echo(f"{escape_name(done.path)} [{done.type}, {done.bytes:,} bytes, sent as {done.filename}]: "
               f"{key} {done.media_id}")


def _print_result(result: SendResult, total: int | None = None) -> None:
    where = f"{result.index}/{total}" if total else str(result.index)
    for a in result.answers:
        note = " (already queued by an earlier run; not sent again)" if result.skipped else ""
        click.echo(f"request {where}: {a.code} {escape_name(a.description)} "
                   f"transid={a.transid or '-'} correlationid={a.correlationid or '-'}{note}")


def _send(bodies: list[Any], key: str | None, url: str, net: NetOptions, as_json: bool,
          journal: Journal | None = None, resend_unknown: bool = False,
          extra: dict[str, Any] | None = None) -> None:
    results: list[SendResult] = []

    def on_result(result: SendResult) -> None:
        results.append(result)
        if not as_json:
            _print_result(result, len(bodies))

    try:
        with Sender(key, url=url, net=net) as sender:
            sender.send_all(bodies, journal=journal, resend_unknown=resend_unknown, on_result=on_result)
    except MediaprepError:
        if as_json and results:  # what did go out, then the error on stderr
            _print_json({"schema": "mediaprep/send/1", **(extra or {}),
                         "results": [r.to_dict() for r in results], "complete": False})
        raise
    if as_json:
        _print_json({"schema": "mediaprep/send/1", **(extra or {}),
                     "results": [r.to_dict() for r in results], "complete": True})


@click.command("send")
@click.argument("request_file", type=click.Path(dir_okay=False, path_type=Path))
@_KEY_OPTIONS
@_net_options
@click.option("--journal", "journal_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to record what was queued (default: REQUEST_FILE.sent.json).")
@click.option("--no-journal", is_flag=True, help="Keep no record (a rerun may send queued requests again).")
@click.option("--resend-unknown", is_flag=True,
              help="Send requests whose outcome an earlier run could not learn (they may arrive twice).")
@json_option()
@_redacted
def send_cmd(request_file: Path, key: str | None, url: str, net: NetOptions, journal_path: Path | None,
             no_journal: bool, resend_unknown: bool, as_json: bool) -> None:
    """POST each request body in REQUEST_FILE to IMIconnect and report each answer.

    All bodies are validated first. 7006, HTTP 5xx and 429 and requests that never
    reached the API whole are retried; a request the API may already have queued is
    never sent again: the journal beside the file (locked while a run uses it)
    remembers what went out and what is still unknown.
    """
    bodies = load_bodies(_read_json(request_file, "request file"), request_file)
    if no_journal or (journal_path is None and str(request_file) == "-"):
        _send(bodies, key, url, net, as_json, None, resend_unknown)
        return
    with Journal(journal_path or default_journal_path(request_file)) as journal:
        _send(bodies, key, url, net, as_json, journal, resend_unknown)


@click.command("send-media")
@click.argument("path", type=click.Path(path_type=Path))
@_REQUEST_OPTIONS
@click.option("-o", "--out-dir", type=click.Path(path_type=str), help="Output folder for the prepared files.")
@as_option("Send as image, voice or video (default: from the content).")
@profile_option
@WECHAT_OPTIONS
@_KEY_OPTIONS
@_net_options
@json_option()
@_redacted
def send_media_cmd(path: Path, appid: str, text: str | None, to: tuple[str, ...], to_file: Path | None,
                   out_dir: str | None, as_: Role | None, profile_name: str, key: str | None, url: str,
                   net: NetOptions, as_json: bool, **kw: Any) -> None:
    """Prepare FILE, upload it to WeChat (a video with its thumb), build, validate and send."""
    from ..send.deliver import send_media

    if as_ == "thumb":
        raise UsageError("a thumb is not sent on its own", hint="send the video; its thumb goes with it")
    config = _wechat_config(kw, net, profile_name)
    request_kwargs = _request_kwargs(kw)

    def on_result(result: SendResult) -> None:
        if not as_json:
            _print_result(result)

    delivery = send_media(path, appid=appid, text=text, recipients=_recipients(to, to_file), key=key,
                          wechat=config, url=url, net=net, out_dir=out_dir, profile=profile_name,
                          options=PrepareOptions(as_=as_), on_result=on_result,
                          on_upload=None if as_json else _print_upload, **request_kwargs)
    if not verbosity().quiet:
        for note in delivery.prepared.notices:
            _notify(f"info: {delivery.prepared.input}: {note}")
        for warning in delivery.prepared.warnings:
            _notify(f"warning: {delivery.prepared.input}: {warning}")
    if as_json:
        _print_json({"schema": "mediaprep/send-media/1", **delivery.to_dict(), "complete": True})


COMMANDS = (request_cmd, upload_cmd, send_cmd, send_media_cmd)


def register(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)
