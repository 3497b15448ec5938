"""Lookups read from a file on the driver's disk, or on HDFS (any Hadoop URI, through Spark's
Hadoop filesystem): CSV with a header line, a JSON document, JSON lines, or text (one value a
line)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import orjson

from datashark.files.paths import is_local, local_path


class FileFormatError(ValueError):
    """The file's text is not what its format says."""


def csv_rows(text: str, separator: str) -> list[dict[str, str]]:
    """A dict per line after the header line, cells as text (cells past the header's dropped)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        return [{name: cell for name, cell in row.items() if name is not None} for row in reader]
    except csv.Error as err:
        raise FileFormatError(f"line {reader.line_num} is not CSV: {err}") from None


def json_document(text: str, _separator: str) -> Any:
    """The one JSON document of the file: an array of rows, or anything else as it is."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise FileFormatError(f"is not JSON: {err}") from None


def json_lines(text: str, _separator: str) -> list[Any]:
    """A JSON value per line (blank lines skipped)."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError as err:
                raise FileFormatError(f"line {number} is not JSON: {err}") from None
    return rows


def text_values(text: str, _separator: str) -> frozenset[str]:
    """The set of the file's lines, stripped; blank lines, ``#`` lines and `` #`` comments
    at a line's end skipped."""
    lines = (raw.split(" #", 1)[0].split("\t#", 1)[0].strip() for raw in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


# format = ... -> how the file's text is read (its text and the CSV separator).
FORMATS: dict[str, Callable[[str, str], Any]] = {
    "csv": csv_rows,
    "json": json_document,
    "jsonl": json_lines,
    "text": text_values,
}
# The format of a file whose conf says none, by its name's extension.
EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "text"}


def format_of(location: str) -> str | None:
    """The format a file's name says (``assets.csv``: csv), or None."""
    return EXTENSIONS.get(PurePosixPath(location).suffix.lower())


@dataclass(frozen=True)
class FileSource:
    """A lookup file: ``location`` resolved against the use case's folder, read as ``format``."""

    location: str
    format: str
    separator: str = ","
    KEY = "path"  # the conf key naming it, which errors reading it name

    @property
    def needs_spark(self) -> bool:
        """A Hadoop URI is read through the SparkContext; a local file without Spark."""
        return not is_local(self.location)

    def describe(self) -> str:
        return self.location

    def read(self, sc) -> Any:
        return FORMATS[self.format](read_text(self.location, sc), self.separator)


def read_text(location: str, sc) -> str:
    """The text of a local file, or of a Hadoop URI through ``sc``'s Hadoop filesystem (UTF-8,
    a byte-order mark dropped)."""
    if is_local(location):
        with open(local_path(location), encoding="utf-8-sig") as handle:
            return handle.read()
    if sc is None:
        raise RuntimeError(f"{location} is read through Spark, which is not started yet")
    hadoop = sc._jvm.org.apache.hadoop.fs
    path = hadoop.Path(location)
    filesystem = path.getFileSystem(sc._jsc.hadoopConfiguration())
    if not filesystem.exists(path):
        raise FileNotFoundError(location)
    stream = filesystem.open(path)
    try:
        text = sc._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    return str(text).removeprefix("\ufeff")
