"""4:4:4 for graphics whose colour 4:2:0 would smear (fit/chroma.py)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, JpegImagePlugin

import mediaprep


def _blue_lines(path: Path) -> None:
    """A small white graphic with 1 px pure-blue lines (the case that came out (0, 34, 160))."""
    im = Image.new("RGB", (200, 120), (255, 255, 255))
    draw = ImageDraw.Draw(im)
    for x in range(0, 200, 4):
        draw.line([x, 10, x, 110], fill=(0, 0, 255), width=1)
    im.save(path)


def test_small_saturated_graphic_keeps_its_colour(tmp_path: Path) -> None:
    src = tmp_path / "lines.png"
    _blue_lines(src)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    assert out.bytes <= 128_000
    with Image.open(out.path) as im:
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4
        rgb = im.convert("RGB")
        for x in (0, 40, 196):
            r, g, b = rgb.getpixel((x, 60))
            assert r <= 6 and g <= 6 and b >= 248, (x, (r, g, b))
        assert min(rgb.getpixel((2, 60))) >= 248  # white between the lines stays white


def test_photo_like_picture_stays_420(tmp_path: Path) -> None:
    # Smooth colour (what photos are made of): 4:2:0 costs nothing visible there.
    src = tmp_path / "gradient.png"
    Image.radial_gradient("L").resize((600, 400)).convert("RGB").save(src)
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    with Image.open(out.path) as im:
        assert JpegImagePlugin.get_sampling(im) == 2
