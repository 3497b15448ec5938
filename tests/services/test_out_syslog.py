"""out_syslog against the real rsyslog: every row arrives once, framed so rsyslog parses it.

Use cases run in-process on the session SparkContext. The rsyslog server is shared by the
session, so every test puts a unique token into its title and keys and reads back only its
own messages.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import textwrap
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError, UseCaseError
from datashark.run.prepare import prepare
from tests.integration.conftest import run_script, settings_for, stream_while
from tests.integration.test_streaming import drop
from tests.support import tls
from tests.support.runs import run_conf
from tests.support.server import free_port
from tests.support.servers.syslog import Syslog

pytestmark = pytest.mark.spark

ROWS = 40
# Every row carries metadata with a non-ASCII value and one that JSON must escape (quotes, newline)
BATCH_CODE = """
def load(batchData):
    return batchData.map(lambda line: (line, 2.5, {"zone": "dmz", "user": "jürgen", "note": 'a "b"\\nc'}))
"""
ODD_ROWS_CODE = """
def load(batchData):
    def row(line):
        if line.endswith("-nan"):
            return (line, 1.0, {"ratio": float("nan")})
        if line.endswith("-surrogate"):
            return (line, 1.0, {"name": "\\ud800"})
        if line.endswith("-big"):
            return (line, 1.0, {"blob": "x" * 9000})
        return (line, 1.0)
    return batchData.map(row)
"""
STREAM_CODE = """
def load(streamingData, trainingData):
    return streamingData.map(lambda line: (line, 1))
"""
RFC5424 = re.compile(r"<(\d+)>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (\S+) (\S+) (\S+) (\S+) - (.*)")


def usecase(
    folder: Path, title: str, syslog_keys: str, *, code: str = BATCH_CODE, stream: bool = False
) -> Path:
    """A use case sending to syslog: batch over ``data.txt``, or streaming from ``incoming/``."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(code))
    if stream:
        (folder / "incoming").mkdir()
        (folder / "training.txt").touch()
        source = "type = streaming\ninput = file\ntraining = training.txt\n"
        section = "[in_file]\nfolder_path = incoming\n"
    else:
        (folder / "data.txt").touch()
        source, section = "type = batch\nfile = data.txt\n", ""
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = {title}\n{source}code = uc.py\noutput = syslog\n{section}"
        f"[out_syslog]\n{textwrap.dedent(syslog_keys)}"
    )
    return conf


def run_batch_usecase(sc, conf: Path, lines: list[str]) -> None:
    (conf.parent / "data.txt").write_text("".join(line + "\n" for line in lines))
    settings = settings_for(conf.parent)
    run_conf(sc, settings, conf)


def new_token() -> str:
    """Unique in the shared rsyslog output, and short enough for the MSGID (32 characters)."""
    return uuid.uuid4().hex[:16]


def keys(token: str, n: int = ROWS) -> list[str]:
    return [f"{token}-{i}" for i in range(n)]


def bodies(entries: list[dict[str, str]]) -> list[dict]:
    return [json.loads(entry["msg"]) for entry in entries]


def written_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_udp_rfc5424_with_the_original_defaults(
    spark_context, syslog: Syslog, tmp_path: Path, capsys
) -> None:
    token = new_token()
    title = f"UDP {token}"
    conf = usecase(tmp_path / "uc", title, f"port = {syslog.udp_port}\n")
    run_batch_usecase(spark_context, conf, keys(token))

    raw = syslog.wait_for(ROWS, containing=token)
    parsed = syslog.wait_for_parsed(ROWS, containing=token)
    time.sleep(0.5)  # a duplicate would arrive right behind
    assert len(syslog.wait_for(ROWS, containing=token)) == ROWS, "each row exactly once"
    docs = bodies(parsed)
    assert sorted(doc["source_ip"] for doc in docs) == sorted(keys(token))
    stamp = docs[0]["@timestamp"]
    assert all(
        doc == {"@timestamp": stamp, "title": title, "source_ip": doc["source_ip"], "anomaly_score": 2.5,
                "zone": "dmz", "user": "jürgen", "note": 'a "b"\nc'}
        for doc in docs
    )  # fmt: skip
    for line in raw:
        pri, timestamp, hostname, app_name, procid, msgid, body = RFC5424.fullmatch(line).groups()
        assert (pri, timestamp, app_name, procid, msgid) == ("110", stamp, "datashark", "-", f"udp-{token}")
        assert body == json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))
        assert "\x00" not in line and "\ufeff" not in line
    assert {(e["facility"], e["severity"], e["app_name"], e["msgid"]) for e in parsed} == {
        ("13", "6", "datashark", f"udp-{token}")
    }
    assert {e["hostname"] for e in parsed} == {hostname} and " " not in hostname
    assert {e["timestamp"] for e in parsed} == {stamp}
    assert written_line(capsys).endswith(
        f" - ({title}) - Written {ROWS} Documents to Syslog udp://127.0.0.1:{syslog.udp_port} (RFC 5424)"
    )


@pytest.mark.parametrize("framing", ["octet-counting", "newline"])
def test_tcp_rfc5424_in_either_framing(
    spark_context, syslog: Syslog, tmp_path: Path, framing: str, capsys
) -> None:
    token = new_token()
    conf = usecase(
        tmp_path / "uc",
        f"TCP {token}",
        f"""
        port = {syslog.tcp_port}
        protocol = tcp
        framing = {framing}
        facility = authpriv
        severity = warning
        app_name = ds-test
        hostname = sensor-1.example.org
        pkey = key
        score = score
        """,
    )
    big = f"{token}-big-" + "x" * 20_000  # over UDP's limit: TCP takes it whole
    run_batch_usecase(spark_context, conf, [*keys(token), big])

    parsed = syslog.wait_for_parsed(ROWS + 1, containing=token)
    time.sleep(0.5)
    assert len(syslog.wait_for(ROWS + 1, containing=token)) == ROWS + 1, "each row exactly once"
    assert sorted(doc["key"] for doc in bodies(parsed)) == sorted([*keys(token), big])
    assert {(e["pri"], e["facility"], e["severity"], e["hostname"], e["app_name"]) for e in parsed} == {
        ("84", "10", "4", "sensor-1.example.org", "ds-test")
    }
    assert written_line(capsys).endswith(
        f"Written {ROWS + 1} Documents to Syslog tcp://127.0.0.1:{syslog.tcp_port} (RFC 5424, {framing})"
    )


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_rfc3164(spark_context, syslog: Syslog, tmp_path: Path, protocol: str) -> None:
    token = new_token()
    keys_ = f"""
        port = {syslog.port(protocol)}
        protocol = {protocol}
        format = rfc3164
        hostname = sensor2
        facility = local3
        """
    run_batch_usecase(spark_context, usecase(tmp_path / "uc", f"BSD {token}", keys_), keys(token))

    raw = syslog.wait_for(ROWS, containing=token)
    parsed = syslog.wait_for_parsed(ROWS, containing=token)
    assert all(
        re.fullmatch(r"<158>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d sensor2 datashark: \{.*\}", line)
        for line in raw
    )
    assert {(e["facility"], e["severity"], e["hostname"], e["app_name"], e["tag"]) for e in parsed} == {
        ("19", "6", "sensor2", "datashark", "datashark:")
    }
    assert sorted(doc["source_ip"] for doc in bodies(parsed)) == sorted(keys(token))
    # RFC 3164 time is local and without a year: rsyslog, on this machine, reads back the batch time
    assert all(
        datetime.fromisoformat(e["timestamp"]) == datetime.fromisoformat(doc["@timestamp"])
        for e, doc in zip(parsed, bodies(parsed), strict=True)
    )


FOUR_PARTITIONS_CODE = """
def load(batchData):
    rows = batchData.map(lambda line: (line, 1.0))  # keys end in -<row number>
    return rows.partitionBy(4, lambda key: int(key.rsplit("-", 1)[1]))
"""


def wait_for_closed(syslog: Syslog, before: tuple[int, int]) -> tuple[int, int]:
    """The connections opened and closed since ``before``, once every one opened is closed (or
    after 5 s: a socket left open would never be)."""
    deadline = time.monotonic() + 5
    while True:
        opened, closed = (now - then for now, then in zip(syslog.tcp_connections(), before, strict=True))
        if (opened and opened == closed) or time.monotonic() > deadline:
            return opened, closed
        time.sleep(0.1)


def test_each_partition_sends_through_one_tcp_connection_it_closes(
    spark_context, syslog: Syslog, tmp_path: Path
) -> None:
    token = new_token()
    conf = usecase(
        tmp_path / "uc",
        f"Sockets {token}",
        f"port = {syslog.tcp_port}\nprotocol = tcp\n",
        code=FOUR_PARTITIONS_CODE,
    )
    before = syslog.tcp_connections()
    run_batch_usecase(spark_context, conf, keys(token))
    syslog.wait_for(ROWS, containing=token)
    assert wait_for_closed(syslog, before) == (4, 4)


def test_standalone_with_debug_prints_each_message_it_sends(syslog: Syslog, tmp_path: Path) -> None:
    """As a user runs it. Executors print to Spark's stderr (pytest cannot capture them in-process)."""
    token = new_token()
    conf = usecase(tmp_path / "uc", f"Debug {token}", f"port = {syslog.udp_port}\ndebug = true\n")
    (conf.parent / "data.txt").write_text("".join(key + "\n" for key in keys(token, 5)))
    result = run_script("standalone.sh", str(conf), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    raw = syslog.wait_for(5, containing=token)
    printed = [line for line in result.stderr.splitlines() if token in line and line.startswith("<110>1 ")]
    assert sorted(printed) == sorted(raw)
    assert f"({'Debug ' + token}) - Written 5 Documents to Syslog udp://" in result.stdout


def test_rows_that_cannot_be_sent_are_dead_letters(
    spark_context, syslog: Syslog, tmp_path: Path, capsys
) -> None:
    """Over UDP's limit (the output's check), NaN or a lone surrogate in metadata (the rows'):
    dead letters."""
    token = new_token()
    conf = usecase(tmp_path / "uc", f"Odd {token}", f"port = {syslog.udp_port}\n", code=ODD_ROWS_CODE)
    lines = [*keys(token, 3), f"{token}-big", f"{token}-nan", f"{token}-surrogate"]
    run_batch_usecase(spark_context, conf, lines)

    docs = bodies(syslog.wait_for_parsed(3, containing=token))
    assert sorted(doc["source_ip"] for doc in docs) == sorted(keys(token, 3))
    assert written_line(capsys).endswith(
        f"Written 3 Documents to Syslog udp://127.0.0.1:{syslog.udp_port} (RFC 5424) (3 Dead Letters)"
    )
    records = [
        json.loads(line) for path in (tmp_path / "uc" / "deadletter").rglob("*.jsonl") for line in path.open()
    ]
    reasons = {record["event"].split("'")[1]: record["reason"] for record in records}
    assert {record["stage"] for record in records} == {"output"}
    assert re.fullmatch(
        r"syslog: message of 9\d{3} bytes is over the 8192-byte limit of udp", reasons[f"{token}-big"]
    )
    assert (
        reasons[f"{token}-nan"] == "load() returned a bad row: metadata['ratio'] is nan, not a finite number"
    )
    assert reasons[f"{token}-surrogate"] == (
        "load() returned a bad row: metadata['name'] is not UTF-8 text (a lone surrogate)"
    )
    assert not [
        line
        for line in syslog.messages()
        if any(f"{token}-{odd}" in line for odd in ("big", "nan", "surrogate"))
    ]


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_streaming_batches_are_each_sent_once(
    spark_context, syslog: Syslog, tmp_path: Path, protocol: str
) -> None:
    token = new_token()
    conf = usecase(
        tmp_path / "uc",
        f"Stream {token}",
        f"port = {syslog.port(protocol)}\nprotocol = {protocol}\n",
        code=STREAM_CODE,
        stream=True,
    )
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    prepared = prepare(settings, read_usecase(conf))
    waves = [keys(f"{token}-w{wave}", 10) for wave in range(3)]

    def dropper() -> None:
        for number, lines in enumerate(waves):
            time.sleep(2)
            drop(conf.parent / "incoming", f"{number}.log", lines)

    before = syslog.tcp_connections()
    stream_while(spark_context, settings, [prepared], dropper, timeout=9)

    docs = bodies(syslog.wait_for_parsed(30, containing=token))
    if protocol == "tcp":
        opened, closed = wait_for_closed(syslog, before)
        assert opened >= 3 and closed == opened, "a connection per partition of each batch, none left open"
    time.sleep(0.5)
    assert len(syslog.wait_for(30, containing=token)) == 30, "each row exactly once"
    assert sorted(doc["source_ip"] for doc in docs) == sorted(key for wave in waves for key in wave)
    assert len({doc["@timestamp"] for doc in docs}) == 3, "three waves, three batches"


def test_tcp_receiver_down_fails_the_batch_in_one_line(spark_context, tmp_path: Path) -> None:
    port = free_port()
    conf = usecase(tmp_path / "uc", "Down", f"port = {port}\nprotocol = tcp\n")
    with pytest.raises(UseCaseError) as failure:
        run_batch_usecase(spark_context, conf, ["10.0.0.1"])
    assert str(failure.value) == (
        f"(Down) - Failed: ConnectionError: syslog tcp://127.0.0.1:{port}: Connection refused (tried 3 times)"
    )


@pytest.mark.parametrize(
    ("keys_", "message"),
    [
        ("facility = loca10", r"key 'facility': 'loca10' is not 0-23 or one of .*local7"),
        ("severity = 8", r"key 'severity': '8' is not 0-7 or one of .*warning"),
        ("hostname = my host", r"key 'hostname': must be visible ASCII characters without spaces"),
        ("app_name = " + "a" * 49, r"key 'app_name': must be at most 48 characters"),
        (
            "format = rfc3164\napp_name = a:b",
            r"key 'app_name': must not contain ':', '\[' or '\]' for rfc3164",
        ),
        ("protocol = sctp", r"key 'protocol': .*\(allowed: udp, tcp, tls\)"),
        ("port = 70000", r"key 'port': .*too big"),
        ("facilty = 4", r"'facilty' is not a known key"),
    ],
)
def test_bad_keys_are_config_errors_naming_file_section_and_key(
    tmp_path: Path, keys_: str, message: str
) -> None:
    conf = usecase(tmp_path / "uc", "Bad", keys_ + "\n")
    with pytest.raises(ConfigError, match=re.escape(f"{conf}: [out_syslog]") + ".*" + message):
        prepare(settings_for(tmp_path), read_usecase(conf))


TLS_CODE = """
def load(batchData):
    def row(line):
        metadata = {"user": "jürgen", "note": 'a "b"\\nc'}
        if line.endswith("-0"):
            metadata["pad"] = "x" * 20000  # more than one TLS record
        return (line, 2.5, metadata)
    pairs = batchData.map(lambda line: (line, None))  # keys end in -<row number>
    return pairs.partitionBy(4, lambda key: int(key.rsplit("-", 1)[1])).keys().map(row)
"""


def tls_usecase(folder: Path, title: str, syslog_keys: str, files: dict[str, Path]) -> Path:
    """A use case sending over TLS, with ``files`` (name: source) copied into its folder."""
    conf = usecase(folder, title, f"protocol = tls\n{syslog_keys}", code=TLS_CODE)
    for name, source in files.items():
        shutil.copy(source, folder / name)
    return conf


def test_tls_rows_arrive_intact_through_connections_closed_cleanly(
    spark_context, syslog: Syslog, tmp_path: Path, capsys
) -> None:
    """RFC 5425 to rsyslog's gtls input, the CA given relative to the use case's folder."""
    token = new_token()
    title = f"TLS {token}"
    keys_ = f"port = {syslog.tls_port}\nca_file = ca.pem\n"
    conf = tls_usecase(tmp_path / "uc", title, keys_, {"ca.pem": syslog.certificates.ca})
    before = syslog.tcp_connections()
    run_batch_usecase(spark_context, conf, keys(token))

    parsed = syslog.wait_for_parsed(ROWS, containing=token)
    time.sleep(0.5)
    assert len(syslog.wait_for(ROWS, containing=token)) == ROWS, "each row exactly once"
    docs = sorted(bodies(parsed), key=lambda doc: int(doc["source_ip"].rsplit("-", 1)[1]))
    assert [doc["source_ip"] for doc in docs] == keys(token)
    assert docs[0].pop("pad") == "x" * 20000
    assert all(
        doc == {"@timestamp": docs[0]["@timestamp"], "title": title, "source_ip": doc["source_ip"],
                "anomaly_score": 2.5, "user": "jürgen", "note": 'a "b"\nc'}
        for doc in docs
    )  # fmt: skip
    assert {(e["app_name"], e["msgid"]) for e in parsed} == {("datashark", f"tls-{token}")}
    assert wait_for_closed(syslog, before) == (4, 4), (
        "one connection per partition, each ended by close_notify"
    )
    assert written_line(capsys).endswith(
        f"Written {ROWS} Documents to Syslog tls://127.0.0.1:{syslog.tls_port} (RFC 5424, octet-counting)"
    )


def test_mutual_tls_with_a_client_certificate(spark_context, syslog: Syslog, tmp_path: Path) -> None:
    """The input that takes only clients the session CA signed; the server verified as ``localhost``."""
    token = new_token()
    keys_ = f"""
        port = {syslog.mutual_tls_port}
        ca_file = ca.pem
        cert_file = client.pem
        key_file = client.key
        server_name = localhost
        """
    files = {
        "ca.pem": syslog.certificates.ca,
        "client.pem": syslog.client.cert,
        "client.key": syslog.client.key,
    }
    conf = tls_usecase(tmp_path / "uc", f"mTLS {token}", keys_, files)
    run_batch_usecase(spark_context, conf, keys(token))

    docs = bodies(syslog.wait_for_parsed(ROWS, containing=token))
    assert sorted(doc["source_ip"] for doc in docs) == sorted(keys(token))


@pytest.mark.parametrize(
    ("trusted", "reason"),
    [
        ("another CA", "certificate verify failed: unable to get local issuer certificate"),
        (
            "the right CA, another name",
            "certificate verify failed: Hostname mismatch, certificate is not valid",
        ),
    ],
)
def test_a_server_that_cannot_be_verified_fails_the_batch_in_one_line(
    spark_context, syslog: Syslog, tmp_path: Path, trusted: str, reason: str
) -> None:
    token = new_token()
    if trusted == "another CA":
        keys_ = f"ca_file = {tls.make_certificates(tmp_path / 'other').ca}\n"
    else:
        keys_ = f"ca_file = {syslog.certificates.ca}\nserver_name = syslog.example.org\n"
    keys_ += f"port = {syslog.tls_port}\n"
    conf = tls_usecase(tmp_path / "uc", f"Refused {token}", keys_, {})
    with pytest.raises(UseCaseError) as failure:
        run_batch_usecase(spark_context, conf, keys(token, 3))

    message = str(failure.value)
    assert message.startswith(
        f"(Refused {token}) - Failed: ConnectionError: syslog tls://127.0.0.1:{syslog.tls_port}: {reason}"
    )
    assert "\n" not in message and "Traceback" not in message
    time.sleep(0.5)
    assert not [line for line in syslog.messages() if token in line]
