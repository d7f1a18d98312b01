"""Failures said plainly: a damaged input is exit 4 with one line naming the file once;
ffmpeg failing is exit 6; no raw ffmpeg log lines, pointers, error numbers or
repeated paths; no Pillow warning printed. Damaged files are made here."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from PIL import Image

import mediaprep
from mediaprep.errors import BadInput, ExitCode, ToolFailed
from mediaprep.tools import ffmpeg as ff
from mediaprep.tools.ffmpeg_errors import explain

EXE = str(Path(sys.executable).parent / "mediaprep")


def _make(path: Path, *args: str) -> Path:
    subprocess.run([ff.get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                    *args, str(path)], check=True, timeout=120, capture_output=True)
    return path


def _garbled_mp4(path: Path) -> Path:
    """A faststart MP4 whose header is intact and whose media data is garbage: every
    probe passes, every decoder fails."""
    _make(path, "-f", "lavfi", "-i", "testsrc=d=2:s=160x120:r=10", "-f", "lavfi", "-i", "sine=d=2",
          "-c:v", "libx264", "-c:a", "flac", "-movflags", "+faststart", "-f", "mp4")
    data = bytearray(path.read_bytes())
    start = data.index(b"mdat") + 4
    data[start:] = bytes((i * 7) & 0xFF for i in range(start, len(data)))
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("role", [[], ["--as", "voice"]])
def test_damaged_media_is_exit_4_in_one_plain_line(tmp_path: Path, role: list[str]) -> None:
    _garbled_mp4(tmp_path / "holiday.mp4")
    run = subprocess.run([EXE, "prepare", "holiday.mp4", "-o", "out", *role], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == ExitCode.BAD_INPUT, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mediaprep: error: holiday.mp4: ")
    line = lines[0]
    assert line.count("holiday.mp4") == 1 and str(tmp_path) not in line
    assert "damaged" in line and "export or download it again" in line
    for raw in ("[aist#", "[dec:", " @ 0x", "-1145393733", "Terminating thread"):
        assert raw not in line
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# Real ffmpeg 9 stderr, as captured from failed runs.
_ERED = ("[aist#0:1/flac @ 0x56418e42a380] [dec:flac @ 0x56418e38dd80] Terminating thread with return code "
         "-1145393733 (Error number -1145393733 occurred)\n")
_NO_MOOV = ("[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55d1] moov atom not found\n"
            "[in#0 @ 0x55d0] Error opening input: Invalid data found when processing input\n"
            "Error opening input file file:/home/u/clip.mp4.\n"
            "Error opening input files: Invalid data found when processing input\n")
_X264 = ("[libx264 @ 0x5638965768c0] requested bitrate is too low. estimated minimum is 6 kbps\n"
         "[vost#0:0/libx264 @ 0x563896575d80] [enc:libx264 @ 0x5638965767c0] Error while opening encoder - maybe "
         "incorrect parameters such as bit_rate, rate, width or height.\n"
         "[vf#0:0 @ 0x56389657aec0] Task finished with error code: -542398533 (Generic error in an external library)\n"
         "[out#0/mp4 @ 0x563896574f40] Nothing was written into output file, because at least one of its streams "
         "received no packets.\n")
_FILTER = ("[Parsed_thumbnail_8 @ 0x556afa5ae580] Value 1.000000 for parameter 'n' out of range [2 - 2.14748e+09]\n"
           "[fc#0 @ 0x556afa58f700] Error applying option 'n' to filter 'thumbnail': Numerical result out of range\n"
           "Error : Numerical result out of range\n")
_ARGV = ["ffmpeg", "-f", "mov", "-i", "file:/home/u/clip.mp4", "-f", "null", "-"]


@pytest.mark.parametrize("stderr, kind, words", [
    (_ERED, BadInput, "the file's audio is damaged: too much of it could not be decoded"),
    (_NO_MOOV, BadInput, "the file's data is damaged: moov atom not found"),
    (_X264, ToolFailed, "ffmpeg failed: requested bitrate is too low. estimated minimum is 6 kbps"),
    (_FILTER, ToolFailed, "ffmpeg failed: Value 1.000000 for parameter 'n' out of range [2 - 2.14748e+09]"),
])
def test_failure_text_is_mapped_to_its_cause(stderr: str, kind: type, words: str) -> None:
    got = explain(ToolFailed("ffmpeg failed: whatever", detail=stderr), _ARGV)
    assert type(got) is kind
    assert got.message == words
    assert got.path == Path("/home/u/clip.mp4") and got.detail == stderr
    assert "0x" not in got.one_line() and got.one_line().count("clip.mp4") == 1


def test_crash_is_the_tools_failure() -> None:
    crashed = ToolFailed("ffmpeg failed: killed by signal 11", detail=_ERED)
    got = explain(crashed, _ARGV)
    assert type(got) is ToolFailed and got.exit_code == ExitCode.TOOL_FAILED


def test_libav_error_numbers_and_paths_are_not_repeated(tmp_path: Path) -> None:
    src = tmp_path / "note.wav"
    src.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00" + bytes(range(100)))
    with pytest.raises(BadInput) as err:
        mediaprep.check(src)
    line = err.value.one_line()
    assert "Errno" not in line and "1094995529" not in line and line.count("note.wav") == 1


def test_pillow_warnings_are_not_printed(tmp_path: Path) -> None:
    # A TIFF whose XResolution has two values: Pillow warns "Metadata Warning, tag 282
    # had too many entries", with its own file path, on stderr.
    src = tmp_path / "scan.tif"
    Image.new("RGB", (32, 24), (0, 0, 200)).save(src, dpi=(72, 72))
    data = bytearray(src.read_bytes())
    ifd = int.from_bytes(data[4:8], "little")
    for i in range(int.from_bytes(data[ifd:ifd + 2], "little")):
        entry = ifd + 2 + 12 * i
        if int.from_bytes(data[entry:entry + 2], "little") == 282:
            data[entry + 4:entry + 8] = (2).to_bytes(4, "little")
    src.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mediaprep.check(src)
        mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert [str(w.message) for w in caught] == []
