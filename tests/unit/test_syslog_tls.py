"""out_syslog over TLS without Spark: its conf checks, and RFC 5425 octet counting on the wire.

The wire tests send through the plugin's own sender to a TLS receiver in a thread of this
process (Python's ssl module), with certificates openssl makes once for the module.
"""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from datashark.loading.codeimport import import_file
from datashark.loading.plugin_loader import load_output_plugin
from tests.support import tls
from tests.unit.conftest import REPO, usecase_conf

SYSLOG_PLUGIN = REPO / "plugins" / "output" / "out_syslog.py"
MESSAGES = [
    b'<110>1 2026-03-05T07:08:09Z sensor datashark - uc - {"key":"j\xc3\xbcrgen"}',  # a 2-byte character
    b"<110>1 2026-03-05T07:08:09Z sensor datashark - uc - " + b"x" * 70_000,  # over one TLS record
    b"<110>1 2026-03-05T07:08:09Z sensor datashark - uc - a\nb",  # a newline inside: octet counting keeps it
]


@dataclass(frozen=True)
class Pki:
    """The certificates the tests use: a CA with a server and a client certificate, and another CA."""

    ours: tls.Certificates
    client: tls.ClientCertificate
    other_ca: Path
    encrypted_key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ours = tls.make_certificates(folder / "ours")
    client = tls.make_client_certificate(ours, "client")
    encrypted_key = folder / "encrypted.key"
    subprocess.run(
        [
            "openssl",
            "pkey",
            "-in",
            str(client.key),
            "-aes256",
            "-passout",
            "pass:secret",
            "-out",
            str(encrypted_key),
        ],
        check=True,
        capture_output=True,
    )
    return Pki(ours, client, tls.make_certificates(folder / "other").ca, encrypted_key)


@pytest.fixture(scope="module")
def out_syslog() -> ModuleType:
    """The repository's plugins/output/out_syslog.py, imported by path as dataShark does."""
    return import_file(SYSLOG_PLUGIN, "datashark_unit_test_out_syslog")


@pytest.fixture
def syslog_plugin(make_usecase, pki: Pki):
    """``syslog_plugin(keys)``: the out_syslog plugin of a use case whose folder holds copies of
    the test certificates (``ca.pem``, ``client.pem``, ``client.key``...) and ``notpem.txt``."""

    def load(keys: str):
        conf = make_usecase(conf=usecase_conf(output="syslog", extra=f"[out_syslog]\n{keys}"))
        copies = {
            "ca.pem": pki.ours.ca,
            "client.pem": pki.client.cert,
            "client.key": pki.client.key,
            "server.key": pki.ours.key,
            "encrypted.key": pki.encrypted_key,
        }
        for name, source in copies.items():
            shutil.copy(source, conf.parent / name)
        (conf.parent / "notpem.txt").write_text("not a certificate\n")
        return conf, load_output_plugin(REPO, read_usecase(conf))

    return load


def test_tls_defaults_to_port_6514_octet_counting_and_the_host_as_server_name(syslog_plugin) -> None:
    _, plugin = syslog_plugin("protocol = tls\nhost = localhost\n")
    endpoint = plugin.endpoint
    assert (str(endpoint), endpoint.framing) == ("tls://localhost:6514", "octet-counting")
    assert (endpoint.tls.ca_file, endpoint.tls.cert_file, endpoint.tls.server_name) == (
        None,
        None,
        "localhost",
    )
    assert plugin.destination == "Syslog tls://localhost:6514 (RFC 5424, octet-counting)"


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_udp_and_tcp_keep_port_514(syslog_plugin, protocol: str) -> None:
    _, plugin = syslog_plugin(f"protocol = {protocol}\n")
    assert (plugin.endpoint.port, plugin.endpoint.tls) == (514, None)


def test_tls_files_are_resolved_against_the_use_case_folder(syslog_plugin) -> None:
    conf, plugin = syslog_plugin(
        "protocol = tls\nca_file = ca.pem\ncert_file = client.pem\nkey_file = client.key\n"
        "server_name = syslog.example.org\n"
    )
    folder = conf.parent
    tls_files = plugin.endpoint.tls
    assert (tls_files.ca_file, tls_files.cert_file, tls_files.key_file) == (
        str(folder / "ca.pem"),
        str(folder / "client.pem"),
        str(folder / "client.key"),
    )
    assert tls_files.server_name == "syslog.example.org"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            "ca_file = missing.pem",
            r"key 'ca_file': cannot read /\S+/uc/missing\.pem: No such file or directory",
        ),
        ("ca_file = notpem.txt", r"key 'ca_file': /\S+/uc/notpem\.txt: no certificate or crl found"),
        ("key_file = client.key", r"key 'key_file': needs cert_file, the certificate of that key"),
        ("cert_file = client.pem", r"key 'cert_file': /\S+/client\.pem: no private key in it: set key_file"),
        (
            "cert_file = notpem.txt\nkey_file = client.key",
            r"key 'cert_file': /\S+/notpem\.txt: no PEM certificate in it",
        ),
        (
            "cert_file = client.pem\nkey_file = notpem.txt",
            r"key 'key_file': /\S+/notpem\.txt: no PEM private key in it",
        ),
        (
            "cert_file = client.pem\nkey_file = server.key",
            r"key 'key_file': /\S+/server\.key: key values mismatch",
        ),
        (
            "cert_file = client.pem\nkey_file = encrypted.key",
            r"key 'key_file': /\S+/encrypted\.key: the private key is encrypted: give it unencrypted",
        ),
        (
            "cert_file = client.pem\nkey_file = gone.key",
            r"key 'key_file': cannot read /\S+/gone\.key: No such file",
        ),
        ("framing = newline", r"key 'framing': protocol = tls frames by octet counting \(RFC 5425\)"),
    ],
)
def test_bad_tls_keys_are_one_line_config_errors(syslog_plugin, keys: str, message: str) -> None:
    with pytest.raises(ConfigError) as failure:
        syslog_plugin(f"protocol = tls\n{keys}\n")
    text = str(failure.value)
    assert re.fullmatch(r"/\S+/uc\.conf: \[out_syslog\], " + message + ".*", text), text
    assert "\n" not in text and "PRIVATE KEY" not in text and "_ssl.c" not in text


@pytest.mark.parametrize("key", ["ca_file = ca.pem", "cert_file = client.pem", "server_name = syslog"])
def test_tls_keys_without_tls_are_config_errors(syslog_plugin, key: str) -> None:
    with pytest.raises(
        ConfigError, match=rf"\[out_syslog\], key '{key.split()[0]}': only used with protocol = tls"
    ):
        syslog_plugin(f"protocol = tcp\n{key}\n")


class TlsReceiver:
    """A TLS server in a thread: keeps each connection's bytes, as they came, once its sender closed."""

    def __init__(self, certificates: tls.Certificates, client_ca: Path | None = None) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(certificates.cert, certificates.key)
        if client_ca is not None:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(cafile=client_ca)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.received: list[bytes] = []
        self.peer_names: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            self.accepted += 1
            try:
                with self.context.wrap_socket(connection, server_side=True) as stream:
                    peer = stream.getpeercert()
                    self.peer_names.append(
                        dict(pair[0] for pair in peer["subject"])["commonName"] if peer else ""
                    )
                    chunks = []
                    while chunk := stream.recv(1 << 16):
                        chunks.append(chunk)
                    self.received.append(b"".join(chunks))
            except OSError:  # a refused handshake: the sender is to report it
                connection.close()

    def wait_for(self, n: int) -> list[bytes]:
        deadline = time.monotonic() + 10
        while len(self.received) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def receiver(pki: Pki) -> Iterator[TlsReceiver]:
    server = TlsReceiver(pki.ours)
    yield server
    server.close()


def send_all(out_syslog: ModuleType, port: int, tls_files, messages: list[bytes]) -> None:
    endpoint = out_syslog.Endpoint("tls", "127.0.0.1", port, "octet-counting", tls_files)
    sender = endpoint.sender()
    try:
        for message in messages:
            sender.send(message)
    finally:
        sender.close()


def test_messages_go_over_tls_octet_counted(out_syslog: ModuleType, pki: Pki, receiver: TlsReceiver) -> None:
    tls_files = out_syslog.TlsFiles(str(pki.ours.ca), None, None, "127.0.0.1")
    send_all(out_syslog, receiver.port, tls_files, MESSAGES)
    expected = b"".join(b"%d %s" % (len(message), message) for message in MESSAGES)
    assert receiver.wait_for(1) == [expected]
    assert expected.startswith(b"%d <110>" % len(MESSAGES[0])), "LEN counts bytes, SP, then MSG"


def test_mutual_tls_presents_the_client_certificate(out_syslog: ModuleType, pki: Pki) -> None:
    receiver = TlsReceiver(pki.ours, client_ca=pki.ours.ca)
    try:
        tls_files = out_syslog.TlsFiles(
            str(pki.ours.ca), str(pki.client.cert), str(pki.client.key), "localhost"
        )
        send_all(out_syslog, receiver.port, tls_files, MESSAGES[:1])
        assert receiver.wait_for(1) == [b"%d %s" % (len(MESSAGES[0]), MESSAGES[0])]
        assert receiver.peer_names == ["client"]
    finally:
        receiver.close()


@pytest.mark.parametrize(
    ("trusted", "server_name", "reason"),
    [
        ("other CA", "127.0.0.1", "certificate verify failed: unable to get local issuer certificate"),
        ("system CAs", "127.0.0.1", "certificate verify failed: unable to get local issuer certificate"),
        (
            "our CA",
            "syslog.example.org",
            "certificate verify failed: Hostname mismatch, "
            "certificate is not valid for 'syslog.example.org'.",
        ),
    ],
)
def test_a_server_that_cannot_be_verified_fails_at_once_in_one_line(
    out_syslog: ModuleType, pki: Pki, receiver: TlsReceiver, trusted: str, server_name: str, reason: str
) -> None:
    ca_file = {"other CA": str(pki.other_ca), "system CAs": None, "our CA": str(pki.ours.ca)}[trusted]
    tls_files = out_syslog.TlsFiles(ca_file, None, None, server_name)
    with pytest.raises(ConnectionError) as failure:
        send_all(out_syslog, receiver.port, tls_files, MESSAGES[:1])
    assert str(failure.value) == f"syslog tls://127.0.0.1:{receiver.port}: {reason}"
    assert receiver.accepted == 1, "a certificate is not retried"
    assert receiver.received == []


def test_a_receiver_that_is_down_is_retried_then_reported(
    out_syslog: ModuleType, pki: Pki, monkeypatch
) -> None:
    monkeypatch.setattr(out_syslog, "TCP_BACKOFF_SECONDS", 0.01)
    with socket.create_server(("127.0.0.1", 0)) as unused:
        port = unused.getsockname()[1]
    tls_files = out_syslog.TlsFiles(str(pki.ours.ca), None, None, "127.0.0.1")
    with pytest.raises(ConnectionError) as failure:
        send_all(out_syslog, port, tls_files, MESSAGES[:1])
    assert str(failure.value) == f"syslog tls://127.0.0.1:{port}: Connection refused (tried 3 times)"


def test_a_connection_cut_during_the_handshake_is_retried(
    out_syslog: ModuleType, pki: Pki, monkeypatch
) -> None:
    """The network's doing, unlike a refused certificate: tried again, like TCP."""
    monkeypatch.setattr(out_syslog, "TCP_BACKOFF_SECONDS", 0.01)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted = []

    def hang_up() -> None:
        for _ in range(3):
            connection, _ = listener.accept()
            accepted.append(connection)
            connection.close()

    threading.Thread(target=hang_up, daemon=True).start()
    port = listener.getsockname()[1]
    tls_files = out_syslog.TlsFiles(str(pki.ours.ca), None, None, "127.0.0.1")
    try:
        with pytest.raises(ConnectionError) as failure:
            send_all(out_syslog, port, tls_files, MESSAGES[:1])
    finally:
        listener.close()
    cut = rf"syslog tls://127\.0\.0\.1:{port}: .*(EOF|reset by peer).* \(tried 3 times\)"
    assert re.fullmatch(cut, str(failure.value))
    assert len(accepted) == 3


def test_numpy_scalars_in_metadata_are_written_as_numbers(out_syslog: ModuleType) -> None:
    import numpy

    doc = {"count": numpy.int64(3), "flag": numpy.bool_(True), "ratio": numpy.float32(0.5)}
    assert out_syslog._json(doc, ensure_ascii=False) == '{"count":3,"flag":true,"ratio":0.5}'
