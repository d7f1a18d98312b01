"""mediaprep/profiles.py: the built-in profiles hold the limits the README's table states
(read from README.md itself, and spelled out here once more); get_profile by name or
TOML path; TOML files inherit from ``base`` role by role; bad files and values are
refused with UsageError (exit 2) and a message naming the problem.
"""
from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, fields, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaprep.errors import ExitCode, UsageError
from mediaprep.model import ROLES
from mediaprep.profiles import (
    BUILTIN,
    KNOWN_FORMATS,
    MAX_SECONDS,
    WECHAT,
    WECHAT_OA,
    WECOM,
    Profile,
    RoleLimits,
    SafetyLimits,
    get_profile,
    load_profile_file,
)

README = Path(__file__).resolve().parent.parent / "README.md"

# The README's table, spelled out: (max_bytes, max_duration, formats, min_bytes) per role.
EXPECTED: dict[str, dict[str, tuple[int, float | None, tuple[str, ...], int]]] = {
    "wechat": {
        "image": (128_000, None, ("jpeg",), 1),
        "voice": (256_000, 60.0, ("amr",), 1),
        "video": (1_000_000, None, ("mp4",), 1),
        "thumb": (64_000, None, ("jpeg",), 1),
    },
    "wechat-oa": {
        "image": (10_000_000, None, ("jpeg", "png", "gif"), 1),
        "voice": (2_000_000, 60.0, ("amr", "mp3"), 1),
        "video": (10_000_000, None, ("mp4",), 1),
        "thumb": (64_000, None, ("jpeg",), 1),
    },
    "wecom": {  # WeCom refuses files of 5 bytes or fewer (profiles.py, not in the README table)
        "image": (10_000_000, None, ("jpeg", "png"), 6),
        "voice": (2_000_000, 60.0, ("amr",), 6),
        "video": (10_000_000, None, ("mp4",), 6),
        "thumb": (64_000, None, ("jpeg",), 6),
    },
}


def _write(folder: Path, text: str, name: str = "mine.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _load(folder: Path, text: str, name: str = "mine.toml") -> Profile:
    return get_profile(str(_write(folder, text, name)))


def _refused(folder: Path, text: str, name: str = "mine.toml") -> UsageError:
    """The file is refused with exit 2, on one line that names the file and says what to do."""
    with pytest.raises(UsageError) as info:
        _load(folder, text, name)
    err = info.value
    assert err.exit_code == ExitCode.USAGE == 2
    assert err.path == folder / name
    assert err.hint
    assert "\n" not in err.one_line()
    return err


# --- the built-in profiles -------------------------------------------------------------------


def test_builtin_names():
    assert list(BUILTIN) == ["wechat", "wechat-oa", "wecom"]
    assert BUILTIN["wechat"] is WECHAT and BUILTIN["wechat-oa"] is WECHAT_OA and BUILTIN["wecom"] is WECOM
    for name, prof in BUILTIN.items():
        assert prof.name == name and prof.description


@pytest.mark.parametrize("name, role", [(n, r) for n in EXPECTED for r in ROLES])
def test_builtin_limits(name, role):
    max_bytes, max_duration, formats, min_bytes = EXPECTED[name][role]
    limits = get_profile(name).limits(role)
    assert limits == RoleLimits(max_bytes=max_bytes, formats=formats, max_duration=max_duration,
                                min_bytes=min_bytes)
    assert limits is getattr(get_profile(name), role)
    assert set(limits.formats) <= KNOWN_FORMATS


def _readme_table() -> dict[str, dict[str, tuple[int, float | None, tuple[str, ...]]]]:
    """The '## Profiles' table of README.md: profile -> role -> (bytes, seconds, formats)."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Profiles\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    header = next(line for line in section.splitlines() if line.startswith("| profile"))
    roles = [cell.strip() for cell in header.strip("|").split("|")][1:]
    units = {"B": 1, "KB": 1000, "MB": 1000 * 1000}  # "K is read as 1000 bytes"
    cell_re = re.compile(r"^([\d,]+) (B|KB|MB),? (?:(\d+) s, )?([A-Za-z0-9/-]+)$")
    table: dict[str, dict[str, tuple[int, float | None, tuple[str, ...]]]] = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        name = re.match(r"`([^`]+)`", cells[0])
        assert name, row
        table[name.group(1)] = {}
        for role, cell in zip(roles, cells[1:], strict=True):
            match = cell_re.match(cell)
            assert match, f"cannot read README cell {cell!r}"
            number, unit, seconds, formats = match.groups()
            names = tuple("amr" if f == "amr-nb" else f for f in formats.lower().split("/"))
            table[name.group(1)][role] = (int(number.replace(",", "")) * units[unit],
                                          float(seconds) if seconds else None, names)
    return table


def test_builtin_profiles_match_the_readme_table():
    table = _readme_table()
    assert set(table) == set(BUILTIN)
    for name, roles in table.items():
        assert set(roles) == set(ROLES)
        for role, (max_bytes, max_duration, formats) in roles.items():
            limits = BUILTIN[name].limits(role)
            assert (limits.max_bytes, limits.max_duration, limits.formats) == (max_bytes, max_duration, formats), \
                (name, role)


def test_default_safety_limits_are_the_readmes():
    # README "Untrusted input" point 3, and the batch section's memory_mb.
    assert SafetyLimits() == SafetyLimits(
        max_pixels=100_000_000, max_side=30_000, max_video_pixels=4096 * 2304, max_duration=3 * 3600.0,
        max_streams=32, max_frames_probe=10_000, max_metadata_bytes=1_000_000, max_jpeg_scans=100,
        timeout_floor=60.0, memory_mb=4096)
    for prof in BUILTIN.values():
        assert prof.safety == SafetyLimits()


def test_profiles_are_frozen():
    with pytest.raises(FrozenInstanceError):
        WECHAT.image = WECHAT.thumb  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        WECHAT.image.max_bytes = 1  # type: ignore[misc]


@pytest.mark.parametrize("limits, text", [
    (WECHAT.voice, "<= 256,000 bytes, AMR, <= 60 s"),
    (WECHAT.image, "<= 128,000 bytes, JPEG"),
    (WECHAT_OA.image, "<= 10,000,000 bytes, JPEG/PNG/GIF"),
    (WECOM.voice, "<= 2,000,000 bytes, AMR, <= 60 s, > 5 bytes"),
    (RoleLimits(max_bytes=5, formats=("mp4",), max_duration=12.5), "<= 5 bytes, MP4, <= 12.5 s"),
])
def test_describe(limits, text):
    assert limits.describe() == text


# --- Profile.limits and get_profile ----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_limits_by_role(role):
    for prof in BUILTIN.values():
        assert prof.limits(role) is getattr(prof, role)


@pytest.mark.parametrize("role", ["audio", "Image", "IMAGE", "", "photo", "thumbnail", "media", " image"])
def test_limits_of_an_unknown_role(role):
    with pytest.raises(UsageError) as info:
        WECHAT.limits(role)
    assert info.value.exit_code == ExitCode.USAGE
    assert repr(role) in info.value.message
    assert info.value.hint == "use one of image, voice, video, thumb"


@pytest.mark.parametrize("name", list(BUILTIN))
def test_get_profile_by_name(name):
    assert get_profile(name) is BUILTIN[name]


def test_get_profile_passes_a_profile_through():
    mine = replace(WECHAT, name="mine")
    assert get_profile(mine) is mine


@pytest.mark.parametrize("name", ["nope", "WeChat", "wechat ", "", "wechat_oa", "wecom.toml.bak"])
def test_get_profile_unknown_name(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no file of that name here
    with pytest.raises(UsageError) as info:
        get_profile(name)
    assert info.value.exit_code == ExitCode.USAGE
    assert f"unknown profile {name!r}" in info.value.message
    assert "wechat, wechat-oa, wecom" in (info.value.hint or "") and ".toml" in (info.value.hint or "")


def test_get_profile_missing_toml_file(tmp_path):
    with pytest.raises(UsageError) as info:
        get_profile(str(tmp_path / "missing.toml"))
    assert "cannot read profile file" in info.value.message
    assert info.value.path == tmp_path / "missing.toml"
    assert info.value.hint == "check the path given as the profile"


def test_get_profile_reads_a_file_without_toml_suffix(tmp_path):
    path = _write(tmp_path, 'name = "plain"\n[thumb]\nmax_bytes = 50000\n', name="profile.conf")
    prof = get_profile(str(path))
    assert prof.name == "plain" and prof.thumb.max_bytes == 50_000


# --- TOML profiles: inheritance and overrides ----------------------------------------------------


def test_readme_example(tmp_path):
    prof = _load(tmp_path, 'name = "mine"\nbase = "wechat"\n[image]\nmax_bytes = 131072\nformats = ["jpeg"]\n')
    assert prof.name == "mine"
    assert prof.image == RoleLimits(max_bytes=131_072, formats=("jpeg",))
    assert (prof.voice, prof.video, prof.thumb, prof.safety) == \
        (WECHAT.voice, WECHAT.video, WECHAT.thumb, WECHAT.safety)
    assert prof.description == "loaded from mine.toml"
    assert load_profile_file(tmp_path / "mine.toml") == prof


def test_empty_file_is_wechat_under_the_files_name(tmp_path):
    prof = _load(tmp_path, "", name="office.toml")
    assert prof.name == "office"
    assert (prof.image, prof.voice, prof.video, prof.thumb) == (WECHAT.image, WECHAT.voice, WECHAT.video, WECHAT.thumb)


@pytest.mark.parametrize("base", list(BUILTIN))
def test_base_is_inherited_role_by_role(tmp_path, base):
    prof = _load(tmp_path, f'base = "{base}"\ndescription = "ours"\n[voice]\nmax_duration = 30\n')
    parent = BUILTIN[base]
    assert prof.description == "ours"
    # Only the key given changes; the rest of [voice] and the other roles come from base.
    assert prof.voice == replace(parent.voice, max_duration=30.0)
    assert (prof.image, prof.video, prof.thumb, prof.safety) == \
        (parent.image, parent.video, parent.thumb, parent.safety)


def test_every_key_can_be_overridden(tmp_path):
    prof = _load(tmp_path, '''
base = "wecom"
[image]
max_bytes = 500000
formats = ["JPG", "png", "Gif"]
min_bytes = 10
[video]
max_bytes = 2000000
max_duration = 90.5
[thumb]
formats = ["jpg"]
[safety]
max_pixels = 50000000
memory_mb = 2048
''')
    assert prof.image == RoleLimits(max_bytes=500_000, formats=("jpeg", "png", "gif"), min_bytes=10)
    assert prof.video == replace(WECOM.video, max_bytes=2_000_000, max_duration=90.5)
    assert prof.thumb == WECOM.thumb  # "jpg" is read as "jpeg"
    assert prof.voice == WECOM.voice
    assert prof.safety == replace(SafetyLimits(), max_pixels=50_000_000, memory_mb=2048)


def test_durations_can_be_cleared_only_by_leaving_the_key_out(tmp_path):
    # TOML has no null: a video without max_duration inherits None from wechat.
    prof = _load(tmp_path, "[video]\nmax_bytes = 3000000\n")
    assert prof.video.max_duration is None and prof.video.max_bytes == 3_000_000


# --- TOML profiles: refusals --------------------------------------------------------------------

_WHOLE = "must be a whole number >= 1, not"
_SECONDS = "must be a finite number > 0, not"
_LIST = "formats must be a non-empty list of format names, not"


@pytest.mark.parametrize("text, words, hint", [
    ("[image]\nmax_bytes = -1\n", ["[image] max_bytes", _WHOLE, "-1"], "max_bytes = 128000"),
    ("[voice]\nmax_bytes = 0\n", ["[voice] max_bytes", _WHOLE, " 0"], "max_bytes = 256000"),
    ("[thumb]\nmax_bytes = -64000\n", ["[thumb] max_bytes", _WHOLE, "-64000"], "max_bytes = 64000"),
    ('[image]\nformats = ["webp"]\n', ["[image] formats: unknown format(s) \"webp\""],
     "known formats: amr, gif, jpeg, mp3, mp4, png"),
    ('[voice]\nformats = ["amr", "opus", "flac"]\n', ['unknown format(s) "opus", "flac"'], 'formats = ["jpeg"]'),
    ('[image]\nformats = "jpeg"\n', ["[image]", _LIST, '"jpeg"'], 'formats = ["jpeg"]'),
    ("[image]\nformats = 5\n", ["[image]", _LIST, "5"], "known formats"),
    ("[image]\nformats = [1, 2]\n", ["[image]", _LIST, "[1, 2]"], "known formats"),
    ('[image]\nmax_bytes = "lots"\n', ["[image] max_bytes", _WHOLE, '"lots"'], "max_bytes = 128000"),
    ("[image]\nmax_bytes = [1, 2]\n", ["[image] max_bytes", _WHOLE, "[1, 2]"], "max_bytes = 128000"),
    ("[image]\nmax_bytes = nan\n", ["[image] max_bytes", _WHOLE, "nan"], "max_bytes = 128000"),
    ("[image]\nmax_bytes = 1979-05-27\n", ["[image] max_bytes", _WHOLE, "1979-05-27"], "max_bytes"),
    ('[voice]\nmax_duration = "a minute"\n', ["[voice] max_duration", _SECONDS, '"a minute"'],
     "max_duration = 60.0"),
    ("[voice]\nmax_duration = [60]\n", ["[voice] max_duration", _SECONDS, "[60]"], "max_duration"),
    ("[video]\nmin_bytes = {a = 1}\n", ["[video] min_bytes", _WHOLE, "a table"], "min_bytes = 1"),
])
def test_bad_values_are_refused(tmp_path, text, words, hint):
    err = _refused(tmp_path, text)
    for word in words:
        assert word in err.message
    assert hint in (err.hint or "")


@pytest.mark.parametrize("text, words", [
    ("[image]\nmax_bytes = inf\n", ["[image] max_bytes", _WHOLE, "inf"]),
    ("[image]\nmax_bytes = -inf\n", ["[image] max_bytes", _WHOLE, "-inf"]),
    ("[image]\nmin_bytes = inf\n", ["[image] min_bytes", _WHOLE, "inf"]),
    ("[voice]\nmax_duration = inf\n", ["[voice] max_duration", _SECONDS, "inf"]),
    ("[safety]\nmax_duration = inf\n", ["[safety] max_duration", _SECONDS, "inf"]),
    ("[safety]\nmax_pixels = inf\n", ["[safety] max_pixels", _WHOLE, "inf"]),
    (f"[voice]\nmax_duration = {10 ** 400}\n", ["[voice] max_duration", _SECONDS]),  # beyond any float
])
def test_infinities_are_refused_not_overflowed(tmp_path, text, words):
    """int(inf) raised OverflowError (exit 1, 'internal error'); now a plain refusal."""
    err = _refused(tmp_path, text)
    for word in words:
        assert word in err.message


def test_a_huge_whole_number_of_bytes_is_taken_as_written(tmp_path):
    prof = _load(tmp_path, f"[video]\nmax_bytes = {10 ** 30}\n")
    assert prof.video.max_bytes == 10 ** 30


@pytest.mark.parametrize("key", ["max_size", "maxbytes", "format", "duration", "Max_Bytes"])
def test_unknown_key_in_a_role_is_refused(tmp_path, key):
    err = _refused(tmp_path, f"[voice]\n{key} = 1\n")
    assert err.message == f"unknown key(s) in [voice]: {key}"
    assert "valid in [voice]: formats, max_bytes, max_duration, min_bytes" in (err.hint or "")


@pytest.mark.parametrize("key, guess", [("Max_Bytes", "max_bytes"), ("maxbytes", "max_bytes"),
                                        ("format", "formats"), ("min_byte", "min_bytes")])
def test_a_near_miss_is_named(tmp_path, key, guess):
    err = _refused(tmp_path, f"[image]\n{key} = 1\n")
    assert (err.hint or "").startswith(f"did you mean {guess}? ")


def test_several_unknown_keys_are_named_together(tmp_path):
    err = _refused(tmp_path, "[image]\nwidth = 1\nheight = 2\n")
    assert err.message == "unknown key(s) in [image]: height, width"


@pytest.mark.parametrize("text", ["image = 5\n", 'video = "small"\n', "thumb = [1]\n", "safety = 5\n",
                                  "safety = true\n"])
def test_table_that_is_not_a_table(tmp_path, text):
    err = _refused(tmp_path, text)
    key = text.split(" ")[0]
    assert err.message.startswith(f"[{key}] must be a table, not ")
    assert f"[{key}] section" in (err.hint or "")


@pytest.mark.parametrize("base", ["nope", "WeChat", "mine.toml", "wechat "])
def test_unknown_base(tmp_path, base):
    err = _refused(tmp_path, f'base = "{base}"\n')
    assert err.message == f'unknown base "{base}"'
    assert err.hint == "base must be one of the built-in profiles: wechat, wechat-oa, wecom"


@pytest.mark.parametrize("key, value", [("base", "5"), ("base", '""'), ("base", '["wechat"]'), ("name", "5"),
                                        ("name", '""'), ("description", "true"), ("name", "[image]")])
def test_top_level_strings_are_strings(tmp_path, key, value):
    text = f"{key} = {value}\n" if value != "[image]" else f"{key} = {{a = 1}}\n"
    err = _refused(tmp_path, text)
    assert err.message.startswith(f"{key} must be a non-empty string, not ")
    assert f"{key} = " in (err.hint or "")


@pytest.mark.parametrize("text", [
    "[image\nmax_bytes = 1\n",
    "[image]\nmax_bytes = \n",
    "[image]\nmax_bytes = 1\nmax_bytes = 2\n",
    'name = "unterminated\n',
    "[image]\n[image]\n",
])
def test_syntax_errors(tmp_path, text):
    with pytest.raises(UsageError) as info:
        _load(tmp_path, text)
    err = info.value
    assert err.message.startswith("profile file is not valid TOML: ")
    assert "line" in err.message
    assert err.path == tmp_path / "mine.toml"
    assert "fix the file" in (err.hint or "")


def test_not_utf8(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(UsageError, match="not valid TOML"):
        get_profile(str(path))


def test_a_folder_named_like_a_profile(tmp_path):
    (tmp_path / "mine.toml").mkdir()
    with pytest.raises(UsageError, match="cannot read profile file"):
        get_profile(str(tmp_path / "mine.toml"))


@pytest.mark.parametrize("text, message, hint", [
    ("[safety]\nmax_pixelz = 1\n", "unknown key(s) in [safety]: max_pixelz", "did you mean max_pixels? valid in "
     "[safety]: decode_seconds, max_duration, max_frames_probe, max_input_bytes, max_jpeg_scans, "
     "max_metadata_bytes, max_pixels, max_side, max_streams, max_video_pixels, memory_mb, timeout_floor"),
    ("[safety]\nmax_bytes = 1\n", "unknown key(s) in [safety]: max_bytes",
     "valid in [safety]: decode_seconds, max_duration"),
])
def test_unknown_safety_key(tmp_path, text, message, hint):
    err = _refused(tmp_path, text)
    assert err.message == message
    assert hint in (err.hint or "")


@pytest.mark.parametrize("text", ["[audio]\nmax_bytes = 100\n", "[imgae]\nmax_bytes = 100\n",
                                  "[Image]\nmax_bytes = 100\n", "[images]\n", "[safty]\nmax_pixels = 1\n"])
def test_unknown_table_is_refused(tmp_path, text):
    """A typo'd or invented table used to be dropped silently, the base's limits applying."""
    err = _refused(tmp_path, text)
    table = text.split("]")[0] + "]"
    assert err.message == f"unknown key(s) at the top level: {table}"
    assert ("valid at the top level: name, base, description, [image], [voice], [video], [thumb], [safety]"
            in (err.hint or ""))


@pytest.mark.parametrize("text, guess", [("[imgae]\n", "[image]"), ("[Image]\n", "[image]"),
                                         ("[safty]\n", "[safety]"), ("Name = 'x'\n", "name"),
                                         ("bsae = 'wecom'\n", "base")])
def test_unknown_table_near_miss_is_named(tmp_path, text, guess):
    assert (_refused(tmp_path, text).hint or "").startswith(f"did you mean {guess}? ")


@pytest.mark.parametrize("key", ["max_bytes", "formats", "max_pixels", "profile", "version"])
def test_unknown_top_level_key_is_refused(tmp_path, key):
    err = _refused(tmp_path, f"{key} = 100\n")
    assert err.message == f"unknown key(s) at the top level: {key}"
    if key in ("max_bytes", "formats"):  # a role's key put above any table
        assert (err.hint or "").startswith(f"{key} belongs in a role's table, such as [image]; ")


def test_unknown_keys_and_tables_together(tmp_path):
    err = _refused(tmp_path, "size = 1\n[audio]\nmax_bytes = 1\n")
    assert err.message == "unknown key(s) at the top level: [audio], size"


@pytest.mark.parametrize("text, key", [
    ("[image]\nmax_bytes = 1.5\n", "max_bytes"),
    ("[image]\nmax_bytes = 128000.0\n", "max_bytes"),  # a float, even a whole one: not converted
    ("[image]\nmax_bytes = true\n", "max_bytes"),
    ("[image]\nmax_bytes = false\n", "max_bytes"),
    ('[image]\nmax_bytes = "128000"\n', "max_bytes"),
    ("[image]\nformats = []\n", "formats"),
    ('[image]\nformats = [""]\n', "formats"),
    ("[image]\nmin_bytes = -5\n", "min_bytes"),
    ("[image]\nmin_bytes = 0\n", "min_bytes"),
    ("[image]\nmin_bytes = 1.0\n", "min_bytes"),
    ("[image]\nmin_bytes = 200000\n", "min_bytes"),  # above max_bytes 128,000: nothing can comply
    ("[voice]\nmax_duration = -1\n", "max_duration"),
    ("[voice]\nmax_duration = 0\n", "max_duration"),
    ("[voice]\nmax_duration = 0.0\n", "max_duration"),
    ("[voice]\nmax_duration = nan\n", "max_duration"),
    ("[voice]\nmax_duration = true\n", "max_duration"),
    ('[voice]\nmax_duration = "60"\n', "max_duration"),
], ids=["float-bytes", "whole-float-bytes", "true-bytes", "false-bytes", "string-bytes", "no-formats",
        "empty-format-name", "negative-min", "zero-min", "float-min", "min-above-max", "negative-duration",
        "zero-duration", "zero-float-duration", "nan-duration", "bool-duration", "string-duration"])
def test_wrong_role_values_are_refused(tmp_path, text, key):
    """Values are checked, never converted (1.5 used to become 1, true 1, "128000" 128000)."""
    err = _refused(tmp_path, text)
    role = text.split("]")[0] + "]"
    assert err.message.startswith(f"{role} {key}")


def test_min_bytes_above_max_bytes(tmp_path):
    err = _refused(tmp_path, "[image]\nmin_bytes = 200000\n")
    assert err.message == "[image] min_bytes (200,000) is above max_bytes (128,000): no file could comply"
    assert err.hint == "lower min_bytes or raise max_bytes"


def test_min_bytes_inherited_from_the_base_is_checked_too(tmp_path):
    # wecom's min_bytes is 6: a max_bytes of 5 leaves no size that complies.
    err = _refused(tmp_path, 'base = "wecom"\n[thumb]\nmax_bytes = 5\n')
    assert err.message.startswith("[thumb] min_bytes (6) is above max_bytes (5)")
    assert _load(tmp_path, 'base = "wecom"\n[thumb]\nmax_bytes = 6\n').thumb.max_bytes == 6


@pytest.mark.parametrize("text, key", [
    ('[safety]\nmax_pixels = "lots"\n', "max_pixels"),
    ("[safety]\nmax_pixels = -1\n", "max_pixels"),
    ("[safety]\nmax_pixels = 1.5\n", "max_pixels"),
    ("[safety]\nmax_side = true\n", "max_side"),
    ("[safety]\nmemory_mb = 0\n", "memory_mb"),
    ("[safety]\nmax_streams = [1]\n", "max_streams"),
    ("[safety]\ntimeout_floor = nan\n", "timeout_floor"),
    ("[safety]\ntimeout_floor = -inf\n", "timeout_floor"),
    ("[safety]\nmax_duration = 0\n", "max_duration"),
    ('[safety]\nmax_duration = "3h"\n', "max_duration"),
], ids=["string", "negative", "float-count", "bool", "zero-memory", "list", "nan-timeout", "minus-inf",
        "zero-duration", "string-duration"])
def test_wrong_safety_values_are_refused(tmp_path, text, key):
    """[safety] used to be taken as written: "lots" blamed a good JPEG, -1 refused every image."""
    err = _refused(tmp_path, text)
    assert err.message.startswith(f"[safety] {key} must be ")
    assert f"for example {key} = {getattr(SafetyLimits(), key)}" == err.hint


def test_safety_seconds_may_be_whole_numbers(tmp_path):
    prof = _load(tmp_path, "[safety]\nmax_duration = 600\ntimeout_floor = 30\n")
    assert prof.safety.max_duration == 600.0 and isinstance(prof.safety.max_duration, float)
    assert prof.safety.timeout_floor == 30.0


# --- TOML profiles: random numbers ----------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(role=st.sampled_from(ROLES), max_bytes=st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1))
def test_any_integer_max_bytes(tmp_path_factory, role, max_bytes):
    folder = tmp_path_factory.getbasetemp()
    text = f"[{role}]\nmax_bytes = {max_bytes}\n"
    if max_bytes > 0:
        prof = _load(folder, text, name="rand.toml")
        assert prof.limits(role) == replace(WECHAT.limits(role), max_bytes=max_bytes)
        for other in ROLES:
            if other != role:
                assert prof.limits(other) == WECHAT.limits(other)
    else:
        err = _refused(folder, text, name="rand.toml")
        assert err.message == f"[{role}] max_bytes must be a whole number >= 1, not {max_bytes}"


@settings(max_examples=150, deadline=None)
@given(base=st.sampled_from(list(BUILTIN)), role=st.sampled_from(ROLES),
       seconds=st.floats(min_value=0.001, max_value=MAX_SECONDS, allow_nan=False),
       formats=st.lists(st.sampled_from(sorted(KNOWN_FORMATS | {"jpg", "JPEG", "Mp4"})), min_size=1, max_size=4),
       min_bytes=st.integers(min_value=1, max_value=1000))
def test_any_valid_role_table(tmp_path_factory, base, role, seconds, formats, min_bytes):
    folder = tmp_path_factory.getbasetemp()
    listed = ", ".join(f'"{f}"' for f in formats)
    text = (f'base = "{base}"\n[{role}]\nmax_duration = {seconds!r}\nformats = [{listed}]\n'
            f"min_bytes = {min_bytes}\n")
    prof = _load(folder, text, name="rand.toml")
    got = prof.limits(role)
    assert got.max_bytes == BUILTIN[base].limits(role).max_bytes
    assert got.max_duration == seconds
    assert got.formats == tuple("jpeg" if f.lower() == "jpg" else f.lower() for f in formats)
    assert got.min_bytes == min_bytes


@settings(max_examples=60, deadline=None)
@given(key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20)
       .filter(lambda k: k not in {"max_bytes", "formats", "max_duration", "min_bytes"}),
       role=st.sampled_from(ROLES))
def test_any_unknown_key_is_refused(tmp_path_factory, key, role):
    err = _refused(tmp_path_factory.getbasetemp(), f"[{role}]\n{key} = 1\n", name="rand.toml")
    assert key in err.message


# Any TOML value at all: a TOML literal for each, and what the key should make of it.
_VALUES = st.one_of(
    st.booleans().map(lambda b: ("true" if b else "false", b)),
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70).map(lambda i: (str(i), i)),
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda f: ("nan" if f != f else ("inf" if f > 0 else "-inf") if f in (float("inf"), float("-inf"))
                   else repr(f), f)),
    st.text(alphabet="abcxyz0123456789 .-", max_size=8).map(lambda t: (f'"{t}"', t)),
    st.lists(st.sampled_from(["jpeg", "jpg", "png", "webp", "MP4", ""]), max_size=3).map(
        lambda xs: ("[" + ", ".join(f'"{x}"' for x in xs) + "]", xs)),
    st.just(("{a = 1}", {"a": 1})),
    st.just(("1979-05-27", None)),
)


def _acceptable(key: str, value: object, default: object) -> bool:
    if key == "formats":
        return (isinstance(value, list) and bool(value)
                and all(isinstance(v, str) and v.lower() in KNOWN_FORMATS | {"jpg"} for v in value))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if isinstance(default, int) and not isinstance(default, bool):
        return isinstance(value, int) and value >= 1
    return isinstance(value, (int, float)) and value == value and 0 < value <= MAX_SECONDS


@settings(max_examples=300, deadline=None)
@given(table=st.sampled_from([*ROLES, "safety"]), data=st.data(), value=_VALUES)
def test_any_value_for_any_key_is_taken_or_refused_cleanly(tmp_path_factory, table, data, value):
    """Whatever a key is given: the value as written, or a UsageError naming the key,
    never another exception (OverflowError, TypeError, ValueError)."""
    keys = [f.name for f in fields(SafetyLimits if table == "safety" else RoleLimits)]
    key = data.draw(st.sampled_from(keys))
    literal, parsed = value
    folder = tmp_path_factory.getbasetemp()
    text = f"[{table}]\n{key} = {literal}\n"
    defaults = WECHAT.safety if table == "safety" else WECHAT.limits(table)
    default = getattr(defaults, key)
    if key == "max_duration" and table != "safety":
        default = 60.0
    # min_bytes above wechat's max_bytes is refused for that reason instead.
    ok = _acceptable(key, parsed, default) and not (
        key == "min_bytes" and isinstance(parsed, int) and parsed > WECHAT.limits(table).max_bytes)
    if ok:
        prof = _load(folder, text, name="any.toml")
        got = getattr(prof.safety if table == "safety" else prof.limits(table), key)
        if key == "formats":
            assert got == tuple("jpeg" if v.lower() == "jpg" else v.lower() for v in parsed)
        else:
            assert got == parsed and type(got) is type(default)
    else:
        err = _refused(folder, text, name="any.toml")
        assert f"[{table}] {key}" in err.message
