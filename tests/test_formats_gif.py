"""mediaprep.formats.gif: the block walk on real GIFs (Pillow-made and testdata), on
hostile and damaged bytes, and as a property: any bytes give a layout or our own
FormatError, never another exception, in bounded time."""
from __future__ import annotations

import io
import struct
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from source_helpers import file_source

from mediaprep.errors import BadInput
from mediaprep.formats import FormatError, TooComplex, gif

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])


def _animated(frames: int, size: tuple[int, int] = (20, 16), ms: int = 50, **save: object) -> bytes:
    # Every frame different: Pillow merges a frame identical to the one before.
    ramp = Image.linear_gradient("L").resize(size)
    images = [ramp.point(lambda v, i=i: (v + 37 * i) % 256) for i in range(frames)]
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=ms, **save)
    return buf.getvalue()


def canvas_bomb(width: int, height: int, frames: int) -> bytes:
    """A large canvas and many one-pixel frames: tiny, and minutes of work for a
    decoder that composes every frame on the canvas."""
    head = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # 1/100 s
    frame = control + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return head + frame * frames + b"\x3b"


STILL = _animated(1)
ANIMATED = _animated(7, ms=30)
SAMPLE = (TESTDATA / "images" / "animated.gif").read_bytes()
SEEDS = (STILL, ANIMATED, SAMPLE, canvas_bomb(300, 200, 5))


def test_still_gif_has_one_frame_and_ends_at_its_trailer() -> None:
    layout = gif.walk(STILL)
    assert (layout.width, layout.height, layout.frames) == (20, 16, 1)
    assert layout.complete and layout.end == len(STILL) and layout.trailing == 0


def test_animation_frames_and_delays_match_pillow() -> None:
    layout = gif.walk(ANIMATED)
    with Image.open(io.BytesIO(ANIMATED)) as im:
        assert layout.frames == im.n_frames == 7
    assert layout.duration == pytest.approx(7 * 0.03)


def test_testdata_sample_matches_pillow() -> None:
    layout = gif.walk(SAMPLE)
    with Image.open(io.BytesIO(SAMPLE)) as im:
        assert layout.frames == im.n_frames and (layout.width, layout.height) == im.size
    assert layout.trailing == 0


def test_a_large_canvas_of_many_frames_is_counted_without_decoding() -> None:
    data = canvas_bomb(5000, 5000, 2000)
    started = time.monotonic()
    layout = gif.walk(data)
    assert time.monotonic() - started < 0.5
    assert (layout.width, layout.height, layout.frames) == (5000, 5000, 2000)
    assert layout.duration == pytest.approx(20.0)


def test_counting_stops_at_max_frames() -> None:
    layout = gif.walk(canvas_bomb(10, 10, 50), max_frames=20)
    assert layout.frames == 20 and not layout.complete and layout.trailing == 0


def test_a_frame_beyond_the_screen_grows_the_canvas_as_decoders_do() -> None:
    data = bytearray(canvas_bomb(10, 10, 2))
    second = data.rindex(b"\x2c")
    data[second + 1:second + 9] = struct.pack("<HHHH", 300, 400, 5, 6)
    layout = gif.walk(bytes(data))
    assert (layout.width, layout.height) == (305, 406)


def test_appended_script_is_trailing_and_comments_are_counted() -> None:
    payload = b"*/=1;alert(document.cookie);/*"
    comment = b"\x21\xfe\x05hello\x00"
    data = STILL[:-1] + comment + b"\x3b" + payload
    layout = gif.walk(data)
    assert layout.complete and layout.trailing == len(payload)
    assert layout.comment_bytes == 5


def test_a_gif_without_trailer_keeps_its_whole_frames() -> None:
    data = ANIMATED[:-1]  # many GIFs in the wild end like this
    layout = gif.walk(data)
    assert layout.frames == 7 and not layout.complete


@pytest.mark.parametrize(("data", "message"), [
    (b"", "no GIF header"),
    (b"GIF89a\x01\x00", "no GIF header"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "no GIF header"),
    (STILL[:20], "truncated"),
    (canvas_bomb(4, 4, 1)[:19] + b"\x99", "unknown block"),  # 13 + a 2-colour table
])
def test_damaged_bytes_raise_not_a_gif(data: bytes, message: str) -> None:
    with pytest.raises(gif.NotAGif, match=message):
        gif.walk(data)


def test_not_a_gif_is_our_bad_input() -> None:
    with pytest.raises(FormatError) as info:
        gif.walk(b"GIF")
    assert isinstance(info.value, BadInput)


def test_a_flood_of_tiny_blocks_is_too_complex_not_a_long_loop() -> None:
    tiny = canvas_bomb(4, 4, 1)
    head = tiny[:19]  # header, screen and its 2-colour table
    # One-byte sub-blocks in one endless comment, then empty extensions.
    for flood in (b"\x21\xfe" + b"\x01A" * (gif.MAX_SUB_BLOCKS + 40_000) + b"\x00",
                  b"\x21\xfe\x00" * (gif.MAX_BLOCKS + 1)):
        started = time.monotonic()
        with pytest.raises(TooComplex, match="blocks"):
            gif.walk(head + flood + tiny[len(head):])
        assert time.monotonic() - started < 3


# ------------------------------------------------------------------ properties

def _mutated(seed: bytes, at: int, value: bytes) -> bytes:
    i = at % len(seed)
    return seed[:i] + value + seed[i + 1:]


block_soup = st.lists(
    st.sampled_from([b"\x21", b"\xf9", b"\xfe", b"\x2c", b"\x3b", b"\x00", b"\x01", b"\x04",
                     b"\xff", b"\x80", b"\x02\x02\x44\x01\x00", b"abc"]),
    max_size=80).map(lambda parts: canvas_bomb(4, 4, 1)[:19] + b"".join(parts))
gif_like = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: b"GIF89a" + b),
    block_soup,
    st.builds(_mutated, st.sampled_from(SEEDS), st.integers(0, 1 << 20), st.binary(max_size=8)),
    st.builds(lambda seed, at: seed[:at % (len(seed) + 1)], st.sampled_from(SEEDS), st.integers(0, 1 << 20)),
)


@PROPERTY
@given(gif_like, st.integers(1, 20))
def test_any_bytes_give_a_layout_or_not_a_gif(data: bytes, max_frames: int) -> None:
    try:
        layout = gif.walk(data, max_frames=max_frames)
    except gif.NotAGif:
        return
    assert data[:6] in gif.SIGNATURES
    assert 1 <= layout.frames <= max_frames or (layout.frames == 0 and layout.complete)
    assert 13 <= layout.end <= layout.size == len(data)
    assert 0 <= layout.trailing <= len(data) - 13
    assert layout.duration >= 0 and layout.comment_bytes >= 0
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    assert layout.width >= width and layout.height >= height


@PROPERTY
@given(gif_like)
def test_a_file_read_in_tiny_windows_walks_like_the_bytes(data: bytes) -> None:
    try:
        expected: gif.GifLayout | str = gif.walk(data)
    except gif.NotAGif as exc:
        expected = exc.message
    with file_source(data) as src:
        try:
            got: gif.GifLayout | str = gif.walk(src)
        except gif.NotAGif as exc:
            got = exc.message
    assert got == expected
