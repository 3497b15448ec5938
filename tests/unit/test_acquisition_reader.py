"""``input = syslog``'s reader: acquisition records (JSON) into ``format = syslog`` events."""

from __future__ import annotations

import json
import pickle
import re
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from datashark.acquisition.reader import AcquiredSyslogReader
from datashark.acquisition.record import syslog_event
from datashark.acquisition.selection import Selection
from datashark.errors import ConfLocation
from datashark.events.log_filter import LogFilter
from datashark.events.parsing import EventParser, EventStage
from datashark.events.readers import (
    EventError,
    ReaderOptions,
    SkippedEventError,
    SyslogReader,
    UnmatchedEventError,
)
from datashark.events.syslog_lines import FIELDS
from datashark.testing.cases import read_case_file
from tests.conftest import REPO

WHERE = ConfLocation("/uc/uc.conf")
SSHD_GROK = "Failed password for invalid user %{USERNAME:user} from %{IP:src_ip} port %{INT:port:int}"
SSHD = (
    "<86>1 2026-03-05T07:08:09.123456+01:00 bastion-01 sshd 48229 - - "
    "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2"
)
UFW = (
    "<4>Mar 14 06:02:09 fw-01 kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.7 DST=198.51.100.10 "
    "PROTO=TCP SPT=52144 DPT=22"
)
RECEIVED = "2026-03-05T06:08:09.456789+00:00"


def record(raw: str, **keys: Any) -> str:
    return json.dumps({"received": RECEIVED, "sender": "192.0.2.10", "host": "bastion", "raw": raw, **keys})


def reader(grok_pattern: str | None = None, **selectors: Any) -> AcquiredSyslogReader:
    return AcquiredSyslogReader(ReaderOptions(WHERE, grok_pattern=grok_pattern), Selection(**selectors))


class Letters:
    """Stands in for DeadLetters."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, str, Any]] = []
        self.unmatched = 0

    def add(self, stage: str, reason: str, raw: object) -> None:
        self.letters.append((stage, reason, raw))

    def count_unmatched(self) -> None:
        self.unmatched += 1


def test_a_record_is_read_into_its_syslog_event() -> None:
    assert reader()(record(SSHD)) == syslog_event(json.loads(record(SSHD)))
    assert reader()(record(SSHD))["message"] == (
        "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2"
    )


def test_records_as_bytes_are_read_too() -> None:
    event = reader()(record(UFW).encode("utf-8"))  # type: ignore[arg-type]
    assert (event["host"], event["program"], event["severity"]) == ("fw-01", "kernel", "warning")


def test_the_reader_knows_the_added_fields() -> None:
    assert reader().fields == frozenset([*FIELDS, "sender", "received"])
    assert reader(SSHD_GROK).fields == frozenset([*FIELDS, "sender", "received", "user", "src_ip", "port"])


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json at all", "not JSON: "),
        ('["<13>hello"]', "JSON list, not an object"),
        ('{"message": "hello"}', "not an acquisition record: no 'raw' text"),
        ('{"raw": null}', "not an acquisition record: no 'raw' text"),
    ],
)
def test_what_is_no_record_is_an_event_error(raw: str, reason: str) -> None:
    with pytest.raises(EventError) as raised:
        reader()(raw)
    assert str(raised.value).startswith(reason)
    assert not isinstance(raised.value, (SkippedEventError, UnmatchedEventError))


def test_selection_skips_what_the_use_case_did_not_ask_for() -> None:
    sshd_only = reader(programs=frozenset({"sshd"}))
    assert sshd_only(record(SSHD))["program"] == "sshd"
    with pytest.raises(SkippedEventError, match="not selected"):
        sshd_only(record(UFW))


def test_selection_reads_the_raw_header_not_rsyslogs_host() -> None:
    bastions = reader(host=re.compile(r"bastion-\d+"))
    assert bastions(record(SSHD, host="not-a-bastion"))["host"] == "bastion-01"
    with pytest.raises(SkippedEventError):
        bastions(record(UFW, host="bastion-02"))


def test_selecting_everything_is_no_selection() -> None:
    assert reader().selection is None
    assert reader(max_severity=4).selection == Selection(max_severity=4)


def test_grok_pattern_adds_fields_from_the_message() -> None:
    event = reader(SSHD_GROK)(record(SSHD))
    assert (event["user"], event["src_ip"], event["port"]) == ("admin", "203.0.113.7", 52144)
    assert (event["sender"], event["program"]) == ("192.0.2.10", "sshd")


def test_a_message_grok_pattern_does_not_match_is_unmatched() -> None:
    with pytest.raises(UnmatchedEventError, match="does not match the use case's grok_pattern"):
        reader(SSHD_GROK)(record(UFW))


def test_selection_comes_before_grok() -> None:
    """A record the use case did not ask for is skipped, not counted as unmatched."""
    with pytest.raises(SkippedEventError):
        reader(SSHD_GROK, programs=frozenset({"sshd"}))(record(UFW))


def test_the_reader_pickles_for_the_executors() -> None:
    original = reader(SSHD_GROK, programs=frozenset({"sshd"}), max_severity=6)
    copy = pickle.loads(pickle.dumps(original))
    assert copy(record(SSHD)) == original(record(SSHD))
    assert copy.selection == original.selection


def test_in_the_event_stage_events_get_their_time_and_skipped_ones_no_dead_letter() -> None:
    """As SyslogInput.event_reader hands the reader to the parser (``reader_for``)."""
    parser = EventParser(
        "syslog",
        where=WHERE,
        reader_for=partial(AcquiredSyslogReader, selection=Selection(max_severity=6)),
    )
    dead = Letters()
    stage = EventStage(parser, LogFilter({}, {}, where=WHERE), dead, stage="input", max_event_bytes=1 << 20)
    debug = "<15>1 2026-03-05T07:00:00Z host app - - - noisy"
    headerless = record("<12>disk almost full")
    events = list(stage([record(SSHD), record(debug), headerless, '{"raw": 1}']))
    assert [event["@timestamp"] for event in events] == [
        datetime(2026, 3, 5, 6, 8, 9, 123456, tzinfo=timezone.utc),
        datetime(2026, 3, 5, 6, 8, 9, 456789, tzinfo=timezone.utc),  # received, for want of a header
    ]
    assert events[1]["message"] == "disk almost full"
    assert dead.letters == [
        (
            "input",
            "not an acquisition record: no 'raw' text (is this topic written by datashark acquire?)",
            '{"raw": 1}',
        )
    ]
    assert dead.unmatched == 0


def test_bytes_that_are_not_utf8_become_u_fffd_not_a_dead_letter() -> None:
    parser = EventParser(
        "syslog", where=WHERE, reader_for=partial(AcquiredSyslogReader, selection=Selection())
    )
    dead = Letters()
    stage = EventStage(parser, LogFilter({}, {}, where=WHERE), dead, stage="input", max_event_bytes=1 << 20)
    # rsyslog copies a Latin-1 sender's byte into the record as it came.
    raw = (
        record("<13>1 2026-03-05T07:00:00Z host app - - - caf\u00e9 OK").encode().replace(b"\\u00e9", b"\xe9")
    )
    (event,) = stage([raw])
    assert event["message"] == "caf\ufffd OK"
    assert dead.letters == []


SYSTEM_LOG_CASES = sorted((REPO / "conf").glob("ssh-brute-force/tests/*.yml")) + sorted(
    (REPO / "conf").glob("port-scan/tests/port-scan/*.yml")
)


@pytest.mark.parametrize("path", SYSTEM_LOG_CASES, ids=lambda path: f"{path.parent.parent.name}/{path.stem}")
def test_the_system_log_detections_get_the_same_events_from_the_acquisition(path: Path) -> None:
    """What their test cases' lines give with format = syslog, the acquisition gives too, plus
    sender and received: the detections run unchanged on input = syslog."""
    from_files = SyslogReader(ReaderOptions(WHERE))
    acquired = reader()
    lines = [line for found in read_case_file(path) for line in found.events]
    assert lines
    for line in lines:
        try:
            expected = from_files(line)
        except UnmatchedEventError:
            continue  # not a syslog line: the acquisition keeps it (headerless), files skip it
        event = acquired(record(line))
        assert event == {**expected, "sender": "192.0.2.10", "received": RECEIVED}, line
