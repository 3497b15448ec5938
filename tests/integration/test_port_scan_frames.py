"""port-scan-frames.py (api = dataframe) against port-scan.py (api = rdd) on Zeek conn.log records.

Both confs run through the engine's batch path (``run_batch``, an output that keeps the rows)
and must give the same findings, keys, scores and metadata: on the sample, and on made-up
traffic with tuning keys that make most windows findings (tie-breaks, IPv6, ignore rules). The
DataFrame load() then runs as a Structured Streaming query over the sample written as Zeek JSON
logs and must find the same.
"""

from __future__ import annotations

import json
import random
import time
from datetime import timezone
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.events.zeek import ZeekLogReader
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import batch_rows, memory_query, settings_for

pytestmark = [pytest.mark.spark]

FOLDER = REPO / "conf" / "port-scan"
RDD_CONF = FOLDER / "port-scan-zeek.conf"
FRAMES_CODE = FOLDER / "port-scan-frames.py"
FRAMES_CONF = FOLDER / "port-scan-zeek-frames.conf"
SAMPLE = FOLDER / "sample" / "conn.log"
# The sample's one finding (README.md, "What it found in the real samples").
SAMPLE_FINDING = ("192.168.33.10", 59.7)
# Tuning that makes findings of ordinary traffic too: ties, several windows, allowed probes.
EAGER = {"ports_threshold": "2", "hosts_threshold": "2", "accepted_weight": "1", "internal_bonus": "3"}
COLUMNS = (
    "ts STRING, `id.orig_h` STRING, `id.orig_p` INT, `id.resp_h` STRING, `id.resp_p` INT, "
    "proto STRING, conn_state STRING, orig_bytes BIGINT, resp_bytes BIGINT"
)
STREAM_CONF = """
name = Port Scan (Zeek JSON stream)
type = streaming
api = dataframe
code = {code}
input = file
output = csv
format = json
time_field = ts
schema = "{columns}"

[in_file]
folder_path = {folder}

[out_csv]
path = {folder}/../findings.csv
"""


def batch_findings(sc, tmp_path: Path, conf: Path, overrides: dict[str, str] | None = None) -> dict:
    """``{(key, window_start): (key, score, metadata)}`` of a batch run of ``conf``, its keys
    changed by ``overrides``."""
    found = {}
    for row in batch_rows(sc, tmp_path, conf, overrides):
        assert (row[0], window_start_of(row)) not in found, f"two findings of {row[0]} in one window"
        found[(row[0], window_start_of(row))] = row
    return found


def window_start_of(row: tuple) -> str:
    return row[2]["window_start"]


def assert_same_findings(rdd: dict, frames: dict) -> None:
    """The same findings: keys and windows, scores (to the 0.1 they are rounded to) and metadata
    (the DataFrame rows leave out the metadata that is None: ``top_host`` of an ICMP sweep)."""
    assert sorted(frames) == sorted(rdd)
    for window, (key, score, metadata) in rdd.items():
        frame_key, frame_score, frame_metadata = frames[window]
        assert frame_key == key
        assert frame_score == pytest.approx(score, abs=0.05), window
        assert frame_metadata == {name: value for name, value in metadata.items() if value is not None}, (
            window
        )


def test_the_sample_gives_the_same_finding(spark_context, tmp_path: Path) -> None:
    rdd = batch_findings(spark_context, tmp_path / "rdd", RDD_CONF)
    frames = batch_findings(spark_context, tmp_path / "frames", FRAMES_CONF)
    assert [(key, score) for key, score, _ in rdd.values()] == [SAMPLE_FINDING]
    assert_same_findings(rdd, frames)


def zeek_traffic(count: int = 4000, seed: int = 7) -> list[str]:
    """Zeek JSON conn.log lines of made-up traffic over 25 minutes: IPv4 and IPv6 sources and
    hosts (loopback too), TCP, UDP and ICMP, every conn_state, bytes set or unset, so that with
    ``EAGER`` tuning most sources' windows are findings and their tie-breaks are exercised."""
    rng = random.Random(seed)
    sources = [f"10.0.0.{n}" for n in range(1, 9)] + [f"198.51.100.{n}" for n in range(1, 7)]
    sources += ["2001:db8::5", "fe80::1", "127.0.0.1", "::1"]
    hosts = [f"192.0.2.{n}" for n in range(1, 40)] + ["2001:db8::a", "2001:db8::b", "10.0.0.1", "::1"]
    ports = [22, 23, 53, 80, 123, 443, 445, 3389, 8080, 16464, 40000]
    states = ["S0", "REJ", "SH", "RSTOS0", "SF", "S1", "S2", "S3", "RSTO", "RSTR", "OTH", "SHR", "RSTRH"]
    lines = []
    for number in range(count):
        proto = rng.choice(["tcp", "tcp", "udp", "icmp"])
        icmp = proto == "icmp"
        event = {
            "ts": round(1740996000 + rng.uniform(0, 1500), 3),
            "uid": f"C{number:06d}",
            "id.orig_h": rng.choice(sources),
            "id.orig_p": rng.choice([0, 3, 8, 11, 13, 128, 129, 139] if icmp else [53, 123, 1024, 50000]),
            "id.resp_h": rng.choice(hosts),
            "id.resp_p": 0 if icmp else rng.choice(ports),
            "proto": proto,
            "conn_state": rng.choice(states),
        }
        if rng.random() < 0.8:
            event.update(orig_bytes=rng.choice([0, 0, 120]), resp_bytes=rng.choice([0, 300]))
        lines.append(json.dumps(event))
    return lines


@pytest.mark.parametrize(
    "tuning",
    [
        EAGER,
        {
            **EAGER,
            "ignore_sources": "10.0.0.0/30, 2001:db8::/32",
            "ignore_loopback": "false",
            "skip_udp_replies": "no",
            "accepted_weight": "0.25",
            "internal_networks": "198.51.100.0/29, fe80::/10",
        },
    ],
    ids=["eager", "eager-ignoring"],
)
def test_made_up_traffic_gives_the_same_findings(spark_context, tmp_path: Path, tuning: dict) -> None:
    log = tmp_path / "conn.json.log"
    log.write_text("".join(f"{line}\n" for line in zeek_traffic()), encoding="utf-8")
    changed = {**tuning, "file": str(log)}
    rdd = batch_findings(spark_context, tmp_path / "rdd", RDD_CONF, changed)
    frames = batch_findings(spark_context, tmp_path / "frames", FRAMES_CONF, changed)
    assert len(rdd) >= 20
    assert {signal for _, _, metadata in rdd.values() for signal in metadata["signals"]} == {
        "vertical_scan",
        "horizontal_scan",
    }
    assert {metadata["internal_source"] for _, _, metadata in rdd.values()} == {True, False}
    assert_same_findings(rdd, frames)


def test_ignored_sources_are_ignored_by_both(spark_context, tmp_path: Path) -> None:
    ignored = {"ignore_sources": "192.168.33.0/24, 2001:db8::/32"}
    assert batch_findings(spark_context, tmp_path / "rdd", RDD_CONF, ignored) == {}
    assert batch_findings(spark_context, tmp_path / "frames", FRAMES_CONF, ignored) == {}


def zeek_json_lines(tsv: Path) -> list[str]:
    """A Zeek TSV log as the JSON lines Zeek writes with ``JSON::TS_ISO8601`` (unset fields left out)."""
    reader = ZeekLogReader()
    lines = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        event = reader.event(line)
        if event is None:
            continue
        event["ts"] = event["ts"].astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(json.dumps({name: value for name, value in event.items() if value is not None}))
    return lines


def test_a_stream_of_the_sample_gives_the_same_finding(spark_context, tmp_path: Path) -> None:
    from datashark.frames.events import spark_session
    from datashark.frames.findings import FindingRow, metadata_names
    from datashark.frames.streaming import streaming_findings

    folder = tmp_path / "zeek"
    conf = tmp_path / "stream.conf"
    conf.write_text(STREAM_CONF.format(code=FRAMES_CODE, columns=COLUMNS, folder=folder))
    settings = settings_for(tmp_path)
    prepared = prepare(settings, read_usecase(conf))
    findings = streaming_findings(spark_context, RunContext(settings), prepared)
    query = memory_query(findings, "port_scan_frames_stream", tmp_path / "query")
    try:
        lines = zeek_json_lines(SAMPLE)
        half = len(lines) // 2
        # Two files (two batches), then an event of the year 3000: the watermark passes every
        # window of the sample, whose findings the next batch delivers.
        late = {**json.loads(lines[-1]), "ts": "3000-01-01T00:00:00.000000Z"}
        for number, part in enumerate((lines[:half], lines[half:], [json.dumps(late)])):
            (folder / f"conn.{number}.log.json").write_text("".join(f"{line}\n" for line in part))
            query.processAllAvailable()
        rows = spark_session(spark_context).table("port_scan_frames_stream")
        deadline = time.monotonic() + 60
        while not rows.count() and time.monotonic() < deadline:
            time.sleep(0.5)
            query.processAllAvailable()
        to_finding = FindingRow(metadata_names(rows))
        streamed = {(row[0], row[2]["window_start"]): row for row in map(to_finding, rows.collect())}
    finally:
        query.stop()
    assert_same_findings(batch_findings(spark_context, tmp_path / "rdd", RDD_CONF), streamed)
