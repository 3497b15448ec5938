"""What ``[in_elasticsearch]`` keys become (queries, schemas), and the array wrapping, without a node."""

from __future__ import annotations

import pytest
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from datashark.elastic.connection import MEDIA_TYPE
from datashark.elastic.mapping import _merged, mapping_schema, nested_paths
from datashark.elastic.search import as_arrays, query_of
from datashark.errors import ConfigError, ConfLocation

WHERE = ConfLocation("/uc/hunt.conf", ("in_elasticsearch",))
PROPERTIES = {
    "@timestamp": {"type": "date"},
    "EventID": {"type": "integer"},
    "score": {"type": "scaled_float", "scaling_factor": 100},
    "elevated": {"type": "boolean"},
    "CommandLine": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
    "host": {"properties": {"name": {"type": "keyword"}, "ip": {"type": "ip"}}},
    "process": {"type": "nested", "properties": {"name": {"type": "keyword"}, "pid": {"type": "long"}}},
    "user_alias": {"type": "alias", "path": "host.name"},
}


def test_no_query_and_no_range_read_everything() -> None:
    assert query_of(None, "@timestamp", None, None, WHERE) == {"match_all": {}}
    assert query_of("   ", "@timestamp", None, None, WHERE) == {"match_all": {}}


def test_a_query_string_and_a_range_are_both_filters() -> None:
    assert query_of("EventID:1", "ts", "now-24h", None, WHERE) == {
        "bool": {"filter": [{"query_string": {"query": "EventID:1"}}, {"range": {"ts": {"gte": "now-24h"}}}]}
    }
    assert query_of(None, "ts", "2026-11-01", "2026-11-02", WHERE) == {
        "range": {"ts": {"gte": "2026-11-01", "lte": "2026-11-02"}}
    }


@pytest.mark.parametrize("text", ['{"term": {"EventID": 1}}', '{"query": {"term": {"EventID": 1}}}'])
def test_query_dsl_comes_with_or_without_its_wrapper(text: str) -> None:
    assert query_of(text, "@timestamp", None, None, WHERE) == {"term": {"EventID": 1}}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"term": {"EventID": 1}', " is not JSON (Query DSL) at character 23: Expecting ',' delimiter"),
        ('{"term": {}, "match": {}}', ': must be one Query DSL query, such as {"term": {"EventID": 1}}'),
    ],
)
def test_bad_query_dsl_names_the_key(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as refused:
        query_of(text, "@timestamp", None, None, WHERE)
    assert str(refused.value) == "/uc/hunt.conf: [in_elasticsearch], key 'query'" + problem


def test_the_mapping_becomes_a_schema_with_nested_fields_as_arrays() -> None:
    assert mapping_schema(PROPERTIES, None, ("CommandLine",)) == StructType(
        [
            StructField("@timestamp", StringType()),
            StructField("CommandLine", ArrayType(StringType())),
            StructField("EventID", LongType()),
            StructField("elevated", BooleanType()),
            StructField(
                "host", StructType([StructField("ip", StringType()), StructField("name", StringType())])
            ),
            StructField(
                "process",
                ArrayType(StructType([StructField("name", StringType()), StructField("pid", LongType())])),
            ),
            StructField("score", DoubleType()),
        ]
    )
    assert nested_paths(PROPERTIES) == ("process",)


def test_fields_keep_only_their_paths_and_whole_objects_asked_for() -> None:
    schema = mapping_schema(PROPERTIES, ("host.name", "process"), ())
    assert (
        schema.simpleString()
        == "struct<host:struct<name:string>,process:array<struct<name:string,pid:bigint>>>"
    )


def test_indices_that_disagree_on_a_field_make_it_text() -> None:
    merged = _merged(
        {"n": {"type": "long"}, "o": {"properties": {"a": {"type": "long"}}}},
        {"n": {"type": "keyword"}, "o": {"properties": {"b": {"type": "boolean"}}}, "m": {"type": "long"}},
    )
    assert (
        mapping_schema(merged, None, ()).simpleString()
        == "struct<m:bigint,n:string,o:struct<a:bigint,b:boolean>>"
    )


def test_single_values_of_array_fields_are_wrapped_at_any_depth() -> None:
    doc = {
        "tags": "lab",
        "process": {"name": "cmd.exe", "args": "/c"},
        "other": [{"process": {"args": ["-a"]}}],
        "none": None,
    }
    assert as_arrays(doc, ("tags", "process", "process.args", "other.process.args", "none", "missing.x")) == {
        "tags": ["lab"],
        "process": [{"name": "cmd.exe", "args": ["/c"]}],
        "other": [{"process": {"args": ["-a"]}}],
        "none": None,
    }


def test_requests_to_an_8_cluster_are_marked_for_it() -> None:
    versioned = "application/vnd.elasticsearch+\\1; compatible-with=8"
    assert (
        MEDIA_TYPE.sub(versioned, "application/json")
        == "application/vnd.elasticsearch+json; compatible-with=8"
    )
    assert (
        MEDIA_TYPE.sub(versioned, "application/x-ndjson")
        == "application/vnd.elasticsearch+x-ndjson; compatible-with=8"
    )
