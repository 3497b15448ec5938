"""dataShark's Kafka security keys against the session broker's SASL_SSL listener.

The unit tests check how the keys are spelled for each client; only a real broker shows that
the driver (kafka-python) and the executors' readers (confluent-kafka or kafka-python) log in,
verify the broker's certificate and its host name, and say clearly why when they cannot.
Test data is produced over the PLAINTEXT listener: both listeners serve the same topics.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.kafka.client import OffsetClient
from datashark.kafka.offsets import OffsetRange
from datashark.kafka.reader import RangeReader, ReaderRefusedError
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming
from tests.support.kafka_helpers import (
    committed,
    end_offsets,
    group_of,
    ids_in,
    json_events,
    new_topic,
    produce,
    reading_from_start,
    run_until,
    usecase,
)
from tests.support.servers.kafka import KafkaBroker

pytestmark = pytest.mark.spark

EVENTS = 600


def secure_topic(kafka: KafkaBroker, count: int = EVENTS) -> str:
    """A fresh three-partition topic holding ``count`` JSON events ``e0``..."""
    topic = new_topic(kafka.bootstrap_servers, partitions=3, prefix="secure")
    produce(kafka.bootstrap_servers, topic, json_events(count))
    return topic


def stream_all(spark_context, settings, confs: list[Path], outputs: dict[Path, int]) -> None:
    """Stream until every output holds at least its number of rows."""

    def done() -> bool:
        return all(sum(ids_in(out).values()) >= count for out, count in outputs.items())

    run_until(spark_context, settings, confs, done)


def connecting_fails(spark_context, settings, tmp_path: Path) -> str:
    """The one-line error that stops a stream whose driver cannot connect; nothing is written."""
    prepared = [prepare(settings, read_usecase(usecase(tmp_path / "uc", "Refused")))]
    with pytest.raises(UseCaseError) as failure:
        run_streaming(spark_context, RunContext(settings), prepared, debug=False, timeout=60)
    assert not (tmp_path / "uc" / "out.csv").exists()
    message = str(failure.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("mechanism", "client"),
    [("SCRAM-SHA-512", "confluent-kafka"), ("SCRAM-SHA-512", "kafka-python"), ("PLAIN", "confluent-kafka")],
)
def test_events_arrive_once_over_sasl_ssl(
    spark_context, kafka: KafkaBroker, tmp_path: Path, capsys, mechanism: str, client: str
) -> None:
    topic = secure_topic(kafka)
    group = group_of(topic)
    # 100 per partition and batch: several batches, so readers log in again and again.
    settings = reading_from_start(
        tmp_path,
        kafka.secure_bootstrap_servers,
        topic,
        client=client,
        max_records_per_partition=100,
        **kafka.security_keys(mechanism),
    )
    conf = usecase(tmp_path / "uc", "Secure")
    out = tmp_path / "uc" / "out.csv"
    stream_all(spark_context, settings, [conf], {out: EVENTS})

    assert ids_in(out) == Counter(f"e{n}" for n in range(EVENTS))
    assert committed(kafka.bootstrap_servers, group, topic) == end_offsets(kafka.bootstrap_servers, topic)
    assert f"at {kafka.secure_bootstrap_servers}, group {group} ({client})" in capsys.readouterr().out


def test_a_wrong_password_stops_the_stream_saying_authentication_failed(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = secure_topic(kafka, count=10)
    servers = kafka.secure_bootstrap_servers
    keys = kafka.security_keys(**{"sasl.password": f"not-{kafka.password}"})
    settings = reading_from_start(tmp_path, servers, topic, **keys)

    assert connecting_fails(spark_context, settings, tmp_path) == (
        f"streaming stopped: Kafka at {servers} (group {group_of(topic)}): connecting failed: "
        f"authentication failed as {kafka.username} (SCRAM-SHA-512): Authentication failed "
        "during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"
    )
    assert committed(kafka.bootstrap_servers, group_of(topic), topic) == {0: None, 1: None, 2: None}


def test_a_broker_certificate_from_an_untrusted_ca_is_refused(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = secure_topic(kafka, count=10)
    servers = kafka.secure_bootstrap_servers
    untrusting = kafka.security_keys(**{"ssl.ca.location": None})
    settings = reading_from_start(tmp_path, servers, topic, **untrusting)

    assert re.fullmatch(
        rf"streaming stopped: Kafka at {re.escape(servers)} \(group {group_of(topic)}\): connecting failed: "
        r"SSL handshake failed: .*certificate verify failed: broker certificate could not be verified, "
        r"verify that ssl\.ca\.location is correctly configured .*",
        connecting_fails(spark_context, settings, tmp_path),
    )


def test_an_in_kafka_override_brings_its_own_security_keys(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    plain_topic = secure_topic(kafka, count=50)
    topic = new_topic(kafka.bootstrap_servers, partitions=2, prefix="secure")
    produce(kafka.bootstrap_servers, topic, json_events(200, 1000))
    # The global stream reads the PLAINTEXT listener without security keys; the override
    # reads the SASL_SSL one with its own, in the same run.
    settings = reading_from_start(tmp_path, kafka.bootstrap_servers, plain_topic)
    keys = {"bootstrap.servers": kafka.secure_bootstrap_servers, **kafka.security_keys()}
    section = "".join(f"{key} = {value}\n" for key, value in keys.items())
    global_conf = usecase(tmp_path / "global", "Global")
    override = usecase(
        tmp_path / "own", "Own", extra="input = kafka", sections=f"[in_kafka]\ntopics = {topic}\n{section}"
    )
    outputs = {tmp_path / "global" / "out.csv": 50, tmp_path / "own" / "out.csv": 200}
    stream_all(spark_context, settings, [global_conf, override], outputs)

    assert ids_in(tmp_path / "global" / "out.csv") == Counter(f"e{n}" for n in range(50))
    assert ids_in(tmp_path / "own" / "out.csv") == Counter(f"e{n}" for n in range(1000, 1200))
    group = group_of(plain_topic)  # the override inherits the global group
    for each in (plain_topic, topic):
        assert committed(kafka.bootstrap_servers, group, each) == end_offsets(kafka.bootstrap_servers, each)


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python"])
def test_an_executor_refused_by_the_brokers_says_why_instead_of_waiting_out_the_stall(
    kafka: KafkaBroker, tmp_path: Path, client: str
) -> None:
    """The driver may log in where an executor cannot (a CA file missing on one worker): the
    executor's reader asks why its read makes no progress and fails its task with the reason."""
    topic = secure_topic(kafka, count=10)
    servers = kafka.secure_bootstrap_servers
    keys = kafka.security_keys(**{"sasl.password": f"not-{kafka.password}"})
    config = reading_from_start(tmp_path, servers, topic, client=client, **keys).global_kafka()
    partition = next(number for number, end in end_offsets(kafka.bootstrap_servers, topic).items() if end)

    plain = dataclasses.replace(config, bootstrap_servers=(kafka.bootstrap_servers,), security=())
    driver = OffsetClient(plain)
    api_version = driver.api_version  # the broker's version, as the driver hands it to the executors
    driver.close()

    with pytest.raises(ReaderRefusedError) as refused:
        list(RangeReader(config, api_version)([OffsetRange(topic, partition, 0, 1)]))
    assert str(refused.value) == (
        f"Kafka {topic}[{partition}] at {servers}: reading failed: authentication failed as "
        f"{kafka.username} (SCRAM-SHA-512): Authentication failed during authentication due to "
        "invalid credentials with SASL mechanism SCRAM-SHA-512"
    )
