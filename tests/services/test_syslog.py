"""The test rsyslog receives RFC 5424 messages over UDP and TCP (both RFC 6587 framings)."""

from __future__ import annotations

import uuid

from tests.support.servers.syslog import Syslog, rfc5424


def test_udp_message_arrives_raw_and_parsed(syslog: Syslog) -> None:
    token = uuid.uuid4().hex
    line = rfc5424(f"over udp {token}", app_name="dstest", msgid="UDP1")
    syslog.send_udp(line)

    assert syslog.wait_for(1, containing=token) == [line]
    parsed = [entry for entry in syslog.parsed() if token in entry["msg"]]
    assert len(parsed) == 1
    assert parsed[0]["app_name"] == "dstest"
    assert parsed[0]["msgid"] == "UDP1"
    assert parsed[0]["severity"] == "5"  # <13> is user.notice
    assert parsed[0]["msg"] == f"over udp {token}"


def test_tcp_messages_arrive_with_either_framing(syslog: Syslog) -> None:
    token = uuid.uuid4().hex
    counted = rfc5424(f"octet counted {token}", msgid="TCP1")
    newline = rfc5424(f"newline framed {token}", msgid="TCP2")
    syslog.send_tcp(counted, octet_counting=True)
    syslog.send_tcp(newline, octet_counting=False)

    assert sorted(syslog.wait_for(2, containing=token)) == sorted([counted, newline])
    assert {entry["msgid"] for entry in syslog.parsed() if token in entry["msg"]} == {"TCP1", "TCP2"}
