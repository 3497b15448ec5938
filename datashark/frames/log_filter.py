"""``[log_filter]`` as Spark SQL conditions, so a DataFrame use case's filter runs in the JVM.

The meaning is the RDD flavour's (``events.log_filter``): every ``[[include]]`` pattern must
match at the start of its field (``re.match``), any ``[[exclude]]`` match drops the event, a
missing field (or NULL) matches nothing, and values that are not text are matched on their JSON
text. Patterns that are plain text become ``startswith`` or equality tests, which Spark evaluates
several times faster than a regex; the rest become ``rlike`` anchored at the start, after the few
spellings where Python's regex syntax differs from Java's are translated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql import functions as sf

from datashark.errors import ConfLocation
from datashark.events.log_filter import LogFilter

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

REGEX_CHARACTERS = frozenset(".^$*+?{}[]\\|()")
# Python-only regex spellings, not escaped (after an even number of backslashes): named groups,
# references to them, the end of input.
NOT_ESCAPED = r"((?:^|[^\\])(?:\\\\)*)"
NAMED_GROUP = re.compile(NOT_ESCAPED + r"\(\?P<\w+>")
NAMED_REFERENCE = re.compile(NOT_ESCAPED + r"\(\?P=(\w+)\)")
END_OF_INPUT = re.compile(NOT_ESCAPED + r"\\Z")


def filter_condition(
    log_filter: LogFilter, frame: DataFrame, where: ConfLocation, *, warn: Callable[[str], None]
) -> Column | None:
    """One condition keeping what ``log_filter`` keeps, over ``frame``'s columns; None when the
    filter is empty. A key naming no column of ``frame`` matches nothing (``warn`` says so)."""
    types = {field.name: field.dataType for field in frame.schema.fields}
    conditions = []
    for section, rules in (("include", log_filter.include), ("exclude", log_filter.exclude)):
        for key, pattern in rules:
            if key not in types:
                warn(
                    f"{where.section('log_filter', section).at(key)}: the events have no column {key!r}, "
                    + ("so no event passes" if section == "include" else "so it drops nothing")
                )
                matched = sf.lit(False)
            else:
                matched = sf.coalesce(matches(column_text(key, types[key]), pattern.pattern), sf.lit(False))
            conditions.append(matched if section == "include" else ~matched)
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined = combined & condition
    return combined


def column_text(name: str, data_type: DataType) -> Column:
    """The text a pattern is matched against: strings as they are, numbers and booleans as
    their JSON text, structs, arrays and maps as JSON."""
    from pyspark.sql.types import ArrayType, MapType, StringType, StructType

    column = sf.col(quoted(name))
    if isinstance(data_type, StringType):
        return column
    if isinstance(data_type, (StructType, ArrayType, MapType)):
        return sf.to_json(column)
    return column.cast("string")


def quoted(name: str) -> str:
    """A top-level column name for ``sf.col``: Zeek's ``id.orig_h`` is one name, not a struct path."""
    return "`" + name.replace("`", "``") + "`"


def matches(text: Column, pattern: str) -> Column:
    """``re.match(pattern, text)`` as a Spark condition (NULL for a NULL text)."""
    pattern = pattern.removeprefix("^")  # re.match anchors at the start already
    whole = pattern.endswith("$") and not pattern.endswith("\\$")
    body = pattern[:-1] if whole else pattern
    regex = text.rlike(f"^(?:{java_regex(pattern)})")
    if body.startswith(".*") and (inner := _literal(body[2:])):  # .*\.local$: a suffix or a part
        plain = text.endswith(inner) if whole else text.contains(inner)
        return sf.when(text.contains("\n"), regex).otherwise(plain)  # .* stops at a newline
    alternatives = _literal_alternatives(body, grouped=whole)
    if alternatives is not None:
        if whole:  # Python's $ also matches before a final newline
            return text.isin([*alternatives, *(literal + "\n" for literal in alternatives)])
        tests = [text.startswith(literal) for literal in alternatives]
        combined = tests[0]
        for test in tests[1:]:
            combined = combined | test
        return combined
    return regex


def java_regex(pattern: str) -> str:
    """``pattern`` in Java's regex syntax (Spark's ``rlike``), meaning what it means to Python:
    Unicode classes (``\\d`` is any digit, ``(?U)``), only ``\n`` ending a line for ``.`` and
    ``$`` (``(?d)``), ``\\Z`` as Java's ``\\z``. Named groups lose their names, which Java spells
    more narrowly and the filter never reads: ``(?P<src_ip>...)`` is ``(...)`` and ``(?P=src_ip)``
    the group's number."""
    try:
        numbers = re.compile(pattern).groupindex
    except re.error:
        numbers = {}
    pattern = NAMED_GROUP.sub(lambda found: f"{found[1]}(", pattern)
    pattern = NAMED_REFERENCE.sub(lambda found: f"{found[1]}(?:\\{numbers.get(found[2], 0)})", pattern)
    pattern = END_OF_INPUT.sub(lambda found: f"{found[1]}\\z", pattern)
    return f"(?dU){pattern}"


def _literal_alternatives(pattern: str, *, grouped: bool) -> list[str] | None:
    """``["a", "b"]`` for ``a|b``, ``(a|b)`` or ``(?:a|b)`` of plain texts; None for a regex.
    ``grouped``: alternatives must be in a group (``a|b$`` means ``a`` or ``b$``)."""
    body = pattern
    if body.startswith("(?:") and body.endswith(")"):
        body = body[3:-1]
    elif body.startswith("(") and body.endswith(")") and not body.startswith("(?"):
        body = body[1:-1]
    elif grouped and "|" in body:
        return None
    literals = []
    for part in body.split("|"):
        literal = _literal(part)
        if literal is None or not literal:
            return None
        literals.append(literal)
    return literals


def _literal(part: str) -> str | None:
    """The text ``part`` matches when it is plain text (``\\.`` escapes allowed), else None."""
    text = []
    index = 0
    while index < len(part):
        char = part[index]
        if char == "\\":
            if index + 1 >= len(part) or part[index + 1].isalnum():
                return None  # \d, \w, \b ...: a regex
            text.append(part[index + 1])
            index += 2
            continue
        if char in REGEX_CHARACTERS:
            return None
        text.append(char)
        index += 1
    return "".join(text)


def check_java_regexes(log_filter: LogFilter, where: ConfLocation, jvm) -> None:
    """Every pattern that stays a regex must compile in Java too: a ConfigError naming the key."""
    for section, rules in (("include", log_filter.include), ("exclude", log_filter.exclude)):
        for key, pattern in rules:
            try:
                jvm.java.util.regex.Pattern.compile(java_regex(pattern.pattern))
            except Exception as err:  # py4j's error carrying Java's PatternSyntaxException
                detail = str(err).strip().splitlines()
                reason = next((line for line in detail if "PatternSyntaxException" in line), detail[0])
                raise (
                    where.section("log_filter", section)
                    .at(key)
                    .error(
                        f"{pattern.pattern!r} is valid in Python but not in Java's regex syntax, "
                        f"which api = dataframe uses: {reason.split(': ', 1)[-1]}"
                    )
                ) from None
