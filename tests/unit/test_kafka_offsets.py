"""Offset bookkeeping: cutting batches and deciding when a batch's offsets may be committed."""

from __future__ import annotations

import pytest

from datashark.kafka.offsets import OffsetRange, Partition, cut_ranges, starting_position
from datashark.run.acknowledgements import CommitTracker

A0, A1 = Partition("a", 0), Partition("a", 1)


def test_ranges_are_capped_per_partition_and_empty_ones_skipped():
    ranges = cut_ranges({A0: 10, A1: 5}, {A0: 100, A1: 5}, cap=30)
    assert ranges == [OffsetRange("a", 0, 10, 40)]


def test_a_partition_missing_from_the_end_offsets_gets_no_range():
    assert cut_ranges({A0: 3}, {}, cap=10) == []


@pytest.mark.parametrize(
    ("committed", "reset", "expected"),
    [
        (None, "earliest", (10, None)),
        (None, "latest", (50, None)),
        (30, "latest", (30, None)),
        (50, "earliest", (50, None)),
    ],
)
def test_starting_position(committed, reset, expected):
    assert starting_position(committed, beginning=10, end=50, reset=reset) == expected


def test_a_committed_offset_deleted_by_retention_restarts_at_the_beginning_with_a_warning():
    position, warning = starting_position(3, beginning=10, end=50, reset="latest")
    assert position == 10
    assert "deleted by retention" in warning


def test_a_committed_offset_past_the_end_uses_the_reset_with_a_warning():
    position, warning = starting_position(90, beginning=0, end=50, reset="earliest")
    assert position == 0
    assert "re-created" in warning


def tracker(*consumers: str) -> CommitTracker:
    result = CommitTracker()
    for name in consumers:
        result.add_consumer(name)
    return result


def deliver(t: CommitTracker, consumer: str, batch: int):
    t.expect(consumer, batch)
    return t.delivered(consumer, batch)


def test_commit_waits_for_every_consumer():
    t = tracker("x", "y")
    t.add_batch(1, {A0: 10})
    assert deliver(t, "x", 1) is None
    assert deliver(t, "y", 1) == {A0: 10}
    assert deliver(t, "y", 1) is None, "a batch is committed once"


def test_a_windowed_consumer_delivering_later_covers_the_batches_before():
    t = tracker("every", "window")
    for batch in (1, 2, 3):
        t.add_batch(batch, {A0: batch * 10})
        deliver(t, "every", batch)
    assert deliver(t, "window", 3) == {A0: 30}
    assert t.pending == {}


def test_nothing_is_committed_after_a_failure():
    t = tracker("x")
    t.add_batch(1, {A0: 10})
    t.add_batch(2, {A0: 20})
    t.expect("x", 1)
    t.fail("x", 1)
    assert deliver(t, "x", 2) is None


def test_a_later_batch_finishing_first_waits_for_the_earlier_one_in_flight():
    t = tracker("x", "y")
    t.add_batch(1, {A0: 10})
    t.add_batch(2, {A0: 20})
    assert deliver(t, "y", 1) is None
    t.expect("x", 1)  # generated, still running (concurrent jobs)
    assert deliver(t, "y", 2) is None
    assert deliver(t, "x", 2) is None, "batch 1 of x is still running"
    assert t.delivered("x", 1) == {A0: 20}


def test_without_consumers_nothing_is_committed_or_kept():
    t = tracker()
    t.add_batch(1, {A0: 10})
    assert deliver(t, "debug", 1) is None
    assert t.pending == {}
