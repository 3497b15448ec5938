"""The executors' side of the direct stream: each Spark task reads one offset range.

Readers use no consumer group (the driver commits), stop exactly at the range's end (which may
be a transaction marker, not a message, hence the position checks) and hand values over as
text. A value that is not UTF-8, or empty, is handed over as ``bytes`` for the use case's event
stage to dead-letter: dropping it here would lose it silently.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from datashark.errors import DataSharkError
from datashark.kafka.client import refusal
from datashark.kafka.config import KafkaConfig
from datashark.kafka.offsets import OffsetRange

STALL_SECONDS = 60  # no progress for this long on a range that should exist: fail the task
# A secured read without progress this long asks why: the executor's login or certificate
# check may fail where the driver's passed (a CA file missing on a worker), and neither client
# says so while reading.
REFUSAL_CHECK_SECONDS = 5
POLL_SECONDS = 1.0
MAX_BATCH = 10_000  # messages per poll/consume call
FETCH_MAX_BYTES = 64 * 1024 * 1024
PARTITION_FETCH_BYTES = 16 * 1024 * 1024
# Measured on a 2-core machine (bench/README.md): librdkafka pauses fetching for a second when
# its prefetch queue is full at its defaults (100k messages / 64 MB), so the queue is raised;
# kafka-python spends 100 ms per task probing the broker version unless told it (the driver
# knows it), and its back-off delays the first fetch.
LIBRDKAFKA_TUNING = {
    "fetch.max.bytes": FETCH_MAX_BYTES,
    "max.partition.fetch.bytes": PARTITION_FETCH_BYTES,
    "queued.min.messages": 1_000_000,
    "queued.max.messages.kbytes": 256 * 1024,
    "fetch.wait.max.ms": 100,
    "log.connection.close": False,  # brokers closing idle connections is not news
}
KAFKA_PYTHON_TUNING = {
    "fetch_max_bytes": FETCH_MAX_BYTES,
    "max_partition_fetch_bytes": PARTITION_FETCH_BYTES,
    "max_poll_records": MAX_BATCH,
    "retry_backoff_ms": 10,
    "metrics_enabled": False,
}


def client_name(config: KafkaConfig) -> str:
    """The library that reads ranges: confluent-kafka when installed (``auto``), else kafka-python."""
    if config.client != "auto":
        return config.client
    try:
        import confluent_kafka  # noqa: F401
    except ImportError:
        return "kafka-python"
    return "confluent-kafka"


class RangeReader:
    """mapPartitions function: the messages of the one OffsetRange in its partition, as text.

    ``api_version`` is the broker's, as the driver's client found it (kafka-python only).
    """

    def __init__(self, config: KafkaConfig, api_version: tuple[int, ...] | None = None) -> None:
        self.config = config
        self.api_version = api_version

    def __call__(self, ranges: Iterable[OffsetRange]) -> Iterator[str | bytes]:
        client = client_name(self.config)  # on the executor: ``auto`` uses what is installed here
        for offset_range in ranges:
            if client == "confluent-kafka":
                values = _read_confluent(self.config, offset_range)
            else:
                values = _read_kafka_python(self.config, offset_range, self.api_version)
            for value in values:
                if value:
                    try:
                        yield value.decode("utf-8")
                    except UnicodeDecodeError:
                        yield value
                else:
                    yield b""


class ReaderRefusedError(DataSharkError):
    """The brokers refuse this executor's client: waiting longer would not help."""


class _Progress:
    """Fails a read that makes no progress: a range the driver saw must be readable."""

    def __init__(self, config: KafkaConfig, offset_range: OffsetRange) -> None:
        self.config = config
        self.range = offset_range
        self.position = offset_range.start
        self.since = time.monotonic()
        self.asked_why = False

    def advanced_to(self, position: int) -> bool:
        """True once ``position`` reached the end of the range."""
        r = self.range
        if position > self.position:
            self.position, self.since = position, time.monotonic()
        elif not self.asked_why and time.monotonic() - self.since > REFUSAL_CHECK_SECONDS:
            self.asked_why = True
            reason = refusal(self.config)
            if reason:
                servers = ", ".join(self.config.bootstrap_servers)
                raise ReaderRefusedError(
                    f"Kafka {r.topic}[{r.partition}] at {servers}: reading failed: {reason}"
                )
        elif time.monotonic() - self.since > STALL_SECONDS:
            raise TimeoutError(
                f"Kafka {r.topic}[{r.partition}]: stuck at offset {self.position} of {r.start}..{r.end} "
                f"for {STALL_SECONDS} s"
            )
        return self.position >= self.range.end


def _read_kafka_python(
    config: KafkaConfig, offset_range: OffsetRange, api_version: tuple[int, ...] | None
) -> Iterator[bytes | None]:
    from kafka import KafkaConsumer, TopicPartition

    known_version = {"api_version": api_version} if api_version else {}
    consumer = KafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        **KAFKA_PYTHON_TUNING,
        **known_version,
        **config.kafka_python_options(),
    )
    try:
        tp = TopicPartition(offset_range.topic, offset_range.partition)
        consumer.assign([tp])
        consumer.seek(tp, offset_range.start)
        progress = _Progress(config, offset_range)
        end = offset_range.end
        while True:
            polled = consumer.poll(timeout_ms=int(POLL_SECONDS * 1000), max_records=MAX_BATCH)
            for record in polled.get(tp, ()):
                if record.offset >= end:
                    return
                yield record.value
            if progress.advanced_to(consumer.position(tp)):
                return
    finally:
        consumer.close(autocommit=False)


def _read_confluent(config: KafkaConfig, offset_range: OffsetRange) -> Iterator[bytes | None]:
    from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

    consumer = Consumer(
        {
            **config.librdkafka_options(),
            "group.id": f"{config.group_id}-reader",  # required by librdkafka; nothing is committed
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "enable.partition.eof": True,
            **LIBRDKAFKA_TUNING,
        }
    )
    try:
        tp = TopicPartition(offset_range.topic, offset_range.partition, offset_range.start)
        consumer.assign([tp])
        progress = _Progress(config, offset_range)
        end = offset_range.end
        while True:
            position = progress.position
            # consume() waits for all it asked for: never ask past the range (+1 for EOF).
            wanted = min(MAX_BATCH, end - position + 1)
            for message in consumer.consume(num_messages=wanted, timeout=POLL_SECONDS):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    if (message.offset() or 0) >= end:  # the log's end (high watermark) passed the range's
                        return
                    continue
                offset = message.offset()
                assert offset is not None  # a message that is not an error has its offset
                if offset >= end:
                    return
                yield message.value()
                position = offset + 1
            if position < end:
                position = max(position, consumer.position([tp])[0].offset)
            if progress.advanced_to(position):
                return
    finally:
        consumer.close()
