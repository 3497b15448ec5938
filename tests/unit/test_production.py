"""Production runs without Spark: where staged files go, what spark-submit is given, which confs run."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from datashark.cluster.staging import StagingArea
from datashark.config.settings import load_settings
from datashark.config.usecase import discover, read_usecase
from datashark.files.paths import is_local
from datashark.run.context import RunContext
from datashark.run.production import submit_config
from datashark.run.spark import pool_allocations
from tests.unit.conftest import usecase_conf

AREA = StagingArea("hdfs://nn:9000", "/user/soc/.datashark-staging/dataShark_X")


def test_staged_paths_keep_each_use_case_folder_and_its_layout(make_usecase, home: Path) -> None:
    usecase = read_usecase(make_usecase("wordcount", files={"data.txt": "x\n", "logs/a.log": "x\n"}))
    folder = home / "conf" / "wordcount"
    assert AREA.relative(usecase, str(folder / "data.txt")) == "wordcount/data.txt"
    assert AREA.location(usecase, str(folder / "logs" / "*.log")) == f"{AREA.uri}/wordcount/logs/*.log"
    assert AREA.location(usecase, f"file://{folder}/data.txt") == f"{AREA.uri}/wordcount/data.txt"


def test_data_outside_the_folder_is_staged_under_its_absolute_path(make_usecase, home: Path) -> None:
    usecase = read_usecase(make_usecase("uc"))
    outside = str(home / "conf" / "uc" / ".." / "shared" / "data.txt")
    assert AREA.relative(usecase, outside) == f"uc/_external{home}/conf/shared/data.txt"
    assert AREA.relative(usecase, "/var/log/auth.log") == "uc/_external/var/log/auth.log"


def test_hadoop_uris_are_read_where_they_are(make_usecase) -> None:
    usecase = read_usecase(make_usecase("uc"))
    assert AREA.location(usecase, "hdfs://other:8020/logs/x") == "hdfs://other:8020/logs/x"
    assert AREA.checkpoint == f"{AREA.uri}/_checkpoint"
    assert is_local("/tmp/x") and is_local("file:///tmp/x") and not is_local("s3a://bucket/x")


def test_a_run_reads_the_staged_copy_only_when_it_staged(make_usecase, home: Path) -> None:
    usecase = read_usecase(make_usecase("uc"))
    settings = load_settings(home)
    assert RunContext(settings).data_location(usecase) == str(home / "conf" / "uc" / "data.txt")
    assert RunContext(settings, AREA).data_location(usecase) == f"{AREA.uri}/uc/data.txt"


def test_a_staged_run_checkpoints_in_its_area_unless_checkpoint_dir_is_remote(home: Path) -> None:
    settings = load_settings(home)
    assert RunContext(settings).checkpoint_dir == settings.checkpoint_dir
    assert RunContext(settings, AREA).checkpoint_dir == AREA.checkpoint
    remote = dataclasses.replace(settings, checkpoint_dir="hdfs://other:8020/ckpt")
    assert RunContext(remote, AREA).checkpoint_dir == "hdfs://other:8020/ckpt"


def test_hdfs_keys_and_their_defaults(home: Path) -> None:
    assert (load_settings(home).hdfs_webhdfs_port, load_settings(home).hdfs_staging_dir) == (
        9870,
        ".datashark-staging",
    )
    (home / "datashark.conf").write_text("hdfs.host = nn\nhdfs.webhdfs.port = 50070\nhdfs.user = soc\n")
    settings = load_settings(home)
    assert (settings.hdfs_host, settings.hdfs_webhdfs_port, settings.hdfs_user) == ("nn", 50070, "soc")


def prepared(name: str, kind: str) -> SimpleNamespace:
    return SimpleNamespace(usecase=SimpleNamespace(name=name, type=kind))


def test_concurrent_jobs_count_streaming_use_cases_only(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SPARK_DRIVER_MEMORY", raising=False)
    monkeypatch.setenv("SPARK_EXECUTOR_MEMORY", "4g")
    ready = [prepared("A", "batch"), prepared("B", "streaming"), prepared("C", "streaming")]
    config = submit_config(ready, tmp_path)
    assert config["spark.streaming.concurrentJobs"] == "2"
    assert config["spark.scheduler.mode"] == "FAIR"
    assert config["spark.executor.memory"] == "4g" and "spark.driver.memory" not in config
    assert Path(config["spark.submit.pyFiles"]).name == "datashark.zip"
    assert submit_config([prepared("A", "batch")], tmp_path)["spark.streaming.concurrentJobs"] == "1"


def test_the_framework_archive_holds_the_package_and_its_data(tmp_path: Path) -> None:
    archive = submit_config([prepared("A", "batch")], tmp_path)["spark.submit.pyFiles"]
    names = zipfile.ZipFile(archive).namelist()
    assert {"datashark/__init__.py", "datashark/kafka/reader.py", "datashark/log4j2.properties"} <= set(names)
    assert not [name for name in names if "__pycache__" in name]


def test_each_use_case_gets_a_declared_pool() -> None:
    pools = ET.fromstring(pool_allocations(['Web "Anomaly" <1>', "Word Count", "Word Count"])).findall("pool")
    assert sorted(pool.get("name") for pool in pools) == ['Web "Anomaly" <1>', "Word Count"]
    assert {pool.findtext("weight") for pool in pools} == {"1"}


@pytest.mark.parametrize("enabled", ["false", "no", "OFF", "0"])
def test_a_broken_conf_that_is_switched_off_does_not_stop_the_enabled_ones(
    make_usecase, home: Path, enabled: str
) -> None:
    make_usecase("good")
    make_usecase("off", conf=usecase_conf(enabled=enabled, type="sometimes"))
    make_usecase("broken", conf=usecase_conf(type=None))
    found = discover(home, enabled_only=True)
    assert [u.name for u in found.usecases] == ["uc"]
    assert len(found.problems) == 1 and "broken.conf" in found.problems[0]
    assert len(discover(home, enabled_only=False).problems) == 2
