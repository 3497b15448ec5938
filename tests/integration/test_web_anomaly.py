"""web-anomaly-detection on a local SparkContext: training, and load() driven by a queue stream.

The sample log is parsed with the conf's pattern by dataShark's EventParser, as the engine
does, and replayed through a StreamingContext of 1-second batches; the top of the scored rows
must be the table of conf/web-anomaly-detection/README.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from datashark.config.usecase import UseCase, read_usecase
from datashark.errors import ConfLocation
from datashark.events.parsing import EventError, EventParser
from datashark.events.records import row_problem
from datashark.loading.codeimport import import_file, unique_module_name
from tests.conftest import REPO

pytestmark = [
    pytest.mark.spark,
    # dataShark's streaming engine is built on DStreams, which Spark 4 marks deprecated.
    pytest.mark.filterwarnings("ignore:DStream is deprecated:FutureWarning"),
]

FOLDER = REPO / "conf" / "web-anomaly-detection"
DAYS = ("17/May/2015", "18/May/2015", "19/May/2015", "20/May/2015")
WINDOWS = 3052  # (IP, minute) windows in the sample; see tests/unit/test_web_anomaly.py

# The README's top 10: (IP, window start, score).
README_TOP = [
    ("144.76.95.39", "2015-05-20T09:05:00Z", 12.094),
    ("75.97.9.59", "2015-05-19T01:05:00Z", 11.129),
    ("75.97.9.59", "2015-05-18T09:05:00Z", 9.788),
    ("75.97.9.59", "2015-05-18T08:05:00Z", 9.469),
    ("130.237.218.86", "2015-05-19T13:05:00Z", 8.567),
    ("91.236.75.25", "2015-05-20T05:05:00Z", 8.318),
    ("199.168.96.66", "2015-05-18T12:05:00Z", 7.540),
    ("66.249.73.135", "2015-05-18T03:05:00Z", 7.089),
    ("66.249.73.135", "2015-05-18T15:05:00Z", 6.961),
    ("64.131.102.243", "2015-05-20T14:05:00Z", 6.955),
]


@pytest.fixture(scope="module")
def wad() -> ModuleType:
    path = FOLDER / "web-anomaly-detection.py"
    return import_file(path, unique_module_name("wad_integration", path))


@pytest.fixture(scope="module")
def usecase() -> UseCase:
    return read_usecase(FOLDER / "web-anomaly-detection.conf")


def parse_or_skip(parser: EventParser) -> Callable[[str], list[dict]]:
    """flatMap function: the parsed event, or nothing for a line the engine would dead-letter.

    A closure, so cloudpickle ships it by value: executors need not import this test module.
    """

    def parse(line: str) -> list[dict]:
        try:
            return [parser.parse(line)]
        except EventError:
            return []

    return parse


@pytest.fixture(scope="module")
def events(spark_context, usecase: UseCase):
    """The sample's 9,999 parseable events as an RDD of dicts, as the engine hands them over."""
    parser = EventParser(
        usecase.conf["format"], usecase.conf["pattern"], where=ConfLocation(str(usecase.path))
    )
    rdd = spark_context.textFile(usecase.data_path()).flatMap(parse_or_skip(parser)).cache()
    assert rdd.count() == 9999
    yield rdd
    rdd.unpersist()


def conf_with(usecase: UseCase, **keys: str) -> dict[str, Any]:
    """A copy of the use case's conf with some keys changed (as strings, like the conf's)."""
    return {**usecase.conf, **keys}


@contextmanager
def streaming_context(sc, batch_seconds: int = 1) -> Iterator[Any]:
    """A StreamingContext that is stopped whatever happens, leaving the shared SparkContext up."""
    from pyspark.streaming import StreamingContext

    ssc = StreamingContext(sc, batch_seconds)
    try:
        yield ssc
    finally:
        ssc.stop(stopSparkContext=False, stopGraceFully=False)


def run_stream(sc, wad: ModuleType, conf: dict, training, batches: list, outputs: int) -> list[list[tuple]]:
    """Queue ``batches`` (one RDD per 1-second batch), run load() and collect the rows of the
    first ``outputs`` stream windows (one list per window, empty ones included)."""
    collected: list[list[tuple]] = []
    with streaming_context(sc) as ssc:
        result = wad.load(ssc.queueStream(batches, oneAtATime=True), training, sc, conf)
        result.foreachRDD(lambda _time, rdd: collected.append(rdd.collect()))
        ssc.start()
        deadline = time.monotonic() + 300
        while len(collected) < outputs and time.monotonic() < deadline:
            time.sleep(0.2)
    assert len(collected) >= outputs, f"only {len(collected)} stream windows in 300 s"
    return collected[:outputs]


def ranked(rows: list[tuple]) -> list[tuple]:
    """Rows by descending score; ties by IP and window, so the order is total."""
    return sorted(rows, key=lambda row: (-row[1], row[0], row[2]["window_start"]))


def test_training_is_deterministic_across_runs_and_partitionings(wad: ModuleType, usecase: UseCase, events):
    knobs = wad.settings(usecase.conf)
    first = wad.train(events, knobs)
    second = wad.train(events.repartition(3), knobs)
    assert first["centres"].shape == (6, len(wad.FEATURE_NAMES))
    # Identical up to the order Spark sums floating-point partials in (last bits only).
    for name in ("centres", "mean", "std"):
        np.testing.assert_allclose(first[name], second[name], rtol=0, atol=1e-9)
    assert len({tuple(centre.round(6)) for centre in first["centres"]}) == 6, "six distinct centres"


def test_load_scores_the_sample_as_the_readme_says(spark_context, wad: ModuleType, usecase: UseCase, events):
    """One day of log per 1-second batch, stream windows of one batch; then 2 idle batches."""
    days = [events.filter(lambda event, day=day: event["time"].startswith(day)) for day in DAYS]
    outputs = run_stream(
        spark_context, wad, conf_with(usecase, stream_window="1"), events, days, outputs=len(days) + 2
    )

    rows = [row for window in outputs for row in window]
    assert all(row_problem(row) is None for row in rows)
    windows = [(ip, metadata["window_start"]) for ip, _, metadata in rows]
    assert len(windows) == len(set(windows)) == WINDOWS, "each IP-minute scored once, whole"
    assert outputs[-2:] == [[], []], "idle IPs are not scored again"
    assert sum(row[2]["requests"] for row in rows) == 9999

    top = [(ip, metadata["window_start"], score) for ip, score, metadata in ranked(rows)[:10]]
    assert [(ip, start) for ip, start, _ in top] == [(ip, start) for ip, start, _ in README_TOP]
    assert [score for *_, score in top] == pytest.approx([score for *_, score in README_TOP], abs=1e-3)
    scanner = next(row for row in rows if (row[0], row[2]["window_start"]) == README_TOP[5][:2])
    assert scanner[2] == {
        "cluster": scanner[2]["cluster"],
        "window_start": "2015-05-20T05:05:00Z",
        "requests": 8,
        "status_2xx": 0,
        "status_3xx": 0,
        "status_4xx": 8,
        "status_5xx": 0,
        "distinct_paths": 8,
        "bytes": 0,
        "error_ratio": 1.0,
    }


def test_a_window_spanning_batches_is_scored_whole(spark_context, wad: ModuleType, usecase: UseCase, events):
    """stream_window = 2 batches: a minute of log arriving half in each batch is one row."""
    last_day = events.filter(lambda event: event["time"].startswith(DAYS[-1]))
    halves = [last_day.filter(lambda event, odd=odd: int(event["time"][18:20]) % 2 == odd) for odd in (0, 1)]
    [rows] = run_stream(spark_context, wad, conf_with(usecase, stream_window="2"), events, halves, outputs=1)

    windows = [(ip, metadata["window_start"]) for ip, _, metadata in rows]
    assert (
        len(windows)
        == len(set(windows))
        == last_day.map(lambda e: (e["source"], e["time"][:17])).distinct().count()
    )
    crawler = next(
        row for row in rows if row[0] == "144.76.95.39" and row[2]["window_start"].endswith("09:05:00Z")
    )
    assert (crawler[1], crawler[2]["requests"], crawler[2]["status_4xx"]) == (
        pytest.approx(12.094, abs=1e-3),
        25,
        14,
    )


def test_stream_window_not_a_multiple_of_the_batch_interval_is_refused(
    spark_context, wad: ModuleType, usecase: UseCase, events
):
    with streaming_context(spark_context, batch_seconds=2) as ssc:
        stream = ssc.queueStream([events], oneAtATime=True)
        with pytest.raises(ValueError, match=r"'stream_window' \(or 'window'\) \(3 s\) must be a multiple"):
            wad.load(stream, events, spark_context, conf_with(usecase, stream_window="3"))


def test_training_without_events_says_so(spark_context, wad: ModuleType, usecase: UseCase) -> None:
    with pytest.raises(ValueError, match="no parseable event"):
        wad.train(spark_context.parallelize([], 2), wad.settings(usecase.conf))
