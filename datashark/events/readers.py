"""The formats a use case's events come in: one reader class per ``format``.

A reader turns one line into an event, or raises EventError (UnmatchedEventError for a line
the format's pattern does not match). To add a format, write a ``Reader`` subclass, add it to
READERS and to the ``format`` option of config/spec/usecase.spec.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from datashark.errors import ConfLocation
from datashark.events import syslog_lines, zeek
from datashark.events.grok import Grok, compile_grok, pattern_library

MAX_JSON_DEPTH = 1024  # orjson's limit
# Where a JSON or regex event's time is when the conf names no time_field: the first one present.
USUAL_TIME_FIELDS = ("@timestamp", "timestamp", "time")


class EventError(ValueError):
    """This event cannot be parsed; the message is the dead letter's reason."""


class UnmatchedEventError(EventError):
    """This line does not match the use case's ``pattern``: handled as ``unmatched`` says."""


class SkippedEventError(EventError):
    """An event the input's selection leaves out (``[in_syslog]``): skipped without a word,
    as the ``[log_filter]`` skips events."""


@dataclass(frozen=True)
class ReaderOptions:
    """What a reader may need from the conf, checked on the driver (``where`` names the conf)."""

    where: ConfLocation
    pattern: str | None = None
    grok_pattern: str | None = None
    grok_patterns_dir: Path | None = None  # already resolved against the use case's folder


class Reader:
    """One ``format``: ``__call__`` turns a line into an event, or raises EventError
    (UnmatchedEventError for a line the format's pattern does not match).

    ``structured``: events are dicts (a ``[log_filter]`` and ``@timestamp`` apply).
    ``time_fields``: where the event's time is when the conf names no ``time_field`` (the first
    one an event has); ``timestamped``: events get ``@timestamp`` even when the conf names
    neither ``time_field`` nor ``time_format``. An event without a readable time is a dead letter.
    ``fields``: the top-level fields every event can have, when known before reading any (a
    pattern's groups), so a ``time_field`` naming none of them is a conf error; else None.
    Readers run on the executors: they must pickle, and hold no secrets.
    """

    structured: ClassVar[bool] = True
    time_fields: ClassVar[tuple[str, ...]] = ()
    timestamped: ClassVar[bool] = True
    fields: frozenset[str] | None = None

    def __init__(self, options: ReaderOptions) -> None:
        pass

    def __call__(self, raw: str) -> Any:
        raise NotImplementedError


class TextReader(Reader):
    """``format = text``: the line as it is."""

    structured = False

    def __call__(self, raw: str) -> str:
        return raw


class JsonReader(Reader):
    """``format = json``: one JSON object a line."""

    time_fields = USUAL_TIME_FIELDS
    timestamped = False

    def __call__(self, raw: str) -> dict[str, Any]:
        return parse_json(raw)


class RegexReader(Reader):
    """``format = regex``: the named groups of ``pattern``, matched at the line's start."""

    time_fields = USUAL_TIME_FIELDS
    timestamped = False

    def __init__(self, options: ReaderOptions) -> None:
        where = options.where.at("pattern")
        if not options.pattern:
            raise where.error("is required with format = regex")
        try:
            self.pattern = re.compile(options.pattern)
        except re.error as err:
            raise where.error(f"invalid regex: {err}") from None
        if not self.pattern.groupindex:
            raise where.error("has no named group such as (?P<source>...)")
        self.fields = frozenset(self.pattern.groupindex)

    def __call__(self, raw: str) -> dict[str, Any]:
        match = self.pattern.match(raw)
        if match is None:
            raise UnmatchedEventError("does not match the use case's pattern")
        return match.groupdict()


def _grok(options: ReaderOptions) -> Grok:
    where = options.where
    library = pattern_library(options.grok_patterns_dir, where=where.at("grok_patterns_dir"))
    return compile_grok(options.grok_pattern or "", library, where=where.at("grok_pattern"))


class GrokReader(Reader):
    """``format = grok``: the fields of ``grok_pattern`` (events/grok.py), matched at the line's start."""

    time_fields = ("timestamp", "@timestamp", "time")

    def __init__(self, options: ReaderOptions) -> None:
        if not options.grok_pattern:
            raise options.where.at("grok_pattern").error("is required with format = grok")
        self.grok = _grok(options)
        self.fields = self.grok.field_names

    def __call__(self, raw: str) -> dict[str, Any]:
        try:
            event = self.grok.match(raw)
        except ValueError as err:  # a value its :int or :float cannot convert
            raise EventError(str(err)) from None
        if event is None:
            raise UnmatchedEventError("does not match the use case's grok_pattern")
        return event


class SyslogReader(Reader):
    """``format = syslog``: RFC 3164 and 5424 lines (events/syslog_lines.py); with a
    ``grok_pattern``, the fields it finds in the ``message`` are added to the event."""

    time_fields = ("timestamp",)

    def __init__(self, options: ReaderOptions) -> None:
        self.grok = _grok(options) if options.grok_pattern else None
        self.fields = frozenset(syslog_lines.FIELDS) | (self.grok.field_names if self.grok else frozenset())

    def __call__(self, raw: str) -> dict[str, Any]:
        event = syslog_lines.parse_syslog(raw)
        if event is None:
            raise UnmatchedEventError("is not a syslog line (RFC 3164 or RFC 5424)")
        return self.with_message_fields(event)

    def with_message_fields(self, event: dict[str, Any]) -> dict[str, Any]:
        """``event`` with the fields ``grok_pattern`` finds in its message (as it is without one)."""
        if self.grok is not None:
            try:
                found = self.grok.match(event["message"] or "")
            except ValueError as err:
                raise EventError(str(err)) from None
            if found is None:
                raise UnmatchedEventError("its message does not match the use case's grok_pattern")
            event.update(found)
        return event


class ZeekReader(Reader):
    """``format = zeek``: Zeek logs (events/zeek.py). TSV logs need their file's ``#fields``
    header, so they are read whole (events/whole_files.py) and arrive here already parsed; a
    line here is Zeek's JSON (one object a line), as Kafka or syslog carry it."""

    time_fields = ("ts",)

    def __call__(self, raw: str) -> dict[str, Any]:
        if not raw.lstrip().startswith("{"):
            raise EventError(
                "a Zeek TSV line needs its file's #fields header: read Zeek TSV logs as files "
                "(file = or input = file), or send Zeek JSON"
            )
        try:
            return zeek.zeek_json(raw)
        except zeek.ZeekError as err:
            raise EventError(str(err)) from None


READERS: dict[str, type[Reader]] = {
    "text": TextReader,
    "json": JsonReader,
    "regex": RegexReader,
    "grok": GrokReader,
    "syslog": SyslogReader,
    "zeek": ZeekReader,
}
FORMATS = tuple(READERS)
# Formats whose line may be matched against ``grok_pattern``.
GROK_FORMATS = ("grok", "syslog")


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
