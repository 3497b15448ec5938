"""``load()``'s DataFrame -> ``(key, score, metadata)`` rows, the rows every output plugin writes.

The DataFrame needs a ``key`` and a ``score`` column (cast to text and to a double in the JVM);
every other column is metadata (without any, rows are ``(key, score)``), or, when the only other
column is a struct or map named ``metadata``, its fields are. NULL metadata values are left out;
timestamps become ISO-8601 UTC text, dates ISO dates, decimals floats, nested rows dicts. A row
whose key or score is NULL (or did not cast) reaches the dead letters through the same checks
as an RDD use case's rows.
"""

from __future__ import annotations

import base64
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pyspark.sql import functions as sf

from datashark.errors import UseCaseError
from datashark.frames.log_filter import quoted

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.sql import DataFrame

KEY, SCORE, METADATA = "key", "score", "metadata"


def check_findings(result: Any) -> DataFrame:
    """``result`` if it is a DataFrame with ``key`` and ``score`` columns, else UseCaseError."""
    from pyspark.sql import DataFrame

    if not isinstance(result, DataFrame):
        raise UseCaseError(f"load() returned {type(result).__name__}, expected a DataFrame (api = dataframe)")
    missing = [name for name in (KEY, SCORE) if name not in result.columns]
    if missing:
        raise UseCaseError(
            f"load()'s DataFrame has no {' and no '.join(repr(name) for name in missing)} column "
            f"(its columns: {', '.join(result.columns) or 'none'}): return key, score and metadata columns"
        )
    return result


def finding_columns(result: DataFrame) -> DataFrame:
    """``key`` as text, ``score`` as a double (NULL when it does not cast: a dead letter),
    then the metadata columns as they are."""
    others = [quoted(name) for name in result.columns if name not in (KEY, SCORE)]
    return result.select(
        sf.col(KEY).cast("string").alias(KEY), sf.col(SCORE).try_cast("double").alias(SCORE), *others
    )


def finding_rows(findings: DataFrame) -> RDD:
    """The rows of ``findings`` (``finding_columns``' DataFrame) as ``(key, score, metadata)``
    tuples, converted on the executors."""
    return findings.rdd.map(FindingRow(metadata_names(findings)))


def metadata_names(frame: DataFrame) -> list[str] | None:
    """The metadata columns; None when one struct or map column named ``metadata`` holds it."""
    from pyspark.sql.types import MapType, StructType

    others = [field for field in frame.schema.fields if field.name not in (KEY, SCORE)]
    nested = len(others) == 1 and others[0].name == METADATA
    if nested and isinstance(others[0].dataType, (StructType, MapType)):
        return None
    return [field.name for field in others]


class FindingRow:
    """One Spark Row -> ``(key, score, metadata)``; picklable, runs on the executors."""

    def __init__(self, names: list[str] | None) -> None:
        self.names = names

    def __call__(self, row) -> tuple[Any, ...]:
        if not self.names and self.names is not None:  # no metadata column: (key, score)
            return (row[0], row[1])
        if self.names is None:
            nested = row[2]
            fields = nested.asDict() if hasattr(nested, "asDict") else dict(nested or {})
        else:
            fields = {name: row[index + 2] for index, name in enumerate(self.names)}
        metadata = {name: json_value(value) for name, value in fields.items() if value is not None}
        return (row[0], row[1], metadata)


def json_value(value: Any) -> Any:
    """A Spark value as a JSON value (what output plugins write)."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.astimezone()  # Spark gives session-local naive times
        return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "asDict"):  # a nested Row
        return {name: json_value(item) for name, item in value.asDict().items()}
    if isinstance(value, dict):
        return {str(name): json_value(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return value
