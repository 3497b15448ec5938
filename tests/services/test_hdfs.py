"""HDFS test cluster smoke test: what the WebHDFS client writes, Spark reads over Hadoop RPC."""

from __future__ import annotations

from hdfs import InsecureClient

from tests.support.servers.hdfs import HdfsCluster

LINES = ["2024-01-01T00:00:00 10.0.0.1 login ok", "2024-01-01T00:00:01 10.0.0.2 login failed", "é ünïcode"]


def test_webhdfs_write_is_read_by_client_and_spark(hdfs: HdfsCluster, spark_context) -> None:
    path = "/datashark/smoke/events.log"
    client = InsecureClient(hdfs.webhdfs_url, user="datashark")
    client.write(path, data="\n".join(LINES) + "\n", encoding="utf-8", overwrite=True)

    with client.read(path, encoding="utf-8") as reader:
        assert reader.read().splitlines() == LINES
    assert client.status(path)["owner"] == "datashark"

    assert spark_context.textFile(f"{hdfs.namenode_uri}{path}").collect() == LINES
