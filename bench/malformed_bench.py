"""Malformed events: what 10% garbage costs the Kafka pipeline, against a clean stream, same run.

One Kafka 4 broker (the test suite's), two topics: **clean** has ``--good`` Zeek DNS events;
**mixed** has the same events with ``--bad`` malformed ones spread among them, a quarter of
each kind: binary (not UTF-8), truncated JSON, nesting bombs (``[`` deeper than any parser
allows) and lines over ``max.event.bytes``. ``bench/kafka_usecase`` reads each topic in turn
(alternating, ``--runs`` rounds) through ``kafka_bench.pipeline_rate``; every bad event must
end as a dead letter with its reason, every good one reach the output.

    python bench/malformed_bench.py [--good 100000] [--bad 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.kafka_bench import SAMPLE, bench_home, pipeline_rate  # noqa: E402
from tests.support.kafka_helpers import new_topic  # noqa: E402
from tests.support.servers.kafka import running_broker  # noqa: E402

MAX_EVENT_BYTES = 16_384  # the bench use case's limit: the huge lines are 20 KB


def malformed(count: int, seed: int = 7) -> list[bytes]:
    """``count`` bad events, a quarter of each kind, in a fixed random order."""
    rng = random.Random(seed)
    line = SAMPLE.read_text().splitlines()[0].encode()
    kinds = [
        lambda: bytes([0xFF, 0xFE]) + rng.randbytes(200),  # binary, invalid UTF-8
        lambda: line[: rng.randrange(1, len(line) - 1)],  # truncated JSON
        lambda: b"[" * 10_000,  # a nesting bomb
        lambda: json.dumps({"query": "x" * 20_000}).encode(),  # over max.event.bytes
    ]
    events = [kinds[n % 4]() for n in range(count)]
    rng.shuffle(events)
    return events


def produce(bootstrap_servers: str, topic: str, good: int, bad: list[bytes]) -> None:
    """``good`` sample events with ``bad`` spread evenly among them."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap_servers, "linger.ms": 50, "batch.size": 1_000_000})
    lines = [line.encode() for line in SAMPLE.read_text().splitlines()]
    every = good // max(1, len(bad))
    bad_left = iter(bad)
    for n, value in enumerate(itertools.islice(itertools.cycle(lines), good)):
        values = [value]
        if every and n % every == 0:
            values.extend(itertools.islice(bad_left, 1))
        for item in values:
            while True:
                try:
                    producer.produce(topic, item)
                    break
                except BufferError:
                    producer.poll(0.1)
    for item in bad_left:
        producer.produce(topic, item)
    if producer.flush(120):
        raise RuntimeError("the producer could not deliver every event")


def dead_letter_reasons(folder: Path) -> Counter:
    """Dead letters per reason (numbers and sizes folded), then the folder emptied."""
    reasons: Counter = Counter()
    for path in folder.rglob("*.jsonl"):
        for line in path.read_text().split("\n")[:-1]:
            reason = json.loads(line)["reason"]
            reasons["".join("N" if char.isdigit() else char for char in reason)[:70]] += 1
    shutil.rmtree(folder, ignore_errors=True)
    return reasons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--good", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="malformed-bench-"))
    try:
        with running_broker(work / "broker") as broker:
            servers = broker.bootstrap_servers
            partitions = args.partitions
            topics = {
                "clean": (new_topic(servers, partitions=partitions, prefix="clean"), []),
                "mixed": (new_topic(servers, partitions=partitions, prefix="mixed"), malformed(args.bad)),
            }
            for topic, bad in topics.values():
                produce(servers, topic, args.good, bad)

            from datashark.config.settings import load_settings
            from datashark.run.spark import start_spark

            home = bench_home(work / "home", 2)
            with open(home / "datashark.conf", "a") as conf:
                conf.write(f"max.event.bytes = {MAX_EVENT_BYTES}\n")
            settings = dataclasses.replace(
                load_settings(home), deadletter_dir=work / "dl", checkpoint_dir=str(work / "ckpt")
            )
            sc = start_spark(settings, "local[2]", "malformed-bench")
            rates: dict[str, list[float]] = {"clean": [], "mixed": []}
            try:
                for run in range(args.runs):
                    for name, (topic, bad) in topics.items():
                        total = args.good + len(bad)
                        started = time.perf_counter()
                        rate = pipeline_rate(sc, settings, servers, topic, "confluent-kafka", total)
                        good_rate = rate * args.good / total
                        reasons = dead_letter_reasons(settings.deadletter_dir)
                        assert sum(reasons.values()) == len(bad), reasons
                        rates[name].append(good_rate)
                        print(
                            f"run {run + 1} {name}: {good_rate:>9,.0f} good events/s "
                            f"({total:,} events, {time.perf_counter() - started:.1f} s with start and stop), "
                            f"{sum(reasons.values()):,} dead letters",
                            flush=True,
                        )
                        if reasons and run == 0:
                            for reason, count in reasons.most_common():
                                print(f"    {count:>6,}  {reason}")
            finally:
                sc.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    clean, mixed = statistics.median(rates["clean"]), statistics.median(rates["mixed"])
    events = f"{args.good:,} good events (+{args.bad:,} bad)"
    print(f"\nmedians over {args.runs} runs, {events}, {os.cpu_count()} cores")
    print(f"clean {clean:,.0f} good events/s, mixed {mixed:,.0f}: mixed / clean = {mixed / clean:.2f}")


if __name__ == "__main__":
    main()
