"""The input of a streaming test: a case's events, fed over several batches, then two empty ones.

After the last batch of events, the feed asks ``datashark.detect.windows`` (when installed) to
close every open window at the next batch, and hands out one more empty batch: the case is done
once the batch after that was delivered (a windowed stream delivers only every slide, so the
first delivery at or after it). Later batches are empty until the runner stops the stream.
Delivery tells the input (``batch_delivered``) after the output wrote the batch and its dead
letters were stored, so the stop cannot cut a delivery short.

The runner stops the stream as a signal would: Spark's graceful stop ends once the batch of
the stop time was processed, and a batch without a job (a windowed use case's between two
slides) never is, so it waits out ``spark.streaming.gracefulStopTimeout`` (10 batches). The
tick therefore has an output of its own that does nothing: every batch has a job.

Built like the folder stream's tick (``files/folder_stream.py``): a queue stream whose default
RDD triggers a ``transform`` that returns the batch's lines. Spark pickles that function into the
checkpoint at every batch, so it holds a feed id and reaches the driver-side ``Feed`` through
``feed()``, never an RDD or the Feed itself.
"""

from __future__ import annotations

import importlib
import itertools
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from datashark.plugin_api import InputPlugin

if TYPE_CHECKING:
    from pyspark.streaming import DStream, StreamingContext

    from datashark.config.settings import Settings
    from datashark.config.usecase import UseCase
    from datashark.events.whole_files import EventFailure, Record

WINDOWS_MODULE = "datashark.detect.windows"
# Driver-side: the feeds of this process by id.
_FEEDS: dict[str, Feed] = {}
_IDS = itertools.count()
_LOCK = threading.Lock()


def split(events: Sequence[Record | EventFailure], batches: int) -> list[list[Record | EventFailure]]:
    """``events`` in ``batches`` consecutive parts as even as possible (earlier parts larger)."""
    size, larger = divmod(len(events), batches)
    parts, start = [], 0
    for index in range(batches):
        end = start + size + (1 if index < larger else 0)
        parts.append(list(events[start:end]))
        start = end
    return parts


def flush_windows() -> bool:
    """Ask the windows of ``datashark.detect.windows`` to close at the next batch; False when
    that module (or its flush) does not exist."""
    try:
        windows = importlib.import_module(WINDOWS_MODULE)
    except ModuleNotFoundError as err:
        if err.name in (WINDOWS_MODULE, WINDOWS_MODULE.rpartition(".")[0]):
            return False
        raise
    flush = getattr(windows, "flush_at_next_batch", None)
    if flush is None:
        return False
    flush()
    return True


class Feed:
    """The batches of one streaming case, which one comes next, and whether the batch the case
    waits for has been delivered (``done``)."""

    def __init__(self, batches: list[list[Record | EventFailure]]) -> None:
        self.id = f"feed-{next(_IDS)}"
        self.batches = batches
        self.by_time: dict[datetime, int] = {}
        self.final_time: datetime | None = None  # the batch after the flush
        self.done = threading.Event()
        self._lock = threading.Lock()

    def lines(self, batch_time: datetime) -> list[Record | EventFailure]:
        """The records of the batch of ``batch_time`` (asked once per batch, in order): lines,
        or events already read from a whole file (``events/whole_files.py``)."""
        with self._lock:
            index = self.by_time.setdefault(batch_time, len(self.by_time))
        if index < len(self.batches):
            return self.batches[index]
        if index == len(self.batches):
            flush_windows()
        elif index == len(self.batches) + 1:
            self.final_time = batch_time
        return []

    def batch_delivered(self, batch_time: datetime) -> None:
        """The use case delivered the batch of ``batch_time`` (told by ``CaseInput``)."""
        if self.final_time is not None and batch_time >= self.final_time:
            self.done.set()


def register(batches: list[list[Record | EventFailure]]) -> Feed:
    feed_of_case = Feed(batches)
    with _LOCK:
        _FEEDS[feed_of_case.id] = feed_of_case
    return feed_of_case


def feed(feed_id: str) -> Feed | None:
    """The registered feed. Closures call this instead of reading ``_FEEDS``: cloudpickle copies
    the globals a closure reads into the checkpoint, but pickles a module's function by name."""
    return _FEEDS.get(feed_id)


def unregister(feed_id: str) -> None:
    with _LOCK:
        _FEEDS.pop(feed_id, None)


class CaseInput(InputPlugin):
    """``input = test_events``: the registered feed named by ``[in_test_events] feed``."""

    CONFIGSPEC = ("feed = string(min=1)",)

    def __init__(self, conf: dict[str, Any], usecase: UseCase, settings: Settings) -> None:
        super().__init__(conf, usecase, settings)
        self.feed_id: str = conf["feed"]

    @property
    def description(self) -> str:
        registered = feed(self.feed_id)
        count = len(registered.batches) if registered else 0
        return f"Test events ({count} batches)"

    @property
    def key(self) -> tuple:
        return ("test_events", self.feed_id)

    def stream(self, ssc: StreamingContext) -> DStream:
        registered = feed(self.feed_id)
        if registered is None:
            raise RuntimeError(f"test feed {self.feed_id} is not registered in this driver")
        feed_id = self.feed_id

        def batch(batch_time, tick):
            return _batch_rdd(feed_id, batch_time, tick)

        tick = ssc.queueStream([], default=ssc.sparkContext.parallelize([0], 1))
        tick.foreachRDD(_every_batch_has_a_job)
        return tick.transform(batch)

    def batch_delivered(self, consumer: str, batch_time: datetime) -> None:
        registered = feed(self.feed_id)
        if registered is not None:
            registered.batch_delivered(batch_time)

    def close(self) -> None:
        unregister(self.feed_id)


def _every_batch_has_a_job(_batch_time, _tick) -> None:
    """The tick's output (see the module's docstring): runs on the driver, reads nothing."""


def _batch_rdd(feed_id: str, batch_time, tick):
    registered = feed(feed_id)
    if registered is None:
        raise RuntimeError(f"test feed {feed_id} is not registered in this driver")
    lines = registered.lines(batch_time)
    return tick.context.parallelize(lines, 2 if len(lines) > 1 else 1)
