"""`mediaprep check FOLDER` (issue 15): batch's walking rules plus what a real folder
holds (mediaprep's own files, hidden files, a .git, notes), --exclude and
--include-hidden; exit 0 / 5 / 4 speak of media files only. Also the CI recipes the
README shows: the pre-commit hook definition and the plain shell line."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mediaprep.batching import rules
from mediaprep.batching.manifest import MANIFEST
from mediaprep.batching.naming import LOCK
from mediaprep.output import STAGING_PREFIX

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = ROOT / "testdata"
EXE = str(Path(sys.executable).parent / "mediaprep")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def _put(folder: Path, rel: str, source: str | None = None, text: str = "x\n") -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if source is not None:
        shutil.copyfile(TESTDATA / source, path)
    else:
        path.write_text(text)
    return path


@pytest.fixture
def lived_in(tmp_path: Path) -> Path:
    """A folder as people keep them: compliant media among everything else."""
    root = tmp_path / "media"
    _put(root, "ok.jpg", "images/compliant.jpg")
    _put(root, "trip/day1.jpg", "images/compliant.jpg")
    _put(root, "trip/clip.mp4", "video/compliant.mp4")
    _put(root, MANIFEST, text='{"input": "x"}\n')  # mediaprep's own files
    _put(root, LOCK, text="")
    _put(root, f"{STAGING_PREFIX}host-1-abcd/half.jpg", "images/ladybird.png")
    _put(root, ".DS_Store", text="\0\0\0\1Bud1")  # hidden files and folders
    _put(root, ".git/objects/ab/cdef", "images/ladybird.png")
    _put(root, ".thumbnails/big.png", "images/ladybird.png")
    _put(root, "README.txt", text="holiday pictures\n")  # not media
    _put(root, "trip/notes.md", text="# notes\n")
    return root


def test_a_lived_in_folder_passes_when_its_media_comply(lived_in: Path) -> None:
    res = run("check", str(lived_in))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("OK    ") == 3 and "FAIL" not in res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [
        "mediaprep: 3 media files checked: 3 comply, 0 do not, 0 could not be read; skipped 8 "
        "(3 hidden, 3 mediaprep's own file, 2 not media)"]
    doc = json.loads(run("check", str(lived_in), "--json").stdout)
    assert doc["exit_code"] == 0 and doc["complies"] is True
    assert doc["counts"]["skipped_by_reason"] == {"hidden": 3, "mediaprep's own file": 3, "not media": 2}
    by_name = {Path(f["path"]).name: f for f in doc["files"]}
    assert by_name[".git"]["status"] == "skipped"  # one entry: the folder was not walked
    assert not any("objects" in f["path"] for f in doc["files"])
    # -v lists what was skipped, one line each.
    verbose = run("check", str(lived_in), "-v")
    assert "SKIP  " in verbose.stderr and ".git: hidden (folder, not walked)" in verbose.stderr


def test_exit_5_for_one_non_compliant_and_4_only_for_damaged_media(lived_in: Path) -> None:
    _put(lived_in, "trip/big.png", "images/ladybird.png")
    res = run("check", str(lived_in))
    assert res.returncode == 5
    assert "FAIL  " in res.stdout and "big.png" in res.stdout
    broken = _put(lived_in, "trip/broken.jpg", text="not a picture at all\n")  # claims media
    res = run("check", str(lived_in))
    assert res.returncode == 4 and "broken.jpg" in res.stderr
    broken.unlink()
    _put(lived_in, "trip/broken.mp4", text="")  # empty: a failed export
    assert run("check", str(lived_in)).returncode == 4


def test_exclude_and_include_hidden(lived_in: Path) -> None:
    _put(lived_in, "drafts/raw.png", "images/ladybird.png")
    _put(lived_in, "trip/tmp.png", "images/ladybird.png")
    assert run("check", str(lived_in)).returncode == 5
    res = run("check", str(lived_in), "--exclude", "drafts/", "--exclude", "*.png", "--json")
    assert res.returncode == 0, res.stdout
    doc = json.loads(res.stdout)
    assert doc["counts"]["skipped_by_reason"]["excluded by --exclude"] == 2  # the folder once, tmp.png
    assert run("check", str(lived_in), "--exclude", "trip/tmp.png", "--exclude", "drafts").returncode == 0
    # Hidden media count only when asked for (content decides: .git's PNG has no
    # extension and is still a picture); mediaprep's own files never count.
    res = run("check", str(lived_in), "--exclude", "drafts", "--exclude", "trip/tmp.png",
              "--include-hidden", "--json")
    assert res.returncode == 5
    failing = {Path(f["path"]).name for f in json.loads(res.stdout)["files"] if f["status"] == "not_compliant"}
    assert failing == {"big.png", "cdef"}
    own = {Path(f["path"]).name for f in json.loads(res.stdout)["files"]
           if f.get("category") == "mediaprep's own file"}
    assert own == {MANIFEST, LOCK, next((lived_in).glob(STAGING_PREFIX + "*")).name}


def test_a_batch_output_folder_checks_clean(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _put(src, "a.png", "images/ladybird.png")
    _put(src, "b/c.jpg", "images/photo_rotated_gps.jpg")
    assert run("batch", str(src), str(tmp_path / "ready"), "-q").returncode == 0
    assert (tmp_path / "ready" / MANIFEST).exists()
    res = run("check", str(tmp_path / "ready"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 mediaprep's own file" in res.stderr


def test_own_names_are_the_ones_mediaprep_writes() -> None:
    assert rules.MANIFEST_NAME == MANIFEST and rules.LOCK_NAME == LOCK
    assert rules.is_own(STAGING_PREFIX + "host-1-abcd")
    walk_rules = rules.WalkRules(exclude=("raw/", "*.tmp"))
    assert walk_rules(Path("raw"), True) == rules.EXCLUDED
    assert walk_rules(Path("raw"), False) is None  # "raw/" names folders only
    assert walk_rules(Path("a/b/x.tmp"), False) == rules.EXCLUDED
    assert walk_rules(Path("a/.cache"), True) == rules.HIDDEN
    assert rules.WalkRules(include_hidden=True)(Path("a/.cache"), True) is None


def test_pre_commit_hook_definition_runs_mediaprep_check(lived_in: Path) -> None:
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    assert "- id: mediaprep-check" in text and "entry: mediaprep check" in text
    match = re.search(r"files: '([^']+)'", text)
    assert match is not None
    files = re.compile(match.group(1))
    assert all(files.search(n) for n in ("a.JPG", "b.heic", "c.m4a", "d.mov", "e.amr"))
    assert not any(files.search(n) for n in ("README.md", "x.py", "manifest.jsonl"))
    # What pre-commit runs: the entry with the staged file names that match.
    names = [str(p.relative_to(lived_in)) for p in sorted(lived_in.rglob("*"))
             if p.is_file() and files.search(p.name)]
    res = subprocess.run([*match.string.split("entry: ")[1].splitlines()[0].replace(
        "mediaprep", EXE, 1).split(), *names], cwd=lived_in, capture_output=True, text=True, timeout=120)
    assert res.returncode == 5  # pre-commit passes names, hidden or not: .git's PNG is named
    assert "cdef" not in res.stdout  # no extension: not matched by `files`


def test_shell_ci_line_from_the_readme(lived_in: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if ln.startswith("mediaprep check media/"))
    script = line.replace("mediaprep", EXE, 1)
    ok = subprocess.run(["sh", "-c", script], cwd=lived_in.parent, capture_output=True, text=True,
                        timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _put(lived_in, "big.png", "images/ladybird.png")
    bad = subprocess.run(["sh", "-c", script], cwd=lived_in.parent, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode != 0 and "big.png" in bad.stdout + bad.stderr
