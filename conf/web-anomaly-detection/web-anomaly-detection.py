"""Web Anomaly Detection: K-means over what each client IP does per time window.

Every access-log event (a dict of the conf pattern's named groups) is keyed by its client IP
and the ``window``-second bucket of its *log* timestamp. Per key the detector counts requests,
2xx/3xx/4xx/5xx answers, distinct paths and bytes sent. The training log is aggregated the
same way, so the model learns from exactly the scale it later scores (the original trained on
whole-file totals and scored 60-second windows). The counts are log1p-transformed and
standardised with the training set's mean and standard deviation; K-means (fixed seed) finds
``k`` centres of normal behaviour, and a window's score is its Euclidean distance to the
nearest centre: 0 is typical, higher is more unusual.

Every function used inside a Spark operation is defined at module level and is pure: dataShark
ships this module to the executors by value, and the model travels as a broadcast of plain
numpy arrays, never as a closure over the SparkContext.
"""

from __future__ import annotations

import calendar
import math
import re
import zlib
from datetime import datetime, timezone
from functools import partial
from operator import itemgetter
from typing import Any

import numpy as np

# The named groups of the conf's pattern this code reads.
REQUIRED_GROUPS = ("source", "time", "path", "status", "bytes")

# Defaults of the conf's knobs (the conf sets them all; these keep an older conf working).
DEFAULTS = {
    "k": 6,
    "window": 60,
    "stream_window": None,
    "seed": 42,
    "restarts": 10,
    "max_iterations": 100,
    "min_std": 0.1,
}

FEATURE_NAMES = (
    "requests",
    "status_2xx",
    "status_3xx",
    "status_4xx",
    "status_5xx",
    "distinct_paths",
    "bytes",
    "error_ratio",
)

# At most about this many training windows are collected to choose the initial centres.
SAMPLE_CAP = 20_000

# A window's counts, as a plain tuple (pickles anywhere, unlike a class of this by-value
# module): requests, 2xx, 3xx, 4xx, 5xx, bytes, frozenset of paths.
Counts = tuple[int, int, int, int, int, int, frozenset]
# The model: {"centres": (k, d) array, "mean": (d,) array, "std": (d,) array}.
Model = dict[str, np.ndarray]

# Apache writes English month names whatever the locale (calendar.month_abbr would follow it).
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_LOG_TIME = re.compile(r"(\d{1,2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2})\s+([+-])(\d{2})(\d{2})$")


# ----------------------------------------------------------------------------- per event


def parse_log_time(text: str) -> int | None:
    """Seconds since the epoch (UTC) of an access-log time such as ``17/May/2015:10:05:03 +0000``.

    Parsed by hand rather than with ``strptime("%b")``, whose month names follow the
    executor's locale. None for anything else, so one odd event cannot crash a stream.
    """
    match = _LOG_TIME.match(text.strip()) if isinstance(text, str) else None
    if match is None or match[2] not in _MONTHS:
        return None
    day, _, year, hour, minute, second, sign, tz_hours, tz_minutes = match.groups()
    local = calendar.timegm(
        (int(year), _MONTHS[match[2]], int(day), int(hour), int(minute), int(second), 0, 0, 0)
    )
    offset = (int(tz_hours) * 3600 + int(tz_minutes) * 60) * (1 if sign == "+" else -1)
    return local - offset


def window_start(timestamp: int, window: int) -> int:
    """The start of the tumbling ``window``-second bucket holding ``timestamp`` (epoch-aligned)."""
    return timestamp - timestamp % window


def status_class(status: Any) -> int:
    """2, 3, 4 or 5 for a 2xx..5xx status; 0 for anything else (1xx, garbage)."""
    text = str(status or "")
    return int(text[0]) if len(text) == 3 and text.isdigit() and text[0] in "2345" else 0


def response_bytes(value: Any) -> int:
    """The size of the response body; Apache writes ``-`` for none, which counts as 0."""
    text = str(value or "")
    return int(text) if text.isdigit() else 0


def event_counts(event: dict[str, Any]) -> Counts:
    """One event's contribution to its window: one request, its status class, bytes, path.

    A junk request line (no method and path) counts by its text: scanners vary it.
    """
    klass = status_class(event.get("status"))
    return (
        1,
        int(klass == 2),
        int(klass == 3),
        int(klass == 4),
        int(klass == 5),
        response_bytes(event.get("bytes")),
        frozenset([event.get("path") or event.get("request") or "-"]),
    )


def event_pairs(event: dict[str, Any], window: int) -> list[tuple[tuple[str, int], Counts]]:
    """``[((source IP, window start), counts)]``, or ``[]`` when the event has no usable IP or time.

    Used with flatMap so a custom pattern that lets an odd line through drops that line
    instead of failing the batch.
    """
    if not isinstance(event, dict):
        return []
    source = event.get("source")
    timestamp = parse_log_time(event.get("time"))
    if not source or timestamp is None:
        return []
    return [((source, window_start(timestamp, window)), event_counts(event))]


def merge_counts(first: Counts, second: Counts) -> Counts:
    """Associative, commutative sum of two windows' counts (the reduce function)."""
    return (
        first[0] + second[0],
        first[1] + second[1],
        first[2] + second[2],
        first[3] + second[3],
        first[4] + second[4],
        first[5] + second[5],
        first[6] | second[6],
    )


# ----------------------------------------------------------------------------- per window


def raw_features(counts: Counts) -> dict[str, float]:
    """The window's features as people read them (the metadata of a scored row)."""
    requests, ok, redirect, client_error, server_error, sent, paths = counts
    return {
        "requests": requests,
        "status_2xx": ok,
        "status_3xx": redirect,
        "status_4xx": client_error,
        "status_5xx": server_error,
        "distinct_paths": len(paths),
        "bytes": sent,
        "error_ratio": round((client_error + server_error) / requests, 4) if requests else 0.0,
    }


def feature_vector(counts: Counts) -> np.ndarray:
    """The unscaled model input: log1p of every count (bursts differ by orders of magnitude,
    and log1p keeps 0 at 0), plus the error ratio, already in [0, 1]."""
    raw = raw_features(counts)
    values = [math.log1p(raw[name]) for name in FEATURE_NAMES[:-1]]
    return np.array([*values, raw["error_ratio"]], dtype=float)


def safe_std(std: np.ndarray, min_std: float) -> np.ndarray:
    """``std`` with every entry below ``min_std`` raised to it.

    A feature that never varies in training has std 0 (division by zero); one that is almost
    always 0 (5xx) has a tiny std that would make a single occurrence tens of deviations away
    and drown every other feature. The floor bounds how much one feature can be amplified.
    """
    floor = max(float(min_std), 1e-9)
    return np.maximum(np.asarray(std, dtype=float), floor)


def scale(vector: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardise with the training set's statistics (``std`` already passed through safe_std)."""
    return (np.asarray(vector, dtype=float) - mean) / std


def nearest_centre(point: np.ndarray, centres: np.ndarray) -> tuple[int, float]:
    """``(index, Euclidean distance)`` of the centre closest to ``point`` (first one on ties)."""
    distances = np.sqrt(((np.asarray(centres) - point) ** 2).sum(axis=1))
    index = int(np.argmin(distances))
    return index, float(distances[index])


def iso_time(timestamp: int) -> str:
    """ISO-8601 UTC for a window start, readable in CSV and sortable as text."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def score_window(item: tuple[tuple[str, int], Counts], model: Model) -> tuple[str, float, dict[str, Any]]:
    """``(source IP, score, metadata)`` for one window: the score is the distance of its scaled
    features to the nearest centre; the metadata names the cluster, the window and the raw
    features, so an analyst sees *why* without re-reading the log."""
    (source, start), counts = item
    point = scale(feature_vector(counts), model["mean"], model["std"])
    cluster, distance = nearest_centre(point, model["centres"])
    metadata = {"cluster": cluster, "window_start": iso_time(start), **raw_features(counts)}
    return source, round(distance, 4), metadata


def score_window_broadcast(item: tuple[tuple[str, int], Counts], model: Any) -> tuple[str, float, dict]:
    """score_window with the model read from a Broadcast on the executor (fetched once there)."""
    return score_window(item, model.value)


def in_sample(item: tuple[tuple[str, int], Any], fraction: float) -> bool:
    """Whether a training window belongs to the initialisation sample: decided by a CRC of its
    key, so the sample is the same however the data is partitioned and in whichever process
    (Python's own str hash is salted per process)."""
    (source, start), _ = item
    return zlib.crc32(f"{source}|{start}".encode()) < fraction * 2**32


# ----------------------------------------------------------------------------- K-means start


def kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each next centre is drawn with probability proportional to its squared
    distance from the centres so far, which spreads the centres over the data."""
    centres = [points[rng.integers(len(points))]]
    closest = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = closest.sum()
        index = rng.choice(len(points), p=closest / total) if total > 0 else rng.integers(len(points))
        centres.append(points[index])
        closest = np.minimum(closest, ((points - points[index]) ** 2).sum(axis=1))
    return np.array(centres, dtype=float)


def lloyd(
    points: np.ndarray, centres: np.ndarray, iterations: int, tolerance: float = 1e-4
) -> tuple[np.ndarray, float]:
    """Lloyd's iterations from ``centres``; returns the centres and their cost (sum of squared
    distances to the nearest centre). A centre that loses all its points stays where it is."""
    for _ in range(iterations):
        labels = _squared_distances(points, centres).argmin(axis=1)
        moved = centres.copy()
        for index in range(len(centres)):
            members = points[labels == index]
            if len(members):
                moved[index] = members.mean(axis=0)
        shift = float(np.sqrt(((moved - centres) ** 2).sum(axis=1)).max())
        centres = moved
        if shift <= tolerance:
            break
    return centres, float(_squared_distances(points, centres).min(axis=1).sum())


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n, k) squared Euclidean distances."""
    return ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)


def initial_centres(points: np.ndarray, k: int, seed: int, restarts: int, iterations: int) -> np.ndarray:
    """The best (lowest-cost) of ``restarts`` seeded k-means++ + Lloyd runs on ``points``.

    K-means ends in a local optimum that depends on its start; on the sample log, single
    k-means|| starts ended with costs up to 44 % apart and different rankings. Several cheap starts
    on the driver, then MLlib's iterations on all the data from the best one, give a model
    that depends only on the data and the seed, not on partitioning or core count.
    """
    best: tuple[np.ndarray, float] | None = None
    for restart in range(restarts):
        rng = np.random.default_rng([seed, restart])
        centres, cost = lloyd(points, kmeans_plus_plus(points, k, rng), iterations)
        if best is None or cost < best[1]:
            best = (centres, cost)
    return best[0]


# ----------------------------------------------------------------------------- driver side


def settings(conf: Any) -> dict[str, Any]:
    """The knobs from the conf (strings there) as numbers, with a message naming a bad one.

    ``stream_window`` defaults to ``window``.
    """
    values: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        text = conf.get(key, default)
        if text is None:  # stream_window left out
            continue
        try:
            value = float(text) if key == "min_std" else int(str(text).strip())
        except ValueError:
            raise ValueError(f"web-anomaly-detection: key '{key}' must be a number, not {text!r}") from None
        if key == "min_std" and not value > 0:
            raise ValueError(f"web-anomaly-detection: key 'min_std' must be above 0, not {value}")
        if key == "seed" and value < 0:
            raise ValueError(f"web-anomaly-detection: key 'seed' must be 0 or more, not {value}")
        if key not in ("seed", "min_std") and value < 1:
            raise ValueError(f"web-anomaly-detection: key '{key}' must be at least 1, not {value}")
        values[key] = value
    values.setdefault("stream_window", values["window"])
    return values


def check_pattern(conf: Any) -> None:
    """The features need events parsed by a regex with the REQUIRED_GROUPS; say so up front."""
    if conf.get("format") != "regex":
        raise ValueError("web-anomaly-detection needs 'format = regex' and an access-log 'pattern'")
    names = set(re.compile(conf.get("pattern") or "").groupindex)
    missing = [name for name in REQUIRED_GROUPS if name not in names]
    if missing:
        groups = ", ".join(missing)
        raise ValueError(f"web-anomaly-detection: key 'pattern' lacks the named group(s) {groups}")


def check_window(stream_window: int, batch_seconds: float | None) -> None:
    """Tumbling windows must be a whole number of batches; Spark would fail later, less clearly."""
    if batch_seconds and (stream_window * 1000) % round(batch_seconds * 1000):
        raise ValueError(
            f"web-anomaly-detection: key 'stream_window' (or 'window') ({stream_window} s) must be "
            f"a multiple of datashark.conf's batch.interval ({batch_seconds:g} s)"
        )


def window_counts(events: Any, window: int, partitions: int | None = None) -> Any:
    """RDD of ``((source IP, window start), counts)`` from an RDD of parsed events."""
    return events.flatMap(partial(event_pairs, window=window)).reduceByKey(merge_counts, partitions)


def train(trainingData: Any, knobs: dict[str, Any]) -> Model:
    """Learn the scaler and the K-means centres from the training events (an RDD of dicts);
    ``knobs`` as returned by ``settings()``.

    Deterministic: the initial centres come from a key-hashed sample sorted by key (see
    initial_centres), and MLlib's Lloyd iterations from fixed centres do not depend on how
    the data is partitioned.
    """
    from pyspark.mllib.clustering import KMeans, KMeansModel

    k, seed, max_iterations = knobs["k"], knobs["seed"], knobs["max_iterations"]
    vectors = window_counts(trainingData, knobs["window"]).mapValues(feature_vector).cache()
    try:
        try:
            count, total, total_squares = vectors.values().map(_moments).reduce(_add_moments)
        except ValueError:  # reduce() of an empty RDD
            raise ValueError("web-anomaly-detection: the training data has no parseable event") from None
        mean = total / count
        std = safe_std(np.sqrt(np.maximum(total_squares / count - mean * mean, 0.0)), knobs["min_std"])
        sample = vectors.filter(partial(in_sample, fraction=min(1.0, SAMPLE_CAP / count))).collect()
        sample.sort(key=itemgetter(0))
        points = scale(np.array([vector for _, vector in sample]), mean, std)
        start = initial_centres(points, k, seed, knobs["restarts"], max_iterations)
        scaled = vectors.values().map(partial(scale, mean=mean, std=std))
        model = KMeans.train(
            scaled, k, maxIterations=max_iterations, seed=seed, initialModel=KMeansModel(start)
        )
    finally:
        vectors.unpersist()
    return {"centres": np.array(model.clusterCenters, dtype=float), "mean": mean, "std": std}


def _moments(vector: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``(1, x, x²)``: one vector's share of the count, sum and sum of squares."""
    return 1, vector, vector * vector


def _add_moments(first: tuple, second: tuple) -> tuple:
    """Sum of ``(count, sum, sum of squares)`` triples, for one-pass mean and std."""
    return first[0] + second[0], first[1] + second[1], first[2] + second[2]


def score_stream(streamingData: Any, model_broadcast: Any, window: int, stream_window: int) -> Any:
    """DStream of scored rows, one per (IP, log window) that received events.

    Events are keyed by their IP *and* their log-time window, so features mean the same as in
    training whatever the arrival pattern: a file holding hours of log, dropped in at once,
    is scored minute by minute, not as one giant window per IP. The stream itself is cut into
    tumbling windows of ``stream_window`` seconds, each reduced on its own (no inverse
    function): nothing needs a checkpoint, and an IP that went quiet simply is not scored
    again (the original kept every IP ever seen at zero counts and re-scored it forever).
    """
    pairs = streamingData.flatMap(partial(event_pairs, window=window))
    windows = pairs.reduceByKeyAndWindow(merge_counts, None, stream_window, stream_window)
    return windows.map(partial(score_window_broadcast, model=model_broadcast))


def load(streamingData: Any, trainingData: Any, context: Any, conf: Any) -> Any:
    """Train on ``training`` once (on the driver), then score the stream's windows."""
    check_pattern(conf)
    knobs = settings(conf)
    # The batch interval is not passed to load(); the DStream knows it (seconds).
    check_window(knobs["stream_window"], getattr(streamingData, "_slideDuration", None))
    model = train(trainingData, knobs)
    return score_stream(streamingData, context.broadcast(model), knobs["window"], knobs["stream_window"])
