"""Elasticsearch 9 test node: Elastic's integ-test distribution on free 127.0.0.1 ports.

The ``org.elasticsearch.distribution.integ-test-zip`` zip on Maven Central is a real node
(``bin/elasticsearch``, no bundled JDK) with only a few modules: transport-netty4, apm,
x-pack-core and x-pack-security. Security is switched off, so the node speaks plain HTTP
without users or TLS. Elasticsearch refuses to run as root: as root the node runs as the
system user ``datashark-es``, which owns the unpacked home and each session's folder.

``running_node()`` serves the session fixture and bench/es_bench.py alike; the node it yields
can be stopped and started again on the same port and data (tests of an outage).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.services.cache import CACHE, progress, run_checked
from tests.services.maven import Artifact, copy_artifact
from tests.services.server import Server, ServerStartError, free_port

NAME = "elasticsearch"
VERSION = "9.5.3"  # same major as the Python client (9.5.x); 9.5.1 itself is not on Maven Central
DISTRIBUTION = Artifact("org.elasticsearch.distribution.integ-test-zip", "elasticsearch", VERSION, "zip")
USER = "datashark-es"
MIN_JAVA = 21  # Elasticsearch 9's launcher refuses older JVMs
START_TIMEOUT = 150  # seconds; about 25 on an idle 2-core machine, far more on a busy one
DEFAULT_ES_JAVA_OPTS = "-Xms512m -Xmx512m"  # the node sizes its heap from the machine's RAM otherwise

# A test box: one node, loopback only, no security (so plain HTTP), no disk-full guards.
SETTINGS = {
    "node.name": "datashark-test",
    "network.host": "127.0.0.1",
    "discovery.type": "single-node",
    "xpack.security.enabled": "false",
    # test machines' disks are often nearly full: never block writes or allocation for that
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    "action.destructive_requires_name": "false",  # lets tests delete indices by pattern
}


@dataclass(frozen=True)
class ElasticsearchNode:
    host: str
    port: int
    process: NodeProcess = field(compare=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        """Stop the node by PID (its data stays): tests of an outage; ``start()`` brings it back."""
        self.process.stop()

    def start(self) -> None:
        """Start the stopped node again on the same port and data, and wait until it serves."""
        self.process.start()


def _java_major(java: Path) -> int:
    """The feature release of ``java`` (``1.8.0`` counts as 1: too old either way)."""
    result = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', result.stderr)
    return int(match.group(1)) if match else 0


@functools.cache
def java_home() -> Path:
    """The newest Java 21+ under /usr/lib/jvm, for ``ES_JAVA_HOME`` (the zip bundles no JDK)."""
    jvms = [jvm for jvm in Path("/usr/lib/jvm").iterdir() if (jvm / "bin" / "java").is_file()]
    major, newest = max(((_java_major(jvm / "bin" / "java"), jvm) for jvm in jvms), default=(0, None))
    if newest is None or major < MIN_JAVA:
        raise RuntimeError(f"Elasticsearch {VERSION} needs Java {MIN_JAVA}+ under /usr/lib/jvm: {jvms}")
    return newest


def _run_as_user() -> str | None:
    """Elasticsearch must not run as root: as root, use (and create) a system user for it."""
    if os.geteuid() != 0:
        return None
    if subprocess.run(["id", "-u", USER], capture_output=True, check=False).returncode != 0:
        progress(f"creating system user {USER} for Elasticsearch")
        run_checked(
            ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
            what=f"creating user {USER}",
        )
    return USER


def _chown(path: Path, user: str | None) -> None:
    if user:
        run_checked(["chown", "-R", f"{user}:{user}", str(path)], what=f"handing {path} to {user}")


def _unzip(archive: Path, target: Path) -> None:
    """Extract ``archive`` keeping Unix modes (``zipfile`` drops them: bin/ must stay executable)."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            path = Path(zipped.extract(info, target))
            mode = info.external_attr >> 16 & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)


def provision() -> Path:
    """The unpacked distribution (its home), fetched and unzipped once into the cache.

    The zip stays in Maven's local repository only, so a lost home is unpacked again offline.
    """
    user = _run_as_user()
    folder = CACHE / NAME
    home = folder / f"elasticsearch-{VERSION}"
    stamp = folder / "unpacked"
    if stamp.is_file() and stamp.read_text() == VERSION and home.is_dir():
        return home
    archive = copy_artifact(NAME, DISTRIBUTION)
    for entry in folder.iterdir():  # older homes, half-done unpacking, the loose-jar node of old
        if entry.is_dir():
            shutil.rmtree(entry)
        elif entry != archive:
            entry.unlink()
    progress(f"unpacking {archive.name} into {folder}")
    unpacking = folder / "unpacking"
    _unzip(archive, unpacking)
    (unpacking / home.name).rename(home)
    unpacking.rmdir()
    archive.unlink()
    _chown(home, user)
    stamp.write_text(VERSION)
    return home


def _session_folder(home: Path, user: str | None) -> Path:
    """Config, data, logs and tmp for one session, outside pytest's root-only (0700) tmp tree.

    The node writes its keystore into its config folder, so each session gets a copy of it.
    """
    folder = Path(tempfile.mkdtemp(prefix="datashark-es-"))
    shutil.copytree(home / "config", folder / "config")
    for name in ("data", "logs", "tmp"):
        (folder / name).mkdir()
    _chown(folder, user)
    return folder


def _serves(url: str) -> bool:
    """True once the cluster is yellow or green; before that ES answers 408/503 or refuses."""
    with urllib.request.urlopen(
        f"{url}/_cluster/health?wait_for_status=yellow&timeout=2s", timeout=10
    ) as answer:
        return json.load(answer)["status"] in ("yellow", "green")


class NodeProcess:
    """The node's process, which can be stopped and started again over the same folder."""

    def __init__(self, home: Path, command_env: dict[str, str], folder: Path, user: str | None, url: str):
        self.command = [str(home / "bin" / "elasticsearch")]
        self.env = command_env
        self.folder = folder
        self.user = user
        self.url = url
        self.log_path = CACHE / NAME / "node.log"
        self.server: Server | None = None

    def start(self) -> None:
        """Start the node and wait until the cluster is yellow or green."""
        self.server = Server(NAME, self.command, self.log_path, env=self.env, cwd=self.folder, user=self.user)
        self.server.wait_until(lambda: _serves(self.url), timeout=START_TIMEOUT, what="cluster health yellow")

    def stop(self) -> None:
        if self.server:
            self.server.stop()
            self.server = None


@contextlib.contextmanager
def running_node() -> Iterator[ElasticsearchNode]:
    """A fresh node in its own folder, stopped by PID and removed on exit (tests and bench/ share it)."""
    home, jdk = provision(), java_home()  # both may fail: before the session folder exists
    user = _run_as_user()
    host, port = SETTINGS["network.host"], free_port()
    folder = _session_folder(home, user)
    settings = {
        **SETTINGS,
        "http.port": port,
        "transport.port": free_port(),
        "path.data": folder / "data",
        "path.logs": folder / "logs",
    }
    env = {
        "ES_JAVA_HOME": str(jdk),
        "ES_JAVA_OPTS": os.environ.get("ES_JAVA_OPTS", DEFAULT_ES_JAVA_OPTS),
        "ES_PATH_CONF": str(folder / "config"),
        "ES_TMPDIR": str(folder / "tmp"),
    }
    process = NodeProcess(home, env, folder, user, f"http://{host}:{port}")
    process.log_path.unlink(missing_ok=True)
    try:
        with open(folder / "config" / "elasticsearch.yml", "a") as config:  # JSON strings are YAML too
            config.writelines(f"{key}: {json.dumps(str(value))}\n" for key, value in settings.items())
        process.start()
        yield ElasticsearchNode(host, port, process)
    finally:
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[ElasticsearchNode]:
    """One node for the whole session: it takes many seconds to start even when cached."""
    try:
        with running_node() as node:
            yield node
    except ServerStartError as err:  # the log's tail says it all; no second traceback
        raise pytest.fail.Exception(str(err), pytrace=False) from None
