"""Kafka throughput: dataShark's pipeline next to a raw consumer, on the same topic, same run.

A real Kafka 4 broker (the test suite's, fetched into .cache/services) gets ``--events`` Zeek DNS
events (bench/zeek_dns.json repeated) on ``--partitions`` partitions. Then, per client library
and per round, alternating:

- **raw consumer** (the ceiling): two processes (one per core) read every partition's offset
  range with dataShark's range reader (the executors' code: client + UTF-8 decoding), no Spark;
- **dataShark**: ``bench/kafka_usecase`` on local[2]: the direct stream, the JSON parse and
  ``[log_filter]``, a count per query, a no-op output and the offset commits. Timed from the
  first batch (when the group's starting offsets are committed) until the group's committed
  offsets reach the end of the topic, observed from outside through Kafka.

    python bench/kafka_bench.py [--events 1000000] [--partitions 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import multiprocessing
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datashark.kafka.client import OffsetClient  # noqa: E402
from datashark.kafka.config import KafkaConfig  # noqa: E402
from datashark.kafka.offsets import OffsetRange  # noqa: E402
from datashark.kafka.reader import RangeReader  # noqa: E402
from datashark.run.context import RunContext  # noqa: E402
from tests.support.kafka_helpers import committed, end_offsets, new_topic  # noqa: E402
from tests.support.servers.kafka import running_broker  # noqa: E402

SAMPLE = Path(__file__).with_name("zeek_dns.json")
USECASE = Path(__file__).with_name("kafka_usecase")
CLIENTS = ("confluent-kafka", "kafka-python")


def produce_sample(bootstrap_servers: str, topic: str, count: int) -> None:
    """``count`` events, fast: confluent-kafka's producer (librdkafka) batches well."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 50, "batch.size": 1_000_000})
    lines = SAMPLE.read_text().splitlines()
    for n, line in enumerate(itertools.islice(itertools.cycle(lines), count)):
        while True:
            try:
                producer.produce(topic, line.encode())
                break
            except BufferError:
                producer.poll(0.1)
        if n % 10_000 == 0:
            producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("the producer could not deliver every event")


def config_for(bootstrap_servers: str, topic: str, client: str, group: str = "bench") -> KafkaConfig:
    return KafkaConfig((bootstrap_servers,), (topic,), group, "earliest", 100_000, client)


def read_range(args: tuple[RangeReader, OffsetRange]) -> int:
    reader, offset_range = args
    return sum(1 for _ in reader([offset_range]))


def raw_rate(pool, bootstrap_servers: str, topic: str, client: str, ends: dict[int, int]) -> float:
    """The range reader alone, told the broker's version as dataShark's driver tells it."""
    config = config_for(bootstrap_servers, topic, client)
    driver = OffsetClient(config)
    reader = RangeReader(config, driver.api_version)
    driver.close()
    work = [(reader, OffsetRange(topic, p, 0, end)) for p, end in ends.items()]
    started = time.perf_counter()
    read = sum(pool.map(read_range, work, chunksize=1))
    elapsed = time.perf_counter() - started
    assert read == sum(ends.values()), f"raw read {read} events"
    return read / elapsed


def pipeline_rate(sc, settings, bootstrap_servers: str, topic: str, client: str, total: int) -> float:
    """Events per second through dataShark, from the first batch to the last commit."""
    from datashark.config.usecase import read_usecase
    from datashark.run.prepare import prepare
    from datashark.run.streaming import run_streaming

    group = f"bench-{client}-{time.monotonic_ns()}"
    raw = {
        **settings.kafka,
        "kafka.bootstrap.servers": bootstrap_servers,
        "kafka.topics": topic,
        "kafka.group.id": group,
        "kafka.starting.offsets": "earliest",
        "kafka.client": client,
    }
    run_settings = dataclasses.replace(settings, kafka=raw)
    prepared = [prepare(run_settings, read_usecase(settings.home / "conf" / "dns" / "dns_counts.conf"))]
    ends = end_offsets(bootstrap_servers, topic)
    marks: dict[str, float] = {}
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.05):
            offsets = committed(bootstrap_servers, group, topic)
            if "start" not in marks and any(offset is not None for offset in offsets.values()):
                marks["start"] = time.perf_counter()
            if offsets == ends:
                marks["end"] = time.perf_counter()
                os.kill(os.getpid(), signal.SIGINT)
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        run_streaming(sc, RunContext(run_settings), prepared, debug=False, timeout=600)
    finally:
        finished.set()
        watcher.join()
    return total / (marks["end"] - marks["start"])


def bench_home(folder: Path, batch_interval: int) -> Path:
    """A dataShark folder with the repo's plugins, the no-op output and the benchmark use case."""
    shutil.copytree(REPO / "plugins", folder / "plugins")
    shutil.copy(USECASE / "out_noop.py", folder / "plugins" / "output")
    shutil.copytree(USECASE, folder / "conf" / "dns", ignore=shutil.ignore_patterns("out_noop.py"))
    (folder / "datashark.conf").write_text(f"batch.interval = {batch_interval}\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-interval", type=int, default=2)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    pool = multiprocessing.get_context("fork").Pool(2)  # forked before the JVM starts
    try:
        with running_broker(work / "broker") as broker:
            servers = broker.bootstrap_servers
            topic = new_topic(servers, partitions=args.partitions, prefix="bench")
            started = time.perf_counter()
            produce_sample(servers, topic, args.events)
            print(
                f"produced {args.events} events on {args.partitions} partitions in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            ends = end_offsets(servers, topic)

            from datashark.config.settings import load_settings
            from datashark.run.spark import start_spark

            home = bench_home(work / "home", args.batch_interval)
            settings = dataclasses.replace(
                load_settings(home), deadletter_dir=work / "dl", checkpoint_dir=str(work / "ckpt")
            )
            sc = start_spark(settings, "local[2]", "kafka-bench")
            results: dict[tuple[str, str], list[float]] = {}
            try:
                for run in range(args.runs):
                    for client in CLIENTS:
                        raw = raw_rate(pool, servers, topic, client, ends)
                        ours = pipeline_rate(sc, settings, servers, topic, client, args.events)
                        results.setdefault(("raw", client), []).append(raw)
                        results.setdefault(("datashark", client), []).append(ours)
                        print(
                            f"run {run + 1} {client} raw {raw:>10,.0f} ev/s, dataShark {ours:>10,.0f} ev/s",
                            flush=True,
                        )
            finally:
                sc.stop()
    finally:
        pool.terminate()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nmedians over {args.runs} runs, {args.events:,} events, {args.partitions} partitions, 2 cores")
    print(f"{'client':16} {'raw consumer':>14} {'dataShark':>12} {'dataShark/raw':>14}")
    for client in CLIENTS:
        raw = statistics.median(results["raw", client])
        ours = statistics.median(results["datashark", client])
        print(f"{client:16} {raw:>14,.0f} {ours:>12,.0f} {ours / raw:>14.2f}")


if __name__ == "__main__":
    main()
