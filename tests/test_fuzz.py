"""A short seeded run of bench/fuzz.py, part of every `make test`: mutated samples
(the testdata files and animated GIF, APNG and WebP made by the fuzzer) through
every byte parser and through sniff, probe, check and prepare. Nothing but a
MediaprepError may come out, and no case may take long. The full run is
`.venv/bin/python bench/fuzz.py` (5,000 cases by default)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import fuzz  # noqa: E402

import mediaprep

CASES = 300
SEED = 12


def test_a_short_seeded_fuzz_raises_nothing_but_our_errors() -> None:
    report = fuzz.fuzz(CASES, SEED)
    assert report.cases == CASES
    assert not report.bugs, "\n".join(f"{c}: {e} at {w}" for c, e, w in report.bugs[:10])
    assert report.outcomes["parsers ok"] == CASES  # a parser answers with a result or FormatError
    slowest, what = report.slowest[0]
    assert slowest < 10, what
    assert report.seconds < 60


def test_found_by_the_fuzzer_undecodable_mp4_tags_are_not_fatal(tmp_path: Path) -> None:
    # A flipped bit in the ftyp box's brands (which libav reports as a tag) made
    # PyAV's av.open raise UnicodeDecodeError.
    data = bytearray((Path(__file__).resolve().parent.parent / "testdata/video/compliant.mp4").read_bytes())
    data[data.index(b"iso2")] = 0xB4
    path = tmp_path / "tag.mp4"
    path.write_bytes(bytes(data))
    report = mediaprep.check(path)
    assert dict(report.facts)["format"] == "mp4"
