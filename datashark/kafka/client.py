"""The driver's side of the direct stream: partitions, offsets and commits, through kafka-python.

Only the driver talks to the consumer group; executors read offset ranges without one
(see ``reader``). kafka-python clients are not thread-safe, and Spark calls back into the
driver from several threads, so every call here holds one lock.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from datashark.errors import DataSharkError
from datashark.kafka.config import KafkaConfig
from datashark.kafka.offsets import Partition

REQUEST_TIMEOUT_MS = 30_000
BOOTSTRAP_TIMEOUT_MS = 10_000  # how long unreachable brokers are waited for before the stream stops
METADATA_MAX_AGE_MS = 30_000  # new partitions of a topic are picked up within this
PROBE_SECONDS = 5  # how long librdkafka may take to say why the brokers refuse the driver


# dataShark reports Kafka failures itself, in one line; without a handler, kafka-python's
# reconnect chatter would reach stderr through logging's last-resort handler.
logging.getLogger("kafka").addHandler(logging.NullHandler())


class KafkaUnavailableError(DataSharkError):
    """The brokers could not be reached or refused a request; the message says which."""


def refusal(config: KafkaConfig) -> str | None:
    """Why the brokers refuse a client with ``config`` (a failed login, a TLS handshake that
    failed), in one line; None when they don't, or cannot be asked.

    kafka-python cannot say it: a broker answers a failed login and closes the connection at
    once, kafka-python 3.0 drops an answer that arrives together with the close, and its
    bootstrap ends in a bare timeout. librdkafka (confluent-kafka, installed with dataShark's
    Kafka extra) reports both failures reliably, within a second, so it is asked instead.
    """
    if dict(config.security).get("security.protocol", "PLAINTEXT") == "PLAINTEXT":
        return None
    try:
        from confluent_kafka import Consumer, KafkaError
    except ImportError:
        return None
    errors: list = []
    consumer = Consumer(
        {
            **config.librdkafka_options(),
            "group.id": config.group_id,  # required; the probe never joins the group nor commits
            "enable.auto.commit": False,
            "error_cb": errors.append,
            "log_level": 0,  # the reason is reported here, not in librdkafka's stderr log
        }
    )
    try:
        deadline = time.monotonic() + PROBE_SECONDS
        while time.monotonic() < deadline:
            consumer.poll(0.1)
            for error in errors:
                if error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL):
                    return _refusal_text(config, error.code() == KafkaError._AUTHENTICATION, error.str())
            if any(error.code() == KafkaError._ALL_BROKERS_DOWN for error in errors):
                return None
    finally:
        consumer.close()
    return None


def _refusal_text(config: KafkaConfig, login: bool, text: str) -> str:
    """librdkafka's error without the broker's URL and the connection's state (said already)."""
    text = re.sub(r" \(after \d+ms in state \w+[^)]*\)$", "", re.sub(r"^\w+://\S+: ", "", text))
    if not login:
        return text
    security = dict(config.security)
    user, mechanism = security.get("sasl.username"), security.get("sasl.mechanism")
    who = f" as {user} ({mechanism})" if user else ""
    return f"authentication failed{who}: {text.removeprefix('SASL authentication error: ')}"


class OffsetClient:
    """One consumer-group member that never subscribes: it only reads and commits offsets."""

    def __init__(self, config: KafkaConfig) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        self.config = config
        self.lock = threading.Lock()
        self._errors = (KafkaError, OSError)
        try:
            self.consumer = KafkaConsumer(
                group_id=config.group_id,
                enable_auto_commit=False,
                client_id=f"datashark-driver-{config.group_id}",
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
                metadata_max_age_ms=METADATA_MAX_AGE_MS,
                **config.kafka_python_options(),
            )
        except self._errors as err:
            reason = refusal(config)
            if reason is None:
                raise self._unavailable("connecting", err) from err
            raise KafkaUnavailableError(f"{self._where()}: connecting failed: {reason}") from err

    @property
    def api_version(self) -> tuple[int, ...] | None:
        """The broker's API version as the client negotiated it (saves executors the probe)."""
        return self.consumer.config.get("api_version")

    def partitions(self) -> list[Partition]:
        """Every partition of the configured topics (a topic that does not exist has none)."""
        with self.lock:
            try:
                return [
                    Partition(topic, number)
                    for topic in self.config.topics
                    for number in sorted(self.consumer.partitions_for_topic(topic))
                ]
            except self._errors as err:
                raise self._unavailable("listing partitions", err) from err

    def bounds(self, partitions: list[Partition]) -> tuple[dict[Partition, int], dict[Partition, int]]:
        """The first and the next-to-be-written offset of each partition."""
        with self.lock:
            try:
                tps = self._topic_partitions(partitions)
                first = self.consumer.beginning_offsets(tps)
                end = self.consumer.end_offsets(tps)
            except self._errors as err:
                raise self._unavailable("reading offsets", err) from err
        return self._by_partition(first), self._by_partition(end)

    def ends(self, partitions: list[Partition]) -> dict[Partition, int]:
        with self.lock:
            try:
                return self._by_partition(self.consumer.end_offsets(self._topic_partitions(partitions)))
            except self._errors as err:
                raise self._unavailable("reading end offsets", err) from err

    def committed(self, partitions: list[Partition]) -> dict[Partition, tuple[int | None, str]]:
        """The group's committed position of each partition (None: never committed) and the
        metadata stored with it (see ``replay``)."""
        with self.lock:
            try:
                stored = {
                    part: self.consumer.committed(tp, metadata=True)
                    for part, tp in zip(partitions, self._topic_partitions(partitions), strict=True)
                }
            except self._errors as err:
                raise self._unavailable("reading the group's offsets", err) from err
        return {
            part: (None, "") if entry is None else (entry.offset, entry.metadata or "")
            for part, entry in stored.items()
        }

    def commit(self, positions: dict[Partition, tuple[int, str]]) -> None:
        """Make ``positions`` (offset, metadata) the group's committed offsets (where a restart
        resumes)."""
        from kafka.structs import OffsetAndMetadata, TopicPartition

        offsets = {
            TopicPartition(*part): OffsetAndMetadata(offset, metadata, -1)
            for part, (offset, metadata) in positions.items()
        }
        with self.lock:
            try:
                self.consumer.commit(offsets)
            except self._errors as err:
                raise self._unavailable("committing offsets", err) from err

    def close(self) -> None:
        with self.lock:
            self.consumer.close(autocommit=False)

    def _topic_partitions(self, partitions: list[Partition]) -> list:
        from kafka.structs import TopicPartition

        return [TopicPartition(*part) for part in partitions]

    @staticmethod
    def _by_partition(offsets: dict) -> dict[Partition, int]:
        return {Partition(tp.topic, tp.partition): offset for tp, offset in offsets.items()}

    def _where(self) -> str:
        return f"Kafka at {', '.join(self.config.bootstrap_servers)} (group {self.config.group_id})"

    def _unavailable(self, doing: str, err: BaseException) -> KafkaUnavailableError:
        text = str(err)  # kafka-python's errors start with their class name already
        if not text.startswith(type(err).__name__):
            text = f"{type(err).__name__}: {text}"
        return KafkaUnavailableError(f"{self._where()}: {doing} failed: {text}")
