"""deliver: prepared outputs -> WeChat media ids -> sent messages.

``upload_prepared`` uploads what ``prepare`` made (each part; a video's thumb as
type thumb) and returns the result with real media ids in its attachment blocks.
``send_media`` is the whole path for one file: prepare, upload, build, validate,
send. The request options are validated first, with a stand-in attachment, so a
missing text or a bad recipient stops the run before anything is encoded or uploaded.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..attachment import Attachment
from ..model import OutputFile, PrepareOptions, PrepareResult
from ..pipeline import prepare
from ..profiles import Profile
from .imiconnect import DEFAULT_URL, Sender, SendResult
from .net import NetOptions
from .request import build_requests
from .wechat import Uploaded, WeChatClient, WeChatConfig


def upload_prepared(result: PrepareResult, client: WeChatClient, extra_thumbs: Sequence[OutputFile] = (),
                    on_upload: Callable[[Uploaded], None] | None = None) -> tuple[PrepareResult, list[Uploaded]]:
    """Upload every output of ``result``; the result with real ids in its blocks.

    A video part uses the thumb of the same part, else the first of ``extra_thumbs``.
    """
    uploads: list[Uploaded] = []
    ids: dict[Path, str] = {}
    for out in (*result.outputs, *extra_thumbs):
        if out.path in ids:
            continue
        media_type = "thumb" if out.slot == "thumb" else result.role
        done = client.upload(out.path, media_type)
        uploads.append(done)
        ids[out.path] = done.media_id
        if on_upload is not None:
            on_upload(done)
    if result.role == "thumb":
        return result, uploads
    thumbs = {o.part: o for o in result.outputs if o.slot == "thumb"}
    fallback = extra_thumbs[0] if extra_thumbs else next(iter(thumbs.values()), None)
    blocks = []
    for out in (o for o in result.outputs if o.slot == "media"):
        thumb_id = None
        if result.role == "video":
            thumb = thumbs.get(out.part) or fallback
            thumb_id = ids[thumb.path] if thumb is not None else None
        blocks.append(Attachment(type=result.role, media_id=ids[out.path], thumb_media_id=thumb_id))
    return replace(result, attachments=tuple(blocks)), uploads


@dataclass(frozen=True)
class Delivery:
    """One `send`: the prepared file, its uploads, the request bodies and their answers."""
    prepared: PrepareResult
    uploads: tuple[Uploaded, ...]
    bodies: tuple[dict[str, Any], ...]
    results: tuple[SendResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"prepared": self.prepared.to_dict(), "uploads": [u.to_dict() for u in self.uploads],
                "requests": list(self.bodies), "results": [r.to_dict() for r in self.results]}


def send_media(
    path: Path | str,
    *,
    appid: str,
    text: str | None,
    recipients: Sequence[str],
    key: str | None,
    wechat: WeChatConfig | None = None,
    url: str = DEFAULT_URL,
    net: NetOptions | None = None,
    out_dir: Path | str | None = None,
    profile: str | Profile = "wechat",
    options: PrepareOptions | None = None,
    on_result: Callable[[SendResult], None] | None = None,
    on_upload: Callable[[Uploaded], None] | None = None,
    **request_options: Any,
) -> Delivery:
    """Prepare ``path``, upload it (with a thumb for video), build and validate the
    requests, and send them. ``request_options`` go to build_requests (expiry,
    correlationid, notifyurl, callback_data, smartlinks, recipient_key, attachment_style)."""
    net = net or NetOptions()
    config = wechat or WeChatConfig.from_env(net=net)
    # Fail fast, before encoding or uploading: the request without its media id.
    build_requests(appid, text, recipients, [Attachment("image", "stand-in")], **request_options)
    with Sender(key, url=url, net=net) as sender, WeChatClient(config) as client:
        if not client.config.access_token and not client.config.can_fetch_token:
            client.token()  # raises the "no WeChat access token" usage error now
        opts = options or PrepareOptions()
        result = prepare(path, out_dir=out_dir, profile=profile, options=opts)
        extra: tuple[OutputFile, ...] = ()
        media = [o for o in result.outputs if o.slot == "media"]
        parts_with_thumbs = {o.part for o in result.outputs if o.slot == "thumb"}
        if result.role == "video" and any(o.part not in parts_with_thumbs for o in media):
            # The video fit made no thumb for some part: make one from the source.
            thumb = prepare(path, out_dir=out_dir, profile=profile, options=replace(opts, as_="thumb"))
            extra = tuple(o for o in thumb.outputs if o.role in ("media", "thumb"))[:1]
            extra = tuple(replace(o, role="thumb") for o in extra)
        result, uploads = upload_prepared(result, client, extra, on_upload)
        bodies = build_requests(appid, text, recipients, list(result.attachments), **request_options)
        results = sender.send_all(bodies, on_result=on_result)
    return Delivery(prepared=result, uploads=tuple(uploads), bodies=tuple(bodies), results=tuple(results))
