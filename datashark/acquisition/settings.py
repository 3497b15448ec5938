"""acquire.conf read and checked: what ``datashark acquire`` configures rsyslog with.

Every problem is a ConfigError naming the file, section and key; nothing is started for a
conf with one. The ``[kafka]`` keys are those of ``[in_kafka]``, inheriting datashark.conf's.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datashark.config.settings import Settings
from datashark.config.spec import read_conf, spec_lines, validate_section
from datashark.errors import ConfLocation
from datashark.kafka import config as kafka_config

DEFAULT_TOPIC = "syslog"
SIZE = re.compile(r"(\d+)\s*([kmg]?)b?", re.IGNORECASE)
SIZE_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
PROTOCOLS = ("udp", "tcp", "tls", "relp")
TLS_CLIENTS = {"certificate": "x509/certvalid", "name": "x509/name", "anyone": "anon"}


@dataclass(frozen=True)
class Listener:
    """One socket rsyslog listens on."""

    protocol: str  # udp, tcp, tls or relp
    address: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{self.protocol}://{host}:{self.port}"


@dataclass(frozen=True)
class TlsFiles:
    """The TLS listeners' driver, certificates and client policy."""

    driver: str
    cert: Path
    key: Path
    ca: Path | None
    auth_mode: str  # rsyslog's streamDriver.authMode
    permitted_peers: tuple[str, ...] = ()


@dataclass(frozen=True)
class KafkaTarget:
    """The topic messages go to, and how to reach it (librdkafka's option names)."""

    brokers: tuple[str, ...]
    topic: str
    options: dict[str, str] = field(repr=False)  # security keys: may hold passwords
    spool_max_bytes: int
    memory_messages: int

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown: passwords."""
        return tuple(value for key, value in self.options.items() if "password" in key and value)


@dataclass(frozen=True)
class FileTarget:
    """output = files: where complete files are moved, and how often."""

    folder: Path
    rotate_seconds: int


@dataclass(frozen=True)
class AcquireSettings:
    """What ``datashark acquire`` runs rsyslog with."""

    path: Path  # acquire.conf
    work_dir: Path
    max_message_size: int
    allowed_senders: tuple[str, ...]
    listeners: tuple[Listener, ...]
    tls: TlsFiles | None
    kafka: KafkaTarget | None
    files: FileTarget | None

    @property
    def config_path(self) -> Path:
        return self.work_dir / "rsyslog.conf"

    @property
    def pid_path(self) -> Path:
        return self.work_dir / "rsyslogd.pid"

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.kafka.secrets if self.kafka is not None else ()


def load_acquire_settings(path: Path, settings: Settings) -> AcquireSettings:
    """acquire.conf at ``path``, checked; Kafka keys it does not set come from datashark.conf."""
    where = ConfLocation(str(path))
    spec = spec_lines("acquire")
    kafka_at = spec.index("[kafka]") + 1
    spec[kafka_at:kafka_at] = kafka_config.spec(defaults=False)
    conf = validate_section(read_conf(path), spec, where=where, allow_extra=False)
    folder = path.resolve().parent
    listeners = _listeners(conf["listen"], where.section("listen"))
    if not listeners:
        raise where.section("listen").error("has no listener: set udp, tcp or tls (address:port)")
    has_tls = any(listener.protocol == "tls" for listener in listeners)
    output = conf["output"]
    return AcquireSettings(
        path=path,
        work_dir=_path(folder, conf["work_dir"]),
        max_message_size=_size(conf["max_message_size"], where.at("max_message_size")),
        allowed_senders=_senders(conf["allowed_senders"], where.at("allowed_senders")),
        listeners=listeners,
        tls=_tls(conf["tls"], folder, where.section("tls")) if has_tls else None,
        kafka=_kafka(conf["kafka"], settings, where.section("kafka")) if output == "kafka" else None,
        files=_files(conf["files"], folder) if output == "files" else None,
    )


def _path(folder: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else folder / path


def _names(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def _listeners(section: dict[str, Any], where: ConfLocation) -> tuple[Listener, ...]:
    listeners = []
    for protocol in PROTOCOLS:
        for pair in _names(section[protocol]):
            address, port = _address_port(pair, where.at(protocol))
            listeners.append(Listener(protocol, address, port))
    clashes = sorted(
        {
            str(second)
            for n, first in enumerate(listeners)
            for second in listeners[n + 1 :]
            if _clash(first, second)
        }
    )
    if clashes:
        raise where.error(
            f"{', '.join(clashes)}: the same port twice over TCP or twice over UDP, on one address"
        )
    return tuple(listeners)


def _clash(first: Listener, second: Listener) -> bool:
    """Whether the two cannot both be bound: one transport, one port, and one address or a
    wildcard (0.0.0.0, ::) covering the other's address of the same family."""
    if (first.protocol == "udp") != (second.protocol == "udp") or first.port != second.port:
        return False
    if first.address == second.address:
        return True
    family = {address: ":" in address for address in (first.address, second.address)}
    wildcard = {"0.0.0.0", "::"} & set(family)
    return bool(wildcard) and family[first.address] == family[second.address]


def _address_port(pair: str, where: ConfLocation) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``."""
    found = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^\s:\[\]]+):(\d{1,5})", pair)
    if found is None:
        raise where.error(f"expected address:port (0.0.0.0:514, [::]:514), got {pair!r}")
    address = found.group(1) or found.group(3)
    port = int(found.group(2) or found.group(4))
    if not 0 < port < 65536:
        raise where.error(f"port {port} is out of range (1-65535)")
    return address, port


def _size(text: str, where: ConfLocation) -> int:
    found = SIZE.fullmatch(text.strip())
    if found is None:
        raise where.error(f"expected a size such as 64k, 1m or 2g, got {text!r}")
    return int(found.group(1)) * SIZE_FACTORS[found.group(2).lower()]


def _senders(text: str, where: ConfLocation) -> tuple[str, ...]:
    """Addresses, networks or host name patterns, as rsyslog's $AllowedSender reads them."""
    senders = _names(text)
    for sender in senders:
        if any(char in sender for char in "\"'\\ \t"):
            raise where.error(f"not an address, network or host name: {sender!r}")
        if sender[0].isdigit() or ":" in sender:
            try:
                ipaddress.ip_network(sender, strict=False)
            except ValueError as err:
                raise where.error(f"not an address or network: {err}") from None
    return senders


def _tls(section: dict[str, Any], folder: Path, where: ConfLocation) -> TlsFiles:
    for key in ("cert", "key"):
        if section[key] is None:
            raise where.at(key).error("is required by a TLS listener (a PEM file)")
    mode = TLS_CLIENTS[section["clients"]]
    if section["clients"] != "anyone" and section["ca"] is None:
        raise where.at("ca").error(
            f"is required with clients = {section['clients']}: the CA that signs senders' certificates"
        )
    peers = _names(section["permitted_peers"])
    if peers and section["clients"] != "name":
        raise where.at("permitted_peers").error(
            f"applies to clients = name only (clients = {section['clients']}): rsyslog would refuse it"
        )
    if section["clients"] == "name" and not peers:
        raise where.at("permitted_peers").error(
            "is required with clients = name: the names senders' certificates carry"
        )
    files = {key: _path(folder, section[key]) for key in ("cert", "key", "ca") if section[key] is not None}
    for key, path in files.items():
        if not path.is_file():
            raise where.at(key).error(f"file not found: {path}")
    return TlsFiles(section["driver"], files["cert"], files["key"], files.get("ca"), mode, peers)


def _kafka(section: dict[str, Any], settings: Settings, where: ConfLocation) -> KafkaTarget:
    values = {key: section[key] for key in kafka_config.KEYS}
    values["topics"] = section["topics"] or DEFAULT_TOPIC
    legacy = {"host": None, "port": None, "topic": None, "partitions": None}
    config = kafka_config.override_config({**values, **legacy}, settings.kafka_defaults(), where)
    if len(config.topics) != 1:
        raise where.at("topics").error(f"names {len(config.topics)} topics: the acquisition writes one")
    options = {
        key: str(value).lower() if isinstance(value, bool) else str(value)
        for key, value in config.librdkafka_options().items()
        if key != "bootstrap.servers"
    }
    return KafkaTarget(
        brokers=config.bootstrap_servers,
        topic=config.topics[0],
        options=options,
        spool_max_bytes=_size(section["spool.max.size"], where.at("spool.max.size")),
        memory_messages=section["memory.messages"],
    )


def _files(section: dict[str, Any], folder: Path) -> FileTarget:
    return FileTarget(_path(folder, section["folder"]), section["rotate.seconds"])
