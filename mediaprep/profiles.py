"""Profiles: the limits a destination puts on each kind of attachment.

A profile holds exact byte counts. IMIconnect's page says "128K", "256K", "1MB" and
"64KB"; we read K as 1000 bytes (and MB as 1,000,000), the reading that passes
whichever way the server counts. A user who knows better loads a TOML profile.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]  # only on 3.10

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


@dataclass(frozen=True)
class Profile:
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


def _role_from_toml(name: str, role: str, table: Any, base: RoleLimits) -> RoleLimits:
    if table is None:
        return base
    if not isinstance(table, dict):
        raise UsageError(f"profile {name!r}: [{role}] must be a table")
    allowed = {f.name for f in fields(RoleLimits)}
    unknown = set(table) - allowed
    if unknown:
        raise UsageError(
            f"profile {name!r}: unknown key(s) in [{role}]: {', '.join(sorted(unknown))}",
            hint=f"allowed: {', '.join(sorted(allowed))}",
        )
    values: dict[str, Any] = {f.name: getattr(base, f.name) for f in fields(RoleLimits)}
    values.update(table)
    try:
        formats = tuple(str(f).lower() for f in values["formats"])
        limits = RoleLimits(
            max_bytes=int(values["max_bytes"]),
            formats=tuple("jpeg" if f == "jpg" else f for f in formats),
            max_duration=None if values["max_duration"] is None else float(values["max_duration"]),
            min_bytes=int(values["min_bytes"]),
        )
    except (TypeError, ValueError) as exc:
        raise UsageError(f"profile {name!r}: bad value in [{role}]: {exc}") from exc
    bad = set(limits.formats) - KNOWN_FORMATS
    if bad or limits.max_bytes <= 0:
        raise UsageError(
            f"profile {name!r}: [{role}] needs max_bytes > 0 and formats from "
            f"{', '.join(sorted(KNOWN_FORMATS))}"
        )
    return limits


def load_profile_file(path: Path) -> Profile:
    """Load a profile from TOML. Roles left out inherit from ``base`` (default wechat)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read profile file: {exc.strerror}", path=path) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"profile file is not valid TOML: {exc}", path=path) from exc
    name = str(data.get("name", path.stem))
    base_name = str(data.get("base", "wechat"))
    if base_name not in BUILTIN:
        raise UsageError(f"profile {name!r}: unknown base {base_name!r}", path=path)
    base = BUILTIN[base_name]
    safety = base.safety
    if "safety" in data:
        try:
            safety = SafetyLimits(**{**safety.__dict__, **data["safety"]})
        except TypeError as exc:
            raise UsageError(f"profile {name!r}: bad [safety] table: {exc}", path=path) from exc
    return Profile(
        name=name,
        description=str(data.get("description", f"loaded from {path.name}")),
        image=_role_from_toml(name, "image", data.get("image"), base.image),
        voice=_role_from_toml(name, "voice", data.get("voice"), base.voice),
        video=_role_from_toml(name, "video", data.get("video"), base.video),
        thumb=_role_from_toml(name, "thumb", data.get("thumb"), base.thumb),
        safety=safety,
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
