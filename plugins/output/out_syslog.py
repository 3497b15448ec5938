"""Syslog output: one message per result row, its MSG the row's JSON document.

RFC 5424 (or RFC 3164) over UDP, over TCP with RFC 6587 framing, or over TLS (RFC 5425: octet
counting, the server's certificate and name verified, optionally a client certificate for mutual
TLS). Each partition is sent from its executor through one socket of its own, opened on the
first row and closed when the partition is done, so no connection outlives its batch and no
batch is sent twice.

Choices a receiver can rely on:

- TIMESTAMP is the batch time (UTC, ``Z``), equal to the document's ``@timestamp``, so a
  replayed batch carries the time it was computed for; RFC 3164 gets the same instant in local time.
- PROCID is ``-`` (the sender is whichever executor process ran the partition: meaningless to
  the reader); MSGID is the title as a slug; structured data is ``-``.
- MSG is compact UTF-8 JSON without a BOM: RFC 5424 allows MSG-ANY, and a BOM in front of the
  JSON would make receivers' JSON parsers reject it. No trailing NUL.
- Over UDP a message above ``UDP_MAX_BYTES`` is dead-lettered, not truncated: cut JSON is garbage.
  UDP is fire-and-forget; TCP and TLS report a receiver that is down, after ``TCP_ATTEMPTS``.
- TLS refuses a server it cannot verify at once, without retrying: a certificate does not get
  better with time. Under TLS 1.3 a server checks the client's certificate after the client is
  done with the handshake and RFC 5425 receivers never answer, so a server refusing our client
  certificate drops the connection unseen: its own log says so.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from datashark.plugin_api import OutputBatch, OutputPlugin, debug_print
from datashark.sinks import syslog_format
from datashark.sinks.documents import document, json_scalar

if TYPE_CHECKING:
    from datashark.config.usecase import UseCase

UDP_MAX_BYTES = 8192  # what RFC 5426 asks receivers to accept, and rsyslog's default maxMessageSize
TCP_MAX_BYTES = 1 << 20  # sanity only: a receiver needs a maxMessageSize this large to keep it whole
TCP_ATTEMPTS = 3
TCP_BACKOFF_SECONDS = 0.5  # doubled after each failed attempt
TCP_TIMEOUT_SECONDS = 10
TLS_CLOSE_SECONDS = 2  # how long a TLS close waits for the receiver to take its close_notify
FORMAT_NAMES = {"rfc5424": "RFC 5424", "rfc3164": "RFC 3164"}
DEFAULT_PORTS = {"udp": 514, "tcp": 514, "tls": 6514}  # 6514: RFC 5425's port
TLS_KEYS = ("ca_file", "cert_file", "key_file", "server_name")
_SSL_NOISE = re.compile(r"^\[[A-Z0-9_]+(: [A-Z0-9_]+)?\] | \(_ssl\.c:\d+\)$")


class Plugin(OutputPlugin):
    CONFIGSPEC = (
        'host = string(min=1, default="127.0.0.1")',
        "port = integer(min=1, max=65535, default=None)",
        'protocol = option("udp", "tcp", "tls", default="udp")',
        'framing = option("octet-counting", "newline", default="octet-counting")',
        'format = option("rfc5424", "rfc3164", default="rfc5424")',
        'facility = string(min=1, default="13")',
        'severity = string(min=1, default="info")',
        'app_name = string(min=1, default="datashark")',
        "hostname = string(default=None)",
        'pkey = string(min=1, default="source_ip")',
        'score = string(min=1, default="anomaly_score")',
        "ca_file = string(min=1, default=None)",
        "cert_file = string(min=1, default=None)",
        "key_file = string(min=1, default=None)",
        "server_name = string(min=1, default=None)",
    )

    def __init__(self, conf: dict[str, Any], usecase: UseCase) -> None:
        super().__init__(conf, usecase)
        facility = self._level(conf, "facility", syslog_format.FACILITIES, 23)
        severity = self._level(conf, "severity", syslog_format.SEVERITIES, 7)
        hostname = conf["hostname"] or local_hostname()
        self._check_header_field(conf, "hostname", hostname, syslog_format.MAX_HOSTNAME)
        self._check_header_field(conf, "app_name", conf["app_name"], syslog_format.MAX_APP_NAME)
        if conf["format"] == "rfc3164" and set(conf["app_name"]) & set(":[]"):
            raise self.location.at("app_name").error("must not contain ':', '[' or ']' for rfc3164")
        protocol = conf["protocol"]
        if protocol != "tls":
            self._check_no_tls_keys(conf)
        tls = self._tls(conf, usecase) if protocol == "tls" else None
        port = conf["port"] or DEFAULT_PORTS[protocol]
        self.endpoint = Endpoint(protocol, conf["host"], port, conf["framing"], tls)
        self.layout = Layout(
            conf["format"],
            syslog_format.pri(facility, severity),
            hostname,
            conf["app_name"],
            syslog_format.msgid(self.title),
        )

    def _tls(self, conf: dict[str, Any], usecase: UseCase) -> TlsFiles:
        """The TLS settings, each file checked here on the driver: a bad one is a ConfigError
        before Spark starts, not a failed batch on an executor."""
        if conf["framing"] != "octet-counting":
            raise self.location.at("framing").error("protocol = tls frames by octet counting (RFC 5425)")
        if conf["key_file"] and not conf["cert_file"]:
            raise self.location.at("key_file").error("needs cert_file, the certificate of that key")
        paths = {key: usecase.resolve(conf[key]) if conf[key] else None for key in TLS_KEYS[:3]}
        tls = TlsFiles(**paths, server_name=conf["server_name"] or conf["host"])
        for key, path in paths.items():
            if path is not None:
                self._check_readable(key, path)
        try:
            tls.context()
        except TlsFileError as err:
            raise self.location.at(err.key).error(f"{err.path}: {err.reason}") from None
        return tls

    def _check_no_tls_keys(self, conf: dict[str, Any]) -> None:
        """TLS keys left in a conf that does not use TLS would be a silent surprise."""
        for key in TLS_KEYS:
            if conf[key] is not None:
                raise self.location.at(key).error("only used with protocol = tls")

    def _check_readable(self, key: str, path: str) -> None:
        try:
            with open(path, "rb"):
                pass
        except OSError as err:
            raise self.location.at(key).error(f"cannot read {path}: {describe(err)}") from None

    def _level(self, conf: dict[str, Any], key: str, names: dict[str, int], highest: int) -> int:
        try:
            return syslog_format.level(conf[key], names, highest)
        except ValueError as err:
            raise self.location.at(key).error(f"{err}") from None

    def _check_header_field(self, conf: dict[str, Any], key: str, value: str, longest: int) -> None:
        problem = syslog_format.header_field_problem(value, longest)
        if problem:
            source = "" if conf[key] else f" (the machine's name {value!r}; set {key})"
            raise self.location.at(key).error(f"{problem}{source}")

    @property
    def destination(self) -> str:
        framing = f", {self.endpoint.framing}" if self.endpoint.protocol != "udp" else ""
        return f"Syslog {self.endpoint} ({FORMAT_NAMES[self.layout.format]}{framing})"

    def partition_writer(self, batch: OutputBatch) -> Callable[[Iterator[tuple]], int]:
        return PartitionWriter(self.endpoint, self.layout, batch, self)


def local_hostname() -> str:
    """The driver's FQDN when it has one, else its host name: ``getfqdn()`` says ``localhost``
    on machines whose name only resolves to a loopback address."""
    fqdn = socket.getfqdn()
    return fqdn if "." in fqdn and not fqdn.startswith("localhost") else socket.gethostname()


class TlsFileError(Exception):
    """A CA, certificate or key file that cannot be used: which key named it, and why."""

    def __init__(self, key: str, path: str, reason: str) -> None:
        super().__init__(f"{key} {path}: {reason}")
        self.key, self.path, self.reason = key, path, reason


@dataclass(frozen=True)
class TlsFiles:
    """What a TLS connection trusts (``ca_file``, else the system's CAs), the name it expects in
    the server's certificate (``server_name``) and the client certificate it presents, if any.

    Paths, not contents: each executor reads them when it connects (at the same path on every
    worker of a cluster), so a private key never travels inside a task.
    """

    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    server_name: str

    def context(self) -> ssl.SSLContext:
        """A client context verifying the server (TLS 1.2 or later); TlsFileError for a bad file."""
        try:  # CERT_REQUIRED and check_hostname; ca_file replaces the system's CAs
            context = ssl.create_default_context(cafile=self.ca_file)
        except (ssl.SSLError, OSError) as err:
            raise TlsFileError("ca_file", str(self.ca_file), describe(err)) from None
        if self.cert_file is not None:
            self._load_client_certificate(context)
        return context

    def _load_client_certificate(self, context: ssl.SSLContext) -> None:
        cert_file = str(self.cert_file)
        try:  # loading it as a CA is the one check OpenSSL offers of "a PEM certificate is in it"
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cafile=cert_file)
        except ssl.SSLError:
            raise TlsFileError("cert_file", cert_file, "no PEM certificate in it") from None
        except OSError as err:
            raise TlsFileError("cert_file", cert_file, describe(err)) from None
        key, path = ("key_file", self.key_file) if self.key_file else ("cert_file", cert_file)
        try:
            context.load_cert_chain(cert_file, self.key_file, password=_no_passphrase)
        except _EncryptedKeyError:
            raise TlsFileError(key, path, "the private key is encrypted: give it unencrypted") from None
        except ssl.SSLError as err:
            reason = describe(err)
            if reason == "PEM lib":  # OpenSSL's words for "no PEM private key where expected"
                reason = "no PEM private key in it" if self.key_file else "no private key in it: set key_file"
            raise TlsFileError(key, path, reason) from None
        except OSError as err:
            raise TlsFileError(key, path, describe(err)) from None


class _EncryptedKeyError(Exception):
    """Raised by ``_no_passphrase``: OpenSSL would otherwise ask for a passphrase on the terminal."""


def _no_passphrase() -> bytes:
    raise _EncryptedKeyError


@dataclass(frozen=True)
class Endpoint:
    """Where messages go, how they are framed on TCP and TLS, and how TLS is secured."""

    protocol: str
    host: str
    port: int
    framing: str
    tls: TlsFiles | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.protocol}://{host}:{self.port}"

    @property
    def max_bytes(self) -> int:
        return UDP_MAX_BYTES if self.protocol == "udp" else TCP_MAX_BYTES

    def sender(self) -> UdpSender | TcpSender:
        senders = {"udp": UdpSender, "tcp": TcpSender, "tls": TlsSender}
        return senders[self.protocol](self)


@dataclass(frozen=True)
class Layout:
    """The header every message of a use case shares but for its timestamp."""

    format: str
    prival: int
    hostname: str
    app_name: str
    msg_id: str

    def header(self, batch: OutputBatch) -> bytes:
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

    def __init__(self, endpoint: Endpoint, layout: Layout, batch: OutputBatch, plugin: Plugin) -> None:
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
    """Compact, and strict: NaN or Infinity in metadata would not be JSON. numpy's scalars (what
    a use case's numpy code returns) are written as the Python numbers they hold."""
    return json.dumps(
        doc, ensure_ascii=ensure_ascii, separators=(",", ":"), allow_nan=False, default=json_scalar
    )


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
    connection with back-off, then fails the batch (so a stream does not acknowledge its input).
    A TLS error (a certificate refused, a handshake failed) fails it at once."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.sock: socket.socket | None = None

    def send(self, message: bytes) -> None:
        data = syslog_format.frame(message, self.endpoint.framing)
        for attempt in range(TCP_ATTEMPTS):
            try:
                if self.sock is None:
                    self.sock = self.connect()
                self.sock.sendall(data)
                return
            except OSError as err:
                self.close()
                if refused_by_tls(err):
                    raise ConnectionError(f"syslog {self.endpoint}: {describe(err)}") from None
                if attempt + 1 == TCP_ATTEMPTS:
                    raise ConnectionError(
                        f"syslog {self.endpoint}: {describe(err)} (tried {TCP_ATTEMPTS} times)"
                    ) from None
                time.sleep(TCP_BACKOFF_SECONDS * 2**attempt)

    def connect(self) -> socket.socket:
        return socket.create_connection((self.endpoint.host, self.endpoint.port), timeout=TCP_TIMEOUT_SECONDS)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class TlsSender(TcpSender):
    """TCP with TLS on top (RFC 5425): the server's certificate is verified against ``ca_file``
    and must name ``server_name`` (``host`` unless set); the close sends TLS's close_notify, so
    the receiver sees a clean end rather than a truncated session."""

    def connect(self) -> socket.socket:
        tls = self.endpoint.tls
        assert tls is not None  # an Endpoint with protocol "tls" always has them
        try:
            context = tls.context()
        except TlsFileError as err:  # the file changed since the driver checked it
            raise ssl.SSLError(f"{err.key} {err.path}: {err.reason}") from None
        plain = super().connect()
        try:
            return context.wrap_socket(plain, server_hostname=tls.server_name)
        except BaseException:
            plain.close()
            raise

    def close(self) -> None:
        if isinstance(self.sock, ssl.SSLSocket):
            try:
                self.sock.settimeout(TLS_CLOSE_SECONDS)
                self.sock.unwrap()
            except (OSError, ValueError):  # receivers close without answering close_notify: fine
                pass
        super().close()


def refused_by_tls(err: OSError) -> bool:
    """A certificate refused or a TLS alert: trying again would get the same answer. A connection
    cut during the handshake (EOF, a system call failing) is the network's doing and is retried."""
    transient = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
    return isinstance(err, ssl.SSLError) and not isinstance(err, transient)


def describe(err: OSError) -> str:
    """``Connection refused`` rather than ``[Errno 111] Connection refused``; for TLS,
    ``certificate verify failed: unable to get local issuer certificate`` rather than
    ``[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ... (_ssl.c:1006)``."""
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"certificate verify failed: {err.verify_message}"
    if isinstance(err, ssl.SSLError):
        return _SSL_NOISE.sub("", str(err)) or err.reason or type(err).__name__
    return err.strerror or str(err) or type(err).__name__
