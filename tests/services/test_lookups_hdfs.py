"""A lookup on HDFS: read through Spark's Hadoop filesystem when the use case starts, and one
line naming the conf's key when it is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from hdfs import InsecureClient

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.integration.conftest import read_csv, settings_for
from tests.support.servers.hdfs import HdfsCluster

pytestmark = pytest.mark.spark

ENRICH = """
def load(batchData, lookups):
    return batchData.map(lambda ip: (ip, 1, {"owner": lookups["assets"].get(ip, {}).get("owner", "?")}))
"""


def enrich_usecase(folder: Path, location: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(ENRICH)
    (folder / "events.txt").write_text("10.0.0.1\n10.0.0.2\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = HDFS Lookup\ntype = batch\ncode = uc.py\nfile = events.txt\noutput = csv\n"
        f"[out_csv]\npath = out.csv\n[lookups]\n[[assets]]\npath = {location}\nkey = ip\n"
    )
    return conf


def test_a_lookup_on_hdfs_is_read_when_the_use_case_starts(
    hdfs: HdfsCluster, spark_context, tmp_path
) -> None:
    client = InsecureClient(hdfs.webhdfs_url, user="datashark")
    client.write(
        "/datashark/lookups/assets.jsonl", data='{"ip": "10.0.0.1", "owner": "alice"}\n', overwrite=True
    )
    conf = enrich_usecase(tmp_path / "uc", f"{hdfs.namenode_uri}/datashark/lookups/assets.jsonl")
    settings = settings_for(tmp_path)
    prepared = prepare(settings, read_usecase(conf))
    assert prepared.lookups.values == {}  # Spark reads it
    run_batch(spark_context, RunContext(settings), prepared, debug=False)
    assert sorted(row[1:] for row in read_csv(conf.parent / "out.csv")) == [
        ["10.0.0.1", "1", "alice"],
        ["10.0.0.2", "1", "?"],
    ]


def test_a_lookup_missing_on_hdfs_fails_the_use_case_at_start(
    hdfs: HdfsCluster, spark_context, tmp_path
) -> None:
    location = f"{hdfs.namenode_uri}/datashark/lookups/none.jsonl"
    conf = enrich_usecase(tmp_path / "uc", location)
    settings = settings_for(tmp_path)
    with pytest.raises(UseCaseError) as err:
        run_batch(spark_context, RunContext(settings), prepare(settings, read_usecase(conf)), debug=False)
    assert str(err.value) == (
        f"(HDFS Lookup) - Failed: {conf}: [lookups][assets], key 'path': no such file: {location}"
    )
    assert not (conf.parent / "out.csv").exists()
