"""Writes a day of Zeek conn.log (JSON lines) of an office, with planted beacons, long-lived
connections and exfiltration-like uploads, and a truth file naming them: the input of the
beaconing detection's benchmark and ground truth (conf/beaconing/).

The office: internal clients (10.20.0.0/16) browsing the internet (198.18.0.0/15, the
benchmarking range) in sessions, mostly in working hours: each session a burst of connections to
a few sites drawn by popularity (Zipf), so popular sites get hundreds of connections a day at
random times. Naturally periodic benign services, as real networks have them:

* NTP every 1024 s to a pool server (udp/123: ignored by default) and DNS to the internal
  resolver 10.20.0.53 (internal, and a resolver: ignored);
* one client in ten: an agent's telemetry heartbeat every hour +/- 5 % to a vendor (tcp/443);
* one client in twenty: a mail client polling IMAP over TLS every 10 minutes (tcp/993).

The last two *are* beacons, and the detection finds them: the truth file lists them as
``benign_periodic``, the ground truth counts them apart (a SOC allow-lists them with
``ignore_destinations``).

Planted (in the documentation ranges 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), on
clients without benign periodic services: beacons with periods from 30 s to 1 h, jitter 0-50 %
(uniform, of each sleep), missed beats, 1-3 connections per beat, sizes constant or varying, all
day or from some hour; connections open for 2-10 hours; uploads of 200 MB to 2 GB receiving
little. Records have the fields Zeek writes (ts, uid, id.orig_h, id.orig_p, id.resp_h,
id.resp_p, proto, service, duration, orig_bytes, resp_bytes, conn_state, local_orig, local_resp,
missed_bytes, history, orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes), in time order,
``events`` lines exactly; the chance comes only from ``random.Random(seed)``.

    .venv/bin/python bench/generate_beacon_traffic.py bench/data/beacons.log --events 1000000

writes ``bench/data/beacons.log`` and ``bench/data/beacons.log.truth.json``.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

DAY = 1740960000.0  # 2025-03-03T00:00:00Z
SECONDS = 86400.0
RESOLVER = "10.20.0.53"
NTP_SERVER = "198.18.0.123"
PERIODS = (30, 60, 120, 300, 600, 1800, 3600)
JITTERS = (0.0, 0.1, 0.2, 0.3, 0.5)
MISSED = (0.0, 0.05, 0.1, 0.2)
SIZE_JITTERS = (0.0, 0.1, 0.5)

Record = tuple  # (ts, src, sport, dst, dport, proto, service, duration, out, in, state)


@dataclass
class Planted:
    """One planted pair: what it is and how it was made."""

    kind: str  # beacon, long_connection, exfiltration
    source: str
    destination: str
    port: int
    period: float | None = None
    jitter: float | None = None
    missed: float | None = None
    burst: int | None = None
    size_jitter: float | None = None
    connections: int = 0


@dataclass
class Truth:
    seed: int
    events: int
    clients: int
    planted: list[Planted] = field(default_factory=list)
    benign_periodic: list[dict] = field(default_factory=list)


def _ports(rng: random.Random) -> Iterator[int]:
    while True:
        yield rng.randint(49152, 65535)


def browsing(
    rng: random.Random, src: str, quota: int, sites: list[str], weights: list[float]
) -> Iterator[Record]:
    """``quota`` web connections of one client, in time order: sessions at random times (80 %
    in working hours), each a burst to a few sites."""
    starts = []
    while len(starts) * 12 < quota:
        if rng.random() < 0.8:
            starts.append(DAY + rng.uniform(7 * 3600, 19 * 3600))
        else:
            starts.append(DAY + rng.uniform(0, SECONDS - 3600))
    starts.sort()
    made = 0
    pending: list[Record] = []
    for start in starts:
        when = start
        for site in rng.choices(sites, weights, k=rng.randint(1, 6)):
            for _ in range(rng.randint(1, 8)):
                if made >= quota:
                    break
                when += rng.expovariate(1 / 4)
                https = rng.random() < 0.85
                pending.append(
                    (
                        when,
                        src,
                        rng.randint(49152, 65535),
                        site,
                        443 if https else 80,
                        "tcp",
                        "ssl" if https else "http",
                        rng.expovariate(1 / 8),
                        int(rng.lognormvariate(7, 1)),
                        int(rng.lognormvariate(10, 1.5)),
                        "SF",
                    )
                )
                made += 1
    while made < quota:  # the sessions' draws fell short: top up with single requests
        pending.append(
            (DAY + rng.uniform(0, SECONDS), src, 50000, sites[0], 443, "tcp", "ssl", 0.2, 600, 8000, "SF")
        )
        made += 1
    pending.sort()
    yield from pending


def periodic(
    rng: random.Random,
    src: str,
    dst: str,
    port: int,
    proto: str,
    service: str | None,
    period: float,
    jitter: float,
    *,
    start: float = DAY,
    end: float = DAY + SECONDS,
    missed: float = 0.0,
    burst: int = 1,
    out: int = 400,
    size_jitter: float = 0.0,
    into: int = 1200,
) -> Iterator[Record]:
    """A sleep-and-call loop: each sleep is ``period`` +/- ``jitter`` (uniform), a beat is
    skipped with probability ``missed``, each beat opens ``burst`` connections 0.3 s apart."""
    when = start + rng.uniform(0, period)
    while when < end:
        if rng.random() >= missed:
            for extra in range(burst):
                size = max(1, int(out * (1 + rng.uniform(-size_jitter, size_jitter))))
                duration = rng.uniform(0.05, 0.6)
                yield (
                    when + 0.3 * extra,
                    src,
                    rng.randint(49152, 65535),
                    dst,
                    port,
                    proto,
                    service,
                    duration,
                    size,
                    into,
                    "SF",
                )
        when += period * (1 + rng.uniform(-jitter, jitter))


def long_connection(rng: random.Random, src: str, dst: str, port: int) -> Iterator[Record]:
    hours = rng.uniform(2, 10)
    start = DAY + rng.uniform(0, SECONDS - hours * 3600)
    service = "ssh" if port == 22 else "ssl"
    yield (
        start,
        src,
        rng.randint(49152, 65535),
        dst,
        port,
        "tcp",
        service,
        hours * 3600,
        rng.randint(10**5, 10**7),
        rng.randint(10**5, 10**7),
        "SF",
    )


def upload(rng: random.Random, src: str, dst: str, port: int) -> Iterator[Record]:
    total = rng.uniform(200e6, 2e9)
    parts = rng.randint(3, 8)
    when = DAY + rng.uniform(0, SECONDS - parts * 1200)
    for _ in range(parts):
        yield (
            when,
            src,
            rng.randint(49152, 65535),
            dst,
            port,
            "tcp",
            "ssl",
            rng.uniform(60, 600),
            int(total / parts),
            rng.randint(10**4, 10**5),
            "SF",
        )
        when += rng.uniform(300, 1200)


def line(record: Record, uid: int) -> str:
    """One Zeek conn.log JSON line."""
    ts, src, sport, dst, dport, proto, service, duration, out, into, state = record
    opkts = out // 1200 + 2
    rpkts = into // 1200 + 2
    svc = f'"service":"{service}",' if service else ""
    history = "ShADadFf" if proto == "tcp" else "Dd"
    return (
        f'{{"ts":{ts:.6f},"uid":"C{uid:017x}","id.orig_h":"{src}","id.orig_p":{sport},'
        f'"id.resp_h":"{dst}","id.resp_p":{dport},"proto":"{proto}",{svc}"duration":{duration:.6f},'
        f'"orig_bytes":{out},"resp_bytes":{into},"conn_state":"{state}","local_orig":true,'
        f'"local_resp":false,"missed_bytes":0,"history":"{history}","orig_pkts":{opkts},'
        f'"orig_ip_bytes":{out + 52 * opkts},"resp_pkts":{rpkts},"resp_ip_bytes":{into + 52 * rpkts}}}\n'
    )


def client_address(n: int) -> str:
    return f"10.20.{1 + n // 250}.{1 + n % 250}"


def write(
    path: Path,
    events: int,
    seed: int = 20250303,
    *,
    jitter: float | None = None,
    missed: float | None = None,
) -> Truth:
    """Write ``events`` conn.log records to ``path`` and the truth to ``<path>.truth.json``.
    ``jitter`` and ``missed`` fix every planted beacon's jitter and missed-beat rate (else each
    beacon cycles through 0-50 % and 0-20 %)."""
    rng = random.Random(seed)
    clients = max(20, events // 2500)
    addresses = [client_address(n) for n in range(clients)]
    sites = [
        f"198.{18 + n // 65000}.{(n // 250) % 256}.{1 + n % 250}" for n in range(max(200, events // 400))
    ]
    weights = [1 / (rank + 1) for rank in range(len(sites))]
    truth = Truth(seed, events, clients)
    streams: list[Iterator[Record]] = []
    special: list[Iterator[Record]] = []

    order = addresses[:]
    rng.shuffle(order)
    beacons = max(6, events // 50000)
    longs = max(2, events // 300000)
    uploads = max(2, events // 300000)
    planted_sources = order[: beacons + longs + uploads]
    others = order[beacons + longs + uploads :]
    telemetry = others[: max(1, clients // 10)]
    imap = others[len(telemetry) : len(telemetry) + max(1, clients // 20)]

    for n, src in enumerate(planted_sources[:beacons]):
        dst = f"203.0.113.{10 + n}" if n % 2 else f"198.51.100.{10 + n}"
        port = (443, 443, 80, 8080, 443, 8443)[n % 6]
        item = Planted(
            "beacon",
            src,
            dst,
            port,
            period=PERIODS[n % len(PERIODS)],
            jitter=JITTERS[n % len(JITTERS)] if jitter is None else jitter,
            missed=MISSED[(n // 2) % len(MISSED)] if missed is None else missed,
            burst=(1, 1, 2, 1, 3)[n % 5],
            size_jitter=SIZE_JITTERS[n % len(SIZE_JITTERS)],
        )
        start = DAY + (0 if n % 3 else rng.uniform(0, 8 * 3600))
        service = "http" if port in (80, 8080) else "ssl"
        streams_item = periodic(
            random.Random(rng.random()),
            src,
            dst,
            port,
            "tcp",
            service,
            item.period,
            item.jitter,
            start=start,
            missed=item.missed,
            burst=item.burst,
            out=rng.choice((180, 420, 1500, 4000)),
            size_jitter=item.size_jitter,
        )
        records = list(streams_item)
        item.connections = len(records)
        truth.planted.append(item)
        special.append(iter(records))
    for n, src in enumerate(planted_sources[beacons : beacons + longs]):
        port = 22 if n % 2 else 443
        records = list(long_connection(rng, src, f"192.0.2.{10 + n}", port))
        truth.planted.append(
            Planted("long_connection", src, f"192.0.2.{10 + n}", port, connections=len(records))
        )
        special.append(iter(records))
    for n, src in enumerate(planted_sources[beacons + longs :]):
        records = list(upload(rng, src, f"192.0.2.{100 + n}", 443))
        truth.planted.append(
            Planted("exfiltration", src, f"192.0.2.{100 + n}", 443, connections=len(records))
        )
        special.append(iter(records))
    for n, src in enumerate(telemetry):
        dst = f"198.19.200.{1 + n % 4}"
        special.append(
            iter(list(periodic(random.Random(rng.random()), src, dst, 443, "tcp", "ssl", 3600, 0.05)))
        )
        truth.benign_periodic.append(
            {"source": src, "destination": dst, "port": 443, "what": "telemetry, 1 h"}
        )
    for src in imap:
        dst = "198.19.201.1"
        special.append(
            iter(list(periodic(random.Random(rng.random()), src, dst, 993, "tcp", "ssl", 600, 0.02)))
        )
        truth.benign_periodic.append(
            {"source": src, "destination": dst, "port": 993, "what": "IMAP poll, 10 min"}
        )
    for src in addresses:
        special.append(
            periodic(
                random.Random(rng.random()), src, NTP_SERVER, 123, "udp", "ntp", 1024, 0.0, out=48, into=48
            )
        )
        special.append(
            periodic(random.Random(rng.random()), src, RESOLVER, 53, "udp", "dns", 600, 0.9, out=40, into=120)
        )

    fixed = [list(stream) for stream in special]
    budget = max(0, events - sum(len(records) for records in fixed))
    for n, src in enumerate(addresses):
        quota = budget // clients + (1 if n < budget % clients else 0)
        streams.append(browsing(random.Random(rng.random()), src, quota, sites, weights))
    merged = heapq.merge(*(iter(records) for records in fixed), *streams)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        out.writelines(line(record, uid) for uid, record in enumerate(itertools.islice(merged, events)))
    Path(f"{path}.truth.json").write_text(json.dumps(asdict(truth), indent=1) + "\n", encoding="utf-8")
    return truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20250303)
    parser.add_argument("--jitter", type=float, default=None)
    parser.add_argument("--missed", type=float, default=None)
    args = parser.parse_args()
    truth = write(args.path, args.events, args.seed, jitter=args.jitter, missed=args.missed)
    print(f"wrote {args.path}: {args.events} records, {len(truth.planted)} planted, {truth.clients} clients")


if __name__ == "__main__":
    main()
