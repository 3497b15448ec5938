"""Kafka test helpers: topics, producing, offsets, and use cases reading Kafka (bench/ uses some)."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from datashark.config.spec import validate_section
from datashark.config.usecase import read_usecase
from datashark.errors import ConfLocation
from datashark.kafka import config as kafka_config
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming
from tests.integration.conftest import read_csv, settings_for


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


def in_rounds(bootstrap_servers: str, topic: str, rounds: int, per_round: int) -> Callable[[], None]:
    """A feed for a thread: ``rounds`` rounds of ``per_round`` JSON events (ids ``e0``...), 0.3 s apart."""

    def feed() -> None:
        for round_ in range(rounds):
            produce(bootstrap_servers, topic, json_events(per_round, round_ * per_round))
            time.sleep(0.3)

    return feed


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


ONE_ROW_PER_EVENT = """
def load(streamingData, trainingData, context, conf):
    return streamingData.map(lambda event: (event["id"], 1, {"kind": event.get("kind", "")}))
"""


def kafka_settings(tmp_path: Path, **keys: object):
    """The repo's settings with a global Kafka stream (``group_id`` means ``kafka.group.id``)."""
    raw = {f"kafka.{key.replace('_', '.')}": str(value) for key, value in keys.items()}
    spec = [*kafka_config.GLOBAL_LEGACY_SPEC, *kafka_config.spec("kafka.")]
    kafka = dict(validate_section(raw, spec, where=ConfLocation("test"), allow_extra=False))
    return dataclasses.replace(settings_for(tmp_path), batch_interval=1, kafka=kafka)


def usecase(folder: Path, name: str, *, extra: str = "", sections: str = "", out: str = "out.csv") -> Path:
    """A streaming use case writing one CSV row per JSON event (key = the event's id)."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(ONE_ROW_PER_EVENT))
    (folder / "training.txt").write_text("unused\n")
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = {name}\ntype = streaming\ncode = uc.py\ntraining = training.txt\noutput = csv\n"
        f"format = json\n{extra}\n{sections}\n[out_csv]\npath = {out}\nmode = append\n"
    )
    return conf


def ids_in(csv_path: Path) -> Counter:
    if not csv_path.exists():
        return Counter()
    return Counter(row[1] for row in read_csv(csv_path) if row and row[0] != "time")


def group_of(topic: str) -> str:
    """The consumer group of a test that reads ``topic``."""
    return f"g-{topic}"


def reading_from_start(tmp_path: Path, bootstrap_servers: str, topic: str, **keys: object):
    """Settings whose global stream reads ``topic`` from its first message, in ``group_of(topic)``."""
    return kafka_settings(
        tmp_path,
        bootstrap_servers=bootstrap_servers,
        topics=topic,
        group_id=group_of(topic),
        starting_offsets="earliest",
        **keys,
    )


def run_until(sc, settings, confs: list[Path], done, *, timeout: float = 90) -> None:
    """Stream until ``done()`` holds (checked every half second), then stop as Ctrl-C would."""
    prepared = [prepare(settings, read_usecase(conf)) for conf in confs]
    finished = threading.Event()

    def watcher() -> None:
        while not finished.wait(0.5):
            if done():
                os.kill(os.getpid(), signal.SIGINT)
                return

    thread = threading.Thread(target=watcher, daemon=True)
    thread.start()
    try:
        run_streaming(sc, RunContext(settings), prepared, debug=False, timeout=timeout)
    finally:
        finished.set()
        thread.join()
