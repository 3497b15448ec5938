"""The exact measures: their values, and the same value however events are split and merged."""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timedelta, timezone
from functools import reduce

import pytest

from datashark.detect.measures import (
    count,
    distinct,
    distinct_values,
    event_micros,
    first_seen,
    largest,
    last_seen,
    smallest,
    tally,
    top,
    total,
    value_of,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def event(i: int) -> dict:
    """A varied event: repeated users and paths, numbers as ints, floats and text, gaps."""
    ev: dict = {
        "@timestamp": T0 + timedelta(seconds=(i * 7919) % 600),
        "user": f"u{i % 7}",
        "path": f"/p{i % 4}",
    }
    if i % 5:
        ev["bytes"] = [i, i + 0.1, str(i), f"{i}.25", "n/a"][i % 5]
    if i % 9 == 0:
        ev["path"] = 13  # a number among texts
    return ev


EVENTS = [event(i) for i in range(300)]
ALL = [
    count(),
    distinct("user"),
    distinct_values("user", 3),
    total("bytes"),
    smallest("bytes"),
    largest("bytes"),
    first_seen(),
    last_seen(),
    top("path", 3),
    tally("path"),
]


def one_pass(measure, events):
    acc = measure.start()
    for ev in events:
        acc = measure.add(acc, ev)
    return acc


def split_and_merged(measure, events, rng: random.Random):
    """Events shuffled, cut into random parts, each part pickled (as between executors), merged
    in a random order."""
    shuffled = events[:]
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), rng.randint(1, 8)))
    parts = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    partials = [pickle.loads(pickle.dumps(one_pass(measure, part))) for part in parts]
    rng.shuffle(partials)
    return reduce(measure.merge, partials, measure.start())


@pytest.mark.parametrize("measure", ALL, ids=repr)
def test_every_measure_gives_the_same_result_however_events_are_split_and_merged(measure) -> None:
    expected = measure.result(one_pass(measure, EVENTS))
    rng = random.Random(15)
    for _ in range(40):
        assert measure.result(split_and_merged(measure, EVENTS, rng)) == expected


def test_values_of_the_measures() -> None:
    events = [
        {"@timestamp": T0 + timedelta(seconds=30), "user": "root", "bytes": 10, "path": "/a"},
        {"@timestamp": T0, "user": "admin", "bytes": "5", "path": "/b"},
        {"@timestamp": T0 + timedelta(seconds=10), "user": "root", "bytes": 2.5, "path": "/a"},
        {"@timestamp": T0 + timedelta(seconds=20), "user": "oracle", "path": "/b"},
        {"@timestamp": T0 + timedelta(seconds=5), "bytes": "lots", "path": "/c"},
    ]
    values = {repr(m): m.result(one_pass(m, events)) for m in ALL}
    assert values == {
        "count()": 5,
        "distinct('user')": 3,
        "distinct_values('user', 3)": ["admin", "oracle", "root"],
        "total('bytes')": 17.5,
        "smallest('bytes')": 2.5,
        "largest('bytes')": 10,
        "first_seen()": T0,
        "last_seen()": T0 + timedelta(seconds=30),
        "top('path', 3)": [("/a", 2), ("/b", 2), ("/c", 1)],
        "tally('path')": {"/a": 2, "/b": 2, "/c": 1},
    }


def test_nothing_to_measure_gives_zero_or_none() -> None:
    no_fields = [{"@timestamp": "not a time"}]
    assert [m.result(one_pass(m, no_fields)) for m in ALL] == [1, 0, [], 0, None, None, None, None, [], {}]


def test_total_of_whole_numbers_stays_exact_and_of_fractions_does_not_depend_on_order() -> None:
    big = [{"n": 10**20}, {"n": 1}, {"n": -(10**20)}]
    assert total("n").result(one_pass(total("n"), big)) == 1
    tiny = [{"x": 1e16}, {"x": 1.0}, {"x": -1e16}, {"x": 1.0}]
    assert sum(ev["x"] for ev in tiny) == 1.0  # plain left-to-right addition loses one
    assert total("x").result(one_pass(total("x"), tiny)) == 2.0


def test_top_ranks_by_count_then_value_and_keeps_k() -> None:
    events = [{"p": p} for p in ["b", "a", "c", "b", "a", "d"]]
    assert top("p", 2).result(one_pass(top("p", 2), events)) == [("a", 2), ("b", 2)]


def test_distinct_values_keeps_the_smallest_values_whatever_their_number() -> None:
    events = [{"u": f"user{i:03}"} for i in range(100, 0, -1)]
    measure = distinct_values("u", 4)
    acc = one_pass(measure, events)
    assert len(acc) <= 8
    assert measure.result(acc) == ["user001", "user002", "user003", "user004"]


def test_lists_and_dicts_are_counted_as_values() -> None:
    events = [{"tags": ["a", "b"]}, {"tags": ["a", "b"]}, {"tags": {"k": 1}}]
    assert distinct("tags").result(one_pass(distinct("tags"), events)) == 2


def test_fields_are_read_as_named_then_nested_or_through_a_function() -> None:
    ev = {"source.ip": "10.0.0.1", "source": {"ip": "10.9.9.9", "port": 22}}
    assert value_of(ev, "source.ip") == "10.0.0.1"
    assert value_of(ev, "source.port") == 22
    assert value_of(ev, "source.missing") is None
    assert value_of(ev, lambda e: e["source"]["port"] + 1) == 23
    assert value_of({"a.b": None, "a": {"b": 1}}, "a.b") is None  # a key present, though None, wins


def test_a_tally_orders_values_numbers_first_and_counts_lists_as_values() -> None:
    events = [{"k": "b"}, {"k": 2}, {"k": ["x"]}, {"k": "b"}, {}, {"k": None}, {"k": ["x"]}]
    assert tally("k").result(one_pass(tally("k"), events)) == {2: 1, "b": 2, ("x",): 2}


def test_first_and_last_seen_read_epoch_seconds_and_a_time_function() -> None:
    events = [{"t": 100.5}, {"t": 50}]
    measure = first_seen().with_time(lambda e: e["t"])
    assert measure.result(one_pass(measure, events)) == datetime(1970, 1, 1, 0, 0, 50, tzinfo=timezone.utc)
    assert last_seen(lambda e: e["t"]).result(one_pass(last_seen(lambda e: e["t"]), events)) == datetime(
        1970, 1, 1, 0, 1, 40, 500000, tzinfo=timezone.utc
    )


def test_event_times_in_microseconds() -> None:
    assert event_micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=timezone.utc)) == 1_000_005
    assert event_micros(datetime(1970, 1, 1, 0, 0, 1)) == 1_000_000  # naive: taken as UTC
    assert event_micros(1.5) == 1_500_000
    assert [event_micros(v) for v in ("1", None, True, float("nan"))] == [None, None, None, None]


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        top("p", 0)
    with pytest.raises(ValueError, match="limit must be at least 1"):
        distinct_values("u", 0)
