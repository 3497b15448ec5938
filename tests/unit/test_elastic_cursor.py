"""The time cursor of a streaming ``input = elasticsearch``: durations, starts, capped batches,
and the state file's record of where a stream stands."""

from __future__ import annotations

import pytest

from datashark.config.durations import duration_ms
from datashark.elastic.cursor import capped_upper, document, start_ms, stored_cursor
from datashark.errors import ConfigError, ConfLocation

WHERE = ConfLocation("uc.conf").section("in_elasticsearch").at("delay")
NOW = 1_800_000_000_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000), ("250ms", 250), ("7", 7000)],
)
def test_durations(text: str, ms: int) -> None:
    assert duration_ms(text, WHERE) == ms


@pytest.mark.parametrize("text", ["soon", "5 minutes", "-1m", ""])
def test_a_duration_that_is_not_one_names_the_key(text: str) -> None:
    with pytest.raises(
        ConfigError, match=r"uc.conf: \[in_elasticsearch\], key 'delay': .* is not a duration"
    ):
        duration_ms(text, WHERE)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        (None, NOW),
        ("now", NOW),
        ("now-24h", NOW - 86_400_000),
        ("now - 15m", NOW - 900_000),
        ("2026-12-01T00:00:00Z", 1_796_083_200_000),
        ("2026-12-01T01:00:00+01:00", 1_796_083_200_000),
        ("2026-12-01", 1_796_083_200_000),
    ],
)
def test_where_a_stream_starts(text: str | None, ms: int) -> None:
    assert start_ms(text, NOW, WHERE) == ms


def test_date_math_a_stream_cannot_take_is_refused() -> None:
    with pytest.raises(ConfigError, match="a stream starts at now, now-<duration>"):
        start_ms("now-1d/d", NOW, WHERE)


def test_a_batch_over_the_limit_reads_a_shorter_interval() -> None:
    documents = list(range(0, 1000, 2))  # one every 2 ms
    counted = []

    def count(lower: int, upper: int) -> int:
        counted.append((lower, upper))
        return sum(lower < at <= upper for at in documents)

    upper = capped_upper(0, 1000, count, 100)
    assert count(0, upper) <= 100 < count(0, 1000)
    assert capped_upper(0, 1000, count, 1000) == 1000


def test_one_millisecond_is_read_whole_whatever_it_holds() -> None:
    assert capped_upper(10, 11, lambda lower, upper: 10**6, 5) == 11
    assert capped_upper(10, 20, lambda lower, upper: 10**6, 5) == 11


def test_the_state_round_trips_and_another_source_starts_afresh() -> None:
    stored = document("idx @timestamp {}", 100, [(5000, 150), (6000, 200)])
    assert stored_cursor(stored, "idx @timestamp {}", "state.json") == (100, [(5000, 150), (6000, 200)])
    assert stored_cursor(stored, "other @timestamp {}", "state.json") is None


@pytest.mark.parametrize(
    "stored",
    [
        {"format": "x"},
        [],
        document("s", 100, [(1, 90)]),  # a batch in flight before what was delivered
        document("s", 100, [(1, 300), (2, 200)]),  # out of order
        {"format": "datashark-es-cursor-1", "source": "s", "read_up_to": "x", "in_flight": []},
    ],
)
def test_a_state_that_is_not_one_says_to_delete_it(stored) -> None:
    with pytest.raises(ValueError, match=r"state.json: .*delete it to start afresh"):
        stored_cursor(stored, "s", "state.json")
