"""A one-node Kafka 4 broker in KRaft combined mode (broker and controller in one JVM).

The jars come from Maven Central rather than a release tarball, which this workplace
cannot download; ``kafka.Kafka`` and ``kafka.tools.StorageTool`` are the same classes the
tarball's scripts start. Kafka's pom brings log4j-core but no SLF4J binding, so without
``log4j-slf4j-impl`` the broker would log nothing and a failed start would show no reason.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.services.cache import run_checked
from tests.services.maven import Artifact, copy_dependencies
from tests.services.server import Server, free_port

NAME = "kafka"
VERSION = "4.4.0"
LOG4J_VERSION = "2.25.5"  # the log4j-core that kafka_2.13 4.4.0 depends on
NODE_ID = 1
START_TIMEOUT = 120  # seconds; a cold JVM on a busy 2-core machine, usually about 5

# Kafka 4 still logs through SLF4J 1.7, hence the SLF4J 1 binding (not log4j-slf4j2-impl).
ARTIFACTS = [
    Artifact("org.apache.kafka", "kafka_2.13", VERSION),
    Artifact("org.apache.logging.log4j", "log4j-slf4j-impl", LOG4J_VERSION),
]

LOG4J_CONFIG = """\
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = console
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


@dataclass(frozen=True)
class KafkaBroker:
    """How tests reach the broker; ``log_path`` is its combined stdout/stderr and log4j output."""

    bootstrap_servers: str
    log_path: Path


def provision() -> Path:
    """The folder of broker jars, fetched once into the cache."""
    return copy_dependencies(f"kafka-{VERSION}", ARTIFACTS)


def _java() -> str:
    """Kafka 4 needs Java 17+; prefer JAVA_HOME like Kafka's own scripts do."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if not java:
        raise RuntimeError("java (17 or newer) is needed to run the Kafka test broker")
    return java


def _cluster_id() -> str:
    """A Kafka Uuid as StorageTool's ``random-uuid`` prints it, without starting a JVM for it."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _server_properties(folder: Path, port: int, controller_port: int) -> str:
    """Single-node settings: replication factors of 1 (the defaults of 3 cannot be met) and
    no rebalance delay, so that a consumer group starts consuming at once."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": NODE_ID,
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": folder / "data",
        "num.partitions": 1,
        "auto.create.topics.enable": "true",
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


def _serves(bootstrap_servers: str) -> bool:
    """True once a client can bootstrap, the broker is registered (unfenced) and metadata works."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=2000, request_timeout_ms=2000
    )
    try:
        brokers = admin.describe_cluster()["brokers"]
        admin.list_topics()
        return any(broker["broker_id"] == NODE_ID for broker in brokers)
    finally:
        admin.close()


@contextlib.contextmanager
def running_broker(folder: Path) -> Iterator[KafkaBroker]:
    """A fresh broker formatted in ``folder``, stopped by PID on exit (tests and bench/ share it)."""
    classpath = f"{provision()}/*"
    folder.mkdir(parents=True, exist_ok=True)
    port, controller_port = free_port(), free_port()
    properties = folder / "server.properties"
    properties.write_text(_server_properties(folder, port, controller_port))
    (folder / "log4j2.properties").write_text(LOG4J_CONFIG)
    # Small heap, serial GC and C1 only: a test broker carries little data and should start fast.
    java = [_java(), "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    java += [
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
        "-cp",
        classpath,
    ]
    run_checked(
        [*java, "kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(properties)],
        what="formatting the Kafka test broker's storage",
    )
    server = Server(NAME, [*java, "kafka.Kafka", str(properties)], folder / "kafka.log", cwd=folder)
    try:
        bootstrap_servers = f"127.0.0.1:{port}"
        server.wait_until(lambda: _serves(bootstrap_servers), timeout=START_TIMEOUT, what="serving metadata")
        yield KafkaBroker(bootstrap_servers, server.log_path)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A fresh broker for the session."""
    with running_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker
