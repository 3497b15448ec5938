"""Result rows as documents: the one shape Elasticsearch, syslog and Parquet outputs share.

``{"@timestamp": <batch time, ISO-8601 UTC>, "title": ..., <pkey>: key, <score>: score, ...metadata}``.
Metadata cannot overwrite the fields dataShark sets: a use case's ``{"score": "high"}`` must
not turn a dashboard's number into text.
"""

from __future__ import annotations

from typing import Any

import numpy

from datashark.events.records import metadata_of

TIMESTAMP_FIELD = "@timestamp"
TITLE_FIELD = "title"


def document(row: tuple, utc_iso: str, title: str, key_field: str, score_field: str) -> dict[str, Any]:
    """The document of one valid result row (see ``records.row_problem``)."""
    fixed = {TIMESTAMP_FIELD: utc_iso, TITLE_FIELD: title, key_field: row[0], score_field: row[1]}
    extra = {name: value for name, value in metadata_of(row).items() if name not in fixed}
    return {**fixed, **extra}


def json_scalar(value: Any) -> Any:
    """``json.dumps``'s ``default`` for metadata: numpy's scalars (what a use case's numpy code
    returns) as the Python values they hold; anything else is no JSON (rows are validated, so
    nothing else should reach here)."""
    if isinstance(value, numpy.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
