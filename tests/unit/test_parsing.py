"""The event stage: one hostile event is a dead letter, never a failed batch."""

from __future__ import annotations

from typing import Any

import pytest

from datashark.errors import ConfLocation
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
