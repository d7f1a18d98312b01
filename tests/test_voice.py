"""The voice path end to end: real speech (espeak-ng) and synthetic music in many
formats become AMR-NB voice notes; every output is decoded and measured."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from audio_helpers import (
    AUDIO,
    SPEECH,
    SPEECH_META,
    active_level_db,
    decode,
    ffmpeg,
    inside_a_pause,
    lie_m4a,
    lie_mp3,
    lie_wav,
    music,
    write_wav,
)
from click.testing import CliRunner

import mediaprep
from mediaprep.cli.main import main
from mediaprep.errors import BadInput, CannotComply, ExitCode, MediaprepError
from mediaprep.fit.voice_plan import TARGET_LEVEL_DB
from mediaprep.formats import amr
from mediaprep.preflight.check import check
from mediaprep.tools.ffmpeg import get_ffmpeg


def _has_amr_nb() -> bool:
    try:
        return get_ffmpeg().has_encoder("libopencore_amrnb")
    except MediaprepError:
        return False


pytestmark = pytest.mark.skipif(not _has_amr_nb(), reason="no ffmpeg with libopencore_amrnb "
                                "(pip install imageio-ffmpeg bundles one)")

# The first two sentences of speech_75s: 1.5 s of silence, speech to 9.976 s,
# then 0.92 s of the following pause.
CLIP_S = 10.9
CLIP_SPEECH = 9.976 - 1.5
PADS = 0.1 + 0.2  # kept before the first and after the last sound


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every input format, made once from the committed speech with the bundled ffmpeg."""
    d = tmp_path_factory.mktemp("voice-media")
    clip = ["-i", str(SPEECH), "-t", str(CLIP_S)]
    video = ["-f", "lavfi", "-i", f"color=c=navy:s=64x48:r=5:d={CLIP_S}"]
    made: dict[str, list[str]] = {
        "wav8.wav": [*clip, "-ar", "8000", "-c:a", "pcm_u8"],
        "wav16.wav": [*clip, "-ar", "16000", "-c:a", "pcm_s16le"],
        "wav24_stereo.wav": [*clip, "-ar", "48000", "-ac", "2", "-c:a", "pcm_s24le"],
        "stereo44.wav": [*clip, "-ar", "44100", "-ac", "2", "-c:a", "pcm_s16le"],
        "speech.mp3": [*clip, "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "64k"],
        "speech.m4a": [*clip, "-c:a", "aac", "-b:a", "48k"],
        "vorbis.ogg": [*clip, "-ar", "22050", "-c:a", "libvorbis", "-q:a", "2"],
        "speech.opus": [*clip, "-c:a", "libopus", "-b:a", "24k"],
        "speech.flac": [*clip, "-ar", "16000", "-c:a", "flac"],
        "speech.amr": [*clip, "-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb", "-b:a", "12.2k"],
        "long.amr": ["-i", str(SPEECH), "-ar", "8000", "-ac", "1", "-c:a", "libopencore_amrnb",
                     "-b:a", "7.95k"],
        "quiet.amr": [*clip, "-af", "volume=-30dB", "-ar", "8000", "-ac", "1", "-c:a",
                      "libopencore_amrnb", "-b:a", "12.2k"],
        "clip.mp4": [*video, *clip, "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset",
                     "ultrafast", "-c:a", "aac", "-b:a", "48k", "-shortest"],
        "clip.mov": [*video, *clip, "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset",
                     "ultrafast", "-c:a", "pcm_s16le", "-shortest"],
        "clip.mkv": [*video, *clip, "-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "flac",
                     "-shortest"],
        "clip.webm": [*video, *clip, "-map", "0:v", "-map", "1:a", "-c:v", "libvpx", "-b:v", "50k",
                      "-c:a", "libopus", "-b:a", "24k", "-shortest"],
        "audio_only.mka": [*clip, "-c:a", "libopus", "-b:a", "24k"],
        "quiet.wav": [*clip, "-af", "volume=-30dB", "-ar", "16000", "-c:a", "pcm_s16le"],
        "loud.wav": [*clip, "-af", "volume=12dB,alimiter=limit=0.99:level=0", "-ar", "16000",
                     "-c:a", "pcm_s16le"],
        "four.wav": ["-i", str(SPEECH), "-ss", "1.3", "-t", "4", "-ar", "8000", "-c:a", "pcm_s16le"],
        "four.m4a": ["-i", str(SPEECH), "-ss", "1.3", "-t", "4", "-c:a", "aac", "-b:a", "32k"],
        "four.mp3": ["-i", str(SPEECH), "-ss", "1.3", "-t", "4", "-c:a", "libmp3lame", "-b:a", "32k"],
        "silent.wav": ["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3", "-c:a", "pcm_s16le"],
        "no_audio.mp4": [*video, "-c:v", "libx264", "-preset", "ultrafast"],
    }
    out = {}
    for name, args in made.items():
        ffmpeg(*args, str(d / name))
        out[name] = d / name
    out["speech_amrwb.awb"] = AUDIO / "speech_amrwb.awb"
    out["music.wav"] = write_wav(d / "music.wav", music(70.0), 22050)
    out["lie.wav"] = lie_wav(out["four.wav"], d / "lie.wav")
    out["lie.mp3"] = lie_mp3(out["four.mp3"], d / "lie.mp3")
    out["lie.m4a"] = lie_m4a(out["four.m4a"], d / "lie.m4a")
    return out


def assert_voice_note(path: Path, max_bytes: int = 256_000) -> float:
    """A WeChat voice note: AMR-NB file, 8 kHz mono, <= 60.0 s and the byte limit.
    Returns its decoded duration."""
    data = path.read_bytes()
    assert data[:6] == b"#!AMR\n"
    assert 6 < len(data) <= max_bytes
    dec = decode(path)
    assert dec.codec in ("amrnb", "libopencore_amrnb")
    assert (dec.sample_rate, dec.channels) == (8000, 1)
    assert dec.duration <= 60.0
    assert abs(dec.duration - amr.duration_of(data)) < 0.021
    return dec.duration


def files_in(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


# ------------------------------------------------------------------ splitting

def test_75s_of_speech_splits_into_parts_cut_inside_pauses(tmp_path):
    src = tmp_path / "speech_75s.ogg"
    shutil.copyfile(SPEECH, src)
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
    assert [o.path.name for o in res.outputs] == ["speech_75s.part1.amr", "speech_75s.part2.amr"]
    assert [o.part for o in res.outputs] == [1, 2]
    durations = [assert_voice_note(o.path) for o in res.outputs]
    assert [round(d, 2) for d in durations] == [round(o.duration, 2) for o in res.outputs]
    assert [o.bytes for o in res.outputs] == [o.path.stat().st_size for o in res.outputs]
    # The parts add up to the speech: the input less its leading/trailing silence
    # (each part carries one extra 20 ms encoder frame).
    speech = SPEECH_META["speech_end"] - SPEECH_META["speech_start"]
    assert sum(durations) == pytest.approx(speech + PADS + 0.02 * len(durations), abs=0.15)
    assert sum(durations) < SPEECH_META["duration"] - 3.0
    # Part 1 ends inside a pause of the source: its end in source time.
    settings = dict(res.outputs[0].to_dict()["settings"])
    assert settings["ends_at"] == "pause"
    assert inside_a_pause(settings["end_seconds"]), settings
    assert settings["start_seconds"] == pytest.approx(SPEECH_META["speech_start"] - 0.1, abs=0.05)
    # Greedy: the latest pause before the limit, so part 1 is long.
    assert durations[0] > 50.0
    assert [a.to_dict() for a in res.attachments] == [
        {"type": "voice", "media_id": "<voice_media_id of speech_75s.part1.amr>"},
        {"type": "voice", "media_id": "<voice_media_id of speech_75s.part2.amr>"}]
    assert files_in(tmp_path / "out") == ["speech_75s.part1.amr", "speech_75s.part2.amr"]


def test_cli_json_lists_one_output_and_block_per_part(tmp_path):
    r = CliRunner().invoke(main, ["prepare", str(SPEECH), "-o", str(tmp_path), "--json",
                                  "--max-parts", "2"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["role"] == "voice"
    assert [o["part"] for o in doc["outputs"]] == [1, 2]
    assert [o["format"] for o in doc["outputs"]] == ["amr", "amr"]
    assert [a["media_id"] for a in doc["attachments"]] == [
        f"<voice_media_id of {Path(o['path']).name}>" for o in doc["outputs"]]


def test_byte_limit_binds_when_a_profile_says_so(tmp_path):
    prof = tmp_path / "small.toml"
    prof.write_text('name = "small"\n[voice]\nmax_bytes = 50000\n')
    res = mediaprep.prepare(SPEECH, out_dir=tmp_path / "out", profile=str(prof))
    assert len(res.outputs) == 3  # 50,000 B is 31.2 s of AMR at 12.2 kbit/s
    for o in res.outputs:
        assert assert_voice_note(o.path, max_bytes=50_000) <= 31.3
        assert o.to_dict()["settings"]["ends_at"] in ("pause", "end")


def test_max_parts_refuses_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["prepare", str(SPEECH), "-o", str(out), "--max-parts", "1"])
    assert r.exit_code == ExitCode.NOT_COMPLIANT
    assert "needs 2 voice notes" in r.stderr and "--max-parts" in r.stderr
    assert files_in(out) == []


def test_no_split_refuses_with_a_hint(tmp_path):
    with pytest.raises(CannotComply) as exc:
        mediaprep.prepare(SPEECH, out_dir=tmp_path, split=False)
    assert "--trim" in exc.value.one_line()
    assert files_in(tmp_path) == []


def test_trim_keeps_the_first_60s_ending_in_a_pause(tmp_path):
    r = CliRunner().invoke(main, ["prepare", str(SPEECH), "-o", str(tmp_path), "--trim", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    (out,) = doc["outputs"]
    assert Path(out["path"]).name == "speech_75s.amr" and "part" not in out
    dur = assert_voice_note(Path(out["path"]))
    assert 55.0 < dur <= 60.0
    assert inside_a_pause(out["settings"]["end_seconds"])
    assert any("trimmed" in w for w in doc["notices"])


def test_trim_seconds(tmp_path):
    res = mediaprep.prepare(SPEECH, out_dir=tmp_path, trim=10.0)
    (out,) = res.outputs
    dur = assert_voice_note(out.path)
    assert 8.0 < dur <= 10.0
    assert inside_a_pause(dict(out.details)["end_seconds"])


# ------------------------------------------------------------------ formats

FORMATS = ["wav8.wav", "wav16.wav", "wav24_stereo.wav", "stereo44.wav", "speech.mp3",
           "speech.m4a", "vorbis.ogg", "speech.opus", "speech.flac", "speech_amrwb.awb",
           "clip.mp4", "clip.mov", "clip.mkv", "clip.webm", "audio_only.mka"]


@pytest.mark.parametrize("name", FORMATS)
def test_every_input_format_becomes_one_voice_note(media, tmp_path, name):
    src = media[name]
    as_ = "voice" if name.startswith("clip.") else None  # a video's sound, on request
    res = mediaprep.prepare(src, out_dir=tmp_path, as_=as_)
    (out,) = res.outputs
    assert out.path.suffix == ".amr" and out.part is None and not out.passed_through
    dur = assert_voice_note(out.path)
    if name == "speech_amrwb.awb":  # two sentences, 0.8 s apart, nothing around them
        assert 7.0 < dur < 8.3
    else:
        # Leading silence (1.5 s) and trailing (0.9 s) trimmed, the speech kept whole.
        assert dur == pytest.approx(CLIP_SPEECH + PADS, abs=0.2)
    dec = decode(out.path)
    assert active_level_db(dec.samples) == pytest.approx(TARGET_LEVEL_DB, abs=2.0)
    assert res.attachments[0].to_dict() == {"type": "voice",
                                            "media_id": f"<voice_media_id of {out.path.name}>"}


def test_compliant_amr_nb_passes_through_byte_identical(media, tmp_path):
    src = media["speech.amr"]
    assert check(src).complies
    res = mediaprep.prepare(src, out_dir=tmp_path / "out")
    (out,) = res.outputs
    assert out.passed_through and out.format == "amr"
    assert out.path.read_bytes() == src.read_bytes()
    # Beside the input (no -o), the output never overwrites it.
    res2 = mediaprep.prepare(src)
    assert res2.outputs[0].path != src and res2.outputs[0].path.name == "speech.prepared.amr"
    assert res2.outputs[0].path.read_bytes() == src.read_bytes()
    res2.outputs[0].path.unlink()


def test_long_amr_nb_is_cut_into_parts_without_reencoding(media, tmp_path):
    src = media["long.amr"].read_bytes()
    res = mediaprep.prepare(media["long.amr"], out_dir=tmp_path)
    assert len(res.outputs) == 2
    for out in res.outputs:
        assert_voice_note(out.path)
        data = out.path.read_bytes()
        assert dict(out.details)["lossless"] is True
        assert data[6:] in src  # the source's own frames, untouched
        assert out.bytes <= 6 + 21 * 3000  # 7.95 kbit/s (21 B a frame) kept, not raised to 12.2
    assert inside_a_pause(dict(res.outputs[0].details)["end_seconds"])


def test_quiet_amr_nb_is_reencoded_to_be_heard(media, tmp_path):
    res = mediaprep.prepare(media["quiet.amr"], out_dir=tmp_path, trim=5.0)
    (out,) = res.outputs
    assert "lossless" not in dict(out.details) and dict(out.details)["gain_db"] > 20
    assert active_level_db(decode(out.path).samples) == pytest.approx(TARGET_LEVEL_DB, abs=2.0)


def test_compliant_mp3_passes_through_where_the_profile_takes_mp3(media, tmp_path):
    src = media["four.mp3"]
    res = mediaprep.prepare(src, out_dir=tmp_path, profile="wechat-oa")
    (out,) = res.outputs
    assert out.passed_through and out.path.name == "four.mp3"
    assert out.path.read_bytes() == src.read_bytes()
    (amr_out,) = mediaprep.prepare(src, out_dir=tmp_path, profile="wechat").outputs
    assert amr_out.format == "amr" and assert_voice_note(amr_out.path) < 4.5


def test_hostile_file_names_are_read_as_files(media, tmp_path):
    for name in ("-i.wav", "pipe:0.wav", "http:x.wav"):
        src = tmp_path / name
        shutil.copyfile(media["four.wav"], src)
        res = mediaprep.prepare(src, out_dir=tmp_path / "out")
        assert_voice_note(res.outputs[0].path)
    # Names kept (":" is an ordinary character in a file name); only the leading "-" goes.
    assert files_in(tmp_path / "out") == ["_i.amr", "http:x.amr", "pipe:0.amr"]


# ------------------------------------------------------------------ level and silence

def test_quiet_and_loud_recordings_are_normalised(media, tmp_path):
    quiet_in = active_level_db(decode(media["quiet.wav"]).samples)
    loud_in = active_level_db(decode(media["loud.wav"]).samples)
    assert quiet_in < -45 and loud_in > -13.5
    for name in ("quiet.wav", "loud.wav"):
        (out,) = mediaprep.prepare(media[name], out_dir=tmp_path).outputs
        dec = decode(out.path)
        assert active_level_db(dec.samples) == pytest.approx(TARGET_LEVEL_DB, abs=1.5)
        assert int(np.abs(dec.samples.astype(np.int32)).max()) < 32767  # held under clipping


def test_music_without_pauses_gets_a_hard_cut_near_the_limit(media, tmp_path):
    res = mediaprep.prepare(media["music.wav"], out_dir=tmp_path)
    assert len(res.outputs) == 2
    durations = [assert_voice_note(o.path) for o in res.outputs]
    assert durations[0] > 58.9  # cut in the last second before the limit
    assert sum(durations) == pytest.approx(70.0 + 0.04, abs=0.1)  # nothing trimmed from music
    assert any("no pause" in w for w in res.warnings)
    assert dict(res.outputs[0].details)["ends_at"] == "hard"


def test_parts_encoded_side_by_side_match_one_input_through_the_limiter(tmp_path, monkeypatch):
    """The parts are encoded in lanes, one ffmpeg run each, side by side: a part must
    come out byte for byte as through one run, even where the limiter works across a
    hard cut (a burst in the last 7.5 ms of part 1 still holds the gain down at the
    start of part 2: the lanes overlap for that)."""
    x = music(70.0, 8000).astype(np.float64) * 0.25
    for s in range(0, len(x), 24_077):  # peaks every 3 s: the limiter is on
        x[s:s + 40] = 30000 * np.sin(2 * np.pi * 1000 * np.arange(len(x[s:s + 40])) / 8000)

    def encode(samples: np.ndarray, name: str, threads: str) -> list[mediaprep.OutputFile]:
        monkeypatch.setenv("MEDIAPREP_THREADS", threads)
        src = write_wav(tmp_path / f"{name}.wav", np.clip(samples, -32767, 32767).astype(np.int16), 8000)
        return list(mediaprep.prepare(src, out_dir=tmp_path / f"{name}-{threads}").outputs)

    first, _ = encode(x, "plain", "1")
    cut = round(dict(first.details)["end_seconds"] * 8000)
    x[cut - 60:cut] = 32000 * np.sin(2 * np.pi * 1000 * np.arange(60) / 8000)
    one, two = encode(x, "burst", "1"), encode(x, "burst", "2")  # one lane, two lanes
    assert dict(one[0].details)["end_seconds"] * 8000 == pytest.approx(cut)
    assert all(dict(o.details)["limiter"] for o in one)
    assert [o.path.read_bytes() for o in one] == [o.path.read_bytes() for o in two]


def test_numpy_loads_only_when_a_voice_note_is_reencoded(tmp_path):
    """numpy's import (0.07 s) is needed only to analyse decoded samples: a voice note
    that complies is passed through without it; one that needs work loads it (while
    ffmpeg decodes) and comes out as AMR."""
    import subprocess
    import sys

    amr_in = tmp_path / "note.amr"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-ar", "8000", "-ac", "1",
           "-c:a", "libopencore_amrnb", "-b:a", "12.2k", str(amr_in))
    code = ("import sys, mediaprep\n"
            "res = mediaprep.prepare(sys.argv[1], out_dir=sys.argv[2])\n"
            "print(res.outputs[0].passed_through, res.outputs[0].path.read_bytes()[:6] == b'#!AMR\\n',"
            " 'numpy' in sys.modules)\n")
    for src, expected in ((amr_in, "True True False"), (SPEECH, "False True True")):
        res = subprocess.run([sys.executable, "-c", code, str(src), str(tmp_path / src.stem)],
                             capture_output=True, text=True, timeout=120)
        assert res.stdout.strip() == expected, res.stderr


def test_silent_recording_is_refused(media, tmp_path):
    with pytest.raises(BadInput, match="silent"):
        mediaprep.prepare(media["silent.wav"], out_dir=tmp_path)
    assert files_in(tmp_path) == []


def test_video_without_sound_cannot_be_a_voice_note(media, tmp_path):
    r = CliRunner().invoke(main, ["prepare", str(media["no_audio.mp4"]), "-o", str(tmp_path),
                                  "--as", "voice"])
    assert r.exit_code == ExitCode.BAD_INPUT
    assert "no audio stream" in r.stderr
    assert files_in(tmp_path) == []


# ------------------------------------------------------------------ headers that lie

@pytest.mark.parametrize("name", ["lie.wav", "lie.mp3", "lie.m4a"])
def test_a_header_claiming_10_hours_is_not_believed(media, tmp_path, name):
    report = check(media[name])
    facts = dict(report.facts)
    assert facts["duration"] == pytest.approx(4.0, abs=0.25)
    assert not [v for v in report.violations if v.rule == "duration"]
    res = mediaprep.prepare(media[name], out_dir=tmp_path)
    (out,) = res.outputs
    assert assert_voice_note(out.path) < 4.5
    # libav itself clamps a WAV's data size to the file and takes an M4A's duration
    # from its sample tables, but believes an MP3's Xing frame count: we go by the
    # packets (check) and the decoded samples (prepare).
    if name == "lie.mp3":
        assert any("header claims 9:" in w and "lasts 0:04" in w for w in res.warnings)


# ------------------------------------------------------------------ check

def test_check_reports_audio_facts_against_each_profile(media):
    r = CliRunner().invoke(main, ["check", "--json", str(media["speech.mp3"]),
                                  str(media["speech.amr"]), str(media["speech_amrwb.awb"])])
    assert r.exit_code == ExitCode.NOT_COMPLIANT
    files = {Path(f["path"]).name: f for f in json.loads(r.stdout)["files"]}
    mp3, amr_nb, amr_wb = files["speech.mp3"], files["speech.amr"], files["speech_amrwb.awb"]
    assert mp3["facts"]["audio_codec"] in ("mp3", "mp3float") and mp3["facts"]["sample_rate_hz"] == 44100
    assert mp3["facts"]["channels"] == 2 and mp3["bytes"] == media["speech.mp3"].stat().st_size
    assert mp3["facts"]["duration_seconds"] == pytest.approx(CLIP_S, abs=0.1)
    assert [v["rule"] for v in mp3["violations"]] == ["format"]
    assert amr_nb["complies"] and amr_nb["facts"]["sample_rate_hz"] == 8000
    assert amr_nb["facts"]["channels"] == 1
    assert amr_wb["violations"][0]["actual"] == "AMR-WB"
    # The Official Account API also takes MP3; WeCom wants AMR.
    assert check(media["speech.mp3"], "wechat-oa").complies
    assert not check(media["speech.mp3"], "wecom").complies
    text = CliRunner().invoke(main, ["check", str(SPEECH)])
    assert "FAIL" in text.stdout and "48000 Hz 1 ch" in text.stdout
    assert "- duration: 74.1" in text.stdout and "(limit: 60 s)" in text.stdout


def test_profile_without_amr_cannot_take_voice(media, tmp_path):
    prof = tmp_path / "mp3only.toml"
    prof.write_text('name = "mp3only"\n[voice]\nformats = ["mp3"]\n')
    with pytest.raises(CannotComply, match="does not accept AMR"):
        mediaprep.prepare(media["four.wav"], out_dir=tmp_path / "out", profile=str(prof))


@pytest.mark.parametrize("samples", [9, 300])
def test_a_sound_shorter_than_50_ms_is_refused_as_too_short(tmp_path: Path, samples: int) -> None:
    """A click of 9 samples (1 ms) or 300 (38 ms) at 8 kHz is no voice note: one line,
    exit 4, nothing written (it used to become one 20 ms AMR frame)."""
    rng = np.random.default_rng(3)
    src = write_wav(tmp_path / "click.wav", rng.integers(-8000, 8000, samples), 8000)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["prepare", str(src), "-o", str(out)])
    assert res.exit_code == ExitCode.BAD_INPUT, res.output
    assert f"the audio lasts only {samples * 1000 / 8000:.0f} ms, too short for a voice note" in res.output
    assert "record or export a longer one" in res.output
    assert not out.exists() or list(out.iterdir()) == []
