"""A DataFrame use case's ``schema``: Spark DDL in the conf, or a file holding DDL or Spark's JSON.

A stream's columns are fixed when it starts, so a streaming use case must name them; a batch one
lets Spark infer them from the files (one more pass over the data), which a schema saves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from datashark.config.usecase import UseCase

if TYPE_CHECKING:
    from pyspark.sql.types import StructType

# A schema file is named by its extension; anything else is DDL written in the conf.
SCHEMA_FILE_SUFFIXES = (".json", ".ddl", ".sql", ".schema", ".txt")


def event_schema(usecase: UseCase) -> StructType | None:
    """The conf's ``schema`` as a StructType, None without one; a ConfigError naming the key when
    it is no schema (needs a running SparkContext: Spark parses the DDL)."""
    from pyspark.sql.types import StructType

    text = usecase.conf["schema"]
    if not text:
        return None
    where = usecase.location.at("schema")
    if text.strip().lower().endswith(SCHEMA_FILE_SUFFIXES):
        path = Path(usecase.resolve(text.strip()))
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise where.error(f"cannot read the schema file {path}: {err.strerror or err}") from None
        if path.suffix == ".json":
            try:
                return StructType.fromJson(json.loads(text))
            except (ValueError, KeyError, TypeError) as err:
                raise where.error(f"{path} is not Spark's JSON form of a schema: {err}") from None
    try:
        schema = StructType.fromDDL(text)
    except Exception as err:  # Spark's parser raises its own exception types through py4j
        raise where.error(f"is not a Spark DDL schema: {_first_line(err)}") from None
    if not isinstance(schema, StructType):
        raise where.error("must list columns (name TYPE, ...), not one type")
    return schema


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
