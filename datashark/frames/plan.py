"""Which of its events' fields a DataFrame use case reads, from the plan of its findings.

Spark's JSON parse costs by the fields it builds: parsing Kafka messages with the 24 fields of
Zeek's dns.log schema took twice the time of reading them from Kafka (bench/README.md).
Spark prunes the fields itself when it reads JSON files, and for a ``from_json`` without
options; dataShark's parse of Kafka messages has options (the corrupt-record column) and runs in
a generator, which Spark does not prune. So before a streaming use case on Kafka starts, its
``load()`` is called on a batch stand-in for the stream (one message, parsed as the stream parses
them; Spark optimizes only batch plans outside a running query), the fields its findings
reference are read off the optimized plan, and the stream parses only those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pyspark.sql import functions as sf

from datashark.frames.events import FrameEvents, finish, value_frame
from datashark.frames.schema import event_schema

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from datashark.run.prepare import Prepared

PARSE_NODE = "Generate"  # inline(array(from_json(...))): see events.value_frame


def fields_load_reads(
    spark: SparkSession, prepared: Prepared, findings_of: Callable[[FrameEvents], DataFrame]
) -> list[str] | None:
    """The fields of the use case's schema its findings (``findings_of``: ``load()`` called on
    events) read; None: every field (no schema, or ``load()`` failed on the stand-in: the
    stream's own call reports what fails)."""
    schema = event_schema(prepared.usecase)
    if schema is None:
        return None
    # Not a constant: Spark would fold the parse of a literal away.
    message = spark.range(1).select(sf.col("id").cast("string").cast("binary").alias("value"))
    try:
        findings = findings_of(finish(value_frame(prepared.usecase, message), prepared))
    except Exception:
        return None
    return fields_read(findings, schema.fieldNames())


def fields_read(findings: DataFrame, fields: list[str]) -> list[str] | None:
    """Those of ``fields`` (the parsed events' columns) that ``findings`` reads: a superset,
    since any column of the same name counts, which is safe; None when the plan shows no parse
    (nothing to prune) or cannot be read."""
    try:
        plan = findings._jdf.queryExecution().optimizedPlan()
        names = {attribute.name() for attribute in _items(plan.output())}
        parses = 0
        pending = [plan]
        while pending:
            node = pending.pop()
            if node.nodeName() == PARSE_NODE and "from_json" in node.generator().toString():
                parses += 1
                continue  # below it: the messages, not the events
            names.update(attribute.name() for attribute in _items(node.references().toSeq()))
            pending.extend(_items(node.children()))
    except Exception:  # a plan py4j cannot walk: parse every field, as without this
        return None
    if parses == 0:
        return None
    return [name for name in fields if name in names]


def _items(sequence) -> list:
    """A Scala sequence's items."""
    return [sequence.apply(index) for index in range(sequence.size())]
