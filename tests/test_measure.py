"""--measure: scores on real media, their bands, and that measuring writes nothing new."""
from __future__ import annotations

import dataclasses
import importlib.util
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import mediaprep
from mediaprep.cli import main
from mediaprep.measure import bands
from mediaprep.measure.bands import Score
from mediaprep.measure.image import VIEW_SIDE, load_view
from mediaprep.measure.ssimulacra2 import ssimulacra2
from mediaprep.profiles import WECHAT, RoleLimits

PHOTO = "images/photo_rotated_gps.jpg"  # a real photo, 1800x1125 upright, EXIF-rotated


def _tiny_budget(max_bytes: int) -> mediaprep.Profile:
    return dataclasses.replace(WECHAT, name=f"tiny-{max_bytes}",
                               image=RoleLimits(max_bytes=max_bytes, formats=("jpeg",)))


def test_clean_photo_scores_excellent_and_a_squeezed_one_poor(testdata: Path, tmp_path: Path) -> None:
    clean = mediaprep.prepare(testdata / PHOTO, out_dir=tmp_path / "clean", measure=True)
    squeezed = mediaprep.prepare(testdata / PHOTO, out_dir=tmp_path / "tiny", measure=True,
                                 profile=_tiny_budget(8_000))
    good, bad = clean.outputs[0].score, squeezed.outputs[0].score
    assert good is not None and bad is not None
    assert good.metric == bad.metric == "ssimulacra2"
    assert good.value is not None and bad.value is not None
    assert good.value >= 85 and good.band == "excellent", good
    assert squeezed.outputs[0].bytes <= 8_000
    assert bad.value < 50 and bad.band == "poor", bad
    assert good.fact("view_px") == VIEW_SIDE
    assert good.label() == f"quality {math.floor(good.value)} (excellent)"


@pytest.mark.parametrize(("side", "quality"), [(301, 40), (512, 90), (257, 8)])
def test_our_ssimulacra2_is_the_packages(testdata: Path, tmp_path: Path, side: int, quality: int) -> None:
    """Same number as the ssimulacra2 package's own function (float64, scipy), on a
    real picture against a JPEG of it, at odd sizes so the edge handling counts."""
    from ssimulacra2 import compute_ssimulacra2

    ref = load_view(testdata / PHOTO, side=side)
    ref.save(tmp_path / "ref.png")
    ref.save(tmp_path / "dist.jpg", quality=quality)
    with Image.open(tmp_path / "dist.jpg") as im:
        dist = im.convert("RGB")
    dist.save(tmp_path / "dist.png")
    ours = ssimulacra2(np.asarray(ref), np.asarray(dist))
    theirs = compute_ssimulacra2(str(tmp_path / "ref.png"), str(tmp_path / "dist.png"))
    assert ours == pytest.approx(theirs, abs=0.05)
    assert ssimulacra2(np.asarray(ref), np.asarray(ref)) == pytest.approx(100.0, abs=1e-3)


def _outputs(result: mediaprep.PrepareResult) -> dict[str, bytes]:
    return {o.path.name: o.path.read_bytes() for o in result.outputs}


def test_measuring_changes_no_byte_picture_and_voice(testdata: Path, tmp_path: Path) -> None:
    for rel in (PHOTO, "audio/speech_amrwb.awb"):
        plain = mediaprep.prepare(testdata / rel, out_dir=tmp_path / "plain")
        measured = mediaprep.prepare(testdata / rel, out_dir=tmp_path / "measured", measure=True)
        assert _outputs(plain) == _outputs(measured)
        assert all(o.score is None for o in plain.outputs)
        assert all(o.score is not None for o in measured.outputs)
    assert sorted(p.name for p in (tmp_path / "measured").iterdir()) == \
        sorted(p.name for p in (tmp_path / "plain").iterdir())


def test_voice_is_described_by_level_and_speech_kept(testdata: Path, tmp_path: Path) -> None:
    result = mediaprep.prepare(testdata / "audio/speech_amrwb.awb", out_dir=tmp_path, measure=True)
    (out,) = result.outputs
    score = out.score
    assert score is not None and score.metric == "speech" and score.value is None
    assert -26.0 <= score.fact("level_dbfs") <= -16.0  # the fit aims at -19 dBFS
    assert score.band == "excellent"
    assert score.fact("peak_dbfs") <= 0.0
    assert score.fact("speech_kept") >= 0.95
    assert "speech kept" in score.label()


@pytest.mark.slow
def test_vmaf_for_a_clip_and_same_bytes(testdata: Path, tmp_path: Path) -> None:
    plain = mediaprep.prepare(testdata / "video/bikes_short.mp4", out_dir=tmp_path / "plain")
    measured = mediaprep.prepare(testdata / "video/bikes_short.mp4", out_dir=tmp_path / "m", measure=True)
    assert _outputs(plain) == _outputs(measured)
    media = [o for o in measured.outputs if o.slot == "media"]
    (video,) = media
    score = video.score
    assert score is not None and score.metric == "vmaf"
    assert score.value is not None and 50 <= score.value <= 100
    assert score.band == bands.vmaf_band(score.value)
    assert score.fact("model") == "vmaf_v0.6.1"
    assert score.fact("frames_sampled") == "all"  # 4 s: every frame
    assert score.fact("frames") == 100
    assert all(o.score is None for o in measured.outputs if o.slot == "thumb")


def test_cli_prints_the_score_and_json_carries_it(testdata: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["prepare", str(testdata / PHOTO), "-o", str(tmp_path / "a"), "--measure"])
    assert res.exit_code == 0, res.output
    assert "(excellent)" in res.stdout and ", quality 9" in res.stdout
    res = runner.invoke(main, ["prepare", str(testdata / PHOTO), "-o", str(tmp_path / "b"), "--measure",
                               "--json"])
    doc = json.loads(res.stdout)
    score = doc["outputs"][0]["score"]
    assert score["metric"] == "ssimulacra2" and score["band"] == "excellent"
    assert score["seconds"] > 0 and score["view_px"] == VIEW_SIDE


def test_without_the_extra_it_is_exit_3_with_the_pip_command(
        testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "cv2" else real(name, *a))
    with pytest.raises(mediaprep.MissingDependency):
        mediaprep.prepare(testdata / PHOTO, out_dir=tmp_path, measure=True)
    assert not list(tmp_path.iterdir())  # refused before any work
    res = CliRunner().invoke(main, ["prepare", str(testdata / PHOTO), "-o", str(tmp_path), "--measure"])
    assert res.exit_code == 3
    assert "pip install 'mediaprep[measure]'" in res.output
    src = tmp_path / "src"
    src.mkdir()
    res = CliRunner().invoke(main, ["batch", str(src), str(tmp_path / "dst"), "--measure"])
    assert res.exit_code == 3 and "mediaprep[measure]" in res.output


def test_batch_records_scores_and_a_rerun_scores_what_lacks_one(testdata: Path, tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    (src / "photo.jpg").write_bytes((testdata / PHOTO).read_bytes())
    first = mediaprep.batch(src, dst, jobs=1)
    assert first.files[0].status == "ok" and first.files[0].outputs[0].score is None
    second = mediaprep.batch(src, dst, jobs=1, measure=True)  # made before --measure: made again
    assert second.files[0].status == "ok" and second.dispatched == 1
    line = json.loads((dst / "manifest.jsonl").read_text().splitlines()[0])
    assert line["outputs"][0]["score"]["metric"] == "ssimulacra2"
    assert line["outputs"][0]["score"]["band"] == "excellent"
    third = mediaprep.batch(src, dst, jobs=1, measure=True)  # scored already: resumed, score kept
    assert third.dispatched == 0 and third.files[0].resumed
    kept = third.files[0].outputs[0].score
    assert kept is not None and kept.band == "excellent"
    line = json.loads((dst / "manifest.jsonl").read_text().splitlines()[0])
    assert line["outputs"][0]["score"]["value"] == pytest.approx(kept.value)


def test_a_label_never_rounds_into_the_next_band() -> None:
    """49.9 is poor (visible loss starts at 50): it reads "quality 49 (poor)", not
    "quality 50 (poor)" beside a table that says 50 is visible loss."""
    assert Score("ssimulacra2", 49.9, bands.ssimulacra2_band(49.9), 0.0).label() == "quality 49 (poor)"
    assert Score("vmaf", 89.6, bands.vmaf_band(89.6), 0.0).label() == "VMAF 89 (good)"
    assert Score("ssimulacra2", -3.2, "poor", 0.0).label() == "quality -4 (poor)"


@pytest.mark.parametrize(("value", "band"), [(100, "excellent"), (85, "excellent"), (84.9, "good"),
                                             (70, "good"), (69.9, "visible loss"), (50, "visible loss"),
                                             (49.9, "poor"), (-20, "poor")])
def test_ssimulacra2_bands(value: float, band: str) -> None:
    assert bands.ssimulacra2_band(value) == band


@pytest.mark.parametrize(("value", "band"), [(95, "excellent"), (90, "excellent"), (89.9, "good"),
                                             (70, "good"), (60, "visible loss"), (49, "poor")])
def test_vmaf_bands(value: float, band: str) -> None:
    assert bands.vmaf_band(value) == band


@pytest.mark.parametrize(("level", "band"), [(-19.0, "excellent"), (-16.0, "excellent"),
                                             (-26.0, "excellent"), (-30.0, "good"), (-36.0, "good"),
                                             (-40.0, "poor"), (-12.0, "poor")])
def test_voice_bands(level: float, band: str) -> None:
    assert bands.voice_band(level) == band


def test_score_round_trips_through_json_and_rejects_junk() -> None:
    score = Score("vmaf", 91.234, "excellent", 1.5, (("model", "vmaf_v0.6.1"), ("frames", 120)))
    back = Score.from_dict(json.loads(json.dumps(score.to_dict())))
    assert back == dataclasses.replace(score, value=91.23)
    for junk in (None, [], {"metric": "psnr", "band": "good"}, {"metric": "vmaf", "band": "meh"},
                 {"metric": "vmaf", "band": "good", "value": "high"}):
        assert Score.from_dict(junk) is None
    assert bands.worst(["good", "poor", "excellent"]) == "poor"
    assert bands.worst([]) is None


def test_vmaf_samples_a_long_clip(testdata: Path, tmp_path: Path) -> None:
    """Over 10 s libvmaf scores every 4th frame, and the score says so (a 2 s clip
    looped six times by stream copy: no encode)."""
    from mediaprep.measure.video import score_video
    from mediaprep.tools import ffmpeg as ff

    clip = tmp_path / "long.mp4"
    ff.run_args(["-stream_loop", "5", *ff.SafeInput(testdata / "video/compliant.mp4", "mp4").args(),
                 "-c", "copy", str(clip)], timeout=60)
    score = score_video(clip, "mp4", clip, width=480, height=270, fps=25.0, start=0.0, duration=12.0)
    assert score.fact("frames_sampled") == "every 4th"
    assert 60 <= score.fact("frames") <= 80  # 300 frames, one in four
    assert score.value is not None and score.value > 95 and score.band == "excellent"


def test_vmaf_of_a_clip_whose_video_starts_late(tmp_path: Path) -> None:
    """A camera's file whose video starts 0.4 s after its sound: the output repeats the
    first frame up to 0, and the score compares it frame for frame at the file's
    time, not each side from its own first frame (which scored a clean encode 12)."""
    from mediaprep.tools import ffmpeg as ff

    clip = tmp_path / "late.mp4"
    ff.run_args(["-f", "lavfi", "-i", "testsrc2=d=2:s=320x180:r=30", "-f", "lavfi", "-i",
                 "sine=d=2:frequency=300", "-vf", "setpts=PTS+0.4/TB", "-c:v", "mpeg4", "-q:v", "3",
                 "-c:a", "aac", str(clip)], timeout=60)
    res = mediaprep.prepare(clip, out_dir=tmp_path / "out", measure=True)
    video = next(o for o in res.outputs if o.role == "video")
    assert video.score is not None and video.score.value is not None
    assert video.score.value > 85 and video.score.band in ("excellent", "good"), video.score


def test_vmaf_of_each_part_compares_the_stretch_it_was_cut_from(tmp_path: Path) -> None:
    """A clip split into three parts (a profile allowing 3 s of video): each part is
    compared with the very seconds the fit cut it from (recorded in its settings),
    not with where the previous parts' own lengths, added up, would put it (a few
    frames off a part: a 4-minute clip's third part scored 10 against its first 70)."""
    from mediaprep.tools import ffmpeg as ff

    clip = tmp_path / "moving.mp4"  # a moving test picture: a frame off is a low score
    ff.run_args(["-f", "lavfi", "-i", "testsrc2=d=8.4:s=320x180:r=30", "-f", "lavfi", "-i",
                 "sine=d=8.4:frequency=300", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                 "-c:a", "aac", str(clip)], timeout=60)
    profile = dataclasses.replace(WECHAT, name="three-seconds",
                                  video=RoleLimits(max_bytes=1_000_000, formats=("mp4",), max_duration=3.0))
    res = mediaprep.prepare(clip, out_dir=tmp_path / "out", profile=profile, split=True, measure=True)
    parts = [o for o in res.outputs if o.slot == "media"]
    assert len(parts) == 3
    cuts = [(dict(o.details)["start_seconds"], dict(o.details)["end_seconds"]) for o in parts]
    assert cuts[0][0] == 0 and cuts[-1][1] == pytest.approx(8.4, abs=0.05)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(cuts))  # back to back
    for o in parts:
        assert o.score is not None and o.score.value is not None
        assert o.score.value > 85, (o.path.name, o.score)


def test_an_animation_sent_as_video_is_scored_by_vmaf(testdata: Path, tmp_path: Path) -> None:
    """``--as video`` on an animated GIF: its MP4 gets a VMAF against the animation's
    frames as shown (it was "quality not measured: cannot identify image file"), the
    same bytes as unmeasured, and nothing left beside the outputs."""
    from mediaprep.measure import image as measure_image

    src = testdata / "images/animated.gif"
    plain = mediaprep.prepare(src, out_dir=tmp_path / "plain", as_="video")
    viewed: list[object] = []
    real_load = measure_image.load_view
    with pytest.MonkeyPatch.context() as mp:  # no picture score is begun for it
        mp.setattr(measure_image, "load_view", lambda *a, **k: viewed.append(a) or real_load(*a, **k))
        res = mediaprep.prepare(src, out_dir=tmp_path / "measured", as_="video", measure=True)
    assert viewed == []
    video = next(o for o in res.outputs if o.slot == "media")
    assert video.score is not None and video.score.metric == "vmaf", res.warnings
    assert video.score.value is not None and video.score.value > 90
    assert not any("not measured" in w for w in res.warnings)
    assert _outputs(plain) == _outputs(res)
    assert sorted(p.name for p in (tmp_path / "measured").iterdir()) == ["animated.mp4", "animated.thumb.jpg"]


# ------------------------------------------------------------------ the fit's decode, handed over

# Pictures the fit decodes whole (not DCT-scaled): their view is made from its decode.
HANDED = ["images/photo_rotated_gps.jpg", "images/ladybird.png", "images/transparent.png",
          "images/palette.png", "images/grey16.png", "images/cmyk.jpg"]


@pytest.mark.parametrize("rel", HANDED)
def test_the_view_of_the_fits_decode_is_the_view_of_the_file(testdata: Path, tmp_path: Path, rel: str) -> None:
    """The picture the fit hands over, viewed, is the very view of the file: EXIF turn,
    16-bit, palette, alpha and CMYK included."""
    from PIL import ExifTags

    from mediaprep.fit.image_decode import handing_over
    from mediaprep.measure.image import frame_view

    handed: list[tuple[Image.Image, int]] = []
    with handing_over(lambda im: handed.append((im, im.getexif().get(ExifTags.Base.Orientation, 1)))):
        plain = mediaprep.prepare(testdata / rel, out_dir=tmp_path / "out")
    assert len(handed) == 1
    im, orientation = handed[0]
    with Image.open(testdata / rel) as header:
        assert im.size == header.size  # the whole picture, and still usable
    assert np.array_equal(np.asarray(frame_view(im, orientation)), np.asarray(load_view(testdata / rel)))
    # Taking it changed nothing the fit wrote.
    again = mediaprep.prepare(testdata / rel, out_dir=tmp_path / "again")
    assert _outputs(plain) == _outputs(again)


@pytest.mark.parametrize("threads", ["2", "1"])
def test_a_measured_png_is_decoded_once_and_scores_as_from_its_file(
        testdata: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threads: str) -> None:
    """The input's view comes from the fit's decode, on a spare core or (one thread)
    when the score asks: the source file is never loaded for the view again, and
    the score is the one its file gives."""
    from mediaprep.measure import image as measure_image
    from mediaprep.measure.ssimulacra2 import reference, score

    monkeypatch.setenv("MEDIAPREP_THREADS", threads)
    src = testdata / "images/ladybird.png"
    loaded: list[Path] = []
    real_load = measure_image.load_view

    def counting(path: Path, side: int = VIEW_SIDE) -> Image.Image:
        loaded.append(Path(path))
        return real_load(path, side)

    monkeypatch.setattr(measure_image, "load_view", counting)
    res = mediaprep.prepare(src, out_dir=tmp_path, measure=True, profile=_tiny_budget(20_000))
    out = res.outputs[0]
    assert out.score is not None and out.score.value is not None
    assert src not in loaded and out.path in loaded
    expected = score(reference(np.asarray(real_load(src))), np.asarray(real_load(out.path)))
    assert out.score.value == pytest.approx(expected, abs=1e-9)
    assert out.score.value < 95  # a real comparison (20,000 B), not the identical-file 100


def test_a_dct_scaled_jpeg_views_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A JPEG the fit decodes at half scale hands nothing over: its view is the file's."""
    from mediaprep.measure import image as measure_image

    rng = np.random.default_rng(7)
    big = tmp_path / "big.jpg"
    Image.fromarray(rng.integers(0, 255, (1200, 2400, 3), dtype=np.uint8)).resize((2400, 1200)).save(big, quality=90)
    loaded: list[Path] = []
    real_load = measure_image.load_view
    monkeypatch.setattr(measure_image, "load_view",
                        lambda path, side=VIEW_SIDE: loaded.append(Path(path)) or real_load(path, side))
    res = mediaprep.prepare(big, out_dir=tmp_path / "out", measure=True)
    assert res.outputs[0].score is not None
    assert big in loaded
    # And were one waiting, a DCT-scaled decode is never handed over as the picture.
    from mediaprep.fit.image_decode import handing_over

    handed: list[Image.Image] = []
    with handing_over(handed.append):
        mediaprep.prepare(big, out_dir=tmp_path / "again")
    assert handed == []


def test_the_phone_view_of_a_lazily_opened_picture(testdata: Path, tmp_path: Path) -> None:
    """phone_view takes a picture straight from Image.open (not yet decoded): its two
    halves, resized on two threads, once each began decoding it (an AssertionError
    deep in Pillow's JPEG reader). An RGB JPEG with no EXIF turn: nothing else on the
    way loads it first."""
    from mediaprep.measure.image import phone_view

    path = tmp_path / "plain.jpg"
    Image.open(testdata / "images/ladybird.png").convert("RGB").save(path, quality=90)
    for _ in range(3):
        with Image.open(path) as im:
            lazy = np.asarray(phone_view(im))
        assert np.array_equal(lazy, np.asarray(load_view(path)))


def test_a_picture_is_viewed_at_the_phones_width() -> None:
    """A picture is compared as a phone held upright shows it, fitted to its width
    (1080 px), up to MAX_VIEW_PIXELS: a portrait photo 1080 px wide, a long
    screenshot too (at 1080 px on its long side both pictures were a 146 px strip,
    and an unreadable output scored well), a landscape one 1080 on its long side."""
    from mediaprep.measure.image import MAX_VIEW_PIXELS, view_size

    assert view_size(1080, 3000) == (1080, 3000)
    w, h = view_size(1080, 8000)
    assert w * h == pytest.approx(MAX_VIEW_PIXELS, rel=0.001) and w / h == pytest.approx(1080 / 8000, rel=0.01)
    assert view_size(4000, 1000) == (1080, 270)  # a panorama: fitted to the width
    assert view_size(1125, 1800) == (1080, 1728)  # a portrait photo
    assert view_size(1800, 1125) == (1080, 675)  # a landscape one: as before
