"""Profiles: the limits a destination puts on each kind of attachment.

A profile holds exact byte counts. IMIconnect's page says "128K", "256K", "1MB" and
"64KB"; we read K as 1000 bytes (and MB as 1,000,000), the reading that passes
whichever way the server counts. A user who knows better loads a TOML profile.
"""
from __future__ import annotations

import dataclasses
import json
import math
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import UsageError
from .model import ROLES as ROLES


@dataclass(frozen=True)
class RoleLimits:
    """What one attachment role (image, voice, video, thumb) must satisfy."""

    max_bytes: int
    formats: tuple[str, ...]  # canonical container/format names: jpeg png gif amr mp3 mp4
    max_duration: float | None = None  # seconds, for voice and video
    min_bytes: int = 1  # WeCom refuses files of 5 bytes or fewer

    def describe(self) -> str:
        text = f"<= {self.max_bytes:,} bytes, {'/'.join(f.upper() for f in self.formats)}"
        if self.max_duration is not None:
            text += f", <= {self.max_duration:g} s"
        if self.min_bytes > 1:
            text += f", > {self.min_bytes - 1} bytes"
        return text


@dataclass(frozen=True)
class SafetyLimits:
    """Our own bounds on the work one input may cause, checked before decoding.

    Pillow's bomb check only warns between 89 and 179 megapixels, so we refuse
    earlier and say so. The numbers cover every phone and camera we know of
    (a 200 MP phone sensor bins to 50 MP JPEGs by default).
    """

    max_pixels: int = 100_000_000  # image width x height
    max_side: int = 30_000  # any single dimension, image or video
    max_video_pixels: int = 4096 * 2304  # per frame: 4K UHD passes, 8K is refused
    max_duration: float = 3 * 3600.0  # seconds of audio/video we are willing to process
    max_streams: int = 32
    max_frames_probe: int = 10_000  # animation frames we count before giving up
    max_metadata_bytes: int = 1_000_000  # EXIF/ICC/XMP/text chunk sizes we tolerate
    # Progressive JPEGs from cameras and encoders have about 10 scans; each scan costs a
    # pass over every block, so thousands of tiny scans are a CPU bomb.
    max_jpeg_scans: int = 100
    timeout_floor: float = 60.0  # seconds every external run is allowed at least
    # Seconds of wall clock for one in-process decode or probe of an input (Pillow,
    # PyAV). A 100 MP PNG decodes in about 5 s on a slow core; past this, the file is
    # refused (exit 4) rather than left to run.
    decode_seconds: float = 30.0
    # Memory for one file: the address-space limit of its worker in batch mode, and
    # in check/prepare the most a decode is estimated to need before it starts.
    memory_mb: int = 4096
    # Bytes read from a stream (stdin, bytes, a file object) before it is refused:
    # a stream can be endless. 4 GiB holds a 3-hour video at 3 Mbit/s.
    max_input_bytes: int = 4 << 30


@dataclass(frozen=True)
class Profile:
    """A destination's limits: per role (image, voice, video, thumb) and for safety."""
    name: str
    description: str
    image: RoleLimits
    voice: RoleLimits
    video: RoleLimits
    thumb: RoleLimits
    safety: SafetyLimits = field(default_factory=SafetyLimits)

    def limits(self, role: str) -> RoleLimits:
        if role == "image":
            return self.image
        if role == "voice":
            return self.voice
        if role == "video":
            return self.video
        if role == "thumb":
            return self.thumb
        raise UsageError(f"unknown role {role!r}", hint=f"use one of {', '.join(ROLES)}")


_KB = 1000
_MB = 1000 * 1000

WECHAT = Profile(
    name="wechat",
    description="WeChat through IMIconnect, as IMIconnect's messaging page states the limits",
    image=RoleLimits(max_bytes=128 * _KB, formats=("jpeg",)),
    voice=RoleLimits(max_bytes=256 * _KB, formats=("amr",), max_duration=60.0),
    video=RoleLimits(max_bytes=1 * _MB, formats=("mp4",)),
    thumb=RoleLimits(max_bytes=64 * _KB, formats=("jpeg",)),
)

WECHAT_OA = Profile(
    name="wechat-oa",
    description="WeChat Official Account temporary media API",
    image=RoleLimits(max_bytes=10 * _MB, formats=("jpeg", "png", "gif")),
    voice=RoleLimits(max_bytes=2 * _MB, formats=("amr", "mp3"), max_duration=60.0),
    video=RoleLimits(max_bytes=10 * _MB, formats=("mp4",)),
    thumb=RoleLimits(max_bytes=64 * _KB, formats=("jpeg",)),
)

WECOM = Profile(
    name="wecom",
    description="WeCom (WeChat Work) temporary media",
    image=RoleLimits(max_bytes=10 * _MB, formats=("jpeg", "png"), min_bytes=6),
    voice=RoleLimits(max_bytes=2 * _MB, formats=("amr",), max_duration=60.0, min_bytes=6),
    video=RoleLimits(max_bytes=10 * _MB, formats=("mp4",), min_bytes=6),
    thumb=RoleLimits(max_bytes=64 * _KB, formats=("jpeg",), min_bytes=6),
)

BUILTIN: dict[str, Profile] = {p.name: p for p in (WECHAT, WECHAT_OA, WECOM)}

KNOWN_FORMATS = {"jpeg", "png", "gif", "amr", "mp3", "mp4"}


# A profile file's top level: these keys, and one table per role plus [safety].
_TOP_KEYS = ("name", "base", "description")
_TABLES = (*ROLES, "safety")
_ROLE_KEYS = tuple(f.name for f in fields(RoleLimits))
_SAFETY_KEYS = tuple(f.name for f in fields(SafetyLimits))
_FORMAT_ALIASES = {"jpg": "jpeg"}


def _refusal(path: Path, message: str, hint: str) -> UsageError:
    return UsageError(message, path=path, hint=hint)


def _shown(value: object) -> str:
    """A TOML value as the user wrote it, short enough for one line."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, list):
        text = "[" + ", ".join(_shown(v) for v in value) + "]"
    else:  # int, float (inf, nan), dates and times
        text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_keys(table: dict[str, Any], valid: tuple[str, ...], where: str, path: Path,
                shown_valid: str, *, top: bool = False) -> None:
    """Refuse keys the profile does not have: a typo must not silently leave a limit
    at its base value. ``top``: the file's top level, where tables are shown as [name]."""
    unknown = [key for key in table if key not in valid]
    if not unknown:
        return

    def shown(key: str, is_table: bool) -> str:
        return f"[{key}]" if top and is_table else key

    names = ", ".join(sorted(shown(k, isinstance(table[k], dict)) for k in unknown))
    hint = f"valid {where}: {shown_valid}"
    misplaced = [k for k in unknown if top and k in _ROLE_KEYS]
    if misplaced:
        hint = f"{misplaced[0]} belongs in a role's table, such as [image]; {hint}"
    import difflib

    guess = difflib.get_close_matches(unknown[0].lower(), valid, n=1, cutoff=0.75)
    if guess:
        hint = f"did you mean {shown(guess[0], guess[0] in _TABLES)}? {hint}"
    raise _refusal(path, f"unknown key(s) {where}: {names}", hint)


def _whole(value: object, key: str, where: str, path: Path, example: object) -> int:
    """A count or a byte size: a TOML integer >= 1 (never a float, string or boolean)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _refusal(path, f"{where} {key} must be a whole number >= 1, not {_shown(value)}",
                       f"for example {key} = {example}")
    return value


# The longest any seconds limit may be: a year. Past that a value is a typo, and
# OS timers (threading, select, subprocess timeouts) overflow well before a float does.
MAX_SECONDS = 365 * 24 * 3600.0


def _positive(value: object, key: str, where: str, path: Path, example: object) -> float:
    """A limit in seconds: a finite TOML number > 0 (never inf, nan, a string or a boolean)."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond any float
            number = None
    if number is None or not math.isfinite(number) or number <= 0:
        raise _refusal(path, f"{where} {key} must be a finite number > 0, not {_shown(value)}",
                       f"for example {key} = {example}")
    if number > MAX_SECONDS:  # timers and timeouts overflow long before a float does
        raise _refusal(path, f"{where} {key} must be at most {MAX_SECONDS:,.0f} seconds, not {_shown(value)}",
                       f"for example {key} = {example}")
    return number


def _formats(value: object, where: str, path: Path) -> tuple[str, ...]:
    known = ", ".join(sorted(KNOWN_FORMATS))
    hint = f'for example formats = ["jpeg"]; known formats: {known}'
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _refusal(path, f"{where} formats must be a non-empty list of format names, not {_shown(value)}",
                       hint)
    names = tuple(_FORMAT_ALIASES.get(v.lower(), v.lower()) for v in value)
    bad = [v for v, n in zip(value, names, strict=True) if n not in KNOWN_FORMATS]
    if bad:
        raise _refusal(path, f"{where} formats: unknown format(s) {', '.join(_shown(b) for b in bad)}", hint)
    return names


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any] | None:
    table = data.get(key)
    if table is None or isinstance(table, dict):
        return table
    raise _refusal(path, f"[{key}] must be a table, not {_shown(table)}",
                   f"write it as a [{key}] section with one key = value per line")


def _role_from_toml(role: str, table: dict[str, Any] | None, base: RoleLimits, path: Path) -> RoleLimits:
    if table is None:
        return base
    where = f"[{role}]"
    _check_keys(table, _ROLE_KEYS, f"in {where}", path, ", ".join(sorted(_ROLE_KEYS)))
    max_bytes = base.max_bytes
    if "max_bytes" in table:
        max_bytes = _whole(table["max_bytes"], "max_bytes", where, path, base.max_bytes)
    min_bytes = base.min_bytes
    if "min_bytes" in table:
        min_bytes = _whole(table["min_bytes"], "min_bytes", where, path, base.min_bytes)
    formats = _formats(table["formats"], where, path) if "formats" in table else base.formats
    max_duration = base.max_duration
    if "max_duration" in table:
        max_duration = _positive(table["max_duration"], "max_duration", where, path, base.max_duration or 60)
    if min_bytes > max_bytes:
        raise _refusal(path, f"{where} min_bytes ({min_bytes:,}) is above max_bytes ({max_bytes:,}): "
                       "no file could comply", "lower min_bytes or raise max_bytes")
    return RoleLimits(max_bytes=max_bytes, formats=formats, max_duration=max_duration, min_bytes=min_bytes)


def _safety_from_toml(table: dict[str, Any] | None, base: SafetyLimits, path: Path) -> SafetyLimits:
    if table is None:
        return base
    _check_keys(table, _SAFETY_KEYS, "in [safety]", path, ", ".join(sorted(_SAFETY_KEYS)))
    values: dict[str, Any] = {}
    for key, value in table.items():
        default = getattr(base, key)
        # Each bound keeps the type of its default: whole counts stay whole, seconds may be fractional.
        check = _positive if isinstance(default, float) else _whole
        values[key] = check(value, key, "[safety]", path, default)
    return dataclasses.replace(base, **values)


def load_profile_file(path: Path) -> Profile:
    """Load a profile from TOML. Roles left out inherit from ``base`` (default wechat).

    Every key is checked, never converted: an unknown key or table, or a value of
    the wrong type or sign, is a UsageError naming the file, the key and what to
    write instead."""
    # The TOML parser is imported here, for a profile file: a built-in profile needs none.
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]  # only on 3.10
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read profile file: {exc.strerror}", path=path,
                         hint="check the path given as the profile") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"profile file is not valid TOML: {exc}", path=path,
                         hint="fix the file where the message says (it must be UTF-8 TOML)") from exc
    _check_keys(data, (*_TOP_KEYS, *_TABLES), "at the top level", path,
                ", ".join((*_TOP_KEYS, *(f"[{t}]" for t in _TABLES))), top=True)
    for key in _TOP_KEYS:
        if key in data and (not isinstance(data[key], str) or not data[key]):
            raise _refusal(path, f"{key} must be a non-empty string, not {_shown(data[key])}",
                           f'for example {key} = "{"wechat" if key == "base" else "mine"}"')
    name = data.get("name", path.stem)
    base_name = data.get("base", "wechat")
    if base_name not in BUILTIN:
        raise _refusal(path, f"unknown base {_shown(base_name)}",
                       f"base must be one of the built-in profiles: {', '.join(BUILTIN)}")
    base = BUILTIN[base_name]
    roles = {role: _role_from_toml(role, _table(data, role, path), base.limits(role), path) for role in ROLES}
    return Profile(
        name=name,
        description=data.get("description", f"loaded from {path.name}"),
        image=roles["image"],
        voice=roles["voice"],
        video=roles["video"],
        thumb=roles["thumb"],
        safety=_safety_from_toml(_table(data, "safety", path), base.safety, path),
    )


def get_profile(name_or_path: str | Profile) -> Profile:
    """A built-in profile by name, or a TOML file by path."""
    if isinstance(name_or_path, Profile):
        return name_or_path
    if name_or_path in BUILTIN:
        return BUILTIN[name_or_path]
    candidate = Path(name_or_path)
    if candidate.suffix.lower() == ".toml" or candidate.is_file():
        return load_profile_file(candidate)
    raise UsageError(
        f"unknown profile {name_or_path!r}",
        hint=f"use one of {', '.join(BUILTIN)} or a path to a .toml file",
    )
