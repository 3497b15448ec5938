"""in_file watching an hdfs:// folder: files renamed into it are streamed to the use case, with
the run's checkpoint on HDFS too: private (0700) while the run lasts, removed at its end."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from hdfs import InsecureClient

from datashark.config.usecase import read_usecase
from datashark.run.prepare import prepare
from tests.integration.conftest import read_csv, settings_for, stream_while
from tests.support.servers.hdfs import HdfsCluster


def test_file_input_streams_new_files_from_hdfs(hdfs: HdfsCluster, spark_context, tmp_path: Path) -> None:
    folder = "/datashark/streaming/incoming"
    client = InsecureClient(hdfs.webhdfs_url, user="datashark")
    client.makedirs(folder)
    (tmp_path / "uc.py").write_text("def load(s, t):\n    return s.map(lambda e: (e['host'], 1))\n")
    (tmp_path / "train.txt").write_text("{}\n")
    conf = tmp_path / "uc.conf"
    conf.write_text(
        "name = HDFS Folder\ntype = streaming\ncode = uc.py\ntraining = train.txt\ninput = file\n"
        f"format = json\noutput = csv\n[in_file]\nfolder_path = {hdfs.namenode_uri}{folder}\n"
        "[out_csv]\npath = out.csv\n"
    )
    checkpoints = "/datashark/streaming/ckpt"
    settings = dataclasses.replace(
        settings_for(tmp_path), batch_interval=1, checkpoint_dir=f"{hdfs.namenode_uri}{checkpoints}"
    )
    prepared = prepare(settings, read_usecase(conf))
    modes: list[str] = []

    def drop() -> None:
        time.sleep(3)
        modes.extend(
            client.status(f"{checkpoints}/{name}")["permission"]
            for name in client.list(checkpoints)
            if name != "hdfs-folder"  # what in_file read, kept across runs
        )
        staging = "/datashark/streaming/staging.log"
        client.write(staging, data=json.dumps({"host": "h1"}) + "\n", encoding="utf-8", overwrite=True)
        client.rename(staging, f"{folder}/events.log")

    stream_while(spark_context, settings, [prepared], drop, timeout=9)
    assert [row[1:] for row in read_csv(tmp_path / "out.csv")] == [["h1", "1"]]
    assert modes == ["700"], "the run's checkpoint folder is its user's only"
    assert client.list(checkpoints) == ["hdfs-folder"], "the run's checkpoint is removed at its end"
    state = f"{checkpoints}/hdfs-folder/in_file-seen.json"
    assert client.status(f"{checkpoints}/hdfs-folder")["permission"] == "700"
    assert client.status(state)["permission"] == "600"
    with client.read(state) as seen:
        assert list(json.load(seen)["files"]) == ["events.log"]
