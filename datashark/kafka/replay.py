"""The cut of the batches in flight, written ahead with the group's offsets.

At-least-once means a restart reads again what the killed run cut but never acknowledged. If
the restart cut those messages anew, at its own batch times, the replayed rows would carry new
times, and Elasticsearch's ``_id`` (which hashes the batch time) could not recognise them. So
before a batch runs, the driver stores where each in-flight batch ends, with its time, in the
commit metadata of every partition; a restart replays exactly those batches under their first
times, and the rows come out identical: Elasticsearch overwrites them, a CSV shows them twice
with the same timestamp.

Pure logic: the driver's client carries the strings.
"""

from __future__ import annotations

import json

from datashark.kafka.offsets import Partition
from datashark.run.acknowledgements import batch_time_of, epoch_ms

__all__ = ["batch_time_of", "commit_entries", "epoch_ms", "read_plan", "replay_batches"]

FORMAT = "datashark-in-flight-1"
MAX_BATCHES = 64  # ~2 KB per partition: Kafka keeps at most 4 KB of metadata by default

Plan = list[tuple[int, int]]  # (batch time in ms since the epoch, end offset), oldest first


def metadata(part: Partition, committed: int, in_flight: list[tuple[int, dict[Partition, int]]]) -> str:
    """The metadata string of ``part``: its end in each batch in flight that reads it.

    ``in_flight`` is (time, positions after the batch) for every batch cut after the committed
    one, oldest first. A batch that reads nothing of the partition adds nothing. Only the oldest
    ``MAX_BATCHES`` are kept: a restart replays those and cuts the rest anew.
    """
    plan: Plan = []
    previous = committed
    for ms, positions in in_flight[:MAX_BATCHES]:
        end = positions.get(part, previous)
        if end > previous:
            plan.append((ms, end))
            previous = end
    if not plan:
        return ""
    return json.dumps({"format": FORMAT, "batches": plan}, separators=(",", ":"))


def commit_entries(
    acknowledged: dict[Partition, int],
    in_flight: list[tuple[int, dict[Partition, int]]],
    queued: list[tuple[int, dict[Partition, int]]],
) -> dict[Partition, tuple[int, str]]:
    """(offset, metadata) to commit for each partition: the acknowledged position, with the cut
    of the batches in flight and of the replays not cut yet (a second crash replays them too)."""
    batches = in_flight + queued
    return {part: (offset, metadata(part, offset, batches)) for part, offset in acknowledged.items()}


def read_plan(text: str | None, start: int, end: int) -> tuple[Plan, str | None]:
    """The plan stored in ``text`` for a partition read from ``start`` (the committed offset)
    and ending at ``end``, and why it was dropped when it cannot be replayed.

    Metadata dataShark did not write (another tool's, or none) is no plan and no problem.
    """
    try:
        stored = json.loads(text) if text else None
    except ValueError:
        return [], None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        return [], None
    try:
        plan = [(int(ms), int(offset)) for ms, offset in stored["batches"]]
    except (KeyError, TypeError, ValueError):
        return [], "the record of the batches in flight at the last stop is unreadable: they are cut anew"
    ends = [offset for _, offset in plan]
    if ends and (ends != sorted(ends) or ends[0] <= start or ends[-1] > end):
        return [], "the batches in flight at the last stop no longer fit its offsets: they are cut anew"
    return plan, None


def replay_batches(plans: dict[Partition, Plan]) -> list[tuple[int, dict[Partition, int]]]:
    """The batches to run first, oldest first: each one's time and the ends of what it reads."""
    batches: dict[int, dict[Partition, int]] = {}
    for part, plan in plans.items():
        for ms, end in plan:
            batches.setdefault(ms, {})[part] = end
    return sorted(batches.items())
