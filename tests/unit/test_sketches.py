"""The sketch measures against exact answers: error within the documented bounds, merges in any
order, accumulators that survive pickling (as between Spark executors) and a Bloom filter that
means the same in another process."""

from __future__ import annotations

import copy
import functools
import pickle
import random
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from pyspark import cloudpickle

from datashark.detect.sketches import (
    BloomFilter,
    Estimate,
    approx_distinct,
    distinct_error,
    heavy_hitters,
    quantiles,
    rank_error,
    seen_values,
    stable_hash,
)

SEED = 20261202


def feed(measure, events):
    acc = measure.start()
    for event in events:
        acc = measure.add(acc, event)
    return acc


def partials(measure, events, parts=8):
    """One accumulator per slice of ``events``, each through a pickle round trip (a shuffle)."""
    size = -(-len(events) // parts)
    return [
        pickle.loads(pickle.dumps(feed(measure, events[i : i + size]))) for i in range(0, len(events), size)
    ]


def merge_orders(measure, events):
    """The partial accumulators merged left to right, right to left, shuffled, and as a tree."""
    shuffled = partials(measure, events)
    random.Random(SEED).shuffle(shuffled)
    results = {
        "forward": functools.reduce(measure.merge, partials(measure, events)),
        "backward": functools.reduce(measure.merge, partials(measure, events)[::-1]),
        "shuffled": functools.reduce(measure.merge, shuffled),
    }
    level = partials(measure, events)
    while len(level) > 1:
        level = [
            measure.merge(*level[i : i + 2]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    results["tree"] = level[0]
    return results


# ---------------------------------------------------------------------------------------- distinct


@pytest.fixture(scope="module")
def users():
    """300,000 logins by 100,000 different users, in a random order."""
    rng = random.Random(SEED)
    names = [f"user{n:06d}" for n in range(100_000)]
    events = [{"user": name} for name in names * 3]
    rng.shuffle(events)
    return events


def test_distinct_one_pass_is_within_three_sigma(users):
    measure = approx_distinct("user")
    estimate = measure.result(feed(measure, users))
    assert abs(estimate - 100_000) <= 100_000 * distinct_error(12, 3, merged=False)
    assert isinstance(estimate, int)


def test_distinct_merged_in_any_order_is_within_three_sigma(users):
    measure = approx_distinct("user")
    estimates = {order: measure.result(acc) for order, acc in merge_orders(measure, users).items()}
    for order, estimate in estimates.items():
        assert abs(estimate - 100_000) <= 100_000 * distinct_error(12, 3, merged=True), order
    assert len(set(estimates.values())) == 1, estimates


def test_distinct_bounds_hold_the_exact_count(users):
    measure = approx_distinct("user", lg_k=10, bounds=3)
    result = measure.result(feed(measure, users))
    assert isinstance(result, Estimate)
    assert result.low <= 100_000 <= result.high
    assert result.high - result.low < 100_000 * 6 * distinct_error(10, 1, merged=False) * 1.1


def test_distinct_is_exact_for_small_counts_and_skips_missing_fields():
    measure = approx_distinct(lambda event: event.get("port"))
    events = [{"port": port} for port in range(300)] * 2 + [{"other": 1}, {"port": None}]
    assert measure.result(feed(measure, events)) == 300
    by_name = approx_distinct("port")
    assert by_name.result(feed(by_name, [*events, "not a dict", None])) == 300
    assert by_name.result(by_name.start()) == 0


def test_distinct_counts_odd_values_by_repr():
    measure = approx_distinct("value")
    events = [{"value": v} for v in (2**70, 2**70, ("a", 1), ("a", 1), 3.5, "x")]
    assert measure.result(feed(measure, events)) == 4


def test_distinct_accumulator_keeps_working_after_pickle_and_copy():
    measure = approx_distinct("ip")
    acc = feed(measure, [{"ip": f"10.0.0.{n}"} for n in range(100)])
    for clone in (
        pickle.loads(pickle.dumps(acc)),
        copy.deepcopy(acc),
        cloudpickle.loads(cloudpickle.dumps(acc)),
    ):
        assert measure.result(clone) == 100
        measure.add(clone, {"ip": "10.0.1.1"})
        assert measure.result(clone) == 101
    assert measure.result(acc) == 100


def test_distinct_rejects_bad_parameters():
    with pytest.raises(ValueError, match="lg_k"):
        approx_distinct("user", lg_k=4)
    with pytest.raises(ValueError, match="bounds"):
        approx_distinct("user", bounds=5)
    with pytest.raises(ValueError, match="field"):
        approx_distinct("")


# ------------------------------------------------------------------------------------ heavy hitters


@pytest.fixture(scope="module")
def paths():
    """100,000 requests over 20,000 paths, Zipf-distributed (a few paths take most requests)."""
    rng = np.random.default_rng(SEED)
    ranks = rng.zipf(1.3, size=300_000)
    ranks = ranks[ranks <= 20_000][:100_000]
    return [{"path": f"/page/{int(rank)}"} for rank in ranks]


def check_heavy_hitters(measure, acc, events):
    exact = Counter(event["path"] for event in events)
    bound = measure.epsilon * len(events)
    assert acc.maximum_error <= bound + 1e-9
    rows = {item: (estimate, low, high) for item, estimate, low, high in acc.frequent()}
    heavy = [item for item, count in exact.items() if count > bound]
    assert heavy and all(item in rows for item in heavy)  # recall of the items above the error: 100%
    for item, (estimate, low, high) in rows.items():
        assert low <= exact[item] <= high
        assert abs(estimate - exact[item]) <= bound
    result = measure.result(acc)
    estimates = [estimate for _, estimate in result]
    assert estimates == sorted(estimates, reverse=True)
    assert {item for item, _ in result} >= set(heavy)


def test_heavy_hitters_one_pass(paths):
    measure = heavy_hitters("path", k=100, lg_max_map_size=8)
    check_heavy_hitters(measure, feed(measure, paths), paths)


def test_heavy_hitters_merged_in_any_order(paths):
    measure = heavy_hitters("path", k=100, lg_max_map_size=8)
    tops = set()
    for acc in merge_orders(measure, paths).values():
        check_heavy_hitters(measure, acc, paths)
        tops.add(tuple(item for item, _ in measure.result(acc)[:5]))
    assert len(tops) == 1


def test_heavy_hitters_are_exact_below_capacity_with_deterministic_ties():
    measure = heavy_hitters("value", k=3)
    events = [{"value": v} for v in ["b", "a", 1, "1", "c", "c", "b", "a", 1, "1", "c", ["x"]]]
    assert measure.result(feed(measure, events)) == [("c", 3), (1, 2), ("1", 2)]
    assert heavy_hitters("value", k=10).result(feed(heavy_hitters("value", k=10), events))[-1] == ("['x']", 1)


def test_heavy_hitters_accumulator_pickles_mixed_values():
    measure = heavy_hitters("value", k=5)
    acc = feed(measure, [{"value": v} for v in [("10.0.0.1", 22), ("10.0.0.1", 22), 443, "ssh", 2.5]])
    clone = pickle.loads(pickle.dumps(acc))
    assert (
        measure.result(clone)
        == measure.result(acc)
        == [(("10.0.0.1", 22), 2), (2.5, 1), (443, 1), ("ssh", 1)]
    )
    assert measure.result(measure.start()) == []


# ---------------------------------------------------------------------------------------- quantiles


@pytest.fixture(scope="module")
def sizes():
    """100,000 response sizes, log-normal like real ones."""
    values = np.random.default_rng(SEED).lognormal(8, 1.5, 100_000)
    return [{"bytes": float(value)} for value in values], np.sort(values)


def check_ranks(result, exact):
    for rank, value in result.items():
        below = np.searchsorted(exact, value, "left") / len(exact)
        at_most = np.searchsorted(exact, value, "right") / len(exact)
        assert below - rank_error(200) <= rank <= at_most + rank_error(200), (rank, below, at_most)


def test_quantiles_one_pass_are_within_rank_error(sizes):
    events, exact = sizes
    measure = quantiles("bytes")
    result = measure.result(feed(measure, events))
    assert list(result) == [0.5, 0.9, 0.99]
    check_ranks(result, exact)


def test_quantiles_merged_in_any_order_are_within_rank_error(sizes):
    events, exact = sizes
    measure = quantiles("bytes", ranks=(0.01, 0.25, 0.5, 0.75, 0.99, 1.0))
    for acc in merge_orders(measure, events).values():
        assert acc.count == len(events)
        check_ranks(measure.result(acc), exact)
        assert measure.result(acc)[1.0] == exact[-1]


def test_quantiles_are_exact_for_few_values_and_skip_non_numbers():
    measure = quantiles("ms", ranks=(0.0, 0.5, 1.0))
    events = [{"ms": v} for v in [5, "3", 1.0, "slow", None, float("nan"), True, 4, 2]]
    acc = feed(measure, events)
    assert measure.result(acc) == {0.0: 1.0, 0.5: 3.0, 1.0: 5.0}
    assert measure.result(pickle.loads(pickle.dumps(acc))) == {0.0: 1.0, 0.5: 3.0, 1.0: 5.0}
    assert measure.result(measure.start()) == {0.0: None, 0.5: None, 1.0: None}


def test_quantiles_reject_bad_ranks():
    with pytest.raises(ValueError, match="ranks"):
        quantiles("ms", ranks=(0.5, 99))


# --------------------------------------------------------------------------------------- membership


def intel_ips(count, offset=0):
    return [f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}" for n in range(offset, offset + count)]


@pytest.fixture(scope="module")
def intel():
    return BloomFilter.of(intel_ips(100_000), expected_items=100_000, false_positive_rate=0.01)


def test_bloom_has_no_false_negatives_and_the_target_false_positive_rate(intel):
    assert all(ip in intel for ip in intel_ips(100_000))
    false_positives = sum(ip in intel for ip in intel_ips(100_000, offset=1_000_000))
    assert false_positives <= 1.5 * 0.01 * 100_000
    assert 0.9 * 100_000 < intel.approx_items < 1.1 * 100_000


def test_bloom_union_is_the_filter_of_both_sets(intel):
    halves = [BloomFilter.of(intel_ips(50_000, offset), 100_000, 0.01) for offset in (0, 50_000)]
    assert halves[0] | halves[1] == intel
    assert halves[1].union(halves[0]) == intel
    assert "10.1.134.159" not in halves[0] and "10.1.134.159" in intel  # 100,000th address
    merged = copy.deepcopy(halves[0])
    merged |= halves[1]
    assert merged == intel
    with pytest.raises(ValueError, match="different"):
        halves[0] | BloomFilter(1000, 0.01)


def test_bloom_means_the_same_in_another_process(intel, tmp_path):
    """Python's hash() of a str changes per process; a pickled filter must not."""
    path = tmp_path / "intel.pickle"
    path.write_bytes(pickle.dumps(intel))
    probe = intel_ips(5, offset=99_998) + intel_ips(3, offset=2_000_000)
    code = (
        "import pickle, sys; bloom = pickle.load(open(sys.argv[1], 'rb'));"
        f"print([ip in bloom for ip in {probe!r}])"
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(path)],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert out.strip() == str([ip in intel for ip in probe])
    assert out.strip().startswith("[True, True, False")


def test_stable_hash_treats_numbers_like_a_set():
    assert stable_hash(1) == stable_hash(1.0) == stable_hash(True)
    assert stable_hash("1") != stable_hash(1) != stable_hash(b"1")
    assert stable_hash(("a", 1)) == stable_hash(("a", 1)) != stable_hash(("a", 2))


def test_seen_values_measure_merges_partial_filters():
    measure = seen_values("src_ip", expected_items=1000)
    events = [{"src_ip": ip} for ip in intel_ips(500)] + [{"user": "x"}]
    merged = functools.reduce(measure.merge, partials(measure, events, parts=5))
    assert measure.result(merged) == measure.result(feed(measure, events))
    assert "10.0.1.243" in measure.result(merged) and "10.0.1.244" not in measure.result(merged)
    with pytest.raises(ValueError, match="false_positive_rate"):
        seen_values("src_ip", 1000, false_positive_rate=1.5)


def test_measures_pickle_with_function_fields_as_spark_ships_them():
    measure = cloudpickle.loads(cloudpickle.dumps(approx_distinct(lambda event: event["a"] + event["b"])))
    assert measure.result(feed(measure, [{"a": 1, "b": 2}, {"a": 2, "b": 1}, {"a": 0, "b": 0}])) == 2


def test_a_dotted_field_reads_nested_events_as_the_exact_measures_do() -> None:
    events = [{"source": {"ip": f"192.0.2.{n % 7}"}} for n in range(50)] + [{"source.ip": "198.51.100.1"}]
    measure = approx_distinct("source.ip")
    acc = measure.start()
    for event in events:
        acc = measure.add(acc, event)
    assert measure.result(acc) == 8


ROUND_TRIP_THEN_EXIT = """
import pickle, threading
from datashark.detect.sketches import BloomFilter, approx_distinct, heavy_hitters, quantiles

def round_trip():
    measures = [approx_distinct("v"), heavy_hitters("v", k=3), quantiles("v")]
    for measure in measures:
        acc = measure.start()
        for value in (1, 2, 2, 3.5, 7, "seven"):
            acc = measure.add(acc, {"v": value})
        assert measure.result(pickle.loads(pickle.dumps(acc))) == measure.result(acc)
    bloom = pickle.loads(pickle.dumps(BloomFilter.of(["10.0.0.1"], 100)))
    assert "10.0.0.1" in bloom
    return measures, bloom

threading.Thread(target=lambda held: threading.Event().wait(3600), args=(round_trip(),), daemon=True).start()
print("round trip done")
"""


def test_pickled_sketches_leave_no_native_objects_behind_at_exit():
    """A Spark driver exits with daemon threads still holding measures and Bloom filters. The
    DataSketches objects this module keeps (its item serde, the HLL type) must be freed by then all
    the same: nanobind reports any left over on stderr ("nanobind: leaked 1 instances!")."""
    command = [sys.executable, "-c", ROUND_TRIP_THEN_EXIT]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "round trip done"
    assert "leaked" not in run.stderr, run.stderr
