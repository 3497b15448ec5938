"""Approximate measures for large windows: distinct counts, heavy hitters, quantiles, and a Bloom filter.

The exact measures keep every value they saw (a set of users, a list of sizes), which is fine for
ten events per entity and too much for a scanner touching a million addresses in a window. The
measures here keep a fixed-size summary from Apache DataSketches instead, with a known error:

- ``approx_distinct(field, lg_k=12)``: how many different values (HyperLogLog). Relative standard
  error about 1.04/sqrt(2**lg_k): 1.6% at lg_k=12 once merged (1.3% for a sketch fed in one
  pass), and exact up to a few hundred values. At most about 2**lg_k / 2 bytes (HLL_4).
- ``heavy_hitters(field, k)``: the ``k`` most frequent values with their counts (frequent items).
  Each count is off by at most ``epsilon * N`` (N events with the field, epsilon =
  3.5 / 2**lg_max_map_size), and every value seen more than that many times is listed.
- ``quantiles(field, k=200, ranks=(0.5, 0.9, 0.99))``: percentiles (KLL). The value returned for a
  rank is the true value of a rank within +/- 1.33% (k=200, 99% confidence; 1.65% for a PMF).
- ``BloomFilter(expected_items, false_positive_rate)``: "have I seen this before?" (rbloom): never
  says no for an added item, says yes for an absent one with the given probability while no more
  than ``expected_items`` were added. ``seen_values(field, ...)`` builds one per entity and window.

Every accumulator pickles (through the sketch's own binary form) and merges in any order within
the same error, as the Measure protocol in measures.py asks. Fields are event keys or functions of
the event; events without the field (None) are skipped.
"""

from __future__ import annotations

import hashlib
import math
import pickle
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import partial
from typing import Any, NamedTuple

import datasketches as ds
import rbloom

from datashark.detect.measures import value_of

Field = str | Callable[[Any], Any]

HLL_TYPE = ds.tgt_hll_type.HLL_4
_INT64 = range(-(2**63), 2**63)


def _field_reader(field: Field) -> Callable[[Any], Any]:
    """A function event -> value for a field name (dict events) or a function of the event."""
    if callable(field):
        return field
    if not isinstance(field, str) or not field:
        raise ValueError(f"sketch field must be a field name or a function of the event, not {field!r}")

    return partial(_value, field)


def _value(field: str, event: Any) -> Any:
    """The field as the exact measures read it (``source.ip``: a key, else nested keys)."""
    return value_of(event, field)


# ---------------------------------------------------------------------------------------- distinct


class Estimate(NamedTuple):
    """An approximate count with the bounds it lies within (at the chosen number of standard deviations)."""

    estimate: int
    low: int
    high: int


class DistinctSketch:
    """The accumulator of approx_distinct: an HLL sketch of the values seen."""

    __slots__ = ("lg_k", "sketch")

    def __init__(self, lg_k: int = 12, sketch: Any = None) -> None:
        self.lg_k = lg_k
        self.sketch = ds.hll_sketch(lg_k, HLL_TYPE) if sketch is None else sketch

    def update(self, value: Any) -> None:
        """Count ``value`` (str, int and float as themselves, anything else by its repr)."""
        if isinstance(value, (str, float)) or (isinstance(value, int) and value in _INT64):
            self.sketch.update(value)
        else:
            self.sketch.update(repr(value))

    def merge(self, other: DistinctSketch) -> DistinctSketch:
        """Add the values ``other`` saw to this sketch (an HLL union); returns self."""
        union = ds.hll_union(min(self.lg_k, other.lg_k))
        union.update(self.sketch)
        union.update(other.sketch)
        self.sketch = union.get_result(HLL_TYPE)
        self.lg_k = self.sketch.lg_config_k
        return self

    @property
    def estimate(self) -> float:
        return float(self.sketch.get_estimate())

    def bounds(self, std_devs: int = 2) -> tuple[float, float]:
        """(low, high) around the estimate, at 1, 2 or 3 standard deviations (68%, 95%, 99.7%)."""
        return float(self.sketch.get_lower_bound(std_devs)), float(self.sketch.get_upper_bound(std_devs))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_load_distinct, (self.lg_k, self.sketch.serialize_compact()))

    def __repr__(self) -> str:
        return f"DistinctSketch(lg_k={self.lg_k}, estimate={self.estimate:.1f})"


def _load_distinct(lg_k: int, data: bytes) -> DistinctSketch:
    return DistinctSketch(lg_k, ds.hll_sketch.deserialize(data))


def distinct_error(lg_k: int, std_devs: int = 1, merged: bool = True) -> float:
    """The a priori relative error of approx_distinct at ``std_devs`` standard deviations.

    ``merged`` sketches (any that went through a merge, as in Spark) use the composite estimator,
    about 1.04/sqrt(2**lg_k) per standard deviation; a sketch fed in one pass, about 0.83/sqrt(2**lg_k).
    """
    return abs(ds.hll_sketch.get_rel_err(True, merged, lg_k, std_devs))


class ApproxDistinct:
    """How many different values of a field (HyperLogLog), e.g. distinct destination ports per source.

    Relative standard error ``distinct_error(lg_k)``: 1.62% at lg_k=12 (4096 buckets), 0.81% at
    lg_k=14; 99.7% of estimates are within 3 of those. Counts below about 2**lg_k / 10 come from
    a list of hashes and are exact but for hash collisions. Memory is at most about
    2**lg_k / 2 bytes per accumulator (HLL_4), a few bytes per value below that.
    The result is the estimate rounded to an int, or an ``Estimate(estimate, low, high)``
    when ``bounds`` is 1, 2 or 3 (standard deviations).
    """

    def __init__(self, field: Field, lg_k: int = 12, bounds: int = 0) -> None:
        if not 7 <= lg_k <= 21:
            raise ValueError(f"approx_distinct lg_k must be between 7 and 21, not {lg_k}")
        if bounds not in (0, 1, 2, 3):
            raise ValueError(
                f"approx_distinct bounds must be 0 (none), 1, 2 or 3 standard deviations, not {bounds}"
            )
        self.field = field
        self.read = _field_reader(field)
        self.lg_k = lg_k
        self.std_devs = bounds

    def start(self) -> DistinctSketch:
        return DistinctSketch(self.lg_k)

    def add(self, acc: DistinctSketch, event: Any) -> DistinctSketch:
        value = self.read(event)
        if value is not None:
            acc.update(value)
        return acc

    def merge(self, a: DistinctSketch, b: DistinctSketch) -> DistinctSketch:
        return a.merge(b)

    def result(self, acc: DistinctSketch) -> int | Estimate:
        estimate = round(acc.estimate)
        if not self.std_devs:
            return estimate
        low, high = acc.bounds(self.std_devs)
        return Estimate(estimate, math.floor(low), math.ceil(high))


def approx_distinct(field: Field, lg_k: int = 12, bounds: int = 0) -> ApproxDistinct:
    """Distinct values of ``field`` per window, approximately; see ApproxDistinct."""
    return ApproxDistinct(field, lg_k, bounds)


# ------------------------------------------------------------------------------------ heavy hitters


class _PickledItems(ds.PyObjectSerDe):
    """Frequent-items values in the sketch's binary form: each one pickled, with its length."""

    def get_size(self, item: Any) -> int:
        return 4 + len(pickle.dumps(item, protocol=4))

    def to_bytes(self, item: Any) -> bytes:
        data = pickle.dumps(item, protocol=4)
        return len(data).to_bytes(4, "little") + data

    def from_bytes(self, data: bytes, offset: int) -> tuple[Any, int]:
        size = int.from_bytes(data[offset : offset + 4], "little")
        return pickle.loads(data[offset + 4 : offset + 4 + size]), 4 + size


_SERDE = _PickledItems()

# This module, held by its own globals so that interpreter shutdown clears them. Shutdown clears
# the globals of every module still alive; a module object freed before that leaves its globals
# to whatever still holds one of its classes or functions at exit (a measure or a Bloom filter in
# a daemon thread of the Spark driver, say), and they are never freed. The DataSketches objects
# among them (_SERDE, HLL_TYPE) would then outlive nanobind, which prints "nanobind: leaked ...".
_THIS_MODULE = sys.modules[__name__]


def _order(item: Any) -> tuple[str, str]:
    """A total order over mixed values, to break ties in counts the same way every run."""
    return (type(item).__name__, repr(item))


class FrequentSketch:
    """The accumulator of heavy_hitters: a frequent-items sketch of the values seen."""

    __slots__ = ("lg_max_map_size", "sketch")

    def __init__(self, lg_max_map_size: int, sketch: Any = None) -> None:
        self.lg_max_map_size = lg_max_map_size
        self.sketch = ds.frequent_items_sketch(lg_max_map_size) if sketch is None else sketch

    def update(self, value: Hashable, weight: int = 1) -> None:
        self.sketch.update(value, weight)

    def merge(self, other: FrequentSketch) -> FrequentSketch:
        """Add ``other``'s counts to this sketch; returns self."""
        self.sketch.merge(other.sketch)
        return self

    @property
    def total(self) -> int:
        """N: how many values were counted."""
        return int(self.sketch.total_weight)

    @property
    def maximum_error(self) -> float:
        """The most any count may be off by (under): epsilon * N."""
        return float(self.sketch.epsilon) * self.total

    def frequent(self) -> list[tuple[Any, int, int, int]]:
        """(value, estimate, lower bound, upper bound) of every value that may be above the error,
        most frequent first; no value counted more than ``maximum_error`` times is missing."""
        rows = self.sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
        return sorted(rows, key=lambda row: (-row[1], _order(row[0])))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_load_frequent, (self.lg_max_map_size, self.sketch.serialize(_SERDE)))

    def __repr__(self) -> str:
        return f"FrequentSketch(lg_max_map_size={self.lg_max_map_size}, total={self.total})"


def _load_frequent(lg_max_map_size: int, data: bytes) -> FrequentSketch:
    return FrequentSketch(lg_max_map_size, ds.frequent_items_sketch.deserialize(data, _SERDE))


def default_map_size(k: int) -> int:
    """lg_max_map_size for a top ``k``: a map of at least 8k values, and at least 256."""
    return max(8, (8 * k - 1).bit_length())


class HeavyHitters:
    """The most frequent values of a field with their counts (frequent items, Misra-Gries style).

    Counts are estimates within ``epsilon * N``, N being the number of events with the field and
    epsilon = 3.5 / 2**lg_max_map_size (0.34% for lg_max_map_size=10); they are exact while fewer
    than 0.75 * 2**lg_max_map_size different values were seen. Every value counted more than
    epsilon * N times is listed (no false negatives), unless ``k`` cuts the list first. The
    result is a list of (value, estimate), most frequent first, ties ordered by type and value.
    Values that cannot be hashed (lists, dicts) are counted by their repr.
    """

    def __init__(self, field: Field, k: int = 10, lg_max_map_size: int | None = None) -> None:
        if k < 1:
            raise ValueError(f"heavy_hitters k must be at least 1, not {k}")
        lg = default_map_size(k) if lg_max_map_size is None else lg_max_map_size
        if not 3 <= lg <= 26:
            raise ValueError(f"heavy_hitters lg_max_map_size must be between 3 and 26, not {lg}")
        self.field = field
        self.read = _field_reader(field)
        self.k = k
        self.lg_max_map_size = lg

    @property
    def epsilon(self) -> float:
        return float(ds.frequent_items_sketch.get_epsilon_for_lg_size(self.lg_max_map_size))

    def start(self) -> FrequentSketch:
        return FrequentSketch(self.lg_max_map_size)

    def add(self, acc: FrequentSketch, event: Any) -> FrequentSketch:
        value = self.read(event)
        if value is None:
            return acc
        try:
            hash(value)
        except TypeError:
            value = repr(value)
        acc.update(value)
        return acc

    def merge(self, a: FrequentSketch, b: FrequentSketch) -> FrequentSketch:
        return a.merge(b)

    def result(self, acc: FrequentSketch) -> list[tuple[Any, int]]:
        return [(item, int(estimate)) for item, estimate, _, _ in acc.frequent()[: self.k]]


def heavy_hitters(field: Field, k: int = 10, lg_max_map_size: int | None = None) -> HeavyHitters:
    """The ``k`` most frequent values of ``field`` per window, approximately; see HeavyHitters."""
    return HeavyHitters(field, k, lg_max_map_size)


# ---------------------------------------------------------------------------------------- quantiles


class QuantileSketch:
    """The accumulator of quantiles: a KLL sketch (doubles) of the values seen."""

    __slots__ = ("k", "sketch")

    def __init__(self, k: int = 200, sketch: Any = None) -> None:
        self.k = k
        self.sketch = ds.kll_doubles_sketch(k) if sketch is None else sketch

    def update(self, value: float) -> None:
        self.sketch.update(value)

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """Add ``other``'s values to this sketch; returns self."""
        self.sketch.merge(other.sketch)
        return self

    @property
    def count(self) -> int:
        return int(self.sketch.n)

    def quantile(self, rank: float) -> float | None:
        """The smallest value with at least ``rank`` of the values at or below it (0.5: the median,
        1.0: the largest; 0.0 and 1.0 are exact), None when nothing was counted."""
        if self.sketch.is_empty():
            return None
        if rank <= 0:
            return float(self.sketch.get_min_value())
        if rank >= 1:
            return float(self.sketch.get_max_value())
        return float(self.sketch.get_quantile(rank, inclusive=True))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_load_quantiles, (self.k, self.sketch.serialize()))

    def __repr__(self) -> str:
        return f"QuantileSketch(k={self.k}, count={self.count})"


def _load_quantiles(k: int, data: bytes) -> QuantileSketch:
    return QuantileSketch(k, ds.kll_doubles_sketch.deserialize(data))


def rank_error(k: int = 200) -> float:
    """How far (in normalized rank) a quantile may be from the true one, at 99% confidence:
    0.0133 for k=200."""
    return float(ds.kll_doubles_sketch.get_normalized_rank_error(k, False))


class Quantiles:
    """Percentiles of a numeric field (KLL), e.g. the median and p99 of bytes sent per source.

    The value returned for rank r is one whose true normalized rank is within r +/- rank_error(k)
    at 99% confidence: 1.33% for k=200 (the default), 0.68% for k=400 (the PMF/CDF form, two-sided,
    is 1.65% at k=200). Exact up to k values; ranks 0 and 1 give the exact minimum and maximum.
    Memory grows to about 3k values (about 5 KB at k=200) whatever the count. Values are read as
    floats; values that are not numbers (or NaN) are skipped. The result is {rank: value}, the
    value being the smallest with at least that share of the values at or below it, None when no
    event had one.
    """

    def __init__(self, field: Field, k: int = 200, ranks: Sequence[float] = (0.5, 0.9, 0.99)) -> None:
        if not 8 <= k <= 65535:
            raise ValueError(f"quantiles k must be between 8 and 65535, not {k}")
        if not ranks or any(not 0 <= rank <= 1 for rank in ranks):
            raise ValueError(f"quantiles ranks must be between 0 and 1, not {list(ranks)}")
        self.field = field
        self.read = _field_reader(field)
        self.k = k
        self.ranks = tuple(float(rank) for rank in ranks)

    def start(self) -> QuantileSketch:
        return QuantileSketch(self.k)

    def add(self, acc: QuantileSketch, event: Any) -> QuantileSketch:
        value = self.read(event)
        if value is None or isinstance(value, bool):
            return acc
        try:
            number = float(value)
        except (TypeError, ValueError):
            return acc
        if not math.isnan(number):
            acc.update(number)
        return acc

    def merge(self, a: QuantileSketch, b: QuantileSketch) -> QuantileSketch:
        return a.merge(b)

    def result(self, acc: QuantileSketch) -> dict[float, float | None]:
        return {rank: acc.quantile(rank) for rank in self.ranks}


def quantiles(field: Field, k: int = 200, ranks: Sequence[float] = (0.5, 0.9, 0.99)) -> Quantiles:
    """Percentiles of ``field`` per window, approximately; see Quantiles."""
    return Quantiles(field, k, ranks)


# --------------------------------------------------------------------------------------- membership


def stable_hash(item: Any) -> int:
    """A 128-bit hash of ``item`` that is the same in every process (Python's hash() of a str is not).

    Values compare as in a set for str, bytes, int and float (1 and 1.0 are one value); anything
    else by its type and repr, so use strings for addresses rather than ipaddress objects.
    """
    if isinstance(item, str):
        data = b"s" + item.encode("utf-8", "surrogatepass")
    elif isinstance(item, (bytes, bytearray)):
        data = b"b" + bytes(item)
    elif isinstance(item, int) or (isinstance(item, float) and item.is_integer()):
        data = b"i" + str(int(item)).encode()
    elif isinstance(item, float):
        data = b"f" + repr(item).encode()
    else:
        data = b"r" + type(item).__name__.encode() + b":" + repr(item).encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=16).digest(), "big", signed=True)


class BloomFilter:
    """A set that answers "seen this before?" in fixed memory (e.g. threat-intel IPs, known user agents).

    Never answers no for an added item. For an item never added it answers yes with probability
    ``false_positive_rate`` while at most ``expected_items`` were added (more than that, the rate
    grows quickly: about 5x at twice as many). Size: about -n ln(p) / ln(2)**2 bits, 1.2 MB for a
    million items at 1%. Filters with the same two parameters merge (``|``, ``union``) into the
    filter of both sets; filters pickle, so one built on the driver can be broadcast. Backed by
    rbloom, with stable_hash so the bits mean the same in every process.
    """

    __slots__ = ("_bloom", "expected_items", "false_positive_rate")

    def __init__(self, expected_items: int, false_positive_rate: float = 0.01, _bloom: Any = None) -> None:
        if expected_items < 1:
            raise ValueError(f"BloomFilter expected_items must be at least 1, not {expected_items}")
        if not 0 < false_positive_rate < 1:
            raise ValueError(
                f"BloomFilter false_positive_rate must be between 0 and 1, not {false_positive_rate}"
            )
        self.expected_items = expected_items
        self.false_positive_rate = false_positive_rate
        self._bloom = (
            rbloom.Bloom(expected_items, false_positive_rate, stable_hash) if _bloom is None else _bloom
        )

    @classmethod
    def of(cls, items: Iterable[Any], expected_items: int, false_positive_rate: float = 0.01) -> BloomFilter:
        """A filter holding ``items``."""
        bloom = cls(expected_items, false_positive_rate)
        bloom.update(items)
        return bloom

    def add(self, item: Any) -> None:
        self._bloom.add(item)

    def update(self, items: Iterable[Any]) -> None:
        self._bloom.update(items)

    def __contains__(self, item: Any) -> bool:
        return item in self._bloom

    def _check(self, other: BloomFilter) -> None:
        mine = (self.expected_items, self.false_positive_rate)
        theirs = (other.expected_items, other.false_positive_rate)
        if mine != theirs:
            raise ValueError(
                f"cannot merge Bloom filters of different (expected items, rate): {mine}, {theirs}"
            )

    def union(self, other: BloomFilter) -> BloomFilter:
        """A new filter holding the items of both."""
        self._check(other)
        return BloomFilter(self.expected_items, self.false_positive_rate, self._bloom | other._bloom)

    def __or__(self, other: BloomFilter) -> BloomFilter:
        return self.union(other)

    def __ior__(self, other: BloomFilter) -> BloomFilter:
        self._check(other)
        self._bloom |= other._bloom
        return self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BloomFilter) and self._bloom == other._bloom

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self._bloom)

    @property
    def approx_items(self) -> float:
        """About how many different items were added."""
        return float(self._bloom.approx_items)

    @property
    def size_in_bits(self) -> int:
        return int(self._bloom.size_in_bits)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_load_bloom, (self.expected_items, self.false_positive_rate, self._bloom.save_bytes()))

    def __repr__(self) -> str:
        return (
            f"BloomFilter(expected_items={self.expected_items}, false_positive_rate="
            f"{self.false_positive_rate}, approx_items={self.approx_items:.0f})"
        )


def _load_bloom(expected_items: int, false_positive_rate: float, data: bytes) -> BloomFilter:
    return BloomFilter(expected_items, false_positive_rate, rbloom.Bloom.load_bytes(data, stable_hash))


class SeenValues:
    """The values of a field per window as a BloomFilter, e.g. the IPs a user logged in from during
    training, to ask later ``ip in values["ips"]``. Same error as BloomFilter; each accumulator
    takes the filter's full size (1.2 KB per 1000 expected items at 1%) from the first event on."""

    def __init__(self, field: Field, expected_items: int, false_positive_rate: float = 0.01) -> None:
        if expected_items < 1:
            raise ValueError(f"seen_values expected_items must be at least 1, not {expected_items}")
        if not 0 < false_positive_rate < 1:
            raise ValueError(
                f"seen_values false_positive_rate must be between 0 and 1, not {false_positive_rate}"
            )
        self.field = field
        self.read = _field_reader(field)
        self.expected_items = expected_items
        self.false_positive_rate = false_positive_rate

    def start(self) -> BloomFilter:
        return BloomFilter(self.expected_items, self.false_positive_rate)

    def add(self, acc: BloomFilter, event: Any) -> BloomFilter:
        value = self.read(event)
        if value is not None:
            acc.add(value)
        return acc

    def merge(self, a: BloomFilter, b: BloomFilter) -> BloomFilter:
        a |= b
        return a

    def result(self, acc: BloomFilter) -> BloomFilter:
        return acc


def seen_values(field: Field, expected_items: int, false_positive_rate: float = 0.01) -> SeenValues:
    """The values of ``field`` per window as a BloomFilter; see SeenValues."""
    return SeenValues(field, expected_items, false_positive_rate)
