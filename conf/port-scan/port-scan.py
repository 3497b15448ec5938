"""Port scans per source address: many ports of one host (vertical) or one port of many hosts
(horizontal, a sweep), from firewall log lines or Zeek's conn.log.

Both sources become the same probe events, ``{"src", "dst", "target", "port", "proto", "action",
"weight"}``, counted per source address in tumbling windows of event time. See README.md for the
score, the tuning keys and the formats recognised.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from datashark.detect.addresses import address_text, in_networks
from datashark.detect.measures import count, distinct_values, first_seen, last_seen, top
from datashark.detect.memo import remembered
from datashark.detect.severity import HIGH, LOW, MAXIMUM, combined, grows_with, level_of
from datashark.detect.tuning import flag, networks
from datashark.detect.windows import Window, per_entity

# ----------------------------------------------------------------------------- settings

DEFAULT_INTERNAL = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, fe80::/10"


@dataclass(frozen=True)
class Settings:
    """The use case's tuning keys, read once from the conf (see README.md for each one)."""

    window_minutes: float = 5
    late_minutes: float = 2
    idle_minutes: float = 5
    ports_threshold: float = 15
    ports_saturation: float = 1000
    hosts_threshold: float = 25
    hosts_saturation: float = 1000
    accepted_weight: float = 0.25
    internal_bonus: float = 10
    ignore_loopback: bool = True
    skip_udp_replies: bool = True
    internal_networks: tuple = networks("internal_networks", DEFAULT_INTERNAL)
    ignore_sources: tuple = ()

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        def get(key: str, default: Any) -> Any:
            value = conf.get(key) if hasattr(conf, "get") else None
            return default if value is None or value == "" else value

        defaults = cls()
        numbers = {
            name: float(get(name, getattr(defaults, name)))
            for name in (
                "window_minutes",
                "late_minutes",
                "idle_minutes",
                "ports_threshold",
                "ports_saturation",
                "hosts_threshold",
                "hosts_saturation",
                "accepted_weight",
                "internal_bonus",
            )
        }
        return cls(
            **numbers,
            ignore_loopback=flag("ignore_loopback", get("ignore_loopback", True)),
            skip_udp_replies=flag("skip_udp_replies", get("skip_udp_replies", True)),
            internal_networks=networks("internal_networks", get("internal_networks", DEFAULT_INTERNAL)),
            ignore_sources=networks("ignore_sources", get("ignore_sources", "")),
        )


# ----------------------------------------------------------------------------- addresses


@remembered
def ip_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ipaddress.ip_address``, remembered: a firewall logs the same addresses again and again."""
    return ipaddress.ip_address(text)


def is_loopback(text: str) -> bool:
    """127.0.0.0/8 or ::1 (and IPv4-mapped loopback), of an address in ``address``'s text."""
    if ":" not in text:
        return text.startswith("127.")
    ip = ip_of(text)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


# ----------------------------------------------------------------------------- firewall lines

# The kernel's packet logger (iptables LOG, nftables `log`, UFW, firewalld, Shorewall) writes
# `<prefix>IN=<if> OUT=<if> [MAC=..] SRC=.. DST=.. ... PROTO=.. [SPT=.. DPT=..] [flags]`.
PACKET = re.compile(r"(?P<prefix>.*?)IN=(?P<in>\S*)(?: OUT=(?P<out>\S*))?(?P<body>.*)")
KEY_VALUE = re.compile(r"([A-Z][A-Z0-9_]*)=(\S*)")
BARE_WORD = re.compile(r"(?<!\S)([A-Z]{3,4})(?=\s|$)")
UPTIME = re.compile(r"^\s*\[\s*\d+\.\d+\]\s*")
BLOCKED_WORDS = re.compile(r"BLOCK|DROP|REJECT|DENY|DENIED|REFUSE", re.IGNORECASE)
ALLOWED_WORDS = re.compile(r"ALLOW|ACCEPT|PERMIT|PASS", re.IGNORECASE)
TCP_FLAGS = {"CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN"}
# ICMP messages that ask something of a host: echo, timestamp, information, address mask
# requests (ICMPv6: echo request, node information query). Replies and errors are answers.
ICMP_PROBES = {"icmp": {8, 13, 15, 17}, "icmpv6": {128, 139}}
PORT_PROTOCOLS = {"tcp", "udp", "sctp", "udplite", "dccp"}


def firewall_packet(message: Any) -> dict[str, Any] | None:
    """The fields of a kernel packet-log message, or None if the message is none: ``prefix``
    (the rule's log prefix, ``[UFW BLOCK]``), ``in``/``out`` interfaces, ``src``, ``dst``,
    ``proto`` (lower case), ``spt``/``dpt`` (ints or None), ``icmp_type``, ``flags`` (TCP flags).
    The packet quoted inside an ICMP error (``[SRC=.. DST=..]``) is left out."""
    if not isinstance(message, str):
        return None
    match = PACKET.search(message)
    if match is None:
        return None
    body = match.group("body").split(" [", 1)[0]
    fields: dict[str, str] = {}
    for key, value in KEY_VALUE.findall(body):
        fields.setdefault(key, value)
    src, dst = address_text(fields.get("SRC")), address_text(fields.get("DST"))
    if src is None or dst is None:
        return None
    prefix = UPTIME.sub("", match.group("prefix")).strip()
    proto = fields.get("PROTO", "").lower()
    return {
        "prefix": prefix,
        "in": match.group("in"),
        "out": match.group("out") or "",
        "src": src,
        "dst": dst,
        "proto": proto,
        "spt": _port(fields.get("SPT")),
        "dpt": _port(fields.get("DPT")),
        "icmp_type": _port(fields.get("TYPE")) if proto.startswith("icmp") else None,
        "flags": sorted(set(BARE_WORD.findall(body)) & TCP_FLAGS) if proto == "tcp" else [],
    }


def _port(text: Any) -> int | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text if 0 <= text <= 65535 else None
    if isinstance(text, str) and text.isdigit():
        number = int(text)
        return number if number <= 65535 else None
    return None


# pf's filterlog (pfSense, OPNsense): comma-separated, "rule,subrule,anchor,tracker,interface,
# reason,action,direction,ipversion," then IPv4 "tos,ecn,ttl,id,offset,flags,protoid,protoname,
# length,src,dst," or IPv6 "class,flowlabel,hoplimit,protoname,protoid,length,src,dst,", then
# "srcport,dstport,datalen[,tcpflags,...]" or the ICMP type's name.
FILTERLOG = re.compile(
    r"\d+,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,(?:block|pass|match|scrub|rdr|nat|binat),(?:in|out),[46],"
)
PF_TCP_FLAGS = {
    "S": "SYN",
    "A": "ACK",
    "F": "FIN",
    "R": "RST",
    "P": "PSH",
    "U": "URG",
    "E": "ECE",
    "W": "CWR",
}
PF_ICMP_TYPES = {"request": 8, "reply": 0, "tstamp": 13, "tstampreply": 14, "maskreq": 17, "maskreply": 18}
PF_ACTIONS = {"block": "blocked", "pass": "allowed"}


def filterlog_packet(message: Any) -> dict[str, Any] | None:
    """The fields of a pf ``filterlog`` line (as ``firewall_packet``'s, with ``action``), or None."""
    if not isinstance(message, str) or FILTERLOG.match(message) is None:
        return None
    fields = message.split(",")
    if fields[8] == "4" and len(fields) >= 20:
        proto, src, dst, rest = fields[16].lower(), fields[18], fields[19], fields[20:]
    elif fields[8] == "6" and len(fields) >= 17:
        proto, src, dst, rest = fields[12].lower(), fields[15], fields[16], fields[17:]
    else:
        return None
    src, dst = address_text(src), address_text(dst)
    if src is None or dst is None:
        return None
    proto = "icmpv6" if proto == "ipv6-icmp" else proto
    ports = proto in PORT_PROTOCOLS and len(rest) >= 2
    flags = rest[3] if proto == "tcp" and len(rest) >= 4 else ""
    return {
        "prefix": f"{fields[6]} {fields[7]} {fields[4]}",
        "action": PF_ACTIONS.get(fields[6], "logged"),
        "in": fields[4] if fields[7] == "in" else "",
        "out": fields[4] if fields[7] == "out" else "",
        "src": src,
        "dst": dst,
        "proto": proto,
        "spt": _port(rest[0]) if ports else None,
        "dpt": _port(rest[1]) if ports else None,
        "icmp_type": PF_ICMP_TYPES.get(rest[0]) if proto.startswith("icmp") and rest else None,
        "flags": sorted({PF_TCP_FLAGS[flag] for flag in flags if flag in PF_TCP_FLAGS}),
    }


def is_broadcast(text: str) -> bool:
    """A multicast or the limited broadcast destination: traffic to a group, no probe of a host."""
    ip = ip_of(text)
    return ip.is_multicast or text == "255.255.255.255"


def firewall_action(prefix: str) -> str:
    """``blocked``, ``allowed`` or ``logged`` (neither said), from the rule's log prefix:
    ``[UFW BLOCK]``, ``nft-drop:``, ``filter_IN_public_REJECT:``, ``[UFW ALLOW]``, ``[UFW AUDIT]``."""
    if BLOCKED_WORDS.search(prefix):
        return "blocked"
    if ALLOWED_WORDS.search(prefix):
        return "allowed"
    return "logged"


def probe_target(proto: str, dport: int | None, sport: int | None, flags: list | None, icmp_type, settings):
    """What a packet probes, ``tcp/22``, ``udp/161`` or ``icmp``, or None when it is no probe:
    a TCP segment with ACK or RST (part of a connection, or an answer); a UDP datagram from a
    service port (< 1024) to a client port (an answer, with ``skip_udp_replies``); an ICMP
    reply or error; a protocol without ports."""
    if proto in ("icmp", "icmpv6", "ipv6-icmp"):
        family = "icmpv6" if proto != "icmp" else "icmp"
        return "icmp" if icmp_type in ICMP_PROBES[family] else None
    if proto not in PORT_PROTOCOLS or dport is None:
        return None
    if proto == "tcp" and flags and ({"ACK", "RST"} & set(flags)):
        return None
    if proto == "udp" and settings.skip_udp_replies and sport is not None and sport < 1024 and dport >= 1024:
        return None
    return f"{proto}/{dport}"


def from_firewall(event: dict, settings: Settings) -> list[dict]:
    """The probe a firewall log event records (a list of one), or none."""
    message = event.get("message")
    packet = firewall_packet(message) or filterlog_packet(message)
    if packet is None or is_broadcast(packet["dst"]):
        return []
    if settings.ignore_loopback and ("lo" in (packet["in"], packet["out"])):
        return []
    target = probe_target(
        packet["proto"], packet["dpt"], packet["spt"], packet["flags"], packet["icmp_type"], settings
    )
    if target is None:
        return []
    action = packet.get("action") or firewall_action(packet["prefix"])
    return [
        probe(
            event,
            packet["src"],
            packet["dst"],
            target,
            packet["proto"],
            action,
            settings.accepted_weight if action == "allowed" else 1.0,
        )
    ]


# ----------------------------------------------------------------------------- Zeek conn.log

# conn_state: the responder never answered or refused (or the originator gave up at once).
ZEEK_FAILED = {"S0", "REJ", "RSTOS0", "SH"}
# A connection was set up: it counts `accepted_weight`, unless no byte of data went either way
# (a SYN scan that got a SYN-ACK and reset: RSTO with nothing sent).
ZEEK_ESTABLISHED = {"S1", "SF", "S2", "S3", "RSTO", "RSTR"}


def zeek_action(state: Any, proto: str, orig_bytes: Any, resp_bytes: Any) -> str | None:
    """``blocked`` (refused or unanswered), ``allowed`` (a connection with data), or None for a
    conn_state that tells nothing of who started it (OTH, SHR, RSTRH)."""
    if state in ZEEK_FAILED:
        return "blocked"
    if state in ZEEK_ESTABLISHED:
        if proto == "tcp" and orig_bytes == 0 and resp_bytes == 0:
            return "blocked"
        return "allowed"
    return None


def from_zeek(event: dict, settings: Settings) -> list[dict]:
    """The probe a Zeek conn.log record is (a list of one), or none."""
    src, dst = address_text(event.get("id.orig_h")), address_text(event.get("id.resp_h"))
    if src is None or dst is None:
        return []
    proto = str(event.get("proto") or "").lower()
    if proto == "icmp":
        # Zeek puts the ICMP type in id.orig_p and the code in id.resp_p.
        icmp_type = _port(event.get("id.orig_p"))
        family = "icmpv6" if ":" in dst else "icmp"
        target = probe_target(family, None, None, None, icmp_type, settings)
        action = "logged"
    else:
        flags = None
        target = probe_target(
            proto, _port(event.get("id.resp_p")), _port(event.get("id.orig_p")), flags, None, settings
        )
        action = zeek_action(event.get("conn_state"), proto, event.get("orig_bytes"), event.get("resp_bytes"))
        if action is None:
            return []
    if target is None:
        return []
    weight = settings.accepted_weight if action == "allowed" else 1.0
    return [probe(event, src, dst, target, proto, action, weight)]


# ----------------------------------------------------------------------------- probes


def probe(event: dict, src: str, dst: str, target: str, proto: str, action: str, weight: float) -> dict:
    """One probe: who (``src``) tried what (``dst`` and ``target``), and whether it got in."""
    port = int(target.split("/", 1)[1]) if "/" in target else None
    return {
        "src": src,
        "dst": dst,
        "target": target,
        "port": port,
        "proto": proto,
        "action": action,
        "weight": weight,
        "@timestamp": event.get("@timestamp"),
    }


def probes(settings: Settings, event: Any) -> list[dict]:
    """The probe of one parsed event, firewall line or Zeek record, after the ignore rules."""
    if not isinstance(event, dict):
        return []
    found = from_zeek(event, settings) if "id.orig_h" in event else from_firewall(event, settings)
    kept = []
    for item in found:
        if settings.ignore_loopback and (is_loopback(item["src"]) or is_loopback(item["dst"])):
            continue
        if settings.ignore_sources and in_networks(ip_of(item["src"]), settings.ignore_sources):
            continue
        kept.append(item)
    return kept


# ----------------------------------------------------------------------------- the measure


class scan_targets:  # noqa: N801 - read as a measure, like count() and distinct()
    """Each (destination host, target) a source probed, with its weight: 1 for a refused,
    unanswered or blocked probe, ``accepted_weight`` for one that got in (the highest weight
    seen wins). The result: overall distinct ports and hosts, the host with the most (weighted)
    ports, and the target with the most (weighted) hosts."""

    def start(self) -> dict:
        return {}

    def add(self, acc: dict, event: Any) -> dict:
        key = (event["dst"], event["target"])
        acc[key] = max(acc.get(key, 0.0), event["weight"])
        return acc

    def merge(self, a: dict, b: dict) -> dict:
        for key, weight in b.items():
            a[key] = max(a.get(key, 0.0), weight)
        return a

    def result(self, acc: dict) -> dict:
        return summarise_targets(acc)

    def __repr__(self) -> str:
        return "scan_targets()"


def _host_order(host: str) -> tuple:
    ip = ip_of(host)
    return (ip.version, int(ip))


def _target_order(target: str) -> tuple:
    proto, _, port = target.partition("/")
    return (proto, int(port) if port else -1)


def summarise_targets(pairs: dict) -> dict:
    """See ``scan_targets``: ``pairs`` maps (host, target) to a weight."""
    ports_of: dict[str, float] = {}
    hosts_of: dict[str, float] = {}
    ports: set = set()
    hosts: set = set()
    for (host, target), weight in pairs.items():
        hosts.add(host)
        hosts_of[target] = hosts_of.get(target, 0.0) + weight
        if target != "icmp":
            ports.add(target)
            ports_of[host] = ports_of.get(host, 0.0) + weight
    top_host = min(ports_of, key=lambda host: (-ports_of[host], _host_order(host))) if ports_of else None
    top_target = (
        min(hosts_of, key=lambda target: (-hosts_of[target], _target_order(target))) if hosts_of else None
    )
    return {
        "distinct_ports": len(ports),
        "distinct_hosts": len(hosts),
        "top_host": top_host,
        "ports_on_top_host": round(ports_of.get(top_host, 0.0), 2) if top_host else 0,
        "top_port": top_target,
        "hosts_on_top_port": round(hosts_of.get(top_target, 0.0), 2) if top_target else 0,
    }


# ----------------------------------------------------------------------------- findings


def score_of(targets: dict, internal: bool, settings: Settings) -> tuple[float, list[str]]:
    """The finding's score on severity.py's scale and the signals that fired."""
    vertical = grows_with(
        targets["ports_on_top_host"],
        threshold=settings.ports_threshold,
        saturation=settings.ports_saturation,
        low=LOW,
        high=HIGH,
    )
    horizontal = grows_with(
        targets["hosts_on_top_port"],
        threshold=settings.hosts_threshold,
        saturation=settings.hosts_saturation,
        low=LOW,
        high=HIGH,
    )
    fired = (("vertical_scan", vertical), ("horizontal_scan", horizontal))
    signals = [name for name, value in fired if value]
    score = combined([vertical, horizontal])
    if score and internal:
        score = min(MAXIMUM, round(score + settings.internal_bonus, 1))
    return score, signals


def _counted(pairs: list) -> str:
    return " ".join(f"{_text(value)}={number}" for value, number in pairs)


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        proto, port = value
        return proto if port is None else f"{proto}/{port}"
    return str(value)


def target_order(event: dict) -> tuple:
    """A probe's target as (protocol, port): ties among the most hit sort by port number."""
    return (event["target"].split("/", 1)[0], event["port"])


def finding(settings: Settings, window: Any) -> list[tuple]:
    """The row of a source's window when it scanned (a list of one), else none."""
    values = window.values
    targets = values["targets"]
    if not score_of(targets, False, settings)[1]:  # most windows: a source's few packets
        return []
    internal = in_networks(ip_of(window.entity), settings.internal_networks)
    score, signals = score_of(targets, internal, settings)
    actions = dict(values["actions"])
    metadata = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "first_seen": values["first_seen"].isoformat(),
        "last_seen": values["last_seen"].isoformat(),
        "level": level_of(score),
        "signals": signals,
        "mitre": ["T1046"] if internal else ["T1595.001", "T1046"],
        "internal_source": internal,
        "probes": values["probes"],
        **targets,
        "lowest_ports": " ".join(str(port) for port in values["lowest_ports"]),
        "most_hit": _counted(values["most_hit"]),
        "protocols": _counted(values["protocols"]),
        "blocked": actions.get("blocked", 0),
        "allowed": actions.get("allowed", 0),
        "logged": actions.get("logged", 0),
    }
    return [(window.entity, score, metadata)]


def load(events, conf):
    """Port-scan findings of ``events`` (an RDD or a DStream of parsed firewall lines or Zeek
    conn.log records): one row per scanning source address and window."""
    settings = Settings.from_conf(conf)
    window = Window(
        size=timedelta(minutes=settings.window_minutes),
        late=timedelta(minutes=settings.late_minutes),
        idle=timedelta(minutes=settings.idle_minutes),
    )
    windows = per_entity(
        events.flatMap(partial(probes, settings)),
        key="src",
        window=window,
        measures={
            "probes": count(),
            "targets": scan_targets(),
            "lowest_ports": distinct_values("port", 10),
            "most_hit": top(target_order, 5),
            "protocols": top("proto", 5),
            "actions": top("action", 3),
            "first_seen": first_seen(),
            "last_seen": last_seen(),
        },
        name="port-scan",
        # A probe weighs at most 1 and counts once per (host, target): fewer probes than the lower
        # threshold can reach neither, so most sources' windows (a blocked packet or two) stop here.
        when={"probes": partial(enough_probes, min(settings.ports_threshold, settings.hosts_threshold))},
    )
    return windows.flatMap(partial(finding, settings))


def enough_probes(least: float, probes: int) -> bool:
    return probes >= least
