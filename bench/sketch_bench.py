"""Distinct destinations per source and 10-minute window: HLL sketches against exact sets, on local Spark.

The question a sketch answers: how much time and executor memory does ``approx_distinct`` save
over keeping every value in a set, and what does it cost in accuracy? Both ways run the same
aggregation over the same cached events, each in its own ``SparkContext("local[2]")`` (so each
has fresh Python workers):

    ((source, window), event) -> combineByKey(start + add, add, merge) -> result per (source, window)

with the exact side's measure a Python set of destinations and the sketch side's
``datashark.detect.sketches.approx_distinct("dst")``. The windows are a plain reduceByKey-style
aggregation over (key, window start), not datashark.detect.windows (its windows are the same
combine over (entity, window) plus watermarks, which cost the same on both sides).

Events: ``--events`` of them over ``--keys`` sources and one hour, the source drawn with a power
law (``--skew``: key = keys * u**skew, so a few sources, like scanners, send most events and
touch many destinations) and the destination uniform over 2**20 addresses. Fixed seed.

Measured per side: the wall time of the aggregation and collect (events already cached), the
bytes Spark's shuffle wrote (the map-side combined accumulators, serialized and compressed as
Spark ships them; from Spark's REST API), and the peak RSS (VmHWM) of the Python workers
(sampled from /proc every 0.1 s): the largest, and the sum over workers of their peak above the
smallest process's (the daemon they fork from), i.e. what the work added. A worker serves both the
cached event generation and the aggregation, so the generation's share is in both sides' figures.
Printed: each side, the ratios HLL / exact, and the HLL estimates' error against the exact counts.

    .venv/bin/python bench/sketch_bench.py [--events 1000000] [--keys 100000] [--skew 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

from pyspark import SparkConf, SparkContext

from datashark.detect.sketches import approx_distinct, distinct_error

WINDOW_SECONDS = 600
HOUR = 3600


def make_events(part: int, count: int, keys: int, skew: float, seed: int):
    """``count`` events of partition ``part``: {"src", "dst", "time"}, the same for the same arguments."""
    import numpy as np

    rng = np.random.default_rng([seed, part])
    sources = (keys * rng.random(count) ** skew).astype(np.int64)
    destinations = rng.integers(0, 2**20, count)
    times = rng.random(count) * HOUR
    for src, dst, at in zip(sources.tolist(), destinations.tolist(), times.tolist(), strict=True):
        yield {
            "src": f"10.{src >> 16}.{(src >> 8) & 255}.{src & 255}",
            "dst": f"172.16.{dst >> 8}.{dst & 255}",
            "time": at,
        }


class ExactDistinct:
    """The exact side: every destination in a set."""

    def start(self):
        return set()

    def add(self, acc, event):
        acc.add(event["dst"])
        return acc

    def merge(self, a, b):
        a |= b
        return a

    def result(self, acc):
        return len(acc)


class WorkerPeaks:
    """Peak RSS (VmHWM, KiB) of every pyspark.daemon process (the daemon and its forked workers)."""

    def __init__(self) -> None:
        self.peaks: dict[int, int] = {}
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if b"pyspark.daemon" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                    continue
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[int(pid)] = max(self.peaks.get(int(pid), 0), int(line.split()[1]))
            except OSError:
                continue

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            self.sample()

    def stop(self) -> dict[int, int]:
        self.sample()
        self.stopped.set()
        self.thread.join()
        return self.peaks


def shuffle_write_bytes(sc: SparkContext) -> int:
    """Bytes written by every shuffle of the application so far (Spark's REST API)."""
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return sum(stage.get("shuffleWriteBytes", 0) for stage in json.load(answer))


def run_side(name: str, measure, args) -> dict:
    conf = SparkConf().set("spark.ui.port", "4050").set("spark.ui.showConsoleProgress", "false")
    sc = SparkContext("local[2]", f"sketch bench {name}", conf=conf)
    sc.setLogLevel("ERROR")
    peaks = WorkerPeaks()
    try:
        per_part = args.events // args.partitions
        events = sc.parallelize(range(args.partitions), args.partitions).flatMap(
            lambda part: make_events(part, per_part, args.keys, args.skew, args.seed)
        )
        events = events.cache()
        events.count()
        before = shuffle_write_bytes(sc)
        started = time.perf_counter()
        pairs = events.map(lambda e: ((e["src"], int(e["time"] // WINDOW_SECONDS)), e))
        combined = pairs.combineByKey(lambda e: measure.add(measure.start(), e), measure.add, measure.merge)
        results = combined.mapValues(measure.result).collectAsMap()
        seconds = time.perf_counter() - started
        time.sleep(1.0)  # the REST API's stage data lags the job's end a little
        shuffled = shuffle_write_bytes(sc) - before
    finally:
        worker_peaks = peaks.stop()
        sc.stop()
    return {
        "name": name,
        "seconds": seconds,
        "shuffled": shuffled,
        "worker_peak_max": max(worker_peaks.values(), default=0),
        "worker_growth": sum(peak - min(worker_peaks.values()) for peak in worker_peaks.values()),
        "workers": len(worker_peaks),
        "results": results,
    }


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--skew", type=float, default=3.0)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--lg-k", type=int, default=12)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable

    exact = run_side("exact", ExactDistinct(), args)
    sketch = run_side("hll", approx_distinct("dst", lg_k=args.lg_k), args)

    counts = exact["results"]
    assert counts.keys() == sketch["results"].keys(), "both sides must see the same (source, window) pairs"
    errors = sorted(abs(sketch["results"][key] - count) / count for key, count in counts.items())
    big = [key for key, count in counts.items() if count >= 1000]
    three_sigma = distinct_error(args.lg_k, 3, merged=True)

    print(
        f"{args.events:,} events, {len(counts):,} (source, window) pairs of 10 minutes, {args.keys:,} sources"
    )
    print(f"largest exact count {max(counts.values()):,}; pairs with >= 1000 destinations: {len(big):,}")
    print(f"{'':6} {'wall':>8} {'shuffle write':>14} {'worker peak (max)':>18} {'worker growth (sum)':>20}")
    for side in (exact, sketch):
        print(
            f"{side['name']:6} {side['seconds']:7.1f}s {side['shuffled'] / 2**20:11.1f} MiB"
            f" {mib(side['worker_peak_max']):>18} {mib(side['worker_growth']):>20}"
            f"  ({side['workers']} processes)"
        )
    print(
        f"ratio HLL/exact: wall {sketch['seconds'] / exact['seconds']:.2f}, "
        f"shuffle {sketch['shuffled'] / exact['shuffled']:.2f}, "
        f"worker peak {sketch['worker_peak_max'] / exact['worker_peak_max']:.2f} (max), "
        f"growth {sketch['worker_growth'] / exact['worker_growth']:.2f} (sum)"
    )
    print(
        f"HLL error: exact on {sum(e == 0 for e in errors) / len(errors):.1%} of pairs, "
        f"median {errors[len(errors) // 2]:.2%}, max {errors[-1]:.2%}; "
        f"within 3 sigma ({three_sigma:.2%}): {sum(e <= three_sigma for e in errors) / len(errors):.2%}"
    )


if __name__ == "__main__":
    main()
