"""acquire.conf's settings built in code, for the tests of the rsyslog configuration made of them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from datashark.acquisition.settings import AcquireSettings, FileTarget, KafkaTarget, Listener, TlsFiles

PASSWORD = 's3cr\\et"pw-7f3c'  # a backslash and a quote, escaped in the configuration
KAFKA = KafkaTarget(
    brokers=("k1:9092", "k2:9092"),
    topic="syslog",
    options={
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "acquire",
        "sasl.password": PASSWORD,
    },
    spool_max_bytes=512 << 20,
    memory_messages=5000,
)


def acquisition(folder: Path, **changes) -> AcquireSettings:
    """Settings as acquire.conf in ``folder`` gives them: UDP and TCP on 5514, to Kafka."""
    settings = AcquireSettings(
        path=folder / "acquire.conf",
        work_dir=folder / "work",
        max_message_size=64 << 10,
        allowed_senders=(),
        listeners=(Listener("udp", "127.0.0.1", 5514), Listener("tcp", "127.0.0.1", 5514)),
        tls=None,
        kafka=KAFKA,
        files=None,
    )
    return dataclasses.replace(settings, **changes)


def tls_files(folder: Path, auth_mode: str = "x509/name", peers: tuple[str, ...] = ()) -> TlsFiles:
    (folder / "pki").mkdir(parents=True, exist_ok=True)
    for name in ("server.pem", "server.key", "ca.pem"):
        (folder / "pki" / name).write_text("-----BEGIN PLACEHOLDER-----\n")
    ca = folder / "pki" / "ca.pem" if auth_mode != "anon" else None
    return TlsFiles(
        "gtls", folder / "pki" / "server.pem", folder / "pki" / "server.key", ca, auth_mode, peers
    )


def files_output(folder: Path) -> FileTarget:
    return FileTarget(folder / "syslog", 10)
