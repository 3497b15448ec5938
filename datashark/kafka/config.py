"""Kafka settings: one set of keys for the global stream and for ``[in_kafka]`` overrides.

``[in_kafka] topics = x`` means the same as ``kafka.topics = x`` in datashark.conf, and an
override inherits every key it does not set from the global ones. The original's ZooKeeper-era
keys are understood where they still mean something (``kafka.queue.name`` is the topic,
``kafka.consumer.name`` the group) and answered with what to write instead where they don't.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from datashark.errors import ConfLocation

# key -> (configspec check, default). Security keys use librdkafka's names, which Kafka's own
# documentation mostly shares; each client gets them translated (see ``client_options``).
KEYS: dict[str, tuple[str, str]] = {
    "bootstrap.servers": ("string", "None"),
    "topics": ("string", "None"),
    "group.id": ("string", "None"),
    "starting.offsets": ('option("earliest", "latest"', '"latest"'),
    "max.records.per.partition": ("integer(min=1", "100000"),
    "client": ('option("auto", "kafka-python", "confluent-kafka"', '"auto"'),
    "security.protocol": ('option("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"', '"PLAINTEXT"'),
    "sasl.mechanism": ('option("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"', "None"),
    "sasl.username": ("string", "None"),
    "sasl.password": ("string", "None"),
    "ssl.ca.location": ("string", "None"),
    "ssl.certificate.location": ("string", "None"),
    "ssl.key.location": ("string", "None"),
    "ssl.key.password": ("string", "None"),
    "ssl.check.hostname": ("boolean", "True"),
    # SASL_PLAINTEXT sends the password unencrypted: refused unless this says it is meant.
    "allow_insecure": ("boolean", "False"),
}
SECURITY_KEYS = tuple(key for key in KEYS if key.startswith(("security.", "sasl.", "ssl.")))
DEFAULT_GROUP = "consumer-datashark"

# The original's keys in datashark.conf and in [in_kafka].
GLOBAL_LEGACY_SPEC = (
    "zookeeper.host = string(default=None)",
    "zookeeper.port = integer(min=1, max=65535, default=None)",
    "kafka.consumer.name = string(default=None)",
    "kafka.queue.name = string(default=None)",
    "kafka.partitions = integer(min=1, default=None)",
)
OVERRIDE_LEGACY_SPEC = (
    "host = string(default=None)",
    "port = integer(min=1, max=65535, default=None)",
    "topic = string(default=None)",
    "partitions = integer(min=1, default=None)",
)
NO_ZOOKEEPER = "Kafka 4 has no ZooKeeper and dataShark talks to the brokers"


def spec(prefix: str = "", *, defaults: bool = True) -> list[str]:
    """configspec lines for the Kafka keys; without defaults, unset keys stay None (inherit)."""

    def line(key: str, check: str, default: str) -> str:
        value = default if defaults else "None"
        return f"{prefix}{key} = {check}{', ' if '(' in check else '('}default={value})"

    return [line(key, check, default) for key, (check, default) in KEYS.items()]


@dataclass(frozen=True)
class KafkaConfig:
    """Where a Kafka stream reads from and how; hashable, so equal configs share one stream."""

    bootstrap_servers: tuple[str, ...]
    topics: tuple[str, ...]
    group_id: str
    starting_offsets: str
    max_records_per_partition: int
    client: str
    security: tuple[tuple[str, Any], ...] = field(default=(), repr=False)  # holds passwords

    def describe(self) -> str:
        return (
            f"topics {', '.join(self.topics)} at {', '.join(self.bootstrap_servers)}, group {self.group_id}"
        )

    def kafka_python_options(self) -> dict[str, Any]:
        """Options for kafka-python's clients (its own spelling of the security keys)."""
        names = {
            "security.protocol": "security_protocol",
            "sasl.mechanism": "sasl_mechanism",
            "sasl.username": "sasl_plain_username",
            "sasl.password": "sasl_plain_password",
            "ssl.ca.location": "ssl_cafile",
            "ssl.certificate.location": "ssl_certfile",
            "ssl.key.location": "ssl_keyfile",
            "ssl.key.password": "ssl_password",
            "ssl.check.hostname": "ssl_check_hostname",
        }
        options = {names[key]: value for key, value in self.security}
        return {"bootstrap_servers": list(self.bootstrap_servers), **options}

    def librdkafka_options(self) -> dict[str, Any]:
        """Options for confluent-kafka (librdkafka's names; hostname checking is its own key)."""
        options = {key: value for key, value in self.security if key != "ssl.check.hostname"}
        if not dict(self.security).get("ssl.check.hostname", True):
            options["ssl.endpoint.identification.algorithm"] = "none"
        return {"bootstrap.servers": ",".join(self.bootstrap_servers), **options}


def global_config(conf: Mapping[str, Any], where: ConfLocation) -> KafkaConfig | None:
    """The global stream's config from datashark.conf's ``kafka.*`` keys; None when not set up."""
    values = {key: conf[f"kafka.{key}"] for key in KEYS}
    values["topics"] = _one_of(conf, "kafka.topics", "kafka.queue.name", where)
    values["group.id"] = _one_of(conf, "kafka.group.id", "kafka.consumer.name", where) or DEFAULT_GROUP
    if not values["bootstrap.servers"]:
        if conf["zookeeper.host"]:
            raise where.at("zookeeper.host").error(
                f"{NO_ZOOKEEPER}: write kafka.bootstrap.servers = <broker>:9092 instead"
            )
        return None
    return _config(values, where, "kafka.")


def global_notes(conf: Mapping[str, Any]) -> list[str]:
    """What the original's keys no longer do, for a notice at start."""
    notes = []
    if conf["zookeeper.host"] or conf["zookeeper.port"]:
        notes.append(f"zookeeper.host/zookeeper.port are ignored: {NO_ZOOKEEPER} (kafka.bootstrap.servers)")
    if conf["kafka.partitions"]:
        notes.append("kafka.partitions is ignored: each Kafka partition is read by its own Spark task")
    return notes


def override_config(
    section: Mapping[str, Any], inherited: Mapping[str, Any], where: ConfLocation
) -> KafkaConfig:
    """An ``[in_kafka]`` section over the global values (``inherited``: un-prefixed keys)."""
    if section["host"] or section["port"]:
        raise where.error(
            f"keys 'host'/'port' named ZooKeeper: {NO_ZOOKEEPER}: write "
            "bootstrap.servers = <broker>:9092 instead"
        )
    values = dict(inherited)
    values.update({key: section[key] for key in KEYS if section[key] is not None})
    if section["topic"] and section["topics"]:
        raise where.error("set 'topics' or the original's 'topic', not both")
    values["topics"] = section["topics"] or section["topic"]
    if not values["bootstrap.servers"]:
        raise where.at("bootstrap.servers").error(
            "is required (here, or as kafka.bootstrap.servers in datashark.conf)"
        )
    return _config(values, where, "")


def inherited_values(conf: Mapping[str, Any], where: ConfLocation) -> dict[str, Any]:
    """datashark.conf's Kafka values under their ``[in_kafka]`` names, for overrides to inherit."""
    values = {key: conf[f"kafka.{key}"] for key in KEYS}
    values["group.id"] = _one_of(conf, "kafka.group.id", "kafka.consumer.name", where) or DEFAULT_GROUP
    return values


def _one_of(conf: Mapping[str, Any], key: str, legacy: str, where: ConfLocation) -> Any:
    if conf[key] and conf[legacy] and conf[key] != conf[legacy]:
        raise where.error(f"keys '{key}' and '{legacy}' disagree: keep '{key}' only")
    return conf[key] or conf[legacy]


def _config(values: Mapping[str, Any], where: ConfLocation, prefix: str) -> KafkaConfig:
    servers = _split(values["bootstrap.servers"])
    topics = _split(values["topics"] or "")
    if not topics:
        raise where.at(f"{prefix}topics").error("is required: the topic(s) to read, comma-separated")
    bad = [server for server in servers if not _is_host_port(server)]
    if bad:
        raise where.at(f"{prefix}bootstrap.servers").error(f"expected host:port, got {', '.join(bad)}")
    security = tuple((key, values[key]) for key in SECURITY_KEYS if values[key] is not None)
    protocol = values["security.protocol"]
    if protocol.startswith("SASL") and not (values["sasl.mechanism"] and values["sasl.username"]):
        raise where.error(
            f"security.protocol = {protocol} needs '{prefix}sasl.mechanism' and '{prefix}sasl.username'"
        )
    if protocol == "SASL_PLAINTEXT" and not values["allow_insecure"]:
        raise where.at(f"{prefix}allow_insecure").error(
            "security.protocol = SASL_PLAINTEXT sends the password unencrypted: "
            f"use SASL_SSL, or set {prefix}allow_insecure = true"
        )
    return KafkaConfig(
        bootstrap_servers=servers,
        topics=topics,
        group_id=values["group.id"],
        starting_offsets=values["starting.offsets"],
        max_records_per_partition=values["max.records.per.partition"],
        client=values["client"],
        security=security,
    )


def _split(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _is_host_port(server: str) -> bool:
    host, _, port = server.rpartition(":")
    return bool(host) and port.isdigit() and 0 < int(port) < 65536
