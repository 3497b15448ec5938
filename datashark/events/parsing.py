"""Turning raw event text into what ``load()`` receives, according to the conf's ``format``.

``text`` hands the line over untouched; ``json`` parses it into a dict; ``regex`` matches it
against the conf's ``pattern`` (anchored at the start, as ``re.match``) and hands over the named
groups as a dict; ``grok`` does the same with a ``grok_pattern`` (events/grok.py); ``syslog``
reads RFC 3164 and RFC 5424 lines (events/syslog_lines.py), its ``message`` matched against
``grok_pattern`` when the conf has one. An event that cannot be parsed, is larger than
``max.event.bytes`` or makes the parser or the filter raise anything at all becomes a dead
letter: one hostile event never fails its batch. Lines the pattern does not match are dead
letters too, unless ``unmatched`` says to drop them or only count them (a pattern selecting
lines of a mixed syslog).

Events of syslog and grok use cases then get ``"@timestamp"``, a UTC datetime read from their
time field (events/event_time.py), after the ``[log_filter]`` (which sees the fields as parsed);
one without a readable time is a dead letter saying why. JSON and regex use cases get it when
their conf asks, with ``time_field`` or ``time_format``: their events are otherwise handed over
exactly as before ``@timestamp`` existed (a datetime is no JSON value: ``load()`` code that
returns events as metadata or serializes them would break).

The formats are reader classes (events/readers.py). Formats whose lines need their file (Zeek
TSV logs, a JSON file that is one array) arrive as events already parsed from whole files
(events/whole_files.py), or as an ``EventFailure`` for what could not be.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from datashark.errors import ConfLocation
from datashark.events.event_time import EventTime, TimeError, is_time_format, zone_named
from datashark.events.readers import (
    FORMATS,
    GROK_FORMATS,
    READERS,
    EventError,
    Reader,
    ReaderOptions,
    SkippedEventError,
    UnmatchedEventError,
    parse_json,
)
from datashark.events.whole_files import EventFailure

# What becomes of a line that ``pattern`` does not match (the use case's ``unmatched``).
UNMATCHED_POLICIES = ("deadletter", "drop", "count")
DEFAULT_MAX_EVENT_BYTES = 4 << 20  # max.event.bytes when datashark.conf sets none
MAX_REASON_CHARS = 300


class EventParser:
    """Parses one use case's events and gives them their time; picklable.

    ``unmatched`` (one of UNMATCHED_POLICIES) is what the event stage does with a line the
    pattern does not match: dead-letter it, drop it, or drop it and count it. The other keys
    are the conf's (see config/spec/usecase.spec); every problem with them is a ConfigError at
    ``where``, raised here, on the driver. ``reader_for`` makes the reader instead of the
    format's own, for an input whose records are the format's events wrapped (``input = syslog``).
    """

    def __init__(
        self,
        fmt: str,
        pattern: str | None = None,
        *,
        where: ConfLocation,
        unmatched: str = "deadletter",
        grok_pattern: str | None = None,
        grok_patterns_dir: Path | None = None,
        time_field: str | None = None,
        time_format: str = "auto",
        assume_year: int | None = None,
        time_zone: str = "UTC",
        reader_for: Callable[[ReaderOptions], Reader] | None = None,
    ) -> None:
        if fmt not in READERS:
            raise where.at("format").error(f"unknown format {fmt!r} (one of {', '.join(FORMATS)})")
        if fmt not in GROK_FORMATS:
            for key, value in (("grok_pattern", grok_pattern), ("grok_patterns_dir", grok_patterns_dir)):
                if value is not None:
                    raise where.at(key).error(f"is only read with format = {' or '.join(GROK_FORMATS)}")
        self.format = fmt
        self.unmatched = unmatched
        options = ReaderOptions(where, pattern, grok_pattern, grok_patterns_dir)
        self.read: Reader = reader_for(options) if reader_for is not None else READERS[fmt](options)
        self.time = event_time(
            self.read,
            where,
            time_field=time_field,
            time_format=time_format,
            assume_year=assume_year,
            zone=time_zone,
        )

    @property
    def structured(self) -> bool:
        """True when events become dicts (what a ``[log_filter]`` needs)."""
        return self.read.structured

    def parse(self, raw: str, reference: datetime | None = None) -> Any:
        """One event, with its ``@timestamp`` (times without a year are placed near ``reference``,
        default now); EventError if it cannot be parsed."""
        event = self.read(raw)
        if self.time is not None and type(event) is dict:
            try:
                self.time.stamp(event, reference or datetime.now(timezone.utc))
            except TimeError as err:
                raise EventError(str(err)) from None
        return event


def event_time(
    reader: Reader,
    where: ConfLocation,
    *,
    time_field: str | None,
    time_format: str,
    assume_year: int | None,
    zone: str,
) -> EventTime | None:
    """How the reader's events get their ``@timestamp``, or None when they get none."""
    if not is_time_format(time_format):
        raise where.at("time_format").error(
            "must be auto, iso8601, syslog, apache, epoch, epoch_ms, windows, none or a strptime pattern "
            f"such as %d/%m/%Y %H:%M:%S, not {time_format!r}"
        )
    try:
        zone_named(zone)
    except ValueError as err:
        raise where.at("time_zone").error(str(err)) from None
    if not reader.structured or time_format == "none":
        return None
    known = reader.fields
    if time_field is not None:
        if known is not None and _top_key(time_field) not in known:
            raise where.at("time_field").error(
                f"names {time_field!r}, which the use case's pattern does not capture ({_listed(known)})"
            )
        return EventTime((time_field,), time_format, required=True, assume_year=assume_year, zone=zone)
    if not reader.timestamped and time_format == "auto":
        return None  # the conf did not ask: events as they always were
    fields = reader.time_fields
    if known is not None:
        fields = tuple(dict.fromkeys(field for field in fields if field in known))
    if not fields:
        candidates = " or ".join(repr(field) for field in dict.fromkeys(reader.time_fields)) or "a time field"
        raise where.at("time_field").error(
            f"is required: events have no {candidates} ({_listed(known)}); name the field that holds "
            "the event's time, or set time_format = none"
        )
    return EventTime(fields, time_format, assume_year=assume_year, zone=zone)


def _top_key(field: str) -> str:
    """The event's key a time field starts at: ``a`` of ``[a][b]``."""
    if field.startswith("[") and "]" in field:
        return field[1 : field.index("]")]
    return field


def _listed(fields: frozenset[str] | None) -> str:
    return "fields: " + ", ".join(sorted(fields)) if fields else "no fields"


class EventStage:
    """mapPartitions function from raw lines to what ``load()`` receives.

    Each event is parsed once: into the format the use case asked for, or as JSON only for
    the ``[log_filter]`` when the use case wants text; the events the filter keeps then get
    their ``@timestamp``. Events larger than ``max_event_bytes``, unparseable ones, those without
    a readable time the format requires, and any whose parsing or filtering raises become dead
    letters; lines the pattern does not match as well, or are dropped (and counted) as the
    parser's ``unmatched`` says.

    ``reference`` places times written without a year (syslog's): the input files' newest
    modification time in a batch run; None (a stream): the time each partition is read.
    ``at(batch_time)`` is the stage for one batch of a stream (Spark's naive local batch time
    is fine: a time without a zone is taken as the driver's local time).
    """

    def __init__(
        self,
        parser: EventParser,
        log_filter,
        dead_letters,
        *,
        stage: str,
        max_event_bytes: int,
        reference: datetime | None = None,
    ) -> None:
        self.parser = parser
        self.log_filter = log_filter if log_filter else None
        self.dead_letters = dead_letters
        self.stage = stage
        self.max_event_bytes = max_event_bytes
        self.reference = reference.astimezone(timezone.utc) if reference is not None else None

    def at(self, reference: datetime) -> EventStage:
        """This stage with times without a year placed near ``reference``."""
        stage = copy.copy(self)
        stage.reference = reference.astimezone(timezone.utc)
        return stage

    def __call__(self, lines: Iterable[str | bytes | dict | EventFailure]) -> Iterator[Any]:
        read, keep, dead = self.parser.read, self.log_filter, self.dead_letters
        # A reader of text written by others (a syslog sender's bytes) reads bytes that are not
        # UTF-8 with U+FFFD in their place rather than losing the whole event.
        lenient_utf8 = getattr(read, "lenient_utf8", False)
        stamp = self.parser.time.stamp if self.parser.time is not None else None
        reference = self.reference or datetime.now(timezone.utc)
        filter_text = keep is not None and not self.parser.structured
        passes_as_is = keep is None and not self.parser.structured
        for raw in lines:
            if isinstance(raw, EventFailure):  # a record of a whole file that could not be read
                dead.add(self.stage, raw.reason, raw.raw)
                continue
            if isinstance(raw, dict):  # read from a whole file (Zeek TSV, a JSON array)
                text, event = None, raw
            else:
                too_large = oversize(raw, self.max_event_bytes)
                if too_large:
                    dead.add(self.stage, too_large, raw[:MAX_SHOWN_OF_OVERSIZE])
                    continue
                if isinstance(raw, bytes) and lenient_utf8:
                    raw = raw.decode("utf-8", "replace")
                elif isinstance(raw, bytes):  # from an input that could not decode it
                    dead.add(self.stage, _undecodable(raw), raw.decode("utf-8", "backslashreplace"))
                    continue
                if passes_as_is:
                    yield raw
                    continue
                text, event = raw, None
            try:
                if text is not None:
                    event = read(text)
                if keep is not None and not keep(
                    parse_json(text) if filter_text and text is not None else event
                ):
                    continue
                if stamp is not None and type(event) is dict:
                    stamp(event, reference)
            except SkippedEventError:
                continue
            except UnmatchedEventError as err:
                self._unmatched(str(err), text or repr(raw))
                continue
            except (EventError, TimeError) as err:
                dead.add(self.stage, str(err), raw)
                continue
            except RecursionError:
                dead.add(self.stage, "nested too deeply to parse or filter", raw)
                continue
            except Exception as err:  # whatever one event makes a parser or filter raise
                dead.add(self.stage, unexpected(err), raw)
                continue
            yield event

    def _unmatched(self, reason: str, raw: str) -> None:
        """A line the pattern does not match: a dead letter, nothing, or one more in the count."""
        policy = self.parser.unmatched
        if policy == "deadletter":
            self.dead_letters.add(self.stage, reason, raw)
        elif policy == "count":
            self.dead_letters.count_unmatched()


MAX_SHOWN_OF_OVERSIZE = 4096  # characters of an oversized event kept in its dead letter


def oversize(raw: str | bytes, limit: int) -> str | None:
    """Why ``raw`` is over ``limit`` bytes (UTF-8), or None. Only long texts are encoded."""
    if len(raw) * (1 if isinstance(raw, bytes) else 4) <= limit:
        return None
    size = len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass"))
    return f"event of {size} bytes is larger than max.event.bytes ({limit})" if size > limit else None


def unexpected(err: BaseException) -> str:
    """A dead letter's reason for an exception nobody expected from one event."""
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return f"parsing failed: {text[:MAX_REASON_CHARS]}"


def _undecodable(raw: bytes) -> str:
    return "not valid UTF-8" if raw else "empty message"
