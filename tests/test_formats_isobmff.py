"""mediaprep.formats.isobmff: the MP4 box walk on testdata videos, on boxes built
by hand (32- and 64-bit sizes, size 0, both mvhd versions), on damaged bytes, and
as a property: any bytes give an answer or None, never an exception, in bounded
time."""
from __future__ import annotations

import io
import struct
import time
from datetime import timedelta
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediaprep.formats import isobmff

VIDEO = Path(__file__).resolve().parent.parent / "testdata" / "video"
PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])


def _box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _large_box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def _mvhd(scale: int, duration: int, version: int = 0) -> bytes:
    if version == 1:
        body = struct.pack(">B3xQQIQ", 1, 0, 0, scale, duration)
    else:
        body = struct.pack(">B3xIIII", 0, 0, 0, scale, duration)
    return _box(b"mvhd", body + b"\0" * 80)


def _read(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


# ------------------------------------------------------------------ real files

def test_faststart_file_has_moov_first_and_its_duration() -> None:
    path = VIDEO / "compliant.mp4"
    assert isobmff.moov_before_mdat(path) is True
    with av.open(str(path)) as c:
        assert c.duration is not None
        assert isobmff.mvhd_duration(path) == pytest.approx(c.duration / av.time_base, abs=0.05)


def test_camera_file_has_mdat_first() -> None:
    path = VIDEO / "bikes_short.mp4"
    assert isobmff.moov_before_mdat(path) is False
    assert isobmff.mvhd_duration(path) == pytest.approx(4.0)


def test_a_path_and_an_open_file_give_the_same_facts() -> None:
    path = VIDEO / "bikes_short.mp4"
    data = path.read_bytes()
    assert isobmff.moov_before_mdat(_read(data)) == isobmff.moov_before_mdat(path)
    assert isobmff.mvhd_duration(_read(data)) == isobmff.mvhd_duration(path)


def test_top_level_boxes_of_a_real_file() -> None:
    path = VIDEO / "compliant.mp4"
    with open(path, "rb") as fh:
        kinds = [b.type for b in isobmff.boxes(fh, 0, path.stat().st_size)]
    assert kinds[0] == b"ftyp" and kinds.index(b"moov") < kinds.index(b"mdat")


# ------------------------------------------------------------------ built boxes

def test_version_0_and_1_movie_headers() -> None:
    v0 = _box(b"ftyp", b"isom") + _box(b"moov", _mvhd(1000, 2500)) + _box(b"mdat", b"x" * 10)
    v1 = _box(b"moov", _mvhd(90000, 45 * 90000, version=1))
    assert isobmff.mvhd_duration(_read(v0)) == pytest.approx(2.5)
    assert isobmff.mvhd_duration(_read(v1)) == pytest.approx(45.0)
    assert isobmff.moov_before_mdat(_read(v0)) is True


def test_64_bit_sizes_and_size_zero() -> None:
    data = _large_box(b"mdat", b"x" * 100) + _large_box(b"moov", _mvhd(600, 600))
    assert isobmff.moov_before_mdat(_read(data)) is False
    assert isobmff.mvhd_duration(_read(data)) == pytest.approx(1.0)
    # Size 0: the box runs to the end of the file (a camera still writing mdat).
    to_end = _box(b"ftyp", b"isom") + struct.pack(">I4s", 0, b"mdat") + b"\0" * 64
    with io.BytesIO(to_end) as fh:
        found = list(isobmff.boxes(fh, 0, len(to_end)))
    assert [b.type for b in found] == [b"ftyp", b"mdat"] and found[-1].end == len(to_end)


def test_no_moov_or_mdat_is_none() -> None:
    data = _box(b"ftyp", b"isom") + _box(b"free", b"\0" * 8)
    assert isobmff.moov_before_mdat(_read(data)) is None
    assert isobmff.mvhd_duration(_read(data)) is None


@pytest.mark.parametrize("data", [
    b"",
    b"\0\0\0",
    _box(b"moov", _mvhd(0, 1000)),  # timescale 0
    _box(b"moov", _box(b"mvhd", b"\0" * 8)),  # cut-off movie header
    _box(b"moov", _box(b"mvhd", b"\x01" + b"\0" * 24)),  # version 1, too short for its fields
    struct.pack(">I4s", 4, b"moov") + b"\0" * 64,  # size smaller than the header
    struct.pack(">I4s", 1, b"moov"),  # 64-bit size announced, not there
])
def test_damaged_headers_give_none(data: bytes) -> None:
    assert isobmff.mvhd_duration(_read(data)) is None


def test_boxes_inside_a_box_stop_at_its_end() -> None:
    inner = _box(b"mvhd", b"\0" * 4) + _box(b"trak")
    data = _box(b"moov", inner) + _box(b"trak")
    with io.BytesIO(data) as fh:
        (moov, trak) = isobmff.boxes(fh, 0, len(data))
        assert [b.type for b in isobmff.boxes(fh, moov.body, moov.end)] == [b"mvhd", b"trak"]
    assert trak.type == b"trak"


def test_millions_of_empty_boxes_are_bounded() -> None:
    data = _box(b"free") * 200_000 + _box(b"moov")
    started = time.monotonic()
    assert isobmff.moov_before_mdat(_read(data)) is None  # gives up after MAX_BOXES
    assert time.monotonic() - started < 2.0


# ------------------------------------------------------------------ properties

kinds = st.sampled_from([b"moov", b"mdat", b"mvhd", b"ftyp", b"free", b"trak"])
box_soup = st.lists(
    st.one_of(st.builds(lambda k, p: _box(k, p), kinds, st.binary(max_size=40)),
              st.builds(lambda k, p: _large_box(k, p), kinds, st.binary(max_size=40)),
              st.builds(lambda k: struct.pack(">I4s", 0, k), kinds),
              st.binary(max_size=12)),
    max_size=12).map(b"".join)
nested = st.builds(lambda head, body, tail: head + _box(b"moov", body) + tail,
                   box_soup, box_soup, box_soup)
mp4_like = st.one_of(st.binary(max_size=1024), box_soup, nested)


@PROPERTY
@given(mp4_like)
def test_any_bytes_give_an_answer_or_none(data: bytes) -> None:
    assert isobmff.moov_before_mdat(_read(data)) in (True, False, None)
    duration = isobmff.mvhd_duration(_read(data))
    assert duration is None or duration >= 0.0


@PROPERTY
@given(mp4_like)
def test_boxes_stay_inside_their_bounds(data: bytes) -> None:
    with io.BytesIO(data) as fh:
        previous_end = 0
        for box in isobmff.boxes(fh, 0, len(data)):
            assert previous_end <= box.start < box.body <= box.end <= len(data)
            assert len(box.type) == 4
            previous_end = box.end
