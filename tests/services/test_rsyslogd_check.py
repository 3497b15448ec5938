"""The configurations ``datashark acquire`` writes, given to Debian's real ``rsyslogd -N1``: a
parameter rsyslog does not know fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from datashark.acquisition import daemon
from datashark.acquisition.rsyslog_config import render
from datashark.acquisition.settings import AcquireSettings, Listener
from datashark.errors import ConfigError
from tests.support.acquisition_settings import acquisition, files_output, tls_files
from tests.support.servers.syslog import provision as provision_rsyslog


@pytest.fixture(scope="module", autouse=True)
def rsyslog() -> None:
    provision_rsyslog()


def rsyslogd_checks(settings: AcquireSettings) -> Path:
    """``daemon.check`` with the real rsyslogd and every module it needs."""
    assert daemon.missing_modules(settings) == []
    return daemon.check(settings)


def test_rsyslogd_accepts_the_kafka_configuration(tmp_path: Path) -> None:
    settings = acquisition(tmp_path, allowed_senders=("10.0.0.0/8", "192.0.2.7", "*.example.org"))
    assert rsyslogd_checks(settings) == settings.config_path


def test_rsyslogd_accepts_a_relp_listener(tmp_path: Path) -> None:
    settings = acquisition(tmp_path, listeners=(Listener("relp", "127.0.0.1", 2514),))
    assert rsyslogd_checks(settings) == settings.config_path


def test_rsyslogd_accepts_the_files_configuration(tmp_path: Path) -> None:
    settings = acquisition(tmp_path, kafka=None, files=files_output(tmp_path))
    assert rsyslogd_checks(settings) == settings.config_path


@pytest.mark.parametrize(
    ("auth_mode", "peers"),
    [("x509/certvalid", ()), ("x509/name", ("*.example.org", "sender-1.example.net")), ("anon", ())],
)
def test_rsyslogd_accepts_the_tls_listeners(tmp_path: Path, auth_mode: str, peers: tuple[str, ...]) -> None:
    listeners = (Listener("tcp", "127.0.0.1", 5514), Listener("tls", "::", 6514))
    settings = acquisition(
        tmp_path,
        listeners=listeners,
        tls=tls_files(tmp_path, auth_mode, peers),
        kafka=None,
        files=files_output(tmp_path),
    )
    assert rsyslogd_checks(settings) == settings.config_path


def test_rsyslogd_refusing_the_configuration_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        daemon, "render", lambda settings: render(settings).replace("maxSessions", "maxSesions")
    )
    settings = acquisition(tmp_path, kafka=None, files=files_output(tmp_path))
    with pytest.raises(ConfigError) as raised:
        rsyslogd_checks(settings)
    message = str(raised.value)
    assert message.startswith(
        f"{tmp_path / 'acquire.conf'}: rsyslogd refuses the configuration made of it "
        f"({settings.config_path}): "
    )
    assert "parameter 'maxSesions' not known" in message
