"""Elasticsearch bulk writes for ``out_elasticsearch``: ids, bounded retries, the index template.

Executors run ``PartitionWriter``: one client per partition, the rows sent as NDJSON bulk
requests built with orjson (the client's own per-action serialising costs more than the
network on a 2-core box). A whole request that fails with 429, 5xx or no connection is sent
again after an exponential back-off, so are the documents Elasticsearch answers 429/5xx for;
a document Elasticsearch rejects (a mapping conflict) goes to the dead letters. Once the
retries of one request would outlast ``retry_seconds`` (the output's key, default 120 s: a node
restart or a master election fits in it) the batch fails with one line, so a streaming input
acknowledges nothing. What no
retry can change fails the batch at once: a certificate that does not verify, credentials
Elasticsearch does not accept (401), rights they lack or a write block (403), for a request
or for a document (a document refused for want of rights would only be the first of many).

Ids derive from the use case and the whole document (batch time, key, score, metadata): a
replayed batch overwrites its documents, and a use case may still emit several rows per key
in one batch (web-anomaly-detection: one per IP and minute) without them overwriting each other.
The client's own retries are off because they retry at once, without back-off.
"""

from __future__ import annotations

import hashlib
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from datashark.errors import DataSharkError
from datashark.sinks.documents import TIMESTAMP_FIELD, TITLE_FIELD, document

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from datashark.plugin_api import OutputBatch

DEFAULT_RETRY_SECONDS = 120.0  # how long one request may keep failing before its batch fails
FIRST_BACKOFF = 0.5  # seconds; doubled after each failure, up to MAX_BACKOFF
MAX_BACKOFF = 15.0
MAX_CHUNK_BYTES = 8 << 20  # below http.max_content_length (100 MB) by far, and cheap to retry
# Above Elastic's built-in templates (100); plus the pattern's literal length, so of two use cases
# overlapping patterns (web-* and web-anomaly-*) the more specific one wins instead of a conflict.
TEMPLATE_PRIORITY = 150
# Only what the writer reads: a response of 5,000 items shrinks from ~1 MB to ~100 kB.
BULK_FILTER = "errors,items.*.status,items.*.error.type,items.*.error.reason"
# Sorted keys: the same document is the same bytes, hence the same id, whatever order load() built it in.
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS
# Refusals that stay however long the batch waits: the credentials (401), their rights or a block (403).
ACCESS_DENIED = {401: "authentication failed (HTTP 401)", 403: "forbidden (HTTP 403)"}

Result = TypeVar("Result")


class ElasticsearchError(DataSharkError):
    """Elasticsearch stayed unreachable or refused a request: the batch fails."""


@dataclass(frozen=True)
class Connection:
    """How to reach the cluster; picklable, so executors open their own clients from it."""

    hosts: tuple[str, ...]
    basic_auth: tuple[str, str] | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    request_timeout: float = 30.0
    retry_seconds: float = DEFAULT_RETRY_SECONDS

    @property
    def where(self) -> str:
        return ",".join(self.hosts)

    def client(self) -> Elasticsearch:
        from elastic_transport.client_utils import DEFAULT
        from elasticsearch import Elasticsearch

        return Elasticsearch(
            list(self.hosts),
            basic_auth=self.basic_auth,
            api_key=self.api_key,
            ca_certs=self.ca_certs or DEFAULT,
            verify_certs=self.verify_certs,
            request_timeout=self.request_timeout,
            max_retries=0,
            retry_on_timeout=False,
        )


class Backoff:
    """The waits between tries of one request: 0.5 s, doubling to ``MAX_BACKOFF``, for as long as
    the next try still starts within ``budget`` seconds of the first."""

    def __init__(self, budget: float) -> None:
        self.deadline = time.monotonic() + budget
        self.wait = FIRST_BACKOFF
        self.tries = 1
        self.started = time.monotonic()

    def again(self) -> bool:
        """Sleep before the next try and return True, or return False when the budget is spent."""
        if time.monotonic() + self.wait > self.deadline:
            return False
        time.sleep(self.wait)
        self.wait = min(self.wait * 2, MAX_BACKOFF)
        self.tries += 1
        return True

    def __str__(self) -> str:
        return f"{self.tries} tries in {time.monotonic() - self.started:.0f} s"


def retrying(connection: Connection, what: str, call: Callable[[], Result]) -> Result:
    """``call()``, tried again while the cluster is down, busy or failing (429/5xx), for at most
    the connection's ``retry_seconds``."""
    from elasticsearch import ApiError, TransportError

    backoff = Backoff(connection.retry_seconds)
    while True:
        try:
            return call()
        except ApiError as err:
            if not _retryable(err.status_code):
                raise ElasticsearchError(
                    f"Elasticsearch at {connection.where}: {what}: {_api_error(err)}"
                ) from err
            last = _api_error(err)
        except TransportError as err:  # no connection, timeout, TLS failure
            rejected = _rejected_certificate(err)
            if rejected:
                raise ElasticsearchError(
                    f"Elasticsearch at {connection.where}: {what}: "
                    f"TLS certificate verification failed: {rejected.verify_message}"
                ) from err
            last = f"{type(err).__name__}: {_one_line(str(err.message))}"
        if not backoff.again():
            raise ElasticsearchError(
                f"Elasticsearch at {connection.where}: {what} failed after {backoff}: {last}"
            )


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _rejected_certificate(err: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that failed under a transport error (the client wraps it twice), if any:
    unlike a handshake cut by a restarting node, it fails the same way on every try."""
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _error_text(status: int, error_type: str | None, reason: str) -> str:
    """``<status> <error type>: <reason>``; for 401/403 what they mean instead of status and type."""
    reason = _one_line(reason)
    if status in ACCESS_DENIED:
        return f"{ACCESS_DENIED[status]}: {reason}"
    return f"{status} {error_type}: {reason}" if error_type else f"{status} {reason}"


def _api_error(err: Any) -> str:
    """An ApiError's status, error type and reason (see ``_error_text``)."""
    body = err.body if isinstance(err.body, dict) else {}
    error = body.get("error")
    if isinstance(error, dict):
        return _error_text(err.status_code, error.get("type"), str(error.get("reason")))
    return _error_text(err.status_code, None, str(err.message))


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def index_pattern(index_name: str) -> str:
    """The indices an ``index_name`` with strftime directives names: each directive becomes ``*``."""
    return re.sub(r"%-?[A-Za-z]", "*", index_name.replace("%%", "%"))


def put_template(connection: Connection, index_name: str, key_field: str, score_field: str) -> None:
    """Map the fields dataShark sets before the first index exists, so no guessing makes them text.

    A composable template named after the index pattern: two use cases writing the same indices
    share it (the last one's field names win for indices created afterwards).
    """
    pattern = index_pattern(index_name)
    name = "datashark-" + re.sub(r"[^a-z0-9_.-]+", "-", pattern).strip("-")
    properties = {
        TIMESTAMP_FIELD: {"type": "date"},
        TITLE_FIELD: {"type": "keyword"},
        key_field: {"type": "keyword"},
        score_field: {"type": "float"},
    }
    with connection.client() as client:
        retrying(
            connection,
            f"putting index template {name}",
            lambda: client.indices.put_index_template(
                name=name,
                index_patterns=[pattern],
                priority=TEMPLATE_PRIORITY + len(pattern.replace("*", "")),
                template={"mappings": {"properties": properties}},
                meta={"managed_by": "dataShark"},
            ),
        )


def document_json(doc: dict[str, Any]) -> bytes:
    """The document as Elasticsearch receives it; values JSON lacks (sets, dates) as text."""
    return orjson.dumps(doc, default=str, option=JSON_OPTIONS)


def document_id(usecase: str, source: bytes) -> str:
    """Same use case and document (``document_json``, batch time included): same id."""
    return hashlib.sha1(usecase.encode() + b"\x1f" + source).hexdigest()


@dataclass(frozen=True)
class Fields:
    """What every document of a use case carries besides its row."""

    usecase: str
    title: str
    key_field: str
    score_field: str


class PartitionWriter:
    """Writes one partition's rows to one index; returns how many Elasticsearch accepted."""

    def __init__(
        self, connection: Connection, index: str, fields: Fields, batch: OutputBatch, chunk_size: int
    ) -> None:
        self.connection = connection
        self.index = index
        self.fields = fields
        self.batch = batch
        self.chunk_size = chunk_size
        self.utc_iso = batch.utc_iso

    def __call__(self, rows: Iterator[tuple]) -> int:
        chunks = self._chunks(rows)
        first = next(chunks, None)
        if first is None:  # no client for an empty partition
            return 0
        with self.connection.client() as client:
            written = self._send(client, first)
            for chunk in chunks:
                written += self._send(client, chunk)
        return written

    def _chunks(self, rows: Iterator[tuple]) -> Iterator[list[tuple[tuple, bytes]]]:
        """``(row, its action and document as NDJSON)``, ``chunk_size`` or ``MAX_CHUNK_BYTES`` at most."""
        chunk: list[tuple[tuple, bytes]] = []
        size = 0
        fields = self.fields
        for row in rows:
            doc = document(row, self.utc_iso, fields.title, fields.key_field, fields.score_field)
            try:
                source = document_json(doc)
            except orjson.JSONEncodeError as err:  # e.g. an integer beyond 64 bits
                self.batch.dead_letters.add("output", f"not JSON: {err}", repr(row))
                continue
            action = {"index": {"_index": self.index, "_id": document_id(fields.usecase, source)}}
            body = orjson.dumps(action) + b"\n" + source + b"\n"
            chunk.append((row, body))
            size += len(body)
            if len(chunk) >= self.chunk_size or size >= MAX_CHUNK_BYTES:
                yield chunk
                chunk, size = [], 0
        if chunk:
            yield chunk

    @staticmethod
    def _bulk(client: Elasticsearch, request: bytes) -> Any:
        # The client sends bytes as they are: the NDJSON built once with orjson (see module doc).
        return client.bulk(operations=request, filter_path=BULK_FILTER)  # type: ignore[arg-type]

    def _send(self, client: Elasticsearch, chunk: list[tuple[tuple, bytes]]) -> int:
        """One chunk: rejected documents dead-lettered, 429/5xx documents sent again, 401/403 fatal."""
        written = 0
        pending = chunk
        backoff = Backoff(self.connection.retry_seconds)
        while True:
            request = b"".join(line for _, line in pending)
            answer = retrying(self.connection, "bulk", partial(self._bulk, client, request))
            if not answer.get("errors"):
                return written + len(pending)
            again = []
            for (row, line), item in zip(pending, answer["items"], strict=True):
                result = next(iter(item.values()))
                status = result["status"]
                if status < 300:
                    written += 1
                elif status in ACCESS_DENIED:  # not this document's fault: the others fare no better
                    raise ElasticsearchError(
                        f"Elasticsearch at {self.connection.where}: bulk: {_item_error(result)}"
                    )
                elif _retryable(status):
                    again.append((row, line))
                    last = _item_error(result)
                else:
                    self.batch.dead_letters.add("output", _item_error(result), repr(row))
            if not again:
                return written
            pending = again
            if not backoff.again():
                raise ElasticsearchError(
                    f"Elasticsearch at {self.connection.where}: bulk failed after {backoff}: "
                    f"{len(pending)} document{'' if len(pending) == 1 else 's'} refused, last with {last}"
                )


def _item_error(result: dict[str, Any]) -> str:
    error = result.get("error") or {}
    return _error_text(result["status"], error.get("type"), str(error.get("reason")))
