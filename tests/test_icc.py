"""Embedded ICC profiles (fit/icc.py): an sRGB profile is left alone, any other is
converted, whatever the profiles are called; in the fit and in --measure's view.

The profiles are made here from LittleCMS's own sRGB: as it is, and with its red and
blue colorants swapped (still called "sRGB built-in", as the "esRGB" profiles real
files carry are called nearly that)."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image, ImageCms

import mediaprep
from mediaprep.fit import icc
from mediaprep.measure.image import phone_view

RED = (220, 30, 30)


def _srgb_bytes() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _tags(data: bytes) -> dict[bytes, tuple[int, int]]:
    count = struct.unpack(">I", data[128:132])[0]
    entries = (struct.unpack(">4sII", data[132 + 12 * i:144 + 12 * i]) for i in range(count))
    return {sig: (offset, size) for sig, offset, size in entries}


def _swapped_bytes() -> bytes:
    """sRGB with the red and blue colorants exchanged: same name, other colours."""
    data = bytearray(_srgb_bytes())
    tags = _tags(bytes(data))
    (r_at, r_size), (b_at, b_size) = tags[b"rXYZ"], tags[b"bXYZ"]
    red, blue = bytes(data[r_at:r_at + r_size]), bytes(data[b_at:b_at + b_size])
    data[r_at:r_at + r_size], data[b_at:b_at + b_size] = blue, red
    return bytes(data)


def _tagged_jpeg(path: Path, profile: bytes) -> Path:
    im = Image.new("RGB", (400, 300), (250, 250, 250))
    im.paste(RED, (50, 50, 350, 250))
    im.save(path, quality=95, icc_profile=profile)
    return path


def _centre(path: Path) -> tuple[int, ...]:
    with Image.open(path) as im:
        px = im.convert("RGB").getpixel((im.width // 2, im.height // 2))
    assert isinstance(px, tuple)
    return px


def test_srgb_profile_counts_as_srgb_and_a_renamed_other_does_not() -> None:
    swapped = _swapped_bytes()
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(swapped))).strip() == "sRGB built-in"
    assert icc.is_srgb(_srgb_bytes())
    assert not icc.is_srgb(swapped)
    with pytest.raises(icc.ERRORS):
        icc.is_srgb(b"not a profile at all")


def test_fit_leaves_srgb_alone_and_converts_a_profile_named_srgb_that_is_not(tmp_path: Path) -> None:
    plain = mediaprep.prepare(_tagged_jpeg(tmp_path / "srgb.jpg", _srgb_bytes()), out_dir=tmp_path / "a")
    other = mediaprep.prepare(_tagged_jpeg(tmp_path / "swapped.jpg", _swapped_bytes()), out_dir=tmp_path / "b")
    r, g, b = _centre(plain.outputs[0].path)
    assert abs(r - RED[0]) <= 6 and abs(g - RED[1]) <= 6 and abs(b - RED[2]) <= 6  # as it was
    r, g, b = _centre(other.outputs[0].path)
    assert b > r + 100, (r, g, b)  # red, in a profile whose red is blue, is shown blue
    assert not plain.warnings and not other.warnings


def test_broken_profile_is_a_warning_and_the_pixels_as_they_are(tmp_path: Path) -> None:
    broken = _srgb_bytes()[:200]
    res = mediaprep.prepare(_tagged_jpeg(tmp_path / "broken.jpg", broken), out_dir=tmp_path / "out")
    assert any("colour profile is broken" in w for w in res.warnings)
    r, g, b = _centre(res.outputs[0].path)
    assert r > 200 and g < 60 and b < 60


@pytest.mark.parametrize("profile, blue", [(_srgb_bytes(), False), (_swapped_bytes(), True)])
def test_phone_view_converts_only_what_is_not_srgb(tmp_path: Path, profile: bytes, blue: bool) -> None:
    with Image.open(_tagged_jpeg(tmp_path / "in.jpg", profile)) as im:
        im.load()
        plain = im.convert("RGB")
        view = phone_view(im, side=400)
    if blue:
        px = view.getpixel((200, 150))
        assert isinstance(px, tuple) and px[2] > px[0] + 100
    else:
        assert view.tobytes() == plain.tobytes()  # the very pixels: nothing converted


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_conversion_in_bands_is_the_one_call(mode: str) -> None:
    """On two threads, in bands of rows of odd heights: the very bytes of one call."""
    from concurrent.futures import ThreadPoolExecutor

    im = Image.radial_gradient("L").resize((301, 203)).convert(mode)
    im.paste((20, 200, 90), (30, 40, 250, 150))
    profile = _swapped_bytes()
    alone = icc.convert(im, profile, mode)
    with ThreadPoolExecutor(2) as pool:
        banded = icc.convert(im, profile, mode, pool)
    assert banded.mode == alone.mode == mode
    assert banded.tobytes() == alone.tobytes()
    assert banded.tobytes() != im.tobytes()  # it was converted
