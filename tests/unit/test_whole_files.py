"""Whole-file formats: Zeek logs and JSON arrays into events and failures, JSON lines left to the stage."""

from __future__ import annotations

import gzip
import json
import pickle
from datetime import datetime, timezone
from pathlib import Path

import pytest

from datashark.events.whole_files import (
    EventFailure,
    FileRecords,
    gunzip,
    json_array_records,
    needs_whole_files,
    records_of_file,
)

ZEEK_DATA = Path(__file__).resolve().parents[1] / "data" / "zeek"
ZAT_DNS = Path(__file__).resolve().parents[2] / "bench" / "zeek_dns.json"

EVENTS = [
    {
        "EventID": 4625,
        "TargetUserName": "alice",
        "IpAddress": "192.0.2.7",
        "@timestamp": "2024-03-14T08:00:00Z",
    },
    {
        "EventID": 4624,
        "TargetUserName": "bob",
        "LogonType": 3,
        "Message": "An account was\nsuccessfully logged on.",
    },
    {
        "EventID": 4688,
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "Tags": ["a", "b"],
        "Parent": {"pid": 4},
    },
]


def failures(records) -> list[EventFailure]:
    return [record for record in records if isinstance(record, EventFailure)]


def events(records) -> list[dict]:
    return [record for record in records if isinstance(record, dict)]


def test_only_zeek_needs_whole_files() -> None:
    assert needs_whole_files("zeek")
    assert not needs_whole_files("json") and not needs_whole_files("text")


def test_a_zeek_tsv_log_becomes_typed_events() -> None:
    records = list(records_of_file((ZEEK_DATA / "conn.log").read_text(encoding="utf-8"), "zeek"))
    assert len(records) == 4 and all(isinstance(record, dict) for record in records)
    assert records[0]["ts"] == datetime(2024, 3, 14, 8, 0, 0, 123456, tzinfo=timezone.utc)


def test_a_cut_zeek_log_keeps_its_whole_lines_and_fails_the_cut_one() -> None:
    text = (ZEEK_DATA / "http_cut.log").read_text(encoding="utf-8")
    records = list(records_of_file(text, "zeek", name="http.log", path_field="_path"))
    good = events(records)
    assert [event["uri"] for event in good] == ["/index.html", "/a\tb?q=1,2"]
    assert good[1]["user_agent"] == "Mozilla/5.0 (X11)" and good[1]["tags"] == ["HTTP::URI_SQLI"]
    assert good[1]["resp_mime_types"] == ["text/html", "text/plain"] and good[0]["tags"] == []
    assert {event["_path"] for event in good} == {"http"}
    [failure] = failures(records)
    assert failure.reason == "http.log line 11: 10 values where #fields names 14 (a cut line?)"
    assert failure.raw.startswith("1710403302.300000\tCVVb5T2BMxwI3CqFcc")


def test_a_zeek_json_log_is_told_apart_by_its_first_line() -> None:
    records = list(records_of_file("\n" + ZAT_DNS.read_text(encoding="utf-8"), "zeek"))
    assert len(records) == 50 and all(isinstance(record, dict) for record in records)
    assert all(isinstance(record["ts"], datetime) for record in records)


def test_text_that_is_not_a_zeek_log_fails_line_by_line() -> None:
    records = list(records_of_file("hello\nworld\n", "zeek", name="notes.txt"))
    assert [failure.reason for failure in failures(records)] == [
        "notes.txt line 1: a value line before the #fields header: not a Zeek TSV log, or its start is cut",
        "notes.txt line 2: a value line before the #fields header: not a Zeek TSV log, or its start is cut",
    ]


def test_a_one_line_json_array_yields_its_events() -> None:
    assert list(records_of_file(json.dumps(EVENTS), "json")) == EVENTS


def test_a_pretty_printed_json_array_yields_its_events() -> None:
    text = "\ufeff\n  " + json.dumps(EVENTS, indent=4) + "\n\n"
    assert list(records_of_file(text, "json")) == EVENTS


def test_an_empty_json_array_yields_nothing() -> None:
    assert list(records_of_file("[ ]\n", "json")) == []
    assert list(records_of_file("[]", "json")) == []


def test_json_lines_stay_lines_for_the_event_stage() -> None:
    text = "\r\n".join(json.dumps(event) for event in EVENTS) + "\r\n"
    assert list(records_of_file(text, "json")) == [json.dumps(event) for event in EVENTS]
    assert list(records_of_file("a\n\nb", "text")) == ["a", "", "b"]


def test_an_element_that_is_no_object_fails_alone() -> None:
    records = list(records_of_file('[{"a": 1}, 42, null, {"b": 2}]', "json", name="x.json"))
    assert events(records) == [{"a": 1}, {"b": 2}]
    assert [(failure.reason, failure.raw) for failure in failures(records)] == [
        ("x.json: element 1 of the JSON array: a int, not an object", "42"),
        ("x.json: element 2 of the JSON array: a null, not an object", "null"),
    ]


def test_a_broken_array_is_one_failure_after_the_events_before_it() -> None:
    text = json.dumps(EVENTS[:2], indent=2)[:-1].rstrip() + ',\n  {"EventID": 4625, "TargetUserName": \n'
    records = list(records_of_file(text, "json", name="security.json"))
    assert events(records) == EVENTS[:2]
    [failure] = failures(records)
    assert failure.reason.startswith("security.json: broken JSON array at line 15 column 1 (element 2): ")
    assert failure.reason.endswith("; the rest of the file is unread")
    assert failure.raw.startswith('{"EventID": 4625')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('[{"a": 1}', "broken JSON array at line 1 column 10: the end of the file after element 0"),
        ('[{"a": 1} {"b": 2}]', "broken JSON array at line 1 column 11: '{' after element 0"),
        ('[{"a": 1}] {"b": 2}', "text after the JSON array's closing ']' at line 1 column 12"),
        ("[", "broken JSON array at line 1 column 2 (element 0): Expecting value"),
        ("[" * 100_000, "element 0 of the JSON array is nested too deeply"),
    ],
)
def test_a_malformed_array_ends_with_one_failure_not_an_exception(text: str, reason: str) -> None:
    records = list(json_array_records(text))
    assert events(records) == ([{"a": 1}] if text.startswith('[{"a"') else [])
    [failure] = failures(records)
    assert failure.reason.startswith(reason)
    assert len(failure.raw) <= 4096


def test_file_records_read_binary_files_pairs() -> None:
    conn = (ZEEK_DATA / "conn.log").read_bytes()
    records = list(FileRecords("zeek")(("hdfs://nn/logs/conn.log", conn)))
    assert len(events(records)) == 4 and not failures(records)
    array = json.dumps(EVENTS, indent=1).encode("utf-8")
    assert list(FileRecords("json")(("file:/in/a.json", b"\xef\xbb\xbf" + array))) == EVENTS
    assert list(FileRecords("json")(("file:/in/a.jsonl", b'{"a": 1}\r\n\xff\n{"b": 2}'))) == [
        '{"a": 1}',
        b"\xff",
        '{"b": 2}',
    ]


def test_file_records_decompress_gzip_of_several_members() -> None:
    conn = (ZEEK_DATA / "conn.log").read_bytes()
    half = conn.index(b"\n", len(conn) // 2) + 1
    content = gzip.compress(conn[:half]) + gzip.compress(conn[half:])
    records = list(FileRecords("zeek")(("file:/logs/conn.00:00:00-01:00:00.log.gz", content)))
    assert len(events(records)) == 4 and not failures(records)


def test_file_records_name_the_file_in_failures() -> None:
    records = list(FileRecords("zeek")(("file:/logs/dns.log", b"#separator \\x09\n#fields\ta\n\xff\xfe\n")))
    assert [(failure.reason, failure.raw) for failure in failures(records)] == [
        ("dns.log line 3: not valid UTF-8", "\ufffd\ufffd")
    ]
    [failure] = list(FileRecords("json")(("file:/in/x.json", b'[{"a": "\xff"}]')))
    assert failure == EventFailure("x.json: not valid UTF-8 (byte 8): the file is unread", "")


def test_gzip_beyond_the_limit_or_cut_is_reported() -> None:
    bomb = gzip.compress(b"0" * 10_000)
    content, problem = gunzip(bomb, 1000)
    assert len(content) == 1000 and problem == "larger than 1000 bytes decompressed: the rest is unread"
    lines = b"".join(b"line %d\n" % number for number in range(5000))
    content, problem = gunzip(gzip.compress(lines)[:-30], 1 << 20)
    assert problem == "the gzip data is cut: the file's end is unread"
    assert 0 < len(content) < len(lines) and lines.startswith(content)
    assert gunzip(b"\x1f\x8bnot gzip", 100)[1].startswith("broken gzip data: ")
    [cut_failure, *rest] = FileRecords("text", max_file_bytes=4)(("file:/x.gz", gzip.compress(b"ab\ncd\nef")))
    assert cut_failure == EventFailure("x.gz: larger than 4 bytes decompressed: the rest is unread", "")
    assert rest == ["ab", "c"]


def test_file_records_pickle() -> None:
    function = pickle.loads(pickle.dumps(FileRecords("zeek", path_field="_path", max_file_bytes=5)))
    assert (function.format, function.path_field, function.max_file_bytes) == ("zeek", "_path", 5)
