"""check: a probed file against a profile's limits for its role."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model import Role
from ..profiles import Profile, RoleLimits, get_profile
from ..spool import Stream, is_stream, named_as, spooled
from .probe import ImageInfo, MediaInfo, probe_av, probe_image
from .sniff import Sniffed, sniff

# libav decoder names -> the codec a profile format means.
_AMR_NB = {"amrnb", "amr_nb", "libopencore_amrnb"}
_AMR_WB = {"amrwb", "amr_wb", "libopencore_amrwb"}
_MP3 = {"mp3", "mp3float"}
_H264 = {"h264", "libx264"}
_AAC = {"aac", "libfdk_aac"}
# H.264 profiles old WeChat clients decode (no High: its 8x8 transform and other
# tools are missing there). The video fit's pass-through tests the same set.
H264_PROFILES = frozenset({"Baseline", "Constrained Baseline", "Main"})


@dataclass(frozen=True)
class Violation:
    """One limit a file breaks, for people (text) and machines (numbers)."""
    rule: str  # "bytes" | "format" | "duration" | "codec" | ...
    actual: str  # for people: "179,863 bytes"
    limit: str
    # For programs, where the rule is a number: the unit ("bytes" or "seconds"), the
    # numbers, and whether the limit is a maximum or a minimum.
    unit: str | None = None
    actual_value: float | None = None
    limit_value: float | None = None
    bound: str = "max"

    def __str__(self) -> str:
        return f"{self.rule}: {self.actual} (limit: {self.limit})"

    def to_dict(self) -> dict[str, Any]:
        """Display strings, and beside them the numbers with their unit in the key
        (``actual_bytes``, ``limit_bytes``, ``actual_seconds``, ...)."""
        out: dict[str, Any] = {"rule": self.rule, "actual": self.actual, "limit": self.limit}
        if self.unit is not None:
            out[f"actual_{self.unit}"] = self.actual_value
            out[f"limit_{self.unit}"] = self.limit_value
            out["bound"] = self.bound
        return out


@dataclass(frozen=True)
class CheckReport:
    """One file checked against a profile: its facts and the limits it breaks."""
    path: Path
    kind: str  # what the content is: image | audio | video
    role: str  # what it was checked as: image | thumb | voice | video
    profile: str
    bytes: int
    facts: tuple[tuple[str, Any], ...]
    violations: tuple[Violation, ...]
    warnings: tuple[str, ...] = ()

    @property
    def complies(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "kind": self.kind, "role": self.role, "profile": self.profile,
            "bytes": self.bytes, "complies": self.complies,
            "facts": {_FACT_KEYS.get(k, k): v for k, v in self.facts},
            "violations": [v.to_dict() for v in self.violations],
            "warnings": list(self.warnings),
        }


# Facts whose JSON key names their unit (the facts themselves keep short names).
_FACT_KEYS = {"duration": "duration_seconds", "sample_rate": "sample_rate_hz"}


def default_role(sniffed: Sniffed, info: ImageInfo | MediaInfo | None = None) -> Role:
    if sniffed.kind == "image":
        return "image"
    if sniffed.kind == "audio":
        return "voice"
    if isinstance(info, MediaInfo) and not info.video:
        return "voice"  # an audio-only MP4/MKV is a voice note in a video box
    return "video"


def _size_rules(size: int, limits: RoleLimits) -> list[Violation]:
    out = []
    if size > limits.max_bytes:
        out.append(Violation("bytes", f"{size:,} bytes", f"{limits.max_bytes:,} bytes",
                             "bytes", size, limits.max_bytes))
    if size < limits.min_bytes:
        out.append(Violation("bytes", f"{size:,} bytes", f"at least {limits.min_bytes:,} bytes",
                             "bytes", size, limits.min_bytes, "min"))
    return out


def _fmts(limits: RoleLimits) -> str:
    return "/".join(f.upper() for f in limits.formats)


def image_violations(sniffed: Sniffed, info: ImageInfo, limits: RoleLimits) -> list[Violation]:
    out = _size_rules(sniffed.size, limits)
    if info.format not in limits.formats:
        out.append(Violation("format", info.format.upper(), _fmts(limits)))
    elif info.format == "jpeg":
        if info.mode not in ("RGB", "L"):
            # CMYK/YCCK JPEGs decode with wrong colours in many phone viewers.
            out.append(Violation("colour", f"{info.mode} JPEG", "RGB or greyscale JPEG"))
        if info.jpeg_process not in (None, "baseline"):
            # Baseline is the one JPEG process every decoder must have (T.81 4.11);
            # progressive, extended (SOF1), arithmetic and lossless are optional, and
            # every JPEG mediaprep writes is baseline: the same rule here and in prepare.
            out.append(Violation("encoding", f"{info.jpeg_process} JPEG", "baseline JPEG"))
    return out


def voice_format(info: MediaInfo) -> str:
    """The profile format an audio file counts as: amr (AMR-NB only), mp3, or other."""
    audio = info.default_audio
    codec = audio.codec if audio else ""
    if info.format == "amr" and codec in _AMR_NB:
        return "amr"
    if info.format == "mp3" and codec in _MP3:
        return "mp3"
    if codec in _AMR_WB:
        return "amr-wb"  # wide-band: WeChat's "AMR" is the narrow-band codec only
    return f"{info.format}/{codec or 'none'}"


def voice_violations(sniffed: Sniffed, info: MediaInfo, limits: RoleLimits) -> list[Violation]:
    out = _size_rules(sniffed.size, limits)
    fmt = voice_format(info)
    if fmt not in limits.formats:
        out.append(Violation("format", fmt.upper(), f"{_fmts(limits)} (AMR means AMR-NB)"))
    if limits.max_duration is not None and info.duration > limits.max_duration + 1e-3:
        out.append(Violation("duration", f"{info.duration:.2f} s", f"{limits.max_duration:g} s",
                             "seconds", round(info.duration, 3), limits.max_duration))
    if info.video:
        out.append(Violation("streams", "has a video stream", "audio only"))
    return out


def video_violations(sniffed: Sniffed, info: MediaInfo, limits: RoleLimits) -> list[Violation]:
    out = _size_rules(sniffed.size, limits)
    if info.format not in limits.formats:
        out.append(Violation("format", info.format.upper(), _fmts(limits)))
    v = info.default_video
    if v is None:
        out.append(Violation("streams", "no video stream", "one H.264 video stream"))
    elif v.codec not in _H264:
        out.append(Violation("codec", f"video {v.codec}", "H.264"))
    else:
        # Old WeChat clients decode Main/Baseline 8-bit 4:2:0 only; a display matrix
        # is ignored by some players, showing the video on its side.
        if v.profile not in H264_PROFILES:
            out.append(Violation("profile", f"H.264 {v.profile}", "Main or lower"))
        if v.pix_fmt not in (None, "yuv420p", "yuvj420p"):
            out.append(Violation("pixels", str(v.pix_fmt), "yuv420p"))
        if v.rotation:
            out.append(Violation("rotation", f"{v.rotation} degrees (display matrix)", "upright"))
    a = info.default_audio
    if a is not None and a.codec not in _AAC:
        out.append(Violation("codec", f"audio {a.codec}", "AAC"))
    if limits.max_duration is not None and info.duration > limits.max_duration + 1e-3:
        out.append(Violation("duration", f"{info.duration:.2f} s", f"{limits.max_duration:g} s",
                             "seconds", round(info.duration, 3), limits.max_duration))
    return out


def facts_of(info: ImageInfo | MediaInfo) -> tuple[tuple[str, Any], ...]:
    if isinstance(info, ImageInfo):
        animation = (("duration", round(info.duration, 3)),) if info.frames > 1 else ()
        return (("format", info.format), ("width", info.width), ("height", info.height),
                ("mode", info.mode), ("orientation", info.orientation), ("frames", info.frames),
                *animation, ("exif", info.has_exif), ("gps", info.has_gps), ("icc", info.has_icc),
                ("trailing_bytes", info.trailing_bytes),
                *((("jpeg_process", info.jpeg_process),) if info.jpeg_process else ()))
    facts: list[tuple[str, Any]] = [("format", info.format), ("duration", round(info.duration, 3))]
    a = info.default_audio
    if a is not None:
        facts += [("audio_codec", a.codec), ("sample_rate", a.sample_rate), ("channels", a.channels)]
    v = info.default_video
    if v is not None:
        facts += [("video_codec", v.codec), ("width", v.width), ("height", v.height),
                  ("fps", round(v.fps, 3) if v.fps else None), ("rotation", v.rotation)]
    return tuple(facts)


def probe(sniffed: Sniffed, profile: Profile) -> ImageInfo | MediaInfo:
    if sniffed.kind == "image":
        return probe_image(sniffed, profile.safety)
    return probe_av(sniffed, profile.safety)


def check_probed(sniffed: Sniffed, info: ImageInfo | MediaInfo, profile: Profile,
                 role: str | None = None) -> CheckReport:
    role = role or default_role(sniffed, info)
    limits = profile.limits(role)
    if isinstance(info, ImageInfo):
        if role not in ("image", "thumb"):
            raise UsageError(f"an image cannot be checked as {role}", path=sniffed.path)
        violations = image_violations(sniffed, info, limits)
    elif role == "voice":
        violations = voice_violations(sniffed, info, limits)
    elif role == "video":
        violations = video_violations(sniffed, info, limits)
    else:
        raise UsageError(f"a {sniffed.kind} file cannot be checked as {role}", path=sniffed.path)
    return CheckReport(path=sniffed.path, kind=sniffed.kind, role=role, profile=profile.name,
                       bytes=sniffed.size, facts=facts_of(info), violations=tuple(violations),
                       warnings=sniffed.warnings)


def check(path: Path | str | Stream, profile: str | Profile = "wechat", role: str | None = None, *,
          name: str | None = None) -> CheckReport:
    """Sniff, probe and check one file. Raises a MediaprepError when it cannot be read.

    ``path`` may also be the file's content, bytes or a binary file object (a web
    upload); ``name`` is then its name (its extension is compared with the content;
    the report names the input by it)."""
    prof = get_profile(profile)
    if is_stream(path):
        shown = name or "input"
        with spooled(path, shown, prof.safety.max_input_bytes) as spool, named_as(spool, shown):
            report = check(spool, prof, role)
        # Sniffing warns only about the name; content without a name has none to doubt.
        warnings = report.warnings if name is not None else ()
        return dataclasses.replace(report, path=Path(shown), warnings=warnings)
    assert isinstance(path, (str, Path))
    sniffed = sniff(path)
    return check_probed(sniffed, probe(sniffed, prof), prof, role)
