"""Elasticsearch 8 test node: the same secured single node as ``elasticsearch``, of the last 8.x.

Many SOC clusters still run 8.x; dataShark's client (major 9) reaches them by marking its
requests ``compatible-with=8`` (``datashark.elastic.connection``). The 8.x integ-test zip is
the same kind of distribution as 9's and gets the same analysis plugin, built against its jars.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import elasticsearch
from tests.support.servers.elasticsearch import ElasticsearchNode, Release

NAME = "elasticsearch8"
VERSION = "8.19.8"
RELEASE = Release(NAME, VERSION)


def provision() -> Path:
    return elasticsearch.provision(RELEASE)


@pytest.fixture(scope="session")
def elasticsearch8() -> Iterator[ElasticsearchNode]:
    """One 8.x node for the whole session, beside the 9.x one when both are used."""
    yield from elasticsearch.session_node(RELEASE)
