"""The video path end to end: real encodes of small real clips and lavfi edge cases,
every output decoded and inspected with PyAV."""
from __future__ import annotations

import array
import dataclasses
import hashlib
import json
import math
import stat
import subprocess
from pathlib import Path
from typing import Any

import av
import pytest
from click.testing import CliRunner
from PIL import Image

import mediaprep
from mediaprep.cli.main import main as cli_main
from mediaprep.errors import BadInput, CannotComply, ExitCode, ToolFailed, UnsupportedType, UsageError
from mediaprep.fit.video import moov_before_mdat, mvhd_duration
from mediaprep.tools import ffmpeg as ff

THUMB_BUDGET = 64_000
BENIGN = {"major_brand", "minor_version", "compatible_brands", "encoder"}


# ------------------------------------------------------------------ helpers

# Every test here encodes real video: `make test-fast` skips them, `make test` runs them.
pytestmark = pytest.mark.slow

def ffmpeg_make(*args: str) -> None:
    subprocess.run([ff.get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *args], check=True, timeout=120, capture_output=True)


def small_profile(tmp: Path, video_bytes: int) -> Path:
    path = tmp / f"small{video_bytes}.toml"
    path.write_text(f'name = "small"\n[video]\nmax_bytes = {video_bytes}\n', encoding="utf-8")
    return path


@dataclasses.dataclass
class Facts:
    width: int
    height: int
    duration: float
    fps_deltas: set[int]
    audio_rms: float | None
    rotation: int


def inspect_mp4(path: Path, budget: int) -> Facts:
    """Everything the issue asks of an output, decoded with PyAV."""
    size = path.stat().st_size
    assert 0 < size <= budget, f"{size:,} bytes > {budget:,}"
    assert moov_before_mdat(path) is True, "moov must come first (+faststart)"
    with av.open(str(path)) as c:
        assert "mp4" in c.format.name
        assert set(c.metadata) <= BENIGN, f"metadata carried over: {c.metadata}"
        (v,) = c.streams.video
        assert v.codec_context.name == "h264"
        assert v.codec_context.profile in ("Main", "Constrained Baseline", "Baseline")
        assert v.codec_context.pix_fmt == "yuv420p"
        w, h = v.codec_context.width, v.codec_context.height
        assert w % 2 == 0 and h % 2 == 0
        audio = list(c.streams.audio)
        assert len(audio) <= 1
        if audio:
            assert audio[0].codec_context.name == "aac" and audio[0].codec_context.profile == "LC"
        duration = c.duration / av.time_base
        pts = sorted(p.pts for p in c.demux(v) if p.pts is not None)
    deltas = {b - a for a, b in zip(pts, pts[1:], strict=False)}
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        rotation = int(frame.rotation or 0)
        rms = None
        if c.streams.audio:
            # AAC decodes to planar float32; no numpy needed for a loudness figure.
            values = array.array("f")
            for i, af in enumerate(c.decode(audio=0)):
                assert af.format.name == "fltp"
                values.frombytes(bytes(af.planes[0])[: af.samples * 4])
                if i > 40:
                    break
            rms = math.sqrt(sum(x * x for x in values) / max(1, len(values)))
    return Facts(w, h, duration, deltas, rms, rotation)


def media_and_thumb(res: Any) -> tuple[Any, Any]:
    media = [o for o in res.outputs if o.slot == "media"]
    thumbs = [o for o in res.outputs if o.slot == "thumb"]
    assert len(media) == 1 and len(thumbs) == 1
    return media[0], thumbs[0]


def check_thumb(path: Path) -> Image.Image:
    assert path.stat().st_size <= THUMB_BUDGET
    im = Image.open(path)
    assert im.format == "JPEG"
    im.load()  # the pixels, read now: Pillow then closes the file it opened
    return im


def probed_duration(path: Path) -> float:
    return mediaprep.check(path).to_dict()["facts"]["duration_seconds"]


# ------------------------------------------------------------------ edge-case clips

class _Clips(dict):  # type: ignore[type-arg]
    """Clips by name; one this ffmpeg could not make skips the test that wants it."""

    def __init__(self) -> None:
        super().__init__()
        self.reasons: dict[str, str] = {}
        self.missing: dict[str, str] = {}

    def __missing__(self, key: str) -> Path:
        pytest.skip(f"clip {key!r} not available with this ffmpeg: {self.missing.get(key, '?')}")


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> _Clips:
    """Small edge-case inputs made once per session with lavfi (about 10 s in all)."""
    d = tmp_path_factory.mktemp("clips")
    src = "testsrc2=s=320x240:r=30:d=2"
    tone = "sine=f=440:d=2:sample_rate=44100"
    out = _Clips()
    failed: set[str] = set()

    def make(*args: str) -> None:
        # A clip whose encoder this ffmpeg lacks is skipped, not an error.
        try:
            ffmpeg_make(*args)
        except subprocess.CalledProcessError as exc:
            failed.add(args[-1])
            out.reasons[args[-1]] = (exc.stderr or b"").decode("utf-8", "replace")[-200:]

    # A phone's portrait clip: stored 320x240 with a top half white, a 90-degree
    # display matrix (counter-clockwise, as ffmpeg and iPhones write it).
    base = d / "halves.mp4"
    make("-f", "lavfi", "-i", "color=black:s=320x240:r=30:d=2,drawbox=x=0:y=0:w=320:h=120:"
                "color=white:t=fill", "-f", "lavfi", "-i", tone, "-c:v", "libx264", "-c:a", "aac",
                "-shortest", str(base))
    out["rotated"] = d / "rotated.mp4"
    make("-display_rotation", "90", "-i", str(base), "-c", "copy", str(out["rotated"]))

    out["odd"] = d / "odd.mp4"  # 65x33, no audio
    make("-f", "lavfi", "-i", "testsrc2=s=65x33:r=25:d=1.5", "-c:v", "libx264",
                "-pix_fmt", "yuv444p", str(out["odd"]))

    # Two audio tracks: the first silent, the second (marked default) a tone.
    out["two_audio"] = d / "two_audio.mkv"
    make("-f", "lavfi", "-i", src, "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
                "-f", "lavfi", "-i", tone, "-map", "0", "-map", "1", "-map", "2", "-t", "2",
                "-c:v", "libx264", "-c:a", "aac", "-disposition:a:0", "0",
                "-disposition:a:1", "default", str(out["two_audio"]))

    # 10-bit HEVC, tagged HDR10 (PQ, BT.2020), in a MOV.
    out["hdr10"] = d / "hdr10.mov"
    make("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1.5", "-f", "lavfi", "-i", tone,
                "-t", "1.5", "-c:v", "libx265", "-x265-params",
                "log-level=error:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc",
                "-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "smpte2084",
                "-colorspace", "bt2020nc", "-tag:v", "hvc1", "-c:a", "aac", str(out["hdr10"]))

    # PQ-tagged without primaries: zscale cannot tone-map it; converted anyway.
    out["pq_only"] = d / "pq_only.mp4"
    make("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=1", "-c:v", "libx265",
                "-x265-params", "log-level=error:transfer=smpte2084", "-pix_fmt", "yuv420p10le",
                str(out["pq_only"]))

    # Variable frame rate: the first second at 10 fps, the next at 30, with a
    # 0.4 s timestamp gap in between.
    out["vfr"] = d / "vfr.mkv"
    make("-f", "lavfi", "-i", src, "-vf",
                "select='if(lt(t,1),not(mod(n,3)),1)',setpts='PTS+if(gte(T,1),0.4/TB,0)'",
                "-fps_mode", "vfr", "-c:v", "libx264", str(out["vfr"]))

    out["webm"] = d / "clip.webm"
    make("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1.5", "-f", "lavfi", "-i", tone,
                "-t", "1.5", "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8",
                "-c:a", "libopus", str(out["webm"]))
    out["avi"] = d / "clip.avi"
    make("-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=1.5", "-f", "lavfi", "-i", tone,
                "-t", "1.5", "-c:v", "mpeg4", "-c:a", "libmp3lame", str(out["avi"]))
    out["3gp"] = d / "clip.3gp"
    make("-f", "lavfi", "-i", "testsrc2=s=176x144:r=15:d=1.5", "-f", "lavfi",
                "-i", "sine=f=440:d=1.5:sample_rate=8000", "-c:v", "h263", "-c:a",
                "libopencore_amrnb", "-ar", "8000", "-ac", "1", "-b:a", "12.2k", str(out["3gp"]))

    # Six seconds of moving 320x240 with sound: too long for a 20 KB budget.
    out["long"] = d / "long.mp4"
    make("-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=6", "-f", "lavfi",
                "-i", "sine=f=440:d=6", "-c:v", "libx264", "-c:a", "aac", "-shortest",
                str(out["long"]))

    # A fade-in from black: the thumb must not be the black first frame.
    out["fade"] = d / "fade.mp4"
    make("-f", "lavfi", "-i", "testsrc2=s=320x240:r=30:d=3,fade=in:st=0:d=1",
                "-c:v", "libx264", str(out["fade"]))

    out["empty_video"] = d / "empty_video.mkv"  # a video track with no frames, and sound
    make("-f", "lavfi", "-i", "testsrc2=s=160x120:d=1", "-f", "lavfi", "-i", tone,
                "-t", "1", "-vf", "select=0", "-c:v", "libx264", "-c:a", "aac",
                str(out["empty_video"]))

    out["audio_only"] = d / "audio_only.mp4"
    make("-f", "lavfi", "-i", tone, "-c:a", "aac", str(out["audio_only"]))

    # No moov: a non-faststart MP4 cut before its end.
    whole = d / "whole.mp4"
    make("-f", "lavfi", "-i", src, "-c:v", "libx264", str(whole))
    out["truncated"] = d / "truncated.mp4"
    if whole.exists():
        data = whole.read_bytes()
        out["truncated"].write_bytes(data[: len(data) * 6 // 10])
    for key, path in list(out.items()):
        if str(path) in failed or not path.exists():
            out.missing[key] = out.reasons.get(str(path), "not made")
            del out[key]
    return out


# ------------------------------------------------------------------ real footage

def test_real_clip_fits_small_budget_full_duration(copy_of, tmp_path):
    src = copy_of("video/bikes_short.mp4")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    budget = 60_000  # 4 s at 120 kbit/s in all
    res = mediaprep.prepare(src, out_dir=tmp_path / "out", profile=str(small_profile(tmp_path, budget)))
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before  # input untouched
    media, thumb = media_and_thumb(res)
    facts = inspect_mp4(media.path, budget)
    assert media.bytes == media.path.stat().st_size
    assert abs(facts.duration - probed_duration(src)) <= 0.2
    assert (facts.width, facts.height) == (media.width, media.height)
    assert len(facts.fps_deltas) == 1  # constant frame rate
    assert facts.audio_rms and facts.audio_rms > 0.001  # the sound survived
    settings = dict(media.details)
    assert settings["encodes"] >= 1 and settings["audio_kbps"] > 0
    # A budget that small gets fewer pixels a second, not a blocky full-rate picture.
    assert facts.width * facts.height * settings["fps"] < 640 * 272 * 25
    check_thumb(thumb.path)
    assert media.path.name == "bikes_short.mp4" and thumb.path.name == "bikes_short.thumb.jpg"
    (block,) = res.attachments
    assert block.to_dict() == {"type": "video", "media_id": "<video_media_id of bikes_short.mp4>",
                               "thumb_media_id": "<thumb_media_id of bikes_short.thumb.jpg>"}
    # Only the two outputs, no temp files left behind.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bikes_short.mp4",
                                                                    "bikes_short.thumb.jpg"]


def test_high_profile_input_under_budget_is_reencoded_main_and_not_larger(copy_of, tmp_path):
    src = copy_of("video/bikes_short.mp4")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media, thumb = media_and_thumb(res)
    inspect_mp4(media.path, 1_000_000)
    assert not media.passed_through
    assert media.bytes <= src.stat().st_size  # never bigger than what came in
    check_thumb(thumb.path)


def test_compliant_mp4_passes_through_byte_identical(copy_of, tmp_path):
    src = copy_of("video/compliant.mp4")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media, thumb = media_and_thumb(res)
    assert media.passed_through
    assert media.path.read_bytes() == src.read_bytes()
    check_thumb(thumb.path)


def test_compliant_mp4_with_title_is_remuxed_without_metadata(copy_of, tmp_path):
    plain = copy_of("video/compliant.mp4")
    src = tmp_path / "tagged.mp4"
    ffmpeg_make("-i", str(plain), "-c", "copy", "-metadata", "title=payload-title",
                "-metadata", "comment=secret-comment", str(src))
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media, _ = media_and_thumb(res)
    assert not media.passed_through and media.details == (("fps", 25.0), ("encodes", 0))
    data = media.path.read_bytes()
    assert b"payload-title" not in data and b"secret-comment" not in data
    facts = inspect_mp4(media.path, 1_000_000)
    assert abs(facts.duration - probed_duration(src)) <= 0.2
    # A lossless remux: the same video packets.
    def packets(p: Path) -> list[bytes]:
        with av.open(str(p)) as c:
            return [bytes(k) for k in c.demux(video=0) if k.size]
    assert packets(media.path) == packets(plain)


# ------------------------------------------------------------------ input kinds

def test_rotated_phone_clip_comes_out_upright_without_matrix(clips, tmp_path):
    info = mediaprep.check(clips["rotated"]).to_dict()
    assert info["facts"]["rotation"] == 270  # 90 counter-clockwise = 270 clockwise
    assert any(v["rule"] == "rotation" for v in info["violations"])
    res = mediaprep.prepare(clips["rotated"], out_dir=tmp_path)
    media, thumb = media_and_thumb(res)
    facts = inspect_mp4(media.path, 1_000_000)
    assert facts.rotation == 0  # no display matrix in the output
    assert facts.height > facts.width  # portrait, as the phone showed it
    with av.open(str(media.path)) as c:
        img = next(c.decode(video=0)).to_image().convert("L")
    w, h = img.size
    left = sum(img.crop((0, 0, w // 2, h)).tobytes()) / (w // 2 * h)
    right = sum(img.crop((w // 2, 0, w, h)).tobytes()) / (w // 2 * h)
    assert left > 200 and right < 50  # the stored top (white) is on the left when upright
    with Image.open(thumb.path) as shown:
        assert shown.height > shown.width
    assert any("rotated upright" in w for w in res.notices)


def test_odd_size_without_audio(clips, tmp_path):
    res = mediaprep.prepare(clips["odd"], out_dir=tmp_path)
    media, thumb = media_and_thumb(res)
    facts = inspect_mp4(media.path, 1_000_000)
    assert facts.width <= 66 and facts.height <= 34 and facts.audio_rms is None
    assert abs(facts.duration - 1.5) <= 0.2
    check_thumb(thumb.path)


def test_takes_the_default_of_two_audio_tracks(clips, tmp_path):
    res = mediaprep.prepare(clips["two_audio"], out_dir=tmp_path)
    media, _ = media_and_thumb(res)
    facts = inspect_mp4(media.path, 1_000_000)
    assert facts.audio_rms is not None and facts.audio_rms > 0.05  # the tone, not the silence
    assert any("default" in w for w in res.warnings)


def test_hdr_10bit_hevc_mov_becomes_8bit_sdr_h264(clips, tmp_path):
    info = mediaprep.check(clips["hdr10"]).to_dict()["facts"]
    assert info["video_codec"] == "hevc"
    res = mediaprep.prepare(clips["hdr10"], out_dir=tmp_path)
    media, thumb = media_and_thumb(res)
    inspect_mp4(media.path, 1_000_000)
    with av.open(str(media.path)) as c:
        cc = c.streams.video[0].codec_context
        assert cc.color_trc != 16  # no longer PQ
    assert any("tone-mapped" in w for w in res.warnings)
    check_thumb(thumb.path)


def test_hdr_with_incomplete_tags_still_converts(clips, tmp_path):
    res = mediaprep.prepare(clips["pq_only"], out_dir=tmp_path)
    media, thumb = media_and_thumb(res)
    inspect_mp4(media.path, 1_000_000)
    assert any("tone mapping failed" in w for w in res.warnings)
    assert not any("tone-mapped" in w for w in res.warnings)
    check_thumb(thumb.path)


def test_variable_frame_rate_with_gap_becomes_constant(clips, tmp_path):
    res = mediaprep.prepare(clips["vfr"], out_dir=tmp_path)
    media, _ = media_and_thumb(res)
    facts = inspect_mp4(media.path, 1_000_000)
    assert len(facts.fps_deltas) == 1
    assert abs(facts.duration - probed_duration(clips["vfr"])) <= 0.2


@pytest.mark.parametrize("name", ["webm", "avi", "3gp"])
def test_other_containers_and_codecs(clips, tmp_path, name):
    res = mediaprep.prepare(clips[name], out_dir=tmp_path)
    media, thumb = media_and_thumb(res)
    facts = inspect_mp4(media.path, 1_000_000)
    assert abs(facts.duration - probed_duration(clips[name])) <= 0.2
    assert facts.audio_rms and facts.audio_rms > 0.01
    assert media.path.suffix == ".mp4"
    check_thumb(thumb.path)


def test_thumb_is_not_the_black_fade_in_frame(clips, tmp_path):
    res = mediaprep.prepare(clips["fade"], out_dir=tmp_path, as_="thumb")
    (thumb,) = res.outputs
    assert thumb.role == "thumb" and res.attachments == ()
    im = check_thumb(thumb.path).convert("L")
    mean = sum(im.tobytes()) / (im.width * im.height)
    assert mean > 60  # testsrc2 at full brightness, not the black start
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fade.thumb.jpg"]
    # The encode picks its thumb during pass 1, from the same decode: same rule.
    res = mediaprep.prepare(clips["fade"], out_dir=tmp_path / "video")
    _, thumb = media_and_thumb(res)
    im = check_thumb(thumb.path).convert("L")
    assert sum(im.tobytes()) / (im.width * im.height) > 60


# ------------------------------------------------------------------ too long: refuse, split, trim

def test_too_long_is_refused_with_a_hint(clips, tmp_path):
    profile = str(small_profile(tmp_path, 20_000))
    with pytest.raises(CannotComply) as err:
        mediaprep.prepare(clips["long"], out_dir=tmp_path / "out", profile=profile)
    assert err.value.exit_code == ExitCode.NOT_COMPLIANT
    assert "--split" in (err.value.hint or "") and "--trim" in (err.value.hint or "")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_split_gives_parts_each_with_thumb_and_block(clips, tmp_path):
    budget = 20_000
    profile = str(small_profile(tmp_path, budget))
    res = mediaprep.prepare(clips["long"], out_dir=tmp_path / "out", profile=profile, split=True)
    media = [o for o in res.outputs if o.slot == "media"]
    thumbs = {o.part: o for o in res.outputs if o.slot == "thumb"}
    assert len(media) >= 2
    total = 0.0
    for i, m in enumerate(media, start=1):
        assert m.part == i and m.path.name == f"long.part{i}.mp4"
        facts = inspect_mp4(m.path, budget)
        total += facts.duration
        check_thumb(thumbs[i].path)
        assert thumbs[i].path.name == f"long.part{i}.thumb.jpg"
    assert abs(total - probed_duration(clips["long"])) <= 0.2 * len(media)
    assert [a.to_dict()["thumb_media_id"] for a in res.attachments] == [
        f"<thumb_media_id of long.part{i}.thumb.jpg>" for i in range(1, len(media) + 1)]
    with pytest.raises(CannotComply):
        mediaprep.prepare(clips["long"], out_dir=tmp_path / "o2", profile=profile, split=True,
                          max_parts=1)


def test_trim_keeps_the_first_seconds(clips, tmp_path):
    res = mediaprep.prepare(clips["long"], out_dir=tmp_path, trim=2.0)
    media, _ = media_and_thumb(res)
    facts = inspect_mp4(media.path, 1_000_000)
    assert abs(facts.duration - 2.0) <= 0.2
    assert any("trimmed" in w for w in res.notices)
    with pytest.raises(UsageError):
        mediaprep.prepare(clips["long"], out_dir=tmp_path, trim=-1.0)


def test_plain_trim_keeps_as_much_as_stays_watchable(clips, tmp_path):
    budget = 20_000
    profile = str(small_profile(tmp_path, budget))
    res = mediaprep.prepare(clips["long"], out_dir=tmp_path / "out", profile=profile, trim=0.0)
    media, _ = media_and_thumb(res)
    facts = inspect_mp4(media.path, budget)
    assert 1.0 < facts.duration < 6.0 - 0.5


def test_header_claiming_hours_is_not_believed(tmp_path, copy_of):
    src = copy_of("video/compliant.mp4", "liar.mp4")
    data = bytearray(src.read_bytes())
    at = data.find(b"mvhd")
    assert data[at + 4] == 0  # version 0: 32-bit timescale and duration
    timescale = int.from_bytes(data[at + 16:at + 20], "big")
    data[at + 20:at + 24] = (10 * 3600 * timescale).to_bytes(4, "big")  # "ten hours"
    src.write_bytes(bytes(data))
    facts = mediaprep.check(src).to_dict()["facts"]
    assert facts["duration_seconds"] < 3
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    media, _ = media_and_thumb(res)
    assert not media.passed_through  # the lie is not copied on
    assert inspect_mp4(media.path, 1_000_000).duration < 3
    assert mvhd_duration(src) > 30_000 and mvhd_duration(media.path) < 3


# ------------------------------------------------------------------ bad input

def test_audio_only_mp4_cannot_be_a_video(clips, tmp_path):
    with pytest.raises(UsageError) as err:
        mediaprep.prepare(clips["audio_only"], out_dir=tmp_path, as_="video")
    assert "voice" in str(err.value)


@pytest.mark.parametrize("text", [
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:10,\nhttp://example.com/a.ts\n#EXT-X-ENDLIST\n",
    "ffconcat version 1.0\nfile '/etc/passwd'\n",
])
def test_playlist_or_concat_script_named_mp4_is_refused(tmp_path, text):
    src = tmp_path / "clip.mp4"
    src.write_text(text)
    with pytest.raises(UnsupportedType) as err:
        mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_video_track_without_frames_is_bad_input(clips, tmp_path):
    for as_ in (None, "thumb"):
        with pytest.raises(BadInput) as err:
            mediaprep.prepare(clips["empty_video"], out_dir=tmp_path / "out", as_=as_)
        assert err.value.exit_code == ExitCode.BAD_INPUT
        assert "no frames" in str(err.value) or "no video frames" in str(err.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_truncated_mp4_without_moov_is_bad_input(clips, tmp_path):
    with pytest.raises(BadInput) as err:
        mediaprep.prepare(clips["truncated"], out_dir=tmp_path / "out")
    assert err.value.exit_code == ExitCode.BAD_INPUT


def _fake_ffmpeg(tmp_path: Path, behaviour: str) -> Path:
    """A stand-in ffmpeg that runs the real one except for x264's second pass."""
    real = ff.get_ffmpeg().path
    script = tmp_path / "fake-ffmpeg"
    script.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" -pass 2 "*) '
        + ("echo 'Segmentation fault' >&2; exit 139;;" if behaviour == "crash" else "sleep 30;;")
        + f' esac\nexec "{real}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.mark.parametrize("behaviour", ["crash", "hang"])
def test_ffmpeg_crash_or_hang_is_tool_failure_without_partial_output(clips, copy_of, tmp_path,
                                                                     monkeypatch, behaviour):
    fake = dataclasses.replace(ff.get_ffmpeg(), path=str(_fake_ffmpeg(tmp_path, behaviour)))
    monkeypatch.setattr(ff, "get_ffmpeg", lambda: fake)
    monkeypatch.setattr(ff, "timeout_for", lambda *a, **k: 4.0)
    src = copy_of("video/bikes_short.mp4")
    out = tmp_path / "out"
    with pytest.raises(ToolFailed) as err:
        mediaprep.prepare(src, out_dir=out)
    assert err.value.exit_code == ExitCode.TOOL_FAILED
    assert list(out.iterdir()) == []  # nothing, not even a .part file


# ------------------------------------------------------------------ the CLI

def test_cli_prints_the_video_block_with_ids(copy_of, tmp_path):
    src = copy_of("video/compliant.mp4")
    result = CliRunner().invoke(cli_main, ["prepare", str(src), "-o", str(tmp_path / "out"),
                                           "--json", "--media-id", "M1",
                                           "--thumb-media-id", "T1"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["attachments"] == [{"type": "video", "media_id": "M1", "thumb_media_id": "T1"}]


def test_cli_too_long_exits_5_with_hint(clips, tmp_path):
    profile = str(small_profile(tmp_path, 20_000))
    result = CliRunner().invoke(cli_main, ["prepare", str(clips["long"]), "-o", str(tmp_path),
                                           "--profile", profile])
    assert result.exit_code == ExitCode.NOT_COMPLIANT
    assert "--split" in result.stderr and result.stderr.count("\n") == 1
