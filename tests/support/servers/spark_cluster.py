"""A Spark standalone cluster (one master, one worker) from the pyspark wheel, on 127.0.0.1.

The wheel carries Spark's jars and ``bin/spark-class``, so there is nothing to download: the
master and the worker are two JVMs started with ``SPARK_HOME`` pointing into the wheel.
Everything binds to 127.0.0.1 (``--host`` for RPC, ``SPARK_LOCAL_IP`` for the web UIs, which
otherwise listen on all interfaces) and the master's unauthenticated REST submission server
stays off, so nothing on the network can submit work to it.

Authentication and encryption are on (``spark.authenticate``, ``spark.network.crypto.enabled``)
with a secret made for the session: ``SparkCluster.secret_file`` holds it (0600), as the file
datashark-env.sh names with ``SPARK_AUTH_SECRET_FILE``; a driver without it is refused.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from datashark.cluster.auth import AUTHENTICATED, secret_properties
from tests.support.server import Server, free_port, port_open

NAME = "spark_cluster"
START_TIMEOUT = 120  # two JVM starts on a busy two-core machine
WORKER_CORES = 1
WORKER_MEMORY = "1g"


def spark_home() -> Path:
    """The installed pyspark package, which is a complete ``SPARK_HOME`` (jars, bin, sbin)."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pyspark is not installed in this interpreter's environment")
    return Path(next(iter(spec.submodule_search_locations)))


def provision() -> None:
    """Nothing to fetch; only Java (17 or later for Spark 4) must be there."""
    if not shutil.which("java"):
        raise RuntimeError("the Spark test cluster needs Java 17+: install Debian's openjdk-17-jre-headless")
    spark_home()


def fetch_json(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class SparkCluster:
    """How to reach the test cluster and ask its master and worker what they run."""

    master_url: str
    master_web_url: str
    worker_web_url: str
    spark_home: Path
    secret_file: Path  # the cluster's shared secret, 0600, for SPARK_AUTH_SECRET_FILE

    def master_json(self) -> dict:
        """The master's status: ``workers``, ``activeapps``, ``completedapps``, ..."""
        return fetch_json(f"{self.master_web_url}/json/")

    def worker_json(self) -> dict:
        """The worker's status: its ``executors`` and ``finishedexecutors`` with their ``appid``."""
        return fetch_json(f"{self.worker_web_url}/json/")

    def alive_workers(self) -> list[dict]:
        return [worker for worker in self.master_json()["workers"] if worker["state"] == "ALIVE"]


def _environment(folder: Path) -> dict[str, str]:
    """Both daemons: the wheel as SPARK_HOME, an empty conf dir, loopback only, small heaps."""
    conf = folder / "conf"
    conf.mkdir(exist_ok=True)
    return {
        "SPARK_HOME": str(spark_home()),
        "SPARK_CONF_DIR": str(conf),  # no spark-env.sh or spark-defaults.conf from elsewhere
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "512m",
        "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false",  # the default, made explicit
        "SPARK_NO_DAEMONIZE": "1",
    }


def _private_file(path: Path, text: str) -> Path:
    """``path`` created 0600 (never readable by others, not even for a moment) holding ``text``."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    return path


def _daemon_properties(folder: Path, secret: str) -> Path:
    """What both daemons read with ``--properties-file``: authentication, encryption and the
    secret, kept off their command lines (``ps`` shows those to every user)."""
    settings = "".join(f"{key}={value}\n" for key, value in AUTHENTICATED.items())
    return _private_file(folder / "daemons.properties", settings + secret_properties(secret))


def _spark_class(*args: str) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), *args]


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    """Master then worker (it registers faster when the master already listens); ready when ALIVE."""
    provision()
    folder = tmp_path_factory.mktemp("spark-cluster")
    env = _environment(folder)
    secret = secrets.token_urlsafe(32)
    properties = _daemon_properties(folder, secret)
    port, web_port, worker_web_port = free_port(), free_port(), free_port()
    cluster = SparkCluster(
        master_url=f"spark://127.0.0.1:{port}",
        master_web_url=f"http://127.0.0.1:{web_port}",
        worker_web_url=f"http://127.0.0.1:{worker_web_port}",
        spark_home=spark_home(),
        secret_file=_private_file(folder / "cluster.secret", secret + "\n"),
    )
    started: list[Server] = []
    try:
        master = Server(
            "spark-master",
            _spark_class(
                "org.apache.spark.deploy.master.Master",
                *("--host", "127.0.0.1", "--port", str(port), "--webui-port", str(web_port)),
                *("--properties-file", str(properties)),
            ),
            folder / "master.log",
            env=env,
        )
        started.append(master)
        master.wait_until(
            lambda: port_open(port) and cluster.master_json()["status"] == "ALIVE",
            timeout=START_TIMEOUT,
            what="the master is ALIVE",
        )
        work_dir = folder / "work"
        worker = Server(
            "spark-worker",
            _spark_class(
                "org.apache.spark.deploy.worker.Worker",
                cluster.master_url,
                *("--host", "127.0.0.1", "--port", str(free_port())),
                *("--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY),
                *("--webui-port", str(worker_web_port), "--work-dir", str(work_dir)),
                *("--properties-file", str(properties)),
            ),
            folder / "worker.log",
            env=env,
        )
        started.append(worker)
        worker.wait_until(
            lambda: len(cluster.alive_workers()) == 1, timeout=START_TIMEOUT, what="the worker is ALIVE"
        )
        yield cluster
    finally:
        for server in reversed(started):  # the worker first: it takes its executors down with it
            server.stop()
