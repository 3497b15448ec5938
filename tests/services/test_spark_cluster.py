"""dataShark's SparkContext runs a job on the standalone test cluster's worker, not locally.

The job runs in a child Python: a process can hold only one active SparkContext, and the
session's local one (``spark_context``) may already be up in this one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid

from datashark.cluster.auth import SECRET_FILE_VARIABLE
from tests.conftest import REPO
from tests.support.servers.spark_cluster import SparkCluster

# Started through datashark.engine.start_spark, so the cluster sees dataShark's own conf
# (Kryo, FAIR, its log4j file) and executors get PYSPARK_PYTHON from it.
JOB = r"""
import dataclasses, json, os, socket, sys, tempfile
from pathlib import Path
from pyspark import TaskContext
from datashark.cluster.auth import cluster_security, secret_for_driver
from datashark.run.spark import start_spark
from datashark.config.settings import load_settings

master_url, app_name, repo = sys.argv[1:4]

def executor_backend():
    # The Python worker's ancestors include the executor JVM the Spark worker launched.
    pid = os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().decode().split("\0")
        if "org.apache.spark.executor.CoarseGrainedExecutorBackend" in args:
            return {args[i]: args[i + 1] for i in range(len(args) - 1) if args[i].startswith("--")}
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    return None

def command_lines():
    lines = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(path.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return lines

def where(rows):
    yield {
        "partition": TaskContext.get().partitionId(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "python": sys.executable,
        "backend": executor_backend(),
        "sum": sum(rows),
    }

settings = load_settings(__import__("pathlib").Path(repo))
extra = {"spark.ui.enabled": "false", "spark.executor.memory": "512m", "spark.cores.max": "1"}
settings = dataclasses.replace(settings, spark_config={**settings.spark_config, **extra})
security = cluster_security(master_url, os.environ)  # as ./start.sh does, from SPARK_AUTH_SECRET_FILE
if security.warning:
    print(security.warning, file=sys.stderr)
with tempfile.TemporaryDirectory() as folder, secret_for_driver(security, Path(folder)):
    sc = start_spark(settings, master_url, app_name, security.config)
try:
    tasks = sc.parallelize(range(10), 2).mapPartitions(where).collect()
    result = {
        "app_id": sc.applicationId,
        "master": sc.master,
        "driver_pid": os.getpid(),
        "tasks": tasks,
        "command_lines": command_lines(),
        "authenticate": sc.getConf().get("spark.authenticate"),
    }
finally:
    sc.stop()
print("RESULT " + json.dumps(result))
"""


def run_job(cluster: SparkCluster, app_name: str) -> dict:
    """JOB in a child Python, given the cluster's secret file as datashark-env.sh gives it."""
    env = {
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_HOME": str(cluster.spark_home),
        "PYTHONPATH": str(REPO),
        SECRET_FILE_VARIABLE: str(cluster.secret_file),
    }
    completed = subprocess.run(
        [sys.executable, "-c", JOB, cluster.master_url, app_name, str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**_inherited_env(), **env},
    )
    results = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    assert completed.returncode == 0 and results, (
        f"job failed (exit {completed.returncode}):\n{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}"
    )
    return json.loads(results[-1].removeprefix("RESULT "))


def _inherited_env() -> dict[str, str]:
    """This process's environment minus what would point the child's Spark elsewhere."""
    drop = {"PYSPARK_SUBMIT_ARGS", "SPARK_CONF_DIR", "MASTER", SECRET_FILE_VARIABLE}
    return {key: value for key, value in os.environ.items() if key not in drop}


def wait_for_completed_app(cluster: SparkCluster, app_id: str, timeout: float = 30) -> dict:
    """The driver's goodbye reaches the master asynchronously after ``sc.stop()``."""
    deadline = time.monotonic() + timeout
    while True:
        apps = {app["id"]: app for app in cluster.master_json()["completedapps"]}
        if app_id in apps:
            return apps[app_id]
        assert time.monotonic() < deadline, f"{app_id} not among the master's completed apps: {list(apps)}"
        time.sleep(0.25)


def test_job_runs_on_the_clusters_worker(spark_cluster: SparkCluster) -> None:
    app_name = f"datashark-cluster-test-{uuid.uuid4().hex[:8]}"
    result = run_job(spark_cluster, app_name)

    assert result["master"] == spark_cluster.master_url
    tasks = sorted(result["tasks"], key=lambda task: task["partition"])
    assert [task["partition"] for task in tasks] == [0, 1]
    assert sum(task["sum"] for task in tasks) == sum(range(10))

    (worker,) = spark_cluster.alive_workers()
    for task in tasks:
        backend = task["backend"]
        assert backend is not None, f"task {task} did not run under an executor JVM"
        assert backend["--app-id"] == result["app_id"]
        assert backend["--worker-url"] == f"spark://Worker@127.0.0.1:{worker['port']}"
        assert task["pid"] != result["driver_pid"]
        assert task["python"] == sys.executable  # the venv's interpreter, via PYSPARK_PYTHON

    app = wait_for_completed_app(spark_cluster, result["app_id"])
    assert app["name"] == app_name
    assert app["state"] == "FINISHED"
    finished = [e for e in spark_cluster.worker_json()["finishedexecutors"] if e["appid"] == result["app_id"]]
    assert [str(e["id"]) for e in finished] == [tasks[0]["backend"]["--executor-id"]]

    # Authenticated with the cluster's secret, which no process shows on its command line.
    assert result["authenticate"] == "true"
    secret = spark_cluster.secret_file.read_text().strip()
    assert not [line for line in result["command_lines"] if secret in line]
