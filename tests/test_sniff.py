"""mediaprep/preflight/sniff.py on real bytes: every allowed format made here (Pillow
for images, the bundled ffmpeg for audio and video) or taken from testdata/; the
content decides and the extension only warns; text, markup, documents, playlists
and empty files are refused with exit 4 and a hint; FIFOs, devices, sockets and
folders are refused without ever being opened (each such call runs under a timeout).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import threading
from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mediaprep.errors import BadInput, ExitCode, MediaprepError, UnsupportedType
from mediaprep.model import KINDS
from mediaprep.preflight import sniff as sniff_module
from mediaprep.preflight.sniff import _REFUSAL_HINTS, ALLOWED, HEAD_BYTES, Sniffed, refusal_hint, sniff
from mediaprep.tools.heif import register as register_heif

register_heif()

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"

# extension -> (Pillow format, canonical format, Pillow plugin)
IMAGES: dict[str, tuple[str, str, str]] = {
    "jpg": ("JPEG", "jpeg", "JPEG"),
    "png": ("PNG", "png", "PNG"),
    "gif": ("GIF", "gif", "GIF"),
    "webp": ("WEBP", "webp", "WEBP"),
    "bmp": ("BMP", "bmp", "BMP"),
    "tif": ("TIFF", "tiff", "TIFF"),
    "heic": ("HEIF", "heic", "HEIF"),  # pillow-heif's plugin (registered below)
    "avif": ("AVIF", "avif", "AVIF"),  # Pillow's own
    "ppm": ("PPM", "ppm", "PPM"),
    "ico": ("ICO", "ico", "ICO"),
}

_TONE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.3:sample_rate=8000"]
_PICTURE = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=0.3"]
# extension -> (ffmpeg arguments, kind, canonical format, forced demuxer)
AV: dict[str, tuple[list[str], str, str, str]] = {
    "wav": ([*_TONE, "-c:a", "pcm_s16le"], "audio", "wav", "wav"),
    "mp3": ([*_TONE, "-c:a", "libmp3lame"], "audio", "mp3", "mp3"),
    "m4a": ([*_TONE, "-c:a", "aac"], "audio", "m4a", "mov"),
    "aac": ([*_TONE, "-c:a", "aac", "-f", "adts"], "audio", "aac", "aac"),
    "ogg": ([*_TONE, "-c:a", "libvorbis"], "audio", "ogg", "ogg"),
    "opus": ([*_TONE, "-ar", "48000", "-c:a", "libopus"], "audio", "ogg", "ogg"),
    "flac": ([*_TONE, "-c:a", "flac"], "audio", "flac", "flac"),
    "amr": ([*_TONE, "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"], "audio", "amr", "amr"),
    "mp4": ([*_PICTURE, "-c:v", "libx264", "-pix_fmt", "yuv420p"], "video", "mp4", "mov"),
    "mov": ([*_PICTURE, "-c:v", "libx264", "-pix_fmt", "yuv420p"], "video", "mov", "mov"),
    "3gp": ([*_PICTURE, "-c:v", "h263", "-s", "176x144"], "video", "3gp", "mov"),
    "3g2": ([*_PICTURE, "-c:v", "h263", "-s", "176x144"], "video", "3g2", "mov"),
    "mkv": ([*_PICTURE, "-c:v", "libx264"], "video", "mkv", "matroska"),
    "webm": ([*_PICTURE, "-c:v", "libvpx"], "video", "webm", "matroska"),
    "avi": ([*_PICTURE, "-c:v", "mpeg4"], "video", "avi", "avi"),
    "aiff": (_TONE, "audio", "aiff", "aiff"),
    "au": ([*_TONE, "-c:a", "pcm_s16be"], "audio", "au", "au"),
    "w64": (_TONE, "audio", "w64", "w64"),
    "caf": ([*_TONE, "-f", "caf"], "audio", "caf", "caf"),
    "wma": ([*_TONE, "-c:a", "wmav2"], "video", "asf", "asf"),  # ASF: audio-only or not, one container
    "wmv": ([*_PICTURE, "-c:v", "wmv2"], "video", "asf", "asf"),
    "flv": ([*_PICTURE, "-c:v", "flv1"], "video", "flv", "flv"),
    "mpg": (["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=0.3", "-c:v", "mpeg1video",
             "-f", "mpeg"], "video", "mpeg-ps", "mpeg"),
    "ogv": ([*_PICTURE, "-c:v", "libtheora"], "video", "ogv", "ogg"),
    "ts": ([*_PICTURE, "-c:v", "libx264", "-f", "mpegts"], "video", "mpeg-ts", "mpegts"),
}

# What each refused content is, with the MIME type libmagic gives it.
REFUSED: dict[str, tuple[bytes, str]] = {
    "text": (b"hello\nthis is a note, not a picture\n", "text/plain"),
    "html": (b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><img src=x></body></html>\n",
             "text/html"),
    "svg": (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
            b'<rect width="10" height="10"/></svg>\n', "image/svg+xml"),
    "pdf": (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n",
            "application/pdf"),
    "eps": (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n", "application/postscript"),
    "m3u8": (b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
             b"file:///etc/passwd\n#EXT-X-ENDLIST\n", "text/plain"),
    "concat": (b"ffconcat version 1.0\nfile '/etc/passwd'\n", "text/plain"),
    "csv": (b"a,b,c\n1,2,3\n4,5,6\n", "text/csv"),
    "json": (b'{"type": "image", "media_id": "1"}\n', "application/json"),
    # A HEIF image sequence (burst, animation): stills are taken, sequences are not.
    "heif_sequence": (b"\x00\x00\x00\x18ftypmsf1\x00\x00\x00\x00msf1hevc" + bytes(100), "image/heif-sequence"),
    "zip": (b"PK\x03\x04" + bytes(60), "application/zip"),
}

# The hint must say what to do: export/convert it, get it again, send media instead, or
# which formats are taken.
_ACTIONS = ("export", "again", "send a photo, voice note or video file", "save the picture", "supported:",
            "convert it", "put it in")


def _formats_of(mime_format: str) -> set[str]:
    """Every MIME type the allowlist maps to one canonical format."""
    return {mime for mime, info in ALLOWED.items() if info.format == mime_format}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One tiny real file per allowed format, named with its usual extension."""
    from mediaprep.tools.ffmpeg import get_ffmpeg

    folder = tmp_path_factory.mktemp("samples")
    made: dict[str, Path] = {}
    picture = Image.new("RGB", (16, 12), (200, 30, 40))
    for ext, (pillow_format, _, _) in IMAGES.items():
        made[ext] = folder / f"sample.{ext}"
        picture.save(made[ext], pillow_format)
    ffmpeg = get_ffmpeg().path
    for ext, (args, _, _, _) in AV.items():
        made[ext] = folder / f"sample.{ext}"
        subprocess.run([ffmpeg, "-nostdin", "-y", "-hide_banner", "-loglevel", "error", *args,
                        str(made[ext])], check=True, timeout=60, capture_output=True)
    return made


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


def _sniff_within(path: Path, seconds: float = 5.0) -> Sniffed | BaseException:
    """sniff(path) in a thread that must finish within ``seconds``; returns its result
    or the exception it raised. A call that blocks (opening a FIFO with no writer,
    reading /dev/zero) fails the test, and the thread is released if it can be."""
    outcome: list[Sniffed | BaseException] = []

    def run() -> None:
        try:
            outcome.append(sniff(path))
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        with contextlib.suppress(OSError):  # a reader blocked on a FIFO is released by a writer
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"sniff({path}) blocked for more than {seconds} s")
    return outcome[0]


# --- every allowed format, from real bytes ---------------------------------------------


@pytest.mark.parametrize("ext", sorted(IMAGES))
def test_image_formats_from_real_bytes(samples, ext):
    _, fmt, plugin = IMAGES[ext]
    path = samples[ext]
    got = sniff(path)
    assert isinstance(got, Sniffed)
    assert got.path == path
    assert got.mime in _formats_of(fmt)
    assert (got.kind, got.format, got.demuxer, got.pillow) == ("image", fmt, None, plugin)
    assert got.size == path.stat().st_size > 0
    assert got.warnings == ()
    # The plugin named is one Pillow really has, and it opens the file.
    with Image.open(path, formats=[plugin]) as im:
        assert im.format == plugin


@pytest.mark.parametrize("ext", sorted(AV))
def test_audio_and_video_formats_from_real_bytes(samples, ext):
    _, kind, fmt, demuxer = AV[ext]
    path = samples[ext]
    got = sniff(path)
    assert got.mime in _formats_of(fmt)
    assert (got.kind, got.format, got.demuxer, got.pillow) == (kind, fmt, demuxer, None)
    assert got.size == path.stat().st_size > 0
    assert got.warnings == ()


def test_samples_cover_every_canonical_format(samples):
    """Every format in the allowlist is reached by one of the samples above, except
    AMR-WB: libmagic names it audio/amr like AMR-NB (the next test), and a generic
    HEIF still (the test after)."""
    seen = {sniff(path).format for path in samples.values()}
    assert {info.format for info in ALLOWED.values()} - seen == {"amr-wb", "heif"}


@pytest.mark.parametrize("brands, fmt, plugin", [
    (b"mif1\0\0\0\0mif1heic", "heif", "HEIF"),  # a generic HEIF still: libmagic says image/heif
    (b"mif1\0\0\0\0mif1avifmiaf", "avif", "AVIF"),  # generic brand, AV1 inside: the avif brand says
])
def test_generic_heif_brand_picks_the_decoder_from_compatible_brands(samples, tmp_path, brands, fmt, plugin):
    src = samples["heic" if fmt == "heif" else "avif"].read_bytes()
    size = int.from_bytes(src[:4], "big")
    ftyp = (8 + len(brands)).to_bytes(4, "big") + b"ftyp" + brands
    path = tmp_path / f"generic.{fmt}"
    path.write_bytes(ftyp + src[size:])
    got = sniff(path)
    assert (got.format, got.pillow, got.warnings) == (fmt, plugin, ())


def test_amr_wb_is_sniffed_as_amr_and_told_apart_later():
    # libmagic 5.x says audio/amr for "#!AMR-WB\n" too: the allowlist's audio/amr-wb entry
    # is never reached, and AMR-WB is refused by codec name in preflight/check.py instead.
    path = TESTDATA / "audio/speech_amrwb.awb"
    assert path.read_bytes().startswith(b"#!AMR-WB\n")
    got = sniff(path)
    assert (got.mime, got.kind, got.format, got.demuxer, got.warnings) == ("audio/amr", "audio", "amr", "amr", ())


@pytest.mark.parametrize("rel, kind, fmt", [
    ("images/compliant.jpg", "image", "jpeg"),
    ("images/photo_rotated_gps.jpg", "image", "jpeg"),
    ("images/cmyk.jpg", "image", "jpeg"),
    ("images/grey.jpg", "image", "jpeg"),
    ("images/compliant_with_metadata.jpg", "image", "jpeg"),
    ("images/ladybird.png", "image", "png"),
    ("images/transparent.png", "image", "png"),
    ("images/palette.png", "image", "png"),
    ("images/grey16.png", "image", "png"),
    ("images/bomb_header.png", "image", "png"),  # sniffing reads headers only; probe refuses it
    ("images/animated.gif", "image", "gif"),
    ("audio/speech_75s.ogg", "audio", "ogg"),
    ("video/compliant.mp4", "video", "mp4"),
    ("video/bikes_short.mp4", "video", "mp4"),
])
def test_testdata_media(rel, kind, fmt):
    path = TESTDATA / rel
    got = sniff(str(path))  # a str is taken as well as a Path
    assert got.path == path
    assert (got.kind, got.format, got.size, got.warnings) == (kind, fmt, path.stat().st_size, ())


def test_size_is_the_whole_file_not_the_head(samples, tmp_path):
    """libmagic sees the first HEAD_BYTES; the size reported is the file's."""
    path = _copy(samples["jpg"], tmp_path / "big.jpg")
    with open(path, "ab") as fh:
        fh.write(bytes(HEAD_BYTES + 12345))
    got = sniff(path)
    assert got.format == "jpeg"
    assert got.size == path.stat().st_size > HEAD_BYTES


def test_sniffed_is_frozen(samples):
    got = sniff(samples["png"])
    with pytest.raises(FrozenInstanceError):
        got.format = "jpeg"  # type: ignore[misc]


def test_allowlist_is_consistent():
    for mime, info in ALLOWED.items():
        assert info.kind in KINDS, mime
        if info.kind == "image":
            assert info.pillow and info.demuxer is None, mime
        else:
            assert info.demuxer and info.pillow is None, mime
        assert info.extensions, mime
        assert all(e.startswith(".") and e == e.lower() for e in info.extensions), mime
    # Nothing that can carry a script, a document or a playlist is on it.
    for mime in ("text/plain", "text/html", "image/svg+xml", "application/pdf",
                 "application/postscript", "application/vnd.apple.mpegurl", "audio/x-mpegurl"):
        assert mime not in ALLOWED


# --- the extension only warns ------------------------------------------------------------


def test_jpeg_renamed_png_is_a_jpeg_with_a_warning(samples, tmp_path):
    path = _copy(samples["jpg"], tmp_path / "holiday.png")
    got = sniff(path)
    assert (got.kind, got.format, got.pillow, got.mime) == ("image", "jpeg", "JPEG", "image/jpeg")
    assert len(got.warnings) == 1
    warning = got.warnings[0]
    assert ".png" in warning and "jpeg" in warning and "going by the content" in warning


@pytest.mark.parametrize("src, name, kind, fmt", [
    ("png", "scan.jpg", "image", "png"),
    ("gif", "anim.webp", "image", "gif"),
    ("mp4", "clip.jpg", "video", "mp4"),
    ("mkv", "clip.avi", "video", "mkv"),
    ("wav", "voice.mp3", "audio", "wav"),
    ("amr", "note.mp4", "audio", "amr"),
    ("mp3", "song.txt", "audio", "mp3"),
    ("webm", "talk.mp4", "video", "webm"),
])
def test_content_decides_over_a_wrong_extension(samples, tmp_path, src, name, kind, fmt):
    got = sniff(_copy(samples[src], tmp_path / name))
    assert (got.kind, got.format) == (kind, fmt)
    expected = ALLOWED[got.mime]
    assert (got.demuxer, got.pillow) == (expected.demuxer, expected.pillow)
    assert len(got.warnings) == 1
    assert Path(name).suffix in got.warnings[0] and fmt in got.warnings[0]


def test_no_extension_warns_as_such(samples, tmp_path):
    got = sniff(_copy(samples["jpg"], tmp_path / "IMG_0001"))
    assert got.format == "jpeg"
    assert len(got.warnings) == 1 and "no extension" in got.warnings[0]


@pytest.mark.parametrize("src, name", [
    ("jpg", "PHOTO.JPG"), ("jpg", "photo.jpeg"), ("jpg", "photo.Jfif"), ("tif", "scan.TIFF"),
    ("mp4", "clip.MP4"), ("m4a", "voice.mp4"),  # an audio-only MP4 may carry either name
    ("mov", "iphone.mp4"), ("ogg", "voice.oga"), ("webm", "clip.mkv"),
    # A camera's multi-picture JPEG, an animated PNG, an audiobook in a generic-brand MP4.
    ("jpg", "DSCF0001.MPO"), ("png", "spin.apng"), ("mp4", "book.m4b"), ("heic", "IMG_0001.HEIC"),
    ("ts", "00001.MTS"), ("wma", "song.wma"),
])
def test_agreeing_extensions_do_not_warn(samples, tmp_path, src, name):
    assert sniff(_copy(samples[src], tmp_path / name)).warnings == ()


# --- names that are not plain -------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "-i.jpg", "--help.jpg", "-", "-vf.jpg", "照片.jpg", "微信图片_20240101.jpg", "音声メモ.jpg",
    "ñandú.jpg", "with space.jpg", "line\nbreak.jpg", "http:x.jpg", "file:x.jpg",
])
def test_awkward_names_work(samples, tmp_path, name):
    path = _copy(samples["jpg"], tmp_path / name)
    got = sniff(path)
    assert got.path == path
    assert (got.format, got.size) == ("jpeg", path.stat().st_size)
    if name.endswith(".jpg"):
        assert got.warnings == ()
    else:  # "-" has no extension: a warning, and it still works
        assert len(got.warnings) == 1 and "no extension" in got.warnings[0]


def test_relative_name_starting_with_dash(samples, tmp_path, monkeypatch):
    _copy(samples["mp4"], tmp_path / "-i.mp4")
    monkeypatch.chdir(tmp_path)
    got = sniff("-i.mp4")
    assert (got.kind, got.format, got.path) == ("video", "mp4", Path("-i.mp4"))


# --- refusals: content that is not media ------------------------------------------------


@pytest.mark.parametrize("disguise", ["photo.jpg", "clip.mp4"])
@pytest.mark.parametrize("case", sorted(REFUSED))
def test_non_media_is_refused_whatever_its_name(tmp_path, case, disguise):
    content, mime = REFUSED[case]
    path = tmp_path / disguise
    path.write_bytes(content)
    with pytest.raises(UnsupportedType) as info:
        sniff(path)
    err = info.value
    assert isinstance(err, BadInput)
    assert err.exit_code == ExitCode.BAD_INPUT == 4
    assert err.path == path
    assert f"content is {mime}," in err.message
    assert err.hint
    line = err.one_line()
    assert "\n" not in line and str(path) in line and err.hint.rstrip(".") in line


@pytest.mark.parametrize("case, expected", [
    ("svg", "export it to PNG or JPEG"),
    ("pdf", "export the page to PNG or JPEG"),
    ("eps", "export it to PNG or JPEG"),
    ("heif_sequence", "export one still as HEIC or JPEG"),
    ("json", "JSON is not media; send a photo, voice note or video file"),
    ("csv", "CSV table is not media; send a photo, voice note or video file"),
    ("html", "a web page is not media; save the picture or video itself"),
    ("text", "is not media and is never decoded; send a photo, voice note or video file"),
    ("m3u8", "HLS playlist"),
    ("concat", "ffmpeg concat script"),
    ("zip", "supported: JPEG, PNG"),  # not named: the hint lists what is taken
])
def test_refusal_hint_says_what_to_do(tmp_path, case, expected):
    path = tmp_path / "file.jpg"
    path.write_bytes(REFUSED[case][0])
    with pytest.raises(UnsupportedType) as info:
        sniff(path)
    assert expected in (info.value.hint or "")


@pytest.mark.parametrize("case", ["text", "m3u8", "concat", "csv", "html"])
def test_text_refusal_hint_says_what_to_do(tmp_path, case):
    path = tmp_path / "file.mp4"
    path.write_bytes(REFUSED[case][0])
    with pytest.raises(UnsupportedType) as info:
        sniff(path)
    assert any(word in (info.value.hint or "") for word in _ACTIONS)


@pytest.mark.parametrize("content, mime", [
    (b"#!/bin/sh\nrm -rf /\n", "text/x-shellscript"),
    (b"#!/usr/bin/env python3\nprint(1)\n", "text/x-script.python"),
    (b"1\n00:00:01,000 --> 00:00:02,000\nhello\n", "application/x-subrip"),
    (b"WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", "text/vtt"),
    (b"<?xml version=\"1.0\"?>\n<note><to>you</to></note>\n", "text/xml"),
], ids=["shell", "python", "srt", "vtt", "xml"])
def test_every_text_type_gets_a_hint_that_says_what_to_do(tmp_path, content, mime):
    """Text types not named one by one (scripts, subtitles, XML) are told the same."""
    path = tmp_path / "file.jpg"
    path.write_bytes(content)
    with pytest.raises(UnsupportedType) as info:
        sniff(path)
    assert f"content is {mime}," in info.value.message
    assert "not media" in (info.value.hint or "")
    assert "send a photo, voice note or video file" in (info.value.hint or "")


def test_every_named_refusal_says_what_to_do():
    for mime, hint in _REFUSAL_HINTS.items():
        assert any(word in hint for word in _ACTIONS), mime
        assert refusal_hint(mime) == hint
    assert refusal_hint("application/x-unknown").startswith("supported: JPEG")


@pytest.mark.parametrize("name", ["empty.jpg", "empty.mp4", "empty"])
def test_empty_file_is_refused(tmp_path, name):
    path = tmp_path / name
    path.touch()
    with pytest.raises(UnsupportedType) as info:
        sniff(path)
    err = info.value
    assert err.exit_code == ExitCode.BAD_INPUT
    assert "empty" in err.message and "0 bytes" in err.message
    assert "again" in (err.hint or "")


def test_sniff_sees_the_head_only_for_magic(tmp_path, samples):
    """A JPEG with HTML appended is a JPEG; HTML with a JPEG appended is refused."""
    jpeg = samples["jpg"].read_bytes()
    html = REFUSED["html"][0]
    (tmp_path / "a.jpg").write_bytes(jpeg + html)
    (tmp_path / "b.jpg").write_bytes(html + jpeg)
    assert sniff(tmp_path / "a.jpg").format == "jpeg"
    with pytest.raises(UnsupportedType) as info:
        sniff(tmp_path / "b.jpg")
    assert "image/jpeg" not in info.value.message


# --- refusals: things that are not regular files -------------------------------------------


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "voice.amr"
    os.mkfifo(fifo)
    err = _sniff_within(fifo)
    assert isinstance(err, BadInput) and not isinstance(err, UnsupportedType)
    assert err.exit_code == ExitCode.BAD_INPUT
    assert "not a regular file" in err.message and err.path == fifo
    assert "regular file" in (err.hint or "")


def test_symlink_to_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "photo.jpg"
    link.symlink_to(fifo)
    err = _sniff_within(link)
    assert isinstance(err, BadInput) and "not a regular file" in err.message


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_refused_without_reading(device):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    err = _sniff_within(Path(device))
    assert isinstance(err, BadInput) and err.exit_code == ExitCode.BAD_INPUT
    assert "not a regular file" in err.message


def test_socket_is_refused(tmp_path):
    path = tmp_path / "s.jpg"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        err = _sniff_within(path)
    assert isinstance(err, BadInput) and "not a regular file" in err.message


@pytest.mark.parametrize("name", ["folder", "album.jpg"])
def test_directory_is_refused(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "inside.jpg").write_bytes(b"\xff\xd8\xff")
    err = _sniff_within(folder)
    assert isinstance(err, BadInput) and err.exit_code == ExitCode.BAD_INPUT
    assert err.message == "is a folder" and err.path == folder
    assert "mediaprep batch" in (err.hint or "")


def test_missing_file_is_bad_input(tmp_path):
    with pytest.raises(BadInput) as info:
        sniff(tmp_path / "nope.jpg")
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert "no such file" in info.value.message and info.value.hint == "check the path"


def test_dangling_symlink_is_a_missing_file(tmp_path):
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(BadInput, match="no such file"):
        sniff(link)


@pytest.mark.parametrize("name, what", [("a\x00b.jpg", "NUL character"), ("\ud800.jpg", "lone surrogate"),
                                        ("x\udfff\ud800y.mp4", "lone surrogate")],
                         ids=["nul", "lone-surrogate", "two-surrogates"])
def test_impossible_path_is_bad_input(tmp_path, name, what):
    """A path no file can have (from JSON, a library caller, a bad decode) is refused as
    bad input, on one printable line that says what to do, before any system call."""
    with pytest.raises(BadInput) as info:
        sniff(str(tmp_path) + "/" + name)
    err = info.value
    assert not isinstance(err, UnsupportedType)
    assert err.exit_code == ExitCode.BAD_INPUT
    assert what in err.message
    assert err.hint and err.hint.startswith("check how the path was")
    line = err.one_line()
    assert "\n" not in line
    line.encode("utf-8")  # printable: no raw NUL or lone surrogate reaches the terminal
    assert "\x00" not in line and "\\x00" in line or "\\ud800" in line


def test_undecodable_but_real_name_is_read(samples, tmp_path):
    """A name of non-UTF-8 bytes (surrogateescape'd) is a real file name, not a bad path."""
    path = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9.jpg"))
    _copy(samples["jpg"], path)
    assert sniff(path).format == "jpeg"


def _swap_after_stat(monkeypatch: pytest.MonkeyPatch, path: Path, swap) -> None:  # type: ignore[no-untyped-def]
    """Run the real stat, then replace ``path`` (a real swap) before read_head opens it:
    the window between a check and an open, made to happen every time."""
    real_stat = sniff_module.os.stat

    def stat_then_swap(target, *args, **kwargs):  # type: ignore[no-untyped-def]
        result = real_stat(target, *args, **kwargs)
        if Path(target) == path:
            path.unlink()
            swap(path)
        return result

    monkeypatch.setattr(sniff_module.os, "stat", stat_then_swap)


def test_file_swapped_for_a_fifo_after_the_stat_is_refused_without_blocking(samples, tmp_path, monkeypatch):
    path = _copy(samples["jpg"], tmp_path / "photo.jpg")
    _swap_after_stat(monkeypatch, path, os.mkfifo)
    err = _sniff_within(path)
    assert isinstance(err, BadInput) and not isinstance(err, UnsupportedType)
    assert "not a regular file" in err.message
    assert stat.S_ISFIFO(os.lstat(path).st_mode)  # it really was a FIFO that was opened


def test_file_swapped_for_a_folder_after_the_stat_is_refused(samples, tmp_path, monkeypatch):
    path = _copy(samples["jpg"], tmp_path / "photo.jpg")
    _swap_after_stat(monkeypatch, path, Path.mkdir)
    err = _sniff_within(path)
    assert isinstance(err, BadInput) and err.message == "is a folder"


def test_file_swapped_for_a_symlink_after_the_stat_is_refused(samples, tmp_path, monkeypatch):
    secret = _copy(samples["png"], tmp_path / "secret.png")
    path = _copy(samples["jpg"], tmp_path / "photo.jpg")
    _swap_after_stat(monkeypatch, path, lambda p: p.symlink_to(secret))
    err = _sniff_within(path)
    assert isinstance(err, BadInput) and "replaced by a symlink" in err.message
    assert "run again" in (err.hint or "")


def test_symlink_given_by_the_user_is_followed(samples, tmp_path):
    link = tmp_path / "link.jpg"
    link.symlink_to(samples["jpg"])
    got = sniff(link)
    assert (got.format, got.size) == ("jpeg", samples["jpg"].stat().st_size)


def test_unreadable_file_is_bad_input(samples, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file whatever its mode")
    path = _copy(samples["jpg"], tmp_path / "locked.jpg")
    path.chmod(0)
    with pytest.raises(BadInput, match="cannot read"):
        sniff(path)


# --- whatever the bytes: a verdict or a MediaprepError ------------------------------------


_HEADS = [b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WAVE",
          b"RIFF\x00\x00\x00\x00WEBP", b"\x00\x00\x00\x18ftypisom", b"\x1aE\xdf\xa3", b"OggS",
          b"fLaC", b"#!AMR\n", b"ID3\x04\x00", b"#EXTM3U\n", b"<svg ", b"%PDF-"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.sampled_from(_HEADS), tail=st.binary(max_size=512))
def test_any_bytes_give_a_verdict_or_a_mediaprep_error(tmp_path_factory, head, tail):
    path = tmp_path_factory.getbasetemp() / "fuzz.bin"
    path.write_bytes(head + tail)
    try:
        got = sniff(path)
    except MediaprepError as exc:
        assert isinstance(exc, UnsupportedType) and exc.exit_code == ExitCode.BAD_INPUT
        assert exc.hint
    else:
        assert got.mime in ALLOWED
        assert got.kind == ALLOWED[got.mime].kind and got.format == ALLOWED[got.mime].format
        assert got.size == len(head + tail)


@settings(max_examples=25, deadline=None)
@given(cut=st.integers(min_value=1, max_value=400))
def test_truncated_real_files_never_crash(samples, tmp_path_factory, cut):
    """A truncated upload is sniffed or refused, never a crash (decoding is probe's job)."""
    path = tmp_path_factory.getbasetemp() / "cut.bin"
    for sample in (samples["jpg"], samples["mp4"], samples["amr"], samples["wav"]):
        data = sample.read_bytes()
        path.write_bytes(data[: max(1, len(data) * cut // 400)])
        try:
            sniff(path)
        except MediaprepError as exc:
            assert exc.exit_code == ExitCode.BAD_INPUT


def test_pillow_plugin_names_match_pillow():
    """The plugin names on the allowlist are the ones Image.open(formats=...) takes."""
    Image.init()
    for info in ALLOWED.values():
        if info.pillow:
            assert info.pillow in Image.OPEN, info


def test_python_magic_serves_where_libmagic_is_not_found_by_name(monkeypatch) -> None:
    """Where the loader does not find libmagic by its name (Homebrew, Windows,
    python-magic-bin), python-magic loads it: the same verdicts and words, and
    --version says which way it was loaded."""
    from mediaprep.tools import magic

    head = (Path(__file__).resolve().parent.parent / "testdata/images/compliant.jpg").read_bytes()[:4096]
    by_name = (magic.mime_of(head), magic.describe(head))
    for cached in (magic._by_name, magic._magic, magic._describer):
        cached.cache_clear()
    monkeypatch.setattr(magic, "_by_name", lambda: None)
    try:
        assert magic.mime_of(head) == by_name[0] == "image/jpeg"
        assert magic.describe(head) == by_name[1] and "JPEG" in by_name[1]
        assert magic.libmagic_version().endswith("(python-magic)")
    finally:
        monkeypatch.undo()
        for cached in (magic._by_name, magic._magic, magic._describer):
            cached.cache_clear()
