"""out_csv and out_parquet writing to the HDFS test cluster, read back with the WebHDFS client and Spark."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import shutil
import textwrap
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hdfs import InsecureClient

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.events.deadletter import DeadLetters
from datashark.plugin_api import OutputBatch
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import PARQUET_COLUMNS, WORDCOUNT_ROWS, settings_for
from tests.support.kafka_helpers import run_until
from tests.support.runs import run_conf
from tests.support.server import free_port
from tests.support.servers.hdfs import HdfsCluster

pytestmark = pytest.mark.spark

ROWS = [
    ("10.0.0.1", 3, {"agent": '=HYPERLINK("http://evil")', "city": "Zürich"}),
    ("@SUM(A1)", 1.5, {"agent": "curl", "city": "東京"}),
    ("a,b", -2, None),
    ('say "hi"', 0),
]
ROW_CODE = f"ROWS = {ROWS!r}\n\ndef load(batchData):\n    return batchData.flatMap(lambda _: ROWS)\n"
BATCH_TIMES = [datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 3, 23, 59, 59)]


def usecase(folder: Path, output: str, section: str) -> Path:
    """A batch use case whose load() returns ROWS (formula-like and non-ASCII text included)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "uc.py").write_text(ROW_CODE)
    (folder / "data.txt").write_text("one line\n")
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = HDFS Case\ntype = batch\ncode = uc.py\nfile = data.txt\noutput = {output}\n"
        f"[out_{output}]\n{textwrap.dedent(section)}"
    )
    return conf


def write_batches(sc, tmp_path: Path, path: str, extra: str = "") -> list[int]:
    """Write ROWS through out_csv at ``path`` once per BATCH_TIMES; the counts written."""
    folder = tmp_path / uuid.uuid4().hex
    settings = settings_for(folder)
    plugin = prepare(settings, read_usecase(usecase(folder, "csv", f"path = {path}\n{extra}"))).plugin
    rdd = sc.parallelize(ROWS, 3)
    return [
        plugin.write(rdd, OutputBatch(time, DeadLetters(sc, folder / "dl", "uc"))) for time in BATCH_TIMES
    ]


def hdfs_bytes(client: InsecureClient, path: str) -> bytes:
    with client.read(path) as reader:
        return reader.read()


@pytest.fixture
def client(hdfs: HdfsCluster) -> InsecureClient:
    return InsecureClient(hdfs.webhdfs_url, user="datashark")


@pytest.fixture
def folder() -> str:
    """A fresh HDFS folder per test (the cluster lives for the session)."""
    return f"/datashark/out/{uuid.uuid4().hex}"


@pytest.mark.parametrize("mode", ["append", "overwrite"])
def test_csv_on_hdfs_gets_the_bytes_of_the_local_file(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, folder: str, tmp_path: Path, mode: str
) -> None:
    extra = f"header = true\nmode = {mode}\n"
    local = tmp_path / "local.csv"
    assert write_batches(spark_context, tmp_path, str(local), extra) == [4, 4]
    uri = f"webhdfs://{hdfs.host}:{hdfs.http_port}{folder}/sub/out.csv"
    assert write_batches(spark_context, tmp_path, uri, extra) == [4, 4]

    text = hdfs_bytes(client, f"{folder}/sub/out.csv")
    assert text == local.read_bytes()
    lines = text.decode("utf-8").splitlines()
    assert lines[0] == "time,key,score,agent,city"
    assert lines.count(lines[0]) == 1, "a header only when the file is new"
    assert len(lines) == 1 + 4 * (2 if mode == "append" else 1)
    assert '2026-01-03 23:59:59,10.0.0.1,3,"\'=HYPERLINK(""http://evil"")",Zürich' in lines
    assert "2026-01-03 23:59:59,'@SUM(A1),1.5,curl,東京" in lines
    assert client.list(f"{folder}/sub") == ["out.csv"], "no temporary file left behind"


def test_wordcount_appends_to_an_hdfs_uri_over_two_runs(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, folder: str, tmp_path: Path, capsys
) -> None:
    uri = f"{hdfs.namenode_uri}{folder}/wordcount.csv"
    shutil.copytree(REPO / "conf" / "wordcount", tmp_path / "wordcount")
    conf = tmp_path / "wordcount" / "wordcount.conf"
    conf_text = conf.read_text().replace("output/usecase1.csv", uri)
    conf.write_text(conf_text + f"webhdfs_port = {hdfs.http_port}\nuser = analyst\n")
    settings = settings_for(tmp_path)
    for _ in range(2):
        run_conf(spark_context, settings, conf)

    rows = list(csv.reader(io.StringIO(hdfs_bytes(client, f"{folder}/wordcount.csv").decode("utf-8"))))
    assert len(rows) == 2 * WORDCOUNT_ROWS
    counts = {row[1]: int(row[2]) for row in rows}
    assert (counts["all"], counts["those"], counts["the"]) == (20, 14, 344)
    assert client.status(f"{folder}/wordcount.csv")["owner"] == "analyst"
    assert (
        capsys.readouterr()
        .out.strip()
        .splitlines()[-1]
        .endswith(f"- (Word Count) - Written 1384 Documents to CSV File {uri}")
    )


def test_a_torn_row_on_hdfs_is_cut_before_appending(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, folder: str, tmp_path: Path
) -> None:
    client.write(f"{folder}/out.csv", data="t,a,1\nt,b", encoding="utf-8")
    write_batches(spark_context, tmp_path, f"webhdfs://{hdfs.host}:{hdfs.http_port}{folder}/out.csv")
    lines = hdfs_bytes(client, f"{folder}/out.csv").decode("utf-8").splitlines()
    assert lines[0] == "t,a,1"
    assert len(lines) == 1 + 2 * len(ROWS)
    assert all(line.startswith("2026-01-0") for line in lines[1:])


def test_hdfs_errors_are_one_line_naming_the_file(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, folder: str, tmp_path: Path
) -> None:
    client.write(f"{folder}/file", data="x", encoding="utf-8")
    uri = f"webhdfs://{hdfs.host}:{hdfs.http_port}{folder}/file/out.csv"
    with pytest.raises(UseCaseError) as failure:
        write_batches(spark_context, tmp_path, uri)
    message = str(failure.value)
    assert message.startswith(f"CSV File {uri}: ") and "\n" not in message
    assert "ParentNotDirectory" in message or "not a directory" in message.lower()

    down = f"webhdfs://127.0.0.1:{free_port()}/x/out.csv"
    with pytest.raises(UseCaseError, match=r"^CSV File .*unreachable \(\[Errno 111\] Connection refused\)$"):
        write_batches(spark_context, tmp_path, down)


def test_parquet_on_hdfs(spark_context, hdfs: HdfsCluster, folder: str, tmp_path: Path) -> None:
    from pyspark.sql import SparkSession

    uri = f"{hdfs.namenode_uri}{folder}/parquet"
    settings = settings_for(tmp_path)
    prepared = prepare(settings, read_usecase(usecase(tmp_path / "uc", "parquet", f"path = {uri}\n")))
    rdd = spark_context.parallelize(ROWS, 2)
    written = [
        prepared.plugin.write(rdd, OutputBatch(time, DeadLetters(spark_context, tmp_path, "uc")))
        for time in BATCH_TIMES
    ]
    assert written == [4, 4]
    assert prepared.plugin.destination == f"Parquet {uri}"

    frame = SparkSession.builder.getOrCreate().read.parquet(uri)
    assert frame.dtypes == PARQUET_COLUMNS
    got = sorted(
        (r["date"].isoformat(), r["@timestamp"], r["key"], r["score"], r["title"], json.loads(r["metadata"]))
        for r in frame.collect()
    )
    expected = sorted(
        (
            time.astimezone(timezone.utc).date().isoformat(),
            time,
            key,
            float(score),
            "HDFS Case",
            (meta[0] or {}) if meta else {},
        )
        for time in BATCH_TIMES
        for key, score, *meta in ROWS
    )
    assert got == expected
    run_batch(spark_context, RunContext(settings), prepared, debug=False)
    assert SparkSession.builder.getOrCreate().read.parquet(uri).count() == 3 * len(ROWS)


def test_streaming_batches_append_parquet_and_csv_on_hdfs(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, folder: str, tmp_path: Path
) -> None:
    """Every micro-batch appends; both use cases see the dropped events."""
    from pyspark.sql import SparkSession

    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (tmp_path / "uc.py").write_text("def load(s, t):\n    return s.map(lambda e: (e['host'], 1, {'n': 1}))\n")
    (tmp_path / "train.txt").write_text("{}\n")
    outputs = {
        "parquet": f"path = {hdfs.namenode_uri}{folder}/parquet\n",
        "csv": f"path = webhdfs://{hdfs.host}:{hdfs.http_port}{folder}/stream.csv\n",
    }
    confs = []
    for output, section in outputs.items():
        conf = tmp_path / f"{output}.conf"
        conf.write_text(
            f"name = Stream {output}\ntype = streaming\ncode = uc.py\ntraining = train.txt\n"
            f"input = file\nformat = json\noutput = {output}\n"
            f"[in_file]\nfolder_path = {incoming}\nexisting = read\n"
            f"[out_{output}]\n{section}"
        )
        confs.append(conf)
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    staging = tmp_path / "staging.log"
    staging.write_text("".join(json.dumps({"host": host}) + "\n" for host in ("h1", "h2")))
    staging.rename(incoming / "events.log")  # there at the start: read, as existing = read says

    def csv_rows() -> int:
        try:
            return len(hdfs_bytes(client, f"{folder}/stream.csv").splitlines())
        except Exception:  # not written yet
            return 0

    # Stopped once both outputs wrote (the CSV's rows come after the Parquet's in each batch);
    # a fixed time limit would stop before a slow first Parquet write on a loaded machine.
    run_until(spark_context, settings, confs, lambda: csv_rows() >= 2, timeout=120)
    frame = SparkSession.builder.getOrCreate().read.parquet(f"{hdfs.namenode_uri}{folder}/parquet")
    assert sorted((r["key"], r["title"], r["metadata"]) for r in frame.collect()) == [
        ("h1", "Stream parquet", '{"n":1}'),
        ("h2", "Stream parquet", '{"n":1}'),
    ]
    lines = hdfs_bytes(client, f"{folder}/stream.csv").decode("utf-8").splitlines()
    assert sorted(line.split(",", 1)[1] for line in lines) == ["h1,1,1", "h2,1,1"]


def test_overwrite_keeps_the_permission_of_the_replaced_file(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, folder: str, tmp_path: Path
) -> None:
    client.write(f"{folder}/out.csv", data="old\n", encoding="utf-8", permission="640")
    write_batches(
        spark_context,
        tmp_path,
        f"webhdfs://{hdfs.host}:{hdfs.http_port}{folder}/out.csv",
        "mode = overwrite\n",
    )
    assert client.status(f"{folder}/out.csv")["permission"] == "640"
    assert b"old" not in hdfs_bytes(client, f"{folder}/out.csv")
