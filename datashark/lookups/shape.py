"""What ``load()`` gets for one lookup, from what its source holds: the rows as they are, the
rows keyed by a column (``key``), or the set of one column's values (``values``)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from datashark.detect.measures import value_of


class ShapeError(ValueError):
    """What was read cannot take the shape the conf asks for; ``key`` names the conf key at fault."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key


def shaped(read: Any, key: str | None = None, values: str | None = None) -> Any:
    """``read`` (a list of rows, a JSON document, a set of lines) as the conf asks:

    - neither ``key`` nor ``values``: as read;
    - ``key``: a dict from each row's value of that column (a dotted path reaches into nested
      objects) to the row; a later row with the same key replaces an earlier one, and a row
      without one is left out;
    - ``values``: a frozenset of that column's values (each item of a list value).
    """
    if key is None and values is None:
        return read
    column, conf_key = (key, "key") if key is not None else (values, "values")
    assert column is not None
    if not isinstance(read, list):
        raise ShapeError(conf_key, "needs rows: a CSV file, or JSON objects (in an array, or one a line)")
    rows = [row for row in read if isinstance(row, dict)]
    found = [value_of(row, column) for row in rows]
    if read and all(value is None for value in found):
        raise ShapeError(conf_key, f"no row has {column!r}{_columns_hint(rows)}")
    if key is not None:
        return {value: row for value, row in zip(found, rows, strict=True) if _usable(value)}
    items: set[Any] = set()
    for value in found:
        for item in value if isinstance(value, list) else (value,):
            if _usable(item):
                items.add(item)
    return frozenset(items)


def size(value: Any) -> int:
    """How many entries a lookup's value has (rows, keys, values), for console lines."""
    return len(value) if hasattr(value, "__len__") else 1


def _usable(value: Any) -> bool:
    """A value that can key a dict or be a set's item: a scalar, not None."""
    return value is not None and isinstance(value, Hashable) and not isinstance(value, tuple)


def _columns_hint(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(name for row in rows[:100] for name in row))
    if not columns:
        return " (no row is an object)"
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    return f" (columns: {shown})"
