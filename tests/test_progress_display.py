"""Progress as a terminal shows it (issue 15): percent, elapsed time and ETA for every
encode, from ffmpeg's -progress output, read through a pseudo-terminal; nothing when
stderr is not a terminal; the ffmpeg timeout and kill still work while progress is
read; the batch ETA comes from expected work, measured per kind as files finish."""
from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mediaprep.batching.progress import BatchProgress, ProgressTracker
from mediaprep.batching.results import FileResult
from mediaprep.errors import ToolTimeout
from mediaprep.tools import ffprogress
from mediaprep.tools.ffmpeg import get_ffmpeg

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
EXE = str(Path(sys.executable).parent / "mediaprep")


def on_a_terminal(*args: str, cwd: Path) -> tuple[int, str, str]:
    """Run mediaprep with stderr on a pseudo-terminal; (exit code, stdout, what the
    terminal received)."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([EXE, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=terminal, cwd=cwd)
    os.close(terminal)
    screen = b""
    try:
        while True:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal's last writer is gone
                    break
                if not chunk:
                    break
                screen += chunk
            elif proc.poll() is not None:
                break
        out = proc.stdout.read() if proc.stdout else b""
        proc.wait(timeout=60)
    finally:
        os.close(controller)
        if proc.stdout:
            proc.stdout.close()
    return proc.returncode, out.decode(), screen.decode("utf-8", "replace")


def test_video_encode_shows_percent_elapsed_and_eta(tmp_path: Path) -> None:
    code, out, screen = on_a_terminal("prepare", str(TESTDATA / "video/bikes_short.mp4"), "-o", "out",
                                      cwd=tmp_path)
    assert code == 0, screen
    for stage in ("audio", "pass 1", "pass 2"):
        assert f"bikes_short.mp4 {stage} [" in screen
    assert "100%" in screen and " elapsed, ETA " in screen
    assert "bikes_short.mp4 pass 2 [########################] 100%" in screen
    assert screen.endswith("\r\x1b[K")  # the bar is erased; results are on stdout
    assert '"type": "video"' in out


def test_voice_encode_shows_percent(tmp_path: Path) -> None:
    code, _, screen = on_a_terminal("prepare", str(TESTDATA / "audio/speech_75s.ogg"), "-o", "out",
                                    cwd=tmp_path)
    assert code == 0, screen
    assert "speech_75s.ogg decoding [" in screen and "speech_75s.ogg encoding 2 parts [" in screen
    assert "%" in screen and "ETA" in screen


def test_nothing_is_drawn_when_piped_or_quiet(tmp_path: Path) -> None:
    res = subprocess.run([EXE, "prepare", str(TESTDATA / "video/bikes_short.mp4"), "-o", "out"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=180)
    assert res.returncode == 0 and "\r" not in res.stderr and "ETA" not in res.stderr
    code, _, screen = on_a_terminal("prepare", str(TESTDATA / "images/ladybird.png"), "-o", "q", "-q",
                                    cwd=tmp_path)
    assert code == 0 and screen == ""


def test_progress_reader_keeps_the_timeout_and_leaves_nothing_open() -> None:
    fds_before = len(os.listdir("/proc/self/fd"))
    seen: list[ffprogress.EncodeProgress] = []
    argv = [get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
            "-t", "30", "-i", "anullsrc=r=8000:cl=mono", "-f", "null", "-"]
    assert ffprogress.input_seconds(argv) == 30.0
    started = time.monotonic()
    with ffprogress.reporting(seen.append), pytest.raises(ToolTimeout):
        ffprogress.run_all([argv], timeout=2.0, inputs=[None])
    assert time.monotonic() - started < 10  # killed at its timeout, not after the 30 s
    assert seen and all(p.total == 30.0 and 0 <= p.done <= 30 for p in seen)
    assert len(os.listdir("/proc/self/fd")) == fds_before  # both pipe ends closed
    # A finished run reports its end; without a listener nothing is added to the argv.
    short = [*argv[:5], *argv[6:]]
    short[short.index("30")] = "0.5"
    with ffprogress.reporting(seen.append):
        ffprogress.run_all([short], timeout=30, inputs=[None])
    assert seen[-1].finished and seen[-1].done == 0.5


def test_runs_side_by_side_report_as_one() -> None:
    """Lanes of the voice encode: one progress, the seconds all runs have written
    against the sum of their lengths, finished only when every run is. The lanes run
    in real time (-re), so reports come while both are going: by the second second
    their sum goes past the longer lane's whole length (2.5 s) before the end."""
    fds_before = len(os.listdir("/proc/self/fd"))
    seen: list[ffprogress.EncodeProgress] = []

    def argv(seconds: str) -> list[str]:
        return [get_ffmpeg().path, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
                "-t", seconds, "-i", "anullsrc=r=8000:cl=mono", "-f", "null", "-"]

    with ffprogress.reporting(seen.append):
        results = ffprogress.run_all([argv("1.5"), argv("2.5")], timeout=30, inputs=[None, None])
    assert len(results) == 2 and all(r.returncode == 0 for r in results)
    assert all(p.total == 4.0 for p in seen)
    assert any(not p.finished and p.done > 2.6 for p in seen), seen  # summed: past either lane alone
    assert [p.finished for p in seen].count(True) == 1 and seen[-1].finished and seen[-1].done == 4.0
    assert len(os.listdir("/proc/self/fd")) == fds_before


def _result(kind: str, seconds: float) -> FileResult:
    role = {"image": "image", "audio": "voice", "video": "video"}[kind]
    return FileResult(input=Path(f"x.{kind}"), status="ok", role=role, input_bytes=1, seconds=seconds)  # type: ignore[arg-type]


def test_batch_eta_prices_each_kind_by_its_measured_cost() -> None:
    shown: list[BatchProgress] = []
    # 18 files: 2 photos (small weight), 16 videos (large), on 2 workers.
    tracker = ProgressTracker(shown.append, total=18, bytes_total=18, weight_total=2 + 16 * 100.0,
                              t0=time.monotonic(), weight_by_kind={"image": 2.0, "video": 1600.0})
    tracker.start_work(running=2)
    assert shown[-1].eta is None  # nothing measured yet: no promise
    tracker.finished(_result("image", 0.5), weight=1.0, kind="image")
    tracker.finished(_result("image", 0.5), weight=1.0, kind="image")
    eta = shown[-1].eta
    assert eta is not None and eta >= 16 * 0.5 / 2  # never "ETA 0:00" with 16 files to go
    # The first video took 40 s: videos are priced at that from now on.
    tracker.finished(_result("video", 40.0), weight=100.0, kind="video")
    assert shown[-1].eta == pytest.approx(15 * 40.0 / 2)
    # A batch of equal videos that each took 40 s: the ETA is the work left.
    for _ in range(14):
        tracker.finished(_result("video", 40.0), weight=100.0, kind="video")
    assert shown[-1].eta == pytest.approx(40.0 / 1)  # one file left, one busy worker
    tracker.finished(_result("video", 40.0), weight=100.0, kind="video")
    assert shown[-1].eta == 0.0 and shown[-1].done == 18
