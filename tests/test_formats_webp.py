"""mediaprep.formats.webp: the chunk walk on real WebPs (Pillow-made: lossy,
lossless, animated, with EXIF), on hostile and damaged bytes, and as a property:
any bytes give a layout or our own FormatError, never another exception."""
from __future__ import annotations

import io
import struct
import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from source_helpers import file_source

from mediaprep.errors import BadInput
from mediaprep.formats import FormatError, TooComplex, webp

PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])


def _webp(size: tuple[int, int] = (48, 32), mode: str = "RGB", **save: object) -> bytes:
    buf = io.BytesIO()
    im = Image.effect_noise(size, 30).convert(mode)
    if mode == "RGBA":  # really transparent: an opaque alpha channel is dropped by the encoder
        im.putalpha(Image.linear_gradient("L").resize(size))
    im.save(buf, "WEBP", **save)
    return buf.getvalue()


def _animated(frames: int, size: tuple[int, int] = (40, 30), ms: int = 70) -> bytes:
    ramp = Image.linear_gradient("L").resize(size)
    images = [ramp.point(lambda v, i=i: (v + 37 * i) % 256).convert("RGB") for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "WEBP", save_all=True, append_images=images[1:], duration=ms, lossless=True)
    return buf.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def canvas_bomb(width: int, height: int, frames: int) -> bytes:
    """A large canvas and many tiny frames, each holding the same 1x1 lossless
    bitstream: small, and a long job for a decoder that composes every frame."""
    pixel = _webp((1, 1), lossless=True)
    vp8l = pixel[12:]  # the one VP8L chunk of a simple file
    vp8x = _chunk(b"VP8X", bytes([0x02, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
                  + (height - 1).to_bytes(3, "little"))
    anim = _chunk(b"ANIM", b"\0\0\0\0\0\0")
    frame = _chunk(b"ANMF", b"\0" * 6 + b"\0\0\0" + b"\0\0\0" + (10).to_bytes(3, "little") + b"\0"
                   + vp8l)
    body = b"WEBP" + vp8x + anim + frame * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


LOSSY = _webp()
LOSSLESS = _webp(lossless=True)
ALPHA = _webp(mode="RGBA", lossless=True)
ANIMATED = _animated(6)
SEEDS = (LOSSY, LOSSLESS, ALPHA, ANIMATED, canvas_bomb(64, 64, 3))


@pytest.mark.parametrize("data", [LOSSY, LOSSLESS, ALPHA], ids=["lossy", "lossless", "alpha"])
def test_stills_give_their_size_and_end(data: bytes) -> None:
    layout = webp.walk(data)
    with Image.open(io.BytesIO(data)) as im:
        assert (layout.width, layout.height) == im.size == (48, 32)
    assert layout.frames == 1 and not layout.animated and layout.duration == 0
    assert layout.end == len(data) and layout.trailing == 0


def test_alpha_is_seen() -> None:
    assert webp.walk(ALPHA).alpha and not webp.walk(LOSSY).alpha


def test_animation_frames_and_durations_match_pillow() -> None:
    layout = webp.walk(ANIMATED)
    with Image.open(io.BytesIO(ANIMATED)) as im:
        assert layout.frames == im.n_frames == 6 and (layout.width, layout.height) == im.size
    assert layout.animated and layout.duration == pytest.approx(6 * 0.070)


def test_a_large_canvas_of_many_frames_is_counted_without_decoding() -> None:
    data = canvas_bomb(5000, 5000, 2000)
    with Image.open(io.BytesIO(data)) as im:  # the bomb is a WebP Pillow accepts
        assert im.n_frames == 2000 and im.size == (5000, 5000)
    started = time.monotonic()
    layout = webp.walk(data)
    assert time.monotonic() - started < 0.5
    assert (layout.width, layout.height, layout.frames) == (5000, 5000, 2000)
    assert layout.duration == pytest.approx(20.0)


def test_exif_chunk_is_found_and_appended_bytes_are_trailing() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _webp(exif=exif.tobytes()) + b"<script>alert(1)</script>"
    layout = webp.walk(data)
    assert layout.exif_at is not None and layout.trailing == 25
    at, length = layout.exif_at
    found = Image.Exif()
    found.load(data[at:at + length])
    assert found.get(0x0112) == 6 and layout.other_bytes >= length


@pytest.mark.parametrize(("data", "message"), [
    (b"", "no RIFF/WEBP header"),
    (b"RIFF\0\0\0\0WAVE", "no RIFF/WEBP header"),
    (LOSSY[:len(LOSSY) // 2], "truncated"),
    (b"RIFF" + struct.pack("<I", 12) + b"WEBP" + b"VP8 " + struct.pack("<I", 99), "runs past"),
    (b"RIFF" + struct.pack("<I", 12) + b"WEBP" + _chunk(b"EXIF", b""), "no image data"),
])
def test_damaged_bytes_raise_not_a_webp(data: bytes, message: str) -> None:
    with pytest.raises(webp.NotAWebp, match=message):
        webp.walk(data)


def test_not_a_webp_is_our_bad_input() -> None:
    with pytest.raises(FormatError) as info:
        webp.walk(b"RIFF")
    assert isinstance(info.value, BadInput)


def test_a_flood_of_chunks_is_too_complex_not_a_long_loop() -> None:
    body = b"WEBP" + LOSSY[12:] + _chunk(b"JUNK", b"") * (webp.MAX_CHUNKS + 1)
    with pytest.raises(TooComplex, match="chunks"):
        webp.walk(b"RIFF" + struct.pack("<I", len(body)) + body)


# ------------------------------------------------------------------ properties

def _mutated(seed: bytes, at: int, value: bytes) -> bytes:
    i = at % len(seed)
    return seed[:i] + value + seed[i + 1:]


def _riff(body: bytes) -> bytes:
    return b"RIFF" + struct.pack("<I", len(body) + 4) + b"WEBP" + body


chunk_soup = st.lists(
    st.one_of(st.sampled_from([b"VP8 ", b"VP8L", b"VP8X", b"ANMF", b"ANIM", b"EXIF", b"\x00\x00\x00\x00",
                               b"\x0a\x00\x00\x00", b"\xff\xff\xff\xff", b"\x2f", b"\x9d\x01\x2a"]),
              st.binary(max_size=16)),
    max_size=40).map(lambda parts: _riff(b"".join(parts)))
webp_like = st.one_of(
    st.binary(max_size=2048),
    chunk_soup,
    st.builds(_mutated, st.sampled_from(SEEDS), st.integers(0, 1 << 20), st.binary(max_size=8)),
    st.builds(lambda seed, at: seed[:at % (len(seed) + 1)], st.sampled_from(SEEDS), st.integers(0, 1 << 20)),
)


@PROPERTY
@given(webp_like)
def test_any_bytes_give_a_layout_or_not_a_webp(data: bytes) -> None:
    try:
        layout = webp.walk(data)
    except webp.NotAWebp:
        return
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    assert 12 <= layout.end <= layout.size == len(data)
    assert layout.trailing == len(data) - layout.end
    assert layout.frames >= 1 and layout.duration >= 0 and layout.other_bytes >= 0
    if layout.exif_at is not None:
        at, length = layout.exif_at
        assert data[at - 8:at - 4] == b"EXIF" and at + length <= layout.end


@PROPERTY
@given(webp_like)
def test_a_file_read_in_tiny_windows_walks_like_the_bytes(data: bytes) -> None:
    try:
        expected: webp.WebpLayout | str = webp.walk(data)
    except webp.NotAWebp as exc:
        expected = exc.message
    with file_source(data) as src:
        try:
            got: webp.WebpLayout | str = webp.walk(src)
        except webp.NotAWebp as exc:
            got = exc.message
    assert got == expected
