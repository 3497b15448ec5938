"""Elasticsearch bulk writes for ``out_elasticsearch``: ids, bounded retries, the index template.

Executors run ``PartitionWriter``: one client per partition, the rows sent as NDJSON bulk
requests built with orjson (the client's own per-action serialising costs more than the
network on a 2-core box). A whole request that fails with 429, 5xx or no connection is sent
again after an exponential back-off (``datashark.elastic.connection``), so are the documents
Elasticsearch answers 429/5xx for; a document Elasticsearch rejects (a mapping conflict) goes to
the dead letters. Once the retries of one request would outlast ``retry_seconds`` (the output's
key, default 120 s: a node restart or a master election fits in it) the batch fails with one
line, so a streaming input acknowledges nothing. What no retry can change fails the batch at
once: a certificate that does not verify, credentials Elasticsearch does not accept (401),
rights they lack or a write block (403), for a request or for a document (a document refused
for want of rights would only be the first of many).

Ids derive from the use case and the whole document (batch time, key, score, metadata): a
replayed batch overwrites its documents, and a use case may still emit several rows per key
in one batch (web-anomaly-detection: one per IP and minute) without them overwriting each other.
The client's own retries are off because they retry at once, without back-off.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson

from datashark.elastic.connection import (
    ACCESS_DENIED,
    Backoff,
    Connection,
    ElasticsearchError,
    error_text,
    is_retryable,
    retrying,
)
from datashark.sinks.documents import TIMESTAMP_FIELD, TITLE_FIELD, document

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from datashark.plugin_api import OutputBatch

MAX_CHUNK_BYTES = 8 << 20  # below http.max_content_length (100 MB) by far, and cheap to retry
# Above Elastic's built-in templates (100); plus the pattern's literal length, so of two use cases
# overlapping patterns (web-* and web-anomaly-*) the more specific one wins instead of a conflict.
TEMPLATE_PRIORITY = 150
# Only what the writer reads: a response of 5,000 items shrinks from ~1 MB to ~100 kB.
BULK_FILTER = "errors,items.*.status,items.*.error.type,items.*.error.reason"
# Sorted keys: the same document is the same bytes, hence the same id, whatever order load() built it in.
JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS | orjson.OPT_SORT_KEYS


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
                elif is_retryable(status):
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
    return error_text(result["status"], error.get("type"), str(error.get("reason")))
