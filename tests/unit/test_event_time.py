"""Each event's time as a UTC "@timestamp": formats, zones and the year of syslog's times."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone

import pytest

from datashark.events.event_time import EventTime, TimeError, year_for, zone_named

UTC = timezone.utc
REFERENCE = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)


def at(*parts: int, micro: int = 0) -> datetime:
    return datetime(*parts, micro, tzinfo=UTC) if len(parts) == 6 else datetime(*parts, tzinfo=UTC)


def stamped(value, fmt: str = "auto", reference: datetime = REFERENCE, **keys) -> datetime:
    event = {"t": value}
    EventTime(("t",), fmt, **keys).stamp(event, reference)
    return event["@timestamp"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-03-14T06:02:08.123Z", at(2021, 3, 14, 6, 2, 8, micro=123000)),
        ("2021-03-14T06:02:08.123456789Z", at(2021, 3, 14, 6, 2, 8, micro=123456)),
        ("2021-03-14 07:02:08+01:00", at(2021, 3, 14, 6, 2, 8)),
        ("2021-03-14T07:02:08+0100", at(2021, 3, 14, 6, 2, 8)),
        ("2021-03-14T06:02:08", at(2021, 3, 14, 6, 2, 8)),  # no zone: time_zone, UTC
        ("2021-03-14", at(2021, 3, 14)),
        ("14/Mar/2021:07:02:08 +0100", at(2021, 3, 14, 6, 2, 8)),
        ("Mar 14 06:02:08", at(2024, 3, 14, 6, 2, 8)),
        ("Mar  3 06:02:08.5", at(2024, 3, 3, 6, 2, 8, micro=500000)),
        ("Mar 14 2019 06:02:08", at(2019, 3, 14, 6, 2, 8)),
        (1615701728, at(2021, 3, 14, 6, 2, 8)),
        (1615701728.25, at(2021, 3, 14, 6, 2, 8, micro=250000)),
        ("1320279566.452687", at(2011, 11, 3, 0, 19, 26, micro=452687)),  # a Zeek TSV ts
        (1615701728123, at(2021, 3, 14, 6, 2, 8, micro=123000)),
        (1615701728123456, at(2021, 3, 14, 6, 2, 8, micro=123456)),
        (1615701728123456789, at(2021, 3, 14, 6, 2, 8, micro=123456)),
        ("/Date(1615701728123)/", at(2021, 3, 14, 6, 2, 8, micro=123000)),
        (datetime(2021, 3, 14, 7, 2, 8, tzinfo=timezone(timedelta(hours=1))), at(2021, 3, 14, 6, 2, 8)),
    ],
)
def test_auto_reads_every_format(value, expected: datetime) -> None:
    result = stamped(value)
    assert result == expected and result.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        ("2021-03-14T06:02:08Z", "iso8601", at(2021, 3, 14, 6, 2, 8)),
        ("20210314T060208Z", "iso8601", at(2021, 3, 14, 6, 2, 8)),
        ("Mar 14 06:02:08", "syslog", at(2024, 3, 14, 6, 2, 8)),
        ("14/Mar/2021:06:02:08 -0000", "apache", at(2021, 3, 14, 6, 2, 8)),
        ("1615701728", "epoch", at(2021, 3, 14, 6, 2, 8)),
        (1615701728000, "epoch_ms", at(2021, 3, 14, 6, 2, 8)),
        (132601753280000000, "windows", at(2021, 3, 14, 6, 2, 8)),  # FILETIME
        ("132601753280000000", "windows", at(2021, 3, 14, 6, 2, 8)),
        ("/Date(1615701728000+0100)/", "windows", at(2021, 3, 14, 6, 2, 8)),
        ("2021-03-14T06:02:08.000Z", "windows", at(2021, 3, 14, 6, 2, 8)),
        ("14.03.2021 06:02:08", "%d.%m.%Y %H:%M:%S", at(2021, 3, 14, 6, 2, 8)),
        ("14.03 06:02:08", "%d.%m %H:%M:%S", at(2024, 3, 14, 6, 2, 8)),  # no year: guessed
    ],
)
def test_named_formats_and_strptime(value, fmt: str, expected: datetime) -> None:
    assert stamped(value, fmt) == expected


def test_time_zone_applies_to_times_without_one_only() -> None:
    paris = {"zone": "Europe/Paris"}
    assert stamped("2021-03-14T07:02:08", **paris) == at(2021, 3, 14, 6, 2, 8)
    assert stamped("2021-07-14T08:02:08", **paris) == at(2021, 7, 14, 6, 2, 8)  # summer time
    assert stamped("Mar 14 07:02:08", **paris) == at(2024, 3, 14, 6, 2, 8)
    assert stamped("2021-03-14T07:02:08Z", **paris) == at(2021, 3, 14, 7, 2, 8)
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        zone_named("Mars/Olympus")


# ----------------------------------------------------------------------------- the year of syslog's times


@pytest.mark.parametrize(
    ("month", "reference", "year"),
    [
        (12, (2025, 1), 2024),  # December's lines read in January: last year
        (1, (2025, 1), 2025),
        (2, (2025, 1), 2025),  # a month ahead: clocks and late files, this year
        (3, (2025, 1), 2024),  # more: last year's
        (1, (2024, 12), 2025),  # January's lines read in December: next year
        (2, (2024, 12), 2024),
        (6, (2024, 6), 2024),
    ],
)
def test_year_for(month: int, reference: tuple[int, int], year: int) -> None:
    assert year_for(month, *reference) == year


def test_syslog_year_comes_from_the_reference_with_rollover() -> None:
    january = datetime(2025, 1, 2, 0, 5, tzinfo=UTC)
    assert stamped("Dec 31 23:59:59", reference=january) == at(2024, 12, 31, 23, 59, 59)
    assert stamped("Jan  1 00:00:01", reference=january) == at(2025, 1, 1, 0, 0, 1)


def test_assume_year_wins_over_the_reference() -> None:
    assert stamped("Dec 31 23:59:59", reference=datetime(2025, 1, 2, tzinfo=UTC), assume_year=2019) == at(
        2019, 12, 31, 23, 59, 59
    )


def test_the_cache_does_not_carry_a_year_to_another_reference() -> None:
    clock = EventTime(("t",), "syslog")
    first, second = {"t": "Mar 14 06:02:08"}, {"t": "Mar 14 06:02:08"}
    clock.stamp(first, REFERENCE)
    clock.stamp(second, datetime(2030, 4, 1, tzinfo=UTC))
    assert (first["@timestamp"].year, second["@timestamp"].year) == (2024, 2030)


def test_leap_day_without_a_year() -> None:
    assert stamped("Feb 29 10:00:00", reference=datetime(2024, 3, 1, tzinfo=UTC)) == at(2024, 2, 29, 10, 0)
    with pytest.raises(TimeError, match="day is out of range"):
        stamped("Feb 29 10:00:00", reference=datetime(2023, 3, 1, tzinfo=UTC))


# ----------------------------------------------------------------------------- missing and unreadable


@pytest.mark.parametrize(
    ("value", "fmt", "reason"),
    [
        ("yesterday", "auto", "no @timestamp: field 't' ('yesterday') is not a syslog time"),
        ("", "auto", "no @timestamp: field 't' ('') is empty"),
        ([1], "auto", "no @timestamp: field 't' ([1]) is a list, not a time"),
        (True, "epoch", "no @timestamp: field 't' (True) is a bool, not a number"),
        (
            "2021-13-40T00:00:00Z",
            "iso8601",
            "no @timestamp: field 't' ('2021-13-40T00:00:00Z') is unreadable",
        ),
        (
            "9" * 5000,
            "epoch",
            "no @timestamp: field 't' ('999999999999999999999999999999999999999...') is too long",
        ),
        (
            10**400,
            "epoch",
            "no @timestamp: field 't' (1000000000000000000000000000000000000000...) is unreadable",
        ),
        ("1e400", "epoch", "no @timestamp: field 't' ('1e400')"),
    ],
)
def test_an_unreadable_time_says_which_field_and_why(value, fmt: str, reason: str) -> None:
    with pytest.raises(TimeError) as err:
        stamped(value, fmt)
    assert str(err.value).startswith(reason)


def test_an_int_too_large_to_print_is_still_a_reason() -> None:
    with pytest.raises(
        TimeError, match=r"^no @timestamp: field 't' \(an int too large to show\) is unreadable"
    ):
        stamped(10**5000, "epoch")


def test_a_missing_field_names_the_fields_looked_at() -> None:
    with pytest.raises(TimeError, match=r"^no @timestamp: field 'ts' or 'time' missing$"):
        EventTime(("ts", "time")).stamp({"other": 1}, REFERENCE)


def test_not_required_leaves_the_event_as_it_is() -> None:
    clock = EventTime(("@timestamp", "timestamp", "time"), required=False)
    for event in ({"other": 1}, {"time": "soon"}):
        before = dict(event)
        clock.stamp(event, REFERENCE)
        assert event == before
    event = {"timestamp": "garbage", "time": "2021-03-14T06:02:08Z"}
    clock.stamp(event, REFERENCE)
    assert "@timestamp" not in event  # the first field present is the event's time


def test_the_first_field_present_is_read_and_nested_fields_are_paths() -> None:
    clock = EventTime(("@timestamp", "[event][created]"))
    event = {"event": {"created": "2021-03-14T06:02:08Z"}}
    clock.stamp(event, REFERENCE)
    assert event["@timestamp"] == at(2021, 3, 14, 6, 2, 8)
    again = {"@timestamp": "2020-01-01T00:00:00Z", "event": {"created": "2021-03-14T06:02:08Z"}}
    clock.stamp(again, REFERENCE)
    assert again["@timestamp"] == at(2020, 1, 1)


def test_an_event_time_pickles_without_its_cache() -> None:
    clock = EventTime(("t",), "syslog", zone="Europe/Paris")
    clock.stamp({"t": "Mar 14 06:02:08"}, REFERENCE)
    copy = pickle.loads(pickle.dumps(clock))
    assert copy._cache == {} and copy.zone == clock.zone
    event = {"t": "Mar 14 07:02:08"}
    copy.stamp(event, REFERENCE)
    assert event["@timestamp"] == at(2024, 3, 14, 6, 2, 8)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of auto"):
        EventTime(("t",), "sometimes")
