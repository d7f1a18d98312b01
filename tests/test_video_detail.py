"""video_detail: kept_detail and inter_bpp are pure (no ffmpeg); sample runs ffmpeg
on the real clips in testdata/."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFilter

from mediaprep.fit.video_detail import Sampled, inter_bpp, kept_detail, sample
from mediaprep.fit.video_plan import cost_factor, detail_cap
from mediaprep.preflight.probe import open_media, probe_av
from mediaprep.preflight.sniff import sniff
from mediaprep.profiles import SafetyLimits


def _sharp() -> Image.Image:
    # Fine noise: every halving of the size loses some of it.
    return Image.effect_noise((1280, 720), 60).convert("L")


def test_a_sharp_frame_loses_detail_at_every_smaller_size():
    kept = kept_detail([_sharp()], (720, 540, 360, 240))
    assert kept[720] == 99.0  # no smaller: nothing lost
    assert kept[540] > kept[360] > kept[240]
    assert detail_cap(kept) == 720


def test_an_upscaled_frame_keeps_its_picture_small():
    soft = _sharp().resize((426, 240), Image.Resampling.LANCZOS).resize((1280, 720), Image.Resampling.BICUBIC)
    soft = soft.filter(ImageFilter.GaussianBlur(1.5))
    kept = kept_detail([soft], (540, 360, 240))
    assert detail_cap(kept) is not None and detail_cap(kept) <= 360


def test_the_most_detailed_frame_decides():
    soft, sharp = Image.new("L", (1280, 720), 128), _sharp()
    assert kept_detail([soft, sharp], (360,)) == kept_detail([sharp], (360,))


def test_inter_bpp_counts_only_the_predicted_frames():
    listing = """#tb 0: 1/30
#media_type 0: video
0,         -2,          0,        1,     3982, 0x6be9328b, S=1, Quality stats,        8, 0x066600cf
0,         -1,          4,        1,     1316, 0x2f787cf8, F=0x0, S=1, Quality stats,        8, 0x066a00d0
0,          0,          2,        1,      684, 0x47531dcd, F=0x0, S=1, Quality stats,        8, 0x066e00d1
"""
    assert inter_bpp(listing, 1000) == (1316 + 684) * 8 / (2 * 1000)
    assert inter_bpp("#tb 0: 1/30\n", 1000) is None


def _sample(path: Path, tmp: Path) -> Sampled:
    sniffed = sniff(path)
    info = probe_av(sniffed, SafetyLimits())
    assert info.default_video is not None
    with open_media(sniffed) as media:
        keyframes = media.keyframe_times(info.default_video.index, info.duration)
    return sample(sniffed, info, 0.0, info.duration, keyframes, 10**8, 60.0, tmp)


def test_street_footage_costs_more_than_animation(testdata, tmp_path):
    # Real clips: 4 s of the bikes street scene (3 keyframes), 2 s of Big Buck Bunny.
    street = _sample(testdata / "video" / "bikes_short.mp4", tmp_path)
    cartoon = _sample(testdata / "video" / "compliant.mp4", tmp_path)
    assert len(street.frames) == 3 and len(cartoon.frames) == 1
    assert street.frames[0].size == (640, 272)  # never scaled up
    assert street.inter_bpp is not None and cartoon.inter_bpp is not None
    assert street.inter_bpp > 2 * cartoon.inter_bpp
    assert cost_factor(street.inter_bpp) > 1.5 and cost_factor(cartoon.inter_bpp) == 1.0
