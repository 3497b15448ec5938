"""Zeek logs as typed event dicts: the TSV logs of Zeek's ASCII writer and its JSON logs.

A TSV log describes itself in ``#`` header lines: ``#separator \\x09`` first, then ``#set_separator``,
``#empty_field``, ``#unset_field``, ``#path``, ``#open``, ``#fields`` (the column names) and
``#types`` (their Zeek types), and ``#close`` at the end. Its values are typed by ``#types``:

=====================================  ============================================================
Zeek type                              value in the event
=====================================  ============================================================
``time``                               timezone-aware UTC ``datetime`` (microseconds, read exactly)
``interval``                           ``float`` seconds
``count``, ``int``, ``port``           ``int`` (a port is its number; the protocol is a field of its own)
``double``                             ``float``
``bool`` (``T``/``F``)                 ``bool``
``addr``, ``subnet``, ``string``,      ``str``; so is any type not named here
``enum``, ``pattern``, ...
``set[...]``, ``vector[...]``,         ``list`` of the element type's values, split at ``#set_separator``
``table[...]``
=====================================  ============================================================

The unset field (``-``) is ``None``; the empty field (``(empty)``) is ``[]`` for a container and
``""`` otherwise. ``\\xHH`` escapes (a separator inside a value, a ``-`` string, bytes Zeek would
not print) are decoded; bytes that do not make UTF-8 text stay visible as ``\\xHH``. Field names
stay as Zeek writes them (``id.orig_h``), and every ``#fields`` name is a key of every event of
its block. A file may hold several header blocks (rotated logs concatenated): each ``#separator``
line starts a new one. A log without ``#types`` gets every value as a string.

A JSON log (``LogAscii::use_json``) is one object per line, or a Kafka message of Zeek's Kafka
writer, tagged with its log's name (``{"dns": {...}}``, read as the record with ``_path = dns``);
only ``ts`` is converted: an epoch
number (seconds; an integer of 10^11 or more is ``JSON::TS_MILLIS`` milliseconds) or an ISO 8601
text (``JSON::TS_ISO8601``) becomes a UTC ``datetime``. Zeek leaves unset fields out of JSON, so
those events lack the keys a TSV event would hold as ``None``.

``ZeekLogReader`` reads either kind, telling them apart by the first non-blank line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MILLIS_FROM = 10**11  # an integer ``ts`` this large is milliseconds: 10^11 seconds is the year 5138
DEFAULT_SET_SEPARATOR = ","
DEFAULT_EMPTY_FIELD = "(empty)"
DEFAULT_UNSET_FIELD = "-"
CONTAINERS = ("set[", "vector[", "table[")
MAX_SHOWN_VALUE = 80
ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")

Converter = Callable[[str], Any]


class ZeekError(ValueError):
    """One line of a Zeek log cannot be read; the message is the dead letter's reason."""


def unescape(text: str) -> str:
    """``text`` with Zeek's ``\\xHH`` escapes decoded; escaped bytes that are not UTF-8 stay ``\\xHH``."""
    if "\\x" not in text:
        return text
    pieces = ESCAPE.split(text)  # text, hex, text, hex, ..., text
    raw = bytearray(pieces[0].encode("utf-8", "surrogateescape"))
    for index in range(1, len(pieces), 2):
        raw.append(int(pieces[index], 16))
        raw += pieces[index + 1].encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace")


def zeek_time(text: str) -> datetime:
    """Epoch seconds as Zeek writes them (``1575413122.764317``) as a UTC datetime, to the microsecond."""
    whole, dot, fraction = text.partition(".")
    if whole.lstrip("-").isdigit() and (not dot or fraction.isdigit()):
        micros = int(whole) * 1_000_000
        part = int(fraction[:6].ljust(6, "0")) if fraction else 0
        micros += -part if whole.startswith("-") else part
        return EPOCH + timedelta(microseconds=micros)
    return EPOCH + timedelta(seconds=float(text))  # exponent forms, which Zeek does not write


def _bool(text: str) -> bool:
    if text == "T":
        return True
    if text == "F":
        return False
    raise ValueError("not T or F")


SCALARS: dict[str, Converter] = {
    "time": zeek_time,
    "interval": float,
    "double": float,
    "count": int,
    "int": int,
    "port": int,
    "bool": _bool,
}


def element_type(zeek_type: str) -> str | None:
    """``string`` for ``set[string]`` or ``vector[string]``; None for a type that is no container."""
    if zeek_type.startswith(CONTAINERS) and zeek_type.endswith("]"):
        return zeek_type[zeek_type.index("[") + 1 : -1]
    return None


class Block:
    """The state of one header block: separators, field names, and how each column is read."""

    def __init__(self, separator: str) -> None:
        self.separator = separator
        self.set_separator = DEFAULT_SET_SEPARATOR
        self.empty_field = DEFAULT_EMPTY_FIELD
        self.unset_field = DEFAULT_UNSET_FIELD
        self.path: str | None = None
        self.fields: list[str] = []
        self.types: list[str] = []
        self.closed = False
        self.broken: str | None = None  # why the block's values cannot be read
        self._columns: list[Converter] | None = None  # a converter per field, made at the first record

    def header(self, line: str) -> None:
        key, _, value = line[1:].partition(self.separator)
        self._columns = None
        if key == "set_separator":
            self.set_separator = unescape(value)
        elif key == "empty_field":
            self.empty_field = unescape(value)
        elif key == "unset_field":
            self.unset_field = unescape(value)
        elif key == "path":
            self.path = unescape(value)
        elif key == "fields":
            self.fields = value.split(self.separator)
            self.types = []
            self.closed = False
            self.broken = None
        elif key == "types":
            types = value.split(self.separator)
            if self.fields and len(types) != len(self.fields):
                self.broken = f"#types names {len(types)} types for {len(self.fields)} #fields"
                raise ZeekError(self.broken)
            self.types = types
            self.broken = None
        elif key == "close":
            self.closed = True

    def record(self, line: str) -> dict[str, Any]:
        if self.broken:
            raise ZeekError(f"its header block is broken: {self.broken}")
        values = line.split(self.separator)
        if len(values) != len(self.fields):
            raise ZeekError(f"{len(values)} values where #fields names {len(self.fields)} (a cut line?)")
        if self._columns is None:
            types = self.types or ["string"] * len(self.fields)
            self._columns = [self.converter(zeek_type) for zeek_type in types]
        try:
            return {
                name: read(text) for name, read, text in zip(self.fields, self._columns, values, strict=True)
            }
        except (ValueError, OverflowError):
            raise self._unreadable(self._columns, values) from None

    def _unreadable(self, columns: list[Converter], values: list[str]) -> ZeekError:
        """The error naming the first value of a line that its type cannot read."""
        types = self.types or ["string"] * len(values)
        for name, zeek_type, read, text in zip(self.fields, types, columns, values, strict=True):
            try:
                read(text)
            except (ValueError, OverflowError):
                shown = text if len(text) <= MAX_SHOWN_VALUE else text[:MAX_SHOWN_VALUE] + "..."
                return ZeekError(f"field {name} ({zeek_type}): {shown!r} is not a {zeek_type}")
        return ZeekError("a value its type cannot read")

    def converter(self, zeek_type: str) -> Converter:
        """The function reading a value of ``zeek_type`` with this block's separators."""
        unset, empty, set_separator = self.unset_field, self.empty_field, self.set_separator
        inner = element_type(zeek_type)
        if inner is not None:
            read_item = self.converter(inner)

            def read_container(text: str) -> Any:
                if text == unset:
                    return None
                if text == empty:
                    return []
                return [read_item(item) for item in text.split(set_separator)]

            return read_container
        scalar = SCALARS.get(zeek_type)
        if scalar is not None:
            return lambda text: None if text == unset else scalar(text)
        return lambda text: None if text == unset else "" if text == empty else unescape(text)


class ZeekLogReader:
    """Reads one Zeek log's lines in order into event dicts, keeping the header state between lines.

    ``event(line)`` returns the line's event, or None for a header or blank line, and raises
    ZeekError for a line it cannot read (the reader goes on with the next one). The first non-blank
    line decides the kind of log: ``{`` starts a JSON log, anything else a TSV one. ``path_field``,
    when given, names a key that gets each TSV event's ``#path`` (``conn``, ``dns``, ...).
    """

    def __init__(self, *, path_field: str | None = None) -> None:
        self.path_field = path_field
        self.kind: str | None = None  # "tsv" or "json", from the first non-blank line
        self.block: Block | None = None

    @property
    def path(self) -> str | None:
        """The ``#path`` of the current TSV header block (None for JSON logs)."""
        return self.block.path if self.block else None

    def event(self, line: str) -> dict[str, Any] | None:
        if line.endswith("\r"):
            line = line[:-1]
        if self.kind is None:
            if not line.strip():
                return None
            self.kind = "json" if line.lstrip().startswith("{") else "tsv"
        if self.kind == "json":
            return zeek_json(line) if line.strip() else None
        return self._tsv(line)

    def _tsv(self, line: str) -> dict[str, Any] | None:
        if line.startswith("#separator "):
            self.block = Block(unescape(line[len("#separator ") :]))
            return None
        if line.startswith("#"):
            if self.block is None:
                self.block = Block("\t")  # a log cut before its #separator line: Zeek's default
            self.block.header(line)
            return None
        if not line:
            return None
        block = self.block
        if block is None or not block.fields:
            raise ZeekError("a value line before the #fields header: not a Zeek TSV log, or its start is cut")
        if block.closed:
            raise ZeekError("a value line after #close, before a new header")
        event = block.record(line)
        if self.path_field is not None:
            event[self.path_field] = block.path
        return event


def zeek_json(line: str) -> dict[str, Any]:
    """One line of a Zeek JSON log as a dict, its ``ts`` a UTC datetime."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError as err:
        raise ZeekError(f"not JSON: {err}") from None
    if not isinstance(event, dict):
        raise ZeekError(f"JSON {type(event).__name__}, not an object")
    event = untagged(event)
    if "ts" in event:
        event["ts"] = json_time(event["ts"])
    return event


def untagged(event: dict[str, Any]) -> dict[str, Any]:
    """A record as Zeek's Kafka writer sends it with ``Kafka::tag_json = T``, ``{"dns": {...}}``,
    as the record itself with its log's name under ``_path`` (where one topic carries several logs,
    a detection tells its own by that name). Any other object is returned as it is."""
    if len(event) != 1:
        return event
    ((path, record),) = event.items()
    if not isinstance(record, dict) or path == "ts":
        return event
    record.setdefault("_path", path)
    return record


def json_time(value: Any) -> datetime:
    """``ts`` of a Zeek JSON log: epoch seconds, epoch milliseconds (a large integer) or ISO 8601."""
    if isinstance(value, bool):
        raise ZeekError(f"ts: {value!r} is not a time")
    try:
        if isinstance(value, int):
            if abs(value) >= MILLIS_FROM:
                return EPOCH + timedelta(milliseconds=value)
            return EPOCH + timedelta(seconds=value)
        if isinstance(value, float):
            return zeek_time(f"{value:.6f}")
    except (ValueError, OverflowError):
        raise ZeekError(f"ts: {value!r} is out of range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
        except ValueError:
            raise ZeekError(f"ts: {value[:MAX_SHOWN_VALUE]!r} is not an ISO 8601 time") from None
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    raise ZeekError(f"ts: a JSON {type(value).__name__}, not a time")
