"""Alerting on dataShark's findings with ElastAlert2: its own virtual environment, its config
from the use cases' ``[out_elasticsearch]``, the rules shipped in ``conf/<use case>/elastalert/``,
its writeback indices, and the run (``datashark alert``)."""

from __future__ import annotations

from datashark.errors import DataSharkError


class AlertingError(DataSharkError):
    """ElastAlert2 could not be set up or run: its environment, its indices, its process."""
