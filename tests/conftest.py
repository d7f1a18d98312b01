from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI included): a failure is
# reproducible, and a green suite stays green unless the code changes.
settings.register_profile("mediaprep", derandomize=True)
settings.load_profile("mediaprep")

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say what the run ran on: which ffmpeg, which encoders."""
    try:
        from mediaprep.tools.ffmpeg import get_ffmpeg

        return [get_ffmpeg().describe()]
    except Exception as exc:  # noqa: BLE001
        return [f"ffmpeg: not available ({exc})"]


@pytest.fixture
def testdata() -> Path:
    return TESTDATA


@pytest.fixture
def copy_of(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy a testdata file into tmp_path (under a chosen name) so tests never touch testdata."""

    def _copy(rel: str, name: str | None = None) -> Path:
        src = TESTDATA / rel
        dst = tmp_path / (name or src.name)
        shutil.copyfile(src, dst)
        return dst

    return _copy
