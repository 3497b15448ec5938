"""Elasticsearch 8 and 9 through the one client dataShark installs (major 9).

The client marks each request ``compatible-with=9``, which an 8.x node refuses; dataShark asks
each cluster's major at start and marks requests to an 8.x one ``compatible-with=8``
(``datashark.elastic.connection``). These tests run the real 8.x node beside the 9.x one.
"""

from __future__ import annotations

import textwrap
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from elasticsearch import BadRequestError

from datashark.elastic.connection import Connection, server_major
from tests.integration.conftest import settings_for
from tests.support.runs import run_conf
from tests.support.servers.elasticsearch import ElasticsearchNode

NO_RIGHTS = {"nothing": {"cluster": [], "indices": []}}
FINDINGS = """
def load(batchData):
    return batchData.map(lambda line: line.split()).map(
        lambda parts: (parts[0], float(parts[1]), {"user": parts[2]})
    )
"""


def connection(node: ElasticsearchNode, *, api_key: str | None = None) -> Connection:
    """How the output plugin reaches ``node`` before it knows the major: as the superuser, or
    with ``api_key``."""
    basic_auth = None if api_key else (node.username, node.password)
    return Connection((node.url,), basic_auth, api_key, ca_certs=str(node.ca), retry_seconds=5)


def test_the_client_as_installed_is_refused_by_8(elasticsearch8: ElasticsearchNode) -> None:
    """Why the marking is needed: the 9 client's own requests fail on 8 (not a test of dataShark)."""
    with connection(elasticsearch8).client() as client, pytest.raises(BadRequestError) as refused:
        client.cluster.health()
    assert "Accept version must be either version 8 or 7, but found 9" in str(refused.value.body)


@pytest.mark.parametrize("rights", ["superuser", "none"])
def test_each_cluster_s_major_is_found_whatever_the_login_may_do(
    elasticsearch8: ElasticsearchNode, elasticsearch: ElasticsearchNode, rights: str
) -> None:
    """``GET /`` is absent from the test nodes (405) and a key without rights gets 403 from 9:
    the major is found all the same, and the marked client is served."""
    for node, major in ((elasticsearch8, 8), (elasticsearch, 9)):
        key = node.create_api_key(f"major-{uuid.uuid4().hex[:6]}", NO_RIGHTS) if rights == "none" else None
        found = server_major(connection(node, api_key=key))
        assert found.major == major
        with found.client() as client:
            assert client.security.authenticate()["authentication_type"] in ("realm", "api_key")


def test_findings_reach_an_8_cluster_with_their_mapping(
    spark_context, elasticsearch8: ElasticsearchNode, tmp_path: Path, capsys
) -> None:
    prefix = f"ds8-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "uc"
    folder.mkdir()
    (folder / "uc.py").write_text(textwrap.dedent(FINDINGS))
    (folder / "data.txt").write_text("10.0.0.1 3 alice\n10.0.0.2 9.5 bob\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Brute Force\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = elasticsearch\n"
        f"[out_elasticsearch]\n{elasticsearch8.output_keys()}index_name = {prefix}-%Y.%m\n"
    )
    before = datetime.now(timezone.utc)
    run_conf(spark_context, settings_for(tmp_path), conf)

    index = f"{prefix}-{before:%Y.%m}"
    with elasticsearch8.client() as client:
        client.indices.refresh(index=index)
        hits = client.search(index=index, sort=["source_ip"])["hits"]["hits"]
        mapping = client.indices.get_mapping(index=index)[index]["mappings"]["properties"]
    assert [
        (hit["_source"]["source_ip"], hit["_source"]["anomaly_score"], hit["_source"]["user"]) for hit in hits
    ] == [
        ("10.0.0.1", 3.0, "alice"),
        ("10.0.0.2", 9.5, "bob"),
    ]
    assert (mapping["source_ip"]["type"], mapping["anomaly_score"]["type"]) == ("keyword", "float")
    assert (
        f"Written 2 Documents to Elasticsearch {elasticsearch8.url} index {index}" in capsys.readouterr().out
    )
