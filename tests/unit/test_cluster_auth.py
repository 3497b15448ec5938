"""What a run on each kind of master adds for cluster traffic: authentication, encryption, the UI,
the standalone secret's file checks, and the one warning when a standalone cluster has none."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from datashark.cluster import auth as cluster_auth
from datashark.cluster.auth import (
    AUTHENTICATED,
    SECRET_FILE_VARIABLE,
    SUBMIT_ARGS_VARIABLE,
    UI_VARIABLE,
    UNAUTHENTICATED_WARNING,
    cluster_security,
    secret_for_driver,
)
from datashark.errors import ConfigError

STANDALONE = "spark://10.0.0.1:7077"
UI_OFF = {"spark.ui.enabled": "false"}


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.secret"
    path.write_text("s3cr3t-of-the-cluster\n")
    path.chmod(0o600)
    return path


def test_local_mode_adds_nothing_and_warns_of_nothing() -> None:
    security = cluster_security("local[*]", {})
    assert security.config == {} and security.secret is None and security.warning is None


def test_standalone_without_a_secret_file_warns_and_turns_the_ui_off() -> None:
    security = cluster_security(STANDALONE, {})
    assert security.warning == UNAUTHENTICATED_WARNING
    assert security.config == UI_OFF


def test_standalone_with_a_secret_file_authenticates_and_encrypts(secret_file: Path) -> None:
    security = cluster_security(STANDALONE, {SECRET_FILE_VARIABLE: str(secret_file)})
    assert security.warning is None
    assert security.config == {**AUTHENTICATED, **UI_OFF}
    assert security.secret == "s3cr3t-of-the-cluster"
    assert "s3cr3t" not in repr(security)


@pytest.mark.parametrize("master", ["yarn", "k8s://https://10.0.0.1:6443"])
def test_yarn_and_kubernetes_authenticate_with_their_own_per_app_secret(master: str) -> None:
    security = cluster_security(master, {})
    assert security.config == {**AUTHENTICATED, **UI_OFF}
    assert security.secret is None and security.warning is None


def test_the_ui_stays_on_when_datashark_env_says_so() -> None:
    assert "spark.ui.enabled" not in cluster_security(STANDALONE, {UI_VARIABLE: "true"}).config
    assert cluster_security(STANDALONE, {UI_VARIABLE: "false"}).config == UI_OFF
    with pytest.raises(ConfigError, match=f"^{UI_VARIABLE}='yes please': must be true or false$"):
        cluster_security(STANDALONE, {UI_VARIABLE: "yes please"})


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_secret_file_others_can_reach_is_a_one_line_error(secret_file: Path, mode: int) -> None:
    secret_file.chmod(mode)
    with pytest.raises(ConfigError) as caught:
        cluster_security(STANDALONE, {SECRET_FILE_VARIABLE: str(secret_file)})
    message = str(caught.value)
    assert message == (
        f"{SECRET_FILE_VARIABLE}={secret_file}: mode {mode:04o} lets others at it; chmod 600 it"
    )
    assert "s3cr3t" not in message


def test_a_secret_file_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"not a regular file$"):
        cluster_auth.read_secret(tmp_path)
    with pytest.raises(ConfigError, match=r"cannot read it \(No such file or directory\)$"):
        cluster_auth.read_secret(tmp_path / "missing")


def test_a_secret_file_of_another_user_is_refused(secret_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: secret_file.stat().st_uid + 1)
    with pytest.raises(ConfigError, match=r"not by the user running dataShark$"):
        cluster_auth.read_secret(secret_file)


def test_an_empty_or_multi_line_secret_file_is_refused(secret_file: Path) -> None:
    for text in ("\n", "one\ntwo\n"):
        secret_file.write_text(text)
        with pytest.raises(ConfigError, match=r"must hold the secret on one line$"):
            cluster_auth.read_secret(secret_file)


def test_the_driver_reads_the_secret_from_a_private_properties_file_only_while_it_starts(
    secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SUBMIT_ARGS_VARIABLE, raising=False)
    secret_file.write_text("back\\slash\n")
    security = cluster_security(STANDALONE, {SECRET_FILE_VARIABLE: str(secret_file)})
    folder = tmp_path / "submit"
    folder.mkdir(mode=0o700)
    with secret_for_driver(security, folder):
        args = shlex.split(os.environ[SUBMIT_ARGS_VARIABLE])
        assert args[0] == "--properties-file" and args[-1] == "pyspark-shell"
        properties = Path(args[1])
        assert properties.stat().st_mode & 0o777 == 0o600
        assert properties.read_text() == "spark.authenticate.secret=back\\\\slash\n"
        assert "back" not in os.environ[SUBMIT_ARGS_VARIABLE]
    assert SUBMIT_ARGS_VARIABLE not in os.environ
    assert not properties.exists()


def test_the_driver_keeps_the_users_own_submit_arguments(
    secret_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SUBMIT_ARGS_VARIABLE, "--verbose pyspark-shell")
    security = cluster_security(STANDALONE, {SECRET_FILE_VARIABLE: str(secret_file)})
    with secret_for_driver(security, tmp_path):
        assert os.environ[SUBMIT_ARGS_VARIABLE].endswith(" --verbose pyspark-shell")
    assert os.environ[SUBMIT_ARGS_VARIABLE] == "--verbose pyspark-shell"


def test_start_warns_once_on_an_unauthenticated_standalone_cluster(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Up to the point where the conf is read: the warning comes before anything else can fail."""
    from datashark.run import production

    monkeypatch.delenv(SECRET_FILE_VARIABLE, raising=False)
    monkeypatch.setattr(production, "load_settings", _stop_here)
    with pytest.raises(_StoppedError):
        production.run_production(STANDALONE, timeout=None, verbose=False)
    assert capsys.readouterr().err.splitlines() == [UNAUTHENTICATED_WARNING]

    with pytest.raises(_StoppedError):
        production.run_production("local[*]", timeout=None, verbose=False)
    assert capsys.readouterr().err == ""


def test_start_refuses_a_readable_secret_file_before_reading_the_confs(
    monkeypatch: pytest.MonkeyPatch, secret_file: Path
) -> None:
    from datashark.run import production

    secret_file.chmod(0o644)
    monkeypatch.setenv(SECRET_FILE_VARIABLE, str(secret_file))
    monkeypatch.setattr(production, "load_settings", _stop_here)
    with pytest.raises(ConfigError, match=f"^{SECRET_FILE_VARIABLE}=.*chmod 600 it$"):
        production.run_production(STANDALONE, timeout=None, verbose=False)


class _StoppedError(Exception):
    """Raised where a test has seen what it needed of a run."""


def _stop_here():
    raise _StoppedError
