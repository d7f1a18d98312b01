"""The batch report: built from a real batch, opened in headless Chromium."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mediaprep.cli import main
from mediaprep.report import REPORT, _inside, _regular
from mediaprep.report.data import row, summarize
from mediaprep.report.html import PAGE_ROWS, _json_for_script, render
from mediaprep.report.visuals import Visuals, picture_thumb

SCRIPT_NAME = "<script>alert(1)</script>.jpg"  # a folder "<script>alert(1)<" and a file "script>.jpg"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (apt-get install chromium; `make sysdeps` does it)")


def _run_chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"  # its own: tests may run beside a real browser
    argv = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--enable-logging=stderr",
            "--v=0", *args, page.absolute().as_uri()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _console_errors(stderr: str) -> list[str]:
    # Chromium logs page console messages as "CONSOLE(line)" / "Uncaught ..." lines.
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln
            or "Refused to" in ln]


@pytest.fixture
def batch_dst(testdata: Path, tmp_path: Path) -> tuple[Path, Path]:
    src, dst = tmp_path / "src", tmp_path / "dst"
    (src / "trip").mkdir(parents=True)
    shutil.copyfile(testdata / "images/photo_rotated_gps.jpg", src / "photo.jpg")
    shutil.copyfile(testdata / "images/ladybird.png", src / "trip" / "ladybird.png")
    shutil.copyfile(testdata / "audio/speech_amrwb.awb", src / "note.awb")
    shutil.copyfile(testdata / "audio/speech_75s.ogg", src / "long.ogg")  # 75 s: two parts
    shutil.copyfile(testdata / "video/compliant.mp4", src / "trip" / "clip.mp4")
    (src / "<script>alert(1)<").mkdir()
    shutil.copyfile(testdata / "images/compliant.jpg", src / SCRIPT_NAME)
    (src / "broken.jpg").write_bytes((testdata / "images/photo_rotated_gps.jpg").read_bytes()[:2000])
    (src / "notes.txt").write_text("not media\n")
    res = CliRunner().invoke(main, ["batch", str(src), str(dst), "--measure", "--report", "-j", "2"])
    assert res.exit_code == 8, res.output  # broken.jpg fails
    assert f"report: {dst / REPORT}" in res.output
    return src, dst


def test_report_in_chromium(batch_dst: tuple[Path, Path], tmp_path: Path) -> None:
    src, dst = batch_dst
    page = dst / REPORT
    text = page.read_text(encoding="utf-8")
    # Self-contained: nothing fetched, nothing linked.
    assert not re.search(r'(src|href)\s*=\s*["\']?(https?:|//|file:)', text)
    assert "<link" not in text and "@import" not in text
    assert "default-src 'none'" in text
    manifest = (dst / "manifest.jsonl").read_text().splitlines()
    assert len(manifest) == 8

    dom = _run_chromium(tmp_path, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_errors(dom.stderr) == []
    html = dom.stdout
    assert re.search(r'<div id="js-errors" hidden="">\s*</div>', html), "the page reported a script error"
    assert len(re.findall(r'<tr class="row[ "]', html)) == len(manifest)
    # The script-named file is text in the page, not an element.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in html
    assert "<script>alert(1)" not in html
    # Failures and skips come first, each with its one line.
    statuses = re.findall(r'<tr class="row[^"]*" data-status="(\w+)"', html)
    assert statuses[:2] == ["failed", "skipped"]
    assert "broken.jpg: the JPEG is truncated or corrupt" in html
    assert "not a media file" in html
    # Pictures: data: thumbnails for the pictures, a frame strip, a waveform.
    assert html.count('src="data:image/webp;base64,') >= 5
    assert "<svg" in html and "waveform of the input" in html
    assert "quality 9" in html and "VMAF 100 (excellent)" in html and "speech kept" in html
    # The clip's frame strip; each output's duration; the long voice note's two parts
    # shaded on its waveform, and its cut point in red.
    assert 'alt="frames"' in html
    assert re.search(r"\u2192 \d+\.\d s \(part 2\)|→ \d+\.\d s \(part 2\)", html)
    assert re.search(r"→ \d+x\d+, \d+\.\d s", html)  # the clip's size and length after
    assert html.count('fill="#dafbe1"') >= 1 and html.count('fill="#ddf4ff"') >= 1
    assert html.count('stroke="#cf222e"') == 1

    shot = tmp_path / "report.png"
    res = _run_chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1400,1600",
                        "--hide-scrollbars")
    assert res.returncode == 0 and shot.stat().st_size > 10_000
    assert _console_errors(res.stderr) == []

    # The controls work, without a server: a copy of the page whose extra script (the
    # page allows inline script, and nothing else) sets each control as a user would
    # and writes what the table then shows into attributes that --dump-dom keeps.
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", _CONTROLS_PROBE + "</body>"), encoding="utf-8")
    dom = _run_chromium(tmp_path, probe, "--dump-dom")
    assert _console_errors(dom.stderr) == []
    seen = dict(re.findall(r'data-probe-([a-z]+)="([^"]*)"', dom.stdout))
    entries = [json.loads(line) for line in manifest]
    assert int(seen["failed"]) == sum(e["status"] == "failed" for e in entries) == 1
    assert int(seen["voice"]) == sum(e.get("role") == "voice" for e in entries) == 2
    assert int(seen["text"]) == 1  # "broken" names one file
    names = seen["names"].split("|")
    assert len(names) == len(manifest) and names == sorted(names)
    scored = [float(v) for v in seen["scores"].split("|") if v]
    assert len(scored) >= 3 and scored == sorted(scored)  # score, lowest first
    assert int(seen["paged"]) == len(manifest)

    # Rebuilt from the manifest alone, the same rows come back.
    page.unlink()
    again = CliRunner().invoke(main, ["report", str(dst)])
    assert again.exit_code == 0, again.output
    assert page.is_file() and len(re.findall(r'"name":', page.read_text())) == len(manifest)


_CONTROLS_PROBE = """<script>
(function(){
  function set(id,v){var e=document.getElementById(id);
    if(e.type==='checkbox')e.checked=v;else e.value=v;
    e.dispatchEvent(new Event(id==='f-text'?'input':'change'));}
  function rows(){return Array.prototype.slice.call(document.querySelectorAll('#body tr.row'));}
  var b=document.body;
  set('f-status','failed');b.setAttribute('data-probe-failed',rows().length);set('f-status','');
  set('f-kind','voice');b.setAttribute('data-probe-voice',rows().length);set('f-kind','');
  set('f-text','broken');b.setAttribute('data-probe-text',rows().length);set('f-text','');
  set('f-sort','name');
  b.setAttribute('data-probe-names',rows().map(function(r){
    return r.querySelector('td.name div').textContent;}).join('|'));
  set('f-sort','score');
  b.setAttribute('data-probe-scores',rows().map(function(r){
    var m=/(?:quality|VMAF) (-?[0-9.]+)/.exec(r.lastChild.textContent);return m?m[1]:'';}).join('|'));
  b.setAttribute('data-probe-paged',rows().length);
})();
</script>"""


def test_report_needs_a_batch_folder(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "mediaprep batch SRC DST" in res.output


def test_json_in_the_page_cannot_end_its_script() -> None:
    text = _json_for_script({"name": "</script><script>alert(1)</script><!--&"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["name"] == "</script><script>alert(1)</script><!--&"


def test_manifest_paths_never_lead_outside() -> None:
    root = Path("/data/dst")
    assert _inside(root, "a/b.jpg") == root / "a" / "b.jpg"
    for bad in ("../x.jpg", "/etc/passwd", "a/../../x", ""):
        assert _inside(root, bad) is None


def test_report_reads_only_regular_files_inside_the_folder(tmp_path: Path) -> None:
    root, outside = tmp_path / "src", tmp_path / "outside.jpg"
    root.mkdir()
    outside.write_bytes(b"x")
    (root / "real.jpg").write_bytes(b"x")
    (root / "in.jpg").symlink_to(root / "real.jpg")
    (root / "out.jpg").symlink_to(outside)
    os.mkfifo(root / "pipe.jpg")
    assert _regular(root / "real.jpg", root) == root / "real.jpg"
    assert _regular(root / "in.jpg", root) == root / "in.jpg"
    assert _regular(root / "out.jpg", root) is None
    assert _regular(root / "pipe.jpg", root) is None
    assert _regular(root / "missing.jpg", root) is None


def _entry(i: int) -> dict[str, Any]:
    status = ("ok", "ok", "ok", "passed", "failed", "skipped")[i % 6]
    entry: dict[str, Any] = {"input": f"folder{i // 100}/photo{i}.jpg", "status": status, "role": "image",
                             "bytes": 2_000_000 + i, "warnings": [], "seconds": 0.2}
    if status in ("ok", "passed"):
        value = 30 + (i * 7) % 70
        entry["outputs"] = [{"path": f"folder{i // 100}/photo{i}.jpg", "slot": "media", "role": "image",
                             "bytes": 120_000, "format": "jpeg", "width": 1080, "height": 720,
                             "passed_through": status == "passed",
                             "score": {"metric": "ssimulacra2", "value": value, "band": "good",
                                       "seconds": 0.2, "view_px": 1080}}]
    elif status == "failed":
        entry["error"] = f"photo{i}.jpg: cannot decode the JPEG image (export it again)"
    else:
        entry["reason"] = "not a media file: content is text/plain"
    return entry


def test_ten_thousand_rows_stay_small_and_open_quickly(testdata: Path, tmp_path: Path) -> None:
    """Real-size thumbnails (made from a real photo) on every row of 10,000."""
    before, _, _ = picture_thumb(testdata / "images/photo_rotated_gps.jpg")
    after, _, _ = picture_thumb(testdata / "images/ladybird.png")
    vis = Visuals(before=before, after=after, width=1800, height=1125)
    rows = [row(i, _entry(i), vis if i % 6 < 4 else Visuals()) for i in range(10_000)]
    page = tmp_path / "big.html"
    page.write_text(render("10,000 files", summarize(rows, 1234.5, 2), rows), encoding="utf-8")
    size = page.stat().st_size
    assert size < 30_000_000, f"{size:,} bytes"
    t0 = time.monotonic()
    dom = _run_chromium(tmp_path, page, "--dump-dom")
    seconds = time.monotonic() - t0
    assert dom.returncode == 0 and _console_errors(dom.stderr) == []
    assert len(re.findall(r'<tr class="row[ "]', dom.stdout)) == PAGE_ROWS  # one page drawn
    assert f"{PAGE_ROWS * 0 + 10000} of 10000 files, page 1 of 100" in dom.stdout
    assert seconds < 30, f"Chromium took {seconds:.1f} s to open and draw it"
