"""The import path plugins use: ``from datashark.documents import document``."""

from datashark.sinks.documents import TIMESTAMP_FIELD, TITLE_FIELD, document

__all__ = ["TIMESTAMP_FIELD", "TITLE_FIELD", "document"]
