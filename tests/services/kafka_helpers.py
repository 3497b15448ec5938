"""Producing to and inspecting the Kafka test broker, for the Kafka stream tests and bench/."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition


def new_topic(bootstrap_servers: str, partitions: int = 3, prefix: str = "events") -> str:
    """A fresh topic with ``partitions`` partitions, ready to be written."""
    topic = f"{prefix}-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        admin.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1}}, wait_for_metadata=True
        )
    finally:
        admin.close()
    return topic


def produce(bootstrap_servers: str, topic: str, values: Iterable[bytes | str | None]) -> int:
    """Send every value (spread over the partitions), wait for all acks; returns the count.

    A None value is a tombstone, which Kafka accepts only with a key.
    """
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    try:
        futures = [
            producer.send(
                topic,
                key=b"tombstone" if value is None else None,
                value=value.encode() if isinstance(value, str) else value,
            )
            for value in values
        ]
        producer.flush(60)
        for future in futures:
            future.get(timeout=60)
    finally:
        producer.close()
    return len(futures)


def json_events(count: int, start: int = 0, **fields) -> list[str]:
    """``count`` JSON events with unique ids ``e<n>``."""
    return [json.dumps({"id": f"e{n}", **fields}) for n in range(start, start + count)]


def committed(bootstrap_servers: str, group: str, topic: str) -> dict[int, int | None]:
    """The group's committed offset of every partition of ``topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group, enable_auto_commit=False)
    try:
        return {
            number: consumer.committed(TopicPartition(topic, number))
            for number in sorted(consumer.partitions_for_topic(topic))
        }
    finally:
        consumer.close()


def end_offsets(bootstrap_servers: str, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers)
    try:
        tps = [TopicPartition(topic, number) for number in sorted(consumer.partitions_for_topic(topic))]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()
