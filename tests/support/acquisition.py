"""``datashark acquire`` run as a user runs it, for the tests: a child process (rsyslogd under
it) started in its own session, stopped by PID, restarted on the same work folder.

Also the senders the tests use: ``logger`` (util-linux) and plain, octet-counted or TLS
sockets; and a reader of the acquisition topic that turns records into events.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer

from datashark.acquisition.record import syslog_event
from tests.conftest import REPO
from tests.support.server import Server, free_port, port_open

START_TIMEOUT = 30


class Acquisition:
    """One acquire.conf in ``folder`` and the ``datashark acquire`` running it."""

    def __init__(self, folder: Path, conf: str) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.conf_path = folder / "acquire.conf"
        self.conf_path.write_text(conf)
        self.conf_path.chmod(0o600)  # it may hold a Kafka password
        self.log_path = folder / "acquire.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.command = [str(REPO / "bin" / "datashark"), "acquire"]  # or ./acquire.sh

    def start(self, tcp_port: int) -> None:
        """Start and wait until rsyslogd accepts connections on ``tcp_port``."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*self.command, str(self.conf_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(tcp_port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"datashark acquire did not start:\n{self.log()}")
            time.sleep(0.1)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; its exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self.process = None
        return code

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def listen_conf(work: Path, *, udp: int | None = None, tcp: int | None = None, tls: int | None = None) -> str:
    lines = [f"work_dir = {work}", "[listen]"]
    for name, port in (("udp", udp), ("tcp", tcp), ("tls", tls)):
        if port is not None:
            lines.append(f"{name} = 127.0.0.1:{port}")
    return "\n".join(lines) + "\n"


def files_conf(work: Path, tcp: int, folder: Path, rotate_seconds: int) -> str:
    """A standalone acquisition: TCP on ``tcp``, records into files in ``folder``."""
    return (
        "output = files\n"
        + listen_conf(work, tcp=tcp)
        + f"[files]\nfolder = {folder}\nrotate.seconds = {rotate_seconds}\n"
    )


def kafka_conf(bootstrap_servers: str, topic: str) -> str:
    return f"[kafka]\nbootstrap.servers = {bootstrap_servers}\ntopics = {topic}\n"


def ports(count: int) -> list[int]:
    return [free_port() for _ in range(count)]


def logger(port: int, message: str, *options: str) -> None:
    """util-linux ``logger`` sending one message to 127.0.0.1:``port``."""
    subprocess.run(["logger", "-n", "127.0.0.1", "-P", str(port), *options, message], check=True, timeout=30)


def octet_counted(messages: Iterable[str]) -> bytes:
    """RFC 6587 octet-counting framing, as RFC 5425 (TLS) requires."""
    frames = []
    for message in messages:
        data = message.encode()
        frames.append(f"{len(data)} ".encode() + data)
    return b"".join(frames)


def send_tcp(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(payload)


def send_tls(port: int, payload: bytes, ca: Path, client: tuple[Path, Path] | None = None) -> None:
    """Over TLS, verifying the server against ``ca``; with a client certificate if given."""
    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client[0]), str(client[1]))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as connection,
    ):
        connection.sendall(payload)
        # A TLS 1.3 server that refuses the client certificate says so after the handshake:
        # reading gives its alert (an SSLError) or the end of the connection.
        connection.settimeout(1)
        with contextlib.suppress(TimeoutError):
            connection.recv(1)


def records(bootstrap_servers: str, topic: str, expected: int, timeout: float = 120) -> list[dict[str, Any]]:
    """The acquisition records of ``topic`` from its start, until ``expected`` arrived or ``timeout``."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest", consumer_timeout_ms=3000
    )
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < expected and time.monotonic() < deadline:
            # A sender's bytes that are not UTF-8 reach the record as they came (see reader.py).
            found.extend(json.loads(message.value.decode("utf-8", "replace")) for message in consumer)
    finally:
        consumer.close()
    return found


def events(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [syslog_event(record) for record in found]


RELP_FORWARDER = """\
global(workDirectory={work})
module(load="imtcp")
module(load="omrelp")
input(type="imtcp" address="127.0.0.1" port="{tcp}" ruleset="forward")
ruleset(name="forward") {{
    action(type="omrelp" target="127.0.0.1" port="{relp}" template="RSYSLOG_SyslogProtocol23Format"
           action.resumeRetryCount="-1" action.resumeInterval="1"
           queue.type="LinkedList" queue.size="500000" queue.saveOnShutdown="on")
}}
"""


@contextlib.contextmanager
def relp_forwarder(folder: Path, tcp: int, relp: int) -> Iterator[Server]:
    """A sender's own rsyslogd, as a host would run one: it takes messages on TCP ``tcp`` and
    forwards them over RELP to ``relp``, resending what was not acknowledged."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "work").mkdir(exist_ok=True)
    conf = folder / "rsyslog.conf"
    conf.write_text(RELP_FORWARDER.format(work=json.dumps(str(folder / "work")), tcp=tcp, relp=relp))
    binary = shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin:/sbin") or "rsyslogd"
    server = Server(
        "relp-forwarder", [binary, "-n", "-f", str(conf), "-i", str(folder / "pid")], folder / "rsyslogd.log"
    )
    try:
        server.wait_until(lambda: port_open(tcp), timeout=START_TIMEOUT, what="listening")
        yield server
    finally:
        server.stop()
