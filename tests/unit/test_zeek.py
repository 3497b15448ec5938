"""Zeek logs into typed events: TSV values by their #types, header blocks, and JSON logs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from datashark.events.zeek import ZeekError, ZeekLogReader, json_time, unescape, zeek_json, zeek_time

ZEEK_DATA = Path(__file__).resolve().parents[1] / "data" / "zeek"
ZAT_DNS = Path(__file__).resolve().parents[2] / "bench" / "zeek_dns.json"
UTC = timezone.utc

HEADER = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\ttest",
    "#open\t2024-03-14-08-00-00",
]


def tsv(fields: str, types: str, *rows: str, header: list[str] | None = None) -> list[str]:
    """The lines of a TSV log; ``fields``, ``types`` and ``rows`` separated by single spaces."""
    lines = list(HEADER if header is None else header)
    lines.append("#fields\t" + fields.replace(" ", "\t"))
    lines.append("#types\t" + types.replace(" ", "\t"))
    return lines + [row.replace(" ", "\t") for row in rows]


def read(lines: list[str], **options) -> list[dict]:
    reader = ZeekLogReader(**options)
    return [event for event in map(reader.event, lines) if event is not None]


def one(fields: str, types: str, row: str) -> dict:
    [event] = read(tsv(fields, types, row))
    return event


def test_every_scalar_type_becomes_its_python_value() -> None:
    event = one(
        "ts dur n i p d ok no a net s e pat",
        "time interval count int port double bool bool addr subnet string enum pattern",
        "1710403200.123456 2.500000 18446744073709551615 -7 443 0.25 T F 2001:db8::1 192.0.2.0/24 x tcp /^a/",
    )
    assert event == {
        "ts": datetime(2024, 3, 14, 8, 0, 0, 123456, tzinfo=UTC),
        "dur": 2.5,
        "n": 18446744073709551615,
        "i": -7,
        "p": 443,
        "d": 0.25,
        "ok": True,
        "no": False,
        "a": "2001:db8::1",
        "net": "192.0.2.0/24",
        "s": "x",
        "e": "tcp",
        "pat": "/^a/",
    }
    assert event["ts"].tzinfo is UTC


def test_time_is_read_exactly_to_the_microsecond() -> None:
    assert zeek_time("1575413123.292845") == datetime(2019, 12, 3, 22, 45, 23, 292845, tzinfo=UTC)
    assert zeek_time("0.000001") == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    assert zeek_time("-1.5") == datetime(1969, 12, 31, 23, 59, 58, 500000, tzinfo=UTC)
    assert zeek_time("1710403200") == datetime(2024, 3, 14, 8, tzinfo=UTC)


def test_sets_and_vectors_are_lists_of_typed_items() -> None:
    event = one(
        "names ports ttls addrs tags",
        "set[string] vector[count] vector[interval] set[addr] table[enum]",
        "a,b\\x2cc 53,80 300.000000,20.5 10.0.0.1,192.0.2.7 HTTP::URI_SQLI",
    )
    assert event == {
        "names": ["a", "b,c"],
        "ports": [53, 80],
        "ttls": [300.0, 20.5],
        "addrs": ["10.0.0.1", "192.0.2.7"],
        "tags": ["HTTP::URI_SQLI"],
    }


def test_unset_is_none_and_empty_is_an_empty_list_or_string() -> None:
    event = one(
        "ts n s names ports dash empty_text",
        "time count string set[string] vector[count] string string",
        "- - (empty) (empty) - \\x2d \\x28empty)",
    )
    assert event == {
        "ts": None,
        "n": None,
        "s": "",
        "names": [],
        "ports": None,
        "dash": "-",
        "empty_text": "(empty)",
    }


def test_an_unset_element_of_a_vector_is_none() -> None:
    assert one("v", "vector[count]", "1,-,3") == {"v": [1, None, 3]}


def test_escapes_are_decoded_and_non_utf8_bytes_stay_visible() -> None:
    event = one(
        "uri agent name raw", "string string string string", "/a\\x09b Mozilla\\x20X caf\\xc3\\xa9 \\xff\\xfe"
    )
    assert event == {"uri": "/a\tb", "agent": "Mozilla X", "name": "café", "raw": "\\xff\\xfe"}
    assert unescape("no escapes") == "no escapes"
    assert unescape("\\x5c") == "\\"


def test_other_separators_are_taken_from_the_header() -> None:
    header = ["#separator \\x7c", "#set_separator|;", "#empty_field|EMPTY", "#unset_field|NA"]
    lines = [
        *header,
        "#fields|ts|hosts|note|gone",
        "#types|time|set[string]|string|count",
        "1.5|a;b|EMPTY|NA",
        "2|EMPTY|x\\x7cy|1",
    ]
    assert read(lines) == [
        {
            "ts": datetime(1970, 1, 1, 0, 0, 1, 500000, tzinfo=UTC),
            "hosts": ["a", "b"],
            "note": "",
            "gone": None,
        },
        {"ts": datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC), "hosts": [], "note": "x|y", "gone": 1},
    ]


def test_a_conn_log_reads_whole_with_its_path() -> None:
    lines = (ZEEK_DATA / "conn.log").read_text(encoding="utf-8").splitlines()
    reader = ZeekLogReader(path_field="_path")
    events = [event for event in map(reader.event, lines) if event is not None]
    assert reader.path == "conn"
    assert len(events) == 4
    first, _, rejected, tunnelled = events
    assert first["id.orig_h"] == "10.20.1.15" and first["id.resp_p"] == 443 and first["_path"] == "conn"
    assert first["duration"] == 12.503211 and first["local_orig"] is True and first["tunnel_parents"] == []
    assert rejected["service"] is None and rejected["conn_state"] == "REJ"
    assert events[1]["orig_bytes"] is None
    assert tunnelled["service"] == "vxlan,dns"  # a string: the set separator is no separator there
    assert tunnelled["tunnel_parents"] == ["Cz7SRx3Dn7Q1dA1Qd", "CjhGID4nQcgTWjvg4c"]


def test_several_header_blocks_each_apply_to_their_own_lines() -> None:
    lines = (ZEEK_DATA / "dns_rotated.log").read_text(encoding="utf-8").splitlines()
    events = read(lines)
    assert [event["query"] for event in events] == [
        "intranet.example",
        "cdn.example",
        "nothing-here.example",
        "mail.example",
    ]
    assert "orig_mac" not in events[0]
    assert events[3]["orig_mac"] == "00:00:5e:00:53:01"
    assert events[1]["answers"] == ["edge.cdn.example", "192.0.2.10", "192.0.2.11"]
    assert events[1]["TTLs"] == [60.0, 20.0, 20.0]
    assert events[2]["answers"] is None and events[2]["rtt"] is None
    assert events[3]["AA"] is True and events[3]["ts"] == datetime(2024, 3, 14, 9, 1, 0, 100, tzinfo=UTC)


def test_a_value_line_before_the_fields_header_is_an_error() -> None:
    reader = ZeekLogReader()
    assert reader.event("#separator \\x09") is None
    with pytest.raises(ZeekError, match="before the #fields header"):
        reader.event("1.0\tx")
    with pytest.raises(ZeekError, match="before the #fields header"):
        ZeekLogReader().event("just some text")


def test_a_value_line_after_close_is_an_error_until_a_new_header() -> None:
    lines = [*tsv("a", "count", "1"), "#close\t2024-03-14-09-00-00"]
    reader = ZeekLogReader()
    assert [reader.event(line) for line in lines][-2] == {"a": 1}
    with pytest.raises(ZeekError, match="after #close"):
        reader.event("2")
    for line in tsv("a", "count"):
        reader.event(line)
    assert reader.event("3") == {"a": 3}


def test_a_cut_or_bad_line_fails_alone() -> None:
    reader = ZeekLogReader()
    for line in tsv("a b", "count bool"):
        reader.event(line)
    with pytest.raises(ZeekError, match="1 values where #fields names 2"):
        reader.event("1")
    with pytest.raises(ZeekError, match=r"field a \(count\): 'x' is not a count"):
        reader.event("x\tT")
    with pytest.raises(ZeekError, match=r"field b \(bool\): 'yes' is not a bool"):
        reader.event("1\tyes")
    with pytest.raises(ZeekError, match=r"field a \(count\): '\(empty\)'"):
        reader.event("(empty)\tT")
    assert reader.event("2\tF") == {"a": 2, "b": False}


def test_types_that_do_not_match_the_fields_break_the_block() -> None:
    reader = ZeekLogReader()
    for line in HEADER:
        reader.event(line)
    reader.event("#fields\ta\tb")
    with pytest.raises(ZeekError, match="#types names 1 types for 2 #fields"):
        reader.event("#types\tcount")
    with pytest.raises(ZeekError, match="header block is broken"):
        reader.event("1\t2")


def test_a_log_without_types_reads_strings() -> None:
    assert read(["#separator \\x09", "#fields\ta\tb", "1\t-"]) == [{"a": "1", "b": None}]


def test_blank_lines_and_crlf_endings_are_tolerated() -> None:
    lines = [line + "\r" for line in tsv("a", "count", "1")] + ["", "2\r"]
    assert read(["", *lines]) == [{"a": 1}, {"a": 2}]


def test_json_logs_get_ts_as_a_datetime_and_other_fields_as_they_are() -> None:
    line = '{"ts":1575413122.764317,"id.orig_h":"10.18.20.97","id.orig_p":59102,"AA":false,"TTLs":[17.0]}'
    assert zeek_json(line) == {
        "ts": datetime(2019, 12, 3, 22, 45, 22, 764317, tzinfo=UTC),
        "id.orig_h": "10.18.20.97",
        "id.orig_p": 59102,
        "AA": False,
        "TTLs": [17.0],
    }
    assert zeek_json('{"uid":"C1"}') == {"uid": "C1"}


def test_a_record_tagged_by_zeeks_kafka_writer_is_read_with_its_log_name() -> None:
    tagged = '{"dns":{"ts":1575413122.5,"id.orig_h":"10.18.20.97","query":"example.com"}}'
    assert zeek_json(tagged) == {
        "ts": datetime(2019, 12, 3, 22, 45, 22, 500000, tzinfo=UTC),
        "id.orig_h": "10.18.20.97",
        "query": "example.com",
        "_path": "dns",
    }
    # One field holding an object is no tag when it is the record's own only field.
    assert zeek_json('{"ts":1}') == {"ts": datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)}
    assert zeek_json('{"tags":["a"]}') == {"tags": ["a"]}


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (1575413122, datetime(2019, 12, 3, 22, 45, 22, tzinfo=UTC)),
        (1575413122764, datetime(2019, 12, 3, 22, 45, 22, 764000, tzinfo=UTC)),
        ("2019-12-03T22:45:22.764317Z", datetime(2019, 12, 3, 22, 45, 22, 764317, tzinfo=UTC)),
        ("2019-12-03T23:45:22.764317+01:00", datetime(2019, 12, 3, 22, 45, 22, 764317, tzinfo=UTC)),
        ("2019-12-03T22:45:22", datetime(2019, 12, 3, 22, 45, 22, tzinfo=UTC)),
    ],
)
def test_json_ts_in_each_of_zeeks_forms(ts, expected) -> None:
    parsed = json_time(ts)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"ts":"yesterday"}', "not an ISO 8601 time"),
        ('{"ts":true}', "not a time"),
        ('{"ts":null}', "a JSON NoneType, not a time"),
        ('{"ts":1e300}', "out of range"),
        ("[1,2]", "JSON list, not an object"),
        ('{"ts":', "not JSON"),
    ],
)
def test_json_lines_that_cannot_be_read_say_why(line, reason) -> None:
    with pytest.raises(ZeekError, match=reason):
        zeek_json(line)


def test_the_kind_of_log_is_decided_by_its_first_non_blank_line() -> None:
    json_reader = ZeekLogReader()
    assert json_reader.event("  ") is None
    assert json_reader.event('{"ts":1}') == {"ts": datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)}
    assert json_reader.kind == "json"
    with pytest.raises(ZeekError, match="not JSON"):
        json_reader.event("#separator \\x09")
    tsv_reader = ZeekLogReader()
    tsv_reader.event("#separator \\x09")
    assert tsv_reader.kind == "tsv"


def test_the_zat_dns_sample_parses_fully() -> None:
    reader = ZeekLogReader()
    lines = ZAT_DNS.read_text(encoding="utf-8").splitlines()
    events = [reader.event(line) for line in lines]
    assert len(events) == 50
    assert all(isinstance(event, dict) for event in events)
    assert events[0]["ts"] == datetime(2019, 12, 3, 22, 45, 22, 764317, tzinfo=UTC)
    assert events[0]["query"] == "_ldap._tcp.default-first-site-name._sites.icemaiden-dc.icemaiden.com"
    assert all(event["ts"].tzinfo is UTC for event in events if event)
    assert events[2]["answers"] == ["131.107.255.255"]
