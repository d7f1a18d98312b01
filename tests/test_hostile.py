"""The hostile corpus (testdata/make_hostile.py), each case run through the real CLI.

For every case: the exit code, a one-line message naming the problem, wall time and
peak memory within bounds, no payload in any output, no partial file. Under strace
(installed by the Makefile when missing): the canary file is never opened and no
socket ever connects (a listener on 127.0.0.1 doubles the check).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "testdata"))
import make_hostile  # noqa: E402

EXE = str(Path(sys.executable).parent / "mediaprep")
STRACE = shutil.which("strace")
MAX_RSS_KB = 2 * 1024 * 1024  # 2 GiB for any single file, ffmpeg included


@pytest.fixture(scope="session")
def listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, listener):
    dest = tmp_path_factory.mktemp("hostile")
    canary = dest / "CANARY-7f3a.txt"
    canary.write_text("canary: this must never be read\n")
    cases = make_hostile.image_cases(dest)
    from mediaprep.tools.ffmpeg import get_ffmpeg

    cases += make_hostile.av_cases(dest, get_ffmpeg().path, canary, listener.getsockname()[1])
    return dest, canary, {c.name: c for c in cases}


def _case_names() -> list[str]:
    # Names only (the corpus is built once per session by the fixture).
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        names = [c.name for c in make_hostile.image_cases(Path(tmp))]
    names += ["hls.mp4", "hls.avi", "hls.mkv", "concat.mp4", "concat.avi", "concat.mkv",
              "wav10h.wav", "mp4_10h.mp4", "silence10h.flac", "gap10h.mkv", "huge8k.mp4",
              "odd65x33.mp4", "audio_only.mp4", "script_title.mp4"]
    return names


def _run(argv: list[str], cwd: Path, timeout: float) -> tuple[int, str, str, float, int]:
    """Run, and measure this run's own peak RSS (os.wait4: the largest process in the
    tree that was waited for, the CLI or an ffmpeg it ran)."""
    import threading

    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    chunks: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda k=k, f=f: chunks.__setitem__(k, f.read()))
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    _, status, usage = os.wait4(proc.pid, 0)
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for t in readers:
        t.join()
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    elapsed = time.monotonic() - start
    assert elapsed < timeout, f"{argv} took longer than {timeout} s and was killed"
    return (proc.returncode, chunks["out"].decode(errors="replace"),
            chunks["err"].decode(errors="replace"), elapsed, usage.ru_maxrss)


@pytest.mark.parametrize("name", _case_names())
def test_hostile_case(corpus, listener, tmp_path, name):
    dest, canary, cases = corpus
    case = cases[name]
    out_dir = tmp_path / "out"
    log = tmp_path / "strace.log"
    argv = [EXE, "prepare", str(dest / name), "-o", str(out_dir), "--json"]
    if STRACE:
        argv = [STRACE, "-f", "-qq", "-e", "trace=open,openat,connect", "-o", str(log), *argv]
    before = (dest / name).read_bytes()
    code, out, err, elapsed, rss = _run(argv, tmp_path, timeout=case.max_seconds * 3)
    assert code == case.expect_exit, f"{name}: exit {code}, stderr: {err}"
    assert (dest / name).read_bytes() == before, "input modified"
    assert elapsed < case.max_seconds * (2 if STRACE else 1), f"{name} took {elapsed:.1f} s"
    assert rss < MAX_RSS_KB, f"{name}: peak RSS {rss} KB"
    assert "Traceback" not in err
    if code != 0:
        lines = [line for line in err.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("mediaprep: error:"), err
        assert case.message.lower() in lines[0].lower(), lines[0]
        assert not out_dir.exists() or not any(out_dir.iterdir()), "partial output left"
    else:
        produced = [p for p in out_dir.iterdir()]
        assert produced and not any(p.name.endswith(".part") for p in produced)
        for p in produced:
            data = p.read_bytes()
            for payload in case.payloads:
                assert payload not in data, f"{payload!r} reached {p.name}"
    try:
        conn, _ = listener.accept()
        conn.close()
        raise AssertionError(f"{name}: something connected to the listener")
    except BlockingIOError:
        pass
    if STRACE:
        trace = log.read_text(errors="replace")
        assert canary.name not in trace, f"{name}: the canary was opened"
        inet = [line for line in trace.splitlines() if "connect(" in line and "AF_INET" in line]
        assert not inet, f"{name}: a socket connected: {inet[:2]}"
