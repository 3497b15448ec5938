"""What writing a batch's cut ahead costs: one offset commit with the in-flight record.

Before each batch runs, the driver commits the acknowledged offsets again with the cut of the
batches in flight in the metadata (datashark/kafka/replay.py), so that a restart replays them
as first cut. That commit runs on Spark's batch-generating thread, once per batch. This times
it against the real Kafka 4 broker (the test suite's) and prints it next to the batch interval.

    python bench/commit_cost.py [--partitions 4] [--commits 300] [--batch-interval 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from datashark.kafka.client import OffsetClient  # noqa: E402
from datashark.kafka.offsets import Partition  # noqa: E402
from datashark.kafka.replay import commit_entries  # noqa: E402
from tests.support.kafka_helpers import kafka_settings, new_topic  # noqa: E402
from tests.support.servers.kafka import running_broker  # noqa: E402

WARM_UP = 20
FIRST_BATCH_MS = 1_795_000_000_000


def commit_times(bootstrap_servers: str, partitions: int, commits: int, work: Path) -> list[float]:
    """Seconds per commit of every partition, each with a one-batch in-flight record."""
    topic = new_topic(bootstrap_servers, partitions=partitions)
    settings = kafka_settings(work, bootstrap_servers=bootstrap_servers, topics=topic, group_id="commit-cost")
    client = OffsetClient(settings.global_kafka())
    parts = [Partition(topic, number) for number in range(partitions)]
    times = []
    try:
        for batch in range(WARM_UP + commits):
            acknowledged = {part: batch * 100 for part in parts}
            in_flight = [(FIRST_BATCH_MS + batch, {part: batch * 100 + 50 for part in parts})]
            entries = commit_entries(acknowledged, in_flight, [])
            started = time.perf_counter()
            client.commit(entries)
            times.append(time.perf_counter() - started)
    finally:
        client.close()
    return times[WARM_UP:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--batch-interval", type=float, default=10, help="seconds, for the ratio")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, running_broker(Path(work) / "kafka") as broker:
        times = sorted(commit_times(broker.bootstrap_servers, args.partitions, args.commits, Path(work)))
    median, p95 = statistics.median(times), times[int(len(times) * 0.95)]
    print(
        f"commit of {args.partitions} partitions with the in-flight record: median {median * 1000:.2f} ms, "
        f"p95 {p95 * 1000:.2f} ms; {median / args.batch_interval:.5%} of a {args.batch_interval:g} s batch"
    )


if __name__ == "__main__":
    main()
