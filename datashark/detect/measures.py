"""What a detection measures per entity and window: a count, distinct users, bytes, first seen...

A measure is four functions over an accumulator: ``start()`` an empty one, ``add(acc, event)``
one event, ``merge(a, b)`` two partial ones (from two partitions or two streaming batches), and
``result(acc)`` the value a finding shows. Accumulators travel between executors and are kept in
streaming state, so they must pickle; ``merge`` must not care about order, so a window computed
from one file and from many streaming batches gives the same value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Protocol


class Measure(Protocol):
    """One value per entity and window; see the module's docstring for the contract."""

    def start(self) -> Any:
        """An empty accumulator."""
        ...

    def add(self, acc: Any, event: Any) -> Any:
        """``acc`` with one more event; may update ``acc`` in place and return it."""
        ...

    def merge(self, a: Any, b: Any) -> Any:
        """Both accumulators in one; may update ``a`` in place and return it."""
        ...

    def result(self, acc: Any) -> Any:
        """The value a finding shows (a number, a list, a time)."""
        ...


# The exact measures. Each keeps everything it needs to be exact (a set, a counter), so its memory
# grows with the distinct values of a window; detect/sketches.py has bounded approximate ones.

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
Field = str | Callable[[Any], Any]


def value_of(event: Any, field: Field) -> Any:
    """The value a measure reads: ``field(event)`` for a function; for a name, ``event[name]``,
    else, for a dotted name (``source.ip``), the nested ``event["source"]["ip"]``; None when absent."""
    if callable(field):
        return field(event)
    if not isinstance(event, dict):
        return None
    value: Any = event.get(field)
    if value is not None or "." not in field or field in event:
        return value
    value = event
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def event_micros(when: Any) -> int | None:
    """An event time as whole microseconds since the epoch (UTC): from a datetime (a naive one is
    taken as UTC) or epoch seconds (int or float); None for anything else, or a non-finite number."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return (when - EPOCH) // MICROSECOND
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        return None
    if isinstance(when, float) and not math.isfinite(when):
        return None
    return round(when * 1_000_000)


def utc_time(micros: int) -> datetime:
    """The UTC datetime of ``micros`` microseconds since the epoch."""
    return EPOCH + timedelta(microseconds=micros)


def default_time(event: Any) -> Any:
    """The time windows and ``first_seen``/``last_seen`` read unless told otherwise: ``@timestamp``."""
    return event.get("@timestamp") if isinstance(event, dict) else None


def hashable(value: Any) -> Any:
    """``value`` usable in a set or as a counter key: lists become tuples, dicts sorted item tuples."""
    if isinstance(value, list):
        return tuple(hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted(((str(k), hashable(v)) for k, v in value.items()), key=order))
    if isinstance(value, set):
        return tuple(sorted((hashable(item) for item in value), key=order))
    return value


def order(value: Any) -> tuple:
    """A sort key total over the values events hold, so ties and mixed types sort the same way
    on every run: numbers first (by value), then by type name, then by value (repr for types
    that do not compare)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, "", value, type(value).__name__)
    kind = type(value).__name__
    if isinstance(value, (str, bytes, bool, datetime)):
        return (1, kind, value, "")
    if isinstance(value, tuple):
        return (1, kind, tuple(order(item) for item in value), "")
    return (1, kind, repr(value), "")


def number(value: Any) -> int | float | None:
    """``value`` as a number: ints and floats as they are, numeric text parsed; None otherwise
    (and for booleans, NaN and infinities)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


class count:  # noqa: N801 - measures read as functions in load(): count(), distinct("user")
    """How many events the entity had in the window (``attempts``, ``requests``)."""

    def start(self) -> int:
        return 0

    def add(self, acc: int, event: Any) -> int:
        return acc + 1

    def merge(self, a: int, b: int) -> int:
        return a + b

    def result(self, acc: int) -> int:
        return acc

    def __repr__(self) -> str:
        return "count()"


class distinct:  # noqa: N801
    """How many different values of ``field`` the entity had (``users`` tried, ``ports`` scanned);
    events without the field are not counted. Exact: keeps every value of the window."""

    def __init__(self, field: Field) -> None:
        self.field = field

    def start(self) -> set:
        return set()

    def add(self, acc: set, event: Any) -> set:
        value = value_of(event, self.field)
        if value is not None:
            acc.add(hashable(value))
        return acc

    def merge(self, a: set, b: set) -> set:
        a |= b
        return a

    def result(self, acc: set) -> int:
        return len(acc)

    def __repr__(self) -> str:
        return f"distinct({self.field!r})"


class distinct_values:  # noqa: N801
    """The different values of ``field``, at most ``limit`` of them, smallest first (so the list
    is the same however events arrive): the user names behind a ``distinct`` count, say."""

    def __init__(self, field: Field, limit: int = 10) -> None:
        if limit < 1:
            raise ValueError(f"distinct_values({field!r}): limit must be at least 1, not {limit}")
        self.field = field
        self.limit = limit

    def start(self) -> set:
        return set()

    def add(self, acc: set, event: Any) -> set:
        value = value_of(event, self.field)
        if value is not None:
            acc.add(hashable(value))
            if len(acc) > 2 * self.limit:
                acc = self._smallest(acc)
        return acc

    def merge(self, a: set, b: set) -> set:
        return self._smallest(a | b)

    def result(self, acc: set) -> list:
        return sorted(acc, key=order)[: self.limit]

    def _smallest(self, values: set) -> set:
        return set(sorted(values, key=order)[: self.limit])

    def __repr__(self) -> str:
        return f"distinct_values({self.field!r}, {self.limit})"


class total:  # noqa: N801
    """The sum of ``field`` (``bytes`` sent, ``duration``): numbers and numeric text; other values
    and missing fields are left out. Whole numbers add exactly; with fractions the sum is the
    exact sum rounded once (Shewchuk's partials, as ``math.fsum``), so it never depends on order."""

    def __init__(self, field: Field) -> None:
        self.field = field

    def start(self) -> list:
        return [0, [], False]  # whole part, float partials, whether a float was seen

    def add(self, acc: list, event: Any) -> list:
        value = value_of(event, self.field)
        if value is None:  # most events lack most fields a window totals: the quick way out
            return acc
        if type(value) is int:
            acc[0] += value
            return acc
        value = number(value)
        if isinstance(value, int):
            acc[0] += value
        elif value is not None:
            _grow(acc[1], value)
            acc[2] = True
        return acc

    def merge(self, a: list, b: list) -> list:
        a[0] += b[0]
        for partial in b[1]:
            _grow(a[1], partial)
        a[2] = a[2] or b[2]
        return a

    def result(self, acc: list) -> int | float:
        whole, partials, fractional = acc
        if not fractional:
            return whole
        exact = sum((Fraction(p) for p in partials), Fraction(whole))
        return float(exact)

    def __repr__(self) -> str:
        return f"total({self.field!r})"


def _grow(partials: list[float], x: float) -> None:
    """Add ``x`` to ``partials``, non-overlapping floats whose exact sum is the running total."""
    i = 0
    for y in partials:
        if abs(x) < abs(y):
            x, y = y, x
        high = x + y
        low = y - (high - x)
        if low:
            partials[i] = low
            i += 1
        x = high
    partials[i:] = [x]


class _Extreme:
    field: Field
    pick: Callable[..., Any]
    name: str

    def __init__(self, field: Field) -> None:
        self.field = field

    def start(self) -> Any:
        return None

    def add(self, acc: Any, event: Any) -> Any:
        value = value_of(event, self.field)
        if value is None:
            return acc
        if not isinstance(value, datetime):
            value = number(value)
        if value is None:
            return acc
        return value if acc is None else self.pick(acc, value, key=order)

    def merge(self, a: Any, b: Any) -> Any:
        if a is None or b is None:
            return b if a is None else a
        return self.pick(a, b, key=order)

    def result(self, acc: Any) -> Any:
        return acc

    def __repr__(self) -> str:
        return f"{self.name}({self.field!r})"


class smallest(_Extreme):  # noqa: N801
    """The smallest value of ``field``: numbers (numeric text read as a number) or datetimes; other
    values are left out. None when the window had none."""

    pick = staticmethod(min)
    name = "smallest"


class largest(_Extreme):  # noqa: N801
    """The largest value of ``field``: numbers (numeric text read as a number) or datetimes; other
    values are left out. None when the window had none."""

    pick = staticmethod(max)
    name = "largest"


class _Seen:
    name: str
    later: bool

    def __init__(self, time: Callable[[Any], Any] | None = None) -> None:
        self.time = time or default_time

    def with_time(self, time: Callable[[Any], Any]) -> _Seen:
        """The same measure reading event times with ``time`` (the window's ``time=`` function)."""
        return type(self)(time)

    def start(self) -> int | None:
        return None

    def add(self, acc: int | None, event: Any) -> int | None:
        return self.merge(acc, event_micros(self.time(event)))

    def merge(self, a: int | None, b: int | None) -> int | None:
        if a is None or b is None:
            return b if a is None else a
        return max(a, b) if self.later else min(a, b)

    def result(self, acc: int | None) -> datetime | None:
        return None if acc is None else utc_time(acc)

    def __repr__(self) -> str:
        return f"{self.name}()"


class first_seen(_Seen):  # noqa: N801
    """When the entity's first event of the window happened (a UTC datetime)."""

    name = "first_seen"
    later = False


class last_seen(_Seen):  # noqa: N801
    """When the entity's last event of the window happened (a UTC datetime)."""

    name = "last_seen"
    later = True


class tally:  # noqa: N801
    """How many events had each value of ``field``: ``{"failure": 12, "login": 1}``, smallest value
    first. One tally of an event's kind replaces a ``total`` per kind, and costs one of them.
    Exact: keeps a count per distinct value of the window."""

    def __init__(self, field: Field) -> None:
        self.field = field

    def start(self) -> dict:
        return {}  # a plain dict: a window's Counter costs more to make and to pickle

    def add(self, acc: dict, event: Any) -> dict:
        value = value_of(event, self.field)
        if value is not None:
            value = hashable(value)
            acc[value] = acc.get(value, 0) + 1
        return acc

    def merge(self, a: dict, b: dict) -> dict:
        for value, number in b.items():
            a[value] = a.get(value, 0) + number
        return a

    def result(self, acc: dict) -> dict[Any, int]:
        return {value: acc[value] for value in sorted(acc, key=order)}

    def __repr__(self) -> str:
        return f"tally({self.field!r})"


class top(tally):  # noqa: N801
    """The ``k`` most frequent values of ``field`` with their counts, most frequent first, ties by
    value: ``[("/wp-login.php", 40), ("/admin", 12)]``. Exact: counts every value of the window
    (as ``tally``, whose counts it ranks)."""

    def __init__(self, field: Field, k: int = 5) -> None:
        if k < 1:
            raise ValueError(f"top({field!r}): k must be at least 1, not {k}")
        super().__init__(field)
        self.k = k

    def result(self, acc: dict) -> list[tuple[Any, int]]:  # type: ignore[override]
        ranked = sorted(acc.items(), key=lambda item: (-item[1], order(item[0])))
        return ranked[: self.k]

    def __repr__(self) -> str:
        return f"top({self.field!r}, {self.k})"
