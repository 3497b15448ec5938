"""Lookups read from Elasticsearch on the driver: every document of an index (pattern) that
matches a query, from a point in time, page by page (``datashark.elastic.search``'s reader,
one slice)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson

from datashark.elastic.connection import server_major
from datashark.elastic.search import Search, SliceReader, close_point_in_time, open_point_in_time


@dataclass(frozen=True)
class ElasticsearchSource:
    """A lookup index: ``search`` (its connection holds the credentials: driver-side only)."""

    search: Search
    KEY = "index"  # the conf key naming it, which errors reading it name
    needs_spark = False

    def describe(self) -> str:
        return f"Elasticsearch {self.search.connection.where} index {self.search.index}"

    def read(self, _sc) -> list[dict[str, Any]]:
        return documents(self.search)


def documents(search: Search) -> list[dict[str, Any]]:
    """The ``_source`` of every document ``search`` matches, read now (the cluster's major asked
    first: 8 and 9 are both spoken)."""
    search = dataclasses.replace(search, connection=server_major(search.connection), slices=1)
    pit = open_point_in_time(search)
    try:
        return [orjson.loads(text) for text in SliceReader(search, pit)([0])]
    finally:
        close_point_in_time(search, pit)
