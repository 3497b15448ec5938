"""Acknowledging a stream's batches: what a restart may skip, once every reader delivered it.

A streaming input that can read again (Kafka's offsets, Elasticsearch's time cursor) records,
for each batch it cuts, where it will stand after it; ``CommitTracker`` says when that position
is safe to store: once every use case reading the stream delivered the batch (or a later one,
which covers it), and never again after any delivery failed. At-least-once, in order.

Pure logic: the inputs store the positions (Kafka commits, a state file).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any, Generic, TypeVar

Position = TypeVar("Position")


def epoch_ms(batch_time: datetime) -> int:
    """Spark's batch time as PySpark hands it (naive local time) in ms since the epoch."""
    return round(batch_time.timestamp() * 1000)


def batch_time_of(ms: int) -> datetime:
    """The inverse of ``epoch_ms``, the way PySpark turns Spark's batch times into datetimes."""
    return datetime.fromtimestamp(ms / 1000.0)


class CommitTracker(Generic[Position]):
    """Which batch's end positions are safe to commit, given who delivered what.

    ``consumers`` are the use cases reading the stream; each reports when Spark generated its
    output of a batch (so that output will run) and when that output is done. A delivery covers
    its batch and the ones before it (a windowed use case outputs only every slide). Spark may run
    several batches' outputs at once (concurrentJobs), so a batch is safe only when no generated
    delivery of it or of an earlier one is still outstanding.
    """

    def __init__(self) -> None:
        self.consumers: set[str] = set()
        self.pending: dict[Any, Position] = {}
        self.delivered_up_to: dict[str, Any] = {}
        self.outstanding: dict[tuple[str, Any], int] = {}
        self.failed: str | None = None
        self.lock = threading.Lock()

    def add_consumer(self, name: str) -> None:
        self.consumers.add(name)

    def add_batch(self, batch_time: Any, positions_after: Position) -> None:
        """Record where the stream stands once ``batch_time`` is processed."""
        with self.lock:
            if self.consumers:  # nobody will acknowledge batches of a debug run
                self.pending[batch_time] = positions_after

    def in_flight(self) -> list[tuple[Any, Position]]:
        """Every batch cut but not yet committed, oldest first, with the positions after it."""
        with self.lock:
            return sorted(self.pending.items())

    def expect(self, consumer: str, batch_time: Any) -> None:
        """``consumer``'s output of ``batch_time`` was generated. Spark generates every output
        of a batch before it runs any job of the next one, so no later delivery can be committed
        past this one before it reports."""
        with self.lock:
            self.outstanding[consumer, batch_time] = self.outstanding.get((consumer, batch_time), 0) + 1

    def delivered(self, consumer: str, batch_time: Any) -> Position | None:
        """Note a delivery; returns the positions to commit now, if any became safe.

        The caller commits them before calling again (it holds its own lock), so commits stay
        in order.
        """
        with self.lock:
            self._finished(consumer, batch_time)
            if self.failed is not None or consumer not in self.consumers:
                return None
            previous = self.delivered_up_to.get(consumer)
            self.delivered_up_to[consumer] = batch_time if previous is None else max(previous, batch_time)
            if set(self.delivered_up_to) != self.consumers:
                return None
            covered = min(self.delivered_up_to.values())
            safe = [time for time in self.pending if time <= covered and not self._outstanding_until(time)]
            if not safe:
                return None
            positions = self.pending[max(safe)]
            for time in safe:
                del self.pending[time]
            return positions

    def fail(self, consumer: str, batch_time: Any) -> None:
        """A delivery failed: nothing more is committed by this run, so a restart replays it."""
        with self.lock:
            self._finished(consumer, batch_time)
            self.failed = self.failed or consumer

    def _finished(self, consumer: str, batch_time: Any) -> None:
        key = (consumer, batch_time)
        if self.outstanding.get(key, 0) > 1:
            self.outstanding[key] -= 1
        else:
            self.outstanding.pop(key, None)

    def _outstanding_until(self, batch_time: Any) -> bool:
        return any(time <= batch_time for _, time in self.outstanding)
