"""WebHDFS over HTTPS on the real test HDFS: staging and out_csv verify the NameNode's certificate."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from hdfs import InsecureClient

from datashark.cluster.staging import Stager
from datashark.config.usecase import read_usecase
from datashark.errors import DataSharkError, UseCaseError
from tests.services.test_out_hdfs import ROWS, hdfs_bytes, write_batches
from tests.services.test_staging import settings_on, usecase_in
from tests.support import tls
from tests.support.servers.hdfs import HdfsCluster


@pytest.fixture(autouse=True)
def environment_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on many machines (and in Debian's requests): the environment names the system's CAs.

    requests prefers it to a session's own ``verify``, which must not hide a configured CA file.
    """
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())


@pytest.fixture
def client(hdfs: HdfsCluster) -> InsecureClient:
    """The plain-HTTP WebHDFS of the same cluster, to look at what went over HTTPS."""
    return InsecureClient(hdfs.webhdfs_url, user="datashark")


def https_settings(hdfs: HdfsCluster, home: Path, ca_file: Path | None):
    return settings_on(
        hdfs,
        home,
        hdfs_webhdfs_port=hdfs.https_port,
        hdfs_webhdfs_scheme="https",
        hdfs_ca_file=str(ca_file) if ca_file else None,
    )


def test_staging_over_https_verifies_against_the_ca_file(
    hdfs: HdfsCluster, client: InsecureClient, tmp_path: Path
) -> None:
    usecase = read_usecase(usecase_in(tmp_path / "home" / "conf" / "a", "file", "a.log", {"a.log": "a1\n"}))
    settings = https_settings(hdfs, tmp_path / "home", hdfs.ca)
    stager = Stager(settings, "dataShark_TLS")
    assert stager.connection.url == hdfs.webhdfs_https_url
    area = stager.stage([usecase])
    with client.read(f"{area.root}/a/a.log", encoding="utf-8") as reader:
        assert reader.read() == "a1\n"
    assert client.status(area.root)["permission"] == "700"
    stager.remove()
    assert client.list(settings.hdfs_staging_dir) == []


@pytest.mark.parametrize("trusted", ["system CAs", "another CA"])
def test_an_untrusted_certificate_is_one_line_naming_the_key(
    hdfs: HdfsCluster, client: InsecureClient, tmp_path: Path, trusted: str
) -> None:
    other_ca = tls.make_certificates(tmp_path / "other").ca if trusted == "another CA" else None
    settings = https_settings(hdfs, tmp_path, other_ca)
    with pytest.raises(DataSharkError) as err:
        Stager(settings, "dataShark_UNTRUSTED").stage([])
    cas = f"the CAs in {other_ca}" if other_ca else "the system's CAs"
    assert str(err.value) == (
        f"HDFS staging ({settings.hdfs_staging_dir}, as datashark, hdfs.* in {settings.conf_path}): "
        f"WebHDFS at {hdfs.webhdfs_https_url}: TLS failed "
        "(certificate verify failed: self-signed certificate in certificate chain); "
        f"its certificate must be signed by {cas} (hdfs.ca.file)"
    )
    assert not client.status(settings.hdfs_staging_dir, strict=False), "nothing reached HDFS"


@pytest.mark.spark
def test_csv_on_swebhdfs_cuts_a_torn_row_and_appends_over_https(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, tmp_path: Path
) -> None:
    """Every WebHDFS call out_csv makes (status, read, TRUNCATE, append) goes over verified TLS."""
    folder = f"/datashark/tls/{uuid.uuid4().hex}"
    client.write(f"{folder}/out.csv", data="t,a,1\nt,b", encoding="utf-8")
    uri = f"swebhdfs://{hdfs.host}:{hdfs.https_port}{folder}/out.csv"
    assert write_batches(spark_context, tmp_path, uri, f"ca_file = {hdfs.ca}\nuser = analyst\n") == [4, 4]
    lines = hdfs_bytes(client, f"{folder}/out.csv").decode("utf-8").splitlines()
    assert lines[0] == "t,a,1"
    assert len(lines) == 1 + 2 * len(ROWS)
    assert all(line.startswith("2026-01-0") for line in lines[1:])


@pytest.mark.spark
def test_csv_on_swebhdfs_without_the_ca_is_one_line(
    spark_context, hdfs: HdfsCluster, client: InsecureClient, tmp_path: Path
) -> None:
    folder = f"/datashark/tls/{uuid.uuid4().hex}"
    uri = f"swebhdfs://{hdfs.host}:{hdfs.https_port}{folder}/out.csv"
    with pytest.raises(UseCaseError) as err:
        write_batches(spark_context, tmp_path, uri)
    assert str(err.value) == (
        f"CSV File {uri}: WebHDFS at {hdfs.webhdfs_https_url}: TLS failed "
        "(certificate verify failed: self-signed certificate in certificate chain); "
        "its certificate must be signed by the system's CAs (ca_file)"
    )
    assert not client.status(folder, strict=False)
