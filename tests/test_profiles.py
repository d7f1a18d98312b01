"""mediaprep/profiles.py: the built-in profiles hold the limits the README's table states
(read from README.md itself, and spelled out here once more); get_profile by name or
TOML path; TOML files inherit from ``base`` role by role; bad files and values are
refused with UsageError (exit 2) and a message naming the problem.
"""
from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaprep.errors import ExitCode, UsageError
from mediaprep.model import ROLES
from mediaprep.profiles import (
    BUILTIN,
    KNOWN_FORMATS,
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
    with pytest.raises(UsageError) as info:
        _load(folder, text, name)
    err = info.value
    assert err.exit_code == ExitCode.USAGE == 2
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


@pytest.mark.parametrize("text, words", [
    ("[image]\nmax_bytes = -1\n", ["[image]", "max_bytes > 0"]),
    ("[voice]\nmax_bytes = 0\n", ["[voice]", "max_bytes > 0"]),
    ("[thumb]\nmax_bytes = -64000\n", ["[thumb]", "max_bytes > 0"]),
    ('[image]\nformats = ["webp"]\n', ["[image]", "formats from amr, gif, jpeg, mp3, mp4, png"]),
    ('[voice]\nformats = ["amr", "opus"]\n', ["[voice]", "formats from"]),
    ('[image]\nformats = "jpeg"\n', ["[image]", "formats from"]),  # a string, not a list
    ("[image]\nformats = 5\n", ["bad value in [image]"]),
    ('[image]\nmax_bytes = "lots"\n', ["bad value in [image]", "'lots'"]),
    ("[image]\nmax_bytes = [1, 2]\n", ["bad value in [image]"]),
    ("[image]\nmax_bytes = nan\n", ["bad value in [image]", "NaN"]),
    ("[image]\nmax_bytes = 1979-05-27\n", ["bad value in [image]"]),
    ('[voice]\nmax_duration = "a minute"\n', ["bad value in [voice]", "'a minute'"]),
    ("[voice]\nmax_duration = [60]\n", ["bad value in [voice]"]),
    ("[video]\nmin_bytes = {a = 1}\n", ["bad value in [video]"]),
])
def test_bad_values_are_refused(tmp_path, text, words):
    err = _refused(tmp_path, text)
    assert err.message.startswith("profile 'mine': ")
    for word in words:
        assert word in err.message


@pytest.mark.parametrize("key", ["max_size", "maxbytes", "format", "duration", "Max_Bytes"])
def test_unknown_key_in_a_role_is_refused(tmp_path, key):
    err = _refused(tmp_path, f"[voice]\n{key} = 1\n")
    assert f"unknown key(s) in [voice]: {key}" in err.message
    assert err.hint == "allowed: formats, max_bytes, max_duration, min_bytes"


def test_several_unknown_keys_are_named_together(tmp_path):
    err = _refused(tmp_path, "[image]\nwidth = 1\nheight = 2\n")
    assert "unknown key(s) in [image]: height, width" in err.message


@pytest.mark.parametrize("text", ["image = 5\n", 'video = "small"\n', "thumb = [1]\n"])
def test_role_that_is_not_a_table(tmp_path, text):
    err = _refused(tmp_path, text)
    assert "must be a table" in err.message


@pytest.mark.parametrize("base", ["nope", "WeChat", "mine.toml", "5"])
def test_unknown_base(tmp_path, base):
    text = f"base = {base}\n" if base.isdigit() else f'base = "{base}"\n'
    err = _refused(tmp_path, text)
    assert f"unknown base {base!r}" in err.message
    assert err.path == tmp_path / "mine.toml"


@pytest.mark.parametrize("text", [
    "[image\nmax_bytes = 1\n",
    "[image]\nmax_bytes = \n",
    "[image]\nmax_bytes = 1\nmax_bytes = 2\n",
    'name = "unterminated\n',
    "[image]\n[image]\n",
])
def test_syntax_errors(tmp_path, text):
    err = _refused(tmp_path, text)
    assert err.message.startswith("profile file is not valid TOML: ")
    assert "line" in err.message
    assert err.path == tmp_path / "mine.toml"


def test_not_utf8(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(UsageError, match="not valid TOML"):
        get_profile(str(path))


def test_a_folder_named_like_a_profile(tmp_path):
    (tmp_path / "mine.toml").mkdir()
    with pytest.raises(UsageError, match="cannot read profile file"):
        get_profile(str(tmp_path / "mine.toml"))


@pytest.mark.parametrize("text, words", [
    ("[safety]\nmax_pixelz = 1\n", ["bad [safety] table", "max_pixelz"]),
    ("safety = 5\n", ["bad [safety] table"]),
])
def test_bad_safety_table(tmp_path, text, words):
    err = _refused(tmp_path, text)
    for word in words:
        assert word in err.message


@pytest.mark.xfail(strict=True, reason="load_profile_file (profiles.py:173-181) reads only the known "
                   "tables and ignores every other key: a role table with a typo or a wrong name, "
                   "or a role key put at the top level, is silently dropped and the base's limits apply")
@pytest.mark.parametrize("text", ["[audio]\nmax_bytes = 100\n", "[imgae]\nmax_bytes = 100\n",
                                  "[Image]\nmax_bytes = 100\n", "max_bytes = 100\n"])
def test_unknown_role_table_is_refused(tmp_path, text):
    _refused(tmp_path, text)


@pytest.mark.xfail(strict=True, reason="_role_from_toml (profiles.py:136-144) converts with int()/float() "
                   "and catches only TypeError/ValueError: max_bytes = inf raises OverflowError "
                   "(exit 1, 'internal error')")
def test_infinite_max_bytes_is_refused(tmp_path):
    err = _refused(tmp_path, "[image]\nmax_bytes = inf\n")
    assert "[image]" in err.message


@pytest.mark.xfail(strict=True, reason="_role_from_toml (profiles.py:136-150) coerces instead of checking "
                   "types and checks only max_bytes > 0 and the format names: fractional and boolean "
                   "byte counts are truncated (1.5 -> 1, true -> 1), numbers in strings are taken, an "
                   "empty format list, min_bytes <= 0 or above max_bytes and negative or NaN durations "
                   "are all accepted")
@pytest.mark.parametrize("text", [
    "[image]\nmax_bytes = 1.5\n",
    "[image]\nmax_bytes = true\n",
    '[image]\nmax_bytes = "128000"\n',
    "[image]\nformats = []\n",
    "[image]\nmin_bytes = -5\n",
    "[image]\nmin_bytes = 0\n",
    "[image]\nmin_bytes = 200000\n",  # above max_bytes 128,000: nothing can comply
    "[voice]\nmax_duration = -1\n",
    "[voice]\nmax_duration = 0\n",
    "[voice]\nmax_duration = nan\n",
    '[voice]\nmax_duration = "60"\n',
], ids=["float-bytes", "bool-bytes", "string-bytes", "no-formats", "negative-min", "zero-min",
        "min-above-max", "negative-duration", "zero-duration", "nan-duration", "string-duration"])
def test_wrong_role_values_are_refused(tmp_path, text):
    _refused(tmp_path, text)


@pytest.mark.xfail(strict=True, reason="load_profile_file (profiles.py:168-172) builds SafetyLimits "
                   "from the table without checking a type or a sign: with max_pixels = \"lots\" "
                   "'check' blames a good JPEG ('cannot identify image file ... damaged or truncated', "
                   "exit 4); with -1 every image 'exceeds our limit of -1 pixels'")
@pytest.mark.parametrize("text", ['[safety]\nmax_pixels = "lots"\n', "[safety]\nmax_pixels = -1\n",
                                  "[safety]\nmemory_mb = 0\n", "[safety]\ntimeout_floor = nan\n"],
                         ids=["string", "negative", "zero-memory", "nan-timeout"])
def test_wrong_safety_values_are_refused(tmp_path, text):
    _refused(tmp_path, text)


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
        assert f"[{role}] needs max_bytes > 0" in err.message


@settings(max_examples=150, deadline=None)
@given(base=st.sampled_from(list(BUILTIN)), role=st.sampled_from(ROLES),
       seconds=st.floats(min_value=0.001, max_value=1e9, allow_nan=False),
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
