"""Syslog wire format: PRI, names, RFC 5424/3164 headers and RFC 6587 framing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from datashark.sinks.syslog_format import (
    FACILITIES,
    SEVERITIES,
    frame,
    header_field_problem,
    level,
    msgid,
    pri,
    rfc3164_header,
    rfc5424_header,
)

# 2026-03-05 07:08:09 UTC, given in another zone to prove the header converts it
BATCH_TIME = datetime(2026, 3, 5, 9, 8, 9, tzinfo=timezone(timedelta(hours=2)))


def test_the_original_default_is_pri_110() -> None:
    assert pri(level("13", FACILITIES, 23), level("info", SEVERITIES, 7)) == 110


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("23", 23), ("authpriv", 10), ("AUTH", 4), ("security", 4), ("audit", 13), ("local7", 23)],
)
def test_facility_numbers_and_names(value: str, expected: int) -> None:
    assert level(value, FACILITIES, 23) == expected


@pytest.mark.parametrize(("value", "expected"), [("7", 7), ("warning", 4), ("err", 3), ("emerg", 0)])
def test_severity_numbers_and_names(value: str, expected: int) -> None:
    assert level(value, SEVERITIES, 7) == expected


@pytest.mark.parametrize("value", ["24", "-1", "loca10", "1.5", ""])
def test_unknown_facilities_say_what_is_allowed(value: str) -> None:
    with pytest.raises(ValueError, match=r"is not 0-23 or one of .*authpriv.*local7"):
        level(value, FACILITIES, 23)


def test_rfc5424_header_is_utc_to_the_second() -> None:
    header = rfc5424_header(110, BATCH_TIME, "sensor1.example.org", "datashark", "-", "ssh-brute-force")
    assert header == "<110>1 2026-03-05T07:08:09Z sensor1.example.org datashark - ssh-brute-force - "


def test_rfc3164_header_is_local_time_with_a_space_padded_day() -> None:
    local = BATCH_TIME.astimezone()
    header = rfc3164_header(34, BATCH_TIME, "sensor1", "datashark")
    assert header == f"<34>Mar  {local.day} {local:%H:%M:%S} sensor1 datashark: "


def test_msgid_is_a_short_ascii_slug_of_the_title() -> None:
    assert msgid("Brute Force: SSH (v2)") == "brute-force-ssh-v2"
    assert msgid("Überwachung") == "berwachung"
    assert len(msgid("x" * 100)) == 32
    assert msgid("***") == "-"


def test_header_fields_are_visible_ascii_of_bounded_length() -> None:
    assert header_field_problem("host-1.example.org", 255) is None
    assert header_field_problem("my host", 255) == "must be visible ASCII characters without spaces"
    assert header_field_problem("hôte", 255) == "must be visible ASCII characters without spaces"
    assert header_field_problem("a" * 49, 48) == "must be at most 48 characters"


def test_rfc6587_framings() -> None:
    text = '<110>1 - - - - - - {"k":"é"}'
    message = text.encode()
    assert len(text) == 28
    assert frame(message, "octet-counting") == b"29 " + message, "the count is of bytes, not characters"
    assert frame(message, "newline") == message + b"\n"
