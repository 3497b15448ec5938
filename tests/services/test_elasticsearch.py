"""The Elasticsearch 9 test node, through the same Python client dataShark's output uses."""

from __future__ import annotations

from collections.abc import Iterator

import elastic_transport
import pytest
from elasticsearch import AuthenticationException, Elasticsearch, helpers

from tests.support.servers.elasticsearch import VERSION, ElasticsearchNode

EVENTS = [
    {"host": "web-1", "event": "login_failed", "count": 3},
    {"host": "web-2", "event": "login_failed", "count": 7},
    {"host": "db-1", "event": "port_scan", "count": 120},
]


@pytest.fixture
def client(elasticsearch: ElasticsearchNode) -> Iterator[Elasticsearch]:
    with elasticsearch.client() as es:
        yield es


def test_node_reports_its_version(client: Elasticsearch) -> None:
    """The node is the release the fixture fetched and is healthy.

    Not through ``ping()``/``info()``: they call ``GET /``, which lives in Elasticsearch's
    rest-root module, absent from the integ-test distribution (``GET /`` answers 405 there).
    """
    nodes = client.nodes.info(node_id="_local")["nodes"]
    assert [node["version"] for node in nodes.values()] == [VERSION]
    assert client.cluster.health()["status"] in ("yellow", "green")


def test_bulk_index_search_and_delete(client: Elasticsearch) -> None:
    index = "datashark-smoke"
    client.indices.create(index=index, mappings={"properties": {"host": {"type": "keyword"}}})
    try:
        indexed, errors = helpers.bulk(client, ({"_index": index, **event} for event in EVENTS))
        assert (indexed, errors) == (3, [])
        client.indices.refresh(index=index)

        hits = client.search(index=index, query={"term": {"event": "login_failed"}}, sort=["count"])["hits"]
        assert hits["total"]["value"] == 2
        assert [hit["_source"]["host"] for hit in hits["hits"]] == ["web-1", "web-2"]
        assert client.count(index=index)["count"] == 3
    finally:
        client.indices.delete(index=index)
    assert not client.indices.exists(index=index)


def test_node_serves_only_verified_https_to_known_users(elasticsearch: ElasticsearchNode) -> None:
    """Secured as in production, so the tests of dataShark's TLS and credentials mean something."""
    https, ca = elasticsearch.url, str(elasticsearch.ca)
    login = (elasticsearch.username, elasticsearch.password)
    refused = [
        (Elasticsearch(https, ca_certs=ca, max_retries=0), AuthenticationException),  # nobody
        (Elasticsearch(https, basic_auth=login, max_retries=0), elastic_transport.TlsError),  # system CAs
        (
            Elasticsearch(https.replace("https:", "http:"), basic_auth=login, max_retries=0),
            elastic_transport.ConnectionError,
        ),
    ]
    for client, refusal in refused:
        with client, pytest.raises(refusal):
            client.cluster.health()
