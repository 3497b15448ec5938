"""The output of a test run: the findings, kept on the driver instead of written anywhere.

Delivery hands an output only the rows that pass ``records.row_problem`` (the others are dead
letters), so a case sees exactly what a real output would write.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

from datashark.plugin_api import OutputBatch, OutputPlugin

if TYPE_CHECKING:
    from pyspark import RDD

    from datashark.config.usecase import UseCase


class Collector(OutputPlugin):
    """Keeps every delivered row, and the times of the batches written."""

    def __init__(self, conf: dict[str, Any], usecase: UseCase) -> None:
        super().__init__(conf, usecase)
        self.rows: list[tuple] = []
        self.delivered: list[datetime] = []
        self._lock = threading.Lock()

    @property
    def destination(self) -> str:
        return "the test's findings"

    def write(self, rdd: RDD, batch: OutputBatch) -> int:
        rows = [tuple(row) for row in rdd.collect()]
        with self._lock:
            self.rows.extend(rows)
            self.delivered.append(batch.time)
        return len(rows)
