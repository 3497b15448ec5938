"""Rule matches -> findings: one per host, rule and window of event time.

key = the host; score = the rule's level on dataShark's scale (``rules.SCORE_BY_LEVEL``);
metadata = the rule (id, title, level, tags, ATT&CK techniques, file), how many events matched,
the first and last seen, a sample event's id and the users involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark import StorageLevel
from pyspark.sql import functions as sf
from pyspark.sql.types import NumericType, StringType, TimestampNTZType, TimestampType

from datashark.sigma.correlations import Correlation
from datashark.sigma.matching import column_references, matched_rules
from datashark.sigma.rules import Detection, Rule

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

TIME, HOST, USER, EVENT, RULE = "_sigma_time", "_sigma_host", "_sigma_user", "_sigma_event", "_sigma_rule"
EPOCH_MS_ABOVE = 1e11  # a number this large counts milliseconds
HAS_ZONE = r"(?i)(z|[+-]\d\d:?\d\d)$"
UNKNOWN_HOST = "unknown"


@dataclass(frozen=True)
class FindingFields:
    """Where the events keep what a finding names: each a list tried in order."""

    host: list[str]
    user: list[str]
    time: list[str]
    event_id: list[str]
    window_minutes: int
    late_minutes: int
    max_users: int


def sigma_findings(
    events: DataFrame,
    conditions: list[tuple[Detection, str]],
    correlations: list[Correlation],
    fields: FindingFields,
    chunk: int,
    *,
    streaming: bool,
) -> DataFrame:
    """The findings of the rules (``conditions``: each rule's bound condition) and of the
    correlations over their matches, over ``events``."""
    references = column_references(events.schema)
    time = event_time(events, fields.time, references)
    if streaming:  # an event without a time is placed at its batch's time, never left out
        # The watermark over every event, not the matches only: a quiet hour closes windows too.
        events = events.withColumn(TIME, sf.coalesce(time, sf.current_timestamp()))
        events = events.withWatermark(TIME, f"{fields.late_minutes} minutes")
        time = sf.col(TIME)
    grouped = list(dict.fromkeys(name for item in correlations for name in item.fields_read))
    # A generator, not a projection then a filter: Spark would copy the conditions into the filter.
    hits = events.select(
        time.alias(TIME),
        sf.coalesce(_first_text(fields.host, references), sf.lit(UNKNOWN_HOST)).alias(HOST),
        _first_text(fields.user, references).alias(USER),
        _first_text(fields.event_id, references).alias(EVENT),
        *(_first_text([name], references).alias(_column(name)) for name in grouped),
        sf.explode(matched_rules(conditions, chunk)).alias(RULE),
    )
    if correlations and not streaming:
        # The matches (a few of the events) kept for the correlations, which would each evaluate
        # every rule again. A stream's cannot be: there each correlation costs one more pass.
        hits = hits.persist(StorageLevel.MEMORY_AND_DISK)
    reported = [detection.number for detection, _ in conditions if detection.output]
    found = _rule_findings(hits.filter(sf.col(RULE).isin(reported)), fields)
    for correlation in correlations:
        found = found.unionByName(_correlation_findings(hits, correlation, fields))
    rules: list[Rule] = [detection for detection, _ in conditions]
    table = sf.broadcast(rule_table(events.sparkSession, [*rules, *correlations]))
    return found.join(table, RULE).select(
        sf.col(HOST).alias("key"),
        sf.col("score"),
        "rule_id",
        "rule",
        "level",
        "mitre",
        "tags",
        "count",
        "first_seen",
        "last_seen",
        "sample_event",
        sf.when(sf.size("users") > 0, sf.col("users")).alias("users"),
        sf.col("window.start").alias("window_start"),
        sf.col("window.end").alias("window_end"),
        "correlation",
        "group",
        "measure",
        "rule_file",
    )


def _measures(fields: FindingFields) -> list[Column]:
    """What every finding says of the matches it counts."""
    return [
        sf.count(sf.lit(1)).alias("count"),
        sf.min(TIME).alias("first_seen"),
        sf.max(TIME).alias("last_seen"),
        sf.min_by(EVENT, TIME).alias("sample_event"),
        sf.slice(sf.array_sort(sf.collect_set(USER)), 1, fields.max_users).alias("users"),
    ]


def _rule_findings(hits: DataFrame, fields: FindingFields) -> DataFrame:
    """A finding per host, rule and window."""
    window = sf.window(TIME, f"{fields.window_minutes} minutes").alias("window")
    return hits.groupBy(window, sf.col(HOST), sf.col(RULE)).agg(
        *_measures(fields),
        sf.lit(None).cast("string").alias("group"),
        sf.lit(None).cast("double").alias("measure"),
    )


def _correlation_findings(hits: DataFrame, correlation: Correlation, fields: FindingFields) -> DataFrame:
    """A finding per group of a correlation whose measure meets its condition in a window of
    its time span (the host: the group's first)."""
    window = sf.window(TIME, f"{correlation.seconds} seconds").alias("window")
    groups = [sf.col(_column(name)) for name in correlation.group_by]
    matches = hits.filter(sf.col(RULE).isin(list(correlation.rules)))
    counted = matches.groupBy(window, *groups).agg(
        *_measures(fields),
        sf.min(HOST).alias(HOST),
        correlation_measure(correlation).alias("measure"),
    )
    group = sf.concat_ws(
        ", ",
        *(
            sf.concat(sf.lit(f"{name}="), sf.coalesce(sf.col(_column(name)), sf.lit("")))
            for name in correlation.group_by
        ),
    )
    return counted.filter(sf.expr(f"measure {correlation.operator} {correlation.threshold!r}")).select(
        "window",
        HOST,
        sf.lit(correlation.number).alias(RULE),
        "count",
        "first_seen",
        "last_seen",
        "sample_event",
        "users",
        (group if correlation.group_by else sf.lit(None).cast("string")).alias("group"),
        sf.col("measure").cast("double").alias("measure"),
    )


def correlation_measure(correlation: Correlation) -> Column:
    """What a correlation compares with its threshold, over a group's matches in a window."""
    if correlation.kind == "event_count":
        return sf.count(sf.lit(1))
    # Distinct counts as the size of a set: Structured Streaming refuses count(DISTINCT ...).
    if correlation.kind == "temporal":
        return sf.size(sf.collect_set(sf.col(RULE)))
    value = sf.col(_column(correlation.field or ""))
    if correlation.kind == "value_count":
        return sf.size(sf.collect_set(value))
    number = value.try_cast("double")
    return sf.sum(number) if correlation.kind == "value_sum" else sf.avg(number)


def _column(field: str) -> str:
    """The column of ``hits`` holding a field a correlation groups by or measures."""
    return f"_sigma_field_{field}"


def rule_table(spark: SparkSession, rules: list[Rule]) -> DataFrame:
    """The rules and correlations as a small table to join the findings to, by ``RULE`` number."""
    rows = [
        (
            rule.number,
            rule.score,
            rule.id,
            rule.title,
            rule.level,
            rule.techniques,
            list(rule.tags),
            rule.condition if isinstance(rule, Correlation) else None,
            Path(rule.file).name,
        )
        for rule in rules
    ]
    schema = (
        f"{RULE} INT, score DOUBLE, rule_id STRING, rule STRING, level STRING, "
        "mitre ARRAY<STRING>, tags ARRAY<STRING>, correlation STRING, rule_file STRING"
    )
    return spark.createDataFrame(rows, schema)


def event_time(events: DataFrame, names: list[str], references: dict[str, str]) -> Column:
    """An event's time from the first of ``names`` it has: timestamps as they are, numbers as
    epoch seconds (milliseconds when that large), text as ISO 8601 (UTC when it names no zone)."""
    types = {name.lower(): kind for name, kind in _leaf_types(events).items()}
    parts: list[Column] = []
    for name in names:
        reference = references.get(name.lower())
        if reference is None:
            continue
        column, kind = sf.expr(reference), types.get(name.lower())
        if isinstance(kind, (TimestampType, TimestampNTZType)):
            parts.append(column.cast("timestamp"))
        elif isinstance(kind, NumericType):
            number = column.cast("double")
            seconds = sf.when(sf.abs(number) > EPOCH_MS_ABOVE, number / 1000).otherwise(number)
            parts.append(sf.timestamp_seconds(seconds))
        else:
            text = sf.trim(column.cast("string"))
            zoned = sf.when(text.rlike(HAS_ZONE), text).otherwise(sf.concat(text, sf.lit("Z")))
            parts.append(sf.try_to_timestamp(zoned))
    return sf.coalesce(*parts) if parts else sf.lit(None).cast("timestamp")


def _first_text(names: list[str], references: dict[str, str]) -> Column:
    """The first of the fields ``names`` an event has a non-empty value in, as text."""
    present = [references[name.lower()] for name in names if name.lower() in references]
    values = [sf.nullif(sf.expr(reference).cast("string"), sf.lit("")) for reference in present]
    return sf.coalesce(*values) if values else sf.lit(None).cast(StringType())


def _leaf_types(events: DataFrame) -> dict:
    from pyspark.sql.types import StructType

    found: dict = {}

    def visit(struct: StructType, prefix: str) -> None:
        for item in struct.fields:
            name = f"{prefix}{item.name}"
            found.setdefault(name, item.dataType)
            if isinstance(item.dataType, StructType):
                visit(item.dataType, f"{name}.")

    visit(events.schema, "")
    return found
