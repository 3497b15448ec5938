"""What a use case must return: ``(key, score)`` or ``(key, score, metadata)`` rows.

Rows that are not go to the dead-letter store instead of an output plugin, so one bad row
neither crashes a stream nor reaches Elasticsearch as a half-document.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from numbers import Real
from typing import Any


def row_problem(row: Any) -> str | None:
    """Why ``row`` is not a valid result row, or None when it is."""
    if not isinstance(row, (tuple, list)) or len(row) not in (2, 3):
        return "not a (key, score[, metadata]) tuple"
    key, score = row[0], row[1]
    if not isinstance(key, str):
        return f"key is {type(key).__name__}, not str"
    if isinstance(score, bool) or not isinstance(score, Real):
        return f"score is {type(score).__name__}, not a number"
    if not math.isfinite(score):
        return f"score is {score}, not a finite number"
    if len(row) == 3 and row[2] is not None and not isinstance(row[2], dict):
        return f"metadata is {type(row[2]).__name__}, not dict"
    return None


def metadata_of(row: tuple) -> dict[str, Any]:
    """The row's metadata, ``{}`` when it has none."""
    return row[2] if len(row) == 3 and row[2] is not None else {}


class ValidRows:
    """mapPartitions function: passes valid rows on, sends the others to the dead letters."""

    def __init__(self, dead_letters) -> None:
        self.dead_letters = dead_letters

    def __call__(self, rows: Iterable[Any]) -> Iterator[Any]:
        for row in rows:
            problem = row_problem(row)
            if problem is None:
                yield row
            else:
                self.dead_letters.add("output", f"load() returned a bad row: {problem}", repr(row))
