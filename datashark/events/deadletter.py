"""The dead-letter store: events and rows dataShark could not process, kept as JSON lines.

Executors report dead letters through a Spark accumulator, so they cost nothing while
there are none and need no second pass over the data; the driver appends them to
``<deadletter.dir>/<use case>/<date>.jsonl`` after each batch and counts them.

Dead letters are raw events, so the store is private: folders 0700, files 0600, opened without
following a symbolic link. A use case may cap what its store grows by per day and keep it a
number of days (``deadletter.max.bytes.per.day``, ``deadletter.retention.days``).
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.accumulators import AccumulatorParam

from datashark.config.usecase import folder_name
from datashark.errors import UseCaseError
from datashark.files.private import FILE_MODE, private_folder
from datashark.sinks.textfile import cut_torn_row, open_regular_file

if TYPE_CHECKING:
    from datashark.config.settings import Settings
    from datashark.config.usecase import UseCase

MAX_RAW_CHARS = 4096
MAX_KEPT_PER_BATCH = 10_000  # records one flush keeps; the driver holds them in memory
OUTPUT = "output"  # the stage of rows an output rejected: their events are committed with the batch
DAY_FILE = re.compile(r"(\d{4}-\d{2}-\d{2})\.jsonl")
# Line breaks to str.splitlines and JavaScript, though JSON lets them stand in a string.
LINE_BREAKS = re.compile("[\x85\u2028\u2029]")


class Letters:
    """An accumulator's value: how many dead letters, the records kept, and the output rejections
    not kept for want of room; and how many lines the use case's pattern did not match that
    ``unmatched = count`` counts without storing.

    Merged in place (``merge``), so adding one record costs the same however many are kept. On the
    driver, Spark's accumulator thread merges tasks' values while a streaming job may be flushing:
    ``take`` empties it under the same lock, so no update lands between reading and resetting.
    """

    def __init__(self) -> None:
        self.count = 0
        self.kept: list[str] = []
        self.output_overflow = 0
        self.rejected_rows = 0  # dead letters of the output stage: rows load() returned
        self.unmatched = 0
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {
            "count": self.count,
            "kept": self.kept,
            "output_overflow": self.output_overflow,
            "rejected_rows": self.rejected_rows,
            "unmatched": self.unmatched,
        }

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def merge(self, other: Letters) -> Letters:
        with self._lock:
            self.count += other.count
            room = MAX_KEPT_PER_BATCH - len(self.kept)
            self.kept.extend(other.kept[: max(0, room)])
            self.output_overflow += other.output_overflow
            self.rejected_rows += other.rejected_rows
            self.unmatched += other.unmatched
        return self

    def record(self, text: str, stage: str) -> None:
        """One dead letter, as an executor adds it."""
        self.count += 1
        if stage == OUTPUT:
            self.rejected_rows += 1
        if len(self.kept) < MAX_KEPT_PER_BATCH:
            self.kept.append(text)
        elif stage == OUTPUT:
            self.output_overflow += 1

    def take(self) -> tuple[int, list[str], int]:
        """``(count, kept, output_overflow)`` since the last take; empties this value."""
        with self._lock:
            taken = (self.count, self.kept, self.output_overflow)
            self.count, self.kept, self.output_overflow = 0, [], 0
        return taken

    def take_unmatched(self) -> int:
        """The unmatched lines counted since the last call; resets the count."""
        with self._lock:
            taken, self.unmatched = self.unmatched, 0
        return taken

    def take_rejected_rows(self) -> int:
        """The output stage's dead letters (rejected rows) since the last call; resets the count."""
        with self._lock:
            taken, self.rejected_rows = self.rejected_rows, 0
        return taken


class _OneLetter:
    """What ``DeadLetters.add`` hands the accumulator: one record, merged without a Letters per call."""

    __slots__ = ("stage", "text")

    def __init__(self, text: str, stage: str) -> None:
        self.text, self.stage = text, stage


class _OneUnmatched:
    """What ``DeadLetters.count_unmatched`` hands the accumulator: one line counted, not stored."""

    __slots__ = ()


_UNMATCHED = _OneUnmatched()


class _Collected(AccumulatorParam):
    """Spark's view of ``Letters``: a fresh one per task, tasks' ones merged into the driver's."""

    def zero(self, value):
        return Letters()

    def addInPlace(self, first, second):  # noqa: N802 (PySpark's name)
        if isinstance(second, _OneLetter):
            first.record(second.text, second.stage)
            return first
        if isinstance(second, _OneUnmatched):
            first.unmatched += 1
            return first
        return first.merge(second)


@dataclass(frozen=True)
class Flushed:
    """One flush: dead letters counted, those not stored because of today's byte cap, and the
    lines the pattern did not match (``unmatched = count``), counted only."""

    count: int = 0
    not_kept: int = 0
    rejected_rows: int = 0  # of ``count``, rows from load() rejected at the output stage
    unmatched: int = 0

    def __str__(self) -> str:
        unmatched = f"{self.unmatched} unmatched" if self.unmatched else ""
        if not self.count:
            return unmatched
        over = f", {self.not_kept} over today's cap not kept" if self.not_kept else ""
        return f"{self.count} Dead Letters{over}" + (f", {unmatched}" if unmatched else "")


class RejectedRowsOverflowError(UseCaseError):
    """More rows rejected by an output than one batch's dead letters hold."""


class DeadLetters:
    """Collects one use case's dead letters on the executors; ``flush()`` stores them.

    ``max_bytes_per_day`` (0: no cap) bounds what one day's file grows to: past it dead letters
    are counted, not stored. ``retention_days`` (0: forever) removes older days' files at a flush.
    """

    def __init__(
        self,
        sc,
        folder: Path,
        usecase_name: str,
        *,
        max_bytes_per_day: int = 0,
        retention_days: int = 0,
    ) -> None:
        self.accumulator = sc.accumulator(Letters(), _Collected())
        self.usecase_name = usecase_name
        self.base = folder
        self.folder = folder / folder_name(usecase_name)
        self.max_bytes_per_day = max_bytes_per_day
        self.retention_days = retention_days
        self.announced = False  # whether the run said where this store is (each run makes its own)

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
        line = json.dumps(record, ensure_ascii=False)
        if not line.isascii():  # characters that some readers take for a line break stay escaped
            line = LINE_BREAKS.sub(lambda found: f"\\u{ord(found[0]):04x}", line)
        self.accumulator.add(_OneLetter(line, stage))

    def count_unmatched(self) -> None:
        """Count one line the use case's pattern did not match, storing nothing (on an executor)."""
        self.accumulator.add(_UNMATCHED)

    def flush(self) -> Flushed:
        """Append what was collected since the last flush to today's file.

        Raises ``RejectedRowsOverflowError`` when an output rejected more rows than the batch's
        dead letters could keep: the batch fails, so its events are not committed and come again.
        An ``OSError`` (a full disk) fails the batch likewise, after what fitted was written.
        """
        rejected_rows = self.accumulator.value.take_rejected_rows()
        count, records, output_overflow = self.accumulator.value.take()
        unmatched = self.accumulator.value.take_unmatched()
        not_kept = self._store(records) if records else 0
        self._expire()
        if output_overflow:
            raise RejectedRowsOverflowError(
                f"{self.usecase_name}: the output rejected {output_overflow} more rows than one batch's "
                f"{MAX_KEPT_PER_BATCH} dead letters hold; the batch failed so none is lost"
            )
        return Flushed(count, not_kept, unmatched=unmatched, rejected_rows=rejected_rows)

    @property
    def path(self) -> Path:
        return self.folder / f"{datetime.now().strftime('%Y-%m-%d')}.jsonl"

    def _store(self, records: list[str]) -> int:
        """Append ``records`` within today's cap; returns how many did not fit it."""
        private_folder(self.base)
        private_folder(self.folder)
        handle = open_regular_file(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE, "dead letters")
        with os.fdopen(handle, "ab") as out:
            size = cut_torn_row(handle)  # a line cut by a full disk; its batch failed and comes again
            room = self.max_bytes_per_day - size if self.max_bytes_per_day else None
            lines: list[bytes] = []
            for index, record in enumerate(records):
                line = (record + "\n").encode("utf-8", "backslashreplace")
                if room is not None:
                    if len(line) > room:
                        out.write(b"".join(lines))
                        return len(records) - index
                    room -= len(line)
                lines.append(line)
            out.write(b"".join(lines))
        return 0

    def _expire(self) -> None:
        """Delete the days' files older than ``retention_days``."""
        if not self.retention_days or not self.folder.is_dir():
            return
        oldest = date.today() - timedelta(days=self.retention_days - 1)
        for path in self.folder.iterdir():
            match = DAY_FILE.fullmatch(path.name)
            if match and date.fromisoformat(match[1]) < oldest:
                path.unlink(missing_ok=True)


def dead_letters_for(sc, settings: Settings, usecase: UseCase) -> DeadLetters:
    """The use case's store, with its conf's cap and retention, else datashark.conf's."""
    conf = usecase.conf

    def setting(key: str, default: int) -> int:
        value = conf.get(key)
        return default if value is None else value

    return DeadLetters(
        sc,
        settings.deadletter_dir,
        usecase.name,
        max_bytes_per_day=setting("deadletter.max.bytes.per.day", settings.deadletter_max_bytes_per_day),
        retention_days=setting("deadletter.retention.days", settings.deadletter_retention_days),
    )
