"""Helpers for tests that run ./start.sh against the real cluster: a Spark master + worker, HDFS."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.servers.hdfs import HdfsCluster
from tests.support.servers.spark_cluster import SparkCluster

HDFS_USER = "datashark"
STAGING_DIR = "/datashark/staging"
EXECUTOR_MEMORY_MB = 512  # the test worker offers 1g
APP_NAME = re.compile(r"^App Name: (dataShark_[0-9A-F-]{36})$", re.M)


# An output that acknowledges each batch two seconds after writing it: a kill in that window is
# the worst case of at-least-once, a whole batch written and then replayed.
LATE_ACK_OUTPUT = """
import time

from datashark.plugin_api import OutputPlugin


class Plugin(OutputPlugin):
    CONFIGSPEC = ("path = string",)

    @property
    def destination(self):
        return "Late-Ack File " + self.conf["path"]

    def write(self, rdd, batch):
        rows = rdd.collect()
        text = "".join(f"{batch.timestamp},{key},{score}\\n" for key, score in rows)
        with open(self.conf["path"], "ab", buffering=0) as out:  # one write: the kill cannot tear it
            out.write(text.encode())
        time.sleep(2)
        return len(rows)
"""


def on_the_cluster(
    home: Path, cluster: SparkCluster, hdfs: HdfsCluster, *, secret: bool = True, ui: bool = False
) -> str:
    """Point a dataShark folder at the cluster by editing only datashark-env.sh and datashark.conf,
    as a user would: the master URL, the cluster's secret file (unless ``secret`` is false), the
    driver's UI (when ``ui``) and memory in one, HDFS in the other. Returns its own staging
    folder on HDFS (a killed run's leftovers stay in another test's)."""
    staging = f"{STAGING_DIR}/{uuid.uuid4().hex[:8]}"
    (home / "datashark-env.sh").write_text(
        f'SPARK_INSTANCE="{cluster.master_url}"\n'
        + (f"export SPARK_AUTH_SECRET_FILE={cluster.secret_file}\n" if secret else "")
        + ("export DATASHARK_SPARK_UI=true\n" if ui else "")
        + f"export SPARK_EXECUTOR_MEMORY={EXECUTOR_MEMORY_MB}m\n"
        "export SPARK_DRIVER_MEMORY=768m\n"
        "export SPARK_LOCAL_IP=127.0.0.1  # the executors reach the driver on this machine's loopback\n"
    )
    conf = home / "datashark.conf"
    existing = conf.read_text() if conf.exists() else ""
    conf.write_text(
        f"hdfs.host = {hdfs.host}\nhdfs.port = {hdfs.port}\nhdfs.webhdfs.port = {hdfs.http_port}\n"
        f"hdfs.user = {HDFS_USER}\nhdfs.staging.dir = {staging}\n{existing}"
    )
    return staging


def start(home: Path, log: Path) -> subprocess.Popen:
    """./start.sh from another folder, in its own process group as a terminal would run it, so a
    signal to the group is what Ctrl-C sends, and SIGKILL takes the driver's JVM down with it."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(REPO / "start.sh")],
            cwd=home.parent,
            env={**_without_cluster_settings(os.environ), "DATASHARK_HOME": str(home), "SPARK_INSTANCE": ""},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _without_cluster_settings(env: dict[str, str]) -> dict[str, str]:
    """The environment minus what datashark-env.sh alone must decide in these tests."""
    drop = {"SPARK_AUTH_SECRET_FILE", "DATASHARK_SPARK_UI", "PYSPARK_SUBMIT_ARGS"}
    return {key: value for key, value in env.items() if key not in drop}


def wait_for(condition, what: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; log:\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


def app_name_in(log: Path) -> str | None:
    match = APP_NAME.search(log.read_text()) if log.exists() else None
    return match[1] if match else None


def killed_and_restarted(
    home: Path,
    log: Path,
    feed: Callable[[], None],
    *,
    kill_when: Callable[[], bool],
    done_when: Callable[[], bool],
    measure: Callable[[], int],
) -> int:
    """./start.sh on ``home`` while ``feed`` runs in a thread: killed with SIGKILL once
    ``kill_when()`` holds, started again, and stopped with SIGINT (exit 0 asserted) once the feed
    ended and ``done_when()`` holds. Returns ``measure()`` taken right after the kill."""
    first = start(home, log)
    feeder = threading.Thread(target=feed)
    try:
        feeder.start()
        wait_for(kill_when, "the first run's rows", log)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        before_restart = measure()
        second = start(home, log)
        try:
            feeder.join()
            wait_for(done_when, "every event after the restart", log)
            second.send_signal(signal.SIGINT)
            assert second.wait(timeout=90) == 0, log.read_text()[-3000:]
        finally:
            if second.poll() is None:
                os.killpg(second.pid, signal.SIGKILL)
    finally:
        feeder.join()
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    return before_restart
