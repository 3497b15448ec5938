"""The web-anomaly Kibana saved objects fit the documents out_elasticsearch writes.

No Kibana runs here, so the check is what Kibana would need: every index pattern matches an
index the use case wrote, and every field a visualization, search or time filter names exists
in its mapping with a type Kibana can aggregate.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import shutil
import time
from pathlib import Path

import pytest
from pyspark.streaming import StreamingContext

from datashark.config.usecase import read_usecase
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import settings_for, stream_while

pytestmark = pytest.mark.spark

USECASE = REPO / "conf" / "web-anomaly-detection"
SAVED_OBJECTS = USECASE / "kibana" / "web-anomaly-detection.ndjson"
AGGREGATABLE = {"keyword", "long", "integer", "float", "double", "date", "scaled_float", "short", "byte"}


def saved_objects() -> list[dict]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text().splitlines() if line.strip()]


def referenced_fields(objects: list[dict]) -> dict[str, str]:
    """field -> what uses it, from time fields, aggregations and saved-search columns/sorts."""
    fields: dict[str, str] = {}
    for obj in objects:
        attributes = obj["attributes"]
        if obj["type"] == "index-pattern":
            fields[attributes["timeFieldName"]] = f"{obj['id']} time field"
        if obj["type"] == "visualization":
            for agg in json.loads(attributes["visState"])["aggs"]:
                if "field" in agg["params"]:
                    fields[agg["params"]["field"]] = f"{obj['id']} {agg['type']}"
        if obj["type"] == "search":
            for column in attributes["columns"] + [field for field, _ in attributes["sort"]]:
                fields.setdefault(column, f"{obj['id']} column")
    return fields


def test_every_reference_between_saved_objects_resolves() -> None:
    objects = saved_objects()
    ids = {(obj["type"], obj["id"]) for obj in objects}
    for obj in objects:
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in ids, f"{obj['id']} -> {reference}"
    dashboard = next(obj for obj in objects if obj["type"] == "dashboard")
    panel_refs = {panel["panelRefName"] for panel in json.loads(dashboard["attributes"]["panelsJSON"])}
    assert panel_refs == {reference["name"] for reference in dashboard["references"]}


def web_anomaly_to_elasticsearch(tmp_path: Path, keys: str) -> Path:
    """The sample use case, as shipped, with only ``output`` and its section changed (``keys``
    reach the node: its address, CA and credentials)."""
    folder = tmp_path / "web-anomaly-detection"
    shutil.copytree(USECASE, folder)
    conf = folder / "web-anomaly-detection.conf"
    text = conf.read_text().replace("output = csv", "output = elasticsearch")
    text = text[: text.index("[out_csv]")] + (
        "[out_elasticsearch]\n"
        f"{keys}"
        "index_name = web-anomaly-%Y.%m.%d\n"
        "pkey = source_ip\n"
        "score = anomaly_score\n"
    )
    conf.write_text(text.replace("stream_window = 10", "stream_window = 2"))
    return conf


def test_saved_objects_reference_fields_the_use_case_writes(
    spark_context, elasticsearch, tmp_path: Path
) -> None:
    conf = web_anomaly_to_elasticsearch(tmp_path, elasticsearch.output_keys())
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=2)
    prepared = prepare(settings, read_usecase(conf))
    log = (conf.parent / "access_combined.log").read_text()

    def drop() -> None:  # once the stream runs: a file stream reads only files that appear later
        while StreamingContext.getActive() is None:
            time.sleep(0.2)
        time.sleep(2)
        staging = tmp_path / "access.log"
        staging.write_text(log)
        shutil.move(staging, conf.parent / "incoming" / "access.log")

    stream_while(spark_context, settings, [prepared], drop, timeout=20)

    with elasticsearch.client() as client:
        client.indices.refresh(index="web-anomaly-*")
        mappings = client.indices.get_mapping(index="web-anomaly-*")
        written = client.count(index="web-anomaly-*")["count"]
    assert written == 3052, "one document per (IP, minute) of the sample"
    objects = saved_objects()
    for pattern in (obj["attributes"]["title"] for obj in objects if obj["type"] == "index-pattern"):
        assert fnmatch.filter(mappings, pattern), (
            f"index pattern {pattern} matches no index in {list(mappings)}"
        )
    properties: dict[str, str] = {}
    for mapping in mappings.values():
        properties.update(
            {name: spec.get("type", "object") for name, spec in mapping["mappings"]["properties"].items()}
        )
    for field, used_by in referenced_fields(objects).items():
        assert field in properties, f"{used_by} needs field {field}, not in the documents"
        assert properties[field] in AGGREGATABLE, f"{used_by}: {field} is {properties[field]}"
    assert properties["@timestamp"] == "date"
