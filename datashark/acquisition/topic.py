"""The acquisition topic, made to stamp each message with the time Kafka appended it.

omkafka gives every message its syslog header's time as Kafka timestamp, and Kafka 4 refuses a
message stamped more than an hour ahead of its own clock (``log.message.timestamp.after.max.ms``).
Real headers are: a device with a wrong clock, or an RFC 3164 time written in local time east
of UTC (it carries no zone, and rsyslog reads it in its own). The record keeps both the
header's time and the time of receipt, so the topic can take Kafka's own:
``message.timestamp.type = LogAppendTime``, which Kafka applies without checking the
producer's. ``datashark acquire`` creates the topic so when it is missing (the brokers' default
partitions and replicas) or sets it on the existing one, and says what it did. Where the brokers
refuse (no right to alter topic configs) it says what to ask for and runs anyway: what Kafka
refuses goes to omkafka's error file and is sent again, stamped now (undelivered.py).
"""

from __future__ import annotations

from typing import Any

from datashark import console
from datashark.acquisition.background import Every
from datashark.acquisition.settings import KafkaTarget

STAMP = "message.timestamp.type"
KAFKA_STAMP = "LogAppendTime"
TIMEOUT_S = 10.0
RETRY_SECONDS = 30.0


class TopicNotReadyError(Exception):
    """Kafka could not be asked (down, or refusing): try again later."""


def stamp_with_append_time(kafka: KafkaTarget) -> str:
    """Make the topic stamp messages with Kafka's time; what was done, as a sentence.

    Raises TopicNotReadyError when Kafka cannot be asked now, PermissionError when it refuses."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import (
        AdminClient,
        AlterConfigOpType,
        ConfigEntry,
        ConfigResource,
        NewTopic,
        ResourceType,
    )

    admin = AdminClient({**kafka.options, "bootstrap.servers": ",".join(kafka.brokers)})
    resource = ConfigResource(ResourceType.TOPIC, kafka.topic)
    try:
        configs = _result(admin.describe_configs([resource]), resource)
    except KafkaException as err:
        code = err.args[0].code() if err.args else None
        if code != KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise _failure(err, kafka.topic, "read the config of") from None
        new = NewTopic(kafka.topic, num_partitions=-1, replication_factor=-1, config={STAMP: KAFKA_STAMP})
        try:
            _result(admin.create_topics([new], request_timeout=TIMEOUT_S), kafka.topic)
        except KafkaException as create_err:
            raise _failure(create_err, kafka.topic, "create") from None
        return f"created topic {kafka.topic} ({STAMP} = {KAFKA_STAMP})"
    if configs[STAMP].value == KAFKA_STAMP:
        return f"topic {kafka.topic} stamps messages with Kafka's time ({STAMP} = {KAFKA_STAMP})"
    entry = ConfigEntry(STAMP, KAFKA_STAMP, incremental_operation=AlterConfigOpType.SET)
    change = ConfigResource(ResourceType.TOPIC, kafka.topic, incremental_configs=[entry])
    try:
        _result(admin.incremental_alter_configs([change]), change)
    except KafkaException as err:
        raise _failure(err, kafka.topic, "alter") from None
    return f"set {STAMP} = {KAFKA_STAMP} on topic {kafka.topic} (it was {configs[STAMP].value})"


def _result(futures: dict[Any, Any], key: Any) -> Any:
    try:
        return futures[key].result(timeout=TIMEOUT_S)
    except TimeoutError:
        raise TopicNotReadyError("Kafka did not answer in time") from None


def _failure(err: Any, topic: str, doing: str) -> Exception:
    from confluent_kafka import KafkaError

    error = err.args[0] if err.args else None
    code = error.code() if error is not None else None
    denied = (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        KafkaError.POLICY_VIOLATION,
    )
    reason = error.str() if error is not None else str(err)
    if code in denied:
        return PermissionError(f"Kafka refuses to let this login {doing} topic {topic}: {reason}")
    return TopicNotReadyError(reason)


class TopicStamp:
    """Makes the topic stamp with Kafka's time once Kafka answers; tells what it did."""

    def __init__(self, kafka: KafkaTarget) -> None:
        self.kafka = kafka
        self.done = False
        self.every = Every("acquisition-topic", RETRY_SECONDS, self.try_now)

    def try_now(self) -> None:
        if self.done:
            return
        try:
            console.info(stamp_with_append_time(self.kafka))
        except TopicNotReadyError as err:
            console.info(f"topic {self.kafka.topic}: checked again when Kafka answers ({err})")
            return
        except PermissionError as err:
            console.error(
                f"{err}. Ask for {STAMP} = {KAFKA_STAMP} on it: messages whose syslog time is more "
                "than an hour ahead of Kafka's clock are refused, then sent again stamped now"
            )
        self.done = True
