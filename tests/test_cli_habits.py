"""The command line as people type it (issue 15): global options anywhere,
`python -m mediaprep`, --version, notices apart from warnings, -q and -v."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).parent / "mediaprep")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_is_accepted_before_and_after_the_command(tmp_path: Path, where: str) -> None:
    missing = str(tmp_path / "nope.jpg")
    args = ["--debug", "prepare", missing] if where == "before" else ["prepare", missing, "--debug"]
    res = run(*args)
    assert res.returncode == 4
    assert "Traceback" in res.stderr and "no such file" in res.stderr
    assert "No such option" not in res.stderr


def test_python_dash_m_is_the_same_command(copy_of) -> None:
    src = copy_of("images/compliant.jpg")
    res = subprocess.run([sys.executable, "-m", "mediaprep", "check", str(src), "-q"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("OK    ")


def test_version_names_the_tools_in_use_without_heavy_imports() -> None:
    res = run("--version")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("mediaprep 0.1.0")
    assert any(line.startswith("ffmpeg ") for line in lines)
    assert any(line.startswith("JPEG: encoder jpegli") and "libjpeg" in line for line in lines)
    assert any(line.startswith("libmagic 5.") for line in lines)
    # Cheap: the work's heavy modules are not imported for it.
    probe = ("import sys\nfrom mediaprep.cli.main import main\n"
             "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
             "heavy = [m for m in ('numpy', 'av', 'httpx', 'mediaprep.pipeline', 'mediaprep.fit') "
             "if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr


def test_notices_are_not_warnings_and_q_hides_them(copy_of, tmp_path: Path) -> None:
    src = copy_of("images/photo_rotated_gps.jpg")
    res = run("prepare", str(src), "-o", str(tmp_path / "a"))
    assert res.returncode == 0, res.stderr
    assert f"mediaprep: info: {src}: GPS location removed" in res.stderr
    assert f"mediaprep: info: {src}: rotated upright (EXIF orientation 6)" in res.stderr
    assert "mediaprep: warning" not in res.stderr
    quiet = run("prepare", str(src), "-o", str(tmp_path / "b"), "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout == res.stdout.replace("/a/", "/b/")  # results are never hidden


def test_q_hides_warnings_but_never_errors(copy_of, tmp_path: Path) -> None:
    src = copy_of("images/compliant.jpg", "photo.png")  # a JPEG named .png: a warning
    assert "warning: " in run("check", str(src)).stderr
    assert run("check", "-q", str(src)).stderr == ""
    res = run("check", str(tmp_path / "nope.jpg"), "-q")
    assert res.returncode == 4 and "no such file" in res.stderr


def test_v_adds_detail(copy_of, tmp_path: Path) -> None:
    src = copy_of("images/photo_rotated_gps.jpg")
    plain = run("prepare", str(src), "-o", str(tmp_path / "a"))
    verbose = run("prepare", str(src), "-o", str(tmp_path / "b"), "-v")
    assert "prepared as image for profile wechat (<= 128,000 bytes, JPEG)" in verbose.stderr
    assert "prepared as" not in plain.stderr
