"""Spark's own Kafka source for streaming DataFrame use cases (``spark-sql-kafka-0-10``, its jars
put into ``lib/`` by install.sh), configured from the same keys as dataShark's direct stream.

Spark keeps the offsets of what a query has read in its checkpoint, which is what a restart
resumes from. After each delivered batch they are also committed to the use case's consumer
group, ``<group.id>-<use case>``, so Kafka's lag monitoring (``kafka-consumer-groups.sh``) sees
how far each DataFrame use case is; a group of its own because two use cases on one topic are at
different offsets, and the RDD flavour's group holds the direct stream's positions.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING

from datashark.config.usecase import folder_name
from datashark.kafka.client import OffsetClient
from datashark.kafka.config import KafkaConfig
from datashark.kafka.offsets import Partition

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from datashark.config.usecase import UseCase

SOURCE_FORMAT = "kafka"
# Kafka's defaults fetch 1 MiB per partition (about 2,000 Zeek DNS events) with a 64 KiB socket
# buffer; 16 MiB and 4 MiB read 1.2x as fast on 2 cores (bench/kafka_fetch_bench.py).
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
JAAS_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


class ConnectorMissingError(RuntimeError):
    """Spark found no Kafka source: the connector's jars are not in lib/."""


def kafka_messages(spark: SparkSession, config: KafkaConfig, usecase: UseCase) -> DataFrame:
    """A streaming DataFrame of the topics' messages (``value`` and Kafka's columns)."""
    reader = spark.readStream.format(SOURCE_FORMAT)
    for key, value in source_options(config, usecase).items():
        reader = reader.option(key, value)
    try:
        return reader.load()
    except Exception as err:  # py4j: DATA_SOURCE_NOT_FOUND when the jars are missing
        if "DATA_SOURCE_NOT_FOUND" in str(err) or "Failed to find data source: kafka" in str(err):
            raise ConnectorMissingError(
                "Spark's Kafka source is not installed: run ./install.sh, which puts the "
                "spark-sql-kafka-0-10 jars into lib/"
            ) from None
        raise


def batch_messages(
    spark: SparkSession, config: KafkaConfig, usecase: UseCase, start: dict, end: dict
) -> DataFrame:
    """The messages between two positions (``{topic: {partition: offset}}``; a partition
    missing from ``start`` read from its earliest): one batch of a query, read again."""
    earliest = -2  # Spark's word for a partition's earliest offset in offset JSON
    begin = {
        topic: {number: start.get(topic, {}).get(number, earliest) for number in partitions}
        for topic, partitions in end.items()
    }
    assigned = {topic: [int(number) for number in partitions] for topic, partitions in end.items()}
    options = {
        **client_options(config, usecase),
        "assign": json.dumps(assigned),
        "startingOffsets": json.dumps(begin),
        "endingOffsets": json.dumps(end),
    }
    reader = spark.read.format(SOURCE_FORMAT)
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load()


def source_options(config: KafkaConfig, usecase: UseCase) -> dict[str, str]:
    """Spark's Kafka source options for a use case's stream: the topics, where a first start
    begins, the per-batch cap, and ``client_options``."""
    cap = config.max_records_per_partition * max(1, len(_partitions(config)))
    return {
        **client_options(config, usecase),
        "subscribe": ",".join(config.topics),
        "startingOffsets": config.starting_offsets,
        "maxOffsetsPerTrigger": str(cap),
    }


def client_options(config: KafkaConfig, usecase: UseCase) -> dict[str, str]:
    """The options of Spark's Kafka consumers for ``config``, a stream's or a batch read's:
    brokers, fetch sizes, and the security keys in the Java client's names."""
    where = usecase.location.section("in_kafka") if usecase.conf["input"] else usecase.location
    security = dict(config.security)
    options = {
        "kafka.bootstrap.servers": ",".join(config.bootstrap_servers),
        # Offsets the broker deleted before they were read are gone either way; Spark logs them.
        "failOnDataLoss": "false",
        "kafka.client.id": f"datashark-{folder_name(usecase.name)}",
        "kafka.max.partition.fetch.bytes": str(PARTITION_FETCH_BYTES),
        "kafka.receive.buffer.bytes": str(RECEIVE_BUFFER_BYTES),
    }
    protocol = security.get("security.protocol", "PLAINTEXT")
    options["kafka.security.protocol"] = protocol
    if protocol.startswith("SASL"):
        mechanism = security["sasl.mechanism"]
        options["kafka.sasl.mechanism"] = mechanism
        options["kafka.sasl.jaas.config"] = (
            f'{JAAS_MODULES[mechanism]} required username="{_jaas(security["sasl.username"])}" '
            f'password="{_jaas(security.get("sasl.password") or "")}";'
        )
    if "ssl.ca.location" in security:
        options["kafka.ssl.truststore.type"] = "PEM"
        options["kafka.ssl.truststore.location"] = usecase.resolve(security["ssl.ca.location"])
    if "ssl.certificate.location" in security or "ssl.key.location" in security:
        raise where.error(
            "client certificates (ssl.certificate.location, ssl.key.location) are not supported by "
            "Spark's Kafka source here: use SASL_SSL, or api = rdd"
        )
    if security.get("ssl.check.hostname") is False:
        options["kafka.ssl.endpoint.identification.algorithm"] = ""
    return options


def _jaas(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _partitions(config: KafkaConfig) -> list[Partition]:
    client = OffsetClient(config)
    try:
        return client.partitions()
    finally:
        client.close()


def progress_group(config: KafkaConfig, usecase: UseCase) -> KafkaConfig:
    """``config`` with the consumer group a DataFrame use case commits its progress to."""
    return dataclasses.replace(config, group_id=f"{config.group_id}-{folder_name(usecase.name)}")


class ProgressCommitter:
    """Commits a query's Kafka end offsets of a delivered batch to the use case's group."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self.client: OffsetClient | None = None

    def commit(self, source_offsets: str) -> None:
        """``source_offsets``: the JSON Spark writes for a Kafka source, ``{"topic": {"0": 42}}``."""
        positions = {
            Partition(topic, int(number)): (int(offset), "")
            for topic, partitions in json.loads(source_offsets).items()
            for number, offset in partitions.items()
        }
        if not positions:
            return
        if self.client is None:
            self.client = OffsetClient(self.config)
        self.client.commit(positions)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None
