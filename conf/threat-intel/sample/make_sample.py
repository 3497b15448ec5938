"""Writes the threat-intel sample: Zeek-style JSON logs (conn, dns, http, files records mixed, one
object a line, ``_path`` naming the log) of a small office network on 2025-03-03, and the two
indicator lists the conf reads. Fixed seed: the same files every time.

Addresses: clients in 10.0.0.0/8, everything outside in the documentation ranges (192.0.2.0/24,
198.51.100.0/24, 203.0.113.0/24), names under ``.example``: nothing here is a real host.

    python conf/threat-intel/sample/make_sample.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
START = 1740992400.0  # 2025-03-03T09:00:00Z
SECONDS = 2 * 3600
SEED = 16

CLIENTS = [f"10.0.1.{n}" for n in range(10, 40)]
RESOLVER = "10.0.0.53"
BENIGN_SITES = {
    "www.example.com": "192.0.2.10",
    "cdn.example.net": "192.0.2.20",
    "mail.example.org": "192.0.2.30",
    "updates.example.com": "192.0.2.40",
    "notevil.example": "192.0.2.50",  # near miss of evil.example
    "evil.example.net": "192.0.2.60",  # near miss too: evil.example is no suffix of it
    "partner.example": "198.51.100.200",  # just outside the listed 198.51.100.0/25
}
BENIGN_PATHS = ["/", "/index.html", "/css/site.css", "/js/app.js", "/img/logo.png", "/api/v1/status"]
GOOD_HASH = "5d41402abc4b2a76b9719d911017c592"

INTEL = """#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc
203.0.113.66\tIntel::ADDR\texample-c2-feed\tCommand-and-control server
198.51.100.0/25\tIntel::SUBNET\texample-hosting-feed\tBulletproof hosting range
evil.example\tIntel::DOMAIN\texample-c2-feed\tMalware command and control domain
malware-drop.example/payload.exe\tIntel::URL\texample-url-feed\tDropper download
e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8\tIntel::FILE_HASH\texample-hash-feed\tDropper
"""

BLOCKLIST = """# A plain blocklist: one indicator a line, the type inferred; '#' starts a comment.
# Its source in findings is the file's name: blocklist.
192.0.2.200          # scanner seen at the perimeter
phish-login.example
0.0.0.0 tracker.example    # hosts-file style lines give their name
2001:db8:bad::/48
"""


def conn(ts, orig, resp, port, proto="tcp", service=None):
    record = {
        "_path": "conn",
        "ts": round(ts, 6),
        "uid": uid(),
        "id.orig_h": orig,
        "id.orig_p": sport(),
        "id.resp_h": resp,
        "id.resp_p": port,
        "proto": proto,
        "conn_state": "SF",
        "orig_bytes": rng.randint(60, 2000),
        "resp_bytes": rng.randint(60, 60000),
    }
    if service:
        record["service"] = service
    return record


def dns(ts, orig, query, answer):
    return {
        "_path": "dns",
        "ts": round(ts, 6),
        "uid": uid(),
        "id.orig_h": orig,
        "id.orig_p": sport(),
        "id.resp_h": RESOLVER,
        "id.resp_p": 53,
        "proto": "udp",
        "query": query,
        "qtype_name": "A",
        "rcode_name": "NOERROR",
        "answers": [answer],
    }


def http(ts, orig, resp, host, uri, agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64)"):
    return {
        "_path": "http",
        "ts": round(ts, 6),
        "uid": uid(),
        "id.orig_h": orig,
        "id.orig_p": sport(),
        "id.resp_h": resp,
        "id.resp_p": 80,
        "method": "GET",
        "host": host,
        "uri": uri,
        "user_agent": agent,
        "status_code": 200,
    }


def files(ts, orig, resp, sha256, md5):
    return {
        "_path": "files",
        "ts": round(ts, 6),
        "fuid": "F" + uid()[1:],
        "tx_hosts": [resp],
        "rx_hosts": [orig],
        "source": "HTTP",
        "mime_type": "application/x-dosexec",
        "md5": md5,
        "sha256": sha256,
        "id.orig_h": orig,
    }


def uid():
    return "C" + "".join(
        rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(17)
    )


def sport():
    return rng.randint(49152, 65535)


def benign(ts):
    client = rng.choice(CLIENTS)
    host, address = rng.choice(list(BENIGN_SITES.items()))
    kind = rng.random()
    if kind < 0.4:
        return [dns(ts, client, host, address)]
    if kind < 0.8:
        return [
            http(ts, client, address, host, rng.choice(BENIGN_PATHS)),
            conn(ts, client, address, 80, service="http"),
        ]
    return [conn(ts, client, address, 443, service="ssl")]


def attacks():
    """The hits the sample holds, by client (see README.md)."""
    t = START
    events = []
    # 10.0.1.23: a beacon to a C2 domain's subdomain, then the C2 address directly.
    for n in range(6):
        ts = t + 600 + n * 900
        events.append(dns(ts, "10.0.1.23", "beacon.a.evil.example", "203.0.113.66"))
        events.append(conn(ts + 0.2, "10.0.1.23", "203.0.113.66", 443, service="ssl"))
    # 10.0.1.42: downloads the dropper from the listed URL; Zeek's files log has its hash.
    ts = t + 2400
    events.append(dns(ts, "10.0.1.42", "malware-drop.example", "192.0.2.99"))
    events.append(
        http(ts + 0.5, "10.0.1.42", "192.0.2.99", "malware-drop.example", "/payload.exe", "curl/8.5.0")
    )
    events.append(
        files(
            ts + 0.9,
            "10.0.1.42",
            "192.0.2.99",
            "e3b98a4da31a127d4bde6e43033f66ba274cab0eb7eb1c70ec41402bf6273dd8",
            GOOD_HASH,
        )
    )
    # 10.0.2.7: talks to an address inside the listed /25, and looks up a name of the plain blocklist.
    events.append(conn(t + 3000, "10.0.2.7", "198.51.100.17", 8443))
    events.append(conn(t + 3010, "10.0.2.7", "198.51.100.17", 8443))
    events.append(dns(t + 3600, "10.0.2.7", "login.phish-login.example", "192.0.2.77"))
    # 192.0.2.200: a listed scanner knocking on the perimeter (the entity is the listed address itself).
    for port in (22, 23, 3389):
        events.append(conn(t + 4000 + port, "192.0.2.200", "10.0.0.5", port))
    return events


def main():
    events = []
    for _ in range(600):
        events.extend(benign(START + rng.uniform(0, SECONDS)))
    events.extend(attacks())
    events.sort(key=lambda record: record["ts"])
    with open(HERE / "zeek-events.log", "w", encoding="utf-8") as out:
        for record in events:
            out.write(json.dumps(record, separators=(",", ":")) + "\n")
    (HERE / "indicators.intel").write_text(INTEL, encoding="utf-8")
    (HERE / "blocklist.txt").write_text(BLOCKLIST, encoding="utf-8")
    print(f"{len(events)} events, {INTEL.count(chr(10)) - 1} + 4 indicators written to {HERE}")


rng = random.Random(SEED)

if __name__ == "__main__":
    main()
