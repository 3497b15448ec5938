"""input = elasticsearch against the real Elasticsearch 9 node (and one read from the 8.x one).

An index of generated events is read by batch use cases through dataShark's engine: what is
read equals what ``_count`` says for several queries, time ranges and slice counts; documents
with missing, array and nested fields reach ``load()`` whole, as dicts and as DataFrame rows;
a node lost in the middle of a read fails the read, and the next run reads everything.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
import textwrap
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from datashark.config.usecase import read_usecase
from datashark.elastic.connection import ElasticsearchError, server_major
from datashark.elastic.search import SliceReader, open_point_in_time
from datashark.errors import ConfigError
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import settings_for
from tests.support.runs import run_conf
from tests.support.servers.elasticsearch import ElasticsearchNode

pytestmark = pytest.mark.spark

START = datetime(2026, 11, 1, tzinfo=timezone.utc)
EVENT_IDS = (1, 3, 4624)
MAPPING = {
    "properties": {
        "@timestamp": {"type": "date"},
        "EventID": {"type": "integer"},
        "host": {"type": "keyword"},
        "n": {"type": "long"},
        "tags": {"type": "keyword"},
        "user": {"properties": {"name": {"type": "keyword"}, "domain": {"type": "keyword"}}},
        "process": {"type": "nested", "properties": {"name": {"type": "keyword"}, "pid": {"type": "long"}}},
        "message": {"type": "text"},
    }
}
COUNT_BY_HOST = """
def load(batchData):
    return batchData.map(lambda event: (event["host"], 1)).reduceByKey(lambda a, b: a + b).map(
        lambda pair: (pair[0], pair[1], {})
    )
"""


def event(n: int) -> dict[str, Any]:
    """Event ``n``: a minute after the one before; every fifth has no user, every fourth two tags,
    every third a process tree of two."""
    doc: dict[str, Any] = {
        "@timestamp": (START + timedelta(minutes=n)).isoformat().replace("+00:00", "Z"),
        "EventID": EVENT_IDS[n % 3],
        "host": f"ws-{n % 7}",
        "n": n,
        "tags": ["lab", f"t{n % 2}"] if n % 4 == 0 else "lab",
        "process": [{"name": "cmd.exe", "pid": n}, {"name": "whoami.exe", "pid": n + 1}]
        if n % 3 == 0
        else [{"name": "svchost.exe", "pid": n}],
        "message": f"event {n}",
    }
    if n % 5:
        doc["user"] = {"name": f"user{n % 11}", "domain": "CORP"}
    return doc


EVENTS = [event(n) for n in range(3000)]


@pytest.fixture(scope="module")
def events_index(elasticsearch: ElasticsearchNode) -> str:
    """An index of ``EVENTS``, made once for the module's tests (they only read it)."""
    return index_events(elasticsearch, EVENTS)


def index_events(node: ElasticsearchNode, events: list[dict[str, Any]]) -> str:
    index = f"events-{uuid.uuid4().hex[:8]}"
    with node.client() as client:
        client.indices.create(index=index, mappings=MAPPING, settings={"number_of_shards": 3})
        helpers.bulk(client, ({"_index": index, "_source": doc} for doc in events), refresh=True)
    return index


def usecase_conf(
    folder: Path, node: ElasticsearchNode, input_keys: str, *, code: str = COUNT_BY_HOST, extra: str = ""
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(textwrap.dedent(code))
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = Hunt\ntype = batch\ncode = uc.py\ninput = elasticsearch\nformat = json\n{extra}"
        f"output = csv\n[out_csv]\npath = {folder / 'out.csv'}\n"
        f"[in_elasticsearch]\n{node.output_keys()}{textwrap.dedent(input_keys)}"
    )
    return conf


def read_documents(spark_context, tmp_path: Path, node: ElasticsearchNode, input_keys: str) -> list[dict]:
    """What the use case's input hands the event stage, parsed back."""
    import json

    prepared = prepare(settings_for(tmp_path), read_usecase(usecase_conf(tmp_path / "uc", node, input_keys)))
    try:
        return [json.loads(text) for text in prepared.input.batch_records(spark_context).collect()]
    finally:
        prepared.input.close()


def count(client: Elasticsearch, index: str, query: dict[str, Any]) -> int:
    return int(client.count(index=index, query=query)["count"])


CASES: list[tuple[str, Callable[[dict], bool], dict[str, Any]]] = [
    ("", lambda doc: True, {"match_all": {}}),
    ("query = EventID:1\n", lambda doc: doc["EventID"] == 1, {"term": {"EventID": 1}}),
    (
        'query = \'{"query": {"terms": {"host": ["ws-2", "ws-5"]}}}\'\n',
        lambda doc: doc["host"] in ("ws-2", "ws-5"),
        {"terms": {"host": ["ws-2", "ws-5"]}},
    ),
    (
        "from = 2026-11-01T10:00:00Z\nto = 2026-11-02T00:00:00Z\n",
        lambda doc: "2026-11-01T10:00:00Z" <= doc["@timestamp"] <= "2026-11-02T00:00:00Z",
        {"range": {"@timestamp": {"gte": "2026-11-01T10:00:00Z", "lte": "2026-11-02T00:00:00Z"}}},
    ),
    (
        'query = host:"ws-3" AND NOT EventID:3\nfrom = 2026-11-01T20:00:00Z\n',
        lambda doc: (
            doc["host"] == "ws-3" and doc["EventID"] != 3 and doc["@timestamp"] >= "2026-11-01T20:00:00Z"
        ),
        {
            "bool": {
                "filter": [
                    {"term": {"host": "ws-3"}},
                    {"range": {"@timestamp": {"gte": "2026-11-01T20:00:00Z"}}},
                ],
                "must_not": [{"term": {"EventID": 3}}],
            }
        },
    ),
]


@pytest.mark.parametrize("slices", [1, 3, 7])
@pytest.mark.parametrize("case", range(len(CASES)), ids=["all", "query string", "dsl", "range", "both"])
def test_what_is_read_is_what_count_says(
    spark_context, elasticsearch: ElasticsearchNode, events_index: str, tmp_path: Path, case: int, slices: int
) -> None:
    keys, wanted, same_query = CASES[case]
    docs = read_documents(
        spark_context,
        tmp_path,
        elasticsearch,
        f"index = {events_index}\nslices = {slices}\npage_size = 170\n{keys}",
    )
    expected = sorted(doc["n"] for doc in EVENTS if wanted(doc))
    with elasticsearch.client() as client:
        assert count(client, events_index, same_query) == len(expected)
    assert sorted(doc["n"] for doc in docs) == expected
    assert len(expected) > 0


def test_a_query_matching_nothing_reads_nothing(
    spark_context, elasticsearch: ElasticsearchNode, events_index: str, tmp_path: Path
) -> None:
    keys = f"index = {events_index}\nslices = 3\nquery = host:nowhere\n"
    assert read_documents(spark_context, tmp_path, elasticsearch, keys) == []


def test_documents_reach_load_whole_with_missing_array_and_nested_fields(
    spark_context, elasticsearch: ElasticsearchNode, events_index: str, tmp_path: Path
) -> None:
    docs = read_documents(spark_context, tmp_path, elasticsearch, f"index = {events_index}\nquery = n:<13\n")
    assert sorted(docs, key=lambda doc: doc["n"]) == EVENTS[:13]


def test_fields_limits_what_is_read(
    spark_context, elasticsearch: ElasticsearchNode, events_index: str, tmp_path: Path
) -> None:
    docs = read_documents(
        spark_context,
        tmp_path,
        elasticsearch,
        f"index = {events_index}\nquery = n:<3\nfields = n, user.name\n",
    )
    assert sorted(docs, key=lambda doc: doc["n"]) == [
        {"n": 0},
        {"n": 1, "user": {"name": "user1"}},
        {"n": 2, "user": {"name": "user2"}},
    ]


DATAFRAME_HUNT = """
from pyspark.sql import functions as sf


def load(events):
    return events.select(
        sf.col("host").alias("key"),
        sf.size("tags").cast("double").alias("score"),
        sf.create_map(
            sf.lit("n"), sf.col("n").cast("string"),
            sf.lit("user"), sf.coalesce(sf.col("user.name"), sf.lit("-")),
            sf.lit("processes"), sf.concat_ws(" ", sf.col("process.name")),
        ).alias("metadata"),
    )
"""


def test_a_dataframe_hunt_reads_the_mapping_s_schema_and_writes_findings_back(
    spark_context, elasticsearch: ElasticsearchNode, events_index: str, tmp_path: Path
) -> None:
    """The issue's end to end: a hunt over an index of the node, its findings written back."""
    findings = f"findings-{uuid.uuid4().hex[:8]}"
    conf = usecase_conf(
        tmp_path / "uc",
        elasticsearch,
        f"index = {events_index}\nquery = n:<10\narrays = tags\n",
        code=DATAFRAME_HUNT,
        extra="api = dataframe\n",
    )
    conf.write_text(
        conf.read_text().replace(
            f"output = csv\n[out_csv]\npath = {tmp_path / 'uc' / 'out.csv'}\n",
            "output = elasticsearch\n[out_elasticsearch]\n"
            f"{elasticsearch.output_keys()}index_name = {findings}\npkey = host\nscore = tags\n",
        )
    )
    run_conf(spark_context, settings_for(tmp_path), conf)

    with elasticsearch.client() as client:
        client.indices.refresh(index=findings)
        hits = client.search(index=findings, size=100)["hits"]["hits"]
    got = sorted(
        (
            (doc["n"], doc["host"], doc["tags"], doc["user"], doc["processes"])
            for doc in (h["_source"] for h in hits)
        ),
        key=lambda row: int(row[0]),
    )
    assert got == [
        (
            str(n),
            f"ws-{n % 7}",
            2.0 if n % 4 == 0 else 1.0,
            f"user{n % 11}" if n % 5 else "-",
            "cmd.exe whoami.exe" if n % 3 == 0 else "svchost.exe",
        )
        for n in range(10)
    ]


def test_a_node_lost_mid_read_fails_the_read_and_the_next_run_reads_everything(
    spark_context, elasticsearch: ElasticsearchNode, tmp_path: Path
) -> None:
    index = index_events(elasticsearch, EVENTS[:500])
    conf = usecase_conf(
        tmp_path / "uc", elasticsearch, f"index = {index}\nslices = 1\npage_size = 100\nretry_seconds = 3\n"
    )
    search = prepare(settings_for(tmp_path), read_usecase(conf)).input.search
    search = dataclasses.replace(search, connection=server_major(search.connection))
    reader = iter(SliceReader(search, open_point_in_time(search))([0]))
    first_page = [next(reader) for _ in range(100)]
    elasticsearch.stop()
    try:
        with pytest.raises(
            ElasticsearchError, match=rf"Elasticsearch at {elasticsearch.url}: reading slice 0 of {index}"
        ):
            list(reader)
    finally:
        elasticsearch.start()
    assert len(first_page) == 100
    docs = read_documents(spark_context, tmp_path / "again", elasticsearch, f"index = {index}\nslices = 2\n")
    assert sorted(doc["n"] for doc in docs) == list(range(500))


def test_an_8_x_cluster_is_read_too(spark_context, elasticsearch8: ElasticsearchNode, tmp_path: Path) -> None:
    index = index_events(elasticsearch8, EVENTS[:300])
    docs = read_documents(
        spark_context, tmp_path, elasticsearch8, f"index = {index}\nslices = 3\nquery = EventID:3\n"
    )
    assert sorted(doc["n"] for doc in docs) == [n for n in range(300) if n % 3 == 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({}, None),
        (
            {"format = json\n": "format = text\n"},
            "key 'format': input = elasticsearch hands load() JSON documents",
        ),
        ({"index = x\n": 'index = x\nquery = {"term": 1\n'}, "[in_elasticsearch], key 'query' is not JSON"),
        (
            {"format = json\n": "format = json\nfile = x.txt\n"},
            "key 'file': set either file or input, not both",
        ),
        (
            {"input = elasticsearch": "input = kafka"},
            "key 'input': input kafka feeds streaming use cases only",
        ),
    ],
)
def test_mistakes_in_the_conf_are_one_line_naming_the_key(
    elasticsearch: ElasticsearchNode, tmp_path: Path, change: dict[str, str], message: str | None
) -> None:
    conf = usecase_conf(tmp_path / "uc", elasticsearch, "index = x\n")
    text = conf.read_text()
    for old, new in change.items():
        text = text.replace(old, new)
    (tmp_path / "uc" / "x.txt").write_text("x\n")
    conf.write_text(text)
    if message is None:
        prepare(settings_for(tmp_path), read_usecase(conf))
        return
    with pytest.raises(ConfigError) as refused:
        prepare(settings_for(tmp_path), read_usecase(conf))
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


# OTRF's records as an index of HELK's would hold them: every value a keyword (dataShark reads
# _source, untouched by the mapping), long messages kept out of the terms index.
KEYWORDS = {
    "dynamic_templates": [
        {
            "everything_a_keyword": {
                "match_mapping_type": ["string", "long", "double", "boolean", "date"],
                "mapping": {"type": "keyword", "ignore_above": 8191},
            }
        }
    ]
}


def sample_records(folder: Path) -> list[dict[str, Any]]:
    """The records of the JSON files of ``folder``: JSON arrays or one object a line."""
    import json

    records: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        if text.lstrip().startswith("["):
            records.extend(json.loads(text))
        else:
            records.extend(json.loads(line) for line in text.splitlines() if line.strip())
    return records


def hunt_findings(path: Path) -> list[tuple[str, float, str]]:
    """The findings' host, score and signals (a host may have one per window)."""
    with path.open(newline="", encoding="utf-8") as rows:
        return sorted((row["key"], float(row["score"]), row["signals"]) for row in csv.DictReader(rows))


def test_the_sysmon_hunt_finds_in_an_index_what_it_finds_in_the_files(
    spark_context, elasticsearch: ElasticsearchNode, tmp_path: Path
) -> None:
    """HELK's hunt without a second copy: the OTRF sample indexed, the shipped sysmon-hunt
    (remote execution: Security 4624 type 3 joined to Sysmon 1 on the logon id) run over the
    files and over the index, with the same findings."""
    from configobj import ConfigObj

    sample = REPO / "conf" / "sysmon-hunt" / "sample"
    records = sample_records(sample)
    index = f"otrf-{uuid.uuid4().hex[:8]}"
    with elasticsearch.client() as client:
        client.indices.create(index=index, mappings=KEYWORDS)
        helpers.bulk(client, ({"_index": index, "_source": record} for record in records), refresh=True)
        assert client.count(index=index)["count"] == len(records)

    results = {}
    for source in ("files", "index"):
        folder = tmp_path / source
        shutil.copytree(REPO / "conf" / "sysmon-hunt", folder, ignore=shutil.ignore_patterns("tests"))
        conf = ConfigObj(str(folder / "sysmon-hunt.conf"), list_values=False, interpolation=False)
        conf["out_csv"]["path"] = str(folder / "findings.csv")
        if source == "index":
            del conf["file"]
            conf["input"] = "elasticsearch"
            conf["in_elasticsearch"] = {
                **dict(line.split(" = ", 1) for line in elasticsearch.output_keys().splitlines()),
                "index": index,
                "slices": "3",
            }
        conf.write()
        run_conf(spark_context, settings_for(folder), folder / "sysmon-hunt.conf")
        results[source] = hunt_findings(folder / "findings.csv")

    assert results["index"] == results["files"]
    assert any("remote_execution" in signals for _, _, signals in results["files"]), results["files"]


def test_sigma_rules_find_in_an_index_what_they_find_in_the_files(
    spark_context, elasticsearch: ElasticsearchNode, tmp_path: Path
) -> None:
    """The shipped Sigma use case over the OTRF sample, from its files and from an index of them:
    a DataFrame read through the mapping's schema (every field a keyword there) matches alike."""
    from configobj import ConfigObj

    records = sample_records(REPO / "conf" / "sysmon-hunt" / "sample")
    index = f"otrf-{uuid.uuid4().hex[:8]}"
    with elasticsearch.client() as client:
        client.indices.create(index=index, mappings=KEYWORDS)
        helpers.bulk(client, ({"_index": index, "_source": record} for record in records), refresh=True)

    results = {}
    for source in ("files", "index"):
        folder = tmp_path / source / "sigma"
        shutil.copytree(REPO / "conf" / "sigma", folder, ignore=shutil.ignore_patterns("tests", "output"))
        conf = ConfigObj(str(folder / "sigma.conf"), list_values=False, interpolation=False)
        conf["out_csv"]["path"] = str(folder / "findings.csv")
        conf["file"] = str(REPO / "conf" / "sysmon-hunt" / "sample" / "*.json")
        if source == "index":
            del conf["file"]
            conf["input"] = "elasticsearch"
            conf["in_elasticsearch"] = {
                **dict(line.split(" = ", 1) for line in elasticsearch.output_keys().splitlines()),
                "index": index,
            }
        conf.write()
        run_conf(spark_context, settings_for(folder), folder / "sigma.conf")
        with (folder / "findings.csv").open(newline="", encoding="utf-8") as rows:
            results[source] = sorted(
                (row["key"], row["rule"], row["count"], row["first_seen"], row["last_seen"])
                for row in csv.DictReader(rows)
            )

    assert results["index"] == results["files"]
    assert len(results["files"]) >= 3, results["files"]
