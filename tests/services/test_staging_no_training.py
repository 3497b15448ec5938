"""Staging on the real HDFS: a streaming use case without ``training`` stages nothing for it."""

from __future__ import annotations

from pathlib import Path

from hdfs import InsecureClient

from datashark.cluster.staging import Stager
from datashark.config.usecase import read_usecase
from tests.services.test_staging import settings_on, usecase_in
from tests.support.servers.hdfs import HdfsCluster


def test_a_streaming_use_case_without_training_stages_nothing(hdfs: HdfsCluster, tmp_path: Path) -> None:
    conf = tmp_path / "home" / "conf"
    with_data = read_usecase(usecase_in(conf / "a", "file", "data.txt", {"data.txt": "a\n"}))
    streaming = conf / "s" / "s.conf"
    streaming.parent.mkdir(parents=True)
    (streaming.parent / "uc.py").write_text("def load(streamingData):\n    return streamingData\n")
    streaming.write_text("name = s\ntype = streaming\ncode = uc.py\noutput = csv\n")
    settings = settings_on(hdfs, tmp_path / "home")
    stager = Stager(settings, "dataShark_NOTRAIN")
    area = stager.stage([with_data, read_usecase(streaming)])
    try:
        client = InsecureClient(hdfs.webhdfs_url, user="datashark")
        assert sorted(client.list(area.root)) == ["a"]
    finally:
        stager.remove()
