"""Windows without Spark: which windows hold an event, when one closes, late events, and
partial accumulators merged in any order giving the same rows."""

from __future__ import annotations

import json
import pickle
import random
from datetime import datetime, timedelta, timezone
from functools import reduce

import pytest

from datashark.detect import window_state, windows
from datashark.detect.measures import count, distinct, first_seen, last_seen, top, total
from datashark.detect.windows import Window, WindowResult
from datashark.errors import ConfigError

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


def test_when_gives_only_windows_whose_tests_pass_and_computes_nothing_else_for_the_others() -> None:
    class Counted:
        """A measure that says how often its result was computed."""

        computed = 0

        def start(self):
            return 0

        def add(self, acc, event):
            return acc + 1

        def merge(self, a, b):
            return a + b

        def result(self, acc):
            Counted.computed += 1
            return acc

    spec_ = windows._spec(
        "ip", Window(timedelta(minutes=10)), {"n": count(), "other": Counted()}, None, {"n": lambda n: n >= 3}
    )
    few = (("10.0.0.1", T0_US), [T0_US, 2, 2])
    many = (("10.0.0.2", T0_US), [T0_US, 5, 5])
    assert windows._results(spec_, few) == [] and Counted.computed == 0
    (row,) = windows._results(spec_, many)
    assert row.entity == "10.0.0.2" and row.values == {"n": 5, "other": 5}


def test_when_must_name_a_measure_and_test_it_with_a_function() -> None:
    with pytest.raises(ValueError, match=r"when names 'users', which is none of the measures \(n\)"):
        windows._spec("ip", Window(timedelta(minutes=1)), {"n": count()}, None, {"users": bool})
    with pytest.raises(TypeError, match=r"when\['n'\] must be a function"):
        windows._spec("ip", Window(timedelta(minutes=1)), {"n": count()}, None, {"n": 3})


def test_per_entity_refuses_what_is_neither_an_rdd_nor_a_dstream() -> None:
    with pytest.raises(TypeError, match=r"per_entity\('x'\): events must be an RDD or a DStream, not list"):
        windows.per_entity(
            [], key="ip", window=Window(timedelta(minutes=1)), measures={"n": count()}, name="x"
        )


def test_a_window_open_keep_past_its_end_takes_no_more_events() -> None:
    window = Window(timedelta(minutes=10), late=timedelta(days=30), keep=timedelta(days=1))
    end = T0_US + 10 * MINUTE
    day = 24 * 60 * MINUTE
    assert not window.closes(T0_US, end + day) and window.expired(T0_US, end + day)
    assert window.final(T0_US, end + day) and not window.final(T0_US, end + day - 1)
    pairs, _, late = assigned(spec(window), [{"ip": "a", "@timestamp": T0}], end + day)
    assert (pairs, late) == ([], 1)
    keyed = (("a", T0_US), [T0_US, 1])
    assert windows._expired(window, end + day, keyed) and not windows._still_open(window, end + day, keyed)
    with pytest.raises(ValueError, match="keep must be positive"):
        Window(timedelta(minutes=10), keep=timedelta(0))


class FakeRDD:
    def __init__(self, records: list) -> None:
        self.records = records

    def toLocalIterator(self):  # noqa: N802 - Spark's name
        return iter(self.records)


class FakeSparkContext:
    defaultParallelism = 2  # noqa: N815 - Spark's name

    def parallelize(self, records: list, _slices: int) -> list:
        return records


def snapshots(folder, readers=("a",), shape=None):
    owner = window_state.StateFolder(str(folder.parent), "a", frozenset(readers))
    return window_state.Snapshots(
        FakeSparkContext(), str(folder), owner, shape or {"measures": [["n", "count()"]]}
    )


def test_a_snapshot_is_current_once_every_reader_of_the_input_delivered_its_batch(tmp_path) -> None:
    folder = tmp_path / "uc" / "windows-ssh"
    saved = snapshots(folder, readers=("a", "b"))
    assert saved.load() == (None, None)
    saved.save(1000, FakeRDD([(("10.0.0.1", T0_US), [T0_US, 1])]), T0_US)
    saved.save(2000, FakeRDD([(("10.0.0.1", T0_US), [T0_US, 2])]), T0_US + 1)
    saved.delivered("a", 2000)
    assert not (folder / "current.json").exists(), "b has not delivered yet"
    saved.delivered("b", 1000)
    assert json.loads((folder / "current.json").read_text())["snapshot"] == 1000
    saved.delivered("b", 2000)
    assert sorted(path.name for path in folder.iterdir()) == ["2000", "current.json"]
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert oct((folder / "2000").stat().st_mode & 0o777) == "0o600"

    saved.save(3000, FakeRDD([]), T0_US + 2)  # never delivered: the restart reads its batch again
    assert snapshots(folder).load() == ([(("10.0.0.1", T0_US), [T0_US, 2])], T0_US + 1)
    assert sorted(path.name for path in folder.iterdir()) == ["2000", "current.json"]


def test_windows_saved_with_other_measures_start_empty(tmp_path, capsys) -> None:
    folder = tmp_path / "uc" / "windows-ssh"
    saved = snapshots(folder)
    saved.load()
    saved.save(1000, FakeRDD([(("10.0.0.1", T0_US), [T0_US, 1])]), T0_US)
    saved.delivered("a", 1000)
    assert snapshots(folder, shape={"measures": [["n", "distinct('user')"]]}).load() == (None, None)
    assert "saved by other windows or measures: they start empty" in capsys.readouterr().err


def test_a_measure_of_a_function_has_the_same_shape_in_the_next_process() -> None:
    def order_of(event):
        return event

    def same_name(event):  # another function object of the same name, as after a restart
        return event

    same_name.__qualname__ = order_of.__qualname__
    spec = windows._Spec(
        key=str, window=Window(size=timedelta(minutes=5)), names=("t",), measures=(top(order_of),), time=str
    )
    again = windows._Spec(
        key=str, window=Window(size=timedelta(minutes=5)), names=("t",), measures=(top(same_name),), time=str
    )
    assert " at 0x" in repr(top(order_of))
    assert windows._shape("src", spec) == windows._shape("src", again)


def test_unreadable_windows_state_is_one_line_naming_the_file(tmp_path) -> None:
    folder = tmp_path / "uc" / "windows-ssh"
    folder.mkdir(parents=True)
    (folder / "current.json").write_text('{"format": "something else"}')
    with pytest.raises(ConfigError, match=r"windows-ssh/current.json: not a dataShark windows state"):
        snapshots(folder).load()


def test_the_use_case_state_folder_is_its_slug_under_checkpoint_dir() -> None:
    assert (
        window_state.usecase_state("hdfs://nn/ckpt/", "SSH Brute Force") == "hdfs://nn/ckpt/ssh-brute-force"
    )


def test_a_bloom_filter_in_a_finding_s_metadata_is_the_number_it_holds() -> None:
    from datashark.detect.sketches import BloomFilter

    seen = BloomFilter.of([f"198.51.100.{n}" for n in range(40)], expected_items=1000)
    start = datetime(2024, 3, 14, 8, tzinfo=timezone.utc)
    row = WindowResult("192.0.2.1", start, start + timedelta(minutes=10), {"seen": seen})
    metadata = row.metadata()
    assert 38 <= metadata["seen"] <= 42 and isinstance(metadata["seen"], int)
    json.dumps(metadata)
