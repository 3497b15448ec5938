"""./start.sh in production: a Spark standalone master + worker, HDFS for staging, Kafka.

The user's side is datashark-env.sh (master URL, memory) and datashark.conf (HDFS, Kafka); the
test then checks what the cluster itself reports: the application ran on the worker, in the
use cases' FAIR pools, with its data staged on HDFS, and nothing is left there afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import urllib.request
import zipfile
from pathlib import Path

from hdfs import InsecureClient

from datashark.cluster.auth import UNAUTHENTICATED_WARNING
from tests.conftest import REPO
from tests.integration.conftest import WORDCOUNT_ROWS, assert_console_flow, read_csv
from tests.support.kafka_helpers import (
    committed,
    end_offsets,
    ids_in,
    json_events,
    new_topic,
    produce,
    usecase,
)
from tests.support.production_helpers import (
    EXECUTOR_MEMORY_MB,
    HDFS_USER,
    app_name_in,
    on_the_cluster,
    start,
    wait_for,
)
from tests.support.server import free_port
from tests.support.servers.hdfs import HdfsCluster
from tests.support.servers.kafka import KafkaBroker
from tests.support.servers.spark_cluster import SparkCluster

EVENTS = 900
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp{,6} write it (IPv4-mapped in tcp6)
REFUSED_WITHIN = 150  # Spark's client tries a master 3 times, 20 s apart, before it gives up
# One row per event, saying where the executor imported dataShark from.
ROW_WITH_FRAMEWORK = """
def load(streamingData, trainingData, context, conf):
    def row(event):
        import datashark

        return event["id"], 1, {"framework": datashark.__file__}

    return streamingData.map(row)
"""


def wordcount_home(tmp_path: Path) -> Path:
    """A dataShark folder with the plugins and the wordcount sample, writing tmp_path/wordcount.csv."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    shutil.copytree(REPO / "conf" / "wordcount", home / "conf" / "wordcount")
    wordcount = home / "conf" / "wordcount" / "wordcount.conf"
    wordcount.write_text(
        wordcount.read_text().replace("output/usecase1.csv", str(tmp_path / "wordcount.csv"))
    )
    return home


def production_home(tmp_path: Path, bootstrap_servers: str, topic: str, ui_port: int) -> Path:
    """wordcount (batch) and one streaming use case on the global Kafka stream, both enabled."""
    home = wordcount_home(tmp_path)
    events = tmp_path / "events.csv"
    conf = usecase(home / "conf" / "events", "Events", extra="enabled = true", out=str(events))
    (conf.parent / "uc.py").write_text(ROW_WITH_FRAMEWORK)
    (home / "lib").mkdir()
    with zipfile.ZipFile(home / "lib" / "datashark-test.jar", "w") as jar:  # a jar is a zip
        jar.writestr("datashark-test.properties", "shipped = true\n")
    (home / "datashark.conf").write_text(
        f"kafka.bootstrap.servers = {bootstrap_servers}\nkafka.topics = {topic}\nkafka.group.id = g-{topic}\n"
        "kafka.starting.offsets = earliest\nkafka.max.records.per.partition = 200\nbatch.interval = 2\n"
        f"[spark_config]\nspark.ui.port = {ui_port}\n"
    )
    return home


def command_lines() -> list[str]:
    """Every process's command line, as one string each."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:  # the process ended meanwhile
            continue
    return lines


def listeners(port: int) -> list[str]:
    """The local addresses of the sockets listening on ``port``, in the kernel's hex notation."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.append(address)
    return found


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def test_start_sh_runs_batch_then_streaming_on_the_cluster_and_cleans_up(
    spark_cluster: SparkCluster, hdfs: HdfsCluster, kafka: KafkaBroker, tmp_path: Path
) -> None:
    topic = new_topic(kafka.bootstrap_servers)
    produce(kafka.bootstrap_servers, topic, json_events(EVENTS))
    ui_port = free_port()
    home = production_home(tmp_path, kafka.bootstrap_servers, topic, ui_port)
    staging_dir = on_the_cluster(home, spark_cluster, hdfs, ui=True)
    client = InsecureClient(hdfs.webhdfs_url, user=HDFS_USER)
    log = tmp_path / "start.log"

    process = start(home, log)
    try:
        wait_for(lambda: len(ids_in(tmp_path / "events.csv")) >= EVENTS, "every event in events.csv", log)
        app_name = app_name_in(log)
        (app,) = [app for app in spark_cluster.master_json()["activeapps"] if app["name"] == app_name]
        staged = sorted(
            f"{root.removeprefix(f'{staging_dir}/{app_name}')}/{name}"
            for root, _dirs, files in client.walk(f"{staging_dir}/{app_name}")
            for name in files
        )
        executors = [e for e in spark_cluster.worker_json()["executors"] if e["appid"] == app["id"]]
        processes = command_lines()
        driver_jvms = [args for args in processes if f"spark.app.name={app_name}" in args]
        api = f"http://127.0.0.1:{ui_port}/api/v1/applications/{app['id']}"
        stages = get_json(f"{api}/stages")
        classpath = get_json(f"{api}/environment")["classpathEntries"]
        ui_listeners = listeners(ui_port)
        os.killpg(process.pid, signal.SIGINT)  # the whole group, as Ctrl-C in a terminal
        assert process.wait(timeout=90) == 0, log.read_text()[-4000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    out = log.read_text()

    # Ran on the cluster's worker, as the master and the worker report it, with the memory asked for.
    assert app["memoryperexecutor"] == EXECUTOR_MEMORY_MB, app
    assert len(executors) == 1 and executors[0]["memory"] == EXECUTOR_MEMORY_MB, executors
    # Authenticated and encrypted, with the cluster's secret on no command line.
    assert (
        "spark.authenticate=true" in driver_jvms[0] and "spark.network.crypto.enabled=true" in driver_jvms[0]
    )
    secret = spark_cluster.secret_file.read_text().strip()
    assert not [args for args in processes if secret in args]
    assert UNAUTHENTICATED_WARNING not in out
    # SPARK_LOCAL_IP of datashark-env.sh honoured: the driver's UI (turned on there) on loopback only.
    assert ui_listeners and all(address.endswith(LOOPBACK_HEX) for address in ui_listeners), ui_listeners
    # No JMX port on the driver's JVM or the executor's (the original opened one to the world).
    assert len(driver_jvms) == 1 and "jmxremote" not in driver_jvms[0]
    assert "jmxremote" not in json.dumps(executors)
    # lib/*.jar shipped with the application.
    assert [source for path, source in classpath if path.endswith("/datashark-test.jar")] == ["Added By User"]
    # Each use case's jobs ran in its own FAIR pool.
    assert {stage["schedulingPool"] for stage in stages} >= {"Word Count", "Events"}
    assert "FairSchedulableBuilder" not in out, "the pools are declared, not made on the fly with a warning"
    # The data staged per use case, keeping each folder's layout, and the streaming checkpoint beside it.
    assert "/wordcount/wordcount.txt" in staged and "/events/training.txt" in staged, staged
    assert any(path.startswith("/_checkpoint/") for path in staged), staged

    # Batch then streaming, everything delivered once, offsets committed, a clean stop.
    assert len(read_csv(tmp_path / "wordcount.csv")) == WORDCOUNT_ROWS
    events = ids_in(tmp_path / "events.csv")
    assert set(events) == {f"e{n}" for n in range(EVENTS)} and max(events.values()) == 1
    assert committed(kafka.bootstrap_servers, f"g-{topic}", topic) == end_offsets(
        kafka.bootstrap_servers, topic
    )
    assert "Stopping streaming (SIGINT received)" in out
    assert_console_flow(out, "Cluster", streaming=" - Starting Events")
    # Nothing left on HDFS, and the master saw the application finish.
    assert client.list(staging_dir) == []
    wait_for(
        lambda: any(a["id"] == app["id"] for a in spark_cluster.master_json()["completedapps"]),
        "the master to list the application as completed",
        log,
        timeout=30,
    )


def test_start_sh_without_the_clusters_secret_is_refused_and_says_so(
    spark_cluster: SparkCluster, hdfs: HdfsCluster, tmp_path: Path
) -> None:
    home = wordcount_home(tmp_path)
    staging_dir = on_the_cluster(home, spark_cluster, hdfs, secret=False)
    log = tmp_path / "start.log"

    process = start(home, log)
    try:
        code = process.wait(timeout=REFUSED_WITHIN)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    out = log.read_text()

    assert code == 1, out[-4000:]
    assert out.count(UNAUTHENTICATED_WARNING) == 1
    refused = [line for line in out.splitlines() if "did not accept this application" in line]
    assert len(refused) == 1 and "SPARK_AUTH_SECRET_FILE" in refused[0], out[-4000:]
    assert not (tmp_path / "wordcount.csv").exists()
    names = [app["name"] for app in spark_cluster.master_json()["completedapps"]]
    assert app_name_in(log) not in names
    assert InsecureClient(hdfs.webhdfs_url, user=HDFS_USER).list(staging_dir) == []
