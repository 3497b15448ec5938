"""Rule matches -> findings: one per host, rule and window of event time.

key = the host; score = the rule's level on dataShark's scale (``rules.SCORE_BY_LEVEL``);
metadata = the rule (id, title, level, tags, ATT&CK techniques, file), how many events matched,
the first and last seen, a sample event's id and the users involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import functions as sf
from pyspark.sql.types import NumericType, StringType, TimestampNTZType, TimestampType

from datashark.sigma.matching import column_references, matched_rules
from datashark.sigma.rules import Detection

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
    fields: FindingFields,
    chunk: int,
    *,
    streaming: bool,
) -> DataFrame:
    """The findings of the rules (``conditions``: each rule's bound condition) over ``events``."""
    references = column_references(events.schema)
    time = event_time(events, fields.time, references)
    if streaming:  # an event without a time is placed at its batch's time, never left out
        time = sf.coalesce(time, sf.current_timestamp())
    host = _first_text(fields.host, references)
    # A generator, not a projection then a filter: Spark would copy the conditions into the filter.
    hits = events.select(
        time.alias(TIME),
        sf.coalesce(host, sf.lit(UNKNOWN_HOST)).alias(HOST),
        _first_text(fields.user, references).alias(USER),
        _first_text(fields.event_id, references).alias(EVENT),
        sf.explode(matched_rules(conditions, chunk)).alias(RULE),
    )
    silent = [detection.number for detection, _ in conditions if not detection.output]
    if silent:
        hits = hits.filter(~sf.col(RULE).isin(silent))
    if streaming:
        hits = hits.withWatermark(TIME, f"{fields.late_minutes} minutes")
    window = sf.window(TIME, f"{fields.window_minutes} minutes")
    counted = hits.groupBy(window.alias("window"), sf.col(HOST), sf.col(RULE)).agg(
        sf.count(sf.lit(1)).alias("count"),
        sf.min(TIME).alias("first_seen"),
        sf.max(TIME).alias("last_seen"),
        sf.min_by(EVENT, TIME).alias("sample_event"),
        sf.slice(sf.array_sort(sf.collect_set(USER)), 1, fields.max_users).alias("users"),
    )
    rules = sf.broadcast(rule_table(events.sparkSession, [detection for detection, _ in conditions]))
    found = counted.join(rules, RULE)
    return found.select(
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
        "rule_file",
    )


def rule_table(spark: SparkSession, detections: list[Detection]) -> DataFrame:
    """The rules as a small table to join the matches to, by ``RULE`` number."""
    rows = [
        (
            detection.number,
            detection.score,
            detection.id,
            detection.title,
            detection.level,
            detection.techniques,
            list(detection.tags),
            Path(detection.file).name,
        )
        for detection in detections
    ]
    schema = (
        f"{RULE} INT, score DOUBLE, rule_id STRING, rule STRING, level STRING, "
        "mitre ARRAY<STRING>, tags ARRAY<STRING>, rule_file STRING"
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
        column, kind = sf.col(reference), types.get(name.lower())
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
    values = [sf.nullif(sf.col(reference).cast("string"), sf.lit("")) for reference in present]
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
