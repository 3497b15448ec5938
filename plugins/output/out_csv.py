"""CSV output: one row per result, ``time, key, score, metadata values...``.

Rows are formatted on the executors, in chunks, and streamed to the driver one partition at
a time (``toLocalIterator``), so the driver never holds the whole result. The file lives on
the driver's filesystem, as in the original dataShark, or on HDFS (``hdfs://`` or
``webhdfs://`` paths), written over WebHDFS with the same bytes a local file would get.
"""

from __future__ import annotations

import csv
import getpass
import io
import os
import posixpath
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from datashark.errors import ConfigError, UseCaseError
from datashark.plugins import OutputPlugin
from datashark.records import metadata_of

if TYPE_CHECKING:
    from hdfs import InsecureClient

    from datashark.usecase import UseCase

CHUNK_CHARS = 1 << 16
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TORN_ROW_SEARCH = 1024 * 1024  # bytes searched back for the last complete row
HDFS_SCHEMES = ("hdfs", "webhdfs")
WEBHDFS_TIMEOUT = 60.0  # seconds without an answer from the NameNode or a DataNode
RECOVERY_TIMEOUT = 60.0  # seconds HDFS may take to recover the last block after a truncate

# The file's text for one batch, given whether it must start with the header.
Texts = Callable[[bool], Iterable[str]]


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
    )

    def __init__(self, conf, usecase) -> None:
        super().__init__(conf, usecase)
        self.file = _file_for(conf, usecase)
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
            self.file.replace(texts(True))
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
                print(text, end="", flush=True)
            yield text
            self.rows += rows


class LocalFile:
    """A CSV file on the driver's filesystem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def append(self, texts: Texts) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_row(self.path)
        with open(self.path, "a", newline="", encoding="utf-8") as out:
            out.writelines(texts(out.tell() == 0))

    def replace(self, text: Iterable[str]) -> None:
        """Write a new file beside the old one and rename it over, so a failed run leaves the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        os.chmod(tmp, _mode_for(self.path))
        try:
            with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
                out.writelines(text)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise


class HdfsFile:
    """A CSV file on HDFS, written through the NameNode's WebHDFS API (the ``hdfs`` package).

    WebHDFS needs no Hadoop client on the driver, and streams the upload from a generator, so
    the driver still holds one chunk at a time.
    """

    def __init__(self, uri: str, webhdfs_url: str, path: str, user: str) -> None:
        self.uri = uri
        self.webhdfs_url = webhdfs_url
        self.path = path
        self.user = user
        self._client = None

    def __getstate__(self) -> dict:
        """Picklable, as streaming checkpoints its outputs: the client (locks, sockets) is rebuilt."""
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> InsecureClient:
        """The WebHDFS client, made on first use."""
        if self._client is None:
            from hdfs import InsecureClient

            self._client = InsecureClient(self.webhdfs_url, user=self.user, timeout=WEBHDFS_TIMEOUT)
        return self._client

    def __str__(self) -> str:
        return self.uri

    def append(self, texts: Texts) -> None:
        with self._errors():
            status = self.client.status(self.path, strict=False)
            if status is None:
                self.client.makedirs(posixpath.dirname(self.path))
                self.client.write(self.path, data=_encoded(texts(True)))
                return
            size = self._drop_torn_row(status["length"])
            self.client.write(self.path, data=_encoded(texts(size == 0)), append=True)

    def replace(self, text: Iterable[str]) -> None:
        """Write a new file beside the old one, then delete the old one and rename the new one.

        WebHDFS cannot rename over a file, so for the moment between the two calls there is
        no file; a failed write leaves the old one untouched.
        """
        with self._errors():
            old = self.client.status(self.path, strict=False)
            folder = posixpath.dirname(self.path)
            self.client.makedirs(folder)
            tmp = posixpath.join(folder, f".{posixpath.basename(self.path)}.{uuid.uuid4().hex}")
            try:
                self.client.write(tmp, data=_encoded(text), permission=old["permission"] if old else None)
                if old is not None:
                    self.client.delete(self.path)
                self.client.rename(tmp, self.path)
            except BaseException:
                with suppress(Exception):  # the write's own error is the one to report
                    self.client.delete(tmp)
                raise

    def _drop_torn_row(self, size: int) -> int:
        """As ``_drop_torn_row`` for local files; returns the file's new size."""

        def read(offset: int, length: int) -> bytes:
            with self.client.read(self.path, offset=offset, length=length) as reader:
                return reader.read()

        complete = _complete_length(size, read)
        if complete < size:
            self._truncate(complete)
        return complete

    def _truncate(self, length: int) -> None:
        """WebHDFS TRUNCATE (which the ``hdfs`` package lacks), then wait until HDFS may append.

        Cutting inside a block starts a recovery of that block; until it ends, appends fail.
        """
        import requests
        from hdfs.util import HdfsError

        response = requests.post(
            f"{self.webhdfs_url}/webhdfs/v1{self.path}",
            params={"op": "TRUNCATE", "newlength": length, "user.name": self.user},
            timeout=WEBHDFS_TIMEOUT,
        )
        if not response.ok:
            raise HdfsError(response.json()["RemoteException"]["message"])
        if response.json()["boolean"]:
            return
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while True:
            try:
                self.client.write(self.path, data=b"", append=True)
                return
            except HdfsError as err:
                if err.exception not in ("RecoveryInProgressException", "AlreadyBeingCreatedException") or (
                    time.monotonic() > deadline
                ):
                    raise
            time.sleep(0.5)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """HDFS and network errors as one line naming the file; Spark's errors pass through."""
        import requests
        from hdfs.util import HdfsError

        try:
            yield
        except HdfsError as err:
            raise UseCaseError(f"CSV File {self.uri}: {_first_line(str(err))}") from err
        except requests.RequestException as err:
            reason = re.search(r"\[Errno -?\d+\] [^'\")]+", str(err))
            raise UseCaseError(
                f"CSV File {self.uri}: WebHDFS at {self.webhdfs_url} unreachable "
                f"({reason.group(0) if reason else type(err).__name__})"
            ) from err


def _file_for(conf: dict[str, Any], usecase: UseCase) -> LocalFile | HdfsFile:
    """The configured ``path``: a local file, or an HDFS file and the WebHDFS address serving it."""
    path = usecase.resolve(conf["path"])
    if "://" not in path:
        return LocalFile(Path(path))
    where = f"{usecase.path}: [out_csv], key 'path'"
    parts = urlsplit(path)
    if parts.scheme not in HDFS_SCHEMES or not parts.hostname or parts.path.endswith("/") or not parts.path:
        raise ConfigError(
            f"{where}: {path} is not a local file, hdfs://namenode:port/dir/file.csv "
            "or webhdfs://namenode:http_port/dir/file.csv"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = parts.port if parts.scheme == "webhdfs" and parts.port else conf["webhdfs_port"]
    user = conf["user"] or os.environ.get("HADOOP_USER_NAME") or getpass.getuser()
    if find_spec("hdfs") is None:
        raise ConfigError(f"{where}: writing to {path} needs the hdfs package: pip install 'datashark[hdfs]'")
    return HdfsFile(path, f"http://{host}:{port}", parts.path, user)


def _encoded(texts: Iterable[str]) -> Iterator[bytes]:
    return (text.encode("utf-8") for text in texts)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "failed"


def _complete_length(size: int, read: Callable[[int, int], bytes]) -> int:
    """The file's length without a partial last row; ``read(offset, length)`` reads its bytes.

    A row longer than TORN_ROW_SEARCH is left as it is.
    """
    if size == 0 or read(size - 1, 1) == b"\n":
        return size
    start = max(0, size - TORN_ROW_SEARCH)
    newline = read(start, size - start).rfind(b"\n")
    return start + newline + 1 if newline >= 0 or start == 0 else size


def _drop_torn_row(path: Path) -> None:
    """Cut a partial last row, left by a process killed mid-write.

    Its batch was never acknowledged to the input (Kafka), so it is written again whole; without
    this the replay would be glued onto the torn row.
    """
    if not path.exists():
        return
    with open(path, "r+b") as handle:

        def read(offset: int, length: int) -> bytes:
            handle.seek(offset)
            return handle.read(length)

        size = handle.seek(0, os.SEEK_END)
        complete = _complete_length(size, read)
        if complete < size:
            handle.truncate(complete)


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
