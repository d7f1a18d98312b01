"""video_detail.kept_detail is pure: pictures in, numbers out (no ffmpeg)."""
from __future__ import annotations

from PIL import Image, ImageFilter

from mediaprep.fit.video_detail import kept_detail
from mediaprep.fit.video_plan import detail_cap


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
