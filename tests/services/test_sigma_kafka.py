"""``api = sigma`` on a Kafka topic: the shipped rules over the OTRF events, one message each.

The stream is given no schema (the rules' fields are its columns, ``sigma.columns``); once an
event of a later day moves the watermark past the samples' windows, the findings are those the
batch run over the same files makes, and the use case's progress reaches its consumer group.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tests.conftest import REPO
from tests.integration.test_sigma import SHIPPED_FINDINGS
from tests.support.kafka_helpers import (
    committed,
    end_offsets,
    new_topic,
    produce,
    reading_from_start,
    run_until,
)
from tests.support.servers.kafka import KafkaBroker

SAMPLES = REPO / "conf" / "sysmon-hunt" / "sample"
CONF = """
name = Sigma over Kafka
type = streaming
enabled = true
api = sigma
rules = {rules}
format = json
sigma.min_level = medium
output = csv

[out_csv]
path = {out}
header = true
fields = "rule, level, count"
"""
# A Sysmon event of a later day that no shipped rule matches: the watermark passes every window.
LATER = {
    "@timestamp": "2030-01-01T00:00:00.000Z",
    "EventID": 1,
    "Channel": "Microsoft-Windows-Sysmon/Operational",
    "Hostname": "LATER.example",
    "Image": "C:\\Windows\\System32\\notepad.exe",
}


def sample_events() -> list[str]:
    """Every OTRF event of the samples (JSON arrays and JSON lines) as one JSON text each."""
    events: list[str] = []
    for path in sorted(SAMPLES.glob("*.json")):
        text = path.read_text(encoding="utf-8").strip()
        items = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines()]
        events.extend(json.dumps(item) for item in items)
    return events


def findings_in(path: Path) -> set[tuple[str, str]]:
    if not path.exists():
        return set()
    with path.open(newline="", encoding="utf-8") as handle:
        return {(row["key"], row["rule"]) for row in csv.DictReader(handle)}


def test_the_shipped_rules_on_a_topic_find_what_the_batch_finds(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=2)
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, topic)
    out = tmp_path / "findings.csv"
    conf = tmp_path / "sigma.conf"
    conf.write_text(CONF.format(rules=REPO / "conf" / "sigma" / "rules", out=out))
    events = sample_events()
    assert len(events) > 400
    produce(kafka.bootstrap_servers, topic, events)
    produce(kafka.bootstrap_servers, topic, [json.dumps(LATER)])

    run_until(spark_context, settings, [conf], lambda: findings_in(out) >= SHIPPED_FINDINGS, timeout=240)

    assert findings_in(out) == SHIPPED_FINDINGS
    assert not (settings.deadletter_dir / "sigma-over-kafka").exists()
    group = f"g-{topic}-sigma-over-kafka"
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)
