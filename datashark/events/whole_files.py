"""Events of formats that need a whole file rather than one line at a time.

A Zeek TSV log is read through its ``#`` header (see ``events/zeek.py``), and a JSON file may be
one array of events, as Windows event exports (Winlogbeat, OTRF Security-Datasets,
``ConvertTo-Json``) are, pretty-printed over many lines or not. ``FileRecords`` is the ``flatMap``
function for Spark's ``binaryFiles`` (pairs of path and content) and ``records_of_file`` does the
same for a file's text. Both yield, in order:

* a ``dict``: an event already parsed (Zeek logs, elements of a JSON array);
* a ``str``: a line for the event stage to parse as usual (every other format, and JSON files
  that are not an array: JSON lines keep working); ``FileRecords`` yields ``bytes`` for a line
  that is not UTF-8 (see ``content_lines``);
* an ``EventFailure``: a record that cannot become an event, with the reason for its dead letter.

A JSON array is read element by element with the standard library's decoder (``raw_decode``),
not with orjson on the whole text: orjson is faster but builds every event of the file at once
and, on a syntax error, keeps none of them. So a file holds its text and one element at a time;
the events before a break in the array are kept, and the break is one failure that says where
it is (the rest of the file cannot be read reliably).

Limits: a whole file is in one task's memory: its bytes, and for a JSON array its text as well
(two to five times the file's size in all). Spark reads at most 2 GB into one file's content, and
``binaryFiles`` does not split files; keep whole-file inputs to logs of a rotation's size. Gzip
files (``.gz``, Zeek's archives) are decompressed, up to ``max_file_bytes``.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from datashark.events.zeek import ZeekError, ZeekLogReader

WHOLE_FILE_FORMATS = ("zeek",)  # formats that cannot be read a line at a time
MAX_RAW_CHARS = 4096  # of a failed record's text, kept for its dead letter
DEFAULT_MAX_FILE_BYTES = 1 << 30  # of a decompressed gzip file
BOM = "\ufeff"
JSON_SPACE = re.compile(r"[ \t\n\r]*")
GZIP_MAGIC = b"\x1f\x8b"
JSON_SPACE_BYTES = re.compile(rb"[ \t\n\r]*")

Record = dict[str, Any] | str | bytes


@dataclass(frozen=True)
class EventFailure:
    """A record of a file that cannot become an event: the caller makes it a dead letter."""

    reason: str
    raw: str


def needs_whole_files(fmt: str) -> bool:
    """True for a format whose files must be read whole (``binaryFiles``, not ``textFile``)."""
    return fmt in WHOLE_FILE_FORMATS


def records_of_file(
    text: str, fmt: str, *, name: str = "", path_field: str | None = None
) -> Iterator[Record | EventFailure]:
    """The records of one file's ``text`` read as ``fmt`` (see the module's description).

    ``name`` (the file's name) starts the reasons of its failures; ``path_field``, for Zeek TSV
    logs, names a key that gets each event's ``#path``.
    """
    if text.startswith(BOM):
        text = text[1:]
    if fmt == "zeek":
        yield from zeek_records(text_lines(text), name=name, path_field=path_field)
    elif fmt == "json" and is_json_array(text):
        yield from json_array_records(text, name=name)
    else:
        yield from text_lines(text)


class FileRecords:
    """flatMap function over ``binaryFiles`` pairs (path, content): the records of each file.

    Picklable: it holds only the format and options. Gzip content is decompressed first.
    """

    def __init__(
        self, fmt: str, *, path_field: str | None = None, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    ) -> None:
        self.format = fmt
        self.path_field = path_field
        self.max_file_bytes = max_file_bytes

    def __call__(self, path_and_content: tuple[str, bytes]) -> Iterator[Record | EventFailure]:
        path, content = path_and_content
        name = path.rstrip("/").rpartition("/")[2]
        if content.startswith(GZIP_MAGIC):
            content, problem = gunzip(content, self.max_file_bytes)
            if problem:
                yield EventFailure(f"{name}: {problem}", "")
        if content.startswith(BOM.encode("utf-8")):
            content = content[3:]
        if self.format == "zeek":
            yield from zeek_records(content_lines(content), name=name, path_field=self.path_field)
        elif self.format == "json" and _starts_with_bracket(content):
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError as err:
                yield EventFailure(f"{name}: not valid UTF-8 (byte {err.start}): the file is unread", "")
                return
            yield from json_array_records(text, name=name)
        else:
            yield from content_lines(content)


def content_lines(content: bytes) -> Iterator[str | bytes]:
    """A file's lines (split on ``\\n``, a trailing ``\\r`` removed) as text; a line that is not
    UTF-8 as ``bytes``, which the event stage dead-letters."""
    start, end = 0, len(content)
    while start < end:
        stop = content.find(b"\n", start)
        if stop < 0:
            stop = end
        line = content[start:stop]
        start = stop + 1
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            yield line


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``content_lines`` splits them: on ``\\n`` only, a trailing ``\\r`` removed."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        if stop < 0:
            stop = end
        line = text[start:stop]
        start = stop + 1
        yield line[:-1] if line.endswith("\r") else line


def zeek_records(
    lines: Iterable[str | bytes], *, name: str = "", path_field: str | None = None
) -> Iterator[dict[str, Any] | EventFailure]:
    """The events of one Zeek log (TSV or JSON); a line that cannot be read is a failure naming it."""
    reader = ZeekLogReader(path_field=path_field)
    where = f"{name} line" if name else "line"
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            yield EventFailure(f"{where} {number}: not valid UTF-8", _shown(line.decode("utf-8", "replace")))
            continue
        try:
            event = reader.event(line)
        except ZeekError as err:
            yield EventFailure(f"{where} {number}: {err}", _shown(line))
            continue
        if event is not None:
            yield event


def is_json_array(text: str) -> bool:
    """True when the first character that is not white space is ``[``."""
    start = JSON_SPACE.match(text).end()  # type: ignore[union-attr]  # matches the empty string
    return text.startswith("[", start)


def json_array_records(text: str, *, name: str = "") -> Iterator[dict[str, Any] | EventFailure]:
    """The elements of the JSON array ``text``, one at a time: each object an event, anything
    else a failure; a syntax error ends the file with one failure saying where."""
    where = f"{name}: " if name else ""
    decoder = json.JSONDecoder()
    pos = JSON_SPACE.match(text).end() + 1  # type: ignore[union-attr]  # past the "["
    pos = _skip_space(text, pos)
    if text.startswith("]", pos):
        yield from _after_array(text, pos + 1, where)
        return
    index = 0
    while True:
        start = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            yield EventFailure(
                f"{where}broken JSON array at line {err.lineno} column {err.colno} (element {index}): "
                f"{err.msg}; the rest of the file is unread",
                _shown(text[start:]),
            )
            return
        except RecursionError:
            yield EventFailure(
                f"{where}element {index} of the JSON array is nested too deeply; "
                "the rest of the file is unread",
                _shown(text[start:]),
            )
            return
        if isinstance(value, dict):
            yield value
        else:
            kind = "null" if value is None else type(value).__name__
            yield EventFailure(
                f"{where}element {index} of the JSON array: a {kind}, not an object", _shown(text[start:pos])
            )
        index += 1
        pos = _skip_space(text, pos)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
            continue
        if text.startswith("]", pos):
            yield from _after_array(text, pos + 1, where)
            return
        line, column = _line_column(text, pos)
        found = "the end of the file" if pos >= len(text) else repr(text[pos])
        yield EventFailure(
            f"{where}broken JSON array at line {line} column {column}: {found} after element {index - 1}, "
            "expected ',' or ']'; the rest of the file is unread",
            _shown(text[pos:]),
        )
        return


def _after_array(text: str, pos: int, where: str) -> Iterator[EventFailure]:
    pos = _skip_space(text, pos)
    if pos < len(text):
        line, column = _line_column(text, pos)
        yield EventFailure(
            f"{where}text after the JSON array's closing ']' at line {line} column {column}",
            _shown(text[pos:]),
        )


def _skip_space(text: str, pos: int) -> int:
    return JSON_SPACE.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string


def _line_column(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _shown(raw: str) -> str:
    return raw[:MAX_RAW_CHARS]


def _starts_with_bracket(content: bytes) -> bool:
    start = JSON_SPACE_BYTES.match(content).end()  # type: ignore[union-attr]  # matches the empty string
    return content.startswith(b"[", start)


def gunzip(content: bytes, limit: int) -> tuple[bytes, str | None]:
    """The decompressed gzip ``content`` (every member), and why it is incomplete, or None.

    Stops at ``limit`` bytes (a decompression bomb, or a file too large for one task); a cut
    stream gives what could be decompressed."""
    out = bytearray()
    data = content
    while data:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += stream.decompress(data, limit - len(out) + 1)
        except zlib.error as err:
            return bytes(out), f"broken gzip data: {err}"
        if len(out) > limit:
            return bytes(out[:limit]), f"larger than {limit} bytes decompressed: the rest is unread"
        if not stream.eof:
            return bytes(out), "the gzip data is cut: the file's end is unread"
        data = stream.unused_data
    return bytes(out), None
