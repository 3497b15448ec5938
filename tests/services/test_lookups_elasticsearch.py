"""Lookups read from an index of the real Elasticsearch 9 node: a batch use case enriches its
events with an asset inventory kept in Elasticsearch; a refresh sees documents indexed since;
an index that is not there, or a login the node refuses, is one line at start."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from elasticsearch import helpers

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from datashark.lookups.live import LookupSet
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.integration.conftest import read_csv, settings_for
from tests.support.servers.elasticsearch import ElasticsearchNode

pytestmark = pytest.mark.spark

ASSETS = [
    {"ip": "10.0.0.1", "owner": {"team": "web"}, "status": "active", "notes": "x" * 50},
    {"ip": "10.0.0.2", "owner": {"team": "db"}, "status": "active", "notes": "y"},
    {"ip": "10.0.0.3", "owner": {"team": "old"}, "status": "retired", "notes": "z"},
]
# Each event line is an address; the finding names the team owning it, "unknown" when none does.
ENRICH = """
def load(batchData, lookups):
    return batchData.map(
        lambda ip: (ip, 1, {"team": lookups["assets"].get(ip, {}).get("owner", {}).get("team", "unknown")})
    )
"""


def index_assets(node: ElasticsearchNode, assets: list[dict]) -> str:
    index = f"assets-{uuid.uuid4().hex[:8]}"
    with node.client() as client:
        helpers.bulk(client, ({"_index": index, "_source": doc} for doc in assets), refresh=True)
    return index


def enrich_usecase(folder: Path, node: ElasticsearchNode, index: str, **changes: str | None) -> Path:
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(ENRICH)
    (folder / "events.txt").write_text("10.0.0.1\n10.0.0.2\n10.0.0.3\n10.0.0.9\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Enrich\ntype = batch\ncode = uc.py\nfile = events.txt\noutput = csv\n"
        "[out_csv]\npath = out.csv\n"
        f"[lookups]\n[[assets]]\nindex = {index}\nquery = status:active\nfields = ip, owner.team\n"
        f"key = ip\nrefresh = 1m\n{node.output_keys(**changes)}"
    )
    return conf


def test_events_are_enriched_from_an_index(spark_context, elasticsearch, tmp_path: Path) -> None:
    conf = enrich_usecase(tmp_path / "uc", elasticsearch, index_assets(elasticsearch, ASSETS))
    settings = settings_for(tmp_path)
    prepared = prepare(settings, read_usecase(conf))
    assert prepared.lookups.values["assets"]["10.0.0.1"] == {"ip": "10.0.0.1", "owner": {"team": "web"}}
    run_batch(spark_context, RunContext(settings), prepared, debug=False)
    teams = {row[1]: row[3] for row in read_csv(conf.parent / "out.csv")}
    assert teams == {"10.0.0.1": "web", "10.0.0.2": "db", "10.0.0.3": "unknown", "10.0.0.9": "unknown"}


def test_a_refresh_reads_documents_indexed_since(spark_context, elasticsearch, tmp_path: Path) -> None:
    index = index_assets(elasticsearch, ASSETS)
    lookups = LookupSet.of(read_usecase(enrich_usecase(tmp_path / "uc", elasticsearch, index)))
    handle = lookups.start(spark_context, refresh=True)
    try:
        first = handle.broadcast("assets")
        assert sorted(handle["assets"]) == ["10.0.0.1", "10.0.0.2"]
        with elasticsearch.client() as client:
            client.index(
                index=index, document={"ip": "10.0.0.4", "owner": {"team": "new"}, "status": "active"}
            )
            client.indices.refresh(index=index)
        assert handle.broadcast("assets") is first  # not due before a minute
        lookups.live["assets"].read_at -= 61
        assert sorted(handle["assets"]) == ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
        assert handle.broadcast("assets") is not first
        assert spark_context.parallelize([1]).map(lambda _: handle["assets"]["10.0.0.4"]).collect() == [
            {"ip": "10.0.0.4", "owner": {"team": "new"}}
        ]
    finally:
        lookups.stop()


@pytest.mark.parametrize(
    ("index", "changes", "expected"),
    [
        ("no-such-index", {}, "no such index [no-such-index]"),
        (None, {"password": "wrong"}, "authentication failed (HTTP 401)"),
    ],
)
def test_a_lookup_the_node_refuses_is_one_line_at_start(
    elasticsearch, tmp_path: Path, index, changes, expected
) -> None:
    index = index or index_assets(elasticsearch, ASSETS)
    conf = enrich_usecase(tmp_path / "uc", elasticsearch, index, **changes, retry_seconds="1")
    with pytest.raises(ConfigError) as err:
        prepare(settings_for(tmp_path), read_usecase(conf))
    message = str(err.value)
    assert message.startswith(f"{conf}: [lookups][assets], key 'index': Elasticsearch ")
    assert expected in message and "\n" not in message
