"""The image path, end to end, on real photos and synthetic edge cases."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from PIL import Image, JpegImagePlugin

import mediaprep
from mediaprep.errors import CannotComply, ExitCode, LimitExceeded, UnsupportedType


def _jpeg_facts(path: Path) -> Image.Image:
    im = Image.open(path)
    assert im.format == "JPEG"
    assert not im.info.get("progressive") and not im.info.get("progression"), "must be baseline"
    # 4:2:0, greyscale, or 4:4:4 (graphics with fine saturated colour: fit/chroma.py)
    assert JpegImagePlugin.get_sampling(im) in (2, -1, 0)
    im.load()  # the pixels, read now: Pillow then closes the file it opened
    return im


def test_real_photo_fits_budget_upright_without_gps(copy_of, tmp_path):
    src = copy_of("images/photo_rotated_gps.jpg")
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before  # input untouched
    (out,) = res.outputs
    assert out.bytes == out.path.stat().st_size <= 128_000
    assert out.path.suffix == ".jpg"
    im = _jpeg_facts(out.path)
    # Stored 1125x1800 with orientation 6: shown as landscape, so the output is landscape.
    assert im.width > im.height
    exif = im.getexif()
    assert 0x8825 not in exif and 0x0112 not in exif  # no GPS, no orientation tag
    assert b"48" not in im.info.get("exif", b"")
    assert res.attachments[0].to_dict() == {"type": "image", "media_id": f"<image_media_id of {out.path.name}>"}
    assert any("GPS" in w for w in res.notices)


def test_compliant_clean_jpeg_passes_through_byte_identical(copy_of, tmp_path):
    src = copy_of("images/compliant.jpg")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    assert out.passed_through
    assert out.path.read_bytes() == src.read_bytes()


def test_compliant_jpeg_with_metadata_is_stripped_losslessly(copy_of, tmp_path):
    src = copy_of("images/compliant_with_metadata.jpg")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    data = out.path.read_bytes()
    assert not out.passed_through and len(data) < src.stat().st_size
    assert b"secret" not in data and b"appended-zip" not in data and data.endswith(b"\xff\xd9")
    a, b = Image.open(src), Image.open(out.path)
    assert a.tobytes() == b.tobytes()  # pixels untouched
    assert not b.getexif()


@pytest.mark.parametrize("name", ["ladybird.png", "cmyk.jpg", "grey.jpg", "grey16.png",
                                  "transparent.png", "palette.png", "animated.gif"])
def test_every_mode_becomes_rgb_baseline_jpeg(copy_of, tmp_path, name):
    src = copy_of(f"images/{name}")
    res = mediaprep.prepare(src, out_dir=tmp_path)
    (out,) = res.outputs
    im = _jpeg_facts(out.path)
    assert out.bytes <= 128_000
    assert im.mode in ("RGB", "L")
    assert (out.width, out.height) == im.size
    with Image.open(src) as src_im:
        assert im.size == src_im.size  # small inputs keep their size
    if name == "transparent.png":
        assert im.convert("RGB").getpixel((5, 5)) >= (250, 250, 250)  # flattened on white
        r, g, b = im.convert("RGB").getpixel((200, 150))
        assert r > 150 and g < 80
    if name == "grey16.png":
        # 16-bit grey scaled, not clipped: the gradient still spans dark to light.
        lo, hi = im.convert("L").getextrema()
        assert lo < 20 and hi > 235
    if name == "animated.gif":
        assert any("first frame" in w for w in res.warnings)


def test_thumb_budget(copy_of, tmp_path):
    src = copy_of("images/photo_rotated_gps.jpg")
    res = mediaprep.prepare(src, out_dir=tmp_path, as_="thumb")
    (out,) = res.outputs
    assert out.role == "thumb" and out.bytes <= 64_000
    _jpeg_facts(out.path)
    assert res.attachments == ()


def test_bomb_header_refused_before_decoding(copy_of, tmp_path):
    src = copy_of("images/bomb_header.png")
    with pytest.raises(LimitExceeded) as err:
        mediaprep.prepare(src, out_dir=tmp_path)
    assert err.value.exit_code == ExitCode.BAD_INPUT
    assert list(tmp_path.glob("*.jpg")) == []


def test_budget_too_small_refuses_and_writes_nothing(copy_of, tmp_path):
    profile = tmp_path / "tiny.toml"
    profile.write_text('name = "tiny"\n[image]\nmax_bytes = 300\nformats = ["jpeg"]\n')
    src = copy_of("images/ladybird.png")
    with pytest.raises(CannotComply) as err:
        mediaprep.prepare(src, out_dir=tmp_path / "out", profile=str(profile))
    assert err.value.exit_code == ExitCode.NOT_COMPLIANT
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"<html><body>hi</body></html>\n", b"%PDF-1.4\n%\xe2\xe3\n",
                                     b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
                                     b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>\n'])
def test_non_media_named_jpg_is_refused_by_content(tmp_path, content):
    src = tmp_path / "photo.jpg"
    src.write_bytes(content)
    with pytest.raises(UnsupportedType):
        mediaprep.prepare(src, out_dir=tmp_path / "out")


def test_truncated_jpeg_is_bad_input(copy_of, tmp_path):
    src = copy_of("images/photo_rotated_gps.jpg", "cut.jpg")
    data = src.read_bytes()
    src.write_bytes(data[: len(data) // 3])
    with pytest.raises(mediaprep.BadInput):
        mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert not any((tmp_path / "out").glob("*.jpg"))


def test_check_report_lists_violations(copy_of):
    report = mediaprep.check(copy_of("images/ladybird.png"))
    assert not report.complies
    rules = {v.rule: v for v in report.violations}
    assert rules["format"].actual == "PNG" and rules["format"].limit == "JPEG"
    assert rules["bytes"].limit == "128,000 bytes"
    assert mediaprep.check(copy_of("images/ladybird.png"), profile="wechat-oa").complies


def test_output_written_atomically_with_normal_permissions(copy_of, tmp_path):
    import os

    src = copy_of("images/ladybird.png")
    out_dir = tmp_path / "out"
    res = mediaprep.prepare(src, out_dir=out_dir)
    (out,) = res.outputs
    mask = os.umask(0)
    os.umask(mask)
    assert out.path.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in out_dir.iterdir()] == [out.path.name]  # no temp file left
