"""Acquisition records read into events: what ``format = syslog`` makes of the raw message,
plus the sender and the time rsyslog received it."""

from __future__ import annotations

from typing import Any

import pytest

from datashark.acquisition.record import ADDED_FIELDS, PROPERTIES, RecordError, syslog_event
from datashark.events.syslog_lines import FIELDS, parse_syslog

SENDER = "192.0.2.10"
RECEIVED = "2026-03-05T07:08:09.456789+00:00"

SSHD_3164 = (
    "<86>Mar 14 06:02:08 bastion-01 sshd[48229]: "
    "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2"
)
UFW_3164 = (
    "<4>Mar 14 06:02:09 fw-01 kernel: [12345.678901] [UFW BLOCK] IN=eth0 OUT= "
    "MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC=203.0.113.7 DST=198.51.100.10 LEN=60 "
    "TOS=0x00 PREC=0x00 TTL=52 ID=54321 DF PROTO=TCP SPT=52144 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0"
)
EVENT_5424 = (
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] '
    "\ufeffAn application event log entry..."
)
SSHD_5424 = (
    "<86>1 2026-03-05T07:08:09.123456+01:00 bastion-01 sshd 48229 - - "
    "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2"
)


def record(raw: Any, **keys: Any) -> dict[str, Any]:
    """A record as rsyslog writes it: its own reading of the header too, which events ignore."""
    return {
        "timestamp": RECEIVED,
        "received": RECEIVED,
        "host": "rsyslog-guess",
        "sender": SENDER,
        "program": "-",
        "pid": "-",
        "msgid": "-",
        "facility": "user",
        "severity": "notice",
        "structured_data": "-",
        "message": "rsyslog's msg",
        "raw": raw,
        **keys,
    }


def test_the_record_has_a_key_for_every_field_of_the_event() -> None:
    assert set(FIELDS) <= set(PROPERTIES) and set(ADDED_FIELDS) <= set(PROPERTIES)
    assert PROPERTIES["raw"] == "rawmsg" and PROPERTIES["sender"] == "fromhost-ip"


def test_rfc3164_sshd_line() -> None:
    assert syslog_event(record(SSHD_3164)) == {
        "timestamp": "Mar 14 06:02:08",
        "host": "bastion-01",
        "program": "sshd",
        "pid": 48229,
        "facility": "authpriv",
        "severity": "info",
        "msgid": None,
        "structured_data": None,
        "message": "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2",
        "sender": SENDER,
        "received": RECEIVED,
    }


def test_rfc3164_kernel_ufw_line() -> None:
    event = syslog_event(record(UFW_3164))
    assert (event["host"], event["program"], event["pid"]) == ("fw-01", "kernel", None)
    assert (event["facility"], event["severity"]) == ("kern", "warning")
    assert event["message"].startswith("[12345.678901] [UFW BLOCK] IN=eth0 OUT= MAC=")
    assert event["message"].endswith("SYN URGP=0")


def test_rfc5424_line_with_structured_data() -> None:
    assert syslog_event(record(EVENT_5424)) == {
        "timestamp": "2003-10-11T22:14:15.003Z",
        "host": "mymachine.example.com",
        "program": "evntslog",
        "pid": None,
        "facility": "local4",
        "severity": "notice",
        "msgid": "ID47",
        "structured_data": {
            "exampleSDID@32473": {"iut": "3", "eventSource": "Application", "eventID": "1011"}
        },
        "message": "An application event log entry...",
        "sender": SENDER,
        "received": RECEIVED,
    }


@pytest.mark.parametrize("raw", [SSHD_3164, UFW_3164, EVENT_5424, SSHD_5424])
def test_the_fields_are_those_of_format_syslog_plus_sender_and_received(raw: str) -> None:
    event = syslog_event(record(raw))
    assert list(event) == [*FIELDS, "sender", "received"]
    assert {key: event[key] for key in FIELDS} == parse_syslog(raw)
    assert (event["sender"], event["received"]) == (SENDER, RECEIVED)


def test_the_header_is_read_from_raw_not_from_rsyslogs_parsed_keys() -> None:
    event = syslog_event(record(SSHD_5424, host="bastion", program="sshd-rsyslog", facility="user"))
    assert (event["host"], event["program"], event["pid"], event["facility"]) == (
        "bastion-01",
        "sshd",
        48229,
        "authpriv",
    )
    assert event["timestamp"] == "2026-03-05T07:08:09.123456+01:00"


@pytest.mark.parametrize("value", [None, "", "-", 7])
def test_a_missing_or_nil_sender_and_received_are_none(value: Any) -> None:
    event = syslog_event(record(SSHD_3164, sender=value, received=value))
    assert (event["sender"], event["received"]) == (None, None)
    assert event["host"] == "bastion-01"


def test_a_message_without_time_or_host_keeps_its_pri() -> None:
    """What Python's SysLogHandler sends: ``<PRI>`` and the text, nothing else."""
    assert syslog_event(record("<12>disk almost full on /var")) == {
        "timestamp": RECEIVED,
        "host": SENDER,
        "program": None,
        "pid": None,
        "facility": "user",
        "severity": "warning",
        "msgid": None,
        "structured_data": None,
        "message": "disk almost full on /var",
        "sender": SENDER,
        "received": RECEIVED,
    }


@pytest.mark.parametrize(
    ("raw", "program", "pid", "message"),
    [
        ("<84>pyapp[99]: login failed", "pyapp", 99, "login failed"),
        ("<84>cron: job done", "cron", None, "job done"),
        ("<84>no tag here: at all", None, None, "no tag here: at all"),
        ("<84>app[99] no colon", None, None, "app[99] no colon"),
    ],
    ids=["program-and-pid", "program", "words-before-a-colon", "no-colon"],
)
def test_a_headerless_message_keeps_its_tag(
    raw: str, program: str | None, pid: int | None, message: str
) -> None:
    """Python's SysLogHandler with an ident, and many devices: ``<PRI>tag[pid]: text``."""
    event = syslog_event(record(raw))
    assert (event["program"], event["pid"], event["message"]) == (program, pid, message)
    assert (event["facility"], event["severity"]) == ("authpriv", "warning")


@pytest.mark.parametrize(
    "raw",
    ["GET / HTTP/1.1", "", "\x00\x01binary\xff", "<>no pri", "<200>pri out of range"],
    ids=["http", "empty", "binary", "empty-pri", "pri-over-191"],
)
def test_a_line_without_a_readable_pri_is_kept_whole_as_the_message(raw: str) -> None:
    event = syslog_event(record(raw))
    assert event["message"] == raw
    assert (event["facility"], event["severity"], event["program"], event["pid"]) == (None,) * 4
    assert (event["timestamp"], event["host"], event["sender"]) == (RECEIVED, SENDER, SENDER)
    assert list(event) == [*FIELDS, "sender", "received"]


def test_a_broken_rfc5424_line_is_kept_with_its_pri() -> None:
    raw = '<165>1 2003-10-11T22:14:15.003Z host app - ID47 [exampleSDID@32473 iut="3" broken'
    assert parse_syslog(raw) is None
    event = syslog_event(record(raw))
    assert (event["facility"], event["severity"]) == ("local4", "notice")
    assert event["message"] == raw[len("<165>") :]
    assert event["structured_data"] is None


def test_a_headerless_message_without_received_has_no_timestamp() -> None:
    """The time stage then makes it a dead letter, as a syslog line whose time cannot be read."""
    event = syslog_event(record("<13>hello", received=None, sender=None))
    assert (event["timestamp"], event["host"], event["message"]) == (None, None, "hello")


@pytest.mark.parametrize(
    "bad",
    [{"message": "hello"}, record(None), record(42), record(["<13>hello"]), {}],
    ids=["no-raw", "null", "number", "list", "empty"],
)
def test_a_record_without_raw_text_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(RecordError, match=r"^not an acquisition record: no 'raw' text \(is this topic"):
        syslog_event(bad)


def test_record_error_is_a_value_error() -> None:
    assert issubclass(RecordError, ValueError)
