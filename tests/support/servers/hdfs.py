"""HDFS test cluster: Hadoop's MiniDFSCluster (one NameNode, one DataNode) with WebHDFS, in its own JVM.

The shaded ``hadoop-client-minicluster`` jar of the same Hadoop version as the client inside
the pyspark wheel ships ``MiniHadoopClusterManager``, a ``main`` that starts the cluster from
command-line flags, so nothing has to be compiled and Spark's client speaks to a server of
its own version.

WebHDFS is served twice: over HTTP on ``http_port`` and over HTTPS on ``https_port``
(``dfs.http.policy=HTTP_AND_HTTPS``), with a certificate from the session's test CA, so the
same cluster tests plain and verified-TLS clients. The DataNode serves both too: a WebHDFS
request that came over HTTPS is redirected to the DataNode's HTTPS port.
"""

from __future__ import annotations

import json
import secrets
import shutil
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import tls
from tests.support.cache import run_checked
from tests.support.maven import Artifact, copy_dependencies
from tests.support.server import Server, free_port, port_open

NAME = "hdfs"
HADOOP_VERSION = "3.5.0"  # pyspark/jars/hadoop-client-api-3.5.0.jar: client and server agree on RPC
HOST = "127.0.0.1"
MAIN_CLASS = "org.apache.hadoop.mapreduce.MiniHadoopClusterManager"
ARTIFACTS = [
    Artifact("org.apache.hadoop", "hadoop-client-minicluster", HADOOP_VERSION),
    # The minicluster leaves logging out: without a binding SLF4J prints nothing, and a failed
    # start would leave an empty log. slf4j-api 1.7.36 is the version the minicluster pulls in.
    Artifact("org.slf4j", "slf4j-reload4j", "1.7.36"),
]
# Console logging (the Server sends it to the log file); the DataNode's per-directory INFO
# lines (thousands at start) would push everything useful out of the log tail.
LOG4J_PROPERTIES = """\
log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{HH:mm:ss} %p %c{1}: %m%n
log4j.logger.org.apache.hadoop.hdfs.server.datanode.fsdataset.impl=WARN
"""
# Tests write as any user name over WebHDFS and read as this process's user in Spark; every
# address is loopback so WebHDFS redirects the client to a DataNode it can reach.
SETTINGS = {
    "dfs.webhdfs.enabled": "true",
    "dfs.permissions.enabled": "false",
    "dfs.replication": "1",
    "dfs.datanode.hostname": HOST,
    "dfs.datanode.address": f"{HOST}:0",
    "dfs.datanode.http.address": f"{HOST}:0",
    "dfs.datanode.ipc.address": f"{HOST}:0",
    "dfs.http.policy": "HTTP_AND_HTTPS",
    "dfs.datanode.https.address": f"{HOST}:0",
    "dfs.https.server.keystore.resource": "ssl-server.xml",  # a classpath resource: conf/ is on it
}
# Hadoop's HTTP servers read their keystore from ssl-server.xml.
SSL_SERVER_XML = """\
<?xml version="1.0"?>
<configuration>
  <property><name>ssl.server.keystore.location</name><value>{keystore}</value></property>
  <property><name>ssl.server.keystore.type</name><value>pkcs12</value></property>
  <property><name>ssl.server.keystore.password</name><value>{password}</value></property>
  <property><name>ssl.server.keystore.keypassword</name><value>{password}</value></property>
</configuration>
"""
START_TIMEOUT = 180.0


@dataclass(frozen=True)
class HdfsCluster:
    """How to reach the running cluster: Hadoop RPC for Spark, WebHDFS for the ``hdfs`` client."""

    host: str
    port: int
    http_port: int
    data_dir: Path
    https_port: int
    ca: Path  # the CA (PEM) that signed the HTTPS certificate

    @property
    def webhdfs_https_url(self) -> str:
        return f"https://{self.host}:{self.https_port}"

    @property
    def namenode_uri(self) -> str:
        return f"hdfs://{self.host}:{self.port}"

    @property
    def webhdfs_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


def provision() -> Path:
    """The jar folder, with a log4j configuration beside it; fetched once, then reused (and openssl)."""
    tls.provision()
    lib = copy_dependencies(NAME, ARTIFACTS)
    log4j = lib.parent / "log4j.properties"
    if not log4j.is_file() or log4j.read_text() != LOG4J_PROPERTIES:
        log4j.write_text(LOG4J_PROPERTIES)
    return lib


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def serving(cluster: HdfsCluster) -> bool:
    """WebHDFS answers and a live DataNode with free space is registered, out of safe mode.

    An open port is not enough: the NameNode listens before its DataNode has registered,
    and until then every write fails with "could only be written to 0 of 1 nodes".
    """
    _get_json(f"{cluster.webhdfs_url}/webhdfs/v1/?op=LISTSTATUS")  # raises unless 200
    beans = _get_json(f"{cluster.webhdfs_url}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState")
    state = beans["beans"][0]
    return (
        state["FSState"] == "Operational"
        and state["NumLiveDataNodes"] >= 1
        and state["CapacityRemaining"] > 0
    )


def _ssl_conf(folder: Path) -> Path:
    """A folder holding ssl-server.xml and its PKCS#12 keystore, both new for the session."""
    certificates = tls.make_certificates(folder / "tls")
    keystore, password = folder / "tls" / "keystore.p12", secrets.token_hex(16)
    run_checked(
        [
            "openssl",
            "pkcs12",
            "-export",
            "-in",
            str(certificates.cert),
            "-inkey",
            str(certificates.key),
            "-certfile",
            str(certificates.ca),
            "-name",
            "server",
            "-passout",
            "env:KEYSTORE_PASSWORD",
            "-out",
            str(keystore),
        ],
        what="making the HDFS keystore",
        env={"PATH": "/usr/bin:/bin", "KEYSTORE_PASSWORD": password},
    )
    conf = folder / "conf"
    conf.mkdir()
    (conf / "ssl-server.xml").write_text(SSL_SERVER_XML.format(keystore=keystore, password=password))
    return conf


def start(
    data_dir: Path,
    *,
    extra: dict[str, str] | None = None,
    java_options: tuple[str, ...] = (),
    ready: Callable[[HdfsCluster], bool] = serving,
) -> tuple[Server, HdfsCluster]:
    """Start the cluster with its data and log under ``data_dir`` and wait until it serves.

    ``extra`` settings and ``java_options`` make other clusters (a Kerberized one), whose
    ``ready`` check must then speak their WebHDFS.
    """
    lib = provision()
    java = shutil.which("java")
    if java is None:
        raise RuntimeError("java (a JDK or JRE, 17 or later) is needed to run the HDFS test cluster")
    ssl_conf = _ssl_conf(data_dir)
    cluster = HdfsCluster(HOST, free_port(), free_port(), data_dir, free_port(), data_dir / "tls" / "ca.pem")
    settings = {
        **SETTINGS,
        "hdfs.minidfs.basedir": str(data_dir / "dfs"),
        "dfs.namenode.https-address": f"{HOST}:{cluster.https_port}",
        **(extra or {}),
    }
    java_tmp = data_dir / "tmp"  # Jetty unpacks a webapp per HTTP server there and leaves it behind
    java_tmp.mkdir(exist_ok=True)
    command = [
        java,
        "-Xmx512m",
        *java_options,
        f"-Dlog4j.configuration={(lib.parent / 'log4j.properties').as_uri()}",
        f"-Dtest.build.data={data_dir}",
        f"-Djava.io.tmpdir={java_tmp}",
        "-cp",
        f"{lib}/*:{ssl_conf}",
        MAIN_CLASS,
        "-nomr",
        "-format",
        "-datanodes",
        "1",
        "-nnport",
        str(cluster.port),
        "-nnhttpport",
        str(cluster.http_port),
        *(arg for key, value in settings.items() for arg in ("-D", f"{key}={value}")),
    ]
    server = Server(NAME, command, data_dir / "hdfs.log", cwd=data_dir)
    server.wait_until(lambda: ready(cluster), timeout=START_TIMEOUT, what="WebHDFS with a live DataNode")
    server.wait_until(lambda: port_open(cluster.https_port), timeout=START_TIMEOUT, what="WebHDFS over HTTPS")
    return server, cluster


@pytest.fixture(scope="session")
def hdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HdfsCluster]:
    """A fresh HDFS cluster for the session, stopped by PID even when tests fail."""
    server, cluster = start(tmp_path_factory.mktemp("hdfs"))
    try:
        yield cluster
    finally:
        server.stop()
