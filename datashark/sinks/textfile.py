"""Text files that outputs append to or replace: on the driver's disk, or on HDFS over WebHDFS.

Both kinds take the batch's text as an iterable, so the driver holds one chunk at a time, and
both cut a row torn by a crash before appending: its batch was never acknowledged to the
input, so it is written again whole.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from datashark.errors import ConfLocation, UseCaseError
from datashark.files.paths import has_scheme
from datashark.files.webhdfs import WebHdfs, webhdfs, webhdfs_errors

if TYPE_CHECKING:
    from hdfs import Client

TORN_ROW_SEARCH = 1024 * 1024  # bytes searched back for the last complete row
HDFS_SCHEMES = ("hdfs", "webhdfs", "swebhdfs")
RECOVERY_TIMEOUT = 60.0  # seconds HDFS may take to recover the last block after a truncate

# The file's text for one batch, given whether it must start with a header.
Texts = Callable[[bool], Iterable[str]]


class LocalFile:
    """A text file on the driver's filesystem.

    Opened without following a symbolic link at its path (``O_NOFOLLOW``): a link planted where
    the output goes (in a shared folder, say) is refused with one line, never written through, so
    its target is untouched. New files get ``0666`` less the process's umask, applied by the kernel.
    """

    def __init__(self, path: Path, label: str = "File") -> None:
        self.path = path
        self.label = label

    def __str__(self) -> str:
        return str(self.path)

    def append(self, texts: Texts) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._open(os.O_RDWR | os.O_APPEND | os.O_CREAT)
        with os.fdopen(handle, "a", newline="", encoding="utf-8", errors="backslashreplace") as out:
            size = cut_torn_row(handle)
            out.writelines(texts(size == 0))

    def replace(self, text: Iterable[str]) -> None:
        """Write a new file beside the old one and rename it over, so a failed run leaves the old one.

        A symbolic link at the path is refused, as by ``append``: the rename would replace the
        link, not write its target, but the user meant the target.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = self._old_status()
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}")
        handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        try:
            if old is not None:
                os.fchmod(handle, stat.S_IMODE(old.st_mode))
            with os.fdopen(handle, "w", newline="", encoding="utf-8", errors="backslashreplace") as out:
                out.writelines(text)
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise

    def _open(self, flags: int) -> int:
        return open_regular_file(self.path, flags, 0o666, self.label)

    def _old_status(self) -> os.stat_result | None:
        """The file being replaced (not a link's target), None when there is none."""
        try:
            status = os.lstat(self.path)
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(status.st_mode):
            raise self._symlink_error()
        if not stat.S_ISREG(status.st_mode):
            raise UseCaseError(f"{self.label} {self.path}: not a regular file")
        return status

    def _symlink_error(self) -> UseCaseError:
        return _symlink_error(self.label, self.path)


def open_regular_file(path: Path, flags: int, mode: int, label: str) -> int:
    """``path``'s descriptor, opened with ``flags`` (created with ``mode``, less the umask) without
    following a symbolic link at it; a one-line UseCaseError starting with ``label`` when it is
    a link or not a regular file (a FIFO would block, a device would take anything)."""
    try:
        handle = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as err:
        if err.errno == errno.ELOOP:
            raise _symlink_error(label, path) from None
        if err.errno == errno.EISDIR:
            raise UseCaseError(f"{label} {path}: not a regular file") from None
        raise
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise UseCaseError(f"{label} {path}: not a regular file")
    return handle


def _symlink_error(label: str, path: Path) -> UseCaseError:
    return UseCaseError(f"{label} {path}: is a symbolic link, which outputs do not follow")


class HdfsFile:
    """A text file on HDFS, written through the NameNode's WebHDFS API (the ``hdfs`` package).

    WebHDFS needs no Hadoop client on the driver, and streams the upload from a generator, so
    the driver still holds one chunk at a time.
    """

    def __init__(self, uri: str, connection: WebHdfs, path: str, label: str) -> None:
        self.uri = uri
        self.label = label
        self.connection = connection
        self.path = path
        self._client = None

    def __getstate__(self) -> dict:
        """Picklable, as streaming checkpoints its outputs: the client (locks, sockets) is rebuilt."""
        return {**self.__dict__, "_client": None}

    @property
    def client(self) -> Client:
        """The WebHDFS client, made on first use."""
        if self._client is None:
            self._client = self.connection.client()
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
        from hdfs.util import HdfsError

        # Through the client's session: its certificate check, login and user name.
        response = self.client._request(
            "POST",
            f"{self.connection.url}/webhdfs/v1{self.path}",
            params={"op": "TRUNCATE", "newlength": length},
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
        return webhdfs_errors(f"{self.label} {self.uri}", self.connection)


def _encoded(texts: Iterable[str]) -> Iterator[bytes]:
    """UTF-8, as local files: what it cannot encode (a lone surrogate) as a backslash escape, not an error."""
    return (text.encode("utf-8", "backslashreplace") for text in texts)


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
    this the replay would be glued onto the torn row. A symbolic link at ``path`` is not followed.
    """
    try:
        handle = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        cut_torn_row(handle)
    finally:
        os.close(handle)


def cut_torn_row(handle: int) -> int:
    """``drop_torn_row`` on a file open for reading and writing; returns its new size."""
    size = os.fstat(handle).st_size
    complete = _complete_length(size, lambda offset, length: os.pread(handle, length, offset))
    if complete < size:
        os.ftruncate(handle, complete)
    return complete


def text_file(
    path: str,
    *,
    webhdfs_port: int,
    user: str | None,
    label: str,
    where: ConfLocation,
    ca_file: str | None = None,
    auth: str = "simple",
) -> LocalFile | HdfsFile:
    """``path`` as a file to write: local, or on HDFS through the WebHDFS address serving it.

    ``webhdfs_port`` serves ``hdfs://`` paths (``webhdfs://`` and ``swebhdfs://``, WebHDFS over
    HTTPS verified against ``ca_file`` or the system's CAs, name their own); ``auth`` is
    ``simple`` or ``kerberos``; ``label`` prefixes errors (``CSV File``); ``where`` names the conf
    key in config errors.
    """
    if not has_scheme(path):
        return LocalFile(Path(path), label)
    parts = urlsplit(path)
    if parts.scheme not in HDFS_SCHEMES or not parts.hostname or parts.path.endswith("/") or not parts.path:
        raise where.error(
            f"{path} is not a local file, hdfs://namenode:port/dir/file.csv "
            "webhdfs://namenode:http_port/dir/file.csv or swebhdfs://namenode:https_port/dir/file.csv"
        )
    if parts.scheme == "swebhdfs" and not parts.port:
        raise where.error(f"{path} names no port (swebhdfs://namenode:https_port/dir/file.csv)")
    port = parts.port if parts.scheme != "hdfs" and parts.port else webhdfs_port
    scheme = "https" if parts.scheme == "swebhdfs" else "http"
    if find_spec("hdfs") is None:
        raise where.error(f"writing to {path} needs the hdfs package: pip install 'datashark[hdfs]'")
    connection = webhdfs(
        parts.hostname,
        port,
        scheme=scheme,
        user=user,
        auth=auth,
        ca_file=ca_file,
        where=where,
        keys=(f"path is {parts.scheme}://", "ca_file", "auth", "user"),
    )
    return HdfsFile(path, connection, parts.path, label)
