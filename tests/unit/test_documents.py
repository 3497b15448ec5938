"""The document shape shared by the Elasticsearch, syslog and Parquet outputs."""

from __future__ import annotations

from datetime import datetime, timezone

from datashark.events.deadletter import DeadLetters
from datashark.plugin_api import OutputBatch
from datashark.sinks.documents import document

UTC = "2026-11-23T10:00:00Z"


def test_fields_in_order_then_metadata():
    doc = document(("10.0.0.1", 3.5, {"country": "NL"}), UTC, "Web", "ip", "anomaly")
    assert list(doc.items()) == [
        ("@timestamp", UTC),
        ("title", "Web"),
        ("ip", "10.0.0.1"),
        ("anomaly", 3.5),
        ("country", "NL"),
    ]


def test_metadata_cannot_overwrite_the_fixed_fields():
    row = ("k", 1, {"@timestamp": "x", "title": "x", "key": "x", "score": "high", "other": 1})
    assert document(row, UTC, "T", "key", "score") == {
        "@timestamp": UTC,
        "title": "T",
        "key": "k",
        "score": 1,
        "other": 1,
    }


def test_two_tuples_and_none_metadata():
    assert document(("k", 2), UTC, "T", "key", "score") == document(("k", 2, None), UTC, "T", "key", "score")


def test_batch_time_in_utc():
    local = datetime(2026, 11, 23, 12, 30, 5, tzinfo=timezone.utc).astimezone().replace(tzinfo=None)
    batch = OutputBatch(local, DeadLetters.__new__(DeadLetters))
    assert batch.utc_iso == "2026-11-23T12:30:05Z"
    assert batch.timestamp == local.strftime("%Y-%m-%d %H:%M:%S")
