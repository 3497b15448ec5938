"""The syslog acquisition end to end: real senders, ``datashark acquire`` running Debian's
rsyslogd, the session's Kafka 4 broker, and ``input = syslog`` on the session SparkContext."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import logging
import logging.handlers
import os
import signal
import socket
import ssl
import textwrap
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from configobj import ConfigObj
from kafka import KafkaConsumer

from datashark.acquisition import librdkafka
from datashark.acquisition.record import syslog_event
from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for
from tests.support.acquisition import (
    Acquisition,
    events,
    files_conf,
    kafka_conf,
    listen_conf,
    logger,
    octet_counted,
    ports,
    records,
    relp_forwarder,
    send_tcp,
    send_tls,
)
from tests.support.detection_copies import case, datashark_home, findings, streaming_copy
from tests.support.kafka_helpers import new_topic, run_until
from tests.support.production_helpers import start, wait_for
from tests.support.servers.kafka import KafkaBroker
from tests.support.servers.syslog import provision as provision_rsyslog
from tests.support.tls import make_certificates, make_client_certificate

SSH_FAILURE = "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2"

EVERY_EVENT = """
import json

def load(streamingData, trainingData, context, conf):
    return streamingData.map(lambda event: (event["message"], 1, {"event": json.dumps(event, default=str)}))
"""


@pytest.fixture(scope="module", autouse=True)
def rsyslog() -> None:
    provision_rsyslog()


def syslog_usecase(folder: Path, source: str) -> Path:
    """A streaming use case on ``input = syslog`` writing every event, whole, to out.csv."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(EVERY_EVENT))
    (folder / "training.txt").write_text("unused\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Syslog Events\ntype = streaming\ncode = uc.py\ntraining = training.txt\n"
        f"input = syslog\nformat = syslog\noutput = csv\n[in_syslog]\n{source}\n"
        "[out_csv]\npath = out.csv\nmode = append\n"
    )
    return conf


def csv_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(row[3]) for row in read_csv(path) if len(row) > 3]


def by_message(found: list[dict]) -> dict[str, dict]:
    return {event["message"]: event for event in found}


def test_logger_sysloghandler_and_tls_senders_reach_a_streaming_use_case_with_every_field(
    spark_context, kafka: KafkaBroker, tmp_path: Path
) -> None:
    udp, tcp, tls = ports(3)
    certificates = make_certificates(tmp_path / "certs")
    client = make_client_certificate(certificates, "sender")
    topic = new_topic(kafka.bootstrap_servers, partitions=2, prefix="syslog")
    acquisition = Acquisition(
        tmp_path / "acq",
        listen_conf(tmp_path / "work", udp=udp, tcp=tcp, tls=tls)
        + f"[tls]\ncert = {certificates.cert}\nkey = {certificates.key}\nca = {certificates.ca}\n"
        + "clients = certificate\n"
        + kafka_conf(kafka.bootstrap_servers, topic),
    )
    acquisition.start(tcp)
    try:
        sd = ["--sd-id", "exampleSDID@32473", "--sd-param", 'iut="3"', "--msgid", "ID47"]
        rfc5424 = ["--rfc5424=notq", "-t", "sshd", "--id=4242", "-p", "auth.warning", *sd]
        logger(udp, f"udp5424 {SSH_FAILURE}", "-d", *rfc5424)
        logger(tcp, f"tcp5424 {SSH_FAILURE}", "-T", "--octet-count", *rfc5424)
        cron = ["--rfc3164", "-t", "CRON", "--id=777", "-p", "cron.info"]
        logger(udp, "udp3164 (root) CMD (run-parts /etc/cron.hourly)", "-d", *cron)
        logger(tcp, "tcp3164 (root) CMD (run-parts /etc/cron.hourly)", "-T", *cron)
        for kind, name in ((socket.SOCK_DGRAM, "udp"), (socket.SOCK_STREAM, "tcp")):
            handler = logging.handlers.SysLogHandler(
                ("127.0.0.1", udp if name == "udp" else tcp),
                facility=logging.handlers.SysLogHandler.LOG_AUTHPRIV,
                socktype=kind,
            )
            handler.ident = "pyapp[99]: "
            python_logger = logging.getLogger(f"acquisition-{name}-{uuid.uuid4().hex}")
            python_logger.propagate = False
            python_logger.addHandler(handler)
            python_logger.error("%s python error", name)
            python_logger.warning("%s python warning", name)
            handler.close()
        tls_lines = [
            f"<38>1 2026-12-05T10:00:0{n}.5+01:00 web-{n}.example.org sshd 31{n} - - tls{n} {SSH_FAILURE}"
            for n in range(3)
        ]
        send_tls(tls, octet_counted(tls_lines), certificates.ca, (client.cert, client.key))
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            # No client certificate: rsyslogd ends the session (the client may not notice), and
            # the message never arrives (checked below).
            send_tls(tls, octet_counted(["<38>1 - anon x - - - tls-anonymous"]), certificates.ca)
        expected = 4 + 4 + len(tls_lines)

        conf = syslog_usecase(
            tmp_path / "uc",
            f"bootstrap.servers = {kafka.bootstrap_servers}\ntopics = {topic}\n"
            f"group.id = g-{topic}\nstarting.offsets = earliest",
        )
        settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
        out = tmp_path / "uc" / "out.csv"
        run_until(spark_context, settings, [conf], lambda: len(csv_events(out)) >= expected)
    finally:
        acquisition.stop()

    found = by_message(csv_events(out))
    assert len(found) == expected, sorted(found)
    hostname = socket.gethostname()
    for transport in ("udp", "tcp"):
        sshd = found[f"{transport}5424 {SSH_FAILURE}"]
        assert sshd["host"] == hostname
        assert (sshd["program"], sshd["pid"], sshd["msgid"]) == ("sshd", 4242, "ID47")
        assert (sshd["facility"], sshd["severity"]) == ("auth", "warning")
        assert sshd["structured_data"] == {"exampleSDID@32473": {"iut": "3"}}
        assert sshd["sender"] == "127.0.0.1"
        assert sshd["timestamp"] and sshd["received"]
        cron = found[f"{transport}3164 (root) CMD (run-parts /etc/cron.hourly)"]
        assert (cron["host"], cron["program"], cron["pid"]) == (hostname, "CRON", 777)
        assert (cron["facility"], cron["severity"]) == ("cron", "info")
        for level in ("error", "warning"):
            python = found[f"{transport} python {level}"]
            # SysLogHandler writes no time or host: those come from the receiving side.
            assert (python["program"], python["pid"]) == ("pyapp", 99)
            assert (python["facility"], python["severity"]) == (
                "authpriv",
                "err" if level == "error" else level,
            )
            assert python["host"] == "127.0.0.1" and python["timestamp"] == python["received"]
    for n in range(3):
        event = found[f"tls{n} {SSH_FAILURE}"]
        assert (event["host"], event["program"], event["pid"]) == (f"web-{n}.example.org", "sshd", 310 + n)
        assert event["timestamp"].startswith(f"2026-12-05T10:00:0{n}.5")
        assert (event["facility"], event["severity"]) == ("auth", "info")
    assert "tls-anonymous" not in json.dumps(sorted(found))


def acquisition_to(
    tmp_path: Path, kafka: KafkaBroker, topic: str, *, udp: bool = False
) -> tuple[Acquisition, int, int]:
    udp_port, tcp_port = ports(2)
    acquisition = Acquisition(
        tmp_path / "acq",
        listen_conf(tmp_path / "work", udp=udp_port if udp else None, tcp=tcp_port)
        + kafka_conf(kafka.bootstrap_servers, topic),
    )
    acquisition.start(tcp_port)
    return acquisition, tcp_port, udp_port


def numbered(start: int, count: int) -> list[str]:
    return [f"<134>1 2026-12-05T10:00:00Z sender app - - - message {n}" for n in range(start, start + count)]


def numbers_in(found: list[dict]) -> list[int]:
    return [int(syslog_event(record)["message"].split()[-1]) for record in found]


class Flow:
    """A TCP sender writing numbered messages, 2 ms apart, on one connection, until stopped."""

    def __init__(self, port: int, first: int = 0) -> None:
        self.port = port
        self.first = first
        self.sent = first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Flow:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as connection:
            while not self._stop.is_set():
                try:
                    connection.sendall(octet_counted(numbered(self.sent, 1)))
                except OSError:  # the receiver went away: this sender stops
                    return
                self.sent += 1
                time.sleep(0.002)


def test_kafka_stopped_30_s_mid_flow_every_message_arrives_when_it_returns(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    acquisition, tcp, _ = acquisition_to(tmp_path, kafka, topic)
    try:
        with Flow(tcp) as flow:
            time.sleep(2)
            with kafka.outage():
                before = flow.sent
                time.sleep(30)
                during = flow.sent - before
            time.sleep(2)
        found = records(kafka.bootstrap_servers, topic, flow.sent, timeout=180)
    finally:
        acquisition.stop()
    assert during > 5000  # the outage did happen mid-flow
    assert set(numbers_in(found)) == set(range(flow.sent))


def test_rsyslog_restarted_with_kafka_down_loses_nothing_it_had_received(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    """What rsyslogd holds when it stops - its queues and librdkafka's undelivered messages -
    comes back with the next start; a TCP sender that connects again loses nothing."""
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    acquisition, tcp, _ = acquisition_to(tmp_path, kafka, topic)
    try:
        send_tcp(tcp, octet_counted(numbered(0, 500)))
        time.sleep(3)  # in Kafka already
        with kafka.outage():
            send_tcp(tcp, octet_counted(numbered(500, 2000)))
            time.sleep(5)  # read by rsyslogd, queued: librdkafka holds some, the queue the rest
            assert acquisition.stop() == 0
            acquisition.start(tcp)
            send_tcp(tcp, octet_counted(numbered(2500, 1500)))
            time.sleep(3)
        found = records(kafka.bootstrap_servers, topic, 4000, timeout=120)
    finally:
        acquisition.stop()
    assert sorted(set(numbers_in(found))) == list(range(4000))
    assert len(found) - 4000 < 100  # duplicates: at most what librdkafka had in flight


def test_rsyslog_restarted_mid_flow_keeps_all_it_read(kafka: KafkaBroker, tmp_path: Path) -> None:
    """A plain TCP sender writing while rsyslogd stops loses what sat unread in its connection
    (no syslog acknowledgement exists over plain TCP: docs/acquisition.md); all else arrives."""
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    acquisition, tcp, _ = acquisition_to(tmp_path, kafka, topic)
    try:
        with Flow(tcp) as flow:
            time.sleep(3)
            stopped_at = flow.sent
            acquisition.stop()
        acquisition.start(tcp)
        with Flow(tcp, first=1_000_000) as second:
            time.sleep(3)
        found = records(kafka.bootstrap_servers, topic, stopped_at + second.sent - second.first)
    finally:
        acquisition.stop()
    numbers = set(numbers_in(found))
    # All but the end of the connection rsyslogd had not read: 50 messages are 0.1 s of this flow.
    assert set(range(stopped_at - 50)) <= numbers
    assert set(range(second.first, second.sent)) <= numbers


def test_a_relp_sender_loses_nothing_when_rsyslogd_restarts_mid_flow(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    """Over RELP each message is acknowledged: the sender's own rsyslogd resends what the
    restart cut off, where a plain TCP sender cannot know what was lost."""
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    tcp, relp, forwarder_tcp = ports(3)
    acquisition = Acquisition(
        tmp_path / "acq",
        listen_conf(tmp_path / "work", tcp=tcp)
        + f"relp = 127.0.0.1:{relp}\n"
        + kafka_conf(kafka.bootstrap_servers, topic),
    )
    acquisition.start(tcp)
    try:
        with relp_forwarder(tmp_path / "sender", forwarder_tcp, relp):
            with Flow(forwarder_tcp) as flow:
                time.sleep(3)
                assert acquisition.stop() == 0
                time.sleep(2)
                acquisition.start(tcp)
                time.sleep(3)
            found = records(kafka.bootstrap_servers, topic, flow.sent)  # the sender still running
    finally:
        acquisition.stop()
    assert flow.sent > 2000
    assert set(numbers_in(found)) == set(range(flow.sent))


def test_the_topic_is_created_to_stamp_kafkas_time_so_a_sender_ahead_of_the_clock_is_taken(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    """Kafka 4 refuses messages stamped over an hour ahead of it, and omkafka stamps each with
    its syslog header's time: a device with a wrong clock would be refused."""
    topic = f"syslog-new-{uuid.uuid4().hex[:8]}"
    acquisition, tcp, _ = acquisition_to(tmp_path, kafka, topic)
    ahead = datetime.now(timezone.utc) + timedelta(days=2)
    try:
        send_tcp(tcp, octet_counted([f"<86>1 {ahead:%Y-%m-%dT%H:%M:%SZ} skewed sshd 7 - - clock ahead"]))
        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap_servers,
            auto_offset_reset="earliest",
            consumer_timeout_ms=20000,
        )
        message = next(iter(consumer))
        consumer.close()
    finally:
        acquisition.stop()
    assert json.loads(message.value)["message"] == "clock ahead"
    assert message.timestamp_type == 1  # LogAppendTime: Kafka's own time
    assert abs(message.timestamp / 1000 - time.time()) < 120
    assert f"created topic {topic} (message.timestamp.type = LogAppendTime)" in acquisition.log()
    assert "delivery FAIL" not in acquisition.log()


def test_a_sasl_ssl_login_delivers_and_its_password_stays_in_the_private_config(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    (tcp,) = ports(1)
    keys = "".join(f"{key} = {value}\n" for key, value in kafka.security_keys().items())
    work = tmp_path / "work"
    conf = listen_conf(work, tcp=tcp) + kafka_conf(kafka.secure_bootstrap_servers, topic) + keys
    acquisition = Acquisition(tmp_path / "acq", conf)
    acquisition.start(tcp)
    try:
        send_tcp(tcp, octet_counted(["<86>1 - bastion sshd 7 - - over SASL_SSL"]))
        found = records(kafka.bootstrap_servers, topic, 1, timeout=60)
    finally:
        acquisition.stop()
    assert [record["message"] for record in found] == ["over SASL_SSL"]
    assert kafka.password in (work / "rsyslog.conf").read_text()  # omkafka needs it
    assert (work / "rsyslog.conf").stat().st_mode & 0o777 == 0o600
    assert work.stat().st_mode & 0o777 == 0o700
    assert kafka.password not in acquisition.log()
    system = librdkafka.system_version()
    if system is not None and system < librdkafka.SCRAM_FIXED:  # Debian 12's 2.0.2, for one
        assert "runs on confluent-kafka's librdkafka" in acquisition.log()


def test_senders_outside_allowed_senders_are_not_taken(kafka: KafkaBroker, tmp_path: Path) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    udp, tcp = ports(2)
    listen = listen_conf(tmp_path / "work", udp=udp, tcp=tcp) + kafka_conf(kafka.bootstrap_servers, topic)

    def send(text: str) -> None:
        send_tcp(tcp, octet_counted([f"<86>1 - bastion sshd 7 - - {text} over tcp"]))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(f"<86>1 - bastion sshd 7 - - {text} over udp".encode(), ("127.0.0.1", udp))

    for allowed, text in (("192.0.2.0/24", "refused"), ("127.0.0.1", "taken")):
        acquisition = Acquisition(tmp_path / f"acq-{text}", f"allowed_senders = {allowed}\n" + listen)
        acquisition.start(tcp)
        try:
            send(text)
            time.sleep(2)
        finally:
            acquisition.stop()
    found = records(kafka.bootstrap_servers, topic, 2, timeout=30)
    assert sorted(record["message"] for record in found) == ["taken over tcp", "taken over udp"]


def test_a_100k_burst_arrives_complete(kafka: KafkaBroker, tmp_path: Path) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=2, prefix="syslog")
    acquisition, tcp, _ = acquisition_to(tmp_path, kafka, topic)
    lines = [
        f"<86>1 2026-12-05T10:00:00Z host-{n % 7} sshd {n} - - burst {n} {uuid.uuid4().hex}"
        for n in range(100_000)
    ]
    try:
        send_tcp(tcp, octet_counted(lines))
        found = records(kafka.bootstrap_servers, topic, len(lines), timeout=180)
    finally:
        acquisition.stop()
    assert sorted(record["raw"] for record in found) == sorted(lines)


def test_malformed_lines_are_delivered_with_what_could_be_read(kafka: KafkaBroker, tmp_path: Path) -> None:
    topic = new_topic(kafka.bootstrap_servers, partitions=1, prefix="syslog")
    acquisition, tcp, udp = acquisition_to(tmp_path, kafka, topic, udp=True)
    lines = [
        "no priority, no header at all",
        "<999>priority out of range",
        "<13>",
        "<13>1 not-a-time host app - - - bad 5424 time",
        "<34>Oct 41 25:61:99 host prog: impossible 3164 date",
        "<13>\u00e9t\u00e9 \u2603 unicode body",
    ]
    try:
        send_tcp(tcp, "".join(line + "\n" for line in lines).encode())
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(b"\xff\xfe not utf-8 over udp", ("127.0.0.1", udp))
        found = records(kafka.bootstrap_servers, topic, len(lines) + 1, timeout=60)
    finally:
        acquisition.stop()
    got = events(found)
    assert len(got) == len(lines) + 1
    messages = " | ".join(str(event["message"]) for event in got)
    for fragment in (
        "no priority, no header",
        "priority out of range",
        "bad 5424 time",
        "impossible 3164 date",
        "\u00e9t\u00e9 \u2603 unicode body",
        "not utf-8 over udp",
    ):
        assert fragment in messages
    no_pri = next(event for event in got if "no header at all" in str(event["message"]))
    assert no_pri["sender"] == "127.0.0.1" and no_pri["facility"] is None
    empty = next(event for event in got if event["message"] in ("", None))
    assert (empty["facility"], empty["severity"]) == ("user", "notice")


def test_standalone_acquisition_writes_files_that_input_syslog_reads(spark_context, tmp_path: Path) -> None:
    (tcp,) = ports(1)
    folder = tmp_path / "syslog-files"
    acquisition = Acquisition(tmp_path / "acq", files_conf(tmp_path / "work", tcp, folder, 1))
    acquisition.start(tcp)
    try:
        conf = syslog_usecase(tmp_path / "uc", f"folder = {folder}\nexisting = read\nprogram = sshd")
        settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
        out = tmp_path / "uc" / "out.csv"
        for n in range(20):
            logger(
                tcp, f"{SSH_FAILURE} try {n}", "-T", "--rfc3164", "-t", "sshd", "--id=1", "-p", "auth.info"
            )
            logger(tcp, f"session opened {n}", "-T", "--rfc3164", "-t", "CRON", "-p", "cron.info")
        run_until(spark_context, settings, [conf], lambda: len(csv_events(out)) >= 20)
    finally:
        acquisition.stop()
    files = sorted(folder.glob("syslog-*.jsonl"))
    assert files and all(path.stat().st_mode & 0o777 == 0o600 for path in files)
    assert folder.stat().st_mode & 0o777 == 0o700
    found = csv_events(out)
    assert sorted(event["message"] for event in found) == sorted(f"{SSH_FAILURE} try {n}" for n in range(20))
    assert {event["program"] for event in found} == {"sshd"}


def test_the_port_scan_detection_runs_unchanged_on_a_firewalls_syslog(spark_context, tmp_path: Path) -> None:
    """A firewall forwarding its kernel log: the lines of a port-scan test case, sent as its
    syslog would, give the case's finding to conf/port-scan on ``input = syslog``."""
    scan = case("conf/port-scan/tests/port-scan/vertical-iptables.yml")
    # A later probe from elsewhere moves event time past the window and its lateness: it closes.
    probe = next(line for line in scan.events if "SRC=203.0.113.7 " in line)
    later = probe.replace("Mar  3 10:01:", "Mar  3 10:30:").replace("SRC=203.0.113.7 ", "SRC=198.51.100.200 ")
    (tcp,) = ports(1)
    folder = tmp_path / "syslog-files"
    acquisition = Acquisition(tmp_path / "acq", files_conf(tmp_path / "work", tcp, folder, 1))
    home = datashark_home(tmp_path, "")
    files_input = {"folder": str(folder), "existing": "read", "program": "kernel"}
    conf_path = streaming_copy(home, "port-scan", {"in_syslog": files_input})
    conf = ConfigObj(str(conf_path), list_values=False, interpolation=False)
    conf.update({"input": "syslog", **scan.conf})
    conf.write()
    out = home / "port-scan.csv"
    acquisition.start(tcp)
    try:
        send_tcp(tcp, octet_counted([f"<4>{line}" for line in [*scan.events, later]]))
        settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
        run_until(
            spark_context, settings, [conf_path], lambda: out.exists() and "203.0.113.7" in out.read_text()
        )
    finally:
        acquisition.stop()
    (expected,) = scan.expect
    with open(out, newline="", encoding="utf-8") as rows:
        (row,) = (row for row in csv.DictReader(rows) if row["key"] == "203.0.113.7")
    assert (expected.score_min or 0) <= float(row["score"]) <= (expected.score_max or 100)
    for key in ("probes", "distinct_ports", "lowest_ports", "window_start", "first_seen", "last_seen"):
        assert str(row[key]) == str(expected.metadata[key]), key
    assert json.loads(row["signals"]) == expected.metadata["signals"]


def ssh_attack(case_file: str) -> list[tuple[int, str]]:
    """(pid, message) of each sshd line of a test case of conf/ssh-brute-force."""
    lines = case(f"conf/ssh-brute-force/tests/{case_file}").events
    found = []
    for line in lines:
        pid, message = line.split("sshd[", 1)[1].split("]: ", 1)
        found.append((int(pid), message))
    return found


def test_acquire_sh_and_start_sh_find_a_brute_force_sent_with_logger_across_a_kafka_outage(
    kafka: KafkaBroker, tmp_path: Path
) -> None:
    """The issue's done-when: ./acquire.sh forwards what ``logger`` sends, ./start.sh runs the SSH
    brute-force detection on ``input = syslog``; half the attack is sent while Kafka is down, and
    the finding counts every failed login of it."""
    topic = new_topic(kafka.bootstrap_servers, partitions=2, prefix="syslog")
    home = datashark_home(tmp_path, "")
    syslog_input = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "topics": topic,
        "group.id": f"g-{topic}",
        "starting.offsets": "earliest",
        "program": "sshd",
    }
    conf_path = streaming_copy(home, "ssh-brute-force", {"in_syslog": syslog_input})
    conf = ConfigObj(str(conf_path), list_values=False, interpolation=False)
    conf["input"] = "syslog"
    del conf["assume_year"]  # logger's lines are live
    # One-minute windows that close a minute after the last line, so the test takes minutes.
    conf.update({"fast_window_minutes": "1", "late_minutes": "0", "idle_minutes": "1"})
    conf.write()

    (tcp,) = ports(1)
    acquisition = Acquisition(
        tmp_path / "acq", listen_conf(tmp_path / "work", tcp=tcp) + kafka_conf(kafka.bootstrap_servers, topic)
    )
    acquisition.command = [str(REPO / "acquire.sh")]
    attack = ssh_attack("fast_enumeration.yml")
    half = 15  # three of the six invalid users
    log = tmp_path / "start.log"
    # The attack must fall in one minute: start it at the top of one.
    time.sleep(60 - time.time() % 60 + 0.5)
    acquisition.start(tcp)
    driver = start(home, log)
    try:
        for pid, message in attack[:half]:
            logger(tcp, message, "-T", "--rfc3164", "-t", "sshd", f"--id={pid}", "-p", "auth.info")
        with kafka.outage():
            for pid, message in attack[half:]:
                logger(tcp, message, "-T", "--rfc3164", "-t", "sshd", f"--id={pid}", "-p", "auth.info")
            time.sleep(15)
        # The driver stops when Kafka does not answer for 10 s (docs/inputs.md); a service
        # manager starts it again, and it goes on from the group's committed offsets.
        if driver.poll() is not None:
            driver = start(home, log)
        out = home / "ssh-brute-force.csv"
        wait_for(lambda: out.exists() and "203.0.113.9" in out.read_text(), "the brute-force finding", log)
    finally:
        os.killpg(driver.pid, signal.SIGINT)
        driver.wait(timeout=120)
        acquisition.stop()
    expected = case("conf/ssh-brute-force/tests/fast_enumeration.yml").expect[0].metadata
    found = findings(out)["203.0.113.9"]
    assert found["signals"] == expected["signals"]
    with open(out, newline="", encoding="utf-8") as rows:
        row = next(row for row in csv.DictReader(rows) if row["key"] == "203.0.113.9")
    assert (int(row["failures"]), int(row["users"])) == (expected["failures"], expected["users"])
