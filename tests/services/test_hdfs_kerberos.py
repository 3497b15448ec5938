"""Staging with ``hdfs.auth = kerberos`` on a real Kerberized HDFS (SPNEGO on HTTPS-only WebHDFS).

A realm of Debian's MIT KDC, a second minicluster with Hadoop security on (NameNode and DataNode
log in from a keytab, WebHDFS asks for SPNEGO as HTTP/localhost), and the ``hdfs`` package's
KerberosClient (``pip install 'datashark[kerberos]'``) logging in with the ticket in KRB5CCNAME.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from datashark.cluster.staging import Stager
from datashark.config.usecase import read_usecase
from datashark.errors import DataSharkError
from datashark.files.webhdfs import WebHdfs
from tests.services.test_staging import settings_on, usecase_in
from tests.support import kdc
from tests.support.servers import hdfs as hdfs_server

pytestmark = pytest.mark.hdfs

SERVICE = "hdfs/localhost"
SPNEGO = "HTTP/localhost"  # the principal WebHDFS answers SPNEGO as: clients ask for HTTP@<host in the URL>


@dataclass(frozen=True)
class SecureHdfs:
    cluster: hdfs_server.HdfsCluster
    realm: kdc.Realm
    ticket_cache: Path  # analyst's ticket

    @property
    def url(self) -> str:
        return f"https://localhost:{self.cluster.https_port}"


def secure_settings(realm: kdc.Realm, keytab: Path) -> dict[str, str]:
    principal, spnego = realm.principal(SERVICE), realm.principal(SPNEGO)
    return {
        "dfs.http.policy": "HTTPS_ONLY",
        "hadoop.security.authentication": "kerberos",
        "hadoop.security.authorization": "true",
        "dfs.namenode.kerberos.principal": principal,
        "dfs.namenode.keytab.file": str(keytab),
        "dfs.datanode.kerberos.principal": principal,
        "dfs.datanode.keytab.file": str(keytab),
        "dfs.web.authentication.kerberos.principal": spnego,
        "dfs.web.authentication.kerberos.keytab": str(keytab),
        # WebHDFS's filter reads hadoop.http.authentication.*, whose type defaults to simple.
        "hadoop.http.authentication.type": "kerberos",
        "hadoop.http.authentication.kerberos.principal": spnego,
        "hadoop.http.authentication.kerberos.keytab": str(keytab),
        # A secure DataNode on unprivileged ports: SASL on data transfer, HTTPS only.
        "dfs.block.access.token.enable": "true",
        "dfs.data.transfer.protection": "authentication",
    }


@pytest.fixture(scope="module")
def secure_hdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureHdfs]:
    folder = tmp_path_factory.mktemp("kerberos")
    kdc_server, realm = kdc.start(folder / "realm")
    saved = {key: os.environ.get(key) for key in ("KRB5_CONFIG", "KRB5CCNAME")}
    server = None
    try:
        keytab = realm.keytab(SERVICE, SPNEGO)
        cache = folder / "analyst.ccache"
        realm.kinit("analyst", cache)
        os.environ.update(KRB5_CONFIG=str(realm.krb5_conf), KRB5CCNAME=f"FILE:{cache}")

        def ready(cluster: hdfs_server.HdfsCluster) -> bool:
            client = WebHdfs(
                f"https://localhost:{cluster.https_port}", "", "kerberos", str(cluster.ca)
            ).client()
            beans = client._request(
                "GET",
                f"https://localhost:{cluster.https_port}/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState",
            ).json()["beans"][0]
            return beans["FSState"] == "Operational" and beans["NumLiveDataNodes"] >= 1

        server, cluster = hdfs_server.start(
            folder / "hdfs",
            extra=secure_settings(realm, keytab),
            java_options=(f"-Djava.security.krb5.conf={realm.krb5_conf}",),
            ready=ready,
        )
        yield SecureHdfs(cluster, realm, cache)
    finally:
        if server is not None:
            server.stop()
        kdc_server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def kerberos_settings(secure: SecureHdfs, home: Path):
    return settings_on(
        secure.cluster,
        home,
        hdfs_host="localhost",
        hdfs_webhdfs_port=secure.cluster.https_port,
        hdfs_webhdfs_scheme="https",
        hdfs_ca_file=str(secure.cluster.ca),
        hdfs_auth="kerberos",
        hdfs_user=None,
    )


def test_staging_logs_in_with_the_kerberos_ticket(secure_hdfs: SecureHdfs, tmp_path: Path) -> None:
    usecase = read_usecase(usecase_in(tmp_path / "home" / "conf" / "a", "file", "a.log", {"a.log": "a1\n"}))
    settings = kerberos_settings(secure_hdfs, tmp_path / "home")
    stager = Stager(settings, "dataShark_KRB")
    area = stager.stage([usecase])
    client = WebHdfs(secure_hdfs.url, "", "kerberos", str(secure_hdfs.cluster.ca)).client()
    with client.read(f"{area.root}/a/a.log", encoding="utf-8") as reader:
        assert reader.read() == "a1\n"
    assert client.status(area.root)["owner"] == "analyst", "HDFS saw the ticket's principal"
    stager.remove()
    assert client.list(settings.hdfs_staging_dir) == []


def test_without_a_ticket_staging_is_one_line(
    secure_hdfs: SecureHdfs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / f'empty-{uuid.uuid4().hex}.ccache'}")
    settings = kerberos_settings(secure_hdfs, tmp_path)
    with pytest.raises(DataSharkError) as err:
        Stager(settings, "dataShark_NOTICKET").stage([])
    assert str(err.value) == (
        f"HDFS staging ({settings.hdfs_staging_dir}, as the Kerberos ticket's principal, hdfs.* in "
        f"{settings.conf_path}): Kerberos login to WebHDFS at {secure_hdfs.url} refused; "
        "is there a valid ticket (kinit, KRB5CCNAME)?"
    )
