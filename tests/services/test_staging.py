"""Staging on the real HDFS: each use case's data keeps its folder and layout, and is removed."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from hdfs import InsecureClient

from datashark.cluster.staging import Stager
from datashark.config.settings import load_settings
from datashark.config.usecase import read_usecase
from datashark.errors import DataSharkError
from datashark.run.context import RunContext
from tests.support.servers.hdfs import HdfsCluster


def usecase_in(folder: Path, data_key: str, data: str, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    (folder / "uc.py").write_text("def load(batchData):\n    return batchData\n")
    kind = "batch" if data_key == "file" else "streaming"
    conf = folder / f"{folder.name}.conf"
    conf.write_text(f"name = {folder.name}\ntype = {kind}\ncode = uc.py\n{data_key} = {data}\noutput = csv\n")
    return conf


def settings_on(hdfs: HdfsCluster, home: Path, **keys: object):
    values = {
        "hdfs_host": hdfs.host,
        "hdfs_port": hdfs.port,
        "hdfs_webhdfs_port": hdfs.http_port,
        "hdfs_user": "datashark",
        "hdfs_staging_dir": f"/staging-test/{uuid.uuid4().hex[:8]}",
    }
    return dataclasses.replace(load_settings(home), **{**values, **keys})


def test_globs_folders_and_outside_files_are_staged_without_clashes(
    hdfs: HdfsCluster, tmp_path: Path
) -> None:
    conf = tmp_path / "home" / "conf"
    shared = tmp_path / "shared.log"
    shared.write_text("shared\n")
    usecases = [
        read_usecase(
            usecase_in(conf / "a", "file", "logs/*.log", {"logs/1.log": "a1\n", "logs/2.log": "a2\n"})
        ),
        read_usecase(
            usecase_in(conf / "b", "file", "logs", {"logs/1.log": "b1\n", "logs/deep/3.log": "b3\n"})
        ),
        read_usecase(usecase_in(conf / "c", "training", str(shared), {})),
    ]
    settings = settings_on(hdfs, tmp_path / "home")
    stager = Stager(settings, "dataShark_TEST")
    area = stager.stage(usecases)
    client = InsecureClient(hdfs.webhdfs_url, user="datashark")

    def read(relative: str) -> str:
        with client.read(f"{area.root}/{relative}", encoding="utf-8") as reader:
            return reader.read()

    assert area.root == f"{settings.hdfs_staging_dir}/dataShark_TEST"
    assert [read("a/logs/1.log"), read("a/logs/2.log")] == ["a1\n", "a2\n"]
    assert [read("b/logs/1.log"), read("b/logs/deep/3.log")] == ["b1\n", "b3\n"]
    assert read(f"c/_external{shared}") == "shared\n"
    assert (
        RunContext(settings, area).data_location(usecases[0])
        == f"hdfs://{hdfs.host}:{hdfs.port}{area.root}/a/logs/*.log"
    )
    assert client.status(area.root)["permission"] == "700"

    stager.remove()
    assert client.list(settings.hdfs_staging_dir) == []


def test_a_relative_staging_dir_is_under_the_users_home(hdfs: HdfsCluster, tmp_path: Path) -> None:
    settings = settings_on(hdfs, tmp_path, hdfs_staging_dir=".datashark-staging")
    stager = Stager(settings, "dataShark_HOME")
    try:
        assert stager.stage([]).root == "/user/datashark/.datashark-staging/dataShark_HOME"
    finally:
        stager.remove()


def test_an_unreachable_webhdfs_is_one_clear_error(hdfs: HdfsCluster, tmp_path: Path) -> None:
    settings = settings_on(hdfs, tmp_path, hdfs_webhdfs_port=1)
    with pytest.raises(DataSharkError) as err:
        Stager(settings, "dataShark_DOWN").stage([])
    assert str(err.value) == (
        f"HDFS staging ({settings.hdfs_staging_dir}, as datashark, hdfs.* in "
        f"{settings.conf_path}): WebHDFS at http://{hdfs.host}:1 unreachable ([Errno 111] Connection refused)"
    )
