"""Why the demuxer is forced: verified on the ffmpeg binaries on this machine.

A playlist disguised as media makes ffmpeg read other local files. With only
`-protocol_whitelist file`, the local read still happens (the file protocol is
allowed); with the demuxer forced, as mediaprep.tools.ffmpeg.safe_input does,
ffmpeg never parses the playlist and never opens the canary. Sniffing refuses such
files earlier still; this test bypasses sniffing on purpose.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import ffmpeg as ffmpeg_python
import pytest

from mediaprep.tools import ffmpeg as ff
from mediaprep.tools.ffmpeg import get_ffmpeg, safe_input

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")


def _binaries() -> list[str]:
    found = [get_ffmpeg().path]
    on_path = shutil.which("ffmpeg")
    if on_path and on_path not in found:
        found.append(on_path)
    return found


def _opens(argv: list[str], log: Path) -> str:
    subprocess.run([STRACE, "-f", "-qq", "-e", "trace=open,openat,connect", "-o", str(log), *argv],
                   capture_output=True, timeout=60)
    return log.read_text(errors="replace")


@pytest.fixture
def playlist(tmp_path):
    canary = tmp_path / "canary-91c2.ts"
    subprocess.run([get_ffmpeg().path, "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=d=1",
                    "-f", "mpegts", str(canary)], check=True, timeout=60)
    text = f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\n{canary}\n#EXT-X-ENDLIST\n"
    return canary, text


@pytest.mark.parametrize("binary", _binaries())
def test_whitelist_alone_reads_the_canary_forced_demuxer_does_not(binary, playlist, tmp_path):
    canary, text = playlist
    evil = tmp_path / "evil.m3u8"
    evil.write_text(text)
    trace = _opens([binary, "-nostdin", "-v", "error", "-protocol_whitelist", "file",
                    "-i", f"file:{evil}", "-f", "null", "-"], tmp_path / "a.log")
    # The characterisation that motivates the design (true for both ffmpeg 5.1 and 9).
    assert canary.name in trace
    for demuxer in ("mov", "matroska", "avi", "wav", "mp3", "ogg", "flac", "amr", "aac"):
        trace = _opens([binary, "-nostdin", "-v", "error", "-protocol_whitelist", "file",
                        "-f", demuxer, "-i", f"file:{evil}", "-f", "null", "-"], tmp_path / "b.log")
        assert canary.name not in trace, f"-f {demuxer} still opened the canary"


@pytest.mark.parametrize("name", ["evil.mp4", "evil.m3u8", "-i.mp4", "http:x.mp4", "pipe:0.mp4"])
@pytest.mark.parametrize("demuxer", ["mov", "matroska", "avi"])
def test_our_command_builder_never_opens_the_canary(playlist, tmp_path, name, demuxer):
    canary, text = playlist
    evil = tmp_path / name
    evil.write_text(text)
    graph = ffmpeg_python.output(safe_input(evil, demuxer), str(tmp_path / "out.wav"), f="wav")
    argv = ff.compile_args(graph)
    assert f"file:{evil}" in argv and argv[argv.index(f"file:{evil}") - 1] == "-i"
    trace = _opens(argv, tmp_path / "c.log")
    assert canary.name not in trace
    assert not [line for line in trace.splitlines() if "connect(" in line and "AF_INET" in line]
    assert not (tmp_path / "out.wav").exists() or (tmp_path / "out.wav").stat().st_size == 0
