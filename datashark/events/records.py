"""What a use case must return: ``(key, score)`` or ``(key, score, metadata)`` rows.

Rows that are not go to the dead-letter store instead of an output plugin, so one bad row
neither crashes a stream nor reaches Elasticsearch as a half-document. This is the one place
that says what a valid row is, so every output can write every row it is given:

- ``key`` is text that UTF-8 can encode (no lone surrogates such as ``"\\ud800"``);
- ``score`` is a number (int, float, numpy's) that is finite as a float; an integer fits in 64 bits;
- ``metadata`` is None or a dict whose values are JSON values: text, numbers (as the score, no NaN
  or infinity), True/False, None, lists or tuples and dicts of them, dict keys text, at most
  ``MAX_DEPTH`` levels deep (the metadata dict is the first). Sets, bytes, dates or other objects
  are not: convert them in ``load()`` (``sorted(a_set)``, ``a_date.isoformat()``).
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable, Iterator
from numbers import Integral, Real
from typing import Any

import numpy

MAX_DEPTH = 32  # levels of containers in metadata, the metadata dict being the first
# What JSON encoders take (orjson stops at 64 bits); Elasticsearch maps longs and unsigned longs.
SMALLEST_INT = -(2**63)
LARGEST_INT = 2**64 - 1
MAX_RAW_CHARS = 4096  # the dead letters keep no more of a row


def row_problem(row: Any) -> str | None:
    """Why ``row`` is not a valid result row, or None when it is. Never raises."""
    try:
        return _row_problem(row)
    except Exception as err:  # a hostile object (a __len__ or __eq__ that raises): not a row
        return f"could not be checked ({type(err).__name__})"


def _row_problem(row: Any) -> str | None:
    if not isinstance(row, (tuple, list)) or len(row) not in (2, 3):
        return "not a (key, score[, metadata]) tuple"
    key, score = row[0], row[1]
    if not isinstance(key, str):
        return f"key is {type(key).__name__}, not str"
    if not _encodable(key):
        return "key is not UTF-8 text (a lone surrogate)"
    problem = _number_problem(score)
    if problem:
        return f"score {problem}"
    if len(row) == 3 and row[2] is not None:
        if not isinstance(row[2], dict):
            return f"metadata is {type(row[2]).__name__}, not dict"
        return _value_problem(row[2], "metadata", 1)
    return None


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _number_problem(number: Any) -> str | None:
    """Why ``number`` is no score (or metadata number), or None. Messages never print a huge int:
    Python refuses to turn one of over 4,300 digits into text."""
    if isinstance(number, bool) or not isinstance(number, Real):
        return f"is {type(number).__name__}, not a number"
    if isinstance(number, Integral):
        return None if SMALLEST_INT <= int(number) <= LARGEST_INT else "is an integer beyond 64 bits"
    try:
        value = float(number)
    except (OverflowError, ValueError):
        return "is out of the float range"
    return None if math.isfinite(value) else f"is {value}, not a finite number"


def _value_problem(value: Any, where: str, depth: int) -> str | None:
    """Why metadata ``value`` at ``where`` (``metadata['a'][0]``) is no JSON value, or None."""
    kind = type(value)
    if kind is str:
        return None if _encodable(value) else f"{where} is not UTF-8 text (a lone surrogate)"
    if value is None or kind is bool or kind is numpy.bool_:
        return None
    if kind is int:
        return None if SMALLEST_INT <= value <= LARGEST_INT else f"{where} is an integer beyond 64 bits"
    if kind is float:
        return None if math.isfinite(value) else f"{where} is {value}, not a finite number"
    if isinstance(value, (dict, list, tuple)):
        if depth > MAX_DEPTH:
            return f"metadata nests deeper than {MAX_DEPTH} levels"
        if isinstance(value, dict):
            for name, item in value.items():
                if not isinstance(name, str):
                    return f"{where} has a key of type {type(name).__name__}, not str"
                if not _encodable(name):
                    return f"{where} has a key that is not UTF-8 text (a lone surrogate)"
                problem = _value_problem(item, f"{where}[{_short(name)}]", depth + 1)
                if problem:
                    return problem
        else:
            for index, item in enumerate(value):
                problem = _value_problem(item, f"{where}[{index}]", depth + 1)
                if problem:
                    return problem
        return None
    if isinstance(value, str):  # a str subclass
        return None if _encodable(value) else f"{where} is not UTF-8 text (a lone surrogate)"
    if isinstance(value, Real) and not isinstance(value, bool):
        problem = _number_problem(value)
        return f"{where} {problem}" if problem else None
    return f"{where} is {kind.__name__}, not a JSON value"


def _short(name: str, limit: int = 40) -> str:
    """A metadata key as the reasons quote it: repr (escapes control characters), cut."""
    text = repr(name[:limit])
    return text if len(name) <= limit else text + "..."


def metadata_of(row: tuple) -> dict[str, Any]:
    """The row's metadata, ``{}`` when it has none."""
    return row[2] if len(row) == 3 and row[2] is not None else {}


class _RawRepr(reprlib.Repr):
    """repr for dead letters: bounded in depth and size, safe from objects whose repr raises."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel = MAX_DEPTH + 2
        self.maxstring = self.maxother = self.maxlong = MAX_RAW_CHARS
        self.maxtuple = self.maxlist = self.maxdict = self.maxset = self.maxfrozenset = 1000
        self.maxdeque = self.maxarray = 1000

    def repr_int(self, x: int, level: int) -> str:
        """Python prints no int of over 4,300 digits: say how big it is instead."""
        if x.bit_length() > 10_000:
            return f"<int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


RAW_REPR = _RawRepr()


def raw_text(row: Any) -> str:
    """``row`` as a dead letter stores it: its repr, cut to what the dead letters keep.

    Never raises: not for 10,000 levels of nesting, an int too long to print, nor a broken ``__repr__``.
    """
    try:
        return RAW_REPR.repr(row)[: MAX_RAW_CHARS + 1]
    except Exception as err:  # reprlib catches most; a hostile __len__ gets through
        return f"<{type(row).__name__}: repr failed with {type(err).__name__}>"


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
                self.dead_letters.add("output", f"load() returned a bad row: {problem}", raw_text(row))
