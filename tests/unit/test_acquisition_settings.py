"""acquire.conf read and checked: listeners, TLS, the Kafka or files output, and secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashark.acquisition.settings import AcquireSettings, Listener, load_acquire_settings
from datashark.config.settings import load_settings
from datashark.errors import ConfigError
from tests.unit.conftest import REPO, write

BROKERS = "kafka.bootstrap.servers = k1:9092, k2:9092\n"
LISTEN = "[listen]\nudp = 127.0.0.1:5514\n"
TLS_LISTEN = "[listen]\ntls = 0.0.0.0:6514\n"
PASSWORD = "Kafka-pw-7f3c1e"


def acquire(home: Path, text: str, datashark_conf: str = BROKERS) -> AcquireSettings:
    """acquire.conf from ``text`` in ``home``, with ``datashark_conf`` as datashark.conf."""
    write(home / "datashark.conf", datashark_conf)
    path = write(home / "acquire.conf", text)
    path.chmod(0o600)  # it may hold a password
    return load_acquire_settings(path, load_settings(home))


def refused(home: Path, text: str, datashark_conf: str = BROKERS) -> str:
    with pytest.raises(ConfigError) as raised:
        acquire(home, text, datashark_conf)
    return str(raised.value)


def pki(home: Path) -> None:
    """Placeholder PEM files: settings only check that they exist."""
    for name in ("server.pem", "server.key", "ca.pem"):
        write(home / "pki" / name, "-----BEGIN PLACEHOLDER-----\n")


def test_the_repositorys_acquire_conf_loads_with_brokers_in_datashark_conf(home: Path) -> None:
    write(home / "datashark.conf", BROKERS)
    settings = load_acquire_settings(REPO / "acquire.conf", load_settings(home))
    assert settings.listeners == (Listener("udp", "127.0.0.1", 5514), Listener("tcp", "127.0.0.1", 5514))
    assert (settings.work_dir, settings.max_message_size, settings.allowed_senders) == (
        REPO / "var" / "acquire",
        64 << 10,
        (),
    )
    assert settings.kafka is not None and settings.tls is None and settings.files is None
    assert (settings.kafka.brokers, settings.kafka.topic) == (("k1:9092", "k2:9092"), "syslog")
    assert (settings.kafka.spool_max_bytes, settings.kafka.memory_messages) == (1 << 30, 100000)
    assert settings.kafka.options == {"security.protocol": "PLAINTEXT"}
    assert settings.secrets == ()
    assert (settings.config_path, settings.pid_path) == (
        REPO / "var" / "acquire" / "rsyslog.conf",
        REPO / "var" / "acquire" / "rsyslogd.pid",
    )


def test_the_repositorys_acquire_conf_needs_brokers_somewhere() -> None:
    with pytest.raises(ConfigError) as raised:
        load_acquire_settings(REPO / "acquire.conf", load_settings(REPO))
    assert str(raised.value) == (
        f"{REPO / 'acquire.conf'}: [kafka], key 'bootstrap.servers' is required "
        "(here, or as kafka.bootstrap.servers in datashark.conf)"
    )


def test_the_repositorys_acquire_conf_with_output_files_needs_no_broker(home: Path) -> None:
    text = (REPO / "acquire.conf").read_text().replace("\noutput = kafka\n", "\noutput = files\n")
    settings = acquire(home, text, datashark_conf="")
    assert settings.kafka is None and settings.files is not None
    assert (settings.files.folder, settings.files.rotate_seconds) == (home / "var" / "syslog", 10)


def test_a_missing_conf_is_a_config_error(home: Path) -> None:
    with pytest.raises(ConfigError, match=r"nothere\.conf: file not found$"):
        load_acquire_settings(home / "nothere.conf", load_settings(home))


def test_listeners_of_every_protocol(home: Path) -> None:
    pki(home)
    settings = acquire(
        home,
        """
        [listen]
        udp = 0.0.0.0:514, [::]:1514, 0.0.0.0:514
        tcp = syslog.example.org:514
        tls = [2001:db8::1]:6514
        [tls]
        cert = pki/server.pem
        key = pki/server.key
        ca = pki/ca.pem
        """,
    )
    assert settings.listeners == (
        Listener("udp", "0.0.0.0", 514),
        Listener("udp", "::", 1514),
        Listener("tcp", "syslog.example.org", 514),
        Listener("tls", "2001:db8::1", 6514),
    )
    assert [str(listener) for listener in settings.listeners] == [
        "udp://0.0.0.0:514",
        "udp://[::]:1514",
        "tcp://syslog.example.org:514",
        "tls://[2001:db8::1]:6514",
    ]


@pytest.mark.parametrize(
    ("listen", "problem"),
    [
        ("tcp = 127.0.0.1:0", "[listen], key 'tcp': port 0 is out of range (1-65535)"),
        ("udp = 127.0.0.1:65536", "[listen], key 'udp': port 65536 is out of range (1-65535)"),
        ("tls = 6514", "[listen], key 'tls': expected address:port (0.0.0.0:514, [::]:514), got '6514'"),
        (
            "udp = 127.0.0.1:514x",
            "[listen], key 'udp': expected address:port (0.0.0.0:514, [::]:514), got '127.0.0.1:514x'",
        ),
        (
            "tcp = ::1:514",
            "[listen], key 'tcp': expected address:port (0.0.0.0:514, [::]:514), got '::1:514'",
        ),
        (
            "tcp = 127.0.0.1:5514\ntls = 0.0.0.0:5514",
            "[listen]: tls://0.0.0.0:5514: the same port twice over TCP or twice over UDP, on one address",
        ),
        ("udp = \ntcp = ", "[listen] has no listener: set udp, tcp or tls (address:port)"),
    ],
    ids=["port-0", "port-too-big", "no-address", "bad-port", "v6-without-brackets", "twice", "none"],
)
def test_bad_listeners_name_the_file_and_key(home: Path, listen: str, problem: str) -> None:
    assert refused(home, f"[listen]\n{listen}\n") == f"{home / 'acquire.conf'}: {problem}"


def test_the_same_port_over_udp_and_tcp_is_fine(home: Path) -> None:
    settings = acquire(home, "[listen]\nudp = 127.0.0.1:5514\ntcp = 127.0.0.1:5514\n")
    assert [listener.protocol for listener in settings.listeners] == ["udp", "tcp"]


PEERS = 'permitted_peers = "*.example.org, sender-1.example.net, *.example.org"'


@pytest.mark.parametrize(
    ("clients", "auth_mode"),
    [("certificate", "x509/certvalid"), ("name", "x509/name"), ("anyone", "anon")],
)
def test_tls_clients_map_to_rsyslogs_auth_modes(home: Path, clients: str, auth_mode: str) -> None:
    pki(home)
    settings = acquire(
        home,
        f"""
        {TLS_LISTEN}
        [tls]
        driver = ossl
        cert = pki/server.pem
        key = {home / "pki" / "server.key"}
        ca = pki/ca.pem
        clients = {clients}
        {PEERS if clients == "name" else ""}
        """,
    )
    tls = settings.tls
    assert tls is not None
    assert (tls.driver, tls.auth_mode) == ("ossl", auth_mode)
    assert (tls.cert, tls.key, tls.ca) == (
        home / "pki" / "server.pem",
        home / "pki" / "server.key",
        home / "pki" / "ca.pem",
    )
    peers = ("*.example.org", "sender-1.example.net") if clients == "name" else ()
    assert tls.permitted_peers == peers


def test_permitted_peers_apply_to_clients_name_only(home: Path) -> None:
    pki(home)
    tls = "[tls]\ncert = pki/server.pem\nkey = pki/server.key\nca = pki/ca.pem\n"
    tls += "permitted_peers = a.example.org\n"
    assert refused(home, TLS_LISTEN + tls) == (
        f"{home / 'acquire.conf'}: [tls], key 'permitted_peers': applies to clients = name only "
        "(clients = certificate): rsyslog would refuse it"
    )


def test_tls_with_anyone_needs_no_ca(home: Path) -> None:
    pki(home)
    settings = acquire(
        home, f"{TLS_LISTEN}[tls]\ncert = pki/server.pem\nkey = pki/server.key\nclients = anyone\n"
    )
    assert settings.tls is not None
    assert (settings.tls.driver, settings.tls.ca, settings.tls.auth_mode) == ("gtls", None, "anon")


@pytest.mark.parametrize(
    ("tls", "problem"),
    [
        (
            "key = pki/server.key\nca = pki/ca.pem",
            "[tls], key 'cert' is required by a TLS listener (a PEM file)",
        ),
        (
            "cert = pki/server.pem\nkey = pki/server.key",
            "[tls], key 'ca' is required with clients = certificate: the CA that signs senders' certificates",
        ),
        (
            "cert = pki/server.pem\nkey = pki/server.key\nca = pki/ca.pem\nclients = name",
            "[tls], key 'permitted_peers' is required with clients = name: the names senders' "
            "certificates carry",
        ),
        (
            "cert = pki/server.pem\nkey = pki/missing.key\nca = pki/ca.pem",
            "[tls], key 'key': file not found: ",
        ),
        (
            "cert = pki/server.pem\nkey = pki/server.key\nclients = everyone",
            "[tls], key 'clients': the value",
        ),
    ],
    ids=["no-cert", "no-ca", "no-peers", "missing-file", "bad-clients"],
)
def test_bad_tls_names_the_key(home: Path, tls: str, problem: str) -> None:
    pki(home)
    assert refused(home, f"{TLS_LISTEN}[tls]\n{tls}\n").startswith(f"{home / 'acquire.conf'}: {problem}")


def test_the_tls_section_is_not_read_without_a_tls_listener(home: Path) -> None:
    settings = acquire(home, f"{LISTEN}[tls]\ncert = nowhere.pem\nclients = name\n")
    assert settings.tls is None


def test_output_kafka_or_files(home: Path) -> None:
    kafka = acquire(home, f"output = kafka\n{LISTEN}")
    files = acquire(home, f"output = files\n{LISTEN}[files]\nfolder = /srv/syslog\nrotate.seconds = 60\n")
    assert kafka.kafka is not None and kafka.files is None
    assert files.kafka is None and files.files is not None
    assert (files.files.folder, files.files.rotate_seconds) == (Path("/srv/syslog"), 60)


def test_output_is_one_of_kafka_or_files(home: Path) -> None:
    """The conf names one output: neither both nor none can be written."""
    for output in ("both", "kafka, files", ""):
        problem = refused(home, f"output = {output}\n{LISTEN}")
        assert "key 'output': the value" in problem and "(allowed: kafka, files)" in problem


def test_kafka_keys_of_acquire_conf_override_datashark_conf(home: Path) -> None:
    settings = acquire(
        home,
        f"{LISTEN}[kafka]\nbootstrap.servers = k9:9093\ntopics = logs-syslog\nspool.max.size = 512m\n"
        "memory.messages = 5000\n",
        datashark_conf=BROKERS + "kafka.topics = other\n",
    )
    assert settings.kafka is not None
    assert (settings.kafka.brokers, settings.kafka.topic) == (("k9:9093",), "logs-syslog")
    assert (settings.kafka.spool_max_bytes, settings.kafka.memory_messages) == (512 << 20, 5000)


def test_the_topic_is_syslog_by_default_not_datashark_confs(home: Path) -> None:
    settings = acquire(home, LISTEN, datashark_conf=BROKERS + "kafka.topics = logs_queue\n")
    assert settings.kafka is not None and settings.kafka.topic == "syslog"


@pytest.mark.parametrize(
    ("kafka", "problem"),
    [
        ("topics = a, b", "[kafka], key 'topics': names 2 topics: the acquisition writes one"),
        ("spool.max.size = lots", "[kafka], key 'spool.max.size': expected a size such as 64k, 1m or 2g"),
        ("memory.messages = 50", "[kafka], key 'memory.messages': the value \"50\" is too small."),
        ("bootstrap.servers = kafka", "[kafka], key 'bootstrap.servers': expected host:port, got kafka"),
        ("linger.ms = 5", "[kafka], key 'linger.ms' is not a known key"),
    ],
)
def test_bad_kafka_keys_are_named(home: Path, kafka: str, problem: str) -> None:
    assert problem in refused(home, f"{LISTEN}[kafka]\n{kafka}\n")


@pytest.mark.parametrize(
    ("written", "size"), [("64k", 64 << 10), ("2M", 2 << 20), ("1 kb", 1024), ("4096", 4096)]
)
def test_max_message_size(home: Path, written: str, size: int) -> None:
    assert acquire(home, f"max_message_size = {written}\n{LISTEN}").max_message_size == size


def test_a_bad_max_message_size_names_the_key(home: Path) -> None:
    problem = refused(home, f"max_message_size = big\n{LISTEN}")
    assert problem == (
        f"{home / 'acquire.conf'}: key 'max_message_size': expected a size such as 64k, 1m or 2g, got 'big'"
    )


def test_allowed_senders(home: Path) -> None:
    settings = acquire(
        home, f'allowed_senders = "10.0.0.0/8, 192.0.2.7, *.example.org, 2001:db8::/32"\n{LISTEN}'
    )
    assert settings.allowed_senders == ("10.0.0.0/8", "192.0.2.7", "*.example.org", "2001:db8::/32")


@pytest.mark.parametrize(
    ("senders", "problem"),
    [
        ("10.0.0.0/33", "not an address or network: "),
        ("300.1.2.3", "not an address or network: "),
        ('"bad host"', "not an address, network or host name: 'bad host'"),
    ],
)
def test_bad_allowed_senders_name_the_key(home: Path, senders: str, problem: str) -> None:
    assert refused(home, f"allowed_senders = {senders}\n{LISTEN}").startswith(
        f"{home / 'acquire.conf'}: key 'allowed_senders': {problem}"
    )


def test_relative_paths_are_against_the_confs_folder(home: Path) -> None:
    settings = acquire(home, f"work_dir = state/rsyslog\n{LISTEN}")
    assert settings.work_dir == home / "state" / "rsyslog"
    assert acquire(home, f"work_dir = /var/lib/acquire\n{LISTEN}").work_dir == Path("/var/lib/acquire")


def test_unknown_keys_are_refused(home: Path) -> None:
    assert "[listen], key 'udpp' is not a known key" in refused(home, f"{LISTEN}udpp = 127.0.0.1:1\n")


def test_a_sasl_password_is_a_secret_never_shown(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACQUIRE_TEST_KAFKA_PASSWORD", PASSWORD)
    settings = acquire(
        home,
        f"""
        {LISTEN}
        [kafka]
        security.protocol = SASL_SSL
        sasl.mechanism = SCRAM-SHA-512
        sasl.username = acquire
        sasl.password = ${{env:ACQUIRE_TEST_KAFKA_PASSWORD}}
        ssl.ca.location = /etc/ssl/kafka-ca.pem
        ssl.check.hostname = false
        """,
    )
    assert settings.secrets == (PASSWORD,)
    assert settings.kafka is not None
    assert settings.kafka.options == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "acquire",
        "sasl.password": PASSWORD,
        "ssl.ca.location": "/etc/ssl/kafka-ca.pem",
        "ssl.endpoint.identification.algorithm": "none",
    }
    assert PASSWORD not in repr(settings) and PASSWORD not in str(settings)
    assert PASSWORD not in repr(settings.kafka)


def test_passwords_inherited_from_datashark_conf_are_secrets_too(home: Path) -> None:
    datashark_conf = (
        f"{BROKERS}kafka.security.protocol = SSL\nkafka.ssl.key.location = /etc/k.key\n"
        f"kafka.ssl.key.password = {PASSWORD}\n"
    )
    (home / "datashark.conf").touch(mode=0o600)
    settings = acquire(home, LISTEN, datashark_conf=datashark_conf)
    assert settings.secrets == (PASSWORD,)
    assert PASSWORD not in repr(settings)
