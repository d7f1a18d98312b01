"""Regressions of the image decode (fit/image_decode.py) on files made here that
reproduce what real files did: an orientation only ImageMagick's text chunk or XMP
carries, a colour key (tRNS) on an RGB or grey PNG, 32-bit integer and float TIFFs,
a JPEG with padding between its segments. Every output decoded and looked at."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

import mediaprep


def _prepared(src: Path, tmp_path: Path) -> Image.Image:
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    with Image.open(res.outputs[0].path) as im:
        assert im.format == "JPEG"
        return im.convert("RGB")


def _marked() -> Image.Image:
    """White, with a red block in the top-left corner: shows any turn."""
    im = Image.new("RGB", (60, 40), (255, 255, 255))
    im.paste((255, 0, 0), (0, 0, 20, 20))
    return im


def _orientation_3_exif() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 3
    return exif.tobytes()


def _raw_profile_png(path: Path) -> None:
    """The EXIF as ImageMagick writes it into a PNG: hex in a compressed text chunk."""
    exif = _orientation_3_exif()
    hexed = exif.hex()
    text = f"\nexif\n{len(exif):8d}\n" + "\n".join(hexed[i:i + 72] for i in range(0, len(hexed), 72)) + "\n"
    info = PngImagePlugin.PngInfo()
    info.add_text("Raw profile type exif", text, zip=True)
    _marked().save(path, pnginfo=info)


def _xmp_png(path: Path) -> None:
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="3"/></rdf:RDF>'
           '</x:xmpmeta>')
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp, zip=True)
    _marked().save(path, pnginfo=info)


def _exif_chunk_after_image_png(path: Path) -> None:
    buf = io.BytesIO()
    _marked().save(buf, "PNG")
    data = buf.getvalue()
    exif = _orientation_3_exif()[6:]  # the chunk holds the TIFF structure alone
    import zlib

    chunk = struct.pack(">I", len(exif)) + b"eXIf" + exif + struct.pack(">I", zlib.crc32(b"eXIf" + exif))
    iend = data.rfind(b"IEND") - 4
    path.write_bytes(data[:iend] + chunk + data[iend:])


@pytest.mark.parametrize("make", [_raw_profile_png, _xmp_png, _exif_chunk_after_image_png])
def test_png_orientation_is_applied_wherever_it_is_stored(tmp_path: Path, make) -> None:
    src = tmp_path / "turned.png"
    make(src)
    assert dict(mediaprep.check(src).facts)["orientation"] == 3
    out = _prepared(src, tmp_path)
    assert out.size == (60, 40)
    # Orientation 3 is a half turn: the red block is now bottom-right.
    assert out.getpixel((55, 35))[0] > 200 and out.getpixel((55, 35))[1] < 60
    assert min(out.getpixel((5, 5))) > 240


@pytest.mark.parametrize("mode, fill, key", [("RGB", (0, 255, 0), (0, 255, 0)), ("L", 100, 100)])
def test_png_colour_key_becomes_white_like_alpha(tmp_path: Path, mode: str, fill: object, key: object) -> None:
    im = Image.new(mode, (60, 40), fill)  # type: ignore[arg-type]
    im.paste((200, 0, 0) if mode == "RGB" else 30, (0, 0, 20, 20))
    src = tmp_path / "keyed.png"
    im.save(src, transparency=key)
    out = _prepared(src, tmp_path)
    assert min(out.getpixel((50, 30))) > 245  # the key colour is transparent: white
    kept = out.getpixel((5, 5))
    assert (kept[0] > 180 and kept[1] < 40) if mode == "RGB" else max(kept) < 50


def test_32_bit_integer_tiff_is_scaled_not_posterised(tmp_path: Path) -> None:
    ramp = np.linspace(0, 2**31 - 1, 256 * 32).reshape(32, 256).astype(np.int32)
    src = tmp_path / "deep.tif"
    Image.fromarray(ramp).save(src)
    grey = np.asarray(_prepared(src, tmp_path).convert("L"))
    assert grey.min() < 5 and grey.max() > 250
    assert len(np.unique(grey)) > 200  # a smooth ramp, not two levels


def test_float_tiff_is_scaled(tmp_path: Path) -> None:
    ramp = np.linspace(0, 1, 256 * 32).reshape(32, 256).astype(np.float32)
    src = tmp_path / "float.tif"
    Image.fromarray(ramp).save(src)
    grey = np.asarray(_prepared(src, tmp_path).convert("L"))
    assert grey.min() < 5 and grey.max() > 250 and len(np.unique(grey)) > 200


def test_jpeg_with_padding_between_segments_is_prepared(tmp_path: Path) -> None:
    buf = io.BytesIO()
    _marked().save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    # Stray zero bytes after the JFIF segment, as some editors leave them.
    app0_end = 4 + int.from_bytes(data[4:6], "big")
    src = tmp_path / "padded.jpg"
    src.write_bytes(data[:app0_end] + b"\0" * 32 + data[app0_end:])
    report = mediaprep.check(src)
    assert report.complies  # a clean baseline JPEG; the padding is not an extra
    out = _prepared(src, tmp_path)
    assert out.getpixel((5, 5))[0] > 200 and min(out.getpixel((55, 35))) > 240


def _baseline_jpeg() -> bytes:
    buf = io.BytesIO()
    _marked().save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _progressive_jpeg() -> bytes:
    buf = io.BytesIO()
    _marked().save(buf, "JPEG", quality=90, progressive=True)
    return buf.getvalue()


def _extended_jpeg() -> bytes:
    # SOF1 (extended sequential, Huffman, 8-bit) with baseline's tables: the same
    # entropy-coded data under another frame marker, as some cameras write.
    data = _baseline_jpeg()
    at = data.index(b"\xff\xc0")
    return data[:at] + b"\xff\xc1" + data[at + 2:]


@pytest.mark.parametrize("make, process", [(_progressive_jpeg, "progressive"), (_extended_jpeg, "extended")])
def test_only_baseline_jpeg_complies_in_check_and_prepare(tmp_path: Path, make, process: str) -> None:
    src = tmp_path / f"{process}.jpg"
    src.write_bytes(make())
    report = mediaprep.check(src)
    assert [str(v) for v in report.violations] == [f"encoding: {process} JPEG (limit: baseline JPEG)"]
    assert dict(report.facts)["jpeg_process"] == process
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    assert not out.passed_through
    data = out.path.read_bytes()
    assert b"\xff\xc0" in data and b"\xff\xc1" not in data and b"\xff\xc2" not in data
    assert mediaprep.check(out.path).complies
    with Image.open(out.path) as im:
        assert im.convert("RGB").getpixel((5, 5))[0] > 200


def test_baseline_jpeg_still_passes_through(tmp_path: Path) -> None:
    src = tmp_path / "plain.jpg"
    src.write_bytes(_baseline_jpeg())
    assert dict(mediaprep.check(src).facts)["jpeg_process"] == "baseline"
    (out,) = mediaprep.prepare(src, out_dir=tmp_path / "out").outputs
    assert out.passed_through and out.path.read_bytes() == src.read_bytes()
