"""mediaprep.tools.ffmpeg.SafeInput: the one definition of how an input file is read
(demuxer forced, file protocol only, ``file:`` absolute URL), rendered as argv for
the video fit and as an ffmpeg-python node for the voice fit. Both renderings
must carry the same flags."""
from __future__ import annotations

from pathlib import Path

import ffmpeg as ffmpeg_python
import pytest

from mediaprep.tools import ffmpeg as ff


def _options_before_input(argv: list[str], url: str) -> dict[str, str]:
    """The ``-key value`` pairs between the previous input (or the start) and ``-i url``."""
    end = argv.index(url) - 1
    assert argv[end] == "-i"
    start = 0
    for i in range(end):
        if argv[i] == "-i":
            start = i + 2
    pairs = argv[start:end]
    return {pairs[i].lstrip("-"): pairs[i + 1] for i in range(0, len(pairs), 2)}


@pytest.mark.parametrize("name", ["clip.mp4", "-i.mp4", "http:x.mp4", "pipe:0.mp4"])
def test_argv_reads_only_the_named_file(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ff.SafeInput(Path(name), "mov").args()
    assert argv[-2:] == ["-i", f"file:{tmp_path / name}"]
    assert _options_before_input(argv, argv[-1]) == {"f": "mov", "protocol_whitelist": "file"}


def test_argv_caps_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ff.THREADS_ENV, "2")
    src = ff.SafeInput(Path("/media/in.mkv"), "matroska", start=1.5, duration=30.0, max_pixels=8_294_400)
    assert src.args() == ["-ss", "1.500", "-t", "30.000", "-max_pixels", "8294400", "-threads", "2",
                          "-f", "matroska", "-protocol_whitelist", "file", "-i", "file:/media/in.mkv"]


def test_no_start_means_no_seek(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ff.THREADS_ENV, raising=False)
    assert "-ss" not in ff.SafeInput(Path("/a.mp4"), "mov", start=0.0).args()
    assert "-t" in ff.SafeInput(Path("/a.mp4"), "mov", duration=0.0).args()


@pytest.mark.parametrize("threads", [None, "3"])
@pytest.mark.parametrize("extra", [{}, {"start": 2.0, "duration": 5.0, "max_pixels": 1000}])
def test_graph_and_argv_carry_the_same_input_flags(monkeypatch: pytest.MonkeyPatch, threads: str | None,
                                                   extra: dict[str, float]) -> None:
    if threads is None:
        monkeypatch.delenv(ff.THREADS_ENV, raising=False)
    else:
        monkeypatch.setenv(ff.THREADS_ENV, threads)
    src = ff.SafeInput(Path("/in/voice.ogg"), "ogg", **extra)  # type: ignore[arg-type]
    graph = ffmpeg_python.output(src.node(), "file:/out/x.wav", f="wav")
    compiled = ffmpeg_python.compile(graph)[1:]  # what compile_args puts after our global flags
    url = "file:/in/voice.ogg"
    assert _options_before_input(compiled, url) == _options_before_input(src.args(), url)


def test_safe_input_is_the_node_of_a_plain_safe_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ff.THREADS_ENV, raising=False)
    node = ff.safe_input(Path("/in/a.mp4"), "mov")
    argv = ffmpeg_python.compile(ffmpeg_python.output(node, "file:/out/a.wav"))[1:]
    assert _options_before_input(argv, "file:/in/a.mp4") == {"f": "mov", "protocol_whitelist": "file"}
