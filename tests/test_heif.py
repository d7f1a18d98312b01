"""HEIC (pillow-heif) and AVIF (Pillow's plugin) through sniff, check and prepare:
every output decoded and looked at (size, orientation, colours), the same
guarantees as every other image format."""
from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageOps, JpegImagePlugin

import mediaprep
from mediaprep.batching.walk import MEDIA_EXTENSIONS, kind_from_name
from mediaprep.errors import LimitExceeded
from mediaprep.preflight.sniff import sniff

pillow_heif.register_heif_opener()

RED, BLUE, GREEN, WHITE = (230, 20, 20), (20, 20, 230), (20, 200, 20), (255, 255, 255)


def _picture() -> Image.Image:
    """Four quadrants (red, blue / green, white): any turn or flip moves them."""
    im = Image.new("RGB", (96, 64), WHITE)
    im.paste(RED, (0, 0, 48, 32))
    im.paste(BLUE, (48, 0, 96, 32))
    im.paste(GREEN, (0, 32, 48, 64))
    return im


def _jpeg(path: Path) -> Image.Image:
    with Image.open(path) as im:
        assert im.format == "JPEG" and not im.info.get("progressive")
        assert JpegImagePlugin.get_sampling(im) in (0, 2)  # 4:2:0, or 4:4:4 for saturated graphics
        assert not im.getexif() and "icc_profile" not in im.info
        im.load()
        return im.convert("RGB")


def _near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def _quadrants(im: Image.Image) -> list[tuple[int, ...]]:
    w, h = im.size
    return [im.getpixel((x, y)) for x, y in ((w // 4, h // 4), (3 * w // 4, h // 4),
                                             (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4))]


@pytest.mark.parametrize("fmt, ext", [("HEIF", "heic"), ("AVIF", "avif")])
def test_prepared_as_a_baseline_jpeg_with_its_colours(tmp_path: Path, fmt: str, ext: str) -> None:
    src = tmp_path / f"photo.{ext}"
    _picture().save(src, fmt, quality=90)
    sniffed = sniff(src)
    assert (sniffed.format, sniffed.pillow, sniffed.warnings) == (ext, fmt, ())
    report = mediaprep.check(src)
    assert not report.complies and [v.rule for v in report.violations] == ["format"]
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    assert out.path.name == "photo.jpg" and out.bytes <= 128_000
    im = _jpeg(out.path)
    assert im.size == (96, 64) == (out.width, out.height)
    for got, want in zip(_quadrants(im), (RED, BLUE, GREEN, WHITE), strict=True):
        assert _near(got, want), (got, want)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", ["HEIF", "AVIF"])
def test_container_rotation_and_mirroring_are_applied(tmp_path: Path, fmt: str, orientation: int) -> None:
    # Both encoders store the orientation as irot/imir boxes, the way phones do (the
    # EXIF tag, if any, is only informative in HEIF): the output must be upright,
    # exactly as the EXIF-oriented original would be shown.
    exif = Image.Exif()
    exif[0x0112] = orientation
    src = tmp_path / f"turned{orientation}.{fmt.lower()}"
    _picture().save(src, fmt, quality=90, exif=exif.tobytes())
    shown = ImageOps.exif_transpose(_with_exif(_picture(), exif))
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    im = _jpeg(out.path)
    assert im.size == shown.size
    for got, want in zip(_quadrants(im), _quadrants(shown), strict=True):
        assert _near(got, want), (orientation, got, want)


def _with_exif(im: Image.Image, exif: Image.Exif) -> Image.Image:
    im.info["exif"] = exif.tobytes()
    return im


def test_gps_xmp_and_all_metadata_dropped(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)
    exif[0x010F] = "PhoneMaker"
    src = tmp_path / "IMG_0001.HEIC"
    _picture().save(src, "HEIF", quality=90, exif=exif.tobytes(), xmp=b"<x:xmpmeta>secret-xmp</x:xmpmeta>")
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert "GPS location removed" in res.notices
    data = res.outputs[0].path.read_bytes()
    assert b"secret-xmp" not in data and b"PhoneMaker" not in data and b"Exif" not in data


def test_grid_heic_is_put_together(tmp_path: Path) -> None:
    src = tmp_path / "grid.heic"
    _picture().resize((960, 640), Image.Resampling.NEAREST).save(src, "HEIF", quality=90, tile_size=256)
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    im = _jpeg(out.path)
    assert im.size == (960, 640)
    for got, want in zip(_quadrants(im), (RED, BLUE, GREEN, WHITE), strict=True):
        assert _near(got, want)


def test_alpha_is_flattened_on_white(tmp_path: Path) -> None:
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    im.paste((200, 0, 0, 255), (0, 0, 32, 64))
    src = tmp_path / "cutout.heic"
    im.save(src, "HEIF", quality=95)
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    got = _jpeg(out.path)
    assert _near(got.getpixel((16, 32)), (200, 0, 0), 16)
    assert _near(got.getpixel((48, 32)), WHITE, 6)


def _heic_16bit(path: Path, value: tuple[int, int, int], size: tuple[int, int], **nclx: int) -> None:
    """A 10-bit HEIC of one colour (10-bit code values), with the given nclx code points."""
    pixel = struct.pack("<HHH", *(v << 6 for v in value))
    image = pillow_heif.from_bytes(mode="RGB;16", size=size, data=pixel * (size[0] * size[1]))
    image.save(path, quality=95, full_range_flag=1, matrix_coefficients=9, **nclx)


def _pq_code(nits: float) -> int:
    """SMPTE ST 2084 inverse EOTF, as a 10-bit code (written out here, independently of the code)."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    y = (nits / 10000) ** m1
    return round(((c1 + c2 * y) / (1 + c3 * y)) ** m2 * 1023)


def test_hdr_pq_heic_is_tone_mapped_to_sdr(tmp_path: Path) -> None:
    # Reference white (203 nits, BT.2408) must come out white, not the grey of its code value.
    white, dark = tmp_path / "white.heic", tmp_path / "dark.heic"
    code = _pq_code(203)
    assert 560 < code < 620  # ~58% of the range: shown as mid-grey if taken as sRGB
    _heic_16bit(white, (code, code, code), (64, 32), color_primaries=9, transfer_characteristics=16)
    dim = _pq_code(5)
    _heic_16bit(dark, (dim, dim, dim), (64, 32), color_primaries=9, transfer_characteristics=16)
    res = mediaprep.prepare(white, out_dir=tmp_path / "out")
    assert any("HDR (PQ) tone-mapped" in w for w in res.warnings)
    lum = _jpeg(res.outputs[0].path).convert("L").getpixel((32, 16))
    assert lum >= 235, lum
    lum_dark = _jpeg(mediaprep.prepare(dark, out_dir=tmp_path / "out").outputs[0].path).convert("L").getpixel((32, 16))
    assert lum_dark < 110, lum_dark


def test_display_p3_code_points_become_srgb(tmp_path: Path) -> None:
    # Published Display P3 -> sRGB matrix (linear light), applied here by hand.
    p3_to_srgb = ((1.2249, -0.2247, 0.0), (-0.0420, 1.0419, 0.0), (-0.0197, -0.0786, 1.0979))

    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def enc(v: float) -> int:
        v = min(max(v, 0.0), 1.0)
        return round(255 * (v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055))

    coded = (200, 120, 90)
    linear = [lin(c / 255) for c in coded]
    want = tuple(enc(sum(m * c for m, c in zip(row, linear, strict=True))) for row in p3_to_srgb)
    src = tmp_path / "p3.heic"
    _heic_16bit(src, tuple(c * 1023 // 255 for c in coded), (64, 32),  # type: ignore[arg-type]
                color_primaries=12, transfer_characteristics=13)
    got = _jpeg(mediaprep.prepare(src, out_dir=tmp_path / "out").outputs[0].path).getpixel((32, 16))
    assert _near(got, want, 5), (got, want)
    assert not _near(got, coded, 5)  # it was converted, not passed on as it was coded


def test_ten_bit_sdr_heic_keeps_its_levels(tmp_path: Path) -> None:
    src = tmp_path / "tenbit.heic"
    _heic_16bit(src, (512, 256, 768), (64, 32), color_primaries=1, transfer_characteristics=13)
    info = dict(mediaprep.check(src).facts)
    assert info["format"] == "heic"
    got = _jpeg(mediaprep.prepare(src, out_dir=tmp_path / "out").outputs[0].path).getpixel((32, 16))
    assert _near(got, (128, 64, 191), 5), got


def test_heic_named_jpg_goes_by_content(tmp_path: Path) -> None:
    src = tmp_path / "holiday.jpg"
    _picture().save(src, "HEIF", quality=80)
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert any("does not match the content (heic" in w for w in res.warnings)
    assert _jpeg(res.outputs[0].path).size == (96, 64)


def test_huge_declared_size_is_refused_before_decoding(tmp_path: Path) -> None:
    data = bytearray(_encode_heic(_picture()))
    at = data.find(b"ispe")
    data[at + 8:at + 16] = struct.pack(">II", 50_000, 50_000)
    src = tmp_path / "huge.heic"
    src.write_bytes(bytes(data))
    with pytest.raises(LimitExceeded, match="50000x50000"):
        mediaprep.check(src)


def _encode_heic(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "HEIF", quality=80)
    return buf.getvalue()


def test_batch_counts_heic_and_avif_as_media() -> None:
    for ext in (".heic", ".heif", ".hif", ".avif"):
        assert ext in MEDIA_EXTENSIONS
        assert kind_from_name(Path("x" + ext)) == "image"


def test_check_json_facts(tmp_path: Path) -> None:
    src = tmp_path / "a.avif"
    _picture().save(src, "AVIF", quality=80)
    facts = mediaprep.check(src).to_dict()["facts"]
    assert json.loads(json.dumps(facts))["format"] == "avif"
    assert (facts["width"], facts["height"], facts["frames"]) == (96, 64, 1)
