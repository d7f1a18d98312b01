#!/usr/bin/env python3
"""Regenerate the small test media in testdata/ (deterministic).

Real photographs come from Debian's mate-backgrounds package (GPL-2+/CC-BY-SA,
see /usr/share/doc/mate-backgrounds/copyright): `apt-get install mate-backgrounds`.
Synthetic edge cases are drawn here. Run: python testdata/make_testdata.py
"""
from __future__ import annotations

import io
import struct
import sys
import zlib
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
MATE = Path("/usr/share/backgrounds/mate/nature")


def exif_bytes(orientation: int, gps: bool) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "TestCam"
    if gps:
        # GPS IFD: latitude 48 deg 51' N (the payload that must never leak)
        exif.get_ifd(0x8825).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    return exif.tobytes()


def real(name: str, long_side: int) -> Image.Image:
    src = MATE / name
    if not src.exists():
        sys.exit(f"{src} is missing: apt-get install mate-backgrounds")
    im = Image.open(src).convert("RGB")
    im.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return im


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    # A real photo as a phone stores it: big-ish, EXIF orientation 6 (stored
    # sideways), GPS position, a comment. Over the 128,000-byte budget.
    photo = real("Garden.jpg", 1800).transpose(Image.Transpose.ROTATE_90)  # stored sideways
    photo.save(IMAGES / "photo_rotated_gps.jpg", quality=88, exif=exif_bytes(6, gps=True),
               comment=b"holiday")
    # A real photo as PNG (lossless, large for its pixels).
    real("LadyBird.jpg", 700).save(IMAGES / "ladybird.png", optimize=True)
    # Already compliant, nothing but the picture: must pass through byte-identical.
    real("Dune.jpg", 640).save(IMAGES / "compliant.jpg", quality=80)
    # Compliant in size but carrying EXIF+GPS, a comment and bytes after EOI.
    buf = io.BytesIO()
    real("Aqua.jpg", 640).save(buf, "JPEG", quality=80, exif=exif_bytes(1, gps=True), comment=b"secret")
    (IMAGES / "compliant_with_metadata.jpg").write_bytes(buf.getvalue() + b"PK\x03\x04appended-zip")
    # CMYK JPEG, grey JPEG, 16-bit grey PNG, RGBA PNG, palette PNG with transparency,
    # animated GIF.
    real("Storm.jpg", 500).convert("CMYK").save(IMAGES / "cmyk.jpg", quality=90)
    real("Wood.jpg", 500).convert("L").save(IMAGES / "grey.jpg", quality=90)
    grad = Image.linear_gradient("L").resize((300, 200))
    Image.frombytes("I;16", grad.size,
                    b"".join(struct.pack("<H", v * 257) for v in grad.getdata())).save(IMAGES / "grey16.png")
    rgba = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    d = ImageDraw.Draw(rgba)
    d.ellipse((50, 50, 350, 250), fill=(200, 30, 30, 255))
    rgba.save(IMAGES / "transparent.png")
    rgba.convert("P").save(IMAGES / "palette.png", transparency=0)
    frames = [Image.new("RGB", (160, 120), (40 * i, 255 - 40 * i, 80)) for i in range(5)]
    frames[0].save(IMAGES / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    # A PNG whose header claims 100000 x 100000 pixels (a decompression bomb header).
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
    (IMAGES / "bomb_header.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                                             + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
                                             + chunk(b"IEND", b""))
    for p in sorted(IMAGES.iterdir()):
        print(f"{p.relative_to(HERE)}: {p.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
