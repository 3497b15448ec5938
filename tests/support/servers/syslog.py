"""rsyslog receiving on UDP, TCP and TLS at 127.0.0.1, writing what it gets to files for the tests.

Debian's rsyslogd runs in the foreground with a config of its own in a temporary folder: no
``imuxsock``/``imklog`` (so it leaves ``/dev/log`` and the kernel log to the system), its own
PID file and work directory, and one ruleset that writes each message twice: raw (exactly as
received, to check what a sender put on the wire) and parsed as JSON (to check rsyslog
understood it as RFC 5424/3164). TLS (RFC 5425, GnuTLS driver) listens twice with a server
certificate from the session's own CA: once asking nothing of clients, once accepting only
clients with a certificate that CA signed (mutual TLS).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from tests.support import tls
from tests.support.cache import apt_install
from tests.support.server import Server, free_port, port_open

NAME = "syslog"
T = TypeVar("T")
START_TIMEOUT = 30
# Above the 8k default, so a test can tell a sender's own limit from the receiver's truncation.
MAX_MESSAGE_SIZE = "64k"

PARSED_FIELDS = {
    "pri": "pri",
    "timestamp": "timereported",
    "hostname": "hostname",
    "app_name": "app-name",
    "procid": "procid",
    "msgid": "msgid",
    "tag": "syslogtag",
    "severity": "syslogseverity",
    "facility": "syslogfacility",
    "structured_data": "structured-data",
    "msg": "msg",
}
DATE_FORMAT = {"timereported": ' dateFormat="rfc3339"'}


def rsyslogd() -> str | None:
    """The daemon lives in /usr/sbin, which a non-root PATH may leave out."""
    return shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin")


def provision() -> None:
    """Debian's rsyslog, its GnuTLS stream driver and its Kafka output (for ``datashark
    acquire``; the service is not started in containers); quick when installed."""
    if not rsyslogd() or not gtls_driver() or not all(map(rsyslog_module, ("omkafka", "imrelp", "omrelp"))):
        apt_install("rsyslog", "rsyslog-gnutls", "rsyslog-kafka", "rsyslog-relp")


def rsyslog_module(name: str) -> Path | None:
    """One of rsyslog's loadable modules, wherever the architecture puts it."""
    return next(Path("/usr/lib").glob(f"*/rsyslog/{name}.so"), None) or next(
        Path("/usr/lib/rsyslog").glob(f"{name}.so"), None
    )


def gtls_driver() -> Path | None:
    """rsyslog's GnuTLS stream driver (package rsyslog-gnutls)."""
    return rsyslog_module("lmnsd_gtls")


def _quote(path: Path) -> str:
    return json.dumps(str(path))  # a RainerScript string literal is close enough to JSON's


@dataclass(frozen=True)
class Ports:
    """Where the test rsyslog listens, one port per input."""

    udp: int
    tcp: int
    tls: int  # RFC 5425, server authentication only
    mutual_tls: int  # RFC 5425, clients must show a certificate the session CA signed


def _tls_input(port: int, auth_mode: str, certificates: tls.Certificates) -> str:
    """An imtcp input speaking TLS through the GnuTLS driver with the session's certificates."""
    files = {"CAFile": certificates.ca, "CertFile": certificates.cert, "KeyFile": certificates.key}
    driver_files = " ".join(f"streamDriver.{name}={_quote(path)}" for name, path in files.items())
    return (
        f'input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="capture" streamDriver.name="gtls" '
        f'streamDriver.mode="1" streamDriver.authMode="{auth_mode}" {driver_files})'
    )


def write_config(folder: Path, ports: Ports, certificates: tls.Certificates) -> Path:
    """The whole config; every path is inside ``folder`` and every input listens on 127.0.0.1 only."""
    work = folder / "work"
    work.mkdir(exist_ok=True)
    parsed = "\n".join(
        f'    property(outname="{out}" name="{name}" format="jsonf"{DATE_FORMAT.get(name, "")})'
        for out, name in PARSED_FIELDS.items()
    )
    config = f"""
# processInternalMessages: rsyslogd's own notices go to the rule below, not to the system's /dev/log
global(workDirectory={_quote(work)} processInternalMessages="on" maxMessageSize="{MAX_MESSAGE_SIZE}")
module(load="imudp")
# rsyslogd notes every TCP connection opened and closed, so tests can count a sender's sockets
module(load="imtcp" notifyOnConnectionOpen="on" notifyOnConnectionClose="on")
template(name="raw" type="string" string="%rawmsg%\\n")
template(name="parsed" type="list" option.jsonf="on") {{
{parsed}
}}
ruleset(name="capture") {{
    action(type="omfile" file={_quote(folder / "messages.log")} template="raw")
    action(type="omfile" file={_quote(folder / "parsed.jsonl")} template="parsed")
}}
input(type="imudp" address="127.0.0.1" port="{ports.udp}" ruleset="capture")
input(type="imtcp" address="127.0.0.1" port="{ports.tcp}" ruleset="capture")
{_tls_input(ports.tls, "anon", certificates)}
{_tls_input(ports.mutual_tls, "x509/certvalid", certificates)}
*.* action(type="omfile" file={_quote(folder / "rsyslogd-internal.log")})
"""
    path = folder / "rsyslog.conf"
    path.write_text(config)
    return path


def rfc5424(message: str, *, app_name: str = "datashark-test", msgid: str = "-") -> str:
    """An RFC 5424 line (user.notice) the way a well-behaved sender writes it."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"<13>1 {stamp} {socket.gethostname()} {app_name} {os.getpid()} {msgid} - {message}"


@dataclass
class Syslog:
    """How to reach the test rsyslog and read what it received."""

    host: str
    udp_port: int
    tcp_port: int
    messages_path: Path
    parsed_path: Path
    tls_port: int
    mutual_tls_port: int
    certificates: tls.Certificates  # the server's, and the CA clients are to trust
    client: tls.ClientCertificate  # signed by that CA: what the mutual-TLS input accepts

    def tcp_connections(self) -> tuple[int, int]:
        """How many TCP connections rsyslogd has seen opened, and closed by their sender, so far."""
        internal = _lines(self.messages_path.with_name("rsyslogd-internal.log"))
        opened = sum("imtcp: connection established with host" in line for line in internal)
        closed = sum("closed by remote peer" in line for line in internal)
        return opened, closed

    def port(self, protocol: str) -> int:
        """The port rsyslog listens on for ``protocol`` (``udp``, ``tcp`` or ``tls``)."""
        return {"udp": self.udp_port, "tcp": self.tcp_port, "tls": self.tls_port}[protocol]

    def send_udp(self, line: str) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(line.encode(), (self.host, self.udp_port))

    def send_tcp(self, line: str, *, octet_counting: bool = True) -> None:
        """RFC 6587 framing: ``LEN SP MSG`` (octet counting) or ``MSG LF``."""
        data = line.encode()
        frame = f"{len(data)} ".encode() + data if octet_counting else data + b"\n"
        with socket.create_connection((self.host, self.tcp_port), timeout=5) as sock:
            sock.sendall(frame)

    def send_tls(self, line: str) -> None:
        """RFC 5425: octet counting over TLS, trusting the session CA, to the server-auth input."""
        data = line.encode()
        context = ssl.create_default_context(cafile=self.certificates.ca)
        plain = socket.create_connection((self.host, self.tls_port), timeout=5)
        with plain, context.wrap_socket(plain, server_hostname=self.host) as sock:
            sock.sendall(f"{len(data)} ".encode() + data)

    def messages(self) -> list[str]:
        """Every raw message received so far, oldest first (one per line)."""
        return _lines(self.messages_path)

    def parsed(self) -> list[dict[str, str]]:
        """Every message received so far as rsyslog parsed it (see ``PARSED_FIELDS``)."""
        return [json.loads(line) for line in _lines(self.parsed_path) if line.strip()]

    def wait_for(self, n: int, *, containing: str = "", timeout: float = 20) -> list[str]:
        """The raw messages containing ``containing`` once there are at least ``n`` of them.

        The server is shared by the whole session, so tests pick out their own messages
        by a unique token rather than counting everything received.
        """
        return _wait(
            self.messages, lambda line: containing in line, n, f"messages containing {containing!r}", timeout
        )

    def wait_for_parsed(self, n: int, *, containing: str = "", timeout: float = 20) -> list[dict[str, str]]:
        """As ``wait_for``, for the parsed entries whose ``msg`` contains ``containing``: rsyslog
        writes the parsed file after the raw one, so it may lag behind it."""
        return _wait(
            self.parsed,
            lambda entry: containing in entry["msg"],
            n,
            f"parsed msgs containing {containing!r}",
            timeout,
        )


def _lines(path: Path) -> list[str]:
    """Split on LF only: ``splitlines`` would also cut a message at U+2028 or U+0085."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    return text.split("\n")[:-1] if text else []


def _wait(
    read: Callable[[], list[T]], wanted: Callable[[T], bool], n: int, what: str, timeout: float
) -> list[T]:
    deadline = time.monotonic() + timeout
    while True:
        found = [item for item in read() if wanted(item)]
        if len(found) >= n:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(
                f"rsyslog received {len(found)} of {n} {what} in {timeout:.0f}s; all it has: {read()[-20:]}"
            )
        time.sleep(0.1)


def _probe(syslog: Syslog) -> bool:
    """Ready when a message sent over each transport (UDP, TCP, TLS) has reached the file."""
    if not all(port_open(port) for port in (syslog.tcp_port, syslog.tls_port, syslog.mutual_tls_port)):
        return False
    token = uuid.uuid4().hex
    syslog.send_udp(rfc5424(f"probe udp {token}", app_name="datashark-probe"))
    syslog.send_tcp(rfc5424(f"probe tcp {token}", app_name="datashark-probe"))
    syslog.send_tls(rfc5424(f"probe tls {token}", app_name="datashark-probe"))
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if len([line for line in syslog.messages() if token in line]) >= 3:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def syslog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Syslog]:
    """rsyslogd for the session, on free ports, proven to receive over UDP, TCP and TLS."""
    provision()
    folder = tmp_path_factory.mktemp("rsyslog")
    certificates = tls.make_certificates(folder / "tls")
    ports = Ports(_free_udp_port(), free_port(), free_port(), free_port())
    config = write_config(folder, ports, certificates)
    command = [rsyslogd() or "rsyslogd", "-n", "-f", str(config), "-i", str(folder / "rsyslogd.pid")]
    server = Server(NAME, command, folder / "rsyslogd.out")
    info = Syslog(
        "127.0.0.1",
        ports.udp,
        ports.tcp,
        folder / "messages.log",
        folder / "parsed.jsonl",
        ports.tls,
        ports.mutual_tls,
        certificates,
        tls.make_client_certificate(certificates, "datashark-client"),
    )
    try:
        server.wait_until(
            lambda: _probe(info), timeout=START_TIMEOUT, what="a UDP, a TCP and a TLS probe arrived"
        )
        yield info
    finally:
        server.stop()


def _free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that nothing is bound to right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
