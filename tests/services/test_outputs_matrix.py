"""The sample use cases, pointed at every production output by changing only ``output`` and its
section: wordcount (batch) and web-anomaly-detection (streaming), each against the real server.

(web-anomaly-detection to Elasticsearch is test_kibana_objects.py, which also checks the
dashboards against what it wrote.)
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest
from hdfs import InsecureClient
from pyspark.sql import SparkSession
from pyspark.streaming import StreamingContext

from datashark.config.usecase import read_usecase
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import WORDCOUNT_ROWS, settings_for, stream_while
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark
WEB_ANOMALY_ROWS = 3052


def pointed_at(source: Path, target: Path, output: str, section: str) -> Path:
    """A copy of the use case in ``source`` whose ``output`` and its section are replaced."""
    shutil.copytree(source, target)
    conf = next(target.glob("*.conf"))
    text = conf.read_text()
    text = re.sub(r"(?m)^output = csv$", f"output = {output}", text)
    text = text[: text.index("[out_csv]")] + f"[out_{output}]\n{section}\n"
    conf.write_text(text.replace("stream_window = 10", "stream_window = 2"))
    return conf


def hdfs_sections(hdfs, name: str) -> dict[str, str]:
    base = f"{hdfs.namenode_uri}/matrix-{uuid.uuid4().hex[:8]}/{name}"
    return {
        "csv": f"path = {base}.csv\nwebhdfs_port = {hdfs.http_port}\nheader = true",
        "parquet": f"path = {base}-parquet",
    }


def hdfs_rows(sc, hdfs, output: str, section: str) -> int:
    path = section.split("\n")[0].removeprefix("path = ")
    if output == "parquet":
        return SparkSession(sc).read.parquet(path).count()
    client = InsecureClient(hdfs.webhdfs_url, user="datashark")
    with client.read(path.removeprefix(hdfs.namenode_uri), encoding="utf-8") as reader:
        return len(reader.read().splitlines()) - 1  # the header


FRAMES_WORDCOUNT = """
from pyspark.sql import functions as sf


def load(lines):
    words = lines.select(sf.explode(sf.split(sf.col("value"), r"\\s+")).alias("word")).filter("word != ''")
    return words.groupBy(sf.lower("word").alias("key")).agg(sf.count("*").alias("score"))
"""


@pytest.mark.parametrize("api", ["rdd", "dataframe"])
def test_wordcount_to_every_output(
    spark_context, elasticsearch, syslog, hdfs, tmp_path: Path, api: str
) -> None:
    """The word count, and its twin as a DataFrame use case, reach every output whole."""
    title = f"Word Count {uuid.uuid4().hex[:6]}"
    index = f"wordcount-{uuid.uuid4().hex[:6]}"
    sections = {
        "elasticsearch": elasticsearch.output_keys() + f"index_name = {index}\npkey = word\nscore = count",
        "syslog": f"port = {syslog.tcp_port}\nprotocol = tcp\ntitle = {title}",
        **hdfs_sections(hdfs, f"wordcount-{api}"),
    }
    settings = settings_for(tmp_path)
    for output, section in sections.items():
        conf = pointed_at(REPO / "conf" / "wordcount", tmp_path / output, output, section)
        if api == "dataframe":
            frames = conf.read_text().replace("code = wordcount.py", "code = frames.py\napi = dataframe")
            conf.write_text(frames)
            (conf.parent / "frames.py").write_text(FRAMES_WORDCOUNT)
        run_conf(spark_context, settings, conf)

    with elasticsearch.client() as client:
        client.indices.refresh(index=index)
        assert client.count(index=index)["count"] == WORDCOUNT_ROWS
    assert len(syslog.wait_for(WORDCOUNT_ROWS, containing=f'"title":"{title}"')) == WORDCOUNT_ROWS
    for output in ("csv", "parquet"):
        assert hdfs_rows(spark_context, hdfs, output, sections[output]) == WORDCOUNT_ROWS, output


def test_web_anomaly_detection_to_syslog_and_hdfs(spark_context, syslog, hdfs, tmp_path: Path) -> None:
    """Three copies in one streaming run, each with its own output and incoming folder."""
    title = f"Web Anomaly {uuid.uuid4().hex[:6]}"
    sections = {
        "syslog": f"port = {syslog.tcp_port}\nprotocol = tcp\ntitle = {title}",
        **hdfs_sections(hdfs, "web-anomaly"),
    }
    confs = [
        pointed_at(REPO / "conf" / "web-anomaly-detection", tmp_path / output, output, section)
        for output, section in sections.items()
    ]
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=2)
    prepared = [prepare(settings, read_usecase(conf)) for conf in confs]
    log = (REPO / "conf" / "web-anomaly-detection" / "access_combined.log").read_text()

    def drop() -> None:  # once the stream runs: a file stream reads only files that appear later
        while StreamingContext.getActive() is None:
            time.sleep(0.2)
        time.sleep(2)
        for conf in confs:
            staging = conf.parent / ".access.log"
            staging.write_text(log)
            shutil.move(staging, conf.parent / "incoming" / "access.log")

    stream_while(spark_context, settings, prepared, drop, timeout=25)

    assert len(syslog.wait_for(WEB_ANOMALY_ROWS, containing=f'"title":"{title}"')) == WEB_ANOMALY_ROWS
    for output in ("csv", "parquet"):
        assert hdfs_rows(spark_context, hdfs, output, sections[output]) == WEB_ANOMALY_ROWS, output
