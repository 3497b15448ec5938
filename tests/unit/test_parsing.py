"""The event stage: one hostile event is a dead letter, never a failed batch."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from datashark.errors import ConfigError, ConfLocation
from datashark.events.log_filter import LogFilter
from datashark.events.parsing import EventParser, EventStage

NESTED_BOMB = "[" * 100_000
NESTED_OBJECT_BOMB = '{"a":' * 50_000 + "1" + "}" * 50_000


class Collected:
    """Stands in for DeadLetters: keeps what the stage reports."""

    def __init__(self) -> None:
        self.letters: list[tuple[str, str, Any]] = []

    def add(self, stage: str, reason: str, raw: object) -> None:
        self.letters.append((stage, reason, raw))


def run_stage(lines: list, *, fmt: str = "json", include: dict | None = None, limit: int = 1 << 20):
    dead = Collected()
    log_filter = LogFilter(include or {}, {}, where=ConfLocation("test"))
    stage = EventStage(
        EventParser(fmt, None, where=ConfLocation("test")),
        log_filter,
        dead,
        stage="input",
        max_event_bytes=limit,
    )
    return list(stage(lines)), dead.letters


@pytest.mark.parametrize("bomb", [NESTED_BOMB, NESTED_OBJECT_BOMB], ids=["array", "object"])
def test_json_nested_deeper_than_the_parser_allows_is_a_dead_letter(bomb: str) -> None:
    events, letters = run_stage(['{"kind": "ok"}', bomb, '{"kind": "ok2"}'])
    assert events == [{"kind": "ok"}, {"kind": "ok2"}]
    ((stage, reason, raw),) = letters
    assert stage == "input" and "nested deeper than" in reason and raw == bomb


def test_a_nested_bomb_through_the_filter_of_a_text_use_case_is_a_dead_letter() -> None:
    events, letters = run_stage(['{"kind": "ok"}', NESTED_BOMB], fmt="text", include={"kind": "ok"})
    assert events == ['{"kind": "ok"}']
    assert len(letters) == 1 and "nested deeper than" in letters[0][1]


def test_whatever_a_filter_raises_on_one_event_makes_it_a_dead_letter() -> None:
    class Fragile(LogFilter):
        def __call__(self, event):
            if event.get("boom"):
                raise KeyError("boom")
            return True

    dead = Collected()
    stage = EventStage(
        EventParser("json", None, where=ConfLocation("t")),
        Fragile({"kind": "."}, {}, where=ConfLocation("t")),
        dead,
        stage="input",
        max_event_bytes=1 << 20,
    )
    assert list(stage(['{"kind": "a"}', '{"boom": 1}', '{"kind": "b"}'])) == [{"kind": "a"}, {"kind": "b"}]
    assert [reason for _, reason, _ in dead.letters] == ["parsing failed: KeyError: 'boom'"]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_event_over_max_event_bytes_is_a_dead_letter_with_its_size(fmt: str) -> None:
    big = '{"kind": "' + "é" * 1000 + '"}'  # 2,012 bytes in UTF-8, 1,012 characters
    events, letters = run_stage(['{"kind": "ok"}', big], fmt=fmt, limit=2000)
    assert len(events) == 1
    ((_, reason, raw),) = letters
    assert reason == "event of 2012 bytes is larger than max.event.bytes (2000)"
    assert raw == big


def test_an_undecodable_message_over_the_limit_is_dead_lettered_for_its_size() -> None:
    events, letters = run_stage([b"\xff" * 3000, b"\xff"], fmt="text", limit=2000)
    assert events == []
    assert [reason for _, reason, _ in letters] == [
        "event of 3000 bytes is larger than max.event.bytes (2000)",
        "not valid UTF-8",
    ]


def test_an_event_at_the_limit_passes() -> None:
    line = "x" * 2000
    assert run_stage([line], fmt="text", limit=2000) == ([line], [])


# ----------------------------------------------------------------------------- unmatched = ...
# A pattern that selects the sshd lines of a mixed syslog: the other lines are not errors.

SSHD = r"(?P<month>\w{3}) +\d+ [\d:]+ \S+ sshd\[\d+\]: Failed password for (?P<user>\S+) from (?P<ip>\S+)"
SYSLOG = [
    "Mar  3 10:00:01 host sshd[42]: Failed password for root from 10.0.0.1 port 22 ssh2",
    "Mar  3 10:00:02 host CRON[7]: (root) CMD (run-parts /etc/cron.hourly)",
    "Mar  3 10:00:03 host kernel: [UFW BLOCK] IN=eth0",
    "Mar  3 10:00:04 host sshd[43]: Failed password for admin from 10.0.0.2 port 22 ssh2",
]
SELECTED = [
    {"month": "Mar", "user": "root", "ip": "10.0.0.1"},
    {"month": "Mar", "user": "admin", "ip": "10.0.0.2"},
]


class Counting(Collected):
    """Collected, plus the unmatched lines counted without being stored."""

    def __init__(self) -> None:
        super().__init__()
        self.unmatched = 0

    def count_unmatched(self) -> None:
        self.unmatched += 1


def run_regex(lines: list, unmatched: str | None = None, pattern: str = SSHD, limit: int = 1 << 20):
    dead = Counting()
    keys = {} if unmatched is None else {"unmatched": unmatched}
    parser = EventParser("regex", pattern, where=ConfLocation("test"), **keys)
    stage = EventStage(parser, None, dead, stage="input", max_event_bytes=limit)
    return list(stage(lines)), dead


def test_unmatched_lines_are_dead_letters_by_default() -> None:
    events, dead = run_regex(SYSLOG)
    assert events == SELECTED
    assert [(stage, reason) for stage, reason, _ in dead.letters] == [
        ("input", "does not match the use case's pattern")
    ] * 2
    assert [raw for _, _, raw in dead.letters] == SYSLOG[1:3]
    assert dead.unmatched == 0


def test_unmatched_deadletter_is_the_default_spelled_out() -> None:
    assert run_regex(SYSLOG, "deadletter")[1].letters == run_regex(SYSLOG)[1].letters


def test_unmatched_drop_skips_them_silently() -> None:
    events, dead = run_regex(SYSLOG, "drop")
    assert events == SELECTED
    assert (dead.letters, dead.unmatched) == ([], 0)


def test_unmatched_count_skips_and_counts_them() -> None:
    events, dead = run_regex(SYSLOG, "count")
    assert events == SELECTED
    assert (dead.letters, dead.unmatched) == ([], 2)


@pytest.mark.parametrize("unmatched", ["drop", "count"])
def test_unmatched_applies_to_the_pattern_only_other_problems_stay_dead_letters(unmatched: str) -> None:
    events, dead = run_regex([SYSLOG[0], "x" * 3000, b"\xff"], unmatched, limit=2000)
    assert events == SELECTED[:1]
    assert [reason for _, reason, _ in dead.letters] == [
        "event of 3000 bytes is larger than max.event.bytes (2000)",
        "not valid UTF-8",
    ]
    assert dead.unmatched == 0


def test_the_pattern_is_anchored_at_the_start_as_re_match() -> None:
    """``pattern = sshd`` matches no syslog line: the timestamp comes first."""
    events, dead = run_regex(SYSLOG, "count", pattern=r"(?P<daemon>sshd)\[")
    assert (events, dead.unmatched) == ([], 4)
    events, dead = run_regex(SYSLOG, "count", pattern=r".*?(?P<daemon>sshd)\[")
    assert (events, dead.unmatched) == ([{"daemon": "sshd"}] * 2, 2)


def test_unmatched_is_in_the_usecase_spec(tmp_path) -> None:
    from datashark.config.spec import read_conf, spec_lines, validate_section
    from datashark.errors import ConfigError, ConfLocation

    path = tmp_path / "uc.conf"
    path.write_text("name = x\ntype = batch\ncode = x.py\noutput = csv\n")
    spec = spec_lines("usecase")
    assert (
        validate_section(read_conf(path), spec, where=ConfLocation(str(path)), allow_extra=True)["unmatched"]
        == "deadletter"
    )
    path.write_text("name = x\ntype = batch\ncode = x.py\noutput = csv\nunmatched = ignore\n")
    with pytest.raises(ConfigError, match="unmatched"):
        validate_section(read_conf(path), spec, where=ConfLocation(str(path)), allow_extra=True)


def test_unmatched_counts_travel_with_the_dead_letters_and_are_taken_once() -> None:
    """``count_unmatched`` on executors, merged on the driver, taken (and reset) by a flush."""
    import pickle

    from datashark.events.deadletter import _UNMATCHED, Flushed, Letters, _Collected

    param = _Collected()
    task = param.zero(None)
    for _ in range(3):
        task = param.addInPlace(task, _UNMATCHED)
    on_driver = param.addInPlace(Letters(), pickle.loads(pickle.dumps(task)))
    assert on_driver.take() == (0, [], 0)
    assert on_driver.take_unmatched() == 3
    assert on_driver.take_unmatched() == 0
    assert str(Flushed(unmatched=1369)) == "1369 unmatched"
    assert str(Flushed(2, unmatched=5)) == "2 Dead Letters, 5 unmatched"
    assert str(Flushed()) == ""


# ----------------------------------------------------------------------------- format = grok / syslog
# Through the event stage as the engine runs it: fields, "@timestamp", dead letters, unmatched.

UTC = timezone.utc
SSHD_GROK = "Failed password for %{USERNAME:user} from %{IP:src_ip} port %{INT:port:int}"
IN_2025 = datetime(2025, 3, 20, tzinfo=UTC)


def run_parser(parser: EventParser, lines: list, *, include: dict | None = None, reference=None):
    dead = Counting()
    log_filter = LogFilter(include or {}, {}, where=ConfLocation("test"))
    stage = EventStage(parser, log_filter, dead, stage="input", max_event_bytes=1 << 20, reference=reference)
    return list(stage(lines)), dead


def test_grok_events_get_their_fields_and_timestamp() -> None:
    parser = EventParser("grok", where=ConfLocation("t"), grok_pattern="%{SYSLOGBASE} " + SSHD_GROK)
    events, dead = run_parser(parser, SYSLOG, reference=IN_2025)
    assert [(e["user"], e["src_ip"], e["port"], e["program"]) for e in events] == [
        ("root", "10.0.0.1", 22, "sshd"),
        ("admin", "10.0.0.2", 22, "sshd"),
    ]
    assert [e["@timestamp"] for e in events] == [
        datetime(2025, 3, 3, 10, 0, 1, tzinfo=UTC),
        datetime(2025, 3, 3, 10, 0, 4, tzinfo=UTC),
    ]
    assert [reason for _, reason, _ in dead.letters] == ["does not match the use case's grok_pattern"] * 2


def test_grok_unmatched_lines_follow_unmatched() -> None:
    parser = EventParser(
        "grok", where=ConfLocation("t"), unmatched="count", grok_pattern="%{SYSLOGBASE} " + SSHD_GROK
    )
    events, dead = run_parser(parser, SYSLOG)
    assert (len(events), dead.letters, dead.unmatched) == (2, [], 2)


def test_syslog_events_with_a_grok_pattern_on_their_message() -> None:
    parser = EventParser("syslog", where=ConfLocation("t"), grok_pattern=SSHD_GROK)
    events, dead = run_parser(parser, [*SYSLOG, "not syslog at all"], reference=IN_2025)
    assert events[0] == {
        "timestamp": "Mar  3 10:00:01",
        "host": "host",
        "program": "sshd",
        "pid": 42,
        "facility": None,
        "severity": None,
        "msgid": None,
        "structured_data": None,
        "message": "Failed password for root from 10.0.0.1 port 22 ssh2",
        "user": "root",
        "src_ip": "10.0.0.1",
        "port": 22,
        "@timestamp": datetime(2025, 3, 3, 10, 0, 1, tzinfo=UTC),
    }
    assert [reason for _, reason, _ in dead.letters] == [
        "its message does not match the use case's grok_pattern",
        "its message does not match the use case's grok_pattern",
        "is not a syslog line (RFC 3164 or RFC 5424)",
    ]


def test_syslog_without_a_pattern_keeps_every_line() -> None:
    events, dead = run_parser(EventParser("syslog", where=ConfLocation("t")), SYSLOG)
    assert [e["program"] for e in events] == ["sshd", "CRON", "kernel", "sshd"] and dead.letters == []


def test_a_syslog_line_whose_time_cannot_be_read_is_a_dead_letter() -> None:
    nil_time = "<13>1 - host app - - - hello"
    events, dead = run_parser(EventParser("syslog", where=ConfLocation("t")), [nil_time])
    assert events == []
    assert [reason for _, reason, _ in dead.letters] == ["no @timestamp: field 'timestamp' missing"]


def test_syslog_times_without_a_year_take_the_references() -> None:
    """December's lines read in January are of the year before."""
    parser = EventParser("syslog", where=ConfLocation("t"))
    lines = ["Dec 31 23:59:59 h a: x", "Jan  1 00:00:01 h a: y"]
    events, _ = run_parser(parser, lines, reference=datetime(2025, 1, 1, 0, 10, tzinfo=UTC))
    assert [e["@timestamp"].year for e in events] == [2024, 2025]
    pinned = EventParser("syslog", where=ConfLocation("t"), assume_year=2019)
    assert [e["@timestamp"].year for e in run_parser(pinned, lines)[0]] == [2019, 2019]


JSON_TIMES = [
    '{"@timestamp": "2021-03-14T06:02:08Z", "a": 1}',
    '{"time": 1615701728, "a": 2}',
    '{"a": 3}',
    '{"timestamp": "whenever", "a": 4}',
]


def test_json_events_are_as_they_were_unless_the_conf_asks_for_a_time() -> None:
    """Existing use cases keep their events: no datetime they would have to serialize."""
    parser = EventParser("json", where=ConfLocation("t"))
    assert parser.time is None
    events, dead = run_parser(parser, JSON_TIMES)
    assert events == [json.loads(line) for line in JSON_TIMES] and dead.letters == []


def test_json_time_format_alone_reads_the_usual_fields() -> None:
    parser = EventParser("json", where=ConfLocation("t"), time_format="iso8601")
    events, dead = run_parser(parser, JSON_TIMES)
    assert events == [{"@timestamp": datetime(2021, 3, 14, 6, 2, 8, tzinfo=UTC), "a": 1}]
    assert [reason for _, reason, _ in dead.letters] == [
        "no @timestamp: field 'time' (1615701728) is an int, not text",
        "no @timestamp: field '@timestamp' or 'timestamp' or 'time' missing",
        "no @timestamp: field 'timestamp' ('whenever') is not an ISO 8601 time",
    ]


def test_json_events_must_have_their_time_when_the_conf_names_the_field() -> None:
    parser = EventParser("json", where=ConfLocation("t"), time_field="ts", time_format="epoch")
    events, dead = run_parser(parser, ['{"ts": 1615701728.5}', '{"a": 1}', '{"ts": "x"}'])
    assert events == [{"ts": 1615701728.5, "@timestamp": datetime(2021, 3, 14, 6, 2, 8, 500000, tzinfo=UTC)}]
    assert [reason for _, reason, _ in dead.letters] == [
        "no @timestamp: field 'ts' missing",
        "no @timestamp: field 'ts' ('x') is not a number",
    ]


def test_time_format_none_adds_no_timestamp() -> None:
    parser = EventParser("syslog", where=ConfLocation("t"), time_format="none")
    assert parser.time is None
    events, dead = run_parser(parser, ["<13>1 - host app - - - hello"])
    assert len(events) == 1 and "@timestamp" not in events[0] and dead.letters == []


def test_regex_events_get_a_timestamp_when_the_conf_names_the_field() -> None:
    """web-anomaly-detection's kind of use case: its events are as they were until asked."""
    pattern = r"(?P<time>\S+ \S+) (?P<rest>.*)"
    line = "10/Oct/2000:13:55:36 -0700 x"
    as_before = EventParser("regex", pattern, where=ConfLocation("t")).parse(line)
    assert as_before == {"time": "10/Oct/2000:13:55:36 -0700", "rest": "x"}
    parser = EventParser("regex", pattern, where=ConfLocation("t"), time_field="time")
    assert parser.parse(line)["@timestamp"] == datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)
    with pytest.raises(ConfigError, match="key 'time_field': names 'when', which the use case's pattern"):
        EventParser("regex", pattern, where=ConfLocation("t"), time_field="when")


def test_the_filter_sees_fields_as_parsed_before_the_timestamp() -> None:
    lines = ['{"@timestamp": "2021-03-14T06:02:08Z"}', '{"@timestamp": "2020-01-01T00:00:00Z"}']
    parser = EventParser("json", where=ConfLocation("t"), time_field="@timestamp")
    events, _ = run_parser(parser, lines, include={"@timestamp": "2021"})
    assert events == [{"@timestamp": datetime(2021, 3, 14, 6, 2, 8, tzinfo=UTC)}]


def test_a_value_grok_cannot_convert_is_a_dead_letter() -> None:
    parser = EventParser(
        "grok", where=ConfLocation("t"), grok_pattern="%{NOTSPACE:n:int} %{NOTSPACE:timestamp}"
    )
    events, dead = run_parser(parser, ["x 2021-03-14T06:02:08Z", "7 2021-03-14T06:02:08Z"])
    assert [e["n"] for e in events] == [7]
    assert [reason for _, reason, _ in dead.letters] == ["field 'n': 'x' is not a number (int)"]


def test_a_parser_pickles_with_its_grok_and_time() -> None:
    import pickle

    parser = EventParser("syslog", where=ConfLocation("t"), grok_pattern=SSHD_GROK, time_zone="Europe/Paris")
    copy = pickle.loads(pickle.dumps(parser))
    assert copy.parse(SYSLOG[0], IN_2025) == parser.parse(SYSLOG[0], IN_2025)
    assert copy.parse(SYSLOG[0], IN_2025)["@timestamp"] == datetime(2025, 3, 3, 9, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fmt", "keys", "message"),
    [
        ("grok", {}, "key 'grok_pattern' is required with format = grok"),
        (
            "json",
            {"grok_pattern": "%{IP:ip}"},
            "key 'grok_pattern' is only read with format = grok or syslog",
        ),
        ("grok", {"grok_pattern": "%{IP:ip}"}, "key 'time_field' is required: events have no 'timestamp' or"),
        (
            "grok",
            {"grok_pattern": "%{IP:ip}", "time_field": "when"},
            "key 'time_field': names 'when', which the use case's pattern does not capture (fields: ip)",
        ),
        ("syslog", {"time_format": "yyyy-MM-dd"}, "key 'time_format': must be auto, iso8601"),
        ("syslog", {"time_zone": "CEST"}, "key 'time_zone': unknown time zone 'CEST'"),
        ("grok", {"grok_pattern": "%{IP:ip"}, "key 'grok_pattern'"),
    ],
)
def test_conf_errors_are_one_line_naming_the_key(fmt: str, keys: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        EventParser(fmt, where=ConfLocation("/uc/uc.conf"), **keys)
    assert "\n" not in str(err.value) and str(err.value).startswith("/uc/uc.conf: ")
    assert message in str(err.value)


def test_grok_events_need_no_time_field_when_the_pattern_captures_timestamp() -> None:
    parser = EventParser("grok", where=ConfLocation("t"), grok_pattern="%{COMBINEDAPACHELOG}")
    assert parser.time is not None and parser.time.fields == ("timestamp",)


def test_a_use_case_conf_reaches_the_parser(make_usecase, home) -> None:
    """The spec's keys and defaults, and grok_patterns_dir relative to the conf's folder."""
    from datashark.config.usecase import read_usecase
    from datashark.run.prepare import event_parser
    from tests.unit.conftest import usecase_conf

    conf = make_usecase(
        conf=usecase_conf(
            format="syslog",
            grok_pattern="%{SSH_FAIL}",
            grok_patterns_dir="patterns",
            time_zone="Europe/Paris",
            assume_year="2019",
        ),
        files={"data.txt": "x\n", "patterns/ssh.grok": f"SSH_FAIL {SSHD_GROK}\n"},
    )
    parser = event_parser(read_usecase(conf))
    event = parser.parse(SYSLOG[0])
    assert (event["user"], event["@timestamp"]) == ("root", datetime(2019, 3, 3, 9, 0, 1, tzinfo=UTC))
    defaults = event_parser(read_usecase(make_usecase("plain")))
    assert (defaults.format, defaults.time) == ("text", None)
    missing = make_usecase(
        "missing",
        conf=usecase_conf(
            name="missing",
            format="grok",
            grok_pattern="%{IP:ip}",
            grok_patterns_dir="nope",
            time_format="none",
        ),
    )
    with pytest.raises(ConfigError, match=r"missing\.conf: key 'grok_patterns_dir': no such folder: .*nope$"):
        event_parser(read_usecase(missing))


def test_a_streams_stage_takes_each_batch_time_as_its_reference() -> None:
    """Spark hands transform functions a naive local batch time: taken as the driver's local time."""
    parser = EventParser("syslog", where=ConfLocation("t"))
    stage = EventStage(parser, None, Counting(), stage="input", max_event_bytes=1 << 20)
    naive_january = datetime(2025, 1, 2, 12, 0)
    (event,) = stage.at(naive_january)(["Dec 31 23:59:59 h a: x"])
    assert event["@timestamp"].year == 2024 and stage.reference is None
