"""Offset bookkeeping of the direct stream: cutting batches, and deciding what may be committed.

Pure logic, no client: the driver asks Kafka for offsets and hands them here. When a batch's
offsets may be committed is ``datashark.run.acknowledgements.CommitTracker``'s to say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Partition(NamedTuple):
    topic: str
    partition: int


@dataclass(frozen=True)
class OffsetRange:
    """The messages ``[start, end)`` of one partition: one Spark partition of a batch."""

    topic: str
    partition: int
    start: int
    end: int

    @property
    def count(self) -> int:
        return self.end - self.start


def cut_ranges(positions: dict[Partition, int], ends: dict[Partition, int], cap: int) -> list[OffsetRange]:
    """One range per partition with new messages, at most ``cap`` messages long (back-pressure)."""
    ranges = []
    for part in sorted(positions):
        start = positions[part]
        end = min(ends.get(part, start), start + cap)
        if end > start:
            ranges.append(OffsetRange(part.topic, part.partition, start, end))
    return ranges


def starting_position(committed: int | None, beginning: int, end: int, reset: str) -> tuple[int, str | None]:
    """Where a partition is read from, and a warning when the group's offset cannot be used.

    ``reset`` (``earliest``/``latest``) applies to partitions the group never committed, and to
    committed offsets that no longer exist (deleted by retention, or a re-created topic).
    """
    fallback = beginning if reset == "earliest" else end
    if committed is None:
        return fallback, None
    if committed < beginning:
        return beginning, f"committed offset {committed} was deleted by retention; reading from {beginning}"
    if committed > end:
        return fallback, f"committed offset {committed} is past the end ({end}): was the topic re-created?"
    return committed, None
