"""The beaconing use case's pure functions: reading Zeek conn records into connections, the
interval statistics (bursts, missed beats, jitter), the measures and the score. Spark runs them
in `bin/datashark test conf/beaconing` (conf/beaconing/tests/)."""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "beaconing"
WHEN = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def beacons() -> ModuleType:
    path = FOLDER / "beaconing.py"
    return import_file(path, unique_module_name("beaconing_unit", path))


@pytest.fixture(scope="module")
def settings(beacons: ModuleType):
    return beacons.Settings.from_conf({})


def record(**fields) -> dict:
    event = {
        "id.orig_h": "10.0.0.5",
        "id.orig_p": 50000,
        "id.resp_h": "198.51.100.7",
        "id.resp_p": 443,
        "proto": "tcp",
        "service": "ssl",
        "duration": 1.5,
        "orig_bytes": 400,
        "resp_bytes": 5000,
        "@timestamp": WHEN,
    }
    event.update(fields)
    return event


def beacon_times(period: float, beats: int, jitter: float, missed: float = 0.0, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    when, times = 0.0, []
    for _ in range(beats):
        when += period * (1 + rng.uniform(-jitter, jitter))
        if rng.random() >= missed:
            times.append(when)
    return times


def rhythm(beacons: ModuleType, times: list[float]):
    return beacons.rhythm_of(beacons.beats_of(sorted(times), 2), 0.3, 3)


# ----------------------------------------------------------------------------- settings


def test_defaults_and_a_bad_value_names_its_key(beacons: ModuleType) -> None:
    settings = beacons.Settings.from_conf({"min_connections": "12", "exfil_ratio": "5"})
    assert settings.min_connections == 12 and settings.exfil_ratio == 5
    assert ("udp", 123) in settings.ignore_services
    with pytest.raises(ValueError, match="max_jitter must be a number"):
        beacons.Settings.from_conf({"max_jitter": "low"})
    with pytest.raises(ValueError, match="ignore_services"):
        beacons.Settings.from_conf({"ignore_services": "ntp"})
    with pytest.raises(ValueError, match="ignore_destinations"):
        beacons.Settings.from_conf({"ignore_destinations": "10.0.0.0/33"})
    with pytest.raises(ValueError, match="include_internal_destinations must be true or false"):
        beacons.Settings.from_conf({"include_internal_destinations": "maybe"})


def test_dns_resolvers_internal_word_and_addresses(beacons: ModuleType) -> None:
    settings = beacons.Settings.from_conf({"dns_resolvers": "10.0.0.53, 8.8.8.8"})
    reader = beacons.Reader.of(settings)
    assert reader(record(**{"id.resp_h": "8.8.8.8", "id.resp_p": 53, "proto": "udp"})) == []
    assert reader(record(**{"id.resp_h": "9.9.9.9", "id.resp_p": 53, "proto": "udp"}))
    everyone = beacons.Reader.of(beacons.Settings.from_conf({}))  # default: DNS of internal hosts
    assert everyone(record(**{"id.resp_h": "9.9.9.9", "id.resp_p": 53, "proto": "udp"})) == []


# ----------------------------------------------------------------------------- reading records


def test_reader_keeps_internal_to_external(beacons: ModuleType, settings) -> None:
    (item,) = beacons.Reader.of(settings)(record())
    pair, seconds, out, into, duration, service = item
    assert pair == ("10.0.0.5", "198.51.100.7", 443, "tcp")
    assert seconds == WHEN.timestamp()
    assert (out, into, duration, service) == (400, 5000, 1.5, "ssl")


@pytest.mark.parametrize(
    "fields",
    [
        {"id.orig_h": "198.51.100.9"},  # external source: inbound
        {"id.resp_h": "10.0.0.9"},  # internal destination
        {"id.resp_h": "239.255.255.250", "id.resp_p": 1900, "proto": "udp"},  # SSDP multicast
        {"id.resp_h": "255.255.255.255", "id.resp_p": 9999, "proto": "udp"},  # broadcast
        {"id.orig_h": "127.0.0.1"},
        {"id.resp_p": 123, "proto": "udp"},  # NTP
        {"id.resp_p": 53, "proto": "udp", "id.resp_h": "10.0.0.53"},  # DNS to the resolver
        {"id.orig_h": "not an address"},
        {"@timestamp": None},
    ],
)
def test_reader_skips(beacons: ModuleType, settings, fields: dict) -> None:
    assert beacons.Reader.of(settings)(record(**fields)) == []


def test_reader_filters_are_tunable(beacons: ModuleType) -> None:
    settings = beacons.Settings.from_conf(
        {"include_internal_destinations": "true", "ignore_sources": "10.0.0.0/30", "ignore_services": "none"}
    )
    reader = beacons.Reader.of(settings)
    assert reader(record(**{"id.orig_h": "10.0.1.5", "id.resp_h": "10.0.0.9"}))
    assert reader(record(**{"id.orig_h": "10.0.0.2"})) == []
    assert reader(record(**{"id.orig_h": "10.0.1.5", "id.resp_p": 123, "proto": "udp"}))
    ignored = beacons.Settings.from_conf({"ignore_destinations": "198.51.100.0/24"})
    assert beacons.Reader.of(ignored)(record()) == []


def test_reader_tolerates_unset_fields_and_pickles(beacons: ModuleType, settings) -> None:
    reader = pickle.loads(pickle.dumps(beacons.Reader.of(settings)))
    (item,) = reader(record(orig_bytes=None, resp_bytes=None, duration=None, service=None))
    assert item[2:] == (0, 0, 0.0, None)
    (icmp,) = reader(record(proto="icmp", **{"id.resp_p": 0}))
    assert icmp[0] == ("10.0.0.5", "198.51.100.7", None, "icmp")


# ----------------------------------------------------------------------------- statistics


def test_median_quantile_mad_and_bowley(beacons: ModuleType) -> None:
    assert beacons.median([3, 1, 2]) == 2 and beacons.median([1, 2, 3, 4]) == 2.5
    assert beacons.quantile([0, 10], 0.25) == 2.5
    assert beacons.relative_mad([60, 60, 60]) == 0
    assert beacons.relative_mad([50, 60, 70]) == pytest.approx(10 / 60)
    assert beacons.relative_mad([0, 0, 0]) == 0
    assert beacons.bowley_skewness([1, 2, 3, 4, 5]) == 0
    assert beacons.bowley_skewness([1, 1.1, 1.2, 5, 9]) > 0.5  # a long upper tail


def test_bursts_are_one_beat(beacons: ModuleType) -> None:
    times = [0, 0.3, 0.6, 60, 60.3, 120, 120.2, 120.4, 180]
    assert beacons.beats_of(times, 2) == [0, 60, 120, 180]
    page_load = [i * 0.03 for i in range(35)]
    assert beacons.beats_of(page_load, 2) == [0]


def test_a_clockwork_beacon(beacons: ModuleType) -> None:
    found = rhythm(beacons, [i * 60.0 for i in range(30)])
    assert (found.beats, found.period, found.jitter, found.on_beat, found.missed) == (30, 60, 0, 1, 0)


@pytest.mark.parametrize("jitter", [0.1, 0.2, 0.3])
def test_jitter_keeps_a_beacon_regular(beacons: ModuleType, settings, jitter: float) -> None:
    found = rhythm(beacons, beacon_times(60, 120, jitter))
    assert found.period == pytest.approx(60, rel=0.05)
    assert found.jitter <= jitter / 2 + 0.03  # uniform +/- j: relative MAD about j / 2
    assert beacons.is_beacon(found, settings)


def test_missed_beats_are_folded_not_fatal(beacons: ModuleType, settings) -> None:
    times = beacon_times(300, 100, 0.2, missed=0.2, seed=3)
    found = rhythm(beacons, times)
    assert found.missed >= 10
    assert found.period == pytest.approx(300, rel=0.05)
    assert found.on_beat > 0.85
    assert beacons.is_beacon(found, settings)
    # Two beats missed in a row: one gap of three periods, folded into the period.
    gaps = rhythm(beacons, [0, 60, 120, 300, 360, 420, 480, 540, 600, 660, 720])
    assert (gaps.missed, gaps.pauses, gaps.jitter) == (2, 0, 0)


def test_a_long_pause_is_left_out(beacons: ModuleType) -> None:
    times = [i * 60.0 for i in range(20)] + [5000 + i * 60.0 for i in range(20)]
    found = rhythm(beacons, times)
    assert (found.pauses, found.jitter, found.beats) == (1, 0, 40)


def test_poisson_arrivals_are_irregular(beacons: ModuleType, settings) -> None:
    rng = random.Random(7)
    when, times = 0.0, []
    for _ in range(300):
        when += rng.expovariate(1 / 120)
        times.append(when)
    found = rhythm(beacons, times)
    assert found.jitter > 0.3 and found.on_beat < 0.55
    assert not beacons.is_beacon(found, settings)


def test_too_few_beats_is_no_beacon(beacons: ModuleType, settings) -> None:
    found = rhythm(beacons, [i * 300.0 for i in range(9)])
    assert found.jitter == 0 and not beacons.is_beacon(found, settings)
    brief = rhythm(beacons, [i * 5.0 for i in range(100)])  # 100 beats, but within 8 minutes
    assert brief.active < 600 and not beacons.is_beacon(brief, settings)
    assert beacons.rhythm_of([0, 1], 0.3, 3) is None


# ----------------------------------------------------------------------------- measures


def test_timeline_keeps_the_earliest_whatever_the_order(beacons: ModuleType) -> None:
    measure = beacons.timeline(5)
    items = [(None, float(t), t, 0, 0.0, None) for t in range(40)]
    forward = measure.start()
    for item in items:
        forward = measure.add(forward, item)
    left, right = measure.start(), measure.start()
    for item in reversed(items[:20]):
        left = measure.add(left, item)
    for item in items[20:]:
        right = measure.add(right, item)
    merged = measure.merge(right, left)
    assert measure.result(forward) == measure.result(merged) == [(float(t), t) for t in range(5)]
    assert len(forward) <= 10


def test_activity_totals(beacons: ModuleType) -> None:
    measure = beacons.activity()
    a = measure.add(measure.start(), (None, 10.0, 100, 5, 2.0, "ssl"))
    b = measure.add(measure.start(), (None, 5.0, 50, 5, 9.0, "http"))
    seen = measure.result(measure.merge(a, b))
    assert (seen.connections, seen.bytes_out, seen.bytes_in) == (2, 150, 10)
    assert (seen.longest_duration, seen.total_duration, seen.first, seen.last) == (9.0, 11.0, 5.0, 10.0)
    assert seen.services == ("http", "ssl")


# ----------------------------------------------------------------------------- scores


def test_beacon_score_grows_with_beats_and_regularity(beacons: ModuleType, settings) -> None:
    few = rhythm(beacons, [i * 300.0 for i in range(10)])
    many = rhythm(beacons, [i * 60.0 for i in range(1000)])
    jittery = rhythm(beacons, beacon_times(60, 1000, 0.4))
    assert beacons.beacon_score(few, 0.0, settings) == 45  # 30 + 10 timing + 5 sizes
    assert beacons.beacon_score(many, 0.0, settings) == 75
    assert beacons.beacon_score(many, 1.0, settings) == 70  # sizes irregular
    assert 60 <= beacons.beacon_score(jittery, 1.0, settings) < 70


def test_long_connection_and_exfiltration_scores(beacons: ModuleType, settings) -> None:
    assert beacons.long_connection_score(3599, settings) == 0
    assert beacons.long_connection_score(3600, settings) == 30
    assert beacons.long_connection_score(86400, settings) == 50
    assert beacons.exfiltration_score(99_000_000, 0, settings) == 0
    assert beacons.exfiltration_score(100_000_000, 1_000_000, settings) == 40
    assert beacons.exfiltration_score(200_000_000, 100_000_000, settings) == 0  # a sync: 2x, not 10x
    assert beacons.exfiltration_score(10_000_000_000, 0, settings) == 70


def test_one_row_per_source_with_its_pairs(beacons: ModuleType, settings) -> None:
    times = [(i * 60.0, 420) for i in range(40)]
    seen = beacons.Activity(40, 16800, 48000, 40.0, 1.0, 0.0, 2340.0, ("ssl",))
    beacon = beacons.judge_pair(settings, ("10.0.0.5", "198.51.100.7", 443, "tcp"), seen, times)
    upload = beacons.judge_pair(
        settings,
        ("10.0.0.5", "203.0.113.9", 22, "tcp"),
        beacons.Activity(2, 500_000_000, 10_000, 7200.0, 7000.0, 100.0, 200.0, ("ssh",)),
        [(100.0, 1), (200.0, 500_000_000)],
    )
    assert set(beacon.scores) == {"beacon"} and set(upload.scores) == {"exfiltration", "long_connection"}
    key, score, metadata = beacons.source_finding((("10.0.0.5", WHEN, WHEN), [upload, beacon]))
    assert key == "10.0.0.5"
    assert metadata["signals"] == ["beacon", "exfiltration", "long_connection"]
    assert score == pytest.approx(max(beacon.score, upload.score) + 10)
    assert metadata["top_destination"] == "198.51.100.7:443/tcp"
    assert (metadata["period_s"], metadata["beats"], metadata["jitter"]) == (60.0, 40, 0.0)
    assert metadata["mitre"] == ["T1048", "T1071", "T1071.001", "T1573"]
    assert metadata["flagged_pairs"] == 2 and len(metadata["pairs"]) == 2


def test_records_of_other_logs_on_a_shared_topic_are_no_connections(beacons: ModuleType, settings) -> None:
    reader = beacons.Reader.of(settings)
    assert reader(record(_path="conn"))
    assert reader(record(_path="conn_long"))
    assert reader(record(_path="dns")) == []
