"""A video that already complies: copied byte for byte, or remuxed losslessly when it
carries metadata, extra tracks or a trailing moov; either way with its thumb."""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from ..formats.isobmff import moov_before_mdat, mvhd_duration
from ..model import Fitted, OutputFile
from ..output import atomic_path, output_path
from ..preflight.check import H264_PROFILES, video_violations
from ..preflight.probe import MediaInfo
from ..preflight.sniff import Sniffed
from ..profiles import Profile, RoleLimits
from ..tools import ffmpeg as ff
from .video_ffmpeg import encode_timeout, source_input
from .video_thumb import make_thumb

# Container tags every mp4 muxer writes; anything else (title, comment, location,
# creation_time, encoder strings) may carry a payload or a privacy leak.
BENIGN_TAGS = {"major_brand", "minor_version", "compatible_brands"}
_LAVF_ENCODER = re.compile(r"^Lavf\d+(\.\d+)*$")


def passthrough_mode(sniffed: Sniffed, info: MediaInfo, limits: RoleLimits) -> str | None:
    """"copy" for an input that already complies byte for byte; "remux" when it
    complies but carries metadata, extra tracks or a trailing moov (fixed by a
    lossless stream copy); None when it needs an encode."""
    if video_violations(sniffed, info, limits):
        return None
    v = info.default_video
    if v is None or v.profile not in H264_PROFILES or v.pix_fmt != "yuv420p":
        return None
    if v.width % 2 or v.height % 2 or v.rotation:
        return None  # players that ignore the matrix would show it on its side
    a = info.default_audio
    if a is not None and a.channels > 2:
        return None
    extra_tags = [k for k, val in info.tags
                  if k not in BENIGN_TAGS and not (k == "encoder" and _LAVF_ENCODER.match(val))]
    if extra_tags or len(info.video) > 1 or len(info.audio) > 1:
        return "remux"
    claimed = mvhd_duration(sniffed.path)
    if claimed is None or abs(claimed - info.duration) > 1.0:
        return "remux"  # a header that lies about the duration: the muxer rewrites it
    if moov_before_mdat(sniffed.path) is not True:
        return "remux"
    return "copy"


def _remux(sniffed: Sniffed, info: MediaInfo, target: Path) -> int:
    v = info.default_video
    a = info.default_audio
    assert v is not None
    args = source_input(sniffed, duration=info.duration + 1.0).args()
    args += ["-map", f"0:{v.index}"] + (["-map", f"0:{a.index}"] if a else [])
    args += ["-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1",
             "-movflags", "+faststart", "-f", "mp4"]
    with tempfile.TemporaryDirectory(prefix=".scratch-remux-", dir=target.parent) as tmp_name:
        out = Path(tmp_name) / "remux.mp4"
        ff.run_args([*args, ff.input_url(out)], timeout=encode_timeout(info, 1.0))
        size = out.stat().st_size
        if size > 0:
            with atomic_path(target) as final_tmp:
                shutil.copyfile(out, final_tmp)
    return size


def passthrough(sniffed: Sniffed, info: MediaInfo, profile: Profile, out_dir: Path,
                 mode: str, written: list[Path]) -> Fitted | None:
    v = info.default_video
    assert v is not None
    target = output_path(sniffed.path, out_dir, ".mp4")
    if mode == "copy":
        with atomic_path(target) as tmp:
            shutil.copyfile(sniffed.path, tmp)
        size = sniffed.size
        note: tuple[str, ...] = ()
    else:
        size = _remux(sniffed, info, target)
        if not 0 < size <= profile.video.max_bytes:
            target.unlink(missing_ok=True)
            return None
        note = ("metadata and extra tracks removed by a lossless remux (+faststart); "
                "picture and sound untouched",)
    written.append(target)
    media = OutputFile(path=target, slot="media", role="video", bytes=size, format="mp4",
                       width=v.width, height=v.height, duration=info.duration,
                       passed_through=mode == "copy",
                       details=(("fps", round(v.fps or 0.0, 3)), ("encodes", 0)))
    thumb_target = output_path(sniffed.path, out_dir, ".thumb.jpg")
    thumb = make_thumb(sniffed, info, profile, 0.0, info.duration, thumb_target, None)
    written.append(thumb_target)
    return Fitted(outputs=(media, thumb), warnings=note)
