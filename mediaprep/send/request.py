"""request: build and validate IMIconnect message request bodies for WeChat.

The body follows IMIconnect's WeChat messaging API page (its parameter table):
``appid``, ``deliverychannel: "wechat"``, ``channels.OTT-Messaging.wechat.{text,
attachment}``, ``destination: [{"wechatID": [...]}]`` and the optional ``expiry``,
``correlationid``, ``notifyurl``, ``callbackData`` and ``smartlinks``.

Validation runs before anything is sent and reports every problem with the code
IMIconnect would answer, so a user learns about all of them at once instead of one
7003/7004 per round trip.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..attachment import ATTACHMENT_TYPES, STYLES, Attachment, AttachmentStyle
from ..errors import RequestInvalid, UsageError

# Response codes from the page's table.
MANDATORY_MISSING = 7003
INVALID_PARAMETER = 7004
TOO_MANY_DESTINATIONS = 7009
INVALID_JSON = 7000

MAX_DESTINATIONS = 1000  # "an array of up to 1,000 entries"; more is refused with 7009
MAX_CORRELATIONID_BYTES = 50  # "The correlationid can be up to 50 bytes long."
# The page's example spells the key "wechatID"; its error texts say "wechatid".
RECIPIENT_KEYS = ("wechatID", "wechatid")

WECHAT_PATH = ("channels", "OTT-Messaging", "wechat")
_WECHAT = ".".join(WECHAT_PATH)

# The two forms the page shows: 2015-04-12T13:00:19.456Z and 2015-04-12T18:30:19.456+5:30.
_EXPIRY = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})(?:Z|([+-])(\d{1,2}):(\d{2}))$"
)
# What prepare puts in a block until the file is uploaded (attachment.placeholder).
_PLACEHOLDER = re.compile(r"^<\w+_media_id of .*>$")

AttachmentLike = Attachment | Mapping[str, Any]


@dataclass(frozen=True)
class RequestProblem:
    """One thing IMIconnect would refuse in a request body, with its error code."""
    code: int  # what IMIconnect would answer: 7003, 7004, 7009, ...
    field: str  # where in the body, e.g. "channels.OTT-Messaging.wechat.text"
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "field": self.field, "message": self.message}


def parse_smartlink(text: str) -> dict[str, Any]:
    """``LINKID[:MINUTES]`` -> ``{"linkid": 123, "validity": 30}``. The page's table types
    both as Number; anything else is kept as given so validation names it."""
    linkid, _, validity = text.partition(":")
    out: dict[str, Any] = {"linkid": int(linkid) if linkid.strip().isdigit() else linkid}
    if validity:
        out["validity"] = int(validity) if validity.strip().isdigit() else validity
    return out


def attachment_from_block(block: Any, kind: str | None = None) -> AttachmentLike:
    """An attachment block in either form (table or the page's "media" example) as an
    Attachment; a block that is neither is returned as given for validation to name."""
    if not isinstance(block, Mapping):
        return {"invalid": block}
    if block.get("type") == "media" and isinstance(block.get("media"), Mapping):
        media = block["media"]
        if kind in ATTACHMENT_TYPES and isinstance(media.get("id"), str):
            thumb = media.get("thumb_id")
            return Attachment(type=kind, media_id=media["id"],
                              thumb_media_id=thumb if isinstance(thumb, str) else None)
        return dict(block)
    known = {"type", "media_id", "thumb_media_id"}
    if (set(block) <= known and all(isinstance(block.get(k), (str, type(None))) for k in known)
            and isinstance(block.get("type"), str) and isinstance(block.get("media_id"), str)):
        return Attachment(type=block["type"], media_id=block["media_id"],
                          thumb_media_id=block.get("thumb_media_id"))
    return dict(block)


def attachments_from_prepared(data: Any, source: Path | str | None = None) -> list[AttachmentLike]:
    """The attachment blocks of ``mediaprep prepare --json`` output, in order (a split
    voice note or video gives one per part)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("attachments"), list):
        raise UsageError("not the JSON output of 'mediaprep prepare --json' (no \"attachments\" list)",
                         path=source, hint="run mediaprep prepare FILE --json > prepared.json")
    if not data["attachments"]:
        raise UsageError("the prepared file has no attachment blocks", path=source,
                         hint="a thumb on its own is not an attachment; prepare the video itself")
    role = data.get("role", data.get("kind"))  # "kind" in files from before the rename
    kind = role if isinstance(role, str) else None
    return [attachment_from_block(b, kind) for b in data["attachments"]]


def _render_attachment(att: AttachmentLike, style: AttachmentStyle) -> Any:
    if isinstance(att, Attachment):
        return att.to_dict(style)
    return json.loads(json.dumps(att))  # a deep copy: bodies never share mutable parts


def recipient_problems(recipients: Sequence[Any], field: str = "destination") -> list[RequestProblem]:
    """Empty and duplicate IDs (7004), too many for one request (7009 is checked per body)."""
    problems: list[RequestProblem] = []
    seen: set[str] = set()
    reported: set[str] = set()
    for i, rid in enumerate(recipients):
        if not isinstance(rid, str):
            problems.append(RequestProblem(INVALID_PARAMETER, f"{field}[{i}]",
                                           f"recipient must be a string, not {type(rid).__name__}"))
        elif not rid.strip():
            problems.append(RequestProblem(INVALID_PARAMETER, f"{field}[{i}]", "empty recipient ID"))
        elif rid != rid.strip() or any(c.isspace() for c in rid):
            problems.append(RequestProblem(INVALID_PARAMETER, f"{field}[{i}]",
                                           f"recipient ID {rid!r} contains whitespace"))
        elif rid in seen:
            if rid not in reported:
                problems.append(RequestProblem(INVALID_PARAMETER, f"{field}[{i}]",
                                               f"duplicate recipient {rid!r}"))
                reported.add(rid)
        else:
            seen.add(rid)
    if not recipients:
        problems.append(RequestProblem(INVALID_PARAMETER, field, "no recipients"))
    return problems


def build_requests(
    appid: str,
    text: str | None,
    recipients: Sequence[str],
    attachments: Sequence[AttachmentLike],
    *,
    expiry: str | None = None,
    correlationid: str | None = None,
    notifyurl: str | None = None,
    callback_data: str | None = None,
    smartlinks: Sequence[Mapping[str, Any] | str] = (),
    recipient_key: str = "wechatID",
    attachment_style: AttachmentStyle = "table",
    max_recipients: int = MAX_DESTINATIONS,
    validate: bool = True,
) -> list[dict[str, Any]]:
    """One body per attachment (in order) per group of at most ``max_recipients``.

    With ``validate`` (the default) raises RequestInvalid listing every problem of
    every body, each with the code IMIconnect would answer.
    """
    if recipient_key not in RECIPIENT_KEYS:
        raise UsageError(f"unknown recipient key {recipient_key!r}", hint=f"use {' or '.join(RECIPIENT_KEYS)}")
    if attachment_style not in STYLES:
        raise UsageError(f"unknown attachment style {attachment_style!r}", hint=f"use {' or '.join(STYLES)}")
    if not 1 <= max_recipients <= MAX_DESTINATIONS:
        raise UsageError(f"max_recipients must be 1..{MAX_DESTINATIONS}")
    recipients = list(recipients)
    links = [parse_smartlink(s) if isinstance(s, str) else dict(s) for s in smartlinks]
    groups = [recipients[i:i + max_recipients] for i in range(0, len(recipients), max_recipients)] or [[]]
    bodies: list[dict[str, Any]] = []
    for att in (attachments or [None]):  # type: ignore[list-item]
        for group in groups:
            wechat: dict[str, Any] = {}
            if text is not None:
                wechat["text"] = text
            if att is not None:
                wechat["attachment"] = _render_attachment(att, attachment_style)
            body: dict[str, Any] = {
                "appid": appid,
                "deliverychannel": "wechat",
                "channels": {"OTT-Messaging": {"wechat": wechat}},
                "destination": [{recipient_key: list(group)}],
            }
            for key, value in (("expiry", expiry), ("correlationid", correlationid),
                               ("notifyurl", notifyurl), ("callbackData", callback_data)):
                if value is not None:
                    body[key] = value
            if links:
                body["smartlinks"] = [dict(link) for link in links]
            bodies.append(body)
    if validate:
        problems = recipient_problems(recipients, "destination")
        for body in bodies:
            # Recipient problems were reported once for the whole list above.
            problems += [p for p in validate_request(body) if not p.field.startswith("destination")]
        if problems:
            raise RequestInvalid(tuple(dict.fromkeys(problems)))
    return bodies


def _expiry_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    m = _EXPIRY.match(value)
    shown = "e.g. 2015-04-12T13:00:19.456Z or 2015-04-12T18:30:19.456+5:30"
    if not m:
        return f"{value!r} is not in the UTC form the API takes ({shown})"
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    try:
        datetime(y, mo, d, h, mi, s)
    except ValueError as exc:
        return f"{value!r} is not a real time ({exc})"
    if m.group(8) is not None and (int(m.group(9)) > 14 or int(m.group(10)) >= 60):
        return f"{value!r} has an impossible UTC offset"
    return None


def _url_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        return f"{value!r} is not an http(s) URL"
    return None


def _attachment_problems(att: Any) -> list[RequestProblem]:
    where = f"{_WECHAT}.attachment"
    if att is None:
        return [RequestProblem(MANDATORY_MISSING, where,
                               "attachment is mandatory when no template is passed")]
    if not isinstance(att, Mapping):
        return [RequestProblem(INVALID_PARAMETER, where, "must be an object")]
    problems: list[RequestProblem] = []
    kind = att.get("type")
    if kind == "media" and "media" in att:  # the page's example form
        media = att.get("media")
        mid = media.get("id") if isinstance(media, Mapping) else None
        if not isinstance(mid, str) or not mid:
            problems.append(RequestProblem(MANDATORY_MISSING, f"{where}.media.id", "media id missing"))
        elif _PLACEHOLDER.match(mid):
            problems.append(RequestProblem(INVALID_PARAMETER, f"{where}.media.id",
                                           f"{mid} is a placeholder: upload the file first "
                                           "(mediaprep upload, or prepare --upload)"))
        return problems
    if kind is None:
        problems.append(RequestProblem(MANDATORY_MISSING, f"{where}.type", "attachment type missing"))
    elif kind not in ATTACHMENT_TYPES:
        problems.append(RequestProblem(INVALID_PARAMETER, f"{where}.type",
                                       f"{kind!r} is not one of {', '.join(ATTACHMENT_TYPES)}"))
    for key in ("media_id", "thumb_media_id"):
        value = att.get(key)
        if value is None:
            if key == "media_id":
                problems.append(RequestProblem(MANDATORY_MISSING, f"{where}.media_id", "media_id missing"))
            elif kind == "video":
                problems.append(RequestProblem(MANDATORY_MISSING, f"{where}.thumb_media_id",
                                               "a video needs thumb_media_id (upload a thumb)"))
        elif not isinstance(value, str) or not value.strip():
            problems.append(RequestProblem(INVALID_PARAMETER, f"{where}.{key}", "must be a non-empty string"))
        elif _PLACEHOLDER.match(value):
            problems.append(RequestProblem(INVALID_PARAMETER, f"{where}.{key}",
                                           f"{value} is a placeholder: upload the file first "
                                           "(mediaprep upload, or prepare --upload)"))
    unknown = sorted(set(att) - {"type", "media_id", "thumb_media_id"})
    if unknown:
        problems.append(RequestProblem(INVALID_PARAMETER, where, f"unknown key(s) {', '.join(unknown)}"))
    return problems


def _destination_problems(dest: Any) -> list[RequestProblem]:
    if dest is None:
        return [RequestProblem(MANDATORY_MISSING, "destination", "destination missing")]
    if not isinstance(dest, list) or not dest:
        return [RequestProblem(INVALID_PARAMETER, "destination", "must be a non-empty array")]
    problems: list[RequestProblem] = []
    ids: list[Any] = []
    for i, entry in enumerate(dest):
        keys = [k for k in RECIPIENT_KEYS if isinstance(entry, Mapping) and k in entry]
        if not isinstance(entry, Mapping) or not keys:
            problems.append(RequestProblem(MANDATORY_MISSING, f"destination[{i}]",
                                           f"needs a {RECIPIENT_KEYS[0]} array"))
            continue
        others = sorted(set(entry) - set(RECIPIENT_KEYS))
        if others:
            problems.append(RequestProblem(INVALID_PARAMETER, f"destination[{i}]",
                                           f"unknown key(s) {', '.join(others)}"))
        for key in keys:
            value = entry[key]
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                problems.append(RequestProblem(INVALID_PARAMETER, f"destination[{i}].{key}",
                                               "must be an array of IDs"))
                continue
            ids.extend(value)
    problems += recipient_problems(ids, "destination")
    if len(ids) > MAX_DESTINATIONS:
        problems.append(RequestProblem(TOO_MANY_DESTINATIONS, "destination",
                                       f"{len(ids)} recipients; at most {MAX_DESTINATIONS} per request "
                                       "(mediaprep request splits longer lists)"))
    return problems


def _smartlink_problems(links: Any) -> list[RequestProblem]:
    if not isinstance(links, list):
        return [RequestProblem(INVALID_PARAMETER, "smartlinks", "must be an array")]
    problems: list[RequestProblem] = []
    for i, link in enumerate(links):
        where = f"smartlinks[{i}]"
        if not isinstance(link, Mapping):
            problems.append(RequestProblem(INVALID_PARAMETER, where, "must be an object"))
            continue
        linkid = link.get("linkid")
        if linkid is None:
            problems.append(RequestProblem(MANDATORY_MISSING, f"{where}.linkid", "linkid missing"))
        elif isinstance(linkid, bool) or not isinstance(linkid, int) or linkid < 0:
            problems.append(RequestProblem(INVALID_PARAMETER, f"{where}.linkid",
                                           f"{linkid!r} is not a number (the link id IMIconnect generated)"))
        validity = link.get("validity")
        if validity is not None and (isinstance(validity, bool) or not isinstance(validity, int)
                                     or validity <= 0):
            problems.append(RequestProblem(INVALID_PARAMETER, f"{where}.validity",
                                           f"{validity!r} is not a number of minutes"))
    return problems


def _get(body: Mapping[str, Any], path: Iterable[str]) -> Any:
    node: Any = body
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def validate_request(body: Any) -> list[RequestProblem]:
    """Every problem IMIconnect would refuse ``body`` for, each with its code. Empty: valid."""
    if not isinstance(body, Mapping):
        return [RequestProblem(INVALID_JSON, "(body)", "the request body must be a JSON object")]
    problems: list[RequestProblem] = []
    appid = body.get("appid")
    if appid is None:
        problems.append(RequestProblem(MANDATORY_MISSING, "appid", "appid missing"))
    elif not isinstance(appid, str) or not appid.strip():
        problems.append(RequestProblem(INVALID_PARAMETER, "appid", "must be a non-empty string"))
    channel = body.get("deliverychannel")
    if channel is None:
        problems.append(RequestProblem(MANDATORY_MISSING, "deliverychannel", "deliverychannel missing"))
    elif channel != "wechat":
        problems.append(RequestProblem(INVALID_PARAMETER, "deliverychannel",
                                       f"{channel!r} is not \"wechat\""))
    wechat = _get(body, WECHAT_PATH)
    if not isinstance(wechat, Mapping):
        problems.append(RequestProblem(MANDATORY_MISSING, _WECHAT, "the wechat channel block is missing"))
    else:
        text = wechat.get("text")
        if text is None or (isinstance(text, str) and not text.strip()):
            problems.append(RequestProblem(MANDATORY_MISSING, f"{_WECHAT}.text",
                                           "text missing: IMIconnect requires text for WeChat"))
        elif not isinstance(text, str):
            problems.append(RequestProblem(INVALID_PARAMETER, f"{_WECHAT}.text", "must be a string"))
        problems += _attachment_problems(wechat.get("attachment"))
    problems += _destination_problems(body.get("destination"))
    if "expiry" in body and (msg := _expiry_problem(body["expiry"])):
        problems.append(RequestProblem(INVALID_PARAMETER, "expiry", msg))
    if "correlationid" in body:
        cid = body["correlationid"]
        if not isinstance(cid, str):
            problems.append(RequestProblem(INVALID_PARAMETER, "correlationid", "must be a string"))
        elif len(cid.encode("utf-8")) > MAX_CORRELATIONID_BYTES:
            problems.append(RequestProblem(INVALID_PARAMETER, "correlationid",
                                           f"{len(cid.encode('utf-8'))} bytes; at most "
                                           f"{MAX_CORRELATIONID_BYTES} bytes"))
    if "notifyurl" in body and (msg := _url_problem(body["notifyurl"])):
        problems.append(RequestProblem(INVALID_PARAMETER, "notifyurl", msg))
    if "callbackData" in body and not isinstance(body["callbackData"], str):
        problems.append(RequestProblem(INVALID_PARAMETER, "callbackData", "must be a string"))
    if "smartlinks" in body:
        problems += _smartlink_problems(body["smartlinks"])
    return problems


def ensure_valid(bodies: Sequence[Any], source: Path | str | None = None) -> None:
    """Raise RequestInvalid naming every problem of every body (numbered when several)."""
    problems: list[RequestProblem] = []
    for i, body in enumerate(bodies, 1):
        for p in validate_request(body):
            field = f"[{i}].{p.field}" if len(bodies) > 1 else p.field
            problems.append(RequestProblem(p.code, field, p.message))
    if problems:
        raise RequestInvalid(tuple(problems), path=source)


def load_bodies(data: Any, source: Path | str | None = None) -> list[Any]:
    """A request file holds one body or an array of bodies (what `mediaprep request` prints)."""
    if isinstance(data, list):
        if not data:
            raise UsageError("the request file holds an empty array", path=source)
        return data
    return [data]
