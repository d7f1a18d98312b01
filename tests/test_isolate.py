"""The worker pool under batch: a hung, runaway or crashing job costs only itself.

Fake jobs (sleep, allocate, segfault) stand in for a decoder that hangs or blows up;
the supervisor and the processes are real.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from mediaprep.batching.isolate import Job, Outcome, run_jobs, set_time_limit


def _square(x: int) -> int:
    return x * x


def _hang(pid_file: str) -> None:
    # Like ffmpeg under tools/proc.run: a child in its own session, then a hang.
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    Path(pid_file).write_text(str(child.pid))
    time.sleep(300)


def _hog(_: object) -> int:
    return len(bytearray(3 * 1024**3))  # 3 GiB: over the 400 MB address-space limit


def _crash(_: object) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _slow_but_asks(_: object) -> str:
    set_time_limit(30)  # a video that learned its duration after probing
    time.sleep(1.5)
    return "finished"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_hung_runaway_and_crashing_jobs_fail_alone(tmp_path):
    pid_file = tmp_path / "child.pid"
    jobs = [
        Job("hang", _hang, str(pid_file), time_limit=1.5),
        Job("hog", _hog, None, time_limit=30),
        Job("crash", _crash, None, time_limit=30),
        Job("asks", _slow_but_asks, None, time_limit=0.5),
        *[Job(f"sq{i}", _square, i, time_limit=30) for i in range(6)],
    ]
    outcomes: dict[str, Outcome] = {}
    t0 = time.monotonic()
    run_jobs(jobs, 2, lambda o: outcomes.__setitem__(o.key, o), memory_mb=400)
    elapsed = time.monotonic() - t0

    assert set(outcomes) == {j.key for j in jobs}
    assert [outcomes[f"sq{i}"].value for i in range(6)] == [0, 1, 4, 9, 16, 25]
    hang = outcomes["hang"]
    assert not hang.ok and hang.reason == "timeout" and "1.5 s" in hang.error
    assert 1.4 < hang.seconds < 10
    hog = outcomes["hog"]
    assert not hog.ok and hog.reason == "memory" and "400 MB" in hog.error
    crash = outcomes["crash"]
    assert not crash.ok and crash.reason == "crashed" and "signal 11" in crash.error
    assert outcomes["asks"].ok and outcomes["asks"].value == "finished"
    assert elapsed < 20
    # The hung job's grandchild (in its own session, as ffmpeg is) was killed too.
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_ctrl_c_kills_running_workers(tmp_path):
    pid_file = tmp_path / "child.pid"

    def tick() -> None:
        if pid_file.exists() and pid_file.read_text():
            raise KeyboardInterrupt

    killed = []
    try:
        run_jobs([Job("hang", _hang, str(pid_file), time_limit=60)], 1, lambda o: None,
                 on_tick=tick, tick=0.05, on_kill=lambda job: killed.append(job.key))
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("KeyboardInterrupt was swallowed")
    assert killed == ["hang"]
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_workers_that_cannot_start_stop_the_run_with_one_clear_error(tmp_path, monkeypatch):
    import pytest

    from mediaprep.batching import isolate
    from mediaprep.errors import ToolFailed

    monkeypatch.setattr(isolate, "PRELOAD", ["mediaprep_no_such_module"])
    with pytest.raises(ToolFailed, match="worker processes cannot start: .*mediaprep_no_such_module"):
        run_jobs([Job(1, _square, 3, time_limit=10)], 1, lambda o: None)
