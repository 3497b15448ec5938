"""All the rules over the events in one pass: which rules each event matches.

Each rule's condition is bound to the events' columns (a field the events lack reads as NULL),
checked by Spark's analyzer and Java's regex compiler at start (a rule that fails is set aside
with the reason), and the conditions are evaluated in one projection: ``chunk`` of them to an
array, each array keeping the numbers of the rules that matched, concatenated. Chunks keep each
generated method small enough for the JVM to compile (bench/sigma_bench.py measures the size).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from pyspark.sql import functions as sf
from pyspark.sql.types import DataType, StructType

from datashark.sigma.backend import bind
from datashark.sigma.guards import Guarded, guard_tree
from datashark.sigma.rules import Detection, Unconverted

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

# rlike '<pattern>' as the backend writes it: a SQL string literal, quotes and backslashes escaped.
RLIKE_LITERAL = re.compile(r"rlike '((?:[^'\\]|\\.)*)'")


def column_references(schema: StructType) -> dict[str, str]:
    """Every field of ``schema`` a rule may name, lower-cased (Sigma's field names are matched
    without case) -> its column reference: top-level columns (``Image``; a flat
    ``winlog.event_id`` too) and the paths into nested records (``winlog.event_data.Image``).
    Names that differ by case only (``SourceProcessGUID``, ``SourceProcessGuid``) read as the
    first of them that is not NULL; of names whose types differ (``User`` text, ``user`` a
    record), the first is read."""
    variants: dict[str, list[tuple[str, DataType]]] = {}

    def visit(struct: StructType, names: tuple[str, ...]) -> None:
        for item in struct.fields:
            path = (*names, item.name)
            reference = ".".join(_quoted(name) for name in path)
            variants.setdefault(".".join(path).lower(), []).append((reference, item.dataType))
            if isinstance(item.dataType, StructType):
                visit(item.dataType, path)

    visit(schema, ())
    references = {}
    for name, found in variants.items():
        alike = [reference for reference, kind in found if kind == found[0][1]]
        references[name] = alike[0] if len(alike) == 1 else f"coalesce({', '.join(alike)})"
    return references


def bound_condition(detection: Detection, references: dict[str, str]) -> str:
    """The rule's condition over columns of ``references`` (``column_references``)."""
    return bind(detection.condition, {name: references.get(name.lower()) for name in detection.fields})


def runnable(
    events: DataFrame, detections: list[Detection], chunk: int, compile_regex: Callable[[str], None]
) -> tuple[list[tuple[Detection, str]], list[Unconverted]]:
    """The detections whose bound condition Spark accepts over ``events`` and whose regexes
    Java compiles (``compile_regex`` raises on a bad one), with that condition; the others with
    Spark's or Java's reason. Analysed a chunk at a time, a failing chunk split to find the rule."""
    references = column_references(events.schema)
    kept: list[tuple[Detection, str]] = []
    failed: list[Unconverted] = []
    for detection in detections:
        condition = bound_condition(detection, references)
        problem = _regex_problem(condition, compile_regex)
        if problem:
            failed.append(Unconverted(detection.file, detection.title, problem))
        else:
            kept.append((detection, condition))
    accepted: list[tuple[Detection, str]] = []
    for part in _chunks(kept, chunk):
        accepted.extend(_analysed(events, part, failed))
    return accepted, failed


def _analysed(
    events: DataFrame, part: list[tuple[Detection, str]], failed: list[Unconverted]
) -> list[tuple[Detection, str]]:
    try:
        frame = events.select(*(sf.expr(condition).cast("boolean") for _, condition in part))
        frame.schema  # noqa: B018  (analysis happens here)
        return part
    except Exception as err:  # Spark's AnalysisException or ParseException, through py4j
        if len(part) == 1:
            detection = part[0][0]
            failed.append(Unconverted(detection.file, detection.title, _spark_reason(err)))
            return []
        middle = len(part) // 2
        return _analysed(events, part[:middle], failed) + _analysed(events, part[middle:], failed)


def matched_rules(conditions: list[tuple[Detection, str]], chunk: int) -> Column:
    """An array of the numbers of the rules an event matches (empty: none). Rules sharing
    leading tests are evaluated under them, those tested once (``guards``)."""
    tree = guard_tree([(detection.number, condition) for detection, condition in conditions])
    return _concatenated(_matches(tree, chunk))


def _matches(node: Guarded, chunk: int) -> list[Column]:
    arrays: list[Column] = []
    for part in _chunks(node.rules, chunk):
        numbered = [sf.when(sf.expr(condition), sf.lit(number)) for number, condition in part]
        arrays.append(sf.filter(sf.array(*numbered), lambda number: number.isNotNull()))
    for guard, group in node.groups.items():
        arrays.append(sf.when(sf.expr(guard), _concatenated(_matches(group, chunk))).otherwise(_none()))
    return arrays


def _concatenated(arrays: list[Column]) -> Column:
    if not arrays:
        return _none()
    return arrays[0] if len(arrays) == 1 else sf.concat(*arrays)


def _none() -> Column:
    return sf.array().cast("array<int>")


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + max(size, 1)]


def _regex_problem(condition: str, compile_regex: Callable[[str], None]) -> str | None:
    for literal in RLIKE_LITERAL.findall(condition):
        pattern = re.sub(r"\\(.)", r"\1", literal)
        try:
            compile_regex(pattern)
        except Exception as err:  # py4j's error carrying Java's PatternSyntaxException
            lines = str(err).strip().splitlines() or [type(err).__name__]
            reason = next((line for line in lines if "PatternSyntaxException" in line), lines[0])
            return f"regex {pattern!r} does not compile in Java: {reason.split(': ', 1)[-1]}"
    return None


def _spark_reason(err: Exception) -> str:
    text = " ".join(str(err).split())
    return f"Spark refuses its condition: {text[:300]}"


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
