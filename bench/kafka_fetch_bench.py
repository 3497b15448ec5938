"""Spark's Kafka source with Kafka's default fetch sizes vs those dataShark sets, batch reads.

The test suite's Kafka 4 broker gets ``--events`` Zeek DNS events (bench/zeek_dns.json repeated)
on ``--partitions`` partitions; then, per round, on one local[2] SparkContext (dataShark's
``start_spark``), each job reads the whole topic with ``spark.read.format("kafka")``:

- **read**: each message's value as text, to Spark's ``noop`` sink;
- **count**: dataShark's parse of the five fields ``dns_counts_frames.py`` reads
  (``value_frame``), the benchmark's filter and the count per client, query and query type;

each with Kafka's defaults (1 MiB fetched per partition, a 64 KiB socket buffer) and with
``datashark.frames.kafka``'s ``PARTITION_FETCH_BYTES`` and ``RECEIVE_BUFFER_BYTES``, alternating.
A batch job, not a stream: no trigger or state store between the reads and the figure.

    .venv/bin/python bench/kafka_fetch_bench.py [--events 1000000] [--partitions 4] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.handwritten_dns_counts import counts  # noqa: E402
from bench.kafka_bench import FRAMES_CONF, USECASE, bench_home, produce_sample  # noqa: E402
from datashark.config.usecase import read_usecase  # noqa: E402
from datashark.frames.kafka import PARTITION_FETCH_BYTES, RECEIVE_BUFFER_BYTES  # noqa: E402
from tests.support.kafka_helpers import new_topic  # noqa: E402
from tests.support.servers.kafka import running_broker  # noqa: E402

READ_FIELDS = ["id.orig_h", "proto", "query", "qtype_name", "rcode_name"]  # what the count reads
SETTINGS = {
    "Kafka's defaults": {},
    "dataShark's": {
        "kafka.max.partition.fetch.bytes": str(PARTITION_FETCH_BYTES),
        "kafka.receive.buffer.bytes": str(RECEIVE_BUFFER_BYTES),
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from pyspark.sql import SparkSession
    from pyspark.sql import functions as sf

    from datashark.config.settings import load_settings
    from datashark.frames.events import value_frame
    from datashark.run.spark import start_spark

    work = Path(tempfile.mkdtemp(prefix="kafka-fetch-bench-"))
    usecase = read_usecase(USECASE / FRAMES_CONF)
    rates: dict[str, list[float]] = {}
    with running_broker(work / "broker") as broker:
        servers = broker.bootstrap_servers
        topic = new_topic(servers, partitions=args.partitions, prefix="fetch")
        produce_sample(servers, topic, args.events)
        settings = dataclasses.replace(load_settings(bench_home(work / "home", 1)), checkpoint_dir=str(work))
        spark = SparkSession(start_spark(settings, "local[2]", "kafka-fetch-bench"))

        def messages(options: dict[str, str]):
            reader = spark.read.format("kafka").option("kafka.bootstrap.servers", servers)
            reader = reader.option("subscribe", topic).option("startingOffsets", "earliest")
            for key, value in options.items():
                reader = reader.option(key, value)
            return reader.load()

        jobs = {
            "read": lambda options: messages(options).select(sf.col("value").cast("string")),
            "count": lambda options: counts(value_frame(usecase, messages(options), READ_FIELDS)),
        }
        messages({}).select("value").write.format("noop").mode("overwrite").save()  # warm-up
        for run in range(args.runs):
            for job, frame in jobs.items():
                for name, options in SETTINGS.items():
                    started = time.perf_counter()
                    frame(options).write.format("noop").mode("overwrite").save()
                    rate = args.events / (time.perf_counter() - started)
                    rates.setdefault(f"{job}, {name}", []).append(rate)
                    print(f"run {run + 1} {job + ', ' + name:28} {rate:>10,.0f} ev/s", flush=True)
        spark.stop()
    print(f"\nmedians over {args.runs} runs, {args.events:,} events, {args.partitions} partitions, local[2]")
    for job in jobs:
        default, ours = (statistics.median(rates[f"{job}, {name}"]) for name in SETTINGS)
        print(
            f"{job:6} Kafka's defaults {default:>10,.0f} ev/s   "
            f"dataShark's {ours:>10,.0f} ev/s   {ours / default:.2f}x"
        )


if __name__ == "__main__":
    main()
