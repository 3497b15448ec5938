"""CSV output: one row per result, ``time, key, score, metadata values...``.

Rows are formatted on the executors, in chunks, and streamed to the driver one partition at
a time (``toLocalIterator``), so the driver never holds the whole result: the file lives on
the driver's filesystem, as in the original dataShark.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from datashark.errors import ConfigError
from datashark.plugins import OutputPlugin
from datashark.records import metadata_of

CHUNK_CHARS = 1 << 16
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


TORN_ROW_SEARCH = 1024 * 1024  # bytes searched back for the last complete row


class Plugin(OutputPlugin):
    CONFIGSPEC = (
        'path = string(min=1, default="UseCase.csv")',
        'separator = string(min=1, max=2, default=",")',
        "quote_char = string(min=1, max=1, default='\"')",
        "header = boolean(default=False)",
        "fields = string(default=None)",
        "escape_formulas = boolean(default=True)",
        'mode = option("append", "overwrite", default="append")',
    )

    def __init__(self, conf, usecase) -> None:
        super().__init__(conf, usecase)
        self.path = Path(usecase.resolve(conf["path"]))
        fields = conf["fields"]
        self.fields = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        delimiter = "\t" if conf["separator"] == "\\t" else conf["separator"]
        if len(delimiter) != 1 or delimiter == conf["quote_char"]:
            raise ConfigError(
                f"{usecase.path}: [out_csv], key 'separator': must be one character or \\t, "
                "other than quote_char"
            )
        self.dialect = {
            "delimiter": delimiter,
            "quotechar": conf["quote_char"],
            "quoting": csv.QUOTE_MINIMAL,
            "lineterminator": "\n",
        }

    @property
    def destination(self) -> str:
        return f"CSV File {self.path}"

    def write(self, rdd, batch) -> int:
        """On the driver: one local file, fed partition by partition as the executors format them."""
        formatter = RowFormatter(batch.timestamp, self.dialect, self.fields, self.conf["escape_formulas"])
        chunks = rdd.mapPartitions(formatter.chunks).toLocalIterator(prefetchPartitions=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.conf["mode"] == "overwrite":
            return self._replace_file(chunks, formatter)
        _drop_torn_row(self.path)
        with open(self.path, "a", newline="", encoding="utf-8") as out:
            return self._copy(chunks, out, formatter, needs_header=out.tell() == 0)

    def _replace_file(self, chunks: Iterable[tuple[str, int, list[str]]], formatter: RowFormatter) -> int:
        """Write a new file beside the old one and rename it over, so a failed run leaves the old one."""
        handle, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.chmod(tmp, _mode_for(self.path))
        try:
            with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
                count = self._copy(chunks, out, formatter, needs_header=True)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise
        return count

    def _copy(self, chunks, out, formatter: RowFormatter, *, needs_header: bool) -> int:
        count = 0
        for text, rows, first_keys in chunks:
            if needs_header and self.conf["header"]:
                out.write(formatter.header(first_keys))
            needs_header = False
            if self.debug:
                print(text, end="", flush=True)
            out.write(text)
            count += rows
        return count


def _drop_torn_row(path: Path) -> None:
    """Cut a partial last row, left by a process killed mid-write.

    Its batch was never acknowledged to the input (Kafka), so it is written again whole; without
    this the replay would be glued onto the torn row.
    """
    if not path.exists():
        return
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        start = max(0, size - TORN_ROW_SEARCH)
        handle.seek(start)
        newline = handle.read().rfind(b"\n")
        if newline >= 0 or start == 0:
            handle.truncate(start + newline + 1)


def _mode_for(path: Path) -> int:
    """The replaced file's permissions, or what ``open()`` would give a new one (mkstemp uses 0600)."""
    if path.exists():
        return path.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class RowFormatter:
    """Turns ``(key, score[, metadata])`` rows into CSV text; runs on the executors."""

    def __init__(self, batch_time: str, dialect: dict, fields: list[str] | None, escape: bool) -> None:
        self.batch_time = batch_time
        self.dialect = dialect
        self.fields = fields
        self.escape = escape

    def cells(self, row) -> list:
        """Batch time, key, score, then metadata values in ``fields`` order or sorted key order.

        Rows arrive validated (``datashark.records``): bad ones went to the dead letters.
        """
        metadata = metadata_of(row)
        keys = self.fields if self.fields is not None else sorted(metadata)
        values = [row[0], row[1], *(metadata.get(key, "") for key in keys)]
        return [self.batch_time, *(self._neutralise(v) for v in values)]

    def _neutralise(self, value):
        """Spreadsheets run cells like ``=HYPERLINK(...)``: prefix text that would be read as one."""
        if self.escape and isinstance(value, str) and value.startswith(FORMULA_STARTS):
            return "'" + value
        return value

    def chunks(self, rows: Iterable) -> Iterator[tuple[str, int, list[str]]]:
        """``(text, row count, metadata keys of the chunk's first row)``, about 64 KiB each."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, **self.dialect)
        # The csv module quotes only line-terminator characters, so a lone \r would go bare.
        quote_all = csv.writer(buffer, **{**self.dialect, "quoting": csv.QUOTE_ALL})
        count = 0
        first_keys: list[str] = []
        for row in rows:
            cells = self.cells(row)
            has_cr = any(isinstance(cell, str) and "\r" in cell for cell in cells)
            (quote_all if has_cr else writer).writerow(cells)
            if count == 0:
                first_keys = sorted(metadata_of(row))
            count += 1
            if buffer.tell() >= CHUNK_CHARS:
                yield buffer.getvalue(), count, first_keys
                buffer.seek(0)
                buffer.truncate()
                count = 0
        if count:
            yield buffer.getvalue(), count, first_keys

    def header(self, first_keys: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, **self.dialect).writerow(["time", "key", "score", *(self.fields or first_keys)])
        return buffer.getvalue()
