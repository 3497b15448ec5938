"""Writes the beaconing test cases (conf/beaconing/tests/*.yml) from a fixed seed, so that their
Zeek conn.log records are generated, not typed:

    .venv/bin/python conf/beaconing/tests/make_cases.py

Each case's records are Zeek conn.log fields as Zeek writes them (JSON lines, or TSV with its
header for the TSV case), on 2025-03-03 UTC. The expectations are written here too; run
``bin/datashark test conf/beaconing`` after changing anything.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DAY = 1740960000.0  # 2025-03-03T00:00:00Z
FIELDS = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
]
TYPES = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
]


class Records:
    """Connection records of one case, with unique uids and client ports."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.items: list[dict[str, Any]] = []

    def add(
        self,
        ts: float,
        src: str,
        dst: str,
        port: int,
        proto: str = "tcp",
        service: str | None = "ssl",
        duration: float = 0.4,
        out: int = 500,
        into: int = 4000,
        state: str = "SF",
    ) -> None:
        n = len(self.items)
        record = {
            "ts": round(ts, 6),
            "uid": f"C{n:017d}",
            "id.orig_h": src,
            "id.orig_p": 49152 + n % 16000,
            "id.resp_h": dst,
            "id.resp_p": port,
            "proto": proto,
            "service": service,
            "duration": round(duration, 6),
            "orig_bytes": out,
            "resp_bytes": into,
            "conn_state": state,
            "local_orig": True,
            "local_resp": False,
            "missed_bytes": 0,
            "history": "ShADadFf" if proto == "tcp" else "Dd",
            "orig_pkts": max(1, out // 500),
            "orig_ip_bytes": out + 40 * max(1, out // 500),
            "resp_pkts": max(1, into // 1400),
            "resp_ip_bytes": into + 40 * max(1, into // 1400),
        }
        if service is None:
            del record["service"]
        self.items.append(record)

    def beacon(self, src: str, dst: str, port: int, period: float, beats: int, jitter: float, **kw: Any):
        """``beats`` sleeps of ``period`` +/- ``jitter``; ``missed`` (a set of beat numbers) are skipped,
        ``burst`` connections 0.3 s apart per beat, ``out`` bytes +/- ``size_jitter``."""
        missed = kw.pop("missed", set())
        burst = kw.pop("burst", 1)
        out = kw.pop("out", 420)
        size_jitter = kw.pop("size_jitter", 0.0)
        start = kw.pop("start", DAY + 3600)
        when = start
        for beat in range(beats):
            when += period * (1 + self.random.uniform(-jitter, jitter))
            if beat in missed:
                continue
            for extra in range(burst):
                size = round(out * (1 + self.random.uniform(-size_jitter, size_jitter)))
                self.add(when + 0.3 * extra, src, dst, port, out=size, into=1200, **kw)

    def browsing(self, src: str, sessions: int, start: float, sites: list[str]):
        """Web browsing: sessions at random times, each a burst of connections to a few sites."""
        for _ in range(sessions):
            when = start + self.random.uniform(0, 8 * 3600)
            for site in self.random.sample(sites, k=min(len(sites), self.random.randint(2, 5))):
                for _ in range(self.random.randint(1, 6)):
                    when += self.random.expovariate(1 / 3)
                    port = self.random.choice((443, 443, 443, 80))
                    self.add(
                        when,
                        src,
                        site,
                        port,
                        service="ssl" if port == 443 else "http",
                        duration=self.random.uniform(0.05, 30),
                        out=self.random.randint(300, 3000),
                        into=self.random.randint(2000, 900000),
                    )

    def json_lines(self) -> list[str]:
        ordered = sorted(self.items, key=lambda r: r["ts"])
        return [json.dumps(record, separators=(",", ":")) for record in ordered]

    def tsv_lines(self) -> list[str]:
        lines = [
            "#separator \\x09",
            "#set_separator\t,",
            "#empty_field\t(empty)",
            "#unset_field\t-",
            "#path\tconn",
            "#open\t2025-03-03-00-00-00",
            "#fields\t" + "\t".join(FIELDS),
            "#types\t" + "\t".join(TYPES),
        ]
        for record in sorted(self.items, key=lambda r: r["ts"]):
            values = []
            for name in FIELDS:
                value = record.get(name)
                if value is None:
                    values.append("-")
                elif isinstance(value, bool):
                    values.append("T" if value else "F")
                elif name == "ts":
                    values.append(f"{value:.6f}")
                else:
                    values.append(str(value))
            lines.append("\t".join(values))
        return lines


SITES = [f"203.0.113.{n}" for n in range(10, 40)] + [f"198.51.100.{n}" for n in range(100, 130)]
BOTH = ["batch", "streaming"]


def case(name: str, description: str, events: list[str], expect: Any, modes=None, conf=None) -> dict:
    item: dict[str, Any] = {"name": name, "description": description, "modes": modes or BOTH}
    item["conf"] = {"format": "zeek", **(conf or {})}
    item["events"] = events
    item["expect"] = expect
    return item


def beacon_among_browsing() -> dict:
    records = Records(1)
    missed = {7, 8, 21, 33}
    records.beacon("10.1.1.50", "198.51.100.23", 443, 60, 48, 0.2, missed=missed, out=420, size_jitter=0.05)
    records.browsing("10.1.1.50", 6, DAY + 3000, SITES)
    records.browsing("10.1.1.60", 8, DAY + 3000, SITES)
    return case(
        "a 60 s HTTPS beacon with 20 % jitter and missed beats, among browsing",
        "10.1.1.50 checks in with 198.51.100.23:443 every 60 s +/- 20 % for 48 minutes, skipping 4"
        " beats (two in a row once); it and 10.1.1.60 also browse 60 sites. Only the beacon is found.",
        records.json_lines(),
        [
            {
                "key": "10.1.1.50",
                "score_min": 40,
                "score_max": 60,
                "metadata": {
                    "signals": ["beacon"],
                    "top_destination": "198.51.100.23:443/tcp",
                    "beats": 44,
                    "missed_beats": 4,
                    "mitre": ["T1071.001", "T1573"],
                    "beaconing_destinations": 1,
                    "window_start": "2025-03-03T00:00:00+00:00",
                },
            }
        ],
    )


def long_connection() -> dict:
    records = Records(2)
    three_hours = 3 * 3600 + 120
    records.add(
        DAY + 7200, "10.1.1.51", "192.0.2.200", 22, service="ssh", duration=three_hours, out=8_000_000
    )
    records.add(DAY + 9000, "10.1.1.52", "192.0.2.201", 443, duration=1800, out=20000, into=90000)
    records.browsing("10.1.1.52", 4, DAY + 3000, SITES)
    return case(
        "a connection open for three hours is long-lived; one of 30 minutes is not",
        "10.1.1.51 keeps an SSH connection to 192.0.2.200 open for 3 h 2 min (Zeek logs it when it"
        " closes, with its start as ts); 10.1.1.52's 30-minute HTTPS connection is under the hour.",
        records.json_lines(),
        [
            {
                "key": "10.1.1.51",
                "score_min": 30,
                "score_max": 40,
                "metadata": {
                    "signals": ["long_connection"],
                    "top_destination": "192.0.2.200:22/tcp",
                    "longest_duration_s": 10920.0,
                    "mitre": ["T1071"],
                    "beats": None,
                },
            }
        ],
    )


def exfiltration_and_beacon() -> dict:
    records = Records(3)
    for n in range(6):
        records.add(
            DAY + 20000 + n * 900,
            "10.1.1.70",
            "203.0.113.80",
            443,
            duration=300,
            out=60_000_000 + n * 1_000_000,
            into=30_000,
        )
    records.beacon("10.1.1.70", "192.0.2.99", 8080, 300, 30, 0.1, service="http", out=900, size_jitter=0.3)
    records.add(DAY + 30000, "10.1.1.71", "203.0.113.81", 443, duration=60, out=150_000_000, into=120_000_000)
    records.browsing("10.1.1.70", 3, DAY + 3000, SITES)
    return case(
        "an upload of 375 MB is exfiltration-like, a sync with as much back is not",
        "10.1.1.70 sends 375 MB to 203.0.113.80:443 in 6 connections and gets 180 kB back, and"
        " beacons to 192.0.2.99:8080 every 5 min: one row for the source with both pairs. 10.1.1.71"
        " sends 150 MB but receives 120 MB (a file sync): no finding.",
        records.json_lines(),
        [
            {
                "key": "10.1.1.70",
                "score_min": 45,
                "score_max": 60,
                "metadata": {
                    "signals": ["exfiltration", "beacon"],
                    "flagged_pairs": 2,
                    "beaconing_destinations": 1,
                    "top_destination": "192.0.2.99:8080/tcp",
                    "mitre": ["T1048", "T1071.001"],
                },
            }
        ],
    )


def ordinary_browsing() -> dict:
    records = Records(4)
    for host in range(20, 30):
        records.browsing(f"10.1.2.{host}", 25, DAY + 6 * 3600, SITES[:12])
    return case(
        "ordinary browsing of ten users is no beacon",
        "Ten clients browse twelve popular sites in 25 sessions each over a working day: hundreds"
        " of connections per popular site, in bursts at random times.",
        records.json_lines(),
        "none",
    )


def periodic_benign_services() -> dict:
    records = Records(5)
    for n in range(60):
        when = DAY + 3600 + n * 64
        records.add(when, "10.1.3.5", "192.0.2.123", 123, proto="udp", service="ntp", out=48, into=48)
        records.add(when + 5, "10.1.3.5", "10.1.0.53", 53, proto="udp", service="dns", out=40, into=120)
        records.add(when + 7, "10.1.3.5", "8.8.8.8", 53, proto="udp", service="dns", out=40, into=120)
        records.add(when + 9, "10.1.3.5", "239.255.255.250", 1900, proto="udp", service=None, out=120, into=0)
        records.add(when + 11, "10.1.3.5", "224.0.0.251", 5353, proto="udp", service="dns", out=80, into=0)
        records.add(when + 13, "10.1.3.5", "10.1.0.10", 445, service="smb", out=300, into=300)
        records.add(when + 15, "127.0.0.1", "192.0.2.77", 443, out=300, into=300)
    return case(
        "NTP, DNS, SSDP, mDNS and internal polling every 64 s are ignored",
        "10.1.3.5 every 64 s: NTP to an external server (udp/123), DNS to its internal resolver and"
        " to 8.8.8.8, SSDP and mDNS to multicast groups, SMB to an internal file server; loopback"
        " traffic. dns_resolvers names the two resolvers (its default, internal, ignores all DNS of"
        " internal hosts).",
        records.json_lines(),
        "none",
        conf={"dns_resolvers": "10.1.0.53, 8.8.8.8"},
    )


def too_few_connections() -> dict:
    records = Records(6)
    records.beacon("10.1.4.5", "198.51.100.44", 443, 300, 9, 0.0, out=500)
    return case(
        "a perfectly regular pair with 9 connections is below min_connections",
        "10.1.4.5 calls 198.51.100.44:443 every 300 s exactly, 9 times: regular but too few to tell"
        " from chance (min_connections = 10).",
        records.json_lines(),
        "none",
    )


def busy_irregular() -> dict:
    records = Records(7)
    when = DAY + 3600
    for _ in range(300):
        when += records.random.expovariate(1 / 120)
        records.add(when, "10.1.5.5", "198.51.100.45", 443, out=records.random.randint(400, 900), into=5000)
    return case(
        "a busy pair with random (Poisson) timing is no beacon",
        "10.1.5.5 connects 300 times to 198.51.100.45:443, on average every 2 minutes but at random"
        " (exponential gaps): its gaps' relative MAD is about 0.4 and under half are on a beat.",
        records.json_lines(),
        "none",
    )


def tsv_internal_beacon() -> dict:
    records = Records(8)
    records.beacon("10.1.6.5", "10.9.0.5", 8443, 120, 40, 0.15, burst=3, missed={5, 6, 7}, out=700)
    records.beacon("10.1.6.6", "10.9.0.6", 8443, 120, 40, 0.15, out=700)
    return case(
        "Zeek TSV: an internal beacon of 3-connection bursts is found with include_internal_destinations",
        "A Zeek TSV log is read whole (its #fields header first), so this case runs in batch mode"
        " only. 10.1.6.5 checks in with 10.9.0.5:8443 every 120 s +/- 15 % with 3 connections per"
        " check-in, missing 3 beats in a row; 10.1.6.6 does the same from an address in"
        " ignore_sources.",
        records.tsv_lines(),
        [
            {
                "key": "10.1.6.5",
                "score_min": 40,
                "score_max": 60,
                "metadata": {
                    "signals": ["beacon"],
                    "top_destination": "10.9.0.5:8443/tcp",
                    "connections": 111,
                    "beats": 37,
                    "missed_beats": 3,
                    "mitre": ["T1071.001", "T1573"],
                },
            }
        ],
        modes=["batch"],
        conf={"include_internal_destinations": True, "ignore_sources": "10.1.6.6"},
    )


CASES = {
    "json-beacon": beacon_among_browsing,
    "json-long-connection": long_connection,
    "json-exfiltration": exfiltration_and_beacon,
    "json-browsing": ordinary_browsing,
    "json-periodic-services": periodic_benign_services,
    "json-too-few": too_few_connections,
    "json-busy-irregular": busy_irregular,
    "tsv-internal-beacon": tsv_internal_beacon,
}


def main() -> None:
    for name, build in CASES.items():
        text = yaml.safe_dump(build(), sort_keys=False, width=200, allow_unicode=False)
        (HERE / f"{name}.yml").write_text(f"# Written by make_cases.py: change that, not this.\n{text}")
        print(f"wrote {name}.yml")


if __name__ == "__main__":
    main()
