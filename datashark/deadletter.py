"""The dead-letter store: events and rows dataShark could not process, kept as JSON lines.

Executors report dead letters through a Spark accumulator, so they cost nothing while
there are none and need no second pass over the data; the driver appends them to
``<deadletter.dir>/<use case>/<date>.jsonl`` after each batch and counts them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

from pyspark.accumulators import AccumulatorParam

MAX_RAW_CHARS = 4096
MAX_KEPT_PER_BATCH = 10_000


class _Collected(AccumulatorParam):
    """``(count, records)``; records are capped so a flood of garbage cannot fill the driver."""

    def zero(self, value):
        return (0, [])

    def addInPlace(self, first, second):  # noqa: N802 (PySpark's name)
        count = first[0] + second[0]
        kept = first[1] + second[1][: max(0, MAX_KEPT_PER_BATCH - len(first[1]))]
        return (count, kept)


class DeadLetters:
    """Collects one use case's dead letters on the executors; ``flush()`` stores them."""

    def __init__(self, sc, folder: Path, usecase_name: str) -> None:
        self.accumulator = sc.accumulator((0, []), _Collected())
        self.usecase_name = usecase_name
        self.folder = folder / _slug(usecase_name)

    def add(self, stage: str, reason: str, raw: object) -> None:
        """Record one dead letter (on an executor)."""
        text = raw if isinstance(raw, str) else repr(raw)
        record = {
            "usecase": self.usecase_name,
            "stage": stage,
            "reason": reason,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "event": text[:MAX_RAW_CHARS],
            "truncated": len(text) > MAX_RAW_CHARS,
        }
        self.accumulator.add((1, [json.dumps(record, ensure_ascii=False)]))

    def flush(self) -> int:
        """Append what was collected since the last flush to today's file; returns the count."""
        count, records = self.accumulator.value
        self.accumulator.value = (0, [])
        if records:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.writelines(record + "\n" for record in records)
        return count

    @property
    def path(self) -> Path:
        return self.folder / f"{datetime.now().strftime('%Y-%m-%d')}.jsonl"


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-").lower() or "usecase"
