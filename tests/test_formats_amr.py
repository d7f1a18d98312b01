"""mediaprep.formats.amr: the AMR-NB frame walk on files the bundled ffmpeg wrote,
on frames built by hand for every frame type, on damaged bytes, and as a
property: any bytes give a frame count or NotAmrNb, never another exception, in
bounded time."""
from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediaprep.errors import BadInput
from mediaprep.formats import FormatError, amr

PROPERTY = settings(max_examples=300, deadline=timedelta(milliseconds=500),
                    suppress_health_check=[HealthCheck.too_slow])
# Bytes per frame including the ToC byte (3GPP TS 26.101 table 1a), written out
# here rather than read from the module, so the test checks the table too.
FRAME_BYTES = {0: 13, 1: 14, 2: 16, 3: 18, 4: 20, 5: 21, 6: 27, 7: 32, 8: 6, 15: 1}


def _frame(kind: int, quality: bool = True, fill: int = 0x5A) -> bytes:
    toc = (kind << 3) | (0x04 if quality else 0)  # F=0, FT, Q, P=0
    return bytes([toc]) + bytes([fill]) * (FRAME_BYTES[kind] - 1)


@pytest.fixture(scope="module")
def encoded(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of a tone, encoded by ffmpeg's AMR-NB encoder at 12.2 kbit/s."""
    from mediaprep.tools.ffmpeg import get_ffmpeg

    ff = get_ffmpeg()
    if not ff.has_encoder("libopencore_amrnb"):
        pytest.skip("this ffmpeg has no AMR-NB encoder")
    out = tmp_path_factory.mktemp("amr") / "tone.amr"
    subprocess.run([ff.path, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=300:duration=1",
                    "-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k",
                    "-f", "amr", str(out)], check=True, timeout=60)
    return Path(out).read_bytes()


def test_ffmpeg_output_is_whole_12k2_frames(encoded: bytes) -> None:
    frames = amr.count_frames(encoded)
    # 50 frames a second; the encoder flushes one more than the samples fill.
    assert frames in (50, 51)
    assert amr.duration_of(encoded) == pytest.approx(frames * 0.02)
    assert len(encoded) == amr.bytes_for(frames)  # every frame is a full 12.2k speech frame
    offsets = amr.frame_offsets(encoded)
    assert offsets[0] == len(amr.MAGIC) and offsets[-1] == len(encoded)
    assert all(b - a == amr.MR122_FRAME_BYTES for a, b in zip(offsets, offsets[1:], strict=False))


def test_every_frame_type_has_its_size() -> None:
    data = amr.MAGIC + b"".join(_frame(kind) for kind in FRAME_BYTES)
    offsets = amr.frame_offsets(data)
    assert [b - a for a, b in zip(offsets, offsets[1:], strict=False)] == list(FRAME_BYTES.values())
    assert amr.count_frames(data) == len(FRAME_BYTES)


def test_header_alone_is_zero_frames() -> None:
    assert amr.count_frames(amr.MAGIC) == 0
    assert amr.duration_of(amr.MAGIC) == 0.0


@pytest.mark.parametrize(("data", "message"), [
    (b"", "header"),
    (b"#!AMR-WB\n" + _frame(7), "header"),  # AMR-WB is another format
    (amr.MAGIC + bytes([(9 << 3) | 4]), "bad or truncated"),  # frame types 9-14 are not ours
    (amr.MAGIC + bytes([(14 << 3) | 4]), "bad or truncated"),
    (amr.MAGIC + bytes([(7 << 3) | 4 | 1]), "bad frame header"),  # a padding bit set
    (amr.MAGIC + bytes([0x80 | (7 << 3)]), "bad frame header"),  # F bit set: not storage format
    (amr.MAGIC + _frame(7)[:-1], "bad or truncated"),
    (amr.MAGIC + _frame(7) + b"junk", "at byte 38"),
])
def test_damaged_bytes_raise_not_amr_nb(data: bytes, message: str) -> None:
    with pytest.raises(amr.NotAmrNb, match=message):
        amr.count_frames(data)


def test_not_amr_nb_is_our_bad_input() -> None:
    with pytest.raises(FormatError) as info:
        amr.count_frames(b"RIFF")
    assert isinstance(info.value, BadInput)


# ------------------------------------------------------------------ properties

valid_frames = st.lists(st.tuples(st.sampled_from(sorted(FRAME_BYTES)), st.booleans(), st.integers(0, 255)),
                        max_size=200)
amr_like = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: amr.MAGIC + b),
    valid_frames.map(lambda fs: amr.MAGIC + b"".join(_frame(*f) for f in fs)),
)


@PROPERTY
@given(amr_like)
def test_any_bytes_give_frames_or_not_amr_nb(data: bytes) -> None:
    try:
        offsets = amr.frame_offsets(data)
    except amr.NotAmrNb:
        return
    assert data.startswith(amr.MAGIC)
    assert offsets[0] == len(amr.MAGIC) and offsets[-1] == len(data)
    assert all(b - a in FRAME_BYTES.values() for a, b in zip(offsets, offsets[1:], strict=False))
    assert amr.count_frames(data) == len(offsets) - 1


@PROPERTY
@given(valid_frames)
def test_well_formed_frames_are_counted_exactly(frames: list[tuple[int, bool, int]]) -> None:
    data = amr.MAGIC + b"".join(_frame(*f) for f in frames)
    assert amr.count_frames(data) == len(frames)
    assert amr.duration_of(data) == pytest.approx(len(frames) * amr.FRAME_SECONDS)


@PROPERTY
@given(st.integers(0, 10_000))
def test_bytes_for_matches_a_file_of_12k2_frames(frames: int) -> None:
    assert amr.bytes_for(frames) == len(amr.MAGIC + _frame(7) * frames)
