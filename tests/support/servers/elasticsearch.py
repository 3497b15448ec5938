"""Elasticsearch 9 test node: Elastic's integ-test distribution on free 127.0.0.1 ports.

The ``org.elasticsearch.distribution.integ-test-zip`` zip on Maven Central is a real node
(``bin/elasticsearch``, no bundled JDK) with only a few modules: transport-netty4, apm,
x-pack-core and x-pack-security. Security is on, as in production: HTTPS with a certificate
from a CA made for the session (``tests/support/tls.py``), and a superuser in the file realm
with a password drawn for the session, so the tests exercise dataShark's certificate checks
and credentials instead of switching them off. Elasticsearch refuses to run as root: as root
the node runs as the system user ``datashark-es``, which owns the unpacked home and each
session's folder.

API keys live in the security index, which analyses e-mail addresses with components of the
analysis-common module; the distribution lacks it and Maven Central does not carry it, so a
small stable plugin (``elasticsearch-plugin/EmailAnalysis.java``), compiled at provisioning
against the distribution's own jars, supplies them. Nor has it the rest-root module: ``GET /``
answers 405, so the Python client's ``ping()`` and ``info()`` fail; ``/_cluster/health`` tells
when the node serves.

``running_node()`` serves the session fixture and bench/es_bench.py alike; the node it yields
can be stopped and started again on the same port and data (tests of an outage).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.support import tls
from tests.support.cache import CACHE, progress, run_checked
from tests.support.maven import Artifact, copy_artifact
from tests.support.server import Server, ServerStartError, free_port

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

NAME = "elasticsearch"
VERSION = "9.5.3"  # same major as the Python client (9.5.x); 9.5.1 itself is not on Maven Central
USER = "datashark-es"
MIN_JAVA = 21  # Elasticsearch 9's launcher refuses older JVMs
START_TIMEOUT = 150  # seconds; about 25 on an idle 2-core machine, far more on a busy one
DEFAULT_ES_JAVA_OPTS = "-Xms512m -Xmx512m"  # the node sizes its heap from the machine's RAM otherwise

SUPERUSER = "datashark-admin"
CERTS = "certs"  # in the node's config folder: Elasticsearch reads TLS files only from there
# The analysis components the security index needs, which the distribution lacks (see the source).
PLUGIN = "datashark-email-analysis"
PLUGIN_SOURCE = Path(__file__).with_name("elasticsearch-plugin") / "EmailAnalysis.java"
# What Elastic's build tool scans a stable plugin's classes for, to write its named_components.json.
NAMED_COMPONENT = re.compile(r'@NamedComponent\("(\w+)"\)\s+public static final class (\w+) implements (\w+)')
ANALYSIS_API = "org.elasticsearch.plugin.analysis"

# A test box: one node, loopback only, HTTPS with users, no disk-full guards. No TLS on the
# transport port: no other node ever joins, and with single-node discovery on loopback the
# bootstrap check that asks for it only warns.
SETTINGS = {
    "node.name": "datashark-test",
    "network.host": "127.0.0.1",
    "discovery.type": "single-node",
    "xpack.security.enabled": "true",
    "xpack.security.http.ssl.enabled": "true",
    "xpack.security.http.ssl.certificate": f"{CERTS}/server.pem",
    "xpack.security.http.ssl.key": f"{CERTS}/server.key",
    # test machines' disks are often nearly full: never block writes or allocation for that
    "cluster.routing.allocation.disk.threshold_enabled": "false",
    # With those guards off, every disk-usage pass (30 s by default) lifts any
    # read-only-allow-delete block, including one a test sets to get 429s: no passes here.
    "cluster.info.update.interval": "1d",
    "action.destructive_requires_name": "false",  # lets tests delete indices by pattern
}


@dataclass(frozen=True)
class Release:
    """An Elasticsearch release the tests run, unpacked in the cache folder of its ``name``."""

    name: str
    version: str

    @property
    def distribution(self) -> Artifact:
        return Artifact("org.elasticsearch.distribution.integ-test-zip", "elasticsearch", self.version, "zip")

    @property
    def folder(self) -> Path:
        return CACHE / self.name


LATEST = Release(NAME, VERSION)


@dataclass(frozen=True)
class ElasticsearchNode:
    """How to reach the node: HTTPS on ``host``:``port``, its certificate signed by ``ca``, and a
    superuser (``username``/``password``, drawn for the session)."""

    host: str
    port: int
    ca: Path
    username: str
    password: str = field(repr=False)
    process: NodeProcess = field(compare=False, repr=False)
    major: int = 9  # its clients mark their requests compatible with it

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def client(self, **options: Any) -> Elasticsearch:
        """A Python client that verifies the node's certificate and logs in as the superuser."""
        from datashark.elastic.connection import client_class

        return client_class(self.major)(
            self.url,
            ca_certs=str(self.ca),
            basic_auth=(self.username, self.password),
            **{"request_timeout": 30, **options},
        )

    def output_keys(self, **changes: str | None) -> str:
        """``[out_elasticsearch]`` keys that reach the node (https, its CA, the superuser), one a line;
        ``changes`` replace keys, or drop them when None: ``api_key=...``, ``password="wrong"``."""
        keys = {
            "host": self.host,
            "port": str(self.port),
            "scheme": "https",
            "ca_certs": str(self.ca),
            "username": self.username,
            "password": self.password,
            **changes,
        }
        return "".join(f"{key} = {value}\n" for key, value in keys.items() if value is not None)

    def create_api_key(self, name: str, role_descriptors: dict[str, Any] | None = None) -> str:
        """A new API key, encoded as ``api_key`` takes it: with the superuser's rights, or only
        those ``role_descriptors`` grant (``POST /_security/api_key``)."""
        with self.client() as client:
            return client.security.create_api_key(name=name, role_descriptors=role_descriptors)["encoded"]

    def healthy(self) -> bool:
        """True once the cluster is yellow or green; before that ES answers 401/408/503 or refuses."""
        with self.client(request_timeout=10, max_retries=0) as client:
            health = client.cluster.health(wait_for_status="yellow", timeout="2s")
        return health["status"] in ("yellow", "green")

    def stop(self) -> None:
        """Stop the node by PID (its data stays): tests of an outage; ``start()`` brings it back."""
        self.process.stop()

    def start(self) -> None:
        """Start the stopped node again on the same port and data, and wait until it serves."""
        self.process.start(self.healthy)


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
        raise RuntimeError(f"Elasticsearch needs Java {MIN_JAVA}+ under /usr/lib/jvm: {jvms}")
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


def provision(release: Release = LATEST) -> Path:
    """The distribution's home with the analysis plugin, and openssl for the session's certificates."""
    tls.provision()
    user = _run_as_user()
    home = _unpacked(user, release)
    _install_plugin(home, user, release)
    return home


def _unpacked(user: str | None, release: Release) -> Path:
    """The unpacked distribution (its home), fetched and unzipped once into the cache.

    The zip stays in Maven's local repository only, so a lost home is unpacked again offline.
    """
    folder = release.folder
    home = folder / f"elasticsearch-{release.version}"
    stamp = folder / "unpacked"
    if stamp.is_file() and stamp.read_text() == release.version and home.is_dir():
        return home
    archive = copy_artifact(release.name, release.distribution)
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
    stamp.write_text(release.version)
    return home


def _install_plugin(home: Path, user: str | None, release: Release) -> None:
    """``PLUGIN_SOURCE`` built into a stable plugin in the home's ``plugins/``, again when it changes.

    Compiled by the JDK the node runs on, against the plugin API and Lucene jars in the home
    itself: nothing else is fetched. Built aside and moved in whole, so a failed build leaves
    no half plugin that would stop the node from starting.
    """
    source = PLUGIN_SOURCE.read_text()
    digest = hashlib.sha256(f"{release.version}\n{source}".encode()).hexdigest()
    stamp = release.folder / "plugin-installed"
    target = home / "plugins" / PLUGIN
    if stamp.is_file() and stamp.read_text() == digest and target.is_dir():
        return
    progress(f"building the {PLUGIN} plugin into {target}")
    package, named = re.search(r"^package ([\w.]+);", source, re.MULTILINE), NAMED_COMPONENT.findall(source)
    if not package or not named:
        raise RuntimeError(f"{PLUGIN_SOURCE}: no package or no @NamedComponent classes found")
    components: dict[str, dict[str, str]] = {}
    for name, nested, interface in named:
        binary_name = f"{package[1]}.{PLUGIN_SOURCE.stem}${nested}"
        components.setdefault(f"{ANALYSIS_API}.{interface}", {})[name] = binary_name
    javac = java_home() / "bin" / "javac"
    if not javac.is_file():
        raise RuntimeError(f"building the {PLUGIN} plugin needs javac: {java_home()} is no JDK")
    compile_against_home = [str(javac), "--release", str(MIN_JAVA), "-cp", str(home / "lib" / "*")]
    with tempfile.TemporaryDirectory(dir=release.folder) as build:
        classes, plugin = Path(build) / "classes", Path(build) / PLUGIN
        plugin.mkdir()
        command = [*compile_against_home, "-d", str(classes), str(PLUGIN_SOURCE)]
        run_checked(command, what=f"compiling {PLUGIN_SOURCE}")
        with zipfile.ZipFile(plugin / f"{PLUGIN}.jar", "w") as jar:
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        (plugin / "named_components.json").write_text(json.dumps(components, indent=2))
        (plugin / "stable-plugin-descriptor.properties").write_text(
            f"name={PLUGIN}\ndescription=Analysis components of the security index (dataShark tests)\n"
            f"version=1\nelasticsearch.version={release.version}\njava.version={MIN_JAVA}\n"
        )
        _chown(plugin, user)
        shutil.rmtree(target, ignore_errors=True)
        plugin.rename(target)
    stamp.write_text(digest)


def _session_folder(home: Path) -> Path:
    """Config, data, logs and tmp for one session, outside pytest's root-only (0700) tmp tree.

    The node writes its keystore into its config folder, so each session gets a copy of it.
    """
    folder = Path(tempfile.mkdtemp(prefix="datashark-es-"))
    shutil.copytree(home / "config", folder / "config")
    for name in ("data", "logs", "tmp"):
        (folder / name).mkdir()
    return folder


def _add_superuser(home: Path, env: dict[str, str], password: str) -> None:
    """``SUPERUSER`` in the file realm of the config folder ``env`` names; the password goes in on
    stdin (the tool asks twice), not on a command line other processes can read."""
    run_checked(
        [str(home / "bin" / "elasticsearch-users"), "useradd", SUPERUSER, "-r", "superuser"],
        what=f"adding the Elasticsearch user {SUPERUSER}",
        input=f"{password}\n{password}\n",
        env={**os.environ, **env},
    )


class NodeProcess:
    """The node's process, which can be stopped and started again over the same folder."""

    def __init__(
        self, home: Path, command_env: dict[str, str], folder: Path, user: str | None, release: Release
    ):
        self.name = release.name
        self.command = [str(home / "bin" / "elasticsearch")]
        self.env = command_env
        self.folder = folder
        self.user = user
        self.log_path = release.folder / "node.log"
        self.server: Server | None = None

    def start(self, ready: Callable[[], bool]) -> None:
        """Start the node and wait until ``ready()`` (the cluster is yellow or green)."""
        self.server = Server(
            self.name, self.command, self.log_path, env=self.env, cwd=self.folder, user=self.user
        )
        self.server.wait_until(ready, timeout=START_TIMEOUT, what="cluster health yellow")

    def stop(self) -> None:
        if self.server:
            self.server.stop()
            self.server = None


@contextlib.contextmanager
def running_node(release: Release = LATEST) -> Iterator[ElasticsearchNode]:
    """A fresh node of ``release`` in its own folder, with new certificates and a new superuser
    password, stopped by PID and removed on exit (tests and bench/ share it)."""
    home, jdk = provision(release), java_home()  # both may fail: before the session folder exists
    user = _run_as_user()
    host, port = SETTINGS["network.host"], free_port()
    folder = _session_folder(home)
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
    process = NodeProcess(home, env, folder, user, release)
    process.log_path.unlink(missing_ok=True)
    try:
        with open(folder / "config" / "elasticsearch.yml", "a") as config:  # JSON strings are YAML too
            config.writelines(f"{key}: {json.dumps(str(value))}\n" for key, value in settings.items())
        certificates = tls.make_certificates(folder / "config" / CERTS)
        password = secrets.token_hex(16)
        _add_superuser(home, env, password)
        _chown(folder, user)
        node = ElasticsearchNode(
            host, port, certificates.ca, SUPERUSER, password, process, int(release.version.split(".")[0])
        )
        node.start()
        yield node
    finally:
        process.stop()
        shutil.rmtree(folder, ignore_errors=True)


def session_node(release: Release) -> Iterator[ElasticsearchNode]:
    """A node of ``release`` for a session fixture: a failed start fails with the log's tail."""
    try:
        with running_node(release) as node:
            yield node
    except ServerStartError as err:  # the log's tail says it all; no second traceback
        raise pytest.fail.Exception(str(err), pytrace=False) from None


@pytest.fixture(scope="session")
def elasticsearch() -> Iterator[ElasticsearchNode]:
    """One node for the whole session: it takes many seconds to start even when cached."""
    yield from session_node(LATEST)
