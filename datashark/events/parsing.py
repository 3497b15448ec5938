"""Turning raw event text into what ``load()`` receives, according to the conf's ``format``.

``text`` hands the line over untouched; ``json`` parses it into a dict; ``regex`` matches it
against the conf's ``pattern`` (anchored at the start, as ``re.match``) and hands over the named
groups as a dict. An event that cannot be parsed, is larger than ``max.event.bytes`` or makes the
parser or the filter raise anything at all becomes a dead letter: one hostile event never fails
its batch. Lines the pattern does not match are dead letters too, unless ``unmatched`` says to
drop them or only count them (a pattern selecting lines of a mixed syslog).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from datashark.errors import ConfLocation

FORMATS = ("text", "json", "regex")
# What becomes of a line that ``pattern`` does not match (the use case's ``unmatched``).
UNMATCHED_POLICIES = ("deadletter", "drop", "count")
MAX_JSON_DEPTH = 1024  # orjson's limit
DEFAULT_MAX_EVENT_BYTES = 4 << 20  # max.event.bytes when datashark.conf sets none
MAX_REASON_CHARS = 300


class EventError(ValueError):
    """This event cannot be parsed; the message is the dead letter's reason."""


class UnmatchedEventError(EventError):
    """This line does not match the use case's ``pattern``: handled as ``unmatched`` says."""


class EventParser:
    """Parses one use case's events; picklable (the pattern is compiled again on unpickling).

    ``unmatched`` (one of UNMATCHED_POLICIES) is what the event stage does with a line the
    pattern does not match: dead-letter it, drop it, or drop it and count it.
    """

    def __init__(
        self, fmt: str, pattern: str | None, *, where: ConfLocation, unmatched: str = "deadletter"
    ) -> None:
        self.format = fmt
        self.unmatched = unmatched
        self.pattern: re.Pattern[str] | None = None
        if fmt == "regex":
            if not pattern:
                raise where.at("pattern").error("is required with format = regex")
            try:
                self.pattern = re.compile(pattern)
            except re.error as err:
                raise where.at("pattern").error(f"invalid regex: {err}") from None
            if not self.pattern.groupindex:
                raise where.at("pattern").error("has no named group such as (?P<source>...)")

    @property
    def structured(self) -> bool:
        """True when events become dicts (what a ``[log_filter]`` needs)."""
        return self.format != "text"

    def parse(self, raw: str) -> Any:
        if self.format == "text":
            return raw
        if self.format == "json":
            return parse_json(raw)
        assert self.pattern is not None  # format = regex requires it (checked when prepared)
        match = self.pattern.match(raw)
        if match is None:
            raise UnmatchedEventError("does not match the use case's pattern")
        return match.groupdict()


def parse_json(raw: str) -> dict[str, Any]:
    """A JSON object, or EventError saying why not (the filter needs named fields).

    orjson parses about four times faster than the standard library, which dominates the cost
    of filtering; the standard library still gets the rare text orjson refuses (NaN, ...), but
    not text nested deeper than orjson allows, which would exhaust Python's stack instead.
    """
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as first:
        if "recursion" in str(first).lower():
            raise EventError(f"not JSON: nested deeper than {MAX_JSON_DEPTH} levels") from None
        try:
            event = json.loads(raw)
        except RecursionError:
            raise EventError(f"not JSON: nested deeper than {MAX_JSON_DEPTH} levels") from None
        except (ValueError, TypeError) as err:
            raise EventError(f"not JSON: {err}") from None
    if not isinstance(event, dict):
        raise EventError(f"JSON {type(event).__name__}, not an object")
    return event


class EventStage:
    """mapPartitions function from raw lines to what ``load()`` receives.

    Each event is parsed once: into the format the use case asked for, or as JSON only for
    the ``[log_filter]`` when the use case wants text. Events larger than ``max_event_bytes``,
    unparseable ones, and any whose parsing or filtering raises become dead letters; lines the
    pattern does not match as well, or are dropped (and counted) as the parser's ``unmatched`` says.
    """

    def __init__(
        self, parser: EventParser, log_filter, dead_letters, *, stage: str, max_event_bytes: int
    ) -> None:
        self.parser = parser
        self.log_filter = log_filter if log_filter else None
        self.dead_letters = dead_letters
        self.stage = stage
        self.max_event_bytes = max_event_bytes

    def __call__(self, lines: Iterable[str | bytes]) -> Iterator[Any]:
        parse, keep, dead = self.parser.parse, self.log_filter, self.dead_letters
        filter_text = keep is not None and not self.parser.structured
        passes_as_is = keep is None and not self.parser.structured
        for raw in lines:
            too_large = oversize(raw, self.max_event_bytes)
            if too_large:
                dead.add(self.stage, too_large, raw[:MAX_SHOWN_OF_OVERSIZE])
                continue
            if isinstance(raw, bytes):  # from an input that could not decode it
                dead.add(self.stage, _undecodable(raw), raw.decode("utf-8", "backslashreplace"))
                continue
            if passes_as_is:
                yield raw
                continue
            try:
                event = parse(raw)
                if keep is not None and not keep(parse_json(raw) if filter_text else event):
                    continue
            except UnmatchedEventError as err:
                self._unmatched(str(err), raw)
                continue
            except EventError as err:
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
