"""Each event's time, as the timezone-aware UTC ``datetime`` in its ``"@timestamp"``.

``EventTime`` reads one field of a dict event (``time_field``) in one of TIME_FORMATS
(``time_format``) or a ``strptime`` pattern (any text with a ``%``):

* ``auto`` (the default): whatever the others read, told apart by its shape; numbers are seconds,
  milliseconds, microseconds or nanoseconds since 1970 by their size (below 1e11, 1e14, 1e17, above);
* ``iso8601``: ``2021-03-14T06:02:08.123Z``, ``2021-03-14 06:02:08+01:00``, ``+0100``, a date alone;
* ``syslog``: ``Mar 14 06:02:08`` (fractions of a second allowed; ``Mar 14 2021 06:02:08`` too);
* ``apache``: ``14/Mar/2021:06:02:08 +0100``;
* ``epoch`` / ``epoch_ms``: seconds / milliseconds since 1970 (numbers or their text);
* ``windows``: FILETIME (100 ns since 1601, Windows' and Sysmon's raw times), ``/Date(ms)/``
  (.NET's JSON, ``ConvertTo-Json``), or ISO 8601 as Windows' JSON exports write it;
* ``none``: no ``@timestamp``.

A time without a zone is in ``time_zone`` (default UTC; ``local``: the executors' zone). A time
without a year (syslog's; a ``strptime`` pattern without ``%Y``) takes ``assume_year`` when set,
else the year of the reference time the caller gives (the input files' newest modification time
in a batch run, the batch time in a stream): the reference's year, or the year before for a
month more than one month after the reference's, so December's lines read in January are of the
year before, or the year after for January's lines read in December.

A missing or unreadable time raises TimeError, whose message is the dead letter's reason:
``no @timestamp: field 'ts' missing``. When no field is required (``required=False``, JSON and
regex use cases that did not ask for a time) an event without a readable one is left as it is.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

TIME_FORMATS = ("auto", "iso8601", "syslog", "apache", "epoch", "epoch_ms", "windows", "none")
UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
MAX_SHOWN = 40  # characters of an unreadable value quoted in the reason
MAX_TIME_CHARS = 64  # longer text is no time (and is not worth a regex)
CACHE_SIZE = 4096  # texts read per EventTime before its cache starts again

_SYSLOG = re.compile(
    r"([A-Za-z]{3}) +(\d{1,2})(?: (\d{4}))? (\d{1,2}):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\s*(Z|[+-]\d\d:?\d\d)?"
)
_APACHE = re.compile(
    r"(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))? ?(Z|[+-]\d\d:?\d\d)?"
)
_ISO = re.compile(
    r"(\d{4})-?(\d\d)-?(\d\d)(?:[T ](\d\d):?(\d\d)(?::?(\d\d)(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d\d(?::?\d\d)?)?"
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_DOTNET = re.compile(r"/?\\?/?Date\((-?\d+)(?:[+-]\d{4})?\)\\?/?")
_YEAR_DIRECTIVES = ("%Y", "%y", "%G", "%c", "%x")


class TimeError(ValueError):
    """This event's time cannot be read; the message is the dead letter's reason."""


def is_time_format(text: str) -> bool:
    """True for one of TIME_FORMATS or a ``strptime`` pattern."""
    return text in TIME_FORMATS or "%" in text


def zone_named(name: str) -> tzinfo | None:
    """``UTC``, ``local`` (None: the executor's own zone) or an IANA name; ValueError if unknown."""
    if name.upper() == "UTC":
        return UTC
    if name.lower() == "local":
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (UTC, local, or a name such as Europe/Paris)") from None


class EventTime:
    """Sets ``event["@timestamp"]`` from ``fields`` (the first one an event has) read as ``fmt``.

    ``required``: an event without a readable time raises TimeError; otherwise it is left as it
    is. Picklable (a cache of recently read texts is rebuilt where it is unpickled).
    """

    def __init__(
        self,
        fields: tuple[str, ...],
        fmt: str = "auto",
        *,
        required: bool = True,
        assume_year: int | None = None,
        zone: str = "UTC",
    ) -> None:
        if not is_time_format(fmt) or fmt == "none":
            raise ValueError(f"{fmt!r} is not one of {', '.join(TIME_FORMATS)} or a strptime pattern")
        self.fields = fields
        self.paths = tuple(_path(field) for field in fields)
        self._one_key = len(fields) == 1 and len(self.paths[0]) == 1
        self.format = fmt
        self.required = required
        self.assume_year = assume_year
        self.zone_name = zone
        self.zone = zone_named(zone)
        self._cache: dict[tuple[str, int], datetime] = {}
        self._years: tuple[datetime, YearSource] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cache": {}, "_years": None}

    def stamp(self, event: dict[str, Any], reference: datetime) -> None:
        """Put the event's time in ``event["@timestamp"]``; TimeError if required and unreadable."""
        field = self.fields[0]
        value = event.get(field) if self._one_key else None
        if value is None:
            for name, path in zip(self.fields, self.paths, strict=True):
                value = _lookup(event, path)
                if value is not None:
                    field = name
                    break
        if value is None:
            if self.required:
                names = " or ".join(repr(field) for field in self.fields)
                raise TimeError(f"no @timestamp: field {names} missing")
            return
        try:
            event["@timestamp"] = self.read(value, reference)
        except (ValueError, OverflowError, OSError) as err:
            if self.required:
                problem = str(err) if str(err).startswith("is ") else f"is unreadable: {err}"
                raise TimeError(f"no @timestamp: field {field!r} ({_shown(value)}) {problem}") from None

    def read(self, value: Any, reference: datetime) -> datetime:
        """``value`` as a UTC datetime; ValueError saying why not."""
        if isinstance(value, str):
            if len(value) > MAX_TIME_CHARS:
                raise ValueError(f"is too long to be a time ({len(value)} characters)")
            years = self._year_source(reference)
            key = (value, years.year * 12 + years.month)
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            result = self._read(value, reference)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = result
            return result
        return self._read(value, reference)

    def _read(self, value: Any, reference: datetime) -> datetime:
        fmt, zone = self.format, self.zone
        if isinstance(value, datetime):
            return _to_utc(value, zone)
        if fmt == "auto":
            return read_auto(value, zone, self._year_source(reference))
        if fmt == "iso8601":
            return read_iso8601(_text(value), zone)
        if fmt == "syslog":
            return read_syslog(_text(value), zone, self._year_source(reference))
        if fmt == "apache":
            return read_apache(_text(value), zone)
        if fmt == "epoch":
            return from_epoch(_number(value), 1)
        if fmt == "epoch_ms":
            return from_epoch(_number(value), 1000)
        if fmt == "windows":
            return read_windows(value, zone)
        return read_strptime(_text(value), fmt, zone, self._year_source(reference))

    def _year_source(self, reference: datetime) -> YearSource:
        """The YearSource of ``reference``, kept while the same reference comes again."""
        last = self._years
        if last is None or last[0] is not reference:
            last = self._years = (reference, YearSource(reference, self.assume_year, self.zone))
        return last[1]


class YearSource:
    """The year of a time written without one: ``assume_year``, or guessed from a reference time."""

    def __init__(self, reference: datetime, assume_year: int | None, zone: tzinfo | None) -> None:
        self.assume_year = assume_year
        local = reference.astimezone(zone) if zone is not None else reference.astimezone()
        self.year, self.month = local.year, local.month

    def year_of(self, month: int) -> int:
        """The year of a time in ``month``: the reference's, the year before or the year after."""
        if self.assume_year is not None:
            return self.assume_year
        return year_for(month, self.year, self.month)


def year_for(month: int, reference_year: int, reference_month: int) -> int:
    """The year of an event in ``month`` seen at ``reference_month`` of ``reference_year``.

    A month more than one month ahead of the reference is last year's (December's lines read in
    January; a file of March read in January); January's read in December are next year's.
    """
    ahead = month - reference_month
    if ahead > 1:
        return reference_year - 1
    if ahead < -10:
        return reference_year + 1
    return reference_year


# ----------------------------------------------------------------------------- the formats


def read_auto(value: Any, zone: tzinfo | None, years: YearSource) -> datetime:
    """Any of the formats, told apart by the value's type and shape."""
    if isinstance(value, datetime):
        return _to_utc(value, zone)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_epoch_guessing_unit(value)
    if not isinstance(value, str):
        raise ValueError(f"is {_kind(value)}, not a time")
    text = value.strip()
    if not text:
        raise ValueError("is empty")
    first = text[0]
    if first.isdigit() or first in "+-.":
        if len(text) > 4 and text[4] == "-" and text[:4].isdigit():
            return read_iso8601(text, zone)
        if "/" in text[:3]:
            return read_apache(text, zone)
        if _NUMBER.fullmatch(text):
            return from_epoch_guessing_unit(float(text) if not text.lstrip("+-").isdigit() else int(text))
        return read_iso8601(text, zone)
    if first.isalpha():
        return read_syslog(text, zone, years)
    if "Date(" in text:
        return read_windows(text, zone)
    raise ValueError("is not a time this format reads")


def read_iso8601(text: str, zone: tzinfo | None) -> datetime:
    try:
        return _to_utc(datetime.fromisoformat(text), zone)
    except ValueError:
        pass
    found = _ISO.fullmatch(text.strip())
    if found is None:
        raise ValueError("is not an ISO 8601 time")
    year, month, day, hour, minute, second, fraction, offset = found.groups()
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        min(int(second or 0), 59),
        _microseconds(fraction),
        _offset(offset),
    )
    return _to_utc(moment, zone)


def read_syslog(text: str, zone: tzinfo | None, years: YearSource) -> datetime:
    """``Mmm dd HH:MM:SS`` (a year after the day, a fraction and a zone are allowed)."""
    found = _SYSLOG.fullmatch(text.strip())
    month = MONTH_NUMBERS.get(found.group(1).lower()) if found else None
    if found is None or month is None:
        raise ValueError("is not a syslog time (Mmm dd HH:MM:SS)")
    _, day, year, hour, minute, second, fraction, offset = found.groups()
    year_number = int(year) if year else years.year_of(month)
    return _moment(year_number, month, day, (hour, minute, second, fraction), offset, zone)


def read_apache(text: str, zone: tzinfo | None) -> datetime:
    """``dd/Mon/yyyy:HH:MM:SS +zone``, as web servers' access logs write it."""
    found = _APACHE.fullmatch(text.strip())
    month = MONTH_NUMBERS.get(found.group(2).lower()) if found else None
    if found is None or month is None:
        raise ValueError("is not an access log time (dd/Mon/yyyy:HH:MM:SS +zone)")
    day, _, year, hour, minute, second, fraction, offset = found.groups()
    return _moment(int(year), month, day, (hour, minute, second, fraction), offset, zone)


def _moment(
    year: int, month: int, day: str, clock: tuple[str, str, str, str | None], offset: str | None, zone
) -> datetime:
    """The UTC time of a date and a clock read as text (a leap second read as :59)."""
    hour, minute, second, fraction = clock
    moment = datetime(
        year,
        month,
        int(day),
        int(hour),
        int(minute),
        min(int(second), 59),
        _microseconds(fraction),
        _offset(offset),
    )
    return _to_utc(moment, zone)


def read_windows(value: Any, zone: tzinfo | None) -> datetime:
    """FILETIME (a number, or its text), ``/Date(ms)/``, or ISO 8601."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_filetime(int(value))
    text = _text(value).strip()
    if text.isdigit():
        return from_filetime(int(text))
    dotnet = _DOTNET.fullmatch(text)
    if dotnet is not None:
        return from_epoch(int(dotnet.group(1)), 1000)
    return read_iso8601(text, zone)


def read_strptime(text: str, pattern: str, zone: tzinfo | None, years: YearSource) -> datetime:
    """``text`` read with ``datetime.strptime``; without a year in ``pattern``, the guessed one."""
    if any(directive in pattern for directive in _YEAR_DIRECTIVES):
        return _to_utc(datetime.strptime(text, pattern), zone)
    moment = datetime.strptime(f"2000 {text}", f"%Y {pattern}")  # a leap year: 29 Feb reads
    return _to_utc(moment.replace(year=years.year_of(moment.month)), zone)


def from_epoch(number: float, per_second: int) -> datetime:
    """``number`` units (``per_second`` to the second) since 1970, in UTC."""
    if isinstance(number, int) and per_second > 1:
        seconds, rest = divmod(number, per_second)
        return EPOCH + timedelta(seconds=seconds, microseconds=rest * 1_000_000 // per_second)
    return EPOCH + timedelta(seconds=number / per_second)


def from_epoch_guessing_unit(number: float) -> datetime:
    """Seconds, milliseconds, microseconds or nanoseconds since 1970, by size."""
    size = abs(number)
    if size < 1e11:
        return from_epoch(number, 1)
    if size < 1e14:
        return from_epoch(number, 1000)
    if size < 1e17:
        return from_epoch(number, 1_000_000)
    return from_epoch(number, 1_000_000_000)


def from_filetime(number: int) -> datetime:
    """A Windows FILETIME: 100-nanosecond intervals since 1601-01-01 UTC."""
    return FILETIME_EPOCH + timedelta(microseconds=number // 10)


# ----------------------------------------------------------------------------- helpers


def _to_utc(moment: datetime, zone: tzinfo | None) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _offset(text: str | None) -> tzinfo | None:
    if text is None:
        return None
    return _zone_of_offset(text)


@lru_cache(maxsize=256)
def _zone_of_offset(text: str) -> tzinfo:
    """``Z``, ``+0100``, ``-05:00`` as a tzinfo; the few a log holds are made once."""
    if text in ("Z", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"has an impossible offset {text}")
    if hours == minutes == 0:
        return UTC
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _microseconds(fraction: str | None) -> int:
    return int((fraction or "0")[:6].ljust(6, "0"))


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise ValueError(f"is {_kind(value)}, not text")


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("is a bool, not a number")
    if isinstance(value, (int, float)):
        return value
    text = _text(value).strip()
    if not _NUMBER.fullmatch(text):
        raise ValueError("is not a number")
    return int(text) if text.lstrip("+-").isdigit() else float(text)


def _kind(value: Any) -> str:
    """``an int``, ``a list``: the value's type as a reason names it."""
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _shown(value: Any) -> str:
    """``value`` as a reason quotes it: its repr, cut."""
    try:
        text = repr(value)
    except ValueError:  # an int of over 4,300 digits
        return f"{_kind(value)} too large to show"
    if len(text) <= MAX_SHOWN:
        return text
    return text[:MAX_SHOWN] + ("...'" if isinstance(value, str) else "...")


def _path(field: str) -> tuple[str, ...]:
    """``[a][b]`` -> ("a", "b"); anything else is one key."""
    if field.startswith("[") and field.endswith("]") and len(field) > 2:
        return tuple(part for part in field[1:-1].split("]["))
    return (field,)


def _lookup(event: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
