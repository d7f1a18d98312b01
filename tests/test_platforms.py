"""Where mediaprep runs (issue 15): `import mediaprep`, and check and prepare of single
files, need no POSIX-only module (fcntl, resource), so they work on Windows; batch, which
does, says so in one line. Simulated here by making those modules unimportable."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parent.parent / "testdata"
ROOT = Path(__file__).resolve().parent.parent
WITHOUT_POSIX = ("import sys\nsys.modules['fcntl'] = None\nsys.modules['resource'] = None\n")
CLI = WITHOUT_POSIX + "from mediaprep.cli.main import main\nsys.exit(main())\n"


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, timeout=180,
                          cwd=cwd)


def test_import_without_posix_modules() -> None:
    code = WITHOUT_POSIX + ("import mediaprep\nprint(mediaprep.__version__, mediaprep.check, mediaprep.prepare,"
                            " mediaprep.BatchResult)\ntry:\n    mediaprep.batch\nexcept mediaprep.MissingDependency"
                            " as exc:\n    print('ONE LINE:', exc)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "ONE LINE: mediaprep.batch() needs a POSIX system (Linux or macOS)" in res.stdout


@pytest.mark.parametrize("source", ["images/ladybird.png", "audio/speech_75s.ogg", "video/bikes_short.mp4"])
def test_check_and_prepare_single_files_without_posix_modules(tmp_path: Path, source: str) -> None:
    src = TESTDATA / source
    assert _cli("check", str(src), cwd=tmp_path).returncode == 5
    res = _cli("prepare", str(src), "-o", "out", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert any((tmp_path / "out").iterdir())


def test_batch_says_it_needs_posix_in_one_line(tmp_path: Path) -> None:
    res = _cli("batch", str(TESTDATA / "images"), str(tmp_path / "out"), cwd=tmp_path)
    assert res.returncode == 3
    assert res.stderr.count("\n") == 1 and "mediaprep batch needs a POSIX system (Linux or macOS)" in res.stderr
    assert not (tmp_path / "out").exists()


def test_readme_states_the_platforms() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "## Platforms" in readme


def test_license_is_mit_and_declared_by_spdx() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) " in text and "mediaprep developers" in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'license = "MIT"' in pyproject and 'license-files = ["LICENSE"]' in pyproject


def test_o_naming_a_file_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "out.jpg"
    blocker.write_text("x")
    res = subprocess.run([str(Path(sys.executable).parent / "mediaprep"), "prepare",
                          str(TESTDATA / "images/ladybird.png"), "-o", str(blocker)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 7
    assert f"{blocker}: the output path is a file, not a folder" in res.stderr
