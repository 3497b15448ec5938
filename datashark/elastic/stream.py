"""A stream of the documents indexed into Elasticsearch: each batch reads the next interval of
``time_field`` (``datashark.elastic.cursor`` says how intervals are cut and remembered).

At each batch the driver cuts the interval, writes it ahead into the state file, counts it and,
when it holds documents, opens a point in time over it: the executors read its slices as a
batch read does (``datashark.elastic.search``). The interval becomes the stream's position once
every use case reading it delivered the batch; the point in time is closed then. With
checkpointing on, Spark pickles the functions given to ``transform``, so they hold only the
stream's id and reach its state (connection, cursor) through this module's registry.
"""

from __future__ import annotations

import itertools
import threading
import time
from datetime import datetime
from typing import Any

import orjson

from datashark import console
from datashark.elastic.cursor import InFlight, Pacing, between, capped_upper, document, stored_cursor
from datashark.elastic.search import Search, close_point_in_time, open_point_in_time
from datashark.errors import ConfigError
from datashark.files.state_file import StateFile
from datashark.run.acknowledgements import CommitTracker, batch_time_of, epoch_ms
from datashark.run.batch_source import batch_source, cut_batch

STATE_NAME = "in_elasticsearch-cursor.json"
# Driver-side: the streams of this process by id; an input's close() unregisters its own.
_STREAMS: dict[str, DocumentStream] = {}
_IDS = itertools.count()


class DocumentStream:
    """The driver-side state of one stream: its position, its batches in flight, their PITs."""

    def __init__(
        self, stream_id: str, search: Search, time_field: str, state: StateFile, pacing: Pacing
    ) -> None:
        self.id = stream_id
        self.search = search
        self.time_field = time_field
        self.state = state
        self.pacing = pacing
        # What the position is a position in: another index, query or field starts afresh.
        self.source = (
            f"{search.index} {time_field} {orjson.dumps(search.query, option=orjson.OPT_SORT_KEYS).decode()}"
        )
        self.lock = threading.Lock()
        self.tracker: CommitTracker[int] = CommitTracker()
        self.first_times: dict[Any, datetime] = {}  # Spark's time of a replayed batch -> its first
        self.pits: dict[Any, str] = {}  # batch time -> the PIT its documents are read from
        self.draining = False  # stopping: cut no more intervals
        self.broken: Exception | None = None
        stored = self._stored()
        self.saved = stored is not None
        self.acknowledged, self.replays = stored if stored is not None else (pacing.start, [])
        self.position = self.acknowledged
        if self.replays:
            first = batch_time_of(self.replays[0][0]).strftime("%Y-%m-%d %H:%M:%S")
            console.info(
                f"Elasticsearch {search.index}: replaying the {len(self.replays)} batch(es) the last run "
                f"had in flight, as first cut (from {first})"
            )

    def _stored(self) -> tuple[int, InFlight] | None:
        try:
            stored = self.state.load()
        except ValueError:
            raise ConfigError(
                f"{self.state}: unreadable in_elasticsearch state: delete it to start afresh"
            ) from None
        if stored is None:
            return None
        try:
            cursor = stored_cursor(stored, self.source, str(self.state))
        except ValueError as err:
            raise ConfigError(str(err)) from None
        if cursor is None:
            console.to_stderr(
                f"[!] {self.state}: records another index, query or time field: starting afresh"
            )
        return cursor

    def next_interval(self, batch_time: Any, now_ms: int) -> tuple[int, int]:
        """The interval this batch reads, written ahead into the state file."""
        replay = None
        with self.lock:
            if self.replays and not self.draining:
                replay = self.replays.pop(0)
                self.first_times[batch_time] = batch_time_of(replay[0])
            lower = self.position
        if replay is not None:
            upper = replay[1]
        elif self.draining:  # the stream is stopping: what is not cut yet is read at the next start
            upper = lower
        else:
            upper = max(lower, now_ms - self.pacing.delay)
            upper = capped_upper(lower, upper, self._count, self.pacing.max_documents)
        with self.lock:
            self.position = upper
            self.tracker.add_batch(batch_time, upper)
            self._save()
        return lower, upper

    def read(self, batch_time: Any, lower: int, upper: int) -> tuple[Search, str] | None:
        """The search of the interval and the PIT its slices read; None when it holds nothing."""
        if upper <= lower or not self._count(lower, upper):
            return None
        search = self._between(lower, upper)
        pit = open_point_in_time(search)
        with self.lock:
            self.pits[batch_time] = pit
        return search, pit

    def _between(self, lower: int, upper: int) -> Search:
        return self.search.narrowed(between(self.time_field, lower, upper))

    def _count(self, lower: int, upper: int) -> int:
        return self._between(lower, upper).count()

    def batch_time(self, batch_time: Any) -> Any:
        """The time outputs see: a replayed batch keeps the time it was first cut at."""
        return self.first_times.get(batch_time, batch_time)

    def track(self, consumer: str) -> None:
        """``consumer`` delivers this stream's batches; a first start records where it starts,
        so that a restart before any delivery does not move ``from = now`` on."""
        with self.lock:
            self.tracker.add_consumer(consumer)
            if not self.saved:
                self._save()

    def delivered(self, consumer: str, batch_time: Any) -> None:
        with self.lock:
            upper = self.tracker.delivered(consumer, batch_time)
            if upper is not None:
                self.acknowledged = upper
                self._save()
            done = [time for time in self.pits if time <= batch_time]
            pits = [self.pits.pop(time) for time in done] if upper is not None else []
        for pit in pits:
            close_point_in_time(self.search, pit)

    def failed(self, consumer: str, batch_time: Any) -> None:
        with self.lock:
            self.tracker.fail(consumer, batch_time)

    def _save(self) -> None:
        """The delivered position and the batches in flight; nothing in a debug run (no consumers).
        The caller holds ``lock``."""
        if not self.tracker.consumers:
            return
        in_flight: InFlight = []
        previous = self.acknowledged
        batches = [(epoch_ms(self.batch_time(t)), upper) for t, upper in self.tracker.in_flight()]
        for ms, upper in batches + self.replays:
            if upper > previous:  # a batch that reads nothing needs no replay
                in_flight.append((ms, upper))
                previous = upper
        self.state.save(document(self.source, self.acknowledged, in_flight))
        self.saved = True

    def close(self) -> None:
        with self.lock:
            pits, self.pits = list(self.pits.values()), {}
        for pit in pits:
            close_point_in_time(self.search, pit)


def register(
    search: Search, time_field: str, state: StateFile, pacing: Pacing, usecase_name: str
) -> DocumentStream:
    stream_id = f"{next(_IDS)}:{usecase_name}"
    _STREAMS[stream_id] = DocumentStream(stream_id, search, time_field, state, pacing)
    return _STREAMS[stream_id]


def stream_of(stream_id: str) -> DocumentStream | None:
    """The registered stream. Closures call this instead of reading ``_STREAMS``: cloudpickle
    copies the globals a closure reads into the checkpoint, but pickles a module's function by name."""
    return _STREAMS.get(stream_id)


def unregister(stream_id: str) -> None:
    stream = _STREAMS.pop(stream_id, None)
    if stream is not None:
        stream.close()


def dstream(ssc, document_stream: DocumentStream):
    """A DStream of the JSON text of the documents of each batch's interval."""
    stream_id = document_stream.id

    def batch(batch_time, tick):
        return _batch_rdd(stream_id, batch_time, tick)

    return batch_source(ssc, batch)


def _batch_rdd(stream_id: str, batch_time, tick):
    sc = tick.context
    stream = stream_of(stream_id)
    if stream is None:
        raise RuntimeError(f"Elasticsearch stream {stream_id} is not registered in this driver")

    def cut() -> tuple[Search, str] | None:
        lower, upper = stream.next_interval(batch_time, round(time.time() * 1000))
        return stream.read(batch_time, lower, upper)

    reading = cut_batch(stream, batch_time, cut)
    if reading is None:
        return sc.parallelize([], 1)
    search, pit = reading
    return search.documents(sc, pit)
