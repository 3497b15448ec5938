"""Reading documents out of Elasticsearch into Spark, in parallel on the executors.

The driver opens a point in time (PIT) over the index pattern: a snapshot every reader sees
alike, however long the read takes and whatever is indexed meanwhile. The PIT is split into
``slices``, each one Spark partition, read by an executor page by page with ``search_after``
on ``_shard_doc`` (the cheapest sort a PIT has). A slice that fails is read again whole by
Spark's task retry, from the same snapshot; a node lost for longer than ``retry_seconds``
(or one that restarted, losing the PIT) fails the batch, and the next run reads everything
again from a new one. The documents reach Spark as JSON text of their ``_source``, so the
event stage parses them as it parses ``format = json`` files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from datashark.elastic.connection import Connection, retrying

if TYPE_CHECKING:
    from pyspark import RDD, SparkContext

    from datashark.errors import ConfLocation

# Documents a page: 5,000 read 1.6x faster than 1,000 (bench/README.md); less for big documents.
DEFAULT_PAGE_SIZE = 5000
# How long a PIT outlives its last page: long enough for a slow page or a retried task.
KEEP_ALIVE = "5m"
# Only what the reader uses of a page: the documents, where the page ended, the PIT's id.
PAGE_FILTER = "pit_id,hits.hits._source,hits.hits.sort"


@dataclass(frozen=True)
class Search:
    """What to read: documents of ``index`` (a pattern) matching ``query`` (Query DSL), their
    ``fields`` only (None: whole documents), in ``slices`` parallel readers."""

    connection: Connection
    index: str
    query: dict[str, Any] = field(default_factory=lambda: {"match_all": {}})
    fields: tuple[str, ...] | None = None
    slices: int = 2
    page_size: int = DEFAULT_PAGE_SIZE
    arrays: tuple[str, ...] = ()  # dotted paths whose values are always read as lists

    def narrowed(self, clause: dict[str, Any]) -> Search:
        """This search, its documents also matching ``clause`` (a Query DSL query)."""
        return dataclasses.replace(self, query={"bool": {"filter": [self.query, clause]}})

    def count(self) -> int:
        """How many documents the search matches now (``_count``)."""
        with self.connection.client() as client:
            answer = retrying(
                self.connection,
                f"counting {self.index}",
                lambda: client.count(index=self.index, query=self.query, allow_no_indices=True),
            )
        return int(answer["count"])

    def documents(self, sc: SparkContext, pit: str) -> RDD:
        """The documents as an RDD of JSON text, one partition per slice of the point in time
        ``pit`` (``open_point_in_time``): every evaluation of the RDD reads the same snapshot."""
        return sc.parallelize(range(self.slices), self.slices).mapPartitions(SliceReader(self, pit))


def query_of(
    text: str | None, time_field: str, start: str | None, end: str | None, where: ConfLocation
) -> dict[str, Any]:
    """The Query DSL query of ``[in_elasticsearch]``: ``text`` (a query string, or Query DSL
    JSON, with or without its ``{"query": ...}`` wrapper) and the time range on ``time_field``
    (``start``/``end``: dates or date math such as ``now-24h``, as Elasticsearch reads them)."""
    clauses: list[dict[str, Any]] = []
    if text and text.strip():
        clauses.append(_query_text(text.strip(), where.at("query")))
    if start or end:
        bounds = {name: value for name, value in (("gte", start), ("lte", end)) if value}
        clauses.append({"range": {time_field: bounds}})
    if not clauses:
        return {"match_all": {}}
    return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def _query_text(text: str, where: ConfLocation) -> dict[str, Any]:
    if not text.startswith("{"):
        return {"query_string": {"query": text}}
    try:
        query = json.loads(text)
    except json.JSONDecodeError as err:
        raise where.error(f"is not JSON (Query DSL) at character {err.pos}: {err.msg}") from None
    if isinstance(query, dict) and set(query) == {"query"}:
        query = query["query"]
    if not isinstance(query, dict) or len(query) != 1:
        raise where.error('must be one Query DSL query, such as {"term": {"EventID": 1}}')
    return query


def open_point_in_time(search: Search) -> str:
    """A PIT over the search's indices: a snapshot, kept ``KEEP_ALIVE`` past each page read."""
    connection = search.connection
    with connection.client() as client:
        opened = retrying(
            connection,
            f"opening a point in time on {search.index}",
            lambda: client.open_point_in_time(index=search.index, keep_alive=KEEP_ALIVE),
        )
    return str(opened["id"])


def close_point_in_time(search: Search, pit: str) -> None:
    """Free the PIT's resources now; one that cannot be closed expires by itself."""
    with contextlib.suppress(Exception), search.connection.client() as client:
        client.close_point_in_time(id=pit)


class SliceReader:
    """``mapPartitions`` function: the JSON text of every document of one slice."""

    def __init__(self, search: Search, pit: str) -> None:
        self.search = search
        self.pit = pit

    def __call__(self, slice_ids: Iterable[int]) -> Iterator[str]:
        for slice_id in slice_ids:
            yield from self._slice(slice_id)

    def _slice(self, slice_id: int) -> Iterator[str]:
        search = self.search
        body: dict[str, Any] = {
            "query": search.query,
            "sort": ["_shard_doc"],
            "size": search.page_size,
            "track_total_hits": False,
        }
        if search.slices > 1:
            body["slice"] = {"id": slice_id, "max": search.slices}
        if search.fields is not None:
            body["_source"] = {"includes": list(search.fields)}
        pit = self.pit
        after: list[Any] | None = None
        with search.connection.client() as client:
            while True:
                page = {**body, "pit": {"id": pit, "keep_alive": KEEP_ALIVE}}
                if after is not None:
                    page["search_after"] = after
                answer = retrying(
                    search.connection,
                    f"reading slice {slice_id} of {search.index}",
                    functools.partial(client.search, body=page, filter_path=PAGE_FILTER),
                )
                pit = answer.get("pit_id", pit)
                hits = answer.get("hits", {}).get("hits", [])  # none: filtered out
                for hit in hits:
                    yield orjson.dumps(as_arrays(hit.get("_source") or {}, search.arrays)).decode()
                if len(hits) < search.page_size:
                    return
                after = hits[-1]["sort"]


def as_arrays(doc: dict[str, Any], paths: tuple[str, ...]) -> dict[str, Any]:
    """``doc`` with the value at each dotted path in ``paths`` made a list when it is not one:
    Elasticsearch stores ``"a"`` and ``["a", "b"]`` in the same field, a schema holds one."""
    for path in paths:
        _wrap(doc, path.split("."))
    return doc


def _wrap(value: Any, steps: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _wrap(item, steps)
        return
    if not isinstance(value, dict) or steps[0] not in value:
        return
    if len(steps) > 1:
        _wrap(value[steps[0]], steps[1:])
    elif value[steps[0]] is not None and not isinstance(value[steps[0]], list):
        value[steps[0]] = [value[steps[0]]]
