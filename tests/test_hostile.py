"""The hostile corpus (testdata/make_hostile.py), each case run through the real CLI,
in `check` and in `prepare`.

For every case and command: the exit code, a one-line message naming the problem,
no traceback, wall time and peak memory within the case's bound (10 s and 500 MB
unless the case says otherwise), no payload in any output, no partial file. Under
strace (installed by the Makefile when missing), for `prepare`, which does all that
`check` does and more: the canary file is never opened and no socket ever connects
(a listener on 127.0.0.1 doubles the check).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "testdata"))
import make_hostile  # noqa: E402

EXE = str(Path(sys.executable).parent / "mediaprep")
STRACE = shutil.which("strace")


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
              "odd65x33.mp4", "audio_only.mp4", "script_title.mp4", "sparse_tail.mp4"]
    return names


def _digest(path: Path) -> tuple[int, int, str]:
    """Size, modification time and the hash of the first 16 MB: some inputs are
    gigabytes of sparse zeros, and any write would change the time."""
    st = path.stat()
    with open(path, "rb") as fh:
        return st.st_size, st.st_mtime_ns, hashlib.sha256(fh.read(1 << 24)).hexdigest()


# Runs argv as its child and writes the child's peak RSS (KB, os.wait4: the largest
# process of its tree that was waited for, the CLI or an ffmpeg it ran) to the file
# named first. Why a launcher: Linux charges a child started from a large process
# (this pytest, hundreds of MB by now) with that process's peak RSS, since the
# child starts in the parent's address space (vfork) until it execs. A small
# launcher in between makes the number the run's own.
_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def _run(argv: list[str], cwd: Path, timeout: float) -> tuple[int, str, str, float, int]:
    """Run; the exit code, stdout, stderr, wall seconds and the run's own peak RSS (KB)."""
    rss_file = cwd / "rss.kb"
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, str(rss_file), *argv], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        raise AssertionError(f"{argv} took longer than {timeout} s and was killed") from None
    elapsed = time.monotonic() - start
    return (proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"), elapsed,
            int(rss_file.read_text()))


@pytest.mark.parametrize("command", ["check", "prepare"])
@pytest.mark.parametrize("name", _case_names())
def test_hostile_case(corpus, listener, tmp_path, name, command):
    dest, canary, cases = corpus
    case = cases[name]
    out_dir = tmp_path / "out"
    log = tmp_path / "strace.log"
    argv = [EXE, command, str(dest / name)]
    if command == "prepare":
        argv += ["-o", str(out_dir), "--json"]
    traced = bool(STRACE) and command == "prepare"
    if traced:
        argv = [STRACE, "-f", "-qq", "-e", "trace=open,openat,connect", "-o", str(log), *argv]
    before = _digest(dest / name)
    code, out, err, elapsed, rss = _run(argv, tmp_path, timeout=case.max_seconds * 3)
    expected = case.expect_exit if command == "prepare" else case.expect_check
    assert code == expected, f"{name}: {command} exit {code}, stderr: {err}"
    assert _digest(dest / name) == before, "input modified"
    assert elapsed < case.max_seconds * (2 if traced else 1), f"{name} took {elapsed:.1f} s"
    assert rss < case.max_rss_mb * 1024, f"{name}: peak RSS {rss // 1024} MB"
    assert "Traceback" not in err
    if code not in (0, make_hostile.NOT_COMPLIANT):
        lines = [line for line in err.splitlines() if line.strip()]
        start = "mediaprep: error:" if command == "prepare" else "FAIL  "
        assert len(lines) == 1 and lines[0].startswith(start), err
        assert case.message.lower() in lines[0].lower(), lines[0]
        assert not out_dir.exists() or not any(out_dir.iterdir()), "partial output left"
    elif command == "prepare":
        produced = [p for p in out_dir.iterdir()]
        assert produced and not any(p.name.endswith(".part") for p in produced)
        for p in produced:
            assert p.stat().st_size < 20_000_000, f"{p.name}: {p.stat().st_size:,} bytes"
            data = p.read_bytes()
            for payload in case.payloads:
                assert payload not in data, f"{payload!r} reached {p.name}"
    try:
        conn, _ = listener.accept()
        conn.close()
        raise AssertionError(f"{name}: something connected to the listener")
    except BlockingIOError:
        pass
    if traced:
        trace = log.read_text(errors="replace")
        assert canary.name not in trace, f"{name}: the canary was opened"
        inet = [line for line in trace.splitlines() if "connect(" in line and "AF_INET" in line]
        assert not inet, f"{name}: a socket connected: {inet[:2]}"


@pytest.mark.parametrize("swap_for", ["symlink", "other_file"])
def test_input_swapped_during_a_batch_is_skipped_unread(tmp_path, swap_for):
    src, victim, outside = make_hostile.swap_corpus(tmp_path)
    dst = tmp_path / "dst"

    def swap_when_work_starts() -> None:
        # The first output means the batch walked SRC long ago and is now on the
        # second large photo; the victim is still waiting for its turn.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if dst.is_dir() and any(p.suffix == ".jpg" for p in dst.iterdir()):
                break
            time.sleep(0.005)
        staged = src / ".swap"
        if swap_for == "symlink":
            staged.symlink_to(outside)
        else:
            shutil.copyfile(outside, staged)
        os.replace(staged, victim)

    swapper = threading.Thread(target=swap_when_work_starts)
    swapper.start()
    code, out, err, elapsed, rss = _run([EXE, "batch", str(src), str(dst), "--jobs", "1"], tmp_path,
                                        timeout=60)
    swapper.join()
    assert code == 0, err
    assert "Traceback" not in err
    assert elapsed < make_hostile.MAX_SECONDS and rss < make_hostile.MAX_RSS_MB * 1024
    about = [line for line in err.splitlines() if "victim" in line]
    reason = "is a symlink now" if swap_for == "symlink" else "replaced by another file"
    assert len(about) == 1 and about[0].startswith("SKIP  victim.jpg: ") and reason in about[0], err
    assert not (dst / "victim.jpg").exists()
    for made in dst.rglob("*"):
        if made.is_file():
            assert b"SECRET-OUTSIDE-SRC" not in made.read_bytes(), made
    records = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()]
    (record,) = [r for r in records if r["input"] == "victim.jpg"]
    assert record["status"] == "skipped" and reason in record["reason"]
