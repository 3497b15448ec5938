"""Text files that outputs append to or replace: on the driver's disk, or on HDFS over WebHDFS.

Both kinds take the batch's text as an iterable, so the driver holds one chunk at a time, and
both cut a row torn by a crash before appending: its batch was never acknowledged to the
input, so it is written again whole.
"""

from __future__ import annotations

import getpass
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
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from datashark.errors import ConfigError, UseCaseError

if TYPE_CHECKING:
    from hdfs import InsecureClient

TORN_ROW_SEARCH = 1024 * 1024  # bytes searched back for the last complete row
HDFS_SCHEMES = ("hdfs", "webhdfs")
WEBHDFS_TIMEOUT = 60.0  # seconds without an answer from the NameNode or a DataNode
RECOVERY_TIMEOUT = 60.0  # seconds HDFS may take to recover the last block after a truncate

# The file's text for one batch, given whether it must start with a header.
Texts = Callable[[bool], Iterable[str]]


class LocalFile:
    """A text file on the driver's filesystem."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def append(self, texts: Texts) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        drop_torn_row(self.path)
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
    """A text file on HDFS, written through the NameNode's WebHDFS API (the ``hdfs`` package).

    WebHDFS needs no Hadoop client on the driver, and streams the upload from a generator, so
    the driver still holds one chunk at a time.
    """

    def __init__(self, uri: str, webhdfs_url: str, path: str, user: str, label: str) -> None:
        self.uri = uri
        self.label = label
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
            self._client = webhdfs_client(self.webhdfs_url, self.user)
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
        """As ``drop_torn_row`` for local files; returns the file's new size."""

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

    def _errors(self):
        return webhdfs_errors(f"{self.label} {self.uri}", self.webhdfs_url)


def webhdfs_client(webhdfs_url: str, user: str) -> InsecureClient:
    from hdfs import InsecureClient

    return InsecureClient(webhdfs_url, user=user, timeout=WEBHDFS_TIMEOUT)


def hdfs_user(configured: str | None) -> str:
    """Who HDFS's simple authentication sees: as configured, else as Hadoop's own tools would."""
    return configured or os.environ.get("HADOOP_USER_NAME") or getpass.getuser()


@contextmanager
def webhdfs_errors(what: str, webhdfs_url: str, error: type[Exception] = UseCaseError) -> Iterator[None]:
    """HDFS and network errors as one line naming ``what`` failed; other errors pass through."""
    import requests
    from hdfs.util import HdfsError

    try:
        yield
    except HdfsError as err:
        raise error(f"{what}: {_first_line(str(err))}") from err
    except requests.RequestException as err:
        reason = re.search(r"\[Errno -?\d+\] [^'\")]+", str(err))
        raise error(
            f"{what}: WebHDFS at {webhdfs_url} unreachable "
            f"({reason.group(0) if reason else type(err).__name__})"
        ) from err


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


def drop_torn_row(path: Path) -> None:
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


def text_file(
    path: str, *, webhdfs_port: int, user: str | None, label: str, where: str
) -> LocalFile | HdfsFile:
    """``path`` as a file to write: local, or on HDFS through the WebHDFS address serving it.

    ``webhdfs_port`` serves ``hdfs://`` paths (``webhdfs://`` ones name their own); ``label``
    prefixes errors (``CSV File``); ``where`` names the conf key in config errors.
    """
    if "://" not in path:
        return LocalFile(Path(path))
    parts = urlsplit(path)
    if parts.scheme not in HDFS_SCHEMES or not parts.hostname or parts.path.endswith("/") or not parts.path:
        raise ConfigError(
            f"{where}: {path} is not a local file, hdfs://namenode:port/dir/file.csv "
            "or webhdfs://namenode:http_port/dir/file.csv"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = parts.port if parts.scheme == "webhdfs" and parts.port else webhdfs_port
    user = hdfs_user(user)
    if find_spec("hdfs") is None:
        raise ConfigError(f"{where}: writing to {path} needs the hdfs package: pip install 'datashark[hdfs]'")
    return HdfsFile(path, f"http://{host}:{port}", parts.path, user, label)
