"""Syslog output: one message per result row, its MSG the row's JSON document.

RFC 5424 (or RFC 3164) over UDP, or over TCP with RFC 6587 framing. Each partition is sent
from its executor through one socket of its own, opened on the first row and closed when
the partition is done, so no connection outlives its batch and no batch is sent twice (the
original added a handler per batch and sent the Nth batch N times).

Choices a receiver can rely on:

- TIMESTAMP is the batch time (UTC, ``Z``), equal to the document's ``@timestamp``, so a
  replayed batch carries the time it was computed for; RFC 3164 gets the same instant in local time.
- PROCID is ``-`` (the sender is whichever executor process ran the partition: meaningless to
  the reader); MSGID is the title as a slug; structured data is ``-``.
- MSG is compact UTF-8 JSON without a BOM: RFC 5424 allows MSG-ANY, and a BOM in front of the
  JSON would make receivers' JSON parsers reject it. No trailing NUL.
- Over UDP a message above ``UDP_MAX_BYTES`` is dead-lettered, not truncated: cut JSON is garbage.
  UDP is fire-and-forget; TCP reports a receiver that is down, after ``TCP_ATTEMPTS``.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from datashark import syslog_format
from datashark.documents import document
from datashark.errors import ConfigError
from datashark.plugins import Batch, OutputPlugin, debug_print

if TYPE_CHECKING:
    from datashark.usecase import UseCase

UDP_MAX_BYTES = 8192  # what RFC 5426 asks receivers to accept, and rsyslog's default maxMessageSize
TCP_MAX_BYTES = 1 << 20  # sanity only: a receiver needs a maxMessageSize this large to keep it whole
TCP_ATTEMPTS = 3
TCP_BACKOFF_SECONDS = 0.5  # doubled after each failed attempt
TCP_TIMEOUT_SECONDS = 10
FORMAT_NAMES = {"rfc5424": "RFC 5424", "rfc3164": "RFC 3164"}


class Plugin(OutputPlugin):
    CONFIGSPEC = (
        'host = string(min=1, default="127.0.0.1")',
        "port = integer(min=1, max=65535, default=514)",
        'protocol = option("udp", "tcp", default="udp")',
        'framing = option("octet-counting", "newline", default="octet-counting")',
        'format = option("rfc5424", "rfc3164", default="rfc5424")',
        'facility = string(min=1, default="13")',
        'severity = string(min=1, default="info")',
        'app_name = string(min=1, default="datashark")',
        "hostname = string(default=None)",
        'pkey = string(min=1, default="source_ip")',
        'score = string(min=1, default="anomaly_score")',
    )

    def __init__(self, conf: dict[str, Any], usecase: UseCase) -> None:
        super().__init__(conf, usecase)
        self.where = f"{usecase.path}: [out_syslog]"
        facility = self._level(conf, "facility", syslog_format.FACILITIES, 23)
        severity = self._level(conf, "severity", syslog_format.SEVERITIES, 7)
        hostname = conf["hostname"] or local_hostname()
        self._check_header_field(conf, "hostname", hostname, syslog_format.MAX_HOSTNAME)
        self._check_header_field(conf, "app_name", conf["app_name"], syslog_format.MAX_APP_NAME)
        if conf["format"] == "rfc3164" and set(conf["app_name"]) & set(":[]"):
            raise ConfigError(f"{self.where}: key 'app_name': must not contain ':', '[' or ']' for rfc3164")
        self.endpoint = Endpoint(conf["protocol"], conf["host"], conf["port"], conf["framing"])
        self.layout = Layout(
            conf["format"],
            syslog_format.pri(facility, severity),
            hostname,
            conf["app_name"],
            syslog_format.msgid(self.title),
        )

    def _level(self, conf: dict[str, Any], key: str, names: dict[str, int], highest: int) -> int:
        try:
            return syslog_format.level(conf[key], names, highest)
        except ValueError as err:
            raise ConfigError(f"{self.where}: key '{key}': {err}") from None

    def _check_header_field(self, conf: dict[str, Any], key: str, value: str, longest: int) -> None:
        problem = syslog_format.header_field_problem(value, longest)
        if problem:
            source = "" if conf[key] else f" (the machine's name {value!r}; set {key})"
            raise ConfigError(f"{self.where}: key '{key}': {problem}{source}")

    @property
    def destination(self) -> str:
        framing = f", {self.endpoint.framing}" if self.endpoint.protocol == "tcp" else ""
        return f"Syslog {self.endpoint} ({FORMAT_NAMES[self.layout.format]}{framing})"

    def partition_writer(self, batch: Batch) -> Callable[[Iterator[tuple]], int]:
        return PartitionWriter(self.endpoint, self.layout, batch, self)


def local_hostname() -> str:
    """The driver's FQDN when it has one, else its host name: ``getfqdn()`` says ``localhost``
    on machines whose name only resolves to a loopback address."""
    fqdn = socket.getfqdn()
    return fqdn if "." in fqdn and not fqdn.startswith("localhost") else socket.gethostname()


@dataclass(frozen=True)
class Endpoint:
    """Where messages go and how they are framed on TCP."""

    protocol: str
    host: str
    port: int
    framing: str

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.protocol}://{host}:{self.port}"

    @property
    def max_bytes(self) -> int:
        return UDP_MAX_BYTES if self.protocol == "udp" else TCP_MAX_BYTES

    def sender(self) -> UdpSender | TcpSender:
        return UdpSender(self) if self.protocol == "udp" else TcpSender(self)


@dataclass(frozen=True)
class Layout:
    """The header every message of a use case shares but for its timestamp."""

    format: str
    prival: int
    hostname: str
    app_name: str
    msg_id: str

    def header(self, batch: Batch) -> bytes:
        if self.format == "rfc3164":
            text = syslog_format.rfc3164_header(self.prival, batch.time, self.hostname, self.app_name)
        else:
            text = syslog_format.rfc5424_header(
                self.prival, batch.time, self.hostname, self.app_name, syslog_format.NILVALUE, self.msg_id
            )
        return text.encode("ascii")


class PartitionWriter:
    """Sends one partition's rows through one socket; runs on the executors (picklable: it keeps
    the plugin's settings, not the plugin). ``debug`` prints each message on its executor, whose
    output Spark sends to stderr in local mode."""

    def __init__(self, endpoint: Endpoint, layout: Layout, batch: Batch, plugin: Plugin) -> None:
        self.endpoint = endpoint
        self.layout = layout
        self.batch = batch
        self.title = plugin.title
        self.pkey = plugin.conf["pkey"]
        self.score = plugin.conf["score"]
        self.debug = plugin.debug

    def __call__(self, rows: Iterator[tuple]) -> int:
        header = self.layout.header(self.batch)
        sender = self.endpoint.sender()
        sent = 0
        try:
            for row in rows:
                message = self._message(header, row)
                if message is not None:
                    if self.debug:
                        debug_print(message.decode("utf-8"))
                    sender.send(message)
                    sent += 1
        finally:
            sender.close()
        return sent

    def _message(self, header: bytes, row: tuple) -> bytes | None:
        """The row's message, or None when it went to the dead letters instead."""
        doc = document(row, self.batch.utc_iso, self.title, self.pkey, self.score)
        try:
            body = _json(doc, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: escaped as JSON \udXXX, it is still valid text
            body = _json(doc, ensure_ascii=True).encode("ascii")
        except (TypeError, ValueError) as err:
            self.batch.dead_letters.add("output", f"syslog: metadata is not JSON: {err}", repr(row))
            return None
        message = header + body
        if len(message) > self.endpoint.max_bytes:
            reason = (
                f"syslog: message of {len(message)} bytes is over the {self.endpoint.max_bytes}-byte "
                f"limit of {self.endpoint.protocol}"
            )
            self.batch.dead_letters.add("output", reason, repr(row))
            return None
        return message


def _json(doc: dict[str, Any], *, ensure_ascii: bool) -> str:
    """Compact, and strict: NaN or Infinity in metadata would not be JSON."""
    return json.dumps(doc, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False)


class UdpSender:
    """One datagram per message, unconnected: a receiver that is down loses them silently
    (UDP syslog's nature), rather than failing a batch half-sent when an ICMP error comes back."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.sock: socket.socket | None = None
        self.address: Any = None

    def send(self, message: bytes) -> None:
        try:
            if self.sock is None:
                family, kind, proto, _, self.address = socket.getaddrinfo(
                    self.endpoint.host, self.endpoint.port, type=socket.SOCK_DGRAM
                )[0]
                self.sock = socket.socket(family, kind, proto)
            self.sock.sendto(message, self.address)
        except OSError as err:
            raise ConnectionError(f"syslog {self.endpoint}: {describe(err)}") from None

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


class TcpSender:
    """One connection, opened on the first message; a failed connect or send is retried on a new
    connection with back-off, then fails the batch (so a stream does not acknowledge its input)."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.sock: socket.socket | None = None

    def send(self, message: bytes) -> None:
        data = syslog_format.frame(message, self.endpoint.framing)
        for attempt in range(TCP_ATTEMPTS):
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(
                        (self.endpoint.host, self.endpoint.port), timeout=TCP_TIMEOUT_SECONDS
                    )
                self.sock.sendall(data)
                return
            except OSError as err:
                self.close()
                if attempt + 1 == TCP_ATTEMPTS:
                    raise ConnectionError(
                        f"syslog {self.endpoint}: {describe(err)} (tried {TCP_ATTEMPTS} times)"
                    ) from None
                time.sleep(TCP_BACKOFF_SECONDS * 2**attempt)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def describe(err: OSError) -> str:
    """``Connection refused`` rather than ``[Errno 111] Connection refused``."""
    return err.strerror or str(err) or type(err).__name__
