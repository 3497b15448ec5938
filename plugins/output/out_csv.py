"""CSV output: one row per result, ``time, key, score, metadata values...``.

Rows are formatted on the executors, in chunks, and streamed to the driver one partition at
a time (``toLocalIterator``), so the driver never holds the whole result. The file lives on
the driver's filesystem or on HDFS (``hdfs://`` or
``webhdfs://`` paths), written over WebHDFS with the same bytes a local file would get.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datashark.events.records import metadata_of
from datashark.plugin_api import OutputPlugin, debug_print
from datashark.sinks.documents import json_scalar
from datashark.sinks.textfile import HdfsFile, LocalFile, text_file

if TYPE_CHECKING:
    from datashark.config.usecase import UseCase

CHUNK_CHARS = 1 << 16
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Plugin(OutputPlugin):
    CONFIGSPEC = (
        'path = string(min=1, default="UseCase.csv")',
        'separator = string(min=1, max=2, default=",")',
        "quote_char = string(min=1, max=1, default='\"')",
        "header = boolean(default=False)",
        "fields = string(default=None)",
        "escape_formulas = boolean(default=True)",
        'mode = option("append", "overwrite", default="append")',
        "webhdfs_port = integer(min=1, max=65535, default=9870)",
        "user = string(min=1, default=None)",
        "ca_file = string(min=1, default=None)",
        'auth = option("simple", "kerberos", default="simple")',
    )

    def __init__(self, conf, usecase) -> None:
        super().__init__(conf, usecase)
        self.file = _file_for(conf, usecase)
        fields = conf["fields"]
        self.fields = [f.strip() for f in fields.split(",") if f.strip()] if fields else None
        delimiter = "\t" if conf["separator"] == "\\t" else conf["separator"]
        if len(delimiter) != 1 or delimiter == conf["quote_char"]:
            raise self.location.at("separator").error("must be one character or \\t, other than quote_char")
        self.dialect = {
            "delimiter": delimiter,
            "quotechar": conf["quote_char"],
            "quoting": csv.QUOTE_MINIMAL,
            "lineterminator": "\n",
        }

    @property
    def path(self) -> Path | str:
        """The local file's Path, or the HDFS file's URI."""
        return self.file.path if isinstance(self.file, LocalFile) else self.file.uri

    @property
    def destination(self) -> str:
        return f"CSV File {self.file}"

    def write(self, rdd, batch) -> int:
        """On the driver: one file, fed partition by partition as the executors format them."""
        formatter = RowFormatter(batch.timestamp, self.dialect, self.fields, self.conf["escape_formulas"])
        chunks = rdd.mapPartitions(formatter.chunks).toLocalIterator(prefetchPartitions=True)
        texts = FileText(chunks, formatter, header=self.conf["header"], echo=self.debug)
        if self.conf["mode"] == "overwrite":
            self.file.replace(texts.whole_file())
        else:
            self.file.append(texts)
        return texts.rows


class FileText:
    """The text a batch adds to the file, chunk by chunk, header first when the file needs one.

    Both kinds of file consume it as they write, so the driver holds one chunk at a time; it
    counts the rows it handed out.
    """

    def __init__(
        self,
        chunks: Iterable[tuple[str, int, list[str]]],
        formatter: RowFormatter,
        *,
        header: bool,
        echo: bool,
    ) -> None:
        self.chunks = chunks
        self.formatter = formatter
        self.header = header
        self.echo = echo
        self.rows = 0

    def __call__(self, needs_header: bool) -> Iterator[str]:
        for text, rows, first_keys in self.chunks:
            if needs_header and self.header:
                yield self.formatter.header(first_keys)
            needs_header = False
            if self.echo:
                for line in self.formatter.lines(text):
                    debug_print(line)
            yield text
            self.rows += rows

    def whole_file(self) -> Iterator[str]:
        """The batch's text as the whole file (``mode = overwrite``).

        An empty result is a result: it replaces the file, with the header when ``header`` is on
        (``time,key,score`` plus ``fields``; other metadata columns come from rows, and there are none).
        """
        yield from self(True)
        if self.rows == 0 and self.header:
            yield self.formatter.header([])


def _file_for(conf: dict[str, Any], usecase: UseCase) -> LocalFile | HdfsFile:
    """The configured ``path``: a local file, or an HDFS file and the WebHDFS address serving it."""
    return text_file(
        usecase.resolve(conf["path"]),
        webhdfs_port=conf["webhdfs_port"],
        user=conf["user"],
        label="CSV File",
        where=usecase.location.section("out_csv").at("path"),
        ca_file=usecase.resolve(conf["ca_file"]) if conf["ca_file"] else None,
        auth=conf["auth"],
    )


def _cell_value(value: Any) -> Any:
    """A metadata value as its cell holds it: lists, tuples and dicts as JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, default=json_scalar)
    return value


class RowFormatter:
    """Turns ``(key, score[, metadata])`` rows into CSV text; runs on the executors."""

    def __init__(self, batch_time: str, dialect: dict, fields: list[str] | None, escape: bool) -> None:
        self.batch_time = batch_time
        self.dialect = dialect
        self.fields = fields
        self.escape = escape

    def cells(self, row) -> list:
        """Batch time, key, score, then metadata values in ``fields`` order or sorted key order.

        A list or dict value is written as JSON (``["a", "b"]``, ``{"x": 1}``), which a SIEM can
        parse and an analyst can read; None and a ``fields`` key the row lacks are empty cells.
        Text a spreadsheet would run as a formula is then neutralised, whatever the value was.
        Rows arrive validated (``datashark.events.records``): bad ones went to the dead letters.
        """
        metadata = metadata_of(row)
        keys = self.fields if self.fields is not None else sorted(metadata)
        values = [row[0], row[1], *(_cell_value(metadata.get(key)) for key in keys)]
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
        """The header line; metadata keys come from ``load()``, so they are neutralised as values are."""
        buffer = io.StringIO()
        names = [self._neutralise(name) for name in self.fields or first_keys]
        csv.writer(buffer, **self.dialect).writerow(["time", "key", "score", *names])
        return buffer.getvalue()

    def lines(self, text: str) -> Iterator[str]:
        """A chunk's rows one per line, for ``debug``: each row's text as the file gets it (quotes
        included), a newline inside a value staying in its row's line, where ``debug_print`` escapes it."""
        reader_dialect = {name: self.dialect[name] for name in ("delimiter", "quotechar", "quoting")}
        physical = list(io.StringIO(text, newline=""))
        reader = csv.reader(physical, **reader_dialect)
        start = 0
        try:
            for _ in reader:
                yield "".join(physical[start : reader.line_num]).removesuffix("\n")
                start = reader.line_num
        except csv.Error:  # not expected of our own text; the rest is still shown, as one line
            yield "".join(physical[start:])
