"""The telemetry detections as a SOC deploys them: Zeek and Winlogbeat ship to Kafka, and
``./start.sh`` runs dns-analytics, beaconing and sysmon-hunt on the streams, as the zat notebook
streams Zeek's logs through Kafka into Spark.

Zeek's Kafka writer sends every log to one topic, each record tagged with its log's name
(``Kafka::tag_json = T``: ``{"dns": {...}}``): dns-analytics and beaconing read that topic as the
global stream and keep their own log's records. Winlogbeat sends Windows events to a topic of
their own, which sysmon-hunt reads through ``input = kafka``. The events are those of one
positive test case per detection, whose expected findings must come out of the stream; a record
two days later at the end of each stream moves its event time past the case's windows, as the
traffic that follows does on a live network.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from datashark.testing.cases import Case
from tests.integration.conftest import run_script
from tests.support.detection_copies import case, datashark_home, findings, streaming_copy
from tests.support.kafka_helpers import group_of, new_topic, produce
from tests.support.servers.kafka import KafkaBroker

pytestmark = pytest.mark.spark

LATER = timedelta(days=2)  # past any window of the detections (beaconing's are a day long)
ZEEK_CASES = {
    "dns-analytics": ("dns", "conf/dns-analytics/tests/dns-analytics/dga.yml"),
    "beaconing": ("conn", "conf/beaconing/tests/json-beacon.yml"),
}
WINDOWS_CASES = ("conf/sysmon-hunt/tests/remote-execution-join.yml",)


def later_copy(event: dict, time_field: str) -> dict:
    """The last event again, ``LATER`` afterwards: no finding of its own, it closes the windows."""
    copy = dict(event)
    if time_field == "ts":
        copy["ts"] = float(copy["ts"]) + LATER.total_seconds()
    else:
        when = datetime.fromisoformat(copy[time_field].replace("Z", "+00:00")) + LATER
        copy[time_field] = when.isoformat().replace("+00:00", "Z")
    return copy


def zeek_messages() -> list[str]:
    """The Zeek cases' records as Zeek's Kafka writer tags them, interleaved on one topic."""
    messages = []
    for path, case_file in ZEEK_CASES.values():
        records = [json.loads(line) for line in case(case_file).events]
        records.append(later_copy(records[-1], "ts"))
        messages.extend(json.dumps({path: record}) for record in records)
    return messages


def windows_messages() -> list[str]:
    messages = []
    for case_file in WINDOWS_CASES:
        events = [json.loads(line) for line in case(case_file).events]
        events.append(later_copy(events[-1], "@timestamp"))
        messages.extend(json.dumps(event) for event in events)
    return messages


def assert_expected(found: dict[str, dict], expected: Case) -> None:
    assert set(found) == {finding.key for finding in expected.expect}, found
    for finding in expected.expect:
        score = found[finding.key]["score"]
        if finding.score is not None:
            assert score == pytest.approx(finding.score), finding.key
        if finding.score_min is not None:
            assert score >= finding.score_min, finding.key
        if finding.score_max is not None:
            assert score <= finding.score_max, finding.key
        if "signals" in finding.metadata:
            assert found[finding.key]["signals"] == finding.metadata["signals"]


def test_start_sh_finds_the_zeek_and_sysmon_attacks_streamed_through_kafka(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    zeek_topic = new_topic(kafka.bootstrap_servers, partitions=2, prefix="zeek")
    windows_topic = new_topic(kafka.bootstrap_servers, partitions=2, prefix="winlogbeat")
    produce(kafka.bootstrap_servers, zeek_topic, zeek_messages())
    produce(kafka.bootstrap_servers, windows_topic, windows_messages())

    home = datashark_home(
        tmp_path,
        f"kafka.bootstrap.servers = {kafka.bootstrap_servers}\nkafka.topics = {zeek_topic}\n"
        f"kafka.group.id = {group_of(zeek_topic)}\nkafka.starting.offsets = earliest\n",
    )
    for detection in ZEEK_CASES:
        streaming_copy(home, detection)
    sysmon_input = {"topics": windows_topic, "starting.offsets": "earliest", "group.id": f"g-{windows_topic}"}
    streaming_copy(home, "sysmon-hunt", {"in_kafka": sysmon_input})

    result = run_script("start.sh", "--timeout", "45", cwd=tmp_path, env={"DATASHARK_HOME": str(home)})
    assert result.returncode == 0, result.stderr[-3000:]

    for detection, (_, case_file) in ZEEK_CASES.items():
        assert_expected(findings(home / f"{detection}.csv"), case(case_file))
    for case_file in WINDOWS_CASES:
        assert_expected(findings(home / "sysmon-hunt.csv"), case(case_file))
    assert "dead letter" not in result.stdout.lower(), result.stdout[-3000:]
