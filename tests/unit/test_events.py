"""The event stage: one hostile event is a dead letter, never a failed batch."""

from __future__ import annotations

from typing import Any

import pytest

from datashark.events import EventParser, EventStage
from datashark.filters import LogFilter

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
    log_filter = LogFilter(include or {}, {}, where="test")
    stage = EventStage(
        EventParser(fmt, None, where="test"), log_filter, dead, stage="input", max_event_bytes=limit
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
        EventParser("json", None, where="t"),
        Fragile({"kind": "."}, {}, where="t"),
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
