"""mediaprep.formats.heif: the item layout of real HEIC (pillow-heif's libheif encoder)
and AVIF (Pillow's libavif encoder) files, of grids, rotations and 10-bit HDR; of
hand-built hostile layouts; and as a property: any bytes give a layout or NotAHeif,
never another exception, in bounded time."""
from __future__ import annotations

import io
import struct
import sys
import time
from datetime import timedelta
from pathlib import Path

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from mediaprep.formats import heif

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "testdata"))
import make_hostile  # noqa: E402

pillow_heif.register_heif_opener()
PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])


def _encode(im: Image.Image, fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **save)
    return buf.getvalue()


def _layout(data: bytes) -> heif.HeifLayout:
    return heif.read_layout(io.BytesIO(data))


PICTURE = Image.linear_gradient("L").resize((200, 150)).convert("RGB")
HEIC = _encode(PICTURE, "HEIF", quality=60)
GRID = _encode(PICTURE, "HEIF", quality=60, tile_size=64)
AVIF = _encode(PICTURE, "AVIF", quality=60)


def test_heic_still() -> None:
    layout = _layout(HEIC)
    assert layout.major_brand == b"heic" and b"mif1" in layout.brands
    assert layout.primary_type == b"hvc1" and layout.coding == {b"hvc1"}
    assert (layout.width, layout.height, layout.tiles) == (200, 150, 0)
    assert layout.bits == 8 and not layout.hdr and layout.rotation == 0 and layout.mirror is None


def test_grid_counts_its_tiles() -> None:
    layout = _layout(GRID)
    assert layout.primary_type == b"grid" and layout.coding == {b"hvc1"}
    assert (layout.width, layout.height) == (200, 150)
    assert layout.tiles == 4 * 3 and (layout.tile_width, layout.tile_height) == (64, 64)
    assert layout.items >= 13  # the grid and its tiles


def test_avif_still() -> None:
    layout = _layout(AVIF)
    assert layout.major_brand == b"avif" and layout.coding == {b"av01"}
    assert (layout.width, layout.height) == (200, 150)


@pytest.mark.parametrize(("orientation", "rotation", "mirrored"), [
    (1, 0, False), (3, 180, False), (6, 270, False), (8, 90, False), (2, None, True), (5, None, True),
])
def test_rotation_and_mirroring_boxes(orientation: int, rotation: int | None, mirrored: bool) -> None:
    # libheif turns the EXIF orientation it is given into irot/imir boxes (23008-12 6.5.10-12).
    exif = Image.Exif()
    exif[0x0112] = orientation
    layout = _layout(_encode(PICTURE, "HEIF", quality=40, exif=exif.tobytes()))
    if rotation is not None:
        assert layout.rotation == rotation
    assert (layout.mirror is not None) == mirrored
    assert layout.has_exif


def test_ten_bit_pq_is_hdr() -> None:
    data = struct.pack("<H", 512 << 6) * (3 * 32 * 16)
    image = pillow_heif.from_bytes(mode="RGB;16", size=(32, 16), data=data)
    buf = io.BytesIO()
    image.save(buf, quality=60, color_primaries=9, transfer_characteristics=16, matrix_coefficients=9,
               full_range_flag=1)
    layout = _layout(buf.getvalue())
    assert layout.bits == 10 and layout.hdr
    assert layout.nclx == heif.Nclx(primaries=9, transfer=16, matrix=9, full_range=True)


def test_exif_and_xmp_items_are_seen() -> None:
    samples = make_hostile.heif_samples()
    for data in samples.values():
        layout = _layout(data)
        assert layout.has_exif and layout.has_xmp


def test_hand_built_grid_and_items() -> None:
    data = make_hostile._heif_by_hand([(1, b"grid", (1024, 1024))] + [(i, b"hvc1", (512, 512)) for i in (2, 3, 4, 5)],
                                      {1: [2, 3, 4, 5]})
    layout = _layout(data)
    assert (layout.primary_type, layout.tiles, layout.items) == (b"grid", 4, 5)
    assert (layout.tile_width, layout.tile_height) == (512, 512)


def test_reference_cycle_is_bounded() -> None:
    # A grid whose tiles are the grid itself, 4000 times over: the walk stops.
    data = make_hostile._heif_by_hand([(1, b"grid", (64, 64))], {1: [1] * 4000})
    started = time.monotonic()
    layout = _layout(data)
    assert time.monotonic() - started < 2.0
    assert layout.tiles <= heif.MAX_ENTRIES


@pytest.mark.parametrize(("data", "message"), [
    (b"", "no HEIF meta"),
    (HEIC[:40], "no HEIF meta|cut short|no primary"),
    (b"\0\0\0\x10ftypheic\0\0\0\0", "no HEIF meta"),
    (b"\0\0\0\x0cmeta\0\0\0\0", "no primary"),
])
def test_damaged_bytes_raise_not_a_heif(data: bytes, message: str) -> None:
    with pytest.raises(heif.NotAHeif, match=message):
        _layout(data)


def _mutated(seed: bytes, at: int, value: bytes) -> bytes:
    i = at % len(seed)
    return seed[:i] + value + seed[i + 1:]


heif_like = st.one_of(
    st.binary(max_size=1024),
    st.builds(_mutated, st.sampled_from((HEIC, GRID, AVIF)), st.integers(0, 1 << 20), st.binary(max_size=8)),
    st.builds(lambda seed, at: seed[:at % (len(seed) + 1)], st.sampled_from((HEIC, GRID, AVIF)),
              st.integers(0, 1 << 20)),
)


@PROPERTY
@given(heif_like)
def test_any_bytes_give_a_layout_or_not_a_heif(data: bytes) -> None:
    try:
        layout = _layout(data)
    except heif.NotAHeif:
        return
    assert layout.items >= 1 and layout.width >= 0 and layout.tiles >= 0
