"""The direct stream: at each batch the driver cuts offset ranges and executors read them.

PySpark gives Python code a per-batch hook on the driver through ``transform`` of a "tick"
stream (a queue stream that yields one dummy RDD per batch). With checkpointing on, Spark
pickles the functions given to ``transform`` at every batch, so they hold only a source id and
reach the driver-side state (clients, positions, commits) through this module's registry.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import Any

from datashark import console
from datashark.errors import ConfigError
from datashark.kafka.client import OffsetClient
from datashark.kafka.config import KafkaConfig
from datashark.kafka.offsets import Partition, cut_ranges, starting_position
from datashark.kafka.reader import RangeReader, client_name
from datashark.kafka.replay import batch_time_of, commit_entries, epoch_ms, read_plan, replay_batches
from datashark.run.acknowledgements import CommitTracker
from datashark.run.batch_source import batch_source, cut_batch

# Driver-side: the direct streams of this process by source id; an input's close() unregisters its own.
_SOURCES: dict[str, KafkaSource] = {}
_REGISTRY_LOCK = threading.Lock()


class KafkaSource:
    """The driver-side state of one direct stream: where it stands and what is safe to commit."""

    def __init__(self, source_id: str, config: KafkaConfig) -> None:
        self.id = source_id
        self.config = config
        self.client: OffsetClient | None = None
        self.positions: dict[Partition, int] = {}
        self.tracker: CommitTracker[dict[Partition, int]] = CommitTracker()
        self.commit_lock = threading.Lock()
        self.broken: Exception | None = None
        self.acknowledged: dict[Partition, int] = {}  # where a restart resumes
        self.last_commit: dict[Partition, tuple[int, str]] = {}
        self.replays: list[tuple[int, dict[Partition, int]]] = []
        self.first_times: dict[Any, datetime] = {}  # Spark's time of a replayed batch -> its first
        self.draining = False  # stopping: cut no more ranges

    def next_ranges(self, batch_time: Any) -> list:
        """This batch's ranges; its cut is written ahead, and the positions after it recorded
        for committing once it is delivered."""
        if self.draining:  # the stream is stopping: what is not cut yet is read at the next start
            with self.commit_lock:
                self.tracker.add_batch(batch_time, dict(self.positions))
            return []
        partitions = self.connected().partitions()
        new = [part for part in partitions if part not in self.positions]
        if new:
            self._start(new)
        with self.commit_lock:  # a commit never sees a replay taken but not yet in flight
            if self.replays:
                first_ms, ends = self.replays.pop(0)
                self.first_times[batch_time] = batch_time_of(first_ms)
                ranges = cut_ranges(self.positions, ends, sys.maxsize)
            else:
                ends = self.connected().ends(partitions)
                ranges = cut_ranges(self.positions, ends, self.config.max_records_per_partition)
            for offset_range in ranges:
                self.positions[Partition(offset_range.topic, offset_range.partition)] = offset_range.end
            self.tracker.add_batch(batch_time, dict(self.positions))
            self._commit()
        return ranges

    def connected(self) -> OffsetClient:
        """The driver's Kafka client, connected on first use (and again after ``close``)."""
        if self.client is None:
            self.client = OffsetClient(self.config)
        return self.client

    def batch_time(self, batch_time: Any) -> Any:
        """The time outputs see: a replayed batch keeps the time it was first cut at."""
        return self.first_times.get(batch_time, batch_time)

    def _start(self, partitions: list[Partition]) -> None:
        """Positions of partitions seen for the first time: the group's offsets, else the reset.

        Partitions appearing after the first batch are new: read from their beginning. The
        starting positions are committed at once, so a restart before any event arrived does
        not jump to a later "latest". At the first start, the batches the last run had in
        flight are queued to be replayed as they were cut.
        """
        first = not self.positions
        reset = self.config.starting_offsets if first else "earliest"
        stored = self.connected().committed(partitions)
        beginnings, ends = self.connected().bounds(partitions)
        plans = {}
        for part in partitions:
            committed, stored_metadata = stored[part]
            position, warning = starting_position(committed, beginnings[part], ends[part], reset)
            if first and position == committed:
                plans[part], warning = read_plan(stored_metadata, position, ends[part])
            if warning:
                self._warn(part, warning)
            self.positions[part] = self.acknowledged[part] = position
        self.replays = replay_batches(plans) if first else self.replays
        if self.replays:
            first_cut = batch_time_of(self.replays[0][0]).strftime("%Y-%m-%d %H:%M:%S")
            console.info(
                f"Kafka {self.config.describe()}: replaying the {len(self.replays)} batch(es) the last run "
                f"had in flight, as first cut (from {first_cut})"
            )

    def _warn(self, part: Partition, warning: str) -> None:
        console.to_stderr(f"[!] Kafka {part.topic}[{part.partition}] group {self.config.group_id}: {warning}")

    def _commit(self) -> None:
        """Commit the acknowledged positions with the cut of the batches in flight after them.

        The caller holds ``commit_lock``, so commits stay in order. Debug runs (no consumers)
        commit nothing; a partition whose offset and metadata did not change is not sent again.
        """
        if not self.tracker.consumers:
            return
        in_flight = [(epoch_ms(self.batch_time(time)), after) for time, after in self.tracker.in_flight()]
        entries = commit_entries(self.acknowledged, in_flight, self.replays)
        changed = {part: entry for part, entry in entries.items() if self.last_commit.get(part) != entry}
        if changed:
            self.connected().commit(changed)
            self.last_commit.update(changed)

    def expect(self, consumer: str, batch_time: Any) -> None:
        self.tracker.expect(consumer, batch_time)

    def delivered(self, consumer: str, batch_time: Any) -> None:
        """Commit what every reader of the stream has now delivered."""
        with self.commit_lock:
            positions = self.tracker.delivered(consumer, batch_time)
            if positions:
                self.acknowledged.update(positions)
                self._commit()

    def failed(self, consumer: str, batch_time: Any) -> None:
        self.tracker.fail(consumer, batch_time)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def register(config: KafkaConfig) -> KafkaSource:
    """The source reading ``config``, created once; two configs may not share a group's topic."""
    source_id = f"{config.group_id}|{','.join(config.topics)}|{hash(config)}"
    with _REGISTRY_LOCK:
        for other in _SOURCES.values():
            shared = set(other.config.topics) & set(config.topics)
            if other.id != source_id and other.config.group_id == config.group_id and shared:
                raise ConfigError(
                    f"two Kafka inputs read topic {', '.join(sorted(shared))} in group {config.group_id} "
                    "with different settings: give one of them its own group.id"
                )
        source = _SOURCES.get(source_id)
        if source is None:
            source = _SOURCES[source_id] = KafkaSource(source_id, config)
        return source


def unregister(config: KafkaConfig) -> None:
    """Close the source reading ``config`` (end of a streaming run); a no-op if already closed."""
    with _REGISTRY_LOCK:
        for source_id, kafka_source in list(_SOURCES.items()):
            if kafka_source.config == config:
                kafka_source.close()
                del _SOURCES[source_id]


def dstream(ssc, kafka_source: KafkaSource):
    """A DStream of the source's message values (text; ``bytes`` for undecodable ones)."""
    source_id = kafka_source.id

    def batch(batch_time, tick):
        return _batch_rdd(source_id, batch_time, tick)

    return batch_source(ssc, batch)


def describe(config: KafkaConfig) -> str:
    return f"{config.describe()} ({client_name(config)})"


def _batch_rdd(source_id: str, batch_time, tick):
    kafka_source = _SOURCES[source_id]
    ranges = cut_batch(kafka_source, batch_time, lambda: kafka_source.next_ranges(batch_time))
    reader = RangeReader(kafka_source.config, kafka_source.connected().api_version)
    return tick.context.parallelize(ranges, max(1, len(ranges))).mapPartitions(reader)
