"""out_parquet on the local filesystem: batches appended under date partitions, read back by Spark."""

from __future__ import annotations

import json
import re
import textwrap
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from datashark.run.prepare import prepare
from tests.integration.conftest import PARQUET_COLUMNS, settings_for
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark

CODE = """
def load(batchData):
    return batchData.map(lambda ip: (ip, 2, {"zone": "dmz", "hits": 3, "nested": {"a": [1]}}))
"""


def parquet_usecase(folder: Path, path: str, extra: str = "") -> Path:
    """A batch use case writing two rows (10.0.0.1, 10.0.0.2) to Parquet ``path``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(textwrap.dedent(CODE))
    (folder / "data.txt").write_text("10.0.0.1\n10.0.0.2\n")
    conf = folder / "uc.conf"
    conf.write_text(
        "name = Parquet Case\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = parquet\n"
        f"[out_parquet]\npath = {path}\ntitle = Zones\n{extra}"
    )
    return conf


def run(sc, conf: Path) -> datetime:
    """Run the use case once; returns a time just before the batch started (local, seconds)."""
    settings = settings_for(conf.parent)
    started = datetime.now().replace(microsecond=0)
    run_conf(sc, settings, conf)
    return started


def check_parquet(spark, uri: str, started: datetime, runs: int) -> None:
    """``runs`` batches of the two rows, with their columns, types and date partition."""
    frame = spark.read.parquet(uri)
    assert frame.dtypes == PARQUET_COLUMNS
    rows = frame.collect()
    assert sorted(row["key"] for row in rows) == sorted(["10.0.0.1", "10.0.0.2"] * runs)
    for row in rows:
        assert (row["score"], row["title"]) == (2.0, "Zones")
        assert json.loads(row["metadata"]) == {"hits": 3, "nested": {"a": [1]}, "zone": "dmz"}
        assert started <= row["@timestamp"] <= datetime.now()
        assert row["date"] == row["@timestamp"].astimezone(timezone.utc).date()


def test_relative_path_appends_under_the_usecase_folder(spark_context, tmp_path: Path, capsys) -> None:
    from pyspark.sql import SparkSession

    conf = parquet_usecase(tmp_path / "uc", "parquet/zones", "compression = zstd\n")
    started = run(spark_context, conf)
    run(spark_context, conf)
    out = tmp_path / "uc" / "parquet" / "zones"
    check_parquet(SparkSession.builder.getOrCreate(), str(out), started, runs=2)
    partitions = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert partitions and all(re.fullmatch(r"date=\d{4}-\d\d-\d\d", name) for name in partitions)
    assert date.fromisoformat(partitions[-1][5:]) >= started.astimezone(timezone.utc).date()
    assert all(".zstd." in f.name for f in out.glob("date=*/*.parquet"))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].endswith(f"- (Zones) - Written 2 Documents to Parquet {out}")


def test_path_is_required(tmp_path: Path) -> None:
    conf = parquet_usecase(tmp_path / "uc", "x")
    conf.write_text(conf.read_text().replace("path = x\n", ""))
    with pytest.raises(ConfigError, match=r"\[out_parquet\].*'path'"):
        prepare(settings_for(tmp_path), read_usecase(conf))


def test_debug_prints_the_rows_and_writes_them_once(spark_context, tmp_path: Path, capsys) -> None:
    from pyspark.sql import SparkSession

    conf = parquet_usecase(tmp_path / "uc", str(tmp_path / "out"), "debug = true\ncompression = none\n")
    started = run(spark_context, conf)
    printed = capsys.readouterr().out
    assert "'10.0.0.1', 2.0, 'Zones'" in printed and "'10.0.0.2', 2.0, 'Zones'" in printed
    check_parquet(SparkSession.builder.getOrCreate(), str(tmp_path / "out"), started, runs=1)
    assert (
        printed.strip().splitlines()[-1].endswith("Written 2 Documents to Parquet " + str(tmp_path / "out"))
    )
