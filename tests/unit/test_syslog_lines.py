"""Syslog lines read into events: RFC 3164 as files hold them, and RFC 5424."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from datashark.events.syslog_lines import FIELDS, parse_syslog
from datashark.sinks.syslog_format import pri, rfc3164_header, rfc5424_header

NONE = dict.fromkeys(FIELDS)


def event(**fields) -> dict:
    return {**NONE, **fields}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Mar 14 06:02:08 bastion-01 sshd[48229]: Accepted publickey for deploy",
            event(
                timestamp="Mar 14 06:02:08",
                host="bastion-01",
                program="sshd",
                pid=48229,
                message="Accepted publickey for deploy",
            ),
        ),
        (
            "<38>Mar  3 10:00:01 host su: pam_unix(su:session): session opened",
            event(
                timestamp="Mar  3 10:00:01",
                host="host",
                program="su",
                facility="auth",
                severity="info",
                message="pam_unix(su:session): session opened",
            ),
        ),
        (  # rsyslog's RSYSLOG_FileFormat
            "2024-03-14T06:02:08.123456+01:00 web-1 postfix/smtpd[7]: connect from x",
            event(
                timestamp="2024-03-14T06:02:08.123456+01:00",
                host="web-1",
                program="postfix/smtpd",
                pid=7,
                message="connect from x",
            ),
        ),
        (  # journalctl -o short-precise
            "Mar 14 06:02:08.123456 host systemd[1]: Started Session 3.",
            event(
                timestamp="Mar 14 06:02:08.123456",
                host="host",
                program="systemd",
                pid=1,
                message="Started Session 3.",
            ),
        ),
        (  # journalctl -o short-iso
            "2024-03-14T06:02:08+0100 host kernel: [UFW BLOCK] IN=eth0",
            event(
                timestamp="2024-03-14T06:02:08+0100",
                host="host",
                program="kernel",
                message="[UFW BLOCK] IN=eth0",
            ),
        ),
        (
            "Mar  3 10:00:01 host last message repeated 3 times",
            event(timestamp="Mar  3 10:00:01", host="host", message="last message repeated 3 times"),
        ),
        (  # as a local program sends it, without a host
            "<13>Mar  3 10:00:01 cron[12]: job done",
            event(
                timestamp="Mar  3 10:00:01",
                program="cron",
                pid=12,
                facility="user",
                severity="notice",
                message="job done",
            ),
        ),
        (
            "Mar  3 10:00:01 host sshd[1]:",
            event(timestamp="Mar  3 10:00:01", host="host", program="sshd", pid=1, message=""),
        ),
    ],
)
def test_rfc3164_lines(line: str, expected: dict) -> None:
    assert parse_syslog(line) == expected


def test_rfc5424_with_structured_data_bom_and_nil_values() -> None:
    line = (
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
        'eventSource="Appli\\"cat]ion" eventID="1011"][examplePriority@32473 class="high"] '
        "\ufeffAn application event"
    )
    assert parse_syslog(line) == {
        "timestamp": "2003-10-11T22:14:15.003Z",
        "host": "mymachine.example.com",
        "program": "evntslog",
        "pid": None,
        "facility": "local4",
        "severity": "notice",
        "msgid": "ID47",
        "structured_data": {
            "exampleSDID@32473": {"iut": "3", "eventSource": 'Appli"cat]ion', "eventID": "1011"},
            "examplePriority@32473": {"class": "high"},
        },
        "message": "An application event",
    }


def test_rfc5424_all_nil_and_no_message() -> None:
    assert parse_syslog("<0>1 - - - - - -") == event(facility="kern", severity="emerg")


def test_rfc5424_pid_is_an_int() -> None:
    parsed = parse_syslog("<86>1 2024-03-14T06:02:08Z host sshd 4242 - - Accepted")
    assert parsed is not None and (parsed["pid"], parsed["message"], parsed["facility"]) == (
        4242,
        "Accepted",
        "authpriv",
    )


def test_what_out_syslog_writes_reads_back() -> None:
    """The names and codes are sinks/syslog_format.py's: a round trip keeps them."""
    when = datetime(2024, 3, 14, 6, 2, 8, tzinfo=timezone.utc)
    prival = pri(10, 4)
    written = rfc5424_header(prival, when, "ds-1", "datashark", "-", "brute-force") + '{"k": 1}'
    parsed = parse_syslog(written)
    assert parsed is not None
    assert (parsed["facility"], parsed["severity"], parsed["msgid"], parsed["message"]) == (
        "authpriv",
        "warning",
        "brute-force",
        '{"k": 1}',
    )
    old = parse_syslog(rfc3164_header(prival, when, "ds-1", "datashark") + "hello")
    assert old is not None and (old["host"], old["program"], old["message"]) == ("ds-1", "datashark", "hello")


@pytest.mark.parametrize(
    "line",
    [
        "",
        "hello world",
        "Foo  3 10:00:01 host prog: x",  # no such month
        "<192>Mar  3 10:00:01 host prog: x",  # PRI beyond local7.debug
        "<999>1 - - - - - -",
        "<13>1 2024-03-14T06:02:08Z host app - - [broken",
        "<13>1 2024-03-14T06:02:08Z host app - - [id a=unquoted]",
        '{"json": "not syslog"}',
    ],
)
def test_what_is_no_syslog_line(line: str) -> None:
    assert parse_syslog(line) is None


@pytest.mark.parametrize(
    "line",
    [
        "Mar  3 10:00:01 " + "h" * 1_000_000,
        "Mar  3 10:00:01 host " + "p" * 1_000_000,
        "Mar  3 10:00:01 host p[" + "1" * 1_000_000,
        "<13>1 2024-03-14T06:02:08Z host app - - [id" + ' a="' + "\\" * 1_000_000,
        "<13>1 2024-03-14T06:02:08Z host app - - " + '[id a="b"]' * 100_000 + "x",
    ],
)
def test_linear_on_hostile_lines(line: str) -> None:
    started = time.perf_counter()
    parse_syslog(line)
    assert time.perf_counter() - started < 0.5
