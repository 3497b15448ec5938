"""Syslog acquisition: sustained messages/s from a local sender through rsyslog into Kafka, and on
into a use case, against the same rsyslog writing the same messages to a file (the ceiling).

Each run, ``datashark acquire`` (rsyslogd under the configuration it makes) listens on TCP and
two sender threads write ``--messages`` RFC 5424 sshd lines, octet-counted, as fast as the
socket takes them:

* **file**: ``output = files``, the records appended to the files folder; timed from the first
  byte sent to the last record on disk;
* **kafka**: ``output = kafka`` into a fresh 2-partition topic of the test broker; timed from the
  first byte to the last record acknowledged (the topic's end offsets);
* **use case**: a streaming use case on ``input = syslog`` (each event read as ``format =
  syslog``, counted per program, a no-op output) reads that topic from its start; timed from
  its first batch to its last commit, as bench/kafka_bench.py times the Kafka input.

    python bench/acquisition_bench.py [--messages 500000] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.kafka_bench import bench_home, pipeline_timing  # noqa: E402
from tests.support.acquisition import (  # noqa: E402
    Acquisition,
    files_conf,
    kafka_conf,
    listen_conf,
    octet_counted,
    ports,
)
from tests.support.kafka_helpers import end_offsets, new_topic  # noqa: E402
from tests.support.servers.kafka import running_broker  # noqa: E402

SENDERS = 2
CHUNK = 1 << 20
USECASE = """\
name = Syslog Counts
type = streaming
code = syslog_counts.py
input = syslog
format = syslog
output = noop
[in_syslog]
topics = {topic}
"""
COUNTS = """\
def load(streamingData):
    return streamingData.map(lambda event: (event["program"], 1)).reduceByKey(lambda a, b: a + b)
"""


def lines(count: int, sender: int) -> bytes:
    """``count`` distinct sshd lines (about 150 bytes each), octet-counted."""
    return octet_counted(
        f"<38>1 2026-12-05T10:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z "
        f"bastion-{sender} sshd {4000 + n % 5000} - - Failed password for invalid user u{n % 977} "
        f"from 203.0.113.{n % 250} port {1024 + n % 60000} ssh2"
        for n in range(count)
    )


def send(port: int, payloads: list[bytes]) -> float:
    """Every payload on its own connection, in parallel; when the first byte went."""
    import socket

    started = time.perf_counter()

    def one(payload: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port)) as connection:
            view = memoryview(payload)
            for offset in range(0, len(view), CHUNK):
                connection.sendall(view[offset : offset + CHUNK])

    threads = [threading.Thread(target=one, args=(payload,)) for payload in payloads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return started


def wait(done, what: str, timeout: float = 600) -> float:
    """Polls ``done()`` every 20 ms; when it first held."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)
    return time.perf_counter()


class LineCounter:
    """Counts the records appended to a growing file, reading only what is new."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.count = 0

    def __call__(self) -> int:
        if self.path.exists():
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
            self.offset += len(data)
            self.count += data.count(b"\n")
        return self.count


def file_rate(work: Path, payloads: list[bytes], total: int) -> float:
    (tcp,) = ports(1)
    folder = work / "files"
    acquisition = Acquisition(work / "acq-file", files_conf(work / "w-file", tcp, folder, 3600))
    acquisition.start(tcp)
    try:
        counter = LineCounter(folder / ".current.jsonl")
        started = send(tcp, payloads)
        ended = wait(lambda: counter() >= total, "the records on disk")
    finally:
        acquisition.stop()
    return total / (ended - started)


def kafka_rate(work: Path, servers: str, topic: str, payloads: list[bytes], total: int) -> float:
    (tcp,) = ports(1)
    acquisition = Acquisition(
        work / "acq-kafka", listen_conf(work / "w-kafka", tcp=tcp) + kafka_conf(servers, topic)
    )
    acquisition.start(tcp)
    try:
        started = send(tcp, payloads)
        ended = wait(lambda: sum(end_offsets(servers, topic).values()) >= total, "the records in Kafka")
    finally:
        acquisition.stop()
    return total / (ended - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    per_sender = args.messages // SENDERS
    total = per_sender * SENDERS
    payloads = [lines(per_sender, sender) for sender in range(SENDERS)]

    work = Path(tempfile.mkdtemp(prefix="acquisition-bench-"))
    rates: dict[str, list[float]] = {"file": [], "kafka": [], "use case": []}
    try:
        with running_broker(work / "broker") as broker:
            servers = broker.bootstrap_servers
            from datashark.config.settings import load_settings
            from datashark.run.spark import start_spark

            home = bench_home(work / "home", 2)
            (home / "conf" / "dns" / "syslog_counts.py").write_text(COUNTS)
            settings = dataclasses.replace(
                load_settings(home), deadletter_dir=work / "dl", checkpoint_dir=str(work / "ckpt")
            )
            sc = start_spark(settings, "local[2]", "acquisition-bench")
            try:
                for run in range(args.runs):
                    run_work = work / f"run-{run}"
                    rates["file"].append(file_rate(run_work, payloads, total))
                    topic = new_topic(servers, partitions=2, prefix="syslog")
                    rates["kafka"].append(kafka_rate(run_work, servers, topic, payloads, total))
                    (home / "conf" / "dns" / "syslog_counts.conf").write_text(USECASE.format(topic=topic))
                    timing = pipeline_timing(
                        sc, settings, servers, topic, "confluent-kafka", "syslog_counts.conf"
                    )
                    assert timing.commits[-1][1] == total and timing.rate is not None, timing.commits
                    rates["use case"].append(timing.rate)
                    shown = "  ".join(f"{name} {values[-1]:>9,.0f}/s" for name, values in rates.items())
                    print(f"run {run + 1}: {shown}", flush=True)
                    shutil.rmtree(run_work, ignore_errors=True)
            finally:
                sc.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in rates.items()}
    print(
        f"\nmedians over {args.runs} runs, {total:,} messages, {SENDERS} TCP senders, {os.cpu_count()} cores"
    )
    for name, rate in medians.items():
        print(f"{name:>9}: {rate:>9,.0f} messages/s  ({rate / medians['file']:.2f} of the file ceiling)")


if __name__ == "__main__":
    main()
