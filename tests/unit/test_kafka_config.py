"""Kafka settings: the global stream's keys, [in_kafka] overrides, and the original's keys."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from datashark.config.settings import load_settings
from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from datashark.run.prepare import prepare
from tests.unit.conftest import REPO, usecase_conf, write

STREAMING = {"type": "streaming", "file": None, "training": "data.txt"}


def settings_with(home: Path, text: str):
    """Settings from ``text`` as datashark.conf, with the repository's plugins."""
    write(home / "datashark.conf", text)
    return dataclasses.replace(load_settings(home), home=REPO)


def kafka_input(home: Path, make_usecase, datashark_conf: str, usecase_extra: str = "", **keys):
    settings = settings_with(home, datashark_conf)
    conf = make_usecase(conf=usecase_conf(usecase_extra, **{**STREAMING, **keys}))
    return prepare(settings, read_usecase(conf)).source


def test_global_stream_from_datashark_conf(home, make_usecase):
    source = kafka_input(
        home,
        make_usecase,
        "kafka.bootstrap.servers = b1:9092, b2:9093\nkafka.topics = logs, dns\nkafka.group.id = soc\n",
    )
    config = source.config
    assert config.bootstrap_servers == ("b1:9092", "b2:9093")
    assert config.topics == ("logs", "dns")
    assert (config.group_id, config.starting_offsets, config.max_records_per_partition) == (
        "soc",
        "latest",
        100000,
    )
    assert source.description.startswith(
        "Global Kafka Stream (topics logs, dns at b1:9092, b2:9093, group soc"
    )


def test_the_originals_queue_and_consumer_names_mean_topic_and_group(home, make_usecase):
    conf = (
        "kafka.bootstrap.servers = b:9092\nkafka.queue.name = logs_queue\nkafka.consumer.name = consumer-x\n"
    )
    config = kafka_input(home, make_usecase, conf).config
    assert (config.topics, config.group_id) == (("logs_queue",), "consumer-x")


def test_group_defaults_to_the_originals_consumer_name(home, make_usecase):
    config = kafka_input(home, make_usecase, "kafka.bootstrap.servers = b:9092\nkafka.topics = t\n").config
    assert config.group_id == "consumer-datashark"


def test_zookeeper_without_bootstrap_servers_says_what_to_write(home, make_usecase):
    with pytest.raises(
        ConfigError,
        match=r"datashark.conf: key 'zookeeper.host': Kafka 4 has no ZooKeeper.*"
        r"kafka.bootstrap.servers = <broker>:9092",
    ):
        kafka_input(
            home, make_usecase, "zookeeper.host = 127.0.0.1\nzookeeper.port = 2181\nkafka.queue.name = q\n"
        )


def test_zookeeper_keys_alongside_bootstrap_servers_are_a_notice(home, make_usecase, capsys):
    conf = "zookeeper.host = zk\nkafka.partitions = 4\nkafka.bootstrap.servers = b:9092\nkafka.topics = t\n"
    kafka_input(home, make_usecase, conf)
    err = capsys.readouterr().err
    assert "zookeeper.host/zookeeper.port are ignored" in err
    assert "kafka.partitions is ignored" in err


def test_a_batch_only_setup_may_keep_its_old_zookeeper_keys(home):
    settings = settings_with(home, "zookeeper.host = 127.0.0.1\nzookeeper.port = 2181\n")
    assert settings.hdfs_port == 9000


def test_streaming_without_input_or_global_stream_is_a_config_error(home, make_usecase):
    with pytest.raises(
        ConfigError, match=r"uc.conf: no 'input' and no global Kafka stream: set kafka.bootstrap"
    ):
        kafka_input(home, make_usecase, "")


def test_override_inherits_unset_keys_from_the_global_ones(home, make_usecase):
    source = kafka_input(
        home,
        make_usecase,
        "kafka.bootstrap.servers = b:9092\nkafka.topics = global\nkafka.group.id = soc\n"
        "kafka.max.records.per.partition = 5\n",
        "[in_kafka]\ntopics = mine\nstarting.offsets = earliest\n",
        input="kafka",
    )
    config = source.config
    assert (config.bootstrap_servers, config.topics, config.group_id) == (("b:9092",), ("mine",), "soc")
    assert (config.starting_offsets, config.max_records_per_partition) == ("earliest", 5)
    assert source.description.startswith("Local Kafka Stream (topics mine")


def test_override_with_the_originals_topic_key(home, make_usecase):
    source = kafka_input(
        home, make_usecase, "", "[in_kafka]\nbootstrap.servers = k:9092\ntopic = t1\n", input="kafka"
    )
    assert source.config.topics == ("t1",)


def test_override_with_zookeeper_host_and_port_says_what_to_write(home, make_usecase):
    with pytest.raises(
        ConfigError, match=r"\[in_kafka\]: keys 'host'/'port' named ZooKeeper.*bootstrap.servers"
    ):
        kafka_input(
            home,
            make_usecase,
            "",
            "[in_kafka]\nhost = zk\nport = 2181\ntopic = t\npartitions = 1\n",
            input="kafka",
        )


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ("kafka.bootstrap.servers = b:9092\n", r"key 'kafka.topics' is required"),
        ("kafka.bootstrap.servers = nohost\nkafka.topics = t\n", r"expected host:port, got nohost"),
        (
            "kafka.bootstrap.servers = b:9092\nkafka.topics = t\nkafka.starting.offsets = oldest\n",
            r"allowed: earliest",
        ),
        (
            "kafka.bootstrap.servers = b:9092\nkafka.topics = t\nkafka.security.protocol = SASL_SSL\n",
            r"needs 'kafka.sasl.mechanism' and 'kafka.sasl.username'",
        ),
        (
            "kafka.topics = a\nkafka.queue.name = b\nkafka.bootstrap.servers = b:1\n",
            r"'kafka.topics' and 'kafka.",
        ),
        ("kafka.bootstrap.server = b:9092\n", r"kafka.bootstrap.server.* is not a known key"),
    ],
)
def test_bad_kafka_settings_name_the_key(home, make_usecase, conf, message):
    with pytest.raises(ConfigError, match=message):
        kafka_input(home, make_usecase, conf)


def test_security_keys_reach_both_clients_in_their_own_spelling(home, make_usecase):
    config = kafka_input(
        home,
        make_usecase,
        "kafka.bootstrap.servers = b:9093\nkafka.topics = t\nkafka.security.protocol = SASL_SSL\n"
        "kafka.sasl.mechanism = SCRAM-SHA-512\nkafka.sasl.username = soc\nkafka.sasl.password = pw\n"
        "kafka.ssl.ca.location = /etc/ca.pem\nkafka.ssl.check.hostname = false\n",
    ).config
    assert config.kafka_python_options() == {
        "bootstrap_servers": ["b:9093"],
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "soc",
        "sasl_plain_password": "pw",
        "ssl_cafile": "/etc/ca.pem",
        "ssl_check_hostname": False,
    }
    assert config.librdkafka_options() == {
        "bootstrap.servers": "b:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "soc",
        "sasl.password": "pw",
        "ssl.ca.location": "/etc/ca.pem",
        "ssl.endpoint.identification.algorithm": "none",
    }


def test_hostname_verification_is_on_unless_turned_off(home, make_usecase):
    config = kafka_input(home, make_usecase, "kafka.bootstrap.servers = b:9093\nkafka.topics = t\n").config
    assert config.kafka_python_options()["ssl_check_hostname"] is True
    assert "ssl.endpoint.identification.algorithm" not in config.librdkafka_options()
