"""The DataFrame benchmarks' baseline: the DNS count of bench/kafka_usecase/dns_counts_frames written
by hand in plain PySpark, as a person would write the job without dataShark.

Zeek DNS events parsed by Spark with the use case's schema, the same filter as its [log_filter]
(client in 10.18.0.0/16, UDP, query type SRV, A or AAAA; no ``*.local`` name, no NXDOMAIN answer)
written with Spark's own string tests, then a count per client, query and query type.
``frames_batch_bench.py`` times it over files, ``kafka_bench.py --profile`` over Kafka.

    .venv/bin/python bench/handwritten_dns_counts.py bench/data/zeek_dns-1G.json [--format parquet]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from configobj import ConfigObj
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf

FRAMES_CONF = Path(__file__).with_name("kafka_usecase") / "dns_counts_frames.conf"
SCHEMA = ConfigObj(str(FRAMES_CONF))["schema"]  # the use case's own DDL: both sides read the same columns
QUERY_TYPES = ("SRV", "A", "AAAA")


def kept(events: DataFrame) -> Column:
    """The benchmark's [log_filter] (NULL fields: an include fails, an exclude does not drop)."""
    return (
        sf.col("`id.orig_h`").startswith("10.18.")
        & (sf.col("proto") == "udp")
        & sf.col("qtype_name").isin(*QUERY_TYPES)
        & ~sf.coalesce(sf.col("query").endswith(".local"), sf.lit(False))
        & ~sf.coalesce(sf.col("rcode_name") == "NXDOMAIN", sf.lit(False))
    )


def counts(events: DataFrame) -> DataFrame:
    """One row per (client, query, query type) of the kept events: key, query, qtype_name, score."""
    return (
        events.filter(kept(events))
        .groupBy(sf.col("`id.orig_h`").alias("key"), "query", "qtype_name")
        .agg(sf.count("*").alias("score"))
    )


def read_events(spark: SparkSession, path: str, fmt: str) -> DataFrame:
    """The events of ``path``: JSON lines with the schema, or Parquet."""
    reader = spark.read.schema(SCHEMA)
    return reader.json(path) if fmt == "json" else reader.parquet(path)


def tally(findings: DataFrame) -> tuple[int, int]:
    """The job's sink: (rows, sum of the counts), computed in the JVM."""
    row = findings.agg(sf.count("*"), sf.sum("score")).first()
    return int(row[0]), int(row[1] or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--format", choices=("json", "parquet"), default="json")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    # dataShark's shuffle partitions (datashark/run/spark.py), so both jobs shuffle alike.
    builder = SparkSession.builder.master(args.master).appName("handwritten-dns-counts")
    spark = builder.config("spark.sql.shuffle.partitions", "8").getOrCreate()
    try:
        started = time.perf_counter()
        rows, events = tally(counts(read_events(spark, args.path, args.format)))
        print(f"{rows:,} rows counting {events:,} events in {time.perf_counter() - started:.1f} s")
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
