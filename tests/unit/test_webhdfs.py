"""WebHDFS connection settings: HTTPS and Kerberos keys, their one-line errors, and the client chosen."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import pytest
import requests
from hdfs import InsecureClient

from datashark.cluster.staging import Stager
from datashark.config.settings import load_settings
from datashark.errors import ConfigError, UseCaseError
from datashark.files import webhdfs as webhdfs_module
from datashark.files.webhdfs import WebHdfs, webhdfs_errors


@pytest.fixture
def no_requests_kerberos(monkeypatch: pytest.MonkeyPatch) -> None:
    """As without ``pip install 'datashark[kerberos]'``, whatever this machine has."""
    real = webhdfs_module.find_spec
    monkeypatch.setattr(
        webhdfs_module, "find_spec", lambda name: None if name == "requests_kerberos" else real(name)
    )


@pytest.fixture
def fake_requests_kerberos(monkeypatch: pytest.MonkeyPatch) -> type:
    """A stand-in for requests-kerberos (a C build against libkrb5), to see which client is made."""

    class HTTPKerberosAuth(requests.auth.AuthBase):
        def __init__(self, **kwargs) -> None:
            self.kwargs = kwargs

        def __call__(self, request):
            return request

    module = types.ModuleType("requests_kerberos")
    module.HTTPKerberosAuth = HTTPKerberosAuth
    module.OPTIONAL = "optional"
    monkeypatch.setitem(sys.modules, "requests_kerberos", module)
    monkeypatch.delitem(sys.modules, "hdfs.ext.kerberos", raising=False)
    real = webhdfs_module.find_spec
    monkeypatch.setattr(
        webhdfs_module, "find_spec", lambda name: object() if name == "requests_kerberos" else real(name)
    )
    return HTTPKerberosAuth


def test_https_and_kerberos_keys_are_read_with_the_ca_file_against_home(home: Path) -> None:
    settings = load_settings(home)
    assert (settings.hdfs_webhdfs_scheme, settings.hdfs_ca_file, settings.hdfs_auth) == (
        "http",
        None,
        "simple",
    )
    (home / "datashark.conf").write_text(
        "hdfs.host = nn\nhdfs.webhdfs.scheme = https\nhdfs.ca.file = certs/ca.pem\nhdfs.auth = kerberos\n"
    )
    settings = load_settings(home)
    assert (settings.hdfs_webhdfs_scheme, settings.hdfs_ca_file, settings.hdfs_auth) == (
        "https",
        str(home / "certs" / "ca.pem"),
        "kerberos",
    )


@pytest.mark.parametrize("line", ["hdfs.webhdfs.scheme = ftp", "hdfs.auth = none"])
def test_unknown_scheme_or_auth_is_a_config_error(home: Path, line: str) -> None:
    (home / "datashark.conf").write_text(f"{line}\n")
    with pytest.raises(ConfigError, match=f"key '{line.split(' ')[0]}'"):
        load_settings(home)


def staging_settings(home: Path, **keys: object):
    values = {"hdfs_host": "nn.example", "hdfs_webhdfs_port": 9871, "hdfs_user": None}
    return dataclasses.replace(load_settings(home), **{**values, **keys})


def test_staging_over_https_uses_the_ca_file(home: Path) -> None:
    ca = home / "ca.pem"
    ca.write_text("not parsed until a request\n")
    stager = Stager(staging_settings(home, hdfs_webhdfs_scheme="https", hdfs_ca_file=str(ca)), "app")
    assert (stager.connection.url, stager.connection.ca_file) == ("https://nn.example:9871", str(ca))
    assert stager.client._session.ca_file == str(ca)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (
            {"hdfs_ca_file": "/etc/hostname"},
            "hdfs.ca.file is set, but WebHDFS is plain HTTP (hdfs.webhdfs.scheme = http)",
        ),
        (
            {"hdfs_webhdfs_scheme": "https", "hdfs_ca_file": "/nonexistent/ca.pem"},
            "hdfs.ca.file: /nonexistent/ca.pem is not a readable file",
        ),
        (
            {"hdfs_auth": "kerberos"},
            "hdfs.auth = kerberos needs the requests-kerberos package: pip install 'datashark[kerberos]'",
        ),
    ],
)
def test_staging_connection_errors_are_one_line_naming_the_key(
    home: Path, no_requests_kerberos: None, keys: dict, message: str
) -> None:
    settings = staging_settings(home, **keys)
    with pytest.raises(ConfigError) as err:
        Stager(settings, "app")
    assert str(err.value) == f"{settings.conf_path}: {message}"


def test_kerberos_with_a_user_name_is_a_config_error(home: Path, fake_requests_kerberos: type) -> None:
    settings = staging_settings(home, hdfs_auth="kerberos", hdfs_user="soc")
    with pytest.raises(ConfigError) as err:
        Stager(settings, "app")
    assert str(err.value) == (
        f"{settings.conf_path}: hdfs.user is set, but with hdfs.auth = kerberos the ticket names the user"
    )


def test_kerberos_selects_the_kerberos_client_with_the_ca_session(
    home: Path, fake_requests_kerberos: type
) -> None:
    ca = home / "ca.pem"
    ca.write_text("x\n")
    settings = staging_settings(home, hdfs_auth="kerberos", hdfs_webhdfs_scheme="https", hdfs_ca_file=str(ca))
    stager = Stager(settings, "app")
    from hdfs.ext.kerberos import KerberosClient

    assert isinstance(stager.client, KerberosClient)
    assert isinstance(stager.client._session.auth, fake_requests_kerberos)
    assert stager.client._session.ca_file == str(ca)
    assert "user.name" not in (stager.client._session.params or {})
    assert stager.connection.who == "the Kerberos ticket's principal"


def test_simple_auth_sends_the_user_name(home: Path) -> None:
    stager = Stager(staging_settings(home, hdfs_user="soc"), "app")
    assert isinstance(stager.client, InsecureClient)
    assert stager.client._session.params["user.name"] == "soc"
    assert stager.client._session.auth is None


def test_the_ca_file_wins_over_the_environments_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests would otherwise verify against REQUESTS_CA_BUNDLE and ignore the configured CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with_ca = WebHdfs("https://nn:9871", "u", ca_file="/srv/ca.pem").client()._session
    url = "https://nn:9871/webhdfs/v1/"
    assert with_ca.merge_environment_settings(url, {}, None, None, None)["verify"] == "/srv/ca.pem"
    system = WebHdfs("https://nn:9871", "u").client()._session
    assert system.merge_environment_settings(url, {}, None, None, None)["verify"] not in (False, None)


def test_tls_and_kerberos_failures_are_one_line() -> None:
    connection = WebHdfs(
        "https://nn:9871", "u", auth="kerberos", ca_file="/srv/ca.pem", ca_key="hdfs.ca.file"
    )
    failure = requests.exceptions.SSLError(
        "HTTPSConnectionPool(host='nn', port=9871): Max retries exceeded with url: /x (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: unable to get local issuer certificate (_ssl.c:1006)')))"
    )
    with pytest.raises(UseCaseError) as err, webhdfs_errors("Staging", connection):
        raise failure
    assert str(err.value) == (
        "Staging: WebHDFS at https://nn:9871: TLS failed (certificate verify failed: unable to get local "
        "issuer certificate); its certificate must be signed by the CAs in /srv/ca.pem (hdfs.ca.file)"
    )
    exchange = type("KerberosExchangeError", (requests.RequestException,), {})
    exchange.__module__ = "requests_kerberos.exceptions"
    with pytest.raises(UseCaseError) as err, webhdfs_errors("Staging", connection):
        raise exchange("GSSError: No Kerberos credentials available\nmore")
    assert str(err.value) == (
        "Staging: Kerberos login to WebHDFS at https://nn:9871 failed (KerberosExchangeError: GSSError: "
        "No Kerberos credentials available); is there a ticket (kinit, KRB5CCNAME)?"
    )


def test_swebhdfs_paths_are_webhdfs_over_https_with_the_ca_file(csv_plugin, home: Path) -> None:
    (home / "conf" / "uc").mkdir(parents=True)
    (home / "conf" / "uc" / "ca.pem").write_text("x\n")
    plugin = csv_plugin("path = swebhdfs://nn.example:9871/out.csv\nca_file = ca.pem\nwebhdfs_port = 1\n")
    assert plugin.destination == "CSV File swebhdfs://nn.example:9871/out.csv"
    assert (plugin.file.connection.url, plugin.file.connection.ca_file) == (
        "https://nn.example:9871",
        str(home / "conf" / "uc" / "ca.pem"),
    )


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("path = swebhdfs://nn/out.csv\n", "swebhdfs://nn/out.csv names no port"),
        (
            "path = webhdfs://nn:9870/out.csv\nca_file = /etc/hostname\n",
            "ca_file is set, but WebHDFS is plain",
        ),
        (
            "path = swebhdfs://nn:9871/out.csv\nauth = kerberos\n",
            "auth = kerberos needs the requests-kerberos",
        ),
    ],
)
def test_csv_connection_errors_name_the_section(csv_plugin, no_requests_kerberos, section, message) -> None:
    with pytest.raises(ConfigError, match=r"\[out_csv\], key 'path': ") as err:
        csv_plugin(section)
    assert message in str(err.value) and "\n" not in str(err.value)
