"""Windows without Spark: which windows hold an event, when one closes, late events, and
partial accumulators merged in any order giving the same rows."""

from __future__ import annotations

import json
import pickle
import random
from datetime import datetime, timedelta, timezone
from functools import reduce

import pytest

from datashark.detect import windows
from datashark.detect.measures import count, distinct, first_seen, last_seen, top, total
from datashark.detect.windows import Window, WindowResult

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
MINUTE = 60_000_000  # microseconds
T0_US = int(T0.timestamp()) * 1_000_000


class Accumulator:
    """Stands in for a Spark accumulator."""

    def __init__(self, value: int) -> None:
        self.value = value

    def add(self, n: int) -> None:
        self.value += n


class FakeContext:
    def accumulator(self, value: int) -> Accumulator:
        return Accumulator(value)


def spec(window: Window, **measures):
    return windows._spec("ip", window, measures or {"n": count()}, None)


def assigned(spec_, events, watermark=None):
    counters = windows._Counters(FakeContext())
    pairs = [pair for ev in events for pair in windows._assign(spec_, watermark, counters, ev)]
    return pairs, (counters.no_entity.value, counters.no_time.value), counters.late.value


def test_tumbling_windows_are_aligned_to_the_epoch() -> None:
    window = Window(timedelta(minutes=10))
    assert window.starts(T0_US + 9 * MINUTE + 59_999_999) == [T0_US]
    assert window.starts(T0_US + 10 * MINUTE) == [T0_US + 10 * MINUTE]
    assert Window(timedelta(hours=1)).starts(T0_US + 30 * MINUTE) == [T0_US]
    assert window.starts(-1) == [-10 * MINUTE]  # before 1970 too


def test_a_sliding_window_event_belongs_to_size_over_every_windows() -> None:
    window = Window(timedelta(minutes=10), every=timedelta(minutes=5))
    assert window.starts(T0_US + 7 * MINUTE) == [T0_US + 5 * MINUTE, T0_US]
    assert window.starts(T0_US + 5 * MINUTE) == [T0_US + 5 * MINUTE, T0_US]
    assert window.starts(T0_US + 4 * MINUTE) == [T0_US, T0_US - 5 * MINUTE]
    hourly = Window(timedelta(hours=1), every=timedelta(minutes=1))
    starts = hourly.starts(T0_US)
    assert len(starts) == 60 and all(s <= T0_US < s + 60 * MINUTE for s in starts)


def test_a_window_closes_when_the_watermark_reaches_its_end_plus_lateness() -> None:
    window = Window(timedelta(minutes=10), late=timedelta(minutes=2))
    end = T0_US + 10 * MINUTE
    assert not window.closes(T0_US, None)
    assert not window.closes(T0_US, end + 2 * MINUTE - 1)
    assert window.closes(T0_US, end + 2 * MINUTE)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": timedelta(0)}, "size must be positive"),
        ({"size": timedelta(minutes=10), "every": timedelta(minutes=3)}, "multiple of every"),
        ({"size": timedelta(minutes=10), "late": timedelta(seconds=-1)}, "late must not be negative"),
    ],
)
def test_impossible_windows_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Window(**kwargs)


def test_a_window_size_must_be_a_timedelta() -> None:
    with pytest.raises(TypeError, match="Window size must be a timedelta, not int"):
        Window(600)  # type: ignore[arg-type]


def test_events_without_entity_or_time_are_skipped_and_counted() -> None:
    events = [
        {"ip": "a", "@timestamp": T0},
        {"@timestamp": T0},
        {"ip": "b"},
        {"ip": "c", "@timestamp": "yesterday"},
        {"ip": "d", "@timestamp": 1714564800.0},
    ]
    pairs, skipped, late = assigned(spec(Window(timedelta(minutes=10))), events)
    assert [key for key, _ in pairs] == [("a", T0_US), ("d", T0_US)]
    assert (skipped, late) == ((1, 2), 0)


def test_events_of_closed_windows_are_dropped_and_counted_as_late() -> None:
    window = Window(timedelta(minutes=10), every=timedelta(minutes=5), late=timedelta(minutes=1))
    watermark = T0_US + 11 * MINUTE  # closes the window starting at T0, not the one at T0+5
    events = [
        {"ip": "a", "@timestamp": T0 + timedelta(minutes=7)},  # in [T0, T0+10) (closed) and [T0+5, T0+15)
        {"ip": "a", "@timestamp": T0 + timedelta(minutes=12)},
        {"ip": "a", "@timestamp": T0 - timedelta(minutes=1)},  # every window closed
    ]
    pairs, skipped, late = assigned(spec(window), events, watermark)
    assert [key for key, _ in pairs] == [
        ("a", T0_US + 5 * MINUTE),
        ("a", T0_US + 10 * MINUTE),
        ("a", T0_US + 5 * MINUTE),
    ]
    assert (skipped, late) == ((0, 0), 2)


def rows(spec_, events, rng: random.Random | None = None) -> set[tuple]:
    """The rows a run gives: pairs combined per key in random parts, pickled, merged in random order."""
    pairs, _, _ = assigned(spec_, events)
    if rng:
        rng.shuffle(pairs)
    by_key: dict = {}
    for key, timed in pairs:
        by_key.setdefault(key, []).append(timed)
    results = set()
    for key, timeds in by_key.items():
        parts = [timeds[i::3] for i in range(3)] if rng else [timeds]
        partials = [
            pickle.loads(
                pickle.dumps(
                    reduce(
                        lambda acc, t: windows._add(spec_, acc, t), part[1:], windows._create(spec_, part[0])
                    )
                )
            )
            for part in parts
            if part
        ]
        if rng:
            rng.shuffle(partials)
        merged = reduce(lambda a, b: windows._merge(spec_, a, b), partials)
        row = windows._result(spec_, (key, merged))
        results.add((row.entity, row.start, row.end, json.dumps(row.metadata(), sort_keys=True)))
    return results


def test_partial_accumulators_merged_in_any_order_give_the_same_rows() -> None:
    gen = random.Random(7)
    events = [
        {
            "ip": f"10.0.0.{gen.randint(1, 5)}",
            "@timestamp": T0 + timedelta(seconds=gen.randint(0, 3600)),
            "user": gen.choice(["root", "admin", "git"]),
            "bytes": gen.randint(0, 999),
        }
        for _ in range(400)
    ]
    window = Window(timedelta(minutes=10), every=timedelta(minutes=5))
    s = spec(
        window,
        n=count(),
        users=distinct("user"),
        bytes=total("bytes"),
        first=first_seen(),
        last=last_seen(),
        top=top("user", 2),
    )
    expected = rows(s, events)
    assert len(expected) > 20
    for seed in range(10):
        assert rows(s, events, random.Random(seed)) == expected


def test_a_row_holds_the_window_in_utc_and_its_values() -> None:
    s = spec(Window(timedelta(minutes=10)), n=count(), first=first_seen())
    (row,) = [
        windows._result(
            s,
            (
                ("10.0.0.1", T0_US),
                windows._create(s, (T0_US + 61_000_000, {"@timestamp": T0 + timedelta(seconds=61)})),
            ),
        )
    ]
    assert row == WindowResult(
        "10.0.0.1", T0, T0 + timedelta(minutes=10), {"n": 1, "first": T0 + timedelta(seconds=61)}
    )
    assert row.metadata() == {
        "window_start": "2024-05-01T12:00:00+00:00",
        "window_end": "2024-05-01T12:10:00+00:00",
        "n": 1,
        "first": "2024-05-01T12:01:01+00:00",
    }
    assert pickle.loads(pickle.dumps(row)) == row


def test_measures_must_be_measures() -> None:
    with pytest.raises(TypeError, match=r"measure 'n' .* has no start/add/merge/result"):
        windows._spec("ip", Window(timedelta(minutes=1)), {"n": len}, None)
    with pytest.raises(ValueError, match="measures is empty"):
        windows._spec("ip", Window(timedelta(minutes=1)), {}, None)


def test_per_entity_refuses_what_is_neither_an_rdd_nor_a_dstream() -> None:
    with pytest.raises(TypeError, match=r"per_entity\('x'\): events must be an RDD or a DStream, not list"):
        windows.per_entity(
            [], key="ip", window=Window(timedelta(minutes=1)), measures={"n": count()}, name="x"
        )
