"""Request bodies: built as the API page shows them, validated with the codes it answers."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import mediaprep
from mediaprep import Attachment, RequestInvalid, build_requests, validate_request
from mediaprep.cli.main import main
from mediaprep.errors import ExitCode

IMG = Attachment("image", "1057943604868669445")
VIDEO = Attachment("video", "MEDIA-V", "THUMB-V")


def _body(**over):  # a valid body, then one field changed
    body = build_requests("APP1", "hi", ["1577568001"], [IMG])[0]
    body.update(over)
    return body


def test_body_is_exactly_the_pages_shape_with_every_optional_field():
    (body,) = build_requests(
        "APP1", "你好 hi", ["1577568001", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"], [VIDEO],
        expiry="2015-04-12T18:30:19.456+5:30", correlationid="cid-1", notifyurl="https://example.com/n",
        callback_data="batch 7", smartlinks=["42:30", "7"])
    assert body == {
        "appid": "APP1",
        "deliverychannel": "wechat",
        "channels": {"OTT-Messaging": {"wechat": {
            "text": "你好 hi",
            "attachment": {"type": "video", "media_id": "MEDIA-V", "thumb_media_id": "THUMB-V"}}}},
        "destination": [{"wechatID": ["1577568001", "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"]}],
        "expiry": "2015-04-12T18:30:19.456+5:30",
        "correlationid": "cid-1",
        "notifyurl": "https://example.com/n",
        "callbackData": "batch 7",
        "smartlinks": [{"linkid": 42, "validity": 30}, {"linkid": 7}],
    }
    assert validate_request(body) == []


def test_recipient_key_and_media_style_options():
    (body,) = build_requests("A", "t", ["x1"], [IMG], recipient_key="wechatid", attachment_style="media")
    assert body["destination"] == [{"wechatid": ["x1"]}]
    assert body["channels"]["OTT-Messaging"]["wechat"]["attachment"] == {
        "type": "media", "media": {"id": "1057943604868669445"}}
    assert validate_request(body) == []


def test_more_than_1000_recipients_split_in_order_per_attachment():
    ids = [f"user{i:05d}" for i in range(2500)]
    voice = [Attachment("voice", "V1"), Attachment("voice", "V2")]
    bodies = build_requests("A", "t", ids, voice)
    assert [len(b["destination"][0]["wechatID"]) for b in bodies] == [1000, 1000, 500] * 2
    assert [b["channels"]["OTT-Messaging"]["wechat"]["attachment"]["media_id"] for b in bodies] == \
        ["V1"] * 3 + ["V2"] * 3
    assert sum((b["destination"][0]["wechatID"] for b in bodies[:3]), []) == ids
    assert all(validate_request(b) == [] for b in bodies)


@pytest.mark.parametrize("change, code, field", [
    ({"channels": {"OTT-Messaging": {"wechat": {"attachment": IMG.to_dict()}}}}, 7003,
     "channels.OTT-Messaging.wechat.text"),
    ({"channels": {"OTT-Messaging": {"wechat": {"text": "t", "attachment": {"type": "file", "media_id": "m"}}}}},
     7004, "channels.OTT-Messaging.wechat.attachment.type"),
    ({"channels": {"OTT-Messaging": {"wechat": {"text": "t", "attachment": {"type": "video", "media_id": "m"}}}}},
     7003, "channels.OTT-Messaging.wechat.attachment.thumb_media_id"),
    ({"channels": {"OTT-Messaging": {"wechat": {"text": "t", "attachment": {
        "type": "image", "media_id": "<image_media_id of a.jpg>"}}}}},
     7004, "channels.OTT-Messaging.wechat.attachment.media_id"),
    ({"correlationid": "é" * 26}, 7004, "correlationid"),  # 52 bytes, 26 characters
    ({"expiry": "2015-04-12 13:00:19"}, 7004, "expiry"),
    ({"expiry": "2015-04-12T13:00:19Z"}, 7004, "expiry"),
    ({"expiry": "2015-02-30T13:00:19.456Z"}, 7004, "expiry"),
    ({"notifyurl": "ftp://example.com/x"}, 7004, "notifyurl"),
    ({"notifyurl": "example.com/x"}, 7004, "notifyurl"),
    ({"smartlinks": [{"linkid": "abc"}]}, 7004, "smartlinks[0].linkid"),
    ({"destination": [{"wechatID": ["a", ""]}]}, 7004, "destination[1]"),
    ({"destination": [{"wechatID": ["a", "b", "a"]}]}, 7004, "destination[2]"),
    ({"destination": [{"wechatID": [f"u{i}" for i in range(1001)]}]}, 7009, "destination"),
    ({"destination": []}, 7004, "destination"),
    ({"deliverychannel": "wa"}, 7004, "deliverychannel"),
])
def test_each_problem_has_the_code_the_api_would_answer(change, code, field):
    problems = validate_request(_body(**change))
    assert [(p.code, p.field) for p in problems] == [(code, field)], problems


def test_accepted_expiry_forms_are_the_pages():
    for value in ("2015-04-12T13:00:19.456Z", "2015-04-12T18:30:19.456+5:30", "2030-01-01T00:00:00.000-08:00"):
        assert validate_request(_body(expiry=value)) == []


def test_every_problem_is_listed_at_once():
    with pytest.raises(RequestInvalid) as err:
        build_requests("A", None, ["a", "a", ""], [Attachment("video", "m")],
                       correlationid="x" * 51, expiry="tomorrow", notifyurl="mailto:x@y", smartlinks=["abc"])
    codes = sorted((p.code, p.field) for p in err.value.problems)
    assert codes == sorted([
        (7003, "channels.OTT-Messaging.wechat.text"),
        (7003, "channels.OTT-Messaging.wechat.attachment.thumb_media_id"),
        (7004, "destination[1]"), (7004, "destination[2]"), (7004, "correlationid"),
        (7004, "expiry"), (7004, "notifyurl"), (7004, "smartlinks[0].linkid")])
    assert err.value.exit_code == ExitCode.USAGE
    line = err.value.one_line()
    assert "\n" not in line and "8 problems" in line and "7003" in line and "nothing was sent" in line


def test_cli_request_from_prepared_json_gives_one_request_per_part(tmp_path):
    prepared = {"input": "long.wav", "role": "voice",
                "outputs": [{"path": "long_part1.amr", "slot": "media", "role": "voice", "bytes": 90000, "part": 1},
                            {"path": "long_part2.amr", "slot": "media", "role": "voice", "bytes": 50000, "part": 2}],
                "attachments": [{"type": "voice", "media_id": "VOICE-1"}, {"type": "voice", "media_id": "VOICE-2"}],
                "warnings": []}
    src = tmp_path / "prepared.json"
    src.write_text(json.dumps(prepared))
    to_file = tmp_path / "to.txt"
    to_file.write_text("# team\nalice\n\nbob\n")
    res = CliRunner().invoke(main, ["request", "--appid", "APP", "--text", "part", "--to", "carol",
                                    "--to-file", str(to_file), "--from", str(src), "--correlationid", "c1"])
    assert res.exit_code == 0, res.output
    bodies = json.loads(res.stdout)
    assert [b["channels"]["OTT-Messaging"]["wechat"]["attachment"] for b in bodies] == prepared["attachments"]
    assert all(b["destination"] == [{"wechatID": ["carol", "alice", "bob"]}] for b in bodies)
    assert all(b["correlationid"] == "c1" for b in bodies)


def test_cli_request_single_attachment_prints_one_object():
    res = CliRunner().invoke(main, ["request", "--appid", "APP", "--text", "hi", "--to", "u1",
                                    "--attachment", json.dumps(IMG.to_dict()), "--smartlink", "12:5"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == _body(smartlinks=[{"linkid": 12, "validity": 5}],
                                           destination=[{"wechatID": ["u1"]}], appid="APP")


def test_cli_request_invalid_lists_problems_on_one_line_and_prints_nothing(tmp_path):
    prepared = tmp_path / "p.json"
    prepared.write_text(json.dumps({"kind": "image", "attachments": [
        {"type": "image", "media_id": "<image_media_id of photo.jpg>"}]}))
    res = CliRunner().invoke(main, ["request", "--appid", "APP", "--to", "u1", "--to", "u1",
                                    "--from", str(prepared)])
    assert res.exit_code == ExitCode.USAGE
    assert res.stdout == ""
    (line,) = res.stderr.strip().splitlines()
    assert "7003 channels.OTT-Messaging.wechat.text" in line
    assert "7004 destination[1]: duplicate recipient 'u1'" in line
    assert "placeholder: upload the file first" in line


def test_cli_request_needs_exactly_one_attachment_source():
    res = CliRunner().invoke(main, ["request", "--appid", "A", "--text", "t", "--to", "u"])
    assert res.exit_code == ExitCode.USAGE and "either --attachment or --from" in res.stderr


def test_library_exports():
    assert mediaprep.build_requests is build_requests and mediaprep.validate_request is validate_request
