"""The web-anomaly-detection use case's pure functions, and its conf's pattern on the sample log.

Nothing here starts Spark: the functions that run on executors are plain Python, so they are
tested as such; tests/integration/test_web_anomaly.py runs them on Spark.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfLocation
from datashark.events.parsing import EventError, EventParser
from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "web-anomaly-detection"
CONF = FOLDER / "web-anomaly-detection.conf"
SAMPLE_LINES = 10_000
MALFORMED_LINE = 8899  # its user agent is cut off before the closing quote

# Line 1 of the sample, as the conf's pattern parses it.
FIRST_EVENT = {
    "source": "83.149.9.216",
    "ident": "-",
    "user": "-",
    "time": "17/May/2015:10:05:03 +0000",
    "method": "GET",
    "path": "/presentations/logstash-monitorama-2013/images/kibana-search.png",
    "protocol": "HTTP/1.1",
    "request": None,
    "status": "200",
    "bytes": "203023",
    "referrer": "http://semicomplete.com/presentations/logstash-monitorama-2013/",
    "agent": (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"
    ),
}
FIRST_TIMESTAMP = 1431857103  # 2015-05-17T10:05:03Z


@pytest.fixture(scope="module")
def wad() -> ModuleType:
    path = FOLDER / "web-anomaly-detection.py"
    return import_file(path, unique_module_name("wad_unit", path))


@pytest.fixture(scope="module")
def conf():
    return read_usecase(CONF).conf


@pytest.fixture(scope="module")
def parser(conf) -> EventParser:
    return EventParser(conf["format"], conf["pattern"], where=ConfLocation(str(CONF)))


def event(**fields: str | None) -> dict[str, str | None]:
    """A parsed event: the sample's first line with ``fields`` replaced."""
    return {**FIRST_EVENT, **fields}


# ----------------------------------------------------------------------------- time


def test_log_time_is_parsed_to_utc_epoch_seconds(wad: ModuleType) -> None:
    assert wad.parse_log_time("17/May/2015:10:05:03 +0000") == FIRST_TIMESTAMP


def test_log_time_zone_offset_is_applied(wad: ModuleType) -> None:
    # 13:55:36 at UTC-7 is 20:55:36 UTC.
    assert wad.parse_log_time("10/Oct/2000:13:55:36 -0700") == wad.parse_log_time(
        "10/Oct/2000:20:55:36 +0000"
    )
    assert wad.parse_log_time("17/May/2015:12:05:03 +0200") == FIRST_TIMESTAMP


@pytest.mark.parametrize("text", ["17/Mai/2015:10:05:03 +0000", "2015-05-17T10:05:03Z", "", None, 42])
def test_unparseable_log_time_is_none(wad: ModuleType, text: object) -> None:
    assert wad.parse_log_time(text) is None


def test_window_start_buckets_by_epoch_aligned_windows(wad: ModuleType) -> None:
    assert wad.window_start(FIRST_TIMESTAMP, 60) == FIRST_TIMESTAMP - 3
    assert wad.window_start(FIRST_TIMESTAMP - 3, 60) == FIRST_TIMESTAMP - 3
    assert wad.window_start(FIRST_TIMESTAMP, 3600) == FIRST_TIMESTAMP - 5 * 60 - 3
    assert wad.iso_time(wad.window_start(FIRST_TIMESTAMP, 60)) == "2015-05-17T10:05:00Z"


# ----------------------------------------------------------------------------- per event


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("200", 2),
        ("206", 2),
        ("304", 3),
        ("404", 4),
        ("416", 4),
        ("500", 5),
        ("101", 0),
        ("2000", 0),
        ("-", 0),
    ],
)
def test_status_class(wad: ModuleType, status: str, expected: int) -> None:
    assert wad.status_class(status) == expected


def test_dash_bytes_count_as_zero(wad: ModuleType) -> None:
    assert wad.response_bytes("-") == 0
    assert wad.response_bytes(None) == 0
    assert wad.response_bytes("203023") == 203023


def test_event_counts_one_request_by_status_class(wad: ModuleType) -> None:
    assert wad.event_counts(FIRST_EVENT) == (1, 1, 0, 0, 0, 203023, frozenset([FIRST_EVENT["path"]]))
    assert wad.event_counts(event(status="304", bytes="-")) == (
        1,
        0,
        1,
        0,
        0,
        0,
        frozenset([FIRST_EVENT["path"]]),
    )
    assert wad.event_counts(event(status="404", path="/x"))[:5] == (1, 0, 0, 1, 0)
    assert wad.event_counts(event(status="503"))[:5] == (1, 0, 0, 0, 1)


def test_junk_request_line_counts_by_its_text(wad: ModuleType) -> None:
    """Scanners send request lines that are not ``METHOD path``: each still counts as a path."""
    junk = event(method=None, path=None, protocol=None, request="\\x16\\x03\\x01", status="400")
    assert wad.event_counts(junk)[6] == frozenset(["\\x16\\x03\\x01"])


def test_event_pairs_key_by_ip_and_log_window(wad: ModuleType) -> None:
    [(key, counts)] = wad.event_pairs(FIRST_EVENT, 60)
    assert key == ("83.149.9.216", FIRST_TIMESTAMP - 3)
    assert counts == wad.event_counts(FIRST_EVENT)


@pytest.mark.parametrize("bad", [event(source=None), event(source=""), event(time="yesterday"), "a line"])
def test_event_without_ip_or_time_is_dropped(wad: ModuleType, bad: object) -> None:
    assert wad.event_pairs(bad, 60) == []


def test_merge_counts_sums_and_unites_paths(wad: ModuleType) -> None:
    a = wad.event_counts(event(path="/a", bytes="10"))
    b = wad.event_counts(event(path="/b", status="404", bytes="-"))
    c = wad.event_counts(event(path="/a", status="301", bytes="5"))
    merged = wad.merge_counts(wad.merge_counts(a, b), c)
    assert merged == (3, 1, 1, 1, 0, 15, frozenset(["/a", "/b"]))
    assert wad.merge_counts(a, wad.merge_counts(c, b)) == merged  # associative, commutative
    assert a == (1, 1, 0, 0, 0, 10, frozenset(["/a"]))  # inputs untouched


# ----------------------------------------------------------------------------- per window


def test_raw_features_and_error_ratio(wad: ModuleType) -> None:
    counts = (8, 3, 1, 3, 1, 1234, frozenset(["/a", "/b", "/c"]))
    assert wad.raw_features(counts) == {
        "requests": 8,
        "status_2xx": 3,
        "status_3xx": 1,
        "status_4xx": 3,
        "status_5xx": 1,
        "distinct_paths": 3,
        "bytes": 1234,
        "error_ratio": 0.5,
    }


def test_feature_vector_is_log1p_counts_and_ratio(wad: ModuleType) -> None:
    vector = wad.feature_vector((8, 3, 1, 3, 1, 1234, frozenset(["/a", "/b", "/c"])))
    expected = [math.log1p(v) for v in (8, 3, 1, 3, 1, 3, 1234)] + [0.5]
    np.testing.assert_allclose(vector, expected)
    assert len(vector) == len(wad.FEATURE_NAMES)


def test_safe_std_floors_zero_and_tiny_deviations(wad: ModuleType) -> None:
    np.testing.assert_array_equal(wad.safe_std(np.array([0.0, 0.02, 0.5, 3.0]), 0.1), [0.1, 0.1, 0.5, 3.0])
    assert wad.safe_std(np.array([0.0]), 0.0)[0] > 0  # never a division by zero


def test_scale_standardises(wad: ModuleType) -> None:
    scaled = wad.scale(np.array([3.0, 1.0, 5.0]), np.array([1.0, 1.0, 1.0]), np.array([2.0, 0.5, 4.0]))
    np.testing.assert_allclose(scaled, [1.0, 0.0, 1.0])


def test_nearest_centre_and_its_distance(wad: ModuleType) -> None:
    centres = np.array([[0.0, 0.0], [10.0, 10.0], [3.0, 0.0]])
    assert wad.nearest_centre(np.array([6.0, 4.0]), centres) == (2, 5.0)
    assert wad.nearest_centre(np.array([9.0, 10.0]), centres) == (1, 1.0)
    index, distance = wad.nearest_centre(np.array([0.0, 0.0]), centres)
    assert (index, distance) == (0, 0.0)


def test_score_window_row(wad: ModuleType) -> None:
    counts = (1, 0, 0, 1, 0, 0, frozenset(["/wp-login.php"]))
    point = wad.feature_vector(counts)
    model = {
        "mean": np.zeros(len(point)),
        "std": np.ones(len(point)),
        "centres": np.array([point + 100, point + np.array([3, 4, 0, 0, 0, 0, 0, 0])]),
    }
    key, score, metadata = wad.score_window((("10.0.0.1", FIRST_TIMESTAMP - 3), counts), model)
    assert (key, score) == ("10.0.0.1", 5.0)
    assert metadata == {
        "cluster": 1,
        "window_start": "2015-05-17T10:05:00Z",
        "requests": 1,
        "status_2xx": 0,
        "status_3xx": 0,
        "status_4xx": 1,
        "status_5xx": 0,
        "distinct_paths": 1,
        "bytes": 0,
        "error_ratio": 1.0,
    }


# ----------------------------------------------------------------------------- K-means start


def test_initial_centres_find_separated_blobs_deterministically(wad: ModuleType) -> None:
    rng = np.random.default_rng(0)
    blobs = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = np.concatenate([blob + rng.normal(0, 0.1, (50, 2)) for blob in blobs])
    centres = wad.initial_centres(points, 3, seed=42, restarts=3, iterations=50)
    np.testing.assert_allclose(np.sort(centres, axis=0), np.sort(blobs, axis=0), atol=0.1)
    np.testing.assert_array_equal(centres, wad.initial_centres(points, 3, seed=42, restarts=3, iterations=50))


def test_kmeans_plus_plus_copes_with_fewer_distinct_points_than_k(wad: ModuleType) -> None:
    points = np.zeros((5, 2))
    assert wad.kmeans_plus_plus(points, 3, np.random.default_rng(1)).shape == (3, 2)


def test_in_sample_is_decided_by_the_key(wad: ModuleType) -> None:
    keys = [((f"10.0.{i // 250}.{i % 250}", 60 * i), None) for i in range(2000)]
    kept = [item for item in keys if wad.in_sample(item, 0.25)]
    assert 400 < len(kept) < 600
    assert kept == [item for item in keys if wad.in_sample(item, 0.25)]
    assert all(wad.in_sample(item, 1.0) for item in keys)


# ----------------------------------------------------------------------------- conf


def test_settings_from_the_conf(wad: ModuleType, conf) -> None:
    assert wad.settings(conf) == {
        "k": 6,
        "window": 60,
        "stream_window": 10,
        "seed": 42,
        "restarts": 10,
        "max_iterations": 100,
        "min_std": 0.1,
    }


def test_stream_window_defaults_to_window(wad: ModuleType) -> None:
    assert wad.settings({"window": "120"})["stream_window"] == 120


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("k", "four", "key 'k' must be a number"),
        ("window", "0", "key 'window' must be at least 1"),
        ("min_std", "0", "key 'min_std' must be above 0"),
        ("seed", "-1", "key 'seed' must be 0 or more"),
    ],
)
def test_bad_settings_name_the_key(wad: ModuleType, key: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wad.settings({key: value})


def test_pattern_must_have_the_groups_the_code_reads(wad: ModuleType, conf) -> None:
    wad.check_pattern(conf)
    with pytest.raises(ValueError, match="lacks the named group"):
        wad.check_pattern({"format": "regex", "pattern": r"(?P<source>\S+) (?P<time>\S+)"})
    with pytest.raises(ValueError, match="needs 'format = regex'"):
        wad.check_pattern({"format": "text", "pattern": conf["pattern"]})


def test_stream_window_must_be_a_multiple_of_the_batch_interval(wad: ModuleType) -> None:
    wad.check_window(60, 10.0)
    wad.check_window(60, None)  # unknown: Spark checks it when the stream starts
    with pytest.raises(ValueError, match=r"multiple of datashark.conf's batch.interval \(10 s\)"):
        wad.check_window(15, 10.0)


def test_conf_keys(conf) -> None:
    assert conf["name"] == "Web Anomaly Detection"
    assert (conf["type"], conf["enabled"], conf["code"]) == ("streaming", False, "web-anomaly-detection.py")
    assert (conf["training"], conf["input"], conf["format"]) == ("access_combined.log", "file", "regex")
    assert conf["in_file"]["folder_path"] == "incoming"
    assert conf["out_csv"]["path"] == "output/UseCase-web_anomaly.csv"


# ----------------------------------------------------------------------------- the sample


def test_pattern_parses_every_sample_line_but_the_malformed_one(parser: EventParser) -> None:
    lines = (FOLDER / "access_combined.log").read_text(encoding="utf-8").splitlines()
    assert len(lines) == SAMPLE_LINES
    parsed, failed = [], []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(parser.parse(line))
        except EventError:
            failed.append(number)
    assert failed == [MALFORMED_LINE]
    assert len(parsed) == SAMPLE_LINES - 1 == 9999
    assert parsed[0] == FIRST_EVENT
    assert Counter(e["method"] for e in parsed) == {"GET": 9951, "HEAD": 42, "POST": 5, "OPTIONS": 1}
    assert Counter(e["status"][0] for e in parsed) == {"2": 9170, "3": 609, "4": 217, "5": 3}
    assert sum(e["bytes"] == "-" for e in parsed) > 0


def test_malformed_line_is_a_dead_letter_not_a_crash(parser: EventParser) -> None:
    """Line 8899's user agent has no closing quote: the framework dead-letters it (EventError)."""
    line = (FOLDER / "access_combined.log").read_text(encoding="utf-8").splitlines()[MALFORMED_LINE - 1]
    assert line.endswith('"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html')
    with pytest.raises(EventError, match="does not match"):
        parser.parse(line)


def test_sample_makes_3052_windows_of_a_minute(wad: ModuleType, parser: EventParser) -> None:
    """The README's numbers, computed with the executors' functions in plain Python."""
    windows: dict = {}
    for line in (FOLDER / "access_combined.log").read_text(encoding="utf-8").splitlines():
        try:
            parsed = parser.parse(line)
        except EventError:
            continue
        for key, counts in wad.event_pairs(parsed, 60):
            windows[key] = wad.merge_counts(windows[key], counts) if key in windows else counts
    assert len(windows) == 3052
    assert len({ip for ip, _ in windows}) == 1753
    features = wad.raw_features(windows[("91.236.75.25", wad.parse_log_time("20/May/2015:05:05:00 +0000"))])
    assert features == {
        "requests": 8,
        "status_2xx": 0,
        "status_3xx": 0,
        "status_4xx": 8,
        "status_5xx": 0,
        "distinct_paths": 8,
        "bytes": 0,
        "error_ratio": 1.0,
    }


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "\\x16\\x03\\x01\\x00" 400 226 "-" "-"',
            {"method": None, "path": None, "request": "\\x16\\x03\\x01\\x00", "status": "400"},
        ),
        (
            '1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "-" 408 - "-" "say \\"hi\\""',
            {"user": "frank", "request": "-", "bytes": "-", "agent": 'say \\"hi\\"'},
        ),
        (
            '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a?b=c HTTP/1.0" 200 5 "-" "curl" 0.003\r',
            {"method": "GET", "path": "/a?b=c", "protocol": "HTTP/1.0", "agent": "curl"},
        ),
    ],
)
def test_pattern_accepts_scanner_junk_escapes_and_trailing_fields(
    parser: EventParser, line: str, expected: dict
) -> None:
    parsed = parser.parse(line)
    assert {key: parsed[key] for key in expected} == expected


@pytest.mark.parametrize(
    "line",
    [
        '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 5',  # common, not combined
        '1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 5 "-" "-"',  # no such month
        '1.2.3.4 [10:20:30:40] "GET / HTTP/1.1" 200 512 "-" "-"',  # the original's home-made format
    ],
)
def test_pattern_rejects_other_formats(parser: EventParser, line: str) -> None:
    with pytest.raises(EventError):
        parser.parse(line)


def test_pattern_is_linear_on_hostile_lines(parser: EventParser) -> None:
    """Log lines are attacker-controlled: no catastrophic backtracking on long junk."""
    head = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "'
    hostile = [
        head + "\\" * 50_000,
        head + 'GET /a HTTP/1.1" 200 5 "' + '\\"' * 25_000,
        head + "GET " + "a" * 50_000,
    ]
    started = time.perf_counter()
    for line in hostile:
        with pytest.raises(EventError):
            parser.parse(line)
    assert time.perf_counter() - started < 1.0


def test_pattern_names_the_groups_the_readme_lists(conf) -> None:
    names = set(re.compile(conf["pattern"]).groupindex)
    expected = "source ident user time method path protocol request status bytes referrer agent"
    assert names == set(expected.split())
