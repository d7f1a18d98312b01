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


def _grey_bytes() -> bytes:
    """A grey ICC profile (gamma 2.2), made by hand: LittleCMS makes none through Pillow."""
    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + bytes(4) + struct.pack(">iii", *(round(v * 65536) for v in (x, y, z)))

    text = b"Grey gamma 2.2\0"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    tags = [(b"desc", desc), (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"kTRC", curve), (b"cprt", b"text\0\0\0\0none\0")]
    tags = [(sig, data + bytes(-len(data) % 4)) for sig, data in tags]
    first = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        table += struct.pack(">4sII", sig, first + len(body), len(data))
        body += data
    header = (struct.pack(">I4sI4s4s4s", first + len(body), b"lcms", 0x02100000, b"mntr", b"GRAY", b"XYZ ")
              + bytes(12) + b"acsp" + bytes(28) + struct.pack(">iii", 63190, 65536, 54061) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + body


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


def test_grey_picture_with_alpha_and_a_grey_profile_is_no_broken_profile(tmp_path: Path) -> None:
    """Grey stays grey, with or without alpha (it was turned RGBA and its grey profile
    applied to colour, which LittleCMS refused: a false "profile is broken")."""
    grey = _grey_bytes()
    assert ImageCms.ImageCmsProfile(io.BytesIO(grey)).profile.xcolor_space.strip() == "GRAY"
    src = tmp_path / "grey.png"
    im = Image.new("LA", (300, 200), (90, 255))
    im.paste((200, 128), (0, 0, 100, 200))  # half-transparent light band
    im.save(src, icc_profile=grey)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert not res.warnings
    with Image.open(res.outputs[0].path) as out:
        px = out.convert("RGB").getpixel((250, 100))
    assert isinstance(px, tuple)
    assert max(px) - min(px) <= 1 and abs(px[0] - 90) <= 3, px  # the opaque grey, still grey


def test_phone_view_does_not_convert_with_an_srgb_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 75 ms a 4 MP view spent converting for nothing: an sRGB profile never reaches LittleCMS's
    conversion (a wide-gamut one does)."""
    calls: list[str] = []
    real = icc.convert
    monkeypatch.setattr(icc, "convert", lambda im, *a, **k: calls.append(im.mode) or real(im, *a, **k))
    for name, profile in (("srgb", _srgb_bytes()), ("swapped", _swapped_bytes())):
        with Image.open(_tagged_jpeg(tmp_path / f"{name}.jpg", profile)) as im:
            im.load()
            phone_view(im, side=400)
    assert calls == ["RGB"]  # the swapped profile's picture only
