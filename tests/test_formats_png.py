"""mediaprep.formats.png: the chunk walk on real PNGs (Pillow-made and testdata),
on polyglots and damaged bytes, and as a property: any bytes give a layout or
NotAPng, never another exception, in bounded time."""
from __future__ import annotations

import io
import time
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from source_helpers import file_source

from mediaprep.errors import BadInput
from mediaprep.formats import FormatError, TooComplex, png

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])


def _png(**save: object) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((32, 24), 40).convert("RGB").save(buf, "PNG", **save)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")


def _exif_bytes() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6
    return exif.tobytes()


PLAIN = _png()
WITH_EXIF = _png(exif=_exif_bytes())
LADYBIRD = (TESTDATA / "images" / "ladybird.png").read_bytes()
SEEDS = (PLAIN, WITH_EXIF, LADYBIRD)


def test_plain_png_ends_at_iend() -> None:
    layout = png.walk(PLAIN)
    assert layout.end == len(PLAIN) and layout.trailing == 0
    assert layout.chunks >= 3  # IHDR, IDAT..., IEND
    assert not layout.exif_chunk


def test_testdata_png_walks_to_its_end() -> None:
    layout = png.walk(LADYBIRD)
    assert layout.trailing == 0 and layout.size == len(LADYBIRD)


def test_exif_chunk_is_found_where_pillow_reads_it() -> None:
    layout = png.walk(WITH_EXIF)
    assert layout.exif_chunk and layout.exif_at is not None
    at, length = layout.exif_at
    exif = Image.Exif()
    exif.load(WITH_EXIF[at:at + length])
    with Image.open(io.BytesIO(WITH_EXIF)) as im:
        assert im.getexif().get(0x0112) == 6 == exif.get(0x0112)
    assert png.walk(PLAIN).exif_at is None


def test_size_comes_from_ihdr() -> None:
    layout = png.walk(PLAIN)
    assert (layout.width, layout.height) == (32, 24)
    assert not layout.animated and layout.frames == 1 and layout.duration == 0


def _apng(frames: int, size: tuple[int, int] = (40, 30), ms: int = 40) -> bytes:
    buf = io.BytesIO()
    images = [Image.new("RGB", size, (i * 7 % 256, 0, 0)) for i in range(frames)]
    images[0].save(buf, "PNG", save_all=True, append_images=images[1:], duration=ms)
    return buf.getvalue()


def test_apng_frames_and_duration_come_from_the_chunks() -> None:
    data = _apng(12, ms=40)
    layout = png.walk(data)
    assert layout.animated and layout.frames == 12
    assert layout.duration == pytest.approx(12 * 0.040)
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == 12 and im.size == (layout.width, layout.height)


def test_an_actl_claim_is_not_believed() -> None:
    data = bytearray(_apng(3))
    at = data.index(b"acTL") + 4
    data[at:at + 4] = (1_000_000).to_bytes(4, "big")  # claims a million frames
    assert png.walk(bytes(data)).frames == 3


def test_text_chunks_anywhere_are_counted() -> None:
    iend = PLAIN.rindex(b"IEND") - 4
    data = PLAIN[:iend] + _chunk(b"tEXt", b"Comment\0hi") + _chunk(b"zTXt", b"k\0\0" + zlib.compress(b"x")) \
        + PLAIN[iend:]
    layout = png.walk(data)
    assert layout.text_chunks == 2 and layout.other_bytes >= 13 + 10


def test_a_flood_of_chunks_is_too_complex_not_a_long_loop() -> None:
    data = PLAIN[:33] + _chunk(b"tEXt", b"") * 1000 + PLAIN[33:]
    with pytest.raises(TooComplex, match="chunks"):
        png.walk(data, max_chunks=500)


def test_appended_html_is_trailing() -> None:
    payload = b"<html><script>alert(2)</script>"
    layout = png.walk(PLAIN + payload)
    assert layout.end == len(PLAIN) and layout.trailing == len(payload)


def test_iend_inside_a_text_chunk_does_not_end_the_image() -> None:
    iend = PLAIN.rindex(b"IEND") - 4
    data = PLAIN[:iend] + _chunk(b"tEXt", b"Comment\0IEND IEND") + PLAIN[iend:] + b"tail"
    layout = png.walk(data)
    assert layout.trailing == 4


def test_iend_with_its_crc_cut_off_still_ends_the_image() -> None:
    data = PLAIN[:-2]
    layout = png.walk(data)
    assert layout.end == len(data) and layout.trailing == 0


@pytest.mark.parametrize(("data", "message"), [
    (b"", "signature"),
    (b"\xff\xd8\xff\xe0", "signature"),
    (PLAIN[:8], "no IEND"),
    (PLAIN[:len(PLAIN) // 2], "no IEND"),
    (PLAIN[:8] + b"\xff\xff\xff\xffIDAT", "no IEND"),  # a length past the end
])
def test_damaged_bytes_raise_not_a_png(data: bytes, message: str) -> None:
    with pytest.raises(png.NotAPng, match=message):
        png.walk(data)


def test_not_a_png_is_our_bad_input() -> None:
    with pytest.raises(FormatError) as info:
        png.walk(b"GIF89a")
    assert isinstance(info.value, BadInput)


def test_many_empty_chunks_are_walked_in_bounded_time() -> None:
    data = PLAIN[:33] + _chunk(b"tEXt", b"") * 100_000 + PLAIN[33:]  # after IHDR
    started = time.monotonic()
    layout = png.walk(data)
    assert time.monotonic() - started < 2.0
    assert layout.trailing == 0 and layout.chunks > 100_000


# ------------------------------------------------------------------ properties

def _mutated(seed: bytes, at: int, value: bytes) -> bytes:
    i = at % len(seed)
    return seed[:i] + value + seed[i + 1:]


chunk_soup = st.lists(
    st.one_of(st.sampled_from([b"IEND", b"eXIf", b"IDAT", b"\x00\x00\x00\x00", b"\x00\x00\x00\x02",
                               b"\xff\xff\xff\xff", b"\x00\x00\x00\x0c"]),
              st.binary(max_size=16)),
    max_size=40).map(lambda parts: png.SIGNATURE + b"".join(parts))
png_like = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: png.SIGNATURE + b),
    chunk_soup,
    st.builds(_mutated, st.sampled_from(SEEDS), st.integers(0, 1 << 20), st.binary(max_size=8)),
    st.builds(lambda seed, at: seed[:at % (len(seed) + 1)], st.sampled_from(SEEDS), st.integers(0, 1 << 20)),
)


@PROPERTY
@given(png_like)
def test_any_bytes_give_a_layout_or_not_a_png(data: bytes) -> None:
    try:
        layout = png.walk(data)
    except png.NotAPng:
        return
    assert data.startswith(png.SIGNATURE)
    # At least the signature and one 12-byte chunk, unless IEND itself is cut short.
    assert min(len(png.SIGNATURE) + 12, len(data)) <= layout.end <= layout.size == len(data)
    assert layout.trailing == len(data) - layout.end
    assert layout.chunks >= 1
    assert layout.frames >= 1 and layout.duration >= 0
    if layout.exif_at is not None:
        at, length = layout.exif_at
        assert data[at - 4:at] == b"eXIf" and at + length <= len(data)


@PROPERTY
@given(png_like)
def test_a_file_read_in_tiny_windows_walks_like_the_bytes(data: bytes) -> None:
    try:
        expected: png.PngLayout | str = png.walk(data)
    except png.NotAPng as exc:
        expected = exc.message
    with file_source(data) as src:
        try:
            got: png.PngLayout | str = png.walk(src)
        except png.NotAPng as exc:
            got = exc.message
    assert got == expected


chunk_types = st.sampled_from([b"IHDR", b"IDAT", b"tEXt", b"zTXt", b"eXIf", b"iCCP", b"abcd"])


@PROPERTY
@given(st.lists(st.tuples(chunk_types, st.binary(max_size=64)), max_size=20), st.binary(max_size=64))
def test_well_formed_chunks_walk_to_iend_exactly(chunks: list[tuple[bytes, bytes]], tail: bytes) -> None:
    body = b"".join(_chunk(kind, data) for kind, data in chunks) + _chunk(b"IEND", b"")
    layout = png.walk(png.SIGNATURE + body + tail)
    assert layout.end == len(png.SIGNATURE) + len(body) and layout.trailing == len(tail)
    assert layout.chunks == len(chunks) + 1
    assert layout.exif_chunk == any(kind == b"eXIf" for kind, _ in chunks)
