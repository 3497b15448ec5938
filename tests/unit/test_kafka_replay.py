"""The cut of in-flight batches written ahead in the commit metadata, and read back on restart."""

from __future__ import annotations

import json
from datetime import datetime

from datashark.kafka.offsets import Partition
from datashark.kafka.replay import (
    MAX_BATCHES,
    batch_time_of,
    commit_entries,
    epoch_ms,
    metadata,
    read_plan,
    replay_batches,
)

A0, A1 = Partition("a", 0), Partition("a", 1)


def test_batch_times_survive_the_round_trip_through_milliseconds():
    spark_time = datetime.fromtimestamp(1_795_000_000_000 / 1000.0)  # as PySpark makes them
    assert batch_time_of(epoch_ms(spark_time)) == spark_time


def test_each_partition_stores_its_end_in_the_batches_that_read_it():
    in_flight = [(1000, {A0: 15, A1: 7}), (2000, {A0: 15, A1: 9}), (3000, {A0: 20, A1: 9})]
    assert json.loads(metadata(A0, 10, in_flight))["batches"] == [[1000, 15], [3000, 20]]
    assert json.loads(metadata(A1, 7, in_flight))["batches"] == [[2000, 9]]


def test_nothing_in_flight_is_no_metadata():
    assert metadata(A0, 10, []) == ""
    assert metadata(A0, 10, [(1000, {A0: 10})]) == ""


def test_only_the_oldest_batches_are_kept_within_kafkas_metadata_limit():
    in_flight = [(1_795_000_000_000 + n * 1000, {A0: 10 + n}) for n in range(1, 200)]
    text = metadata(A0, 10, in_flight)
    assert len(json.loads(text)["batches"]) == MAX_BATCHES
    assert len(text) < 4096


def test_a_stored_plan_reads_back():
    text = metadata(A0, 10, [(1000, {A0: 15}), (2000, {A0: 20})])
    assert read_plan(text, start=10, end=25) == ([(1000, 15), (2000, 20)], None)


def test_metadata_of_other_tools_is_no_plan_and_no_warning():
    assert read_plan("", 10, 20) == ([], None)
    assert read_plan("written by a console consumer", 10, 20) == ([], None)
    assert read_plan('{"format": "other"}', 10, 20) == ([], None)


def test_a_plan_that_no_longer_fits_the_partition_is_dropped_with_a_reason():
    text = metadata(A0, 10, [(1000, {A0: 15}), (2000, {A0: 20})])
    plan, reason = read_plan(text, start=10, end=18)  # the topic was re-created, shorter
    assert plan == []
    assert "no longer fit" in reason
    plan, reason = read_plan(text, start=15, end=30)  # committed past the first batch
    assert plan == []
    assert "cut anew" in reason


def test_an_unreadable_plan_is_dropped_with_a_reason():
    plan, reason = read_plan('{"format": "datashark-in-flight-1", "batches": [[1]]}', 10, 20)
    assert plan == []
    assert "unreadable" in reason


def test_replayed_batches_are_the_union_of_the_partitions_plans_in_time_order():
    batches = replay_batches({A0: [(1000, 15), (3000, 20)], A1: [(2000, 9), (3000, 11)]})
    assert batches == [(1000, {A0: 15}), (2000, {A1: 9}), (3000, {A0: 20, A1: 11})]


def test_commit_entries_keep_the_replays_not_cut_yet_after_the_ones_in_flight():
    """A restart killed again mid-replay must replay the rest as first cut, not anew."""
    entries = commit_entries({A0: 10, A1: 5}, [(1000, {A0: 15, A1: 5})], [(2000, {A1: 9}), (3000, {A0: 20})])
    assert entries[A0][0] == 10
    assert entries[A1][0] == 5
    assert json.loads(entries[A0][1])["batches"] == [[1000, 15], [3000, 20]]
    assert json.loads(entries[A1][1])["batches"] == [[2000, 9]]
