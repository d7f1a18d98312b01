"""The one process runner: timeouts kill the whole group, failures carry stderr."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mediaprep.errors import ExitCode, ToolFailed, ToolTimeout, UsageError
from mediaprep.tools import ffmpeg, proc


def _parent_of_a_late_writer(marker: Path) -> str:
    """A script that starts a grandchild writing ``marker`` in 3 s, then sleeps 30 s."""
    grandchild = f"import time; time.sleep(3); open({str(marker)!r}, 'w').write('x')"
    return ("import subprocess, sys, time; "
            f"subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(30)")


def test_timeout_kills_child_and_grandchild(tmp_path):
    marker = tmp_path / "alive"
    script = _parent_of_a_late_writer(marker)
    start = time.monotonic()
    with pytest.raises(ToolTimeout) as err:
        proc.run([sys.executable, "-c", script], timeout=1, tool="sleeper")
    assert time.monotonic() - start < 5
    assert err.value.exit_code == ExitCode.TOOL_FAILED
    time.sleep(3.5)
    assert not marker.exists(), "the grandchild survived the timeout"


def test_failure_reports_last_stderr_line_and_keeps_the_rest():
    script = "import sys; sys.stderr.write('noise\\nreal reason here\\n\\n'); sys.exit(3)"
    with pytest.raises(ToolFailed) as err:
        proc.run([sys.executable, "-c", script], timeout=10, tool="fake")
    assert "real reason here" in err.value.message and "noise" in (err.value.detail or "")


def test_child_memory_is_capped(monkeypatch):
    monkeypatch.setenv(proc.MEMORY_ENV, "200")
    script = "b = bytearray(600 * 1024 * 1024)"
    with pytest.raises(ToolFailed):
        proc.run([sys.executable, "-c", script], timeout=20, tool="hog")


def test_stdin_is_never_a_terminal():
    res = proc.run([sys.executable, "-c", "import sys; print(sys.stdin.read()=='')"], timeout=10, tool="t")
    assert res.stdout.strip() == b"True"


def test_missing_binary_is_tool_failed(tmp_path):
    with pytest.raises(ToolFailed):
        proc.run([str(tmp_path / "nope")], timeout=5, tool="nope")
    assert os.path.exists(sys.executable)


# ------------------------------------------------------------ limits from the parent

_LIMITS_OF_CHILD = ("import resource; print(*resource.getrlimit(resource.RLIMIT_AS))")


def _under_ulimit(soft_mb: int | None, hard_mb: int | None, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose RLIMIT_AS the user set (as `ulimit -v` would)."""
    def mb(v: int | None) -> str:
        return "resource.RLIM_INFINITY" if v is None else str(v << 20)

    setup = (f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({mb(soft_mb)}, {mb(hard_mb)}))\n")
    return subprocess.run([sys.executable, "-c", setup + code], capture_output=True, text=True,
                          timeout=60, env={**os.environ, **env})


_RUN_CHILD = ("import sys\nfrom mediaprep.tools import proc\n"
              f"print(proc.run([sys.executable, '-c', {_LIMITS_OF_CHILD!r}], timeout=30, tool='t')"
              ".stdout.decode().strip())\n")


def test_a_users_lower_hard_limit_is_kept_and_the_child_still_runs():
    # `ulimit -v 3000000` (soft and hard): the child runs under it, nothing is raised.
    res = _under_ulimit(2900, 2900, _RUN_CHILD)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str(2900 << 20)] * 2


def test_the_soft_limit_is_lowered_and_the_hard_limit_left_alone():
    res = _under_ulimit(None, None, _RUN_CHILD, MEDIAPREP_CHILD_MEMORY_MB="1500")
    assert res.returncode == 0, res.stderr
    soft, hard = res.stdout.split()
    assert int(soft) == 1500 << 20 and int(hard) == resource.RLIM_INFINITY


def test_a_users_lower_soft_limit_is_never_raised():
    res = _under_ulimit(1200, None, _RUN_CHILD)  # default cap 4096 MB: more than the user's
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[0]) == 1200 << 20


@pytest.mark.parametrize(("name", "value"), [
    ("MEDIAPREP_CHILD_MEMORY_MB", "4G"), ("MEDIAPREP_CHILD_MEMORY_MB", "-1"),
    ("MEDIAPREP_CHILD_MEMORY_MB", "1e3"), ("MEDIAPREP_THREADS", "all"), ("MEDIAPREP_THREADS", "2.5"),
])
def test_a_bad_setting_is_a_usage_error_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError) as err:
        if name == "MEDIAPREP_THREADS":
            ffmpeg.threads()
        else:
            proc.run([sys.executable, "-c", "pass"], timeout=10, tool="t")
    assert err.value.exit_code == ExitCode.USAGE
    assert name in err.value.one_line() and repr(value) in err.value.one_line()


def test_the_cli_answers_a_bad_setting_with_exit_2_and_one_line(tmp_path):
    exe = str(Path(sys.executable).parent / "mediaprep")
    res = subprocess.run([exe, "check", str(tmp_path / "nothing.jpg")], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "MEDIAPREP_CHILD_MEMORY_MB": "4G"})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "MEDIAPREP_CHILD_MEMORY_MB" in lines[0] and "Traceback" not in res.stderr


def test_children_start_from_a_threaded_host():
    # No preexec_fn: starting a child while other threads run is safe.
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(
        proc.run([sys.executable, "-c", "print(1)"], timeout=30, tool="t").stdout)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"1\n"] * 4


# ------------------------------------------------------------------ side by side

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_run_all_runs_side_by_side_each_with_its_own_input():
    echo = "import sys, time; time.sleep(1); sys.stdout.write(sys.stdin.read().upper())"
    jobs = [proc.Job([sys.executable, "-c", echo], f"lane {i}".encode()) for i in range(3)]
    start = time.monotonic()
    results = proc.run_all(jobs, timeout=30, tool="t")
    assert time.monotonic() - start < 2.5  # three seconds of sleep, side by side
    assert [r.stdout for r in results] == [b"LANE 0", b"LANE 1", b"LANE 2"]


def test_run_all_stops_the_others_when_one_fails(tmp_path):
    pids = tmp_path / "pids"
    sleeper = f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(30)"
    failer = (f"import os, sys, time\n"  # breaks once both others are running
              f"while not os.path.exists({str(pids)!r}) or len(open({str(pids)!r}).read().split()) < 2:\n"
              f"    time.sleep(0.05)\n"
              f"sys.stderr.write('lane two broke\\n'); sys.exit(3)")
    start = time.monotonic()
    with pytest.raises(ToolFailed) as err:
        proc.run_all([proc.Job([sys.executable, "-c", sleeper]), proc.Job([sys.executable, "-c", failer]),
                      proc.Job([sys.executable, "-c", sleeper])], timeout=60, tool="t")
    assert time.monotonic() - start < 10
    assert "lane two broke" in err.value.message  # the failure itself, not the others' kill
    started = pids.read_text().split()
    assert len(started) == 2 and not any(_alive(int(pid)) for pid in started)


def test_run_all_times_out_as_a_whole_and_leaves_nothing_running(tmp_path):
    marker = tmp_path / "alive"
    script = _parent_of_a_late_writer(marker)
    start = time.monotonic()
    with pytest.raises(ToolTimeout):
        proc.run_all([proc.Job([sys.executable, "-c", "pass"]), proc.Job([sys.executable, "-c", script])],
                     timeout=1, tool="sleeper")
    assert time.monotonic() - start < 5
    time.sleep(3.5)
    assert not marker.exists(), "the grandchild survived the timeout"


def test_run_all_with_one_that_cannot_start_stops_those_started(tmp_path):
    pids = tmp_path / "pids"
    sleeper = f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(30)"
    with pytest.raises(ToolFailed, match="cannot start"):
        proc.run_all([proc.Job([sys.executable, "-c", sleeper]), proc.Job([str(tmp_path / "nope")])],
                     timeout=30, tool="t")
    time.sleep(0.5)
    assert not pids.exists() or not any(_alive(int(pid)) for pid in pids.read_text().split())
