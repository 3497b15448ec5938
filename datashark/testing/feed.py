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
import json
import shutil
import tempfile
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
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
        self.frames: FrameFeed | None = None  # a DataFrame use case's (built by CaseInput.frames)
        self.time_fields: tuple[str, ...] = ()  # where its events' time is
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

    def frames(self, spark, fields=None):
        """A DataFrame use case's case: the batches as files read one per batch (``FrameFeed``)."""
        from datashark.frames.events import stream_frame

        registered = feed(self.feed_id)
        if registered is None:
            raise RuntimeError(f"test feed {self.feed_id} is not registered in this driver")
        folder = Path(tempfile.mkdtemp(prefix="datashark-case-"))
        lines = [[str(line) for line in batch] for batch in registered.batches]
        suffix = "." + self.usecase.conf["format"]
        registered.frames = FrameFeed(folder / "events", lines, registered.time_fields, suffix)
        return stream_frame(spark, self.usecase, str(folder / "events"), maxFilesPerTrigger=1)

    def frames_batch(self, spark, checkpoint, batch_id):
        from datashark.frames.events import batch_files_frame

        return batch_files_frame(spark, self.usecase, checkpoint, batch_id)

    def frames_delivered(self, offsets: str) -> None:
        registered = feed(self.feed_id)
        if registered is not None and registered.frames is not None:
            registered.frames.delivered += 1

    def close(self) -> None:
        registered = feed(self.feed_id)
        if registered is not None and registered.frames is not None:
            shutil.rmtree(registered.frames.folder.parent, ignore_errors=True)
        unregister(self.feed_id)


def _every_batch_has_a_job(_batch_time, _tick) -> None:
    """The tick's output (see the module's docstring): runs on the driver, reads nothing."""


def _batch_rdd(feed_id: str, batch_time, tick):
    registered = feed(feed_id)
    if registered is None:
        raise RuntimeError(f"test feed {feed_id} is not registered in this driver")
    lines = registered.lines(batch_time)
    return tick.context.parallelize(lines, 2 if len(lines) > 1 else 1)


class FrameFeed:
    """A streaming case of a DataFrame use case: its batches as files of a folder that Spark's
    file source reads one per batch, and the end of the case.

    Structured Streaming closes an event-time window only once a later event moved the
    watermark past it, and never at a stop. So once every batch was delivered, a use case whose
    query keeps a watermark gets one more file: a copy of the case's last event dated in the
    far future (``flush_event``), which closes every window of the case and whose own window
    never closes. The case is done when the batch after it (Spark runs one without data when the
    watermark moves) was delivered, and every query of the run has read all its files.
    """

    FAR_FUTURE_SECONDS = 32503680000  # 3000-01-01T00:00:00Z

    def __init__(
        self, folder: Path, batches: list[list[str]], time_fields: tuple[str, ...], suffix: str
    ) -> None:
        self.folder = folder
        self.batches = batches
        self.time_fields = time_fields
        self.suffix = suffix
        self.delivered = 0
        self.flushed = False
        folder.mkdir(parents=True, exist_ok=True)
        for index, lines in enumerate(batches):
            self._write(index, lines)

    def _write(self, index: int, lines: list[str]) -> None:
        hidden = self.folder / f".{index:05d}{self.suffix}.tmp"  # Spark skips names starting with "."
        hidden.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        hidden.rename(self.folder / f"{index:05d}{self.suffix}")

    def done(self, queries: list) -> bool:
        """Whether the case is over; writes the flush file when it is time (see the class)."""
        if self.delivered < len(self.batches) or not all(_idle(query) for query in queries):
            return False
        if not self.flushed and any(_has_watermark(query) for query in queries):
            event = flush_event([line for batch in self.batches for line in batch], self.time_fields)
            if event is not None:
                self.flushed = True
                self._write(len(self.batches), [event])
                return False
        return not self.flushed or self.delivered >= len(self.batches) + 2


def _idle(query) -> bool:
    status = query.status
    return not status.get("isDataAvailable") and not status.get("isTriggerActive")


def _has_watermark(query) -> bool:
    progress = query.lastProgress or {}
    return "watermark" in (progress.get("eventTime") or {})


def flush_event(lines: list[str], time_fields: tuple[str, ...]) -> str | None:
    """The last JSON event of ``lines`` with its time in the year 3000 (in the form it had:
    epoch seconds, milliseconds or ISO 8601 text); None when no event has a time field."""
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        for name in time_fields:
            value = event.get(name)
            if isinstance(value, bool) or value is None:
                continue
            if isinstance(value, (int, float)):
                far = FrameFeed.FAR_FUTURE_SECONDS
                event[name] = far * 1000 if value > 1e11 else far
            else:
                event[name] = "3000-01-01T00:00:00Z"
            return json.dumps(event)
    return None
