"""mediaprep.formats.jpeg: the marker walk on real JPEGs (Pillow-made and testdata),
on hostile and damaged bytes, and as a property: any bytes give a layout or
NotAJpeg, never another exception, in bounded time."""
from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from source_helpers import file_source

from mediaprep.errors import BadInput, ExitCode
from mediaprep.formats import FormatError, TooComplex, jpeg
from mediaprep.formats.source import Source

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])


def _jpeg(size: tuple[int, int] = (64, 48), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.effect_noise(size, 40).convert("RGB").save(buf, "JPEG", **save)
    return buf.getvalue()


BASELINE = _jpeg(quality=80)
PROGRESSIVE = _jpeg(quality=60, progressive=True)
WITH_RESTARTS = _jpeg(restart_marker_blocks=1)
WITH_METADATA = (TESTDATA / "images" / "compliant_with_metadata.jpg").read_bytes()
SEEDS = (BASELINE, PROGRESSIVE, WITH_RESTARTS, WITH_METADATA)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload


def _insert_after_soi(data: bytes, extra: bytes) -> bytes:
    return data[:2] + extra + data[2:]


def _check_layout(data: bytes, layout: jpeg.JpegLayout) -> None:
    """What every layout the walk returns must satisfy."""
    segs = layout.segments
    assert segs[0] == jpeg.Segment(jpeg.SOI, 0, 2)
    assert segs[-1].marker == jpeg.EOI and segs[-1].end - segs[-1].start == 2
    assert layout.size == len(data) and 0 < layout.end <= len(data)
    assert layout.trailing == len(data) - layout.end
    for before, after in zip(segs, segs[1:], strict=False):
        assert before.start < before.end <= after.start
    # Scans are SOS segments inside the image: never more than the FF DA pairs
    # before its end (metadata and appended bytes may hold more of them).
    assert layout.scans <= data[:layout.end].count(b"\xff\xda")
    assert layout.stripped_size == len(jpeg.strip_metadata(data, layout))


# ------------------------------------------------------------------ real files

def test_baseline_jpeg_one_scan_nothing_trailing() -> None:
    layout = jpeg.walk(BASELINE)
    _check_layout(BASELINE, layout)
    assert layout.scans == 1
    assert (layout.width, layout.height) == (64, 48)
    assert layout.end == len(BASELINE) and layout.trailing == 0
    assert [s.marker for s in layout.segments][:2] == [jpeg.SOI, 0xE0]  # JFIF right after SOI


def test_progressive_jpeg_counts_every_scan() -> None:
    layout = jpeg.walk(PROGRESSIVE)
    _check_layout(PROGRESSIVE, layout)
    assert layout.scans > 1
    assert layout.scans == PROGRESSIVE.count(b"\xff\xda")  # no metadata here to hold others


def test_restart_markers_stay_inside_the_scan() -> None:
    layout = jpeg.walk(WITH_RESTARTS)
    assert layout.scans == 1 and layout.trailing == 0
    assert not [s for s in layout.segments if 0xD0 <= s.marker <= 0xD7]


def test_appended_payload_ending_in_eoi_is_trailing() -> None:
    # A polyglot: a zip and a script after the image, itself ending in FF D9.
    payload = b"PK\x03\x04" + b"\0" * 26 + b"evil.sh#!/bin/sh\n\xff\xd9"
    layout = jpeg.walk(BASELINE + payload)
    assert layout.end == len(BASELINE) and layout.trailing == len(payload)


def test_fill_bytes_before_a_marker_are_accepted() -> None:
    data = BASELINE[:2] + b"\xff" * 1000 + BASELINE[2:]
    layout = jpeg.walk(data)
    assert layout.trailing == 0 and layout.scans == 1


@pytest.mark.parametrize("stray", [b"\x00\x00\x00\x00", b"photoshop pad", b"\xff\x00\x12", b"\x00" * 5000])
def test_stray_bytes_between_segments_are_skipped_as_libjpeg_does(stray: bytes) -> None:
    # Photoshop and some cameras leave padding between segments; libjpeg (and so
    # Pillow and every browser) skips it with a warning and decodes the picture.
    app1 = _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>")
    data = BASELINE[:2] + app1 + stray + BASELINE[2:]
    layout = jpeg.walk(data)
    _check_layout(data, layout)
    assert layout.trailing == 0 and layout.scans == 1
    stripped = jpeg.strip_metadata(data)  # the stray bytes go with the metadata
    assert stripped == BASELINE
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(BASELINE)) as b:
        assert a.tobytes() == b.tobytes()


def test_sos_pairs_in_metadata_comments_and_trailing_bytes_are_not_scans() -> None:
    # An APP1 holding a small JPEG (as an EXIF thumbnail does) carries its own SOS;
    # a comment or appended bytes may hold FF DA by chance or on purpose.
    data = _insert_after_soi(BASELINE, _segment(0xE1, b"Exif\0\0" + _jpeg((8, 8)))
                             + _segment(0xFE, b"\xff\xda" * 500)) + b"\xff\xda" * 500
    layout = jpeg.walk(data)
    assert layout.scans == 1 and data.count(b"\xff\xda") > 1000
    assert layout.metadata_bytes > 1000 and layout.trailing == 1000


def test_the_walk_reads_a_file_without_touching_its_tail(tmp_path: Path) -> None:
    # 2 GB of zeros after the image: a sparse file, walked in a few reads.
    path = tmp_path / "tail.jpg"
    path.write_bytes(BASELINE)
    with open(path, "r+b") as fh:
        fh.truncate(len(BASELINE) + (2 << 30))
    started = time.monotonic()
    with open(path, "rb") as fh:
        layout = jpeg.walk(Source.of_file(fh))
    assert time.monotonic() - started < 1.0
    assert layout.end == len(BASELINE) and layout.trailing == 2 << 30


def test_a_flood_of_segments_is_too_complex_not_a_long_loop() -> None:
    data = _insert_after_soi(BASELINE, b"\xff\x01" * (jpeg.MAX_SEGMENTS + 1))
    with pytest.raises(TooComplex, match="segments"):
        jpeg.walk(data)


def test_strip_keeps_pixels_and_drops_metadata_and_trailing() -> None:
    data = WITH_METADATA + b"trailing junk"
    before = jpeg.walk(data)
    assert any(jpeg.is_metadata(s.marker) for s in before.segments)
    stripped = jpeg.strip_metadata(data)
    after = jpeg.walk(stripped)
    assert after.trailing == 0 and len(stripped) < len(WITH_METADATA)
    assert not any(jpeg.is_metadata(s.marker) for s in after.segments)
    with Image.open(io.BytesIO(WITH_METADATA)) as a, Image.open(io.BytesIO(stripped)) as b:
        assert a.tobytes() == b.tobytes()
        assert not b.info.get("exif")


def test_strip_keeps_jfif_and_adobe_segments() -> None:
    data = _insert_after_soi(BASELINE, _segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01")
                             + _segment(0xFE, b"a comment") + _segment(0xE2, b"ICC_PROFILE\0"))
    kept = [s.marker for s in jpeg.walk(jpeg.strip_metadata(data)).segments]
    assert 0xE0 in kept and 0xEE in kept
    assert 0xFE not in kept and 0xE2 not in kept


def test_clean_jpeg_strips_to_itself() -> None:
    assert jpeg.strip_metadata(BASELINE) == BASELINE


# ------------------------------------------------------------------ damaged bytes

@pytest.mark.parametrize(("data", "message"), [
    (b"", "no SOI"),
    (b"\x89PNG\r\n\x1a\n", "no SOI"),
    (BASELINE[:len(BASELINE) // 2], "truncated"),
    (BASELINE[:-2], "truncated"),
    (b"\xff\xd8\xff", "no EOI"),
    (b"\xff\xd8\xff\xe1\x00", "no EOI"),
    (b"\xff\xd8\xff\xe1\x00\x01", "past the end"),  # a length below 2
    (b"\xff\xd8\xff\xe1\x10\x00abc", "past the end"),
    (b"\xff\xd8junk", "no EOI"),  # stray bytes are skipped, as libjpeg does; no EOI follows
])
def test_damaged_bytes_raise_not_a_jpeg(data: bytes, message: str) -> None:
    with pytest.raises(jpeg.NotAJpeg, match=message):
        jpeg.walk(data)
    with pytest.raises(jpeg.NotAJpeg):
        jpeg.strip_metadata(data)


def test_not_a_jpeg_is_our_bad_input() -> None:
    with pytest.raises(FormatError) as info:
        jpeg.walk(b"GIF89a")
    assert isinstance(info.value, BadInput)
    assert info.value.exit_code == ExitCode.BAD_INPUT


def test_a_megabyte_of_fill_bytes_is_walked_in_c_time() -> None:
    started = time.monotonic()
    with pytest.raises(jpeg.NotAJpeg):
        jpeg.walk(b"\xff\xd8" + b"\xff" * 5_000_000)
    with pytest.raises(jpeg.NotAJpeg):  # a scan of stuffed FF 00 pairs that never ends
        jpeg.walk(BASELINE[:BASELINE.index(b"\xff\xda") + 14] + b"\xff\x00" * 2_000_000)
    assert time.monotonic() - started < 2.0


# ------------------------------------------------------------------ properties

def _mutated(seed: bytes, at: int, value: bytes) -> bytes:
    i = at % len(seed)
    return seed[:i] + value + seed[i + 1:]


any_bytes = st.binary(max_size=2048)
after_soi = st.binary(max_size=512).map(lambda b: b"\xff\xd8" + b)
# Marker-shaped noise: reaches the length, fill, SOS and EOI branches far more
# often than uniform bytes do.
marker_soup = st.lists(
    st.sampled_from([b"\xff", b"\x00", b"\xd9", b"\xda", b"\xd0", b"\xe1", b"\xfe", b"\x01",
                     b"\x00\x02", b"\x00\x04", b"\x00\x08", b"\x12\x34", b"abcd"]),
    max_size=80).map(lambda parts: b"\xff\xd8" + b"".join(parts))
mutated_real = st.builds(_mutated, st.sampled_from(SEEDS), st.integers(0, 1 << 20),
                         st.binary(min_size=0, max_size=8))
cut_real = st.builds(lambda seed, at: seed[:at % (len(seed) + 1)], st.sampled_from(SEEDS),
                     st.integers(0, 1 << 20))
jpeg_like = st.one_of(any_bytes, after_soi, marker_soup, mutated_real, cut_real)


@PROPERTY
@given(jpeg_like)
def test_any_bytes_give_a_layout_or_not_a_jpeg(data: bytes) -> None:
    try:
        layout = jpeg.walk(data)
    except jpeg.NotAJpeg:
        return
    _check_layout(data, layout)


@PROPERTY
@given(jpeg_like)
def test_strip_gives_a_clean_jpeg_or_not_a_jpeg(data: bytes) -> None:
    try:
        stripped = jpeg.strip_metadata(data)
    except jpeg.NotAJpeg:
        return
    layout = jpeg.walk(stripped)
    assert layout.trailing == 0
    assert not any(jpeg.is_metadata(s.marker) for s in layout.segments)
    assert jpeg.strip_metadata(stripped) == stripped  # idempotent
    assert layout.scans == jpeg.walk(data).scans  # the image data is all still there


@PROPERTY
@given(jpeg_like)
def test_a_file_read_in_tiny_windows_walks_like_the_bytes(data: bytes) -> None:
    try:
        expected: jpeg.JpegLayout | str = jpeg.walk(data)
    except jpeg.NotAJpeg as exc:
        expected = exc.message
    with file_source(data) as src:
        try:
            got: jpeg.JpegLayout | str = jpeg.walk(src)
        except jpeg.NotAJpeg as exc:
            got = exc.message
    assert got == expected
