"""The port-scan use case's pure functions: reading kernel packet-log lines and Zeek records
into probes, the per-source summary of what was probed, and the score. Spark runs them in
`bin/datashark test conf/port-scan` (conf/port-scan/tests/)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "port-scan"
WHEN = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)

CROWDSEC = (
    "[19955416.516358] IN=ens2 OUT= MAC=de:1c:88:64:10:19:5e:e1:a4:3b:cf:f0:08:00 SRC=62.34.17.168 "
    "DST=10.73.140.49 LEN=44 TOS=0x00 PREC=0x00 TTL=43 ID=25313 PROTO=TCP SPT=52220 DPT=80 WINDOW=1024 "
    "RES=0x00 SYN URGP=0"
)


@pytest.fixture(scope="module")
def scan() -> ModuleType:
    path = FOLDER / "port-scan.py"
    return import_file(path, unique_module_name("port_scan_unit", path))


@pytest.fixture(scope="module")
def settings(scan: ModuleType):
    return scan.Settings.from_conf({})


def syslog_event(message: str) -> dict:
    return {"program": "kernel", "message": message, "@timestamp": WHEN}


# ----------------------------------------------------------------------------- kernel lines


def test_iptables_line_with_uptime_stamp(scan: ModuleType) -> None:
    packet = scan.firewall_packet(CROWDSEC)
    assert packet["prefix"] == ""
    assert (packet["in"], packet["out"]) == ("ens2", "")
    assert (packet["src"], packet["dst"], packet["proto"]) == ("62.34.17.168", "10.73.140.49", "tcp")
    assert (packet["spt"], packet["dpt"], packet["flags"]) == (52220, 80, ["SYN"])


@pytest.mark.parametrize(
    ("message", "prefix", "action"),
    [
        (
            "[UFW BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2 SYN URGP=0",
            "[UFW BLOCK]",
            "blocked",
        ),
        (
            "[UFW ALLOW] IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2 SYN URGP=0",
            "[UFW ALLOW]",
            "allowed",
        ),
        (
            "[UFW AUDIT] IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2 SYN URGP=0",
            "[UFW AUDIT]",
            "logged",
        ),
        (
            "[UFW LIMIT BLOCK] IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2",
            "[UFW LIMIT BLOCK]",
            "blocked",
        ),
        (
            "[ 1234.567890] nft-drop: IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=UDP SPT=1 DPT=2",
            "nft-drop:",
            "blocked",
        ),
        (
            "filter_IN_public_REJECT: IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2",
            "filter_IN_public_REJECT:",
            "blocked",
        ),
        (
            "Shorewall:net-fw:DROP:IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2",
            "Shorewall:net-fw:DROP:",
            "blocked",
        ),
        ("ACCEPTIN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2", "ACCEPT", "allowed"),
    ],
)
def test_log_prefixes_and_what_they_did(scan: ModuleType, message: str, prefix: str, action: str) -> None:
    packet = scan.firewall_packet(message)
    assert packet["prefix"] == prefix
    assert scan.firewall_action(packet["prefix"]) == action


def test_ipv6_addresses_are_canonical(scan: ModuleType) -> None:
    packet = scan.firewall_packet(
        "[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:86:dd SRC=2001:0DB8:0:0:0:0:0:7 "
        "DST=2001:db8:1::10 LEN=80 TC=0 HOPLIMIT=52 FLOWLBL=0 PROTO=TCP SPT=40000 DPT=22 WINDOW=1024 "
        "RES=0x00 SYN URGP=0"
    )
    assert (packet["src"], packet["dst"], packet["dpt"]) == ("2001:db8::7", "2001:db8:1::10", 22)


def test_packet_quoted_in_an_icmp_error_is_not_read(scan: ModuleType) -> None:
    packet = scan.firewall_packet(
        "IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 LEN=72 PROTO=ICMP TYPE=3 CODE=3 "
        "[SRC=10.0.0.1 DST=192.0.2.1 LEN=44 PROTO=UDP SPT=53 DPT=40000 LEN=24 ]"
    )
    assert (packet["src"], packet["proto"], packet["icmp_type"], packet["dpt"]) == (
        "192.0.2.1",
        "icmp",
        3,
        None,
    )


@pytest.mark.parametrize(
    "message",
    [
        None,
        "e1000e 0000:00:19.0 eth0: NIC Link is Up 1000 Mbps Full Duplex",
        "IN=eth0 OUT= SRC=not-an-address DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2",
        "IN=eth0 OUT= DST=10.0.0.1 PROTO=TCP SPT=1 DPT=2",
    ],
)
def test_lines_that_are_no_packet(scan: ModuleType, message: str | None) -> None:
    assert scan.firewall_packet(message) is None


# ----------------------------------------------------------------------------- what is a probe


@pytest.mark.parametrize(
    ("proto", "dport", "sport", "flags", "icmp_type", "target"),
    [
        ("tcp", 22, 40000, ["SYN"], None, "tcp/22"),
        ("tcp", 22, 40000, [], None, "tcp/22"),  # a NULL scan
        ("tcp", 22, 40000, ["FIN", "PSH", "URG"], None, "tcp/22"),  # an Xmas scan
        ("tcp", 51000, 443, ["ACK", "FIN"], None, None),  # a server's late answer
        ("tcp", 51000, 443, ["RST"], None, None),
        ("udp", 161, 51000, None, None, "udp/161"),
        ("udp", 51000, 53, None, None, None),  # a DNS answer
        ("udp", 500, 500, None, None, "udp/500"),
        ("icmp", None, None, None, 8, "icmp"),
        ("icmp", None, None, None, 0, None),  # an echo reply
        ("icmp", None, None, None, 3, None),  # unreachable
        ("icmpv6", None, None, None, 128, "icmp"),
        ("icmpv6", None, None, None, 129, None),
        ("gre", None, None, None, None, None),
        ("tcp", None, None, ["SYN"], None, None),
    ],
)
def test_probe_target(scan: ModuleType, settings, proto, dport, sport, flags, icmp_type, target) -> None:
    assert scan.probe_target(proto, dport, sport, flags, icmp_type, settings) == target


def test_udp_answers_count_when_told(scan: ModuleType) -> None:
    settings = scan.Settings.from_conf({"skip_udp_replies": "false"})
    assert scan.probe_target("udp", 51000, 53, None, None, settings) == "udp/51000"


def test_firewall_probe(scan: ModuleType, settings) -> None:
    [probe] = scan.probes(settings, syslog_event(CROWDSEC))
    assert probe == {
        "src": "62.34.17.168",
        "dst": "10.73.140.49",
        "target": "tcp/80",
        "port": 80,
        "proto": "tcp",
        "action": "logged",
        "weight": 1.0,
        "@timestamp": WHEN,
    }


def test_allowed_probe_counts_less(scan: ModuleType, settings) -> None:
    message = "[UFW ALLOW] IN=eth0 OUT= SRC=192.0.2.1 DST=10.0.0.1 PROTO=TCP SPT=40000 DPT=22 SYN URGP=0"
    [probe] = scan.probes(settings, syslog_event(message))
    assert (probe["action"], probe["weight"]) == ("allowed", 0.25)


@pytest.mark.parametrize(
    "message",
    [
        "[UFW AUDIT] IN=lo OUT= SRC=10.0.0.1 DST=10.0.0.1 PROTO=TCP SPT=50616 DPT=53 SYN URGP=0",
        "[UFW BLOCK] IN=eth0 OUT= SRC=127.0.0.2 DST=10.0.0.1 PROTO=TCP SPT=50616 DPT=53 SYN URGP=0",
        "[UFW BLOCK] IN= OUT=eth0 SRC=10.0.0.1 DST=::1 PROTO=TCP SPT=50616 DPT=53 SYN URGP=0",
    ],
)
def test_loopback_is_ignored_unless_told(scan: ModuleType, settings, message: str) -> None:
    assert scan.probes(settings, syslog_event(message)) == []
    keep = scan.Settings.from_conf({"ignore_loopback": "false"})
    assert len(scan.probes(keep, syslog_event(message))) == 1


def test_ignored_sources(scan: ModuleType) -> None:
    settings = scan.Settings.from_conf({"ignore_sources": "192.0.2.0/28, 2001:db8::7"})
    line = "IN=eth0 OUT= SRC={} DST=10.0.0.1 PROTO=TCP SPT=40000 DPT=22 SYN URGP=0"
    assert scan.probes(settings, syslog_event(line.format("192.0.2.9"))) == []
    assert scan.probes(settings, syslog_event(line.format("2001:db8::7"))) == []
    assert len(scan.probes(settings, syslog_event(line.format("192.0.2.99")))) == 1


# ----------------------------------------------------------------------------- Zeek


def zeek(**fields) -> dict:
    record = {"id.orig_h": "192.0.2.66", "id.orig_p": 61000, "id.resp_h": "10.1.2.3", "id.resp_p": 22}
    record.update({"proto": "tcp", "@timestamp": WHEN}, **fields)
    return record


@pytest.mark.parametrize(
    ("fields", "action", "weight"),
    [
        ({"conn_state": "S0"}, "blocked", 1.0),
        ({"conn_state": "REJ"}, "blocked", 1.0),
        ({"conn_state": "RSTOS0"}, "blocked", 1.0),
        ({"conn_state": "RSTO", "orig_bytes": 0, "resp_bytes": 0}, "blocked", 1.0),  # SYN scan, port open
        ({"conn_state": "SF", "orig_bytes": 800, "resp_bytes": 9000}, "allowed", 0.25),
        ({"conn_state": "SF"}, "allowed", 0.25),  # JSON logs leave unset fields out
        ({"conn_state": "SF", "proto": "udp", "orig_bytes": 0, "resp_bytes": 0}, "allowed", 0.25),
    ],
)
def test_zeek_states(scan: ModuleType, settings, fields: dict, action: str, weight: float) -> None:
    [probe] = scan.probes(settings, zeek(**fields))
    assert (probe["target"], probe["action"], probe["weight"]) == (f"{probe['proto']}/22", action, weight)


@pytest.mark.parametrize("state", ["OTH", "SHR", "RSTRH", None])
def test_zeek_states_without_a_direction_are_skipped(scan: ModuleType, settings, state) -> None:
    assert scan.probes(settings, zeek(conn_state=state)) == []


def test_zeek_icmp_type_is_in_the_originator_port(scan: ModuleType, settings) -> None:
    [probe] = scan.probes(settings, zeek(proto="icmp", conn_state="OTH", **{"id.orig_p": 8, "id.resp_p": 0}))
    assert (probe["target"], probe["port"], probe["action"]) == ("icmp", None, "logged")
    assert (
        scan.probes(settings, zeek(proto="icmp", conn_state="OTH", **{"id.orig_p": 3, "id.resp_p": 3})) == []
    )


# ----------------------------------------------------------------------------- summary and score


def test_summary_of_targets(scan: ModuleType) -> None:
    pairs = {("10.0.0.1", f"tcp/{port}"): 1.0 for port in (22, 80, 443)}
    pairs |= {(f"10.0.0.{host}", "tcp/22"): 0.25 for host in range(2, 6)}
    pairs[("10.0.0.9", "icmp")] = 1.0
    assert scan.summarise_targets(pairs) == {
        "distinct_ports": 3,
        "distinct_hosts": 6,
        "top_host": "10.0.0.1",
        "ports_on_top_host": 3.0,
        "top_port": "tcp/22",
        "hosts_on_top_port": 2.0,
    }


def test_measure_merges_keep_the_highest_weight(scan: ModuleType) -> None:
    measure = scan.scan_targets()
    a = measure.add(measure.start(), {"dst": "10.0.0.1", "target": "tcp/22", "weight": 0.25})
    b = measure.add(measure.start(), {"dst": "10.0.0.1", "target": "tcp/22", "weight": 1.0})
    assert measure.merge(a, b) == {("10.0.0.1", "tcp/22"): 1.0}
    assert measure.merge(b, a) == {("10.0.0.1", "tcp/22"): 1.0}


def test_ties_sort_by_number_not_text(scan: ModuleType) -> None:
    pairs = {("10.0.0.10", "tcp/1234"): 1.0, ("10.0.0.9", "tcp/125"): 1.0}
    summary = scan.summarise_targets(pairs)
    assert (summary["top_host"], summary["top_port"]) == ("10.0.0.9", "tcp/125")


@pytest.mark.parametrize(
    ("ports", "hosts", "internal", "score", "signals"),
    [
        (14.75, 24.75, False, 0.0, []),
        (15, 0, False, 30.0, ["vertical_scan"]),
        (0, 25, False, 30.0, ["horizontal_scan"]),
        (1000, 0, False, 70.0, ["vertical_scan"]),
        (65535, 0, False, 70.0, ["vertical_scan"]),
        (15, 25, False, 35.0, ["vertical_scan", "horizontal_scan"]),
        (15, 0, True, 40.0, ["vertical_scan"]),
        (1000, 1000, True, 85.0, ["vertical_scan", "horizontal_scan"]),
        (0, 0, True, 0.0, []),
    ],
)
def test_score(scan: ModuleType, settings, ports, hosts, internal, score, signals) -> None:
    targets = {"ports_on_top_host": ports, "hosts_on_top_port": hosts}
    assert scan.score_of(targets, internal, settings) == (score, signals)


def test_internal_networks(scan: ModuleType, settings) -> None:
    assert scan.in_networks("10.9.8.7", settings.internal_networks)
    assert scan.in_networks("fd00::1", settings.internal_networks)
    assert not scan.in_networks("203.0.113.7", settings.internal_networks)  # documentation, not internal
    assert not scan.in_networks("192.0.2.1", settings.internal_networks)


def test_settings_from_conf(scan: ModuleType) -> None:
    settings = scan.Settings.from_conf(
        {"ports_threshold": "20", "ignore_loopback": "False", "ignore_sources": ""}
    )
    assert (settings.ports_threshold, settings.ignore_loopback, settings.ignore_sources) == (20.0, False, ())
    with pytest.raises(ValueError, match=r"ignore_loopback must be true or false, not .maybe."):
        scan.Settings.from_conf({"ignore_loopback": "maybe"})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # pfSense, IPv4 TCP SYN (the fields of docs.netgate.com's raw filter log format)
        (
            "53,,,1000102631,em0,match,block,in,4,0x0,,64,892,0,none,6,tcp,44,192.0.2.2,10.0.2.15,59576,2222,0,"
            "S,17536001,,65535,,mss",
            ("192.0.2.2", "10.0.2.15", "tcp", 59576, 2222, ["SYN"], "blocked"),
        ),
        # a late segment of a connection: PA is no probe
        (
            "53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,192.0.2.2,10.0.2.15,53742,22,420,"
            "PA,29633380:29633800,3617062173,65535,,",
            ("192.0.2.2", "10.0.2.15", "tcp", 53742, 22, ["ACK", "PSH"], "blocked"),
        ),
        # OPNsense, IPv6 UDP, passed (class, flow label, hop limit, protocol name before its number)
        (
            "98,,,881dd59a3e942966c90498ac104715a0,re0,match,pass,in,6,0x00,0x0ea87,51,udp,17,78,"
            "2001:db8:702e::2f8a,2001:db8:ada::1738,51918,51918,78",
            ("2001:db8:702e::2f8a", "2001:db8:ada::1738", "udp", 51918, 51918, [], "allowed"),
        ),
    ],
)
def test_pf_filterlog_lines(scan: ModuleType, message: str, expected: tuple) -> None:
    packet = scan.filterlog_packet(message)
    found = (packet["src"], packet["dst"], packet["proto"], packet["spt"], packet["dpt"])
    assert (*found, packet["flags"], packet["action"]) == expected


def test_pf_icmp_echo_request_is_a_probe_of_the_host(scan: ModuleType, settings) -> None:
    message = (
        "5,,,1000000103,em0,match,block,in,4,0x0,,64,0,0,none,1,icmp,84,192.0.2.9,10.0.0.4,request,4242,1"
    )
    probes = scan.from_firewall(syslog_event(message), settings)
    assert [(p["src"], p["dst"], p["target"], p["action"]) for p in probes] == [
        ("192.0.2.9", "10.0.0.4", "icmp", "blocked")
    ]


@pytest.mark.parametrize(
    "message",
    [
        "not,a,filterlog,line",
        "53,,,1000102631,em0,match,block,in,4,0x0,,64",
        '%ASA-4-106023: Deny tcp src outside:192.0.2.1/4242 dst inside:10.0.0.1/22 by access-group "out"',
        "53,,,1000102631,em0,match,block,in,4,0x0,,64,892,0,none,6,tcp,44,not-an-ip,10.0.2.15,1,2,0,S",
    ],
)
def test_lines_that_are_no_pf_packet(scan: ModuleType, message: str) -> None:
    assert scan.filterlog_packet(message) is None


@pytest.mark.parametrize("dst", ["255.255.255.255", "239.255.255.250", "224.0.0.251", "ff02::fb"])
def test_packets_to_groups_are_no_probes(scan: ModuleType, settings, dst: str) -> None:
    message = (
        f"[UFW BLOCK] IN=eth0 OUT= MAC=ff:ff:ff:ff:ff:ff:52:54:00:aa:bb:cc:08:00 SRC=10.4.4.20 DST={dst} "
        "LEN=72 PROTO=UDP SPT=49152 DPT=1900 LEN=52"
    )
    assert scan.from_firewall(syslog_event(message), settings) == []


def test_a_packet_line_without_out_is_read(scan: ModuleType) -> None:
    packet = scan.firewall_packet(
        "policy DROP: IN=vmbr0.94 MAC=24:8a:07:9a:2a:f2:24:8a:07:50:2c:9e:08:00 SRC=192.0.2.11 "
        "DST=10.3.94.12 LEN=52 PROTO=UDP SPT=49152 DPT=3784 LEN=32"
    )
    assert (packet["src"], packet["dpt"], packet["out"]) == ("192.0.2.11", 3784, "")
