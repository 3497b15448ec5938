"""A one-node Kafka 4 broker in KRaft combined mode (broker and controller in one JVM).

It has two client listeners on the same topics: PLAINTEXT, which most tests use, and
SASL_SSL, which proves dataShark's security keys end to end: TLS with a certificate from a CA
made for the session (``tests/support/tls.py``) and one user who may log in with PLAIN or
SCRAM-SHA-512, with a password drawn for the session. SCRAM credentials live in the cluster's
metadata, so they are written when the storage is formatted; PLAIN users are listed in the
listener's JAAS config. The controller listener stays PLAINTEXT.

The jars come from Maven Central rather than a release tarball, which this workplace
cannot download; ``kafka.Kafka`` and ``kafka.tools.StorageTool`` are the same classes the
tarball's scripts start. Kafka's pom brings log4j-core but no SLF4J binding, so without
``log4j-slf4j-impl`` the broker would log nothing and a failed start would show no reason.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import tls
from tests.support.cache import run_checked
from tests.support.maven import Artifact, copy_dependencies
from tests.support.server import Server, free_port

NAME = "kafka"
VERSION = "4.4.0"
LOG4J_VERSION = "2.25.5"  # the log4j-core that kafka_2.13 4.4.0 depends on
NODE_ID = 1
START_TIMEOUT = 120  # seconds; a cold JVM on a busy 2-core machine, usually about 5
USERNAME = "datashark"
SCRAM = "SCRAM-SHA-512"
SECURE_MECHANISMS = ("PLAIN", SCRAM)  # what the SASL_SSL listener accepts

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
    """How tests reach the broker: PLAINTEXT at ``bootstrap_servers``; SASL_SSL at
    ``secure_bootstrap_servers``, its certificate signed by ``ca``, for ``username`` with
    ``password`` (PLAIN or SCRAM-SHA-512). ``log_path`` is its stdout/stderr and log4j output."""

    bootstrap_servers: str
    secure_bootstrap_servers: str
    ca: Path
    username: str
    password: str = field(repr=False)
    log_path: Path
    process: BrokerProcess = field(repr=False, compare=False)

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """The broker stopped (its JVM ended, its ports refusing) for the ``with`` block, then
        started again on the same storage and ports, serving before the block's exit returns."""
        self.process.stop()
        try:
            yield
        finally:
            self.process.start()

    def security_keys(self, mechanism: str = SCRAM, **changes: str | None) -> dict[str, str]:
        """dataShark's Kafka security keys (without ``kafka.``) that log in on the SASL_SSL
        listener and verify its certificate; ``changes`` replace keys, or drop them when None."""
        keys = {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
            "ssl.ca.location": str(self.ca),
            **changes,
        }
        return {key: value for key, value in keys.items() if value is not None}


def provision() -> Path:
    """The folder of broker jars, fetched once into the cache, and openssl for the certificates."""
    tls.provision()
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
    """A Kafka Uuid as StorageTool's ``random-uuid`` prints it, without starting a JVM for it.
    Like Kafka's ``Uuid.randomUuid`` it draws again when the text starts with "-": StorageTool's
    argument parser would take such an id for an option (one session in 64 failed that way)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _keystore(certificates: tls.Certificates) -> Path:
    """The server's key and certificate in one PEM file, as Kafka's PEM keystore wants them."""
    keystore = certificates.key.with_name("keystore.pem")
    keystore.write_text(certificates.key.read_text() + certificates.cert.read_text())
    return keystore


def _server_properties(folder: Path, ports: dict[str, int], keystore: Path, password: str) -> str:
    """Single-node settings: replication factors of 1 (the defaults of 3 cannot be met) and
    no rebalance delay, so that a consumer group starts consuming at once. ``ports``: one per
    listener (PLAINTEXT, SASL_SSL, CONTROLLER)."""
    clients = f"PLAINTEXT://127.0.0.1:{ports['PLAINTEXT']},SASL_SSL://127.0.0.1:{ports['SASL_SSL']}"
    settings = {
        "process.roles": "broker,controller",
        "node.id": NODE_ID,
        "controller.quorum.voters": f"{NODE_ID}@127.0.0.1:{ports['CONTROLLER']}",
        "listeners": f"{clients},CONTROLLER://127.0.0.1:{ports['CONTROLLER']}",
        "advertised.listeners": clients,
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.name.sasl_ssl.ssl.keystore.type": "PEM",
        "listener.name.sasl_ssl.ssl.keystore.location": keystore,
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": ",".join(SECURE_MECHANISMS),
        "listener.name.sasl_ssl.plain.sasl.jaas.config": (
            f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{USERNAME}="{password}";'
        ),
        f"listener.name.sasl_ssl.{SCRAM.lower()}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
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


def _serves(bootstrap_servers: str, **security: str) -> bool:
    """True once a client can bootstrap, the broker is registered (unfenced) and metadata works."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, bootstrap_timeout_ms=2000, request_timeout_ms=2000, **security
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
    ports = {listener: free_port() for listener in ("PLAINTEXT", "SASL_SSL", "CONTROLLER")}
    password = secrets.token_hex(16)
    certificates = tls.make_certificates(folder / "tls")
    properties = folder / "server.properties"
    properties.write_text(_server_properties(folder, ports, _keystore(certificates), password))
    (folder / "log4j2.properties").write_text(LOG4J_CONFIG)
    # Small heap, serial GC and C1 only: a test broker carries little data and should start fast.
    java = [_java(), "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    java += [
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
        "-cp",
        classpath,
    ]
    scram_user = f"{SCRAM}=[name={USERNAME},password={password}]"
    format_storage = ["kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(properties)]
    run_checked(
        [*java, *format_storage, "--add-scram", scram_user],
        what="formatting the Kafka test broker's storage",
    )
    plaintext = f"127.0.0.1:{ports['PLAINTEXT']}"
    secure_servers = f"127.0.0.1:{ports['SASL_SSL']}"
    # The SASL_SSL check goes through kafka-python's own options, not dataShark's mapping of
    # its keys: a mapping bug must fail the tests that prove it, not the broker's start.
    secure = {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": SCRAM,
        "sasl_plain_username": USERNAME,
        "sasl_plain_password": password,
        "ssl_cafile": str(certificates.ca),
    }
    process = BrokerProcess(
        [*java, "kafka.Kafka", str(properties)],
        folder,
        lambda: _serves(plaintext) and _serves(secure_servers, **secure),
    )
    try:
        process.start()
        yield KafkaBroker(
            bootstrap_servers=plaintext,
            secure_bootstrap_servers=secure_servers,
            ca=certificates.ca,
            username=USERNAME,
            password=password,
            log_path=folder / "kafka.log",
            process=process,
        )
    finally:
        process.stop()


class BrokerProcess:
    """The broker's JVM, which a test may stop and start again on the same storage and ports."""

    def __init__(self, command: list[str], folder: Path, serving: Callable[[], bool]) -> None:
        self.command = command
        self.folder = folder
        self.serving = serving
        self.server: Server | None = None

    def start(self) -> None:
        """Start the JVM and wait until both listeners serve metadata."""
        self.server = Server(NAME, self.command, self.folder / "kafka.log", cwd=self.folder)
        self.server.wait_until(self.serving, timeout=START_TIMEOUT, what="serving metadata on both listeners")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A fresh broker for the session."""
    with running_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker
