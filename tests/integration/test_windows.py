"""Windows on the session SparkContext: the same events give the same rows in one batch RDD and
spread over streaming batches; a window is emitted once; late events are dropped and counted."""

from __future__ import annotations

import itertools
import json
import random
import stat
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from datashark.detect import window_state, windows
from datashark.detect.measures import (
    count,
    distinct,
    event_micros,
    first_seen,
    largest,
    last_seen,
    top,
    total,
    utc_time,
)
from datashark.detect.windows import Window, WindowResult, per_entity

pytestmark = pytest.mark.spark

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
LATE = timedelta(minutes=2)
MEASURES = {
    "attempts": count(),
    "users": distinct("user"),
    "bytes": total("bytes"),
    "biggest": largest("bytes"),
    "first": first_seen(),
    "last": last_seen(),
    "paths": top("path", 3),
}
# Test-side feeder state by id: the transform below is pickled into the streaming checkpoint.
_FEEDS: dict[str, list[list[dict]]] = {}
_TICKS: dict[str, Iterator[int]] = {}
_FEED_IDS = itertools.count()


def generated_events(n: int = 1000, seed: int = 15) -> list[dict]:
    """``n`` SSH failures from 6 source IPs over two hours, in arrival order: out of order by up
    to 90 seconds (within LATE). Some lack the user or bytes; a few have no source IP."""
    rng = random.Random(seed)
    events = []
    for i in range(n):
        at = T0 + timedelta(seconds=rng.uniform(0, 7200))
        ev = {"@timestamp": at, "path": rng.choice(["/", "/login", "/admin", "/.env"])}
        if i % 50:
            ev["src_ip"] = f"203.0.113.{rng.randint(1, 6)}"
        if i % 7:
            ev["user"] = rng.choice(["root", "admin", "oracle", "git", "ubuntu"])
        if i % 3:
            ev["bytes"] = rng.choice([rng.randint(0, 5000), rng.uniform(0, 100)])
        events.append((at + timedelta(seconds=rng.uniform(0, 90)), ev))
    return [ev for _, ev in sorted(events, key=lambda pair: pair[0])]


def in_batches(events: list[dict], parts: int) -> list[list[dict]]:
    size = -(-len(events) // parts)
    return [events[i : i + size] for i in range(0, len(events), size)]


def comparable(rows: list[WindowResult]) -> set[tuple]:
    return {(row.entity, row.start, row.end, repr(sorted(row.values.items()))) for row in rows}


def feed(ssc, batches: list[list[dict]]):
    """A DStream giving ``batches[i]`` at its i-th batch, then empty ones: built as
    folder_stream.dstream, a queueStream tick and a transform holding an id only."""
    feed_id = f"{next(_FEED_IDS)}"
    _FEEDS[feed_id] = batches
    _TICKS[feed_id] = itertools.count()

    def batch(_time, tick):
        i = next(_TICKS[feed_id])
        events = _FEEDS[feed_id][i] if i < len(_FEEDS[feed_id]) else []
        return tick.context.parallelize(events, 2)

    return ssc.queueStream([], default=ssc.sparkContext.parallelize([0], 1)).transform(batch)


@contextmanager
def streaming(sc, tmp_path) -> Iterator:
    from pyspark.streaming import StreamingContext

    ssc = StreamingContext(sc, 0.5)
    ssc.checkpoint(str(tmp_path / "ckpt"))
    try:
        yield ssc
    finally:
        ssc.stop(stopSparkContext=False, stopGraceFully=False)


def stream_rows(
    sc, tmp_path, batches: list[list[dict]], name: str, window: Window
) -> list[list[WindowResult]]:
    """Run the batches through per_entity, then flush: the rows of every streaming batch."""
    outputs: list[list[WindowResult]] = []  # the closure below is pickled: a plain list, no lock

    def collect(_time, rdd) -> None:
        outputs.append(rdd.collect())

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 120
        while len(outputs) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(outputs) >= n, f"only {len(outputs)} batches in 120 s"

    with streaming(sc, tmp_path) as ssc:
        per_entity(feed(ssc, batches), key="src_ip", window=window, measures=MEASURES, name=name).foreachRDD(
            collect
        )
        ssc.start()
        wait_for(len(batches))
        flushed_from = len(outputs)
        windows.flush_at_next_batch(name)
        wait_for(flushed_from + 2)  # the batch after the flush may have been generated already
        assert windows.stats(name).open == 0
    return outputs


@pytest.fixture(autouse=True)
def forget_windows() -> Iterator[None]:
    yield
    windows.release()


@pytest.mark.parametrize(
    ("window", "checkpoint_every"),
    [
        (Window(timedelta(minutes=10), late=LATE), 2),
        (Window(timedelta(minutes=10), every=timedelta(minutes=5), late=LATE), 10),
    ],
    ids=["tumbling", "sliding"],
)
def test_one_batch_rdd_and_streaming_batches_give_the_same_rows(
    spark_context, tmp_path, monkeypatch, window: Window, checkpoint_every: int
) -> None:
    monkeypatch.setattr(windows, "CHECKPOINT_EVERY", checkpoint_every)
    events = generated_events()
    batch = per_entity(
        spark_context.parallelize(events, 4), key="src_ip", window=window, measures=MEASURES, name="batch"
    ).collect()
    assert windows.stats("batch").no_entity == 20  # no source IP

    outputs = stream_rows(spark_context, tmp_path, in_batches(events, 5), "ssh", window)
    streamed = [row for rows in outputs for row in rows]

    assert comparable(streamed) == comparable(batch)
    once = Counter((row.entity, row.start) for row in streamed)
    assert max(once.values()) == 1, "a window was emitted twice"
    assert all(rows for rows in outputs[1:5]), (
        "windows close as the watermark advances, not only at the flush"
    )
    stats = windows.stats("ssh")
    assert (stats.emitted, stats.late, stats.no_entity, stats.no_time, stats.open) == (
        len(batch),
        0,
        20,
        0,
        0,
    )
    expected_windows = {
        (ev["src_ip"], start) for ev in events if "src_ip" in ev for start in starts(window, ev)
    }
    assert {(row.entity, row.start) for row in batch} == expected_windows
    assert sum(row.values["attempts"] for row in batch) == (len(events) - 20) * (
        window.size // (window.every or window.size)
    )


def starts(window: Window, event: dict) -> list[datetime]:
    return [utc_time(s) for s in window.starts(event_micros(event["@timestamp"]) or 0)]


def test_events_later_than_the_lateness_are_dropped_and_counted(spark_context, tmp_path, capsys) -> None:
    def ev(minutes: float, ip: str = "198.51.100.7") -> dict:
        return {"@timestamp": T0 + timedelta(minutes=minutes), "src_ip": ip, "user": "root"}

    batches = [
        [ev(1), ev(3), ev(9)],
        [ev(12)],  # the watermark reaches 12:12: [12:00, 12:10) + 2 minutes late closes
        [ev(8), ev(11)],  # 12:08 comes too late; 12:11 is in the open window
        [ev(30)],
    ]
    outputs = stream_rows(spark_context, tmp_path, batches, "late", Window(timedelta(minutes=10), late=LATE))
    emitted = [(row.start, row.values["attempts"]) for rows in outputs for row in rows]
    assert emitted == [(T0, 3), (T0 + timedelta(minutes=10), 2), (T0 + timedelta(minutes=30), 1)]
    batch_of_each = [i for i, rows in enumerate(outputs) for _ in rows]
    assert batch_of_each[:2] == [1, 3] and batch_of_each[2] >= len(batches)
    assert windows.stats("late").late == 1
    assert "(late) windows: 1 late events dropped, 0 without a time skipped" in capsys.readouterr().out


def test_the_windows_of_a_quiet_source_close_as_the_clock_passes(spark_context, tmp_path, monkeypatch):
    """With ``idle``, a source whose log went quiet has its last window closed without a later
    line: after ``idle`` of quiet, event time passes as the driver's clock does."""
    now = [1000.0]
    monkeypatch.setattr(windows, "clock", lambda: now[0])
    outputs: list[list[WindowResult]] = []

    def ev(minutes: float) -> dict:
        return {"@timestamp": T0 + timedelta(minutes=minutes), "src_ip": "198.51.100.7", "user": "root"}

    window = Window(timedelta(minutes=10), late=LATE, idle=timedelta(minutes=1))
    with streaming(spark_context, tmp_path) as ssc:
        found = per_entity(
            feed(ssc, [[ev(1), ev(3)]]), key="src_ip", window=window, measures=MEASURES, name="quiet"
        )
        found.foreachRDD(lambda _time, rdd: outputs.append(rdd.collect()))
        ssc.start()
        deadline = time.monotonic() + 120
        while windows.stats("quiet").watermark is None and time.monotonic() < deadline:
            time.sleep(0.1)
        batches_quiet = len(outputs)
        now[0] += 8 * 60  # quiet for 8 minutes: 12:03 + 8 min is 12:11, short of 12:10 + late
        while len(outputs) < batches_quiet + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [row for rows in outputs for row in rows] and windows.stats("quiet").open == 1
        now[0] += 60  # 9 minutes: 12:12, the window [12:00, 12:10) closes
        while windows.stats("quiet").open and time.monotonic() < deadline:
            time.sleep(0.1)
    rows = [row for rows in outputs for row in rows]
    assert [(row.start, row.values["attempts"]) for row in rows] == [(T0, 2)]
    assert windows.stats("quiet").watermark == T0 + timedelta(minutes=12)


def test_without_idle_a_quiet_source_keeps_its_window_open(spark_context, tmp_path, monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(windows, "clock", lambda: now[0])
    outputs: list[list[WindowResult]] = []
    event = {"@timestamp": T0 + timedelta(minutes=1), "src_ip": "198.51.100.7", "user": "root"}
    with streaming(spark_context, tmp_path) as ssc:
        window = Window(timedelta(minutes=10), late=LATE)
        found = per_entity(
            feed(ssc, [[event]]), key="src_ip", window=window, measures=MEASURES, name="no-idle"
        )
        found.foreachRDD(lambda _time, rdd: outputs.append(rdd.collect()))
        ssc.start()
        deadline = time.monotonic() + 120
        while len(outputs) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        now[0] += 24 * 3600
        while len(outputs) < 5 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert not [row for rows in outputs for row in rows] and windows.stats("no-idle").open == 1


def test_batch_rows_of_a_time_function_and_a_key_function(spark_context) -> None:
    events = [
        {"t": 1714564800 + s, "who": {"ip": ip}} for s, ip in [(0, "a"), (59, "a"), (60, "a"), (5, "b")]
    ]
    rows = per_entity(
        spark_context.parallelize(events, 2),
        key=lambda e: e["who"]["ip"],
        time=lambda e: e["t"],
        window=Window(timedelta(minutes=1)),
        measures={"n": count(), "first": first_seen()},
        name="fn",
    ).collect()
    assert sorted((r.entity, r.start, r.values["n"], r.values["first"]) for r in rows) == [
        ("a", T0, 2, T0),
        ("a", T0 + timedelta(minutes=1), 1, T0 + timedelta(minutes=1)),
        ("b", T0, 1, T0 + timedelta(seconds=5)),
    ]


def delivering_run(
    sc, tmp_path, batches: list[list[dict]], name: str, state: str, *, deliver: int | None, flush: bool
) -> list[WindowResult]:
    """Run the batches through per_entity as ``run/streaming.py`` wires a use case ``uc`` whose
    windows are kept in ``state``; acknowledge the first ``deliver`` batches (None: all), then
    stop (after a flush when ``flush``). The rows of the acknowledged batches."""
    outputs: list[list[WindowResult]] = []  # every batch's rows, delivered or not
    delivered: list[list[WindowResult]] = []

    def collect(batch_time, rdd) -> None:
        rows = rdd.collect()
        outputs.append(rows)
        if deliver is None or len(outputs) <= deliver:
            windows.batch_delivered("uc", batch_time)
            delivered.append(rows)

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 120
        while len(outputs) < n and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(outputs) >= n, f"only {len(outputs)} batches in 120 s"

    with streaming(sc, tmp_path / f"run-{next(_FEED_IDS)}") as ssc:
        with window_state.state_folder(state, "uc", readers=["uc"]):
            rows = per_entity(
                feed(ssc, batches),
                key="src_ip",
                window=Window(timedelta(minutes=10), late=LATE),
                measures=MEASURES,
                name=name,
            )
        rows.foreachRDD(collect)
        ssc.start()
        wait_for(len(batches))
        if flush:
            flushed_from = len(outputs)
            windows.flush_at_next_batch(name)
            wait_for(flushed_from + 2)
            assert windows.stats(name).open == 0
    windows.release(name)  # as run_streaming does at its end
    return [row for rows in delivered for row in rows]


@pytest.mark.parametrize(
    ("first_run", "acknowledged", "scheme"),
    [(2, None, ""), (3, 2, ""), (3, 2, "file://")],
    ids=["stopped-after-delivery", "undelivered-batch-read-again", "undelivered-hadoop-path"],
)
def test_a_restart_resumes_the_open_windows_of_the_last_delivered_batch(
    spark_context, tmp_path, first_run: int, acknowledged: int | None, scheme: str
) -> None:
    events = generated_events(600)
    window = Window(timedelta(minutes=10), late=LATE)
    whole = per_entity(
        spark_context.parallelize(events, 4), key="src_ip", window=window, measures=MEASURES, name="whole"
    ).collect()
    batches = in_batches(events, 5)
    state = f"{scheme}{tmp_path / 'ckpt' / 'uc'}"

    before = delivering_run(
        spark_context, tmp_path, batches[:first_run], "ssh", state, deliver=acknowledged, flush=False
    )
    saved = tmp_path / "ckpt" / "uc" / "windows-ssh"
    current = json.loads((saved / "current.json").read_text())
    assert current["format"] == "datashark-windows-1" and current["watermark"] is not None
    assert stat.S_IMODE(saved.stat().st_mode) == 0o700
    # The restart reads again the batches not acknowledged, as the inputs do.
    after = delivering_run(spark_context, tmp_path, batches[2:], "ssh", state, deliver=None, flush=True)

    assert before, "windows closed before the stop"
    assert comparable(before + after) == comparable(whole)
    once = Counter((row.entity, row.start) for row in before + after)
    assert max(once.values()) == 1, "a window was emitted twice"
    current = json.loads((saved / "current.json").read_text())["snapshot"]
    snapshots = [int(path.name) for path in saved.iterdir() if path.name.isdigit()]
    assert current in snapshots and min(snapshots) == current, "older snapshots are deleted"


def test_without_a_state_folder_nothing_is_saved(spark_context, tmp_path) -> None:
    stream_rows(
        spark_context, tmp_path, in_batches(generated_events(50), 2), "nosave", Window(timedelta(minutes=10))
    )
    assert not any(path.name.startswith("windows-") for path in tmp_path.rglob("*"))


def test_a_batch_run_names_the_events_it_skipped_for_want_of_a_time(spark_context) -> None:
    events = [{"src": "192.0.2.1", "@timestamp": "2024-03-14T08:00:00Z"}] * 3  # text: no time
    rows = per_entity(
        spark_context.parallelize(events, 2),
        key="src",
        window=Window(timedelta(minutes=10)),
        measures={"n": count()},
        name="untimed",
    ).collect()
    assert rows == []
    assert windows.batch_notes() == [
        "(untimed) windows: 3 events without a time skipped (is @timestamp set? see time_field / time_format)"
    ]
    assert windows.batch_notes() == []  # said once
