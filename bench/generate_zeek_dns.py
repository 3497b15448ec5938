"""Write Zeek DNS JSON lines (dns.log as Zeek writes it with LogAscii::use_json) of a given size,
from bench/zeek_dns.json's 50 records, for the DataFrame batch benchmark.

Each line is one of the sample's records in turn (so the sample's mix of query types and answers,
and the share kept by the benchmark's [log_filter], stay), with its own time (1 ms apart), uid,
source port and transaction id, asked by one of ``--clients`` clients: nine in ten in 10.18.0.0/16
(which the filter keeps), the others in 10.20.0.0/16 (which it drops). 81% of the events pass the
filter, and its count per (client, query, query type) has up to ``0.9 * clients * 38`` rows (38: the
sample's kept query and type pairs). Fixed seed: the same arguments give the same bytes.

    .venv/bin/python bench/generate_zeek_dns.py bench/data/zeek_dns-1G.json --size 1G [--clients 2000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate_text import parse_size

SAMPLE = Path(__file__).with_name("zeek_dns.json")
SEED = 20261204
START = 1764806400.0  # 2025-12-04 00:00:00 UTC
KEPT_CLIENTS = 0.9  # the share of clients in 10.18.0.0/16
UID_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
LINES_PER_WRITE = 10_000


def clients(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct addresses, ``KEPT_CLIENTS`` of them in 10.18.0.0/16."""
    inside = max(1, round(count * KEPT_CLIENTS))
    chosen: list[str] = []
    for prefix, wanted in (("10.18", inside), ("10.20", count - inside)):
        hosts = rng.sample(range(1, 65535), wanted)
        chosen += [f"{prefix}.{host >> 8}.{host & 255}" for host in hosts]
    rng.shuffle(chosen)
    return chosen


def lines(size: int, client_count: int, seed: int = SEED):
    """Blocks of ``LINES_PER_WRITE`` encoded lines until ``size`` bytes are written (the last block
    takes it up to about 5 MB over)."""
    rng = random.Random(seed)
    records = [orjson.loads(line) for line in SAMPLE.read_bytes().splitlines() if line.strip()]
    pool = clients(client_count, rng)
    written = number = 0
    while written < size:
        block = []
        for _ in range(LINES_PER_WRITE):
            event = dict(records[number % len(records)])
            event["ts"] = round(START + number / 1000, 6)
            event["uid"] = "C" + "".join(rng.choices(UID_LETTERS, k=17))
            event["id.orig_h"] = pool[rng.randrange(len(pool))]
            event["id.orig_p"] = rng.randrange(1024, 65536)
            event["trans_id"] = rng.randrange(65536)
            block.append(orjson.dumps(event))
            number += 1
        data = b"\n".join(block) + b"\n"
        written += len(data)
        yield data


def generate(path: Path, size: int, client_count: int) -> int:
    """Write the file (through a temporary name, so a cut-short run leaves no half file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    written = 0
    with open(partial, "wb") as out:
        for data in lines(size, client_count):
            out.write(data)
            written += len(data)
    partial.rename(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="file to write, e.g. bench/data/zeek_dns-1G.json")
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"), help="default 1G")
    parser.add_argument("--clients", type=int, default=2000, help="distinct clients (default 2000)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = generate(args.output, args.size, args.clients)
    print(f"wrote {written:,} bytes to {args.output} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
