"""The one process runner: timeouts kill the whole group, failures carry stderr."""
from __future__ import annotations

import os
import sys
import time

import pytest

from mediaprep.errors import ExitCode, ToolFailed, ToolTimeout
from mediaprep.tools import proc


def test_timeout_kills_child_and_grandchild(tmp_path):
    marker = tmp_path / "alive"
    grandchild = f"import time; time.sleep(3); open({str(marker)!r}, 'w').write('x')"
    script = ("import subprocess, sys, time; "
              f"subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(30)")
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
