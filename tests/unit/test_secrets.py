"""Secrets in confs: references, warnings, and never a secret in an error, a repr or load()'s conf."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from datashark.config import secrets
from datashark.config.settings import load_settings
from datashark.config.spec import read_conf, validate_section
from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError, ConfLocation
from datashark.loading.load_call import load_arguments
from datashark.run.prepare import prepare
from tests.unit.conftest import REPO, usecase_conf, write

CANARY = "Canary-7f3b9e-not-a-real-password"
ES_HTTPS = "scheme = https\nverify_certs = false\n"


def es_usecase(make_usecase, section: str, **keys: str):
    extra = f"[out_elasticsearch]\nindex_name = findings\n{section}"
    return make_usecase(conf=usecase_conf(extra, output="elasticsearch", **keys))


def prepared(home: Path, conf: Path):
    return prepare(dataclasses.replace(load_settings(home), home=REPO), read_usecase(conf))


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("kafka.sasl.password", True),
        ("ssl.key.password", True),
        ("api_key", True),
        ("apikey", True),
        ("auth_token", True),
        ("username", False),
        ("password_policy_url", False),
        ("ssl.key.location", False),
        ("tokenizer", False),
    ],
)
def test_secret_keys_are_known_by_their_names(key: str, secret: bool) -> None:
    assert secrets.is_secret_key(key) is secret


def test_env_and_file_references_are_resolved(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DS_TEST_ES_PASSWORD", CANARY)
    key_file = write(tmp_path / "keys" / "es.key", "c2VjcmV0LWtleQ==\n")
    key_file.chmod(0o600)
    conf = write(
        tmp_path / "uc.conf",
        "[out_elasticsearch]\npassword = ${env:DS_TEST_ES_PASSWORD}\napi_key = ${file:keys/es.key}\n",
    )
    section = read_conf(conf)["out_elasticsearch"]
    assert section["password"] == CANARY
    assert section["api_key"] == "c2VjcmV0LWtleQ=="


def test_a_missing_reference_names_the_key_and_the_variable(tmp_path: Path) -> None:
    conf = write(tmp_path / "uc.conf", "[in_kafka]\nsasl.password = ${env:DS_TEST_UNSET_VARIABLE}\n")
    with pytest.raises(ConfigError) as error:
        read_conf(conf)
    assert str(error.value) == (
        f"{conf}: [in_kafka], key 'sasl.password': environment variable DS_TEST_UNSET_VARIABLE is not set"
    )
    conf.write_text("password = ${file:nowhere.key}\n")
    with pytest.raises(ConfigError, match=r"key 'password': cannot read .*nowhere.key: FileNotFoundError"):
        read_conf(conf)


def test_a_hash_in_an_unquoted_password_is_an_error_not_a_cut_password(tmp_path: Path) -> None:
    conf = write(tmp_path / "uc.conf", "[out_elasticsearch]\npassword = abc#def\n")
    with pytest.raises(ConfigError, match=r"\[out_elasticsearch\], key 'password': '#' starts a comment"):
        read_conf(conf)
    conf.write_text('[out_elasticsearch]\npassword = "abc#def"\n')
    assert read_conf(conf)["out_elasticsearch"]["password"] == "abc#def"


def test_a_secret_written_out_in_a_conf_others_can_read_is_warned_about_once(tmp_path: Path, capsys) -> None:
    conf = write(
        tmp_path / "uc.conf", f"[out_elasticsearch]\nusername = soc\npassword = {CANARY}\napi_key = x\n"
    )
    conf.chmod(0o644)
    read_conf(conf)
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1
    assert "holds a secret ([out_elasticsearch], key 'password') and is readable by other users" in warning
    assert CANARY not in warning
    conf.chmod(0o600)
    read_conf(conf)
    assert capsys.readouterr().err == ""


def test_a_reference_in_a_readable_conf_is_not_warned_about(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DS_TEST_ES_PASSWORD", CANARY)
    conf = write(tmp_path / "uc.conf", "password = ${env:DS_TEST_ES_PASSWORD}\n")
    conf.chmod(0o644)
    read_conf(conf)
    assert capsys.readouterr().err == ""


def test_a_line_configobj_cannot_parse_is_not_echoed(tmp_path: Path) -> None:
    conf = write(tmp_path / "uc.conf", f"name = x\npassword: {CANARY}\n")
    with pytest.raises(ConfigError) as error:
        read_conf(conf)
    assert CANARY not in str(error.value)
    assert "Invalid line (matched as neither section nor keyword) at line 2" in str(error.value)


def test_a_secret_key_of_the_wrong_type_is_reported_without_its_value() -> None:
    with pytest.raises(ConfigError) as error:
        validate_section(
            {"password": CANARY, "port": "x"},
            ["password = integer", "port = integer"],
            where=ConfLocation("w"),
            allow_extra=False,
        )
    assert CANARY not in str(error.value)
    assert "key 'password': invalid (VdtTypeError)" in str(error.value)
    assert "key 'port': the value \"x\" is of the wrong type" in str(error.value)


def test_load_gets_the_conf_with_its_secrets_redacted_and_plugins_the_real_ones(home, make_usecase) -> None:
    conf = es_usecase(make_usecase, f"{ES_HTTPS}username = soc\npassword = {CANARY}\n", api_token=CANARY)
    ready = prepared(home, conf)
    _, named = load_arguments(ready.usecase, None)
    assert named["conf"]["api_token"] == secrets.REDACTED
    assert named["conf"]["out_elasticsearch"]["password"] == secrets.REDACTED
    assert named["conf"]["out_elasticsearch"]["username"] == "soc"
    assert ready.plugin.connection.basic_auth == ("soc", CANARY)
    for shown in (repr(ready.usecase), repr(ready.plugin.connection), repr(ready)):
        assert CANARY not in shown


def test_a_kafka_config_repr_holds_no_password(home, make_usecase) -> None:
    write(
        home / "datashark.conf",
        "kafka.bootstrap.servers = b:9093\nkafka.topics = t\nkafka.security.protocol = SASL_SSL\n"
        f"kafka.sasl.mechanism = PLAIN\nkafka.sasl.username = soc\nkafka.sasl.password = {CANARY}\n",
    )
    (home / "datashark.conf").chmod(0o600)
    conf = make_usecase(conf=usecase_conf(type="streaming", file=None, training="data.txt"))
    config = prepared(home, conf).source.config
    assert config.kafka_python_options()["sasl_plain_password"] == CANARY
    assert CANARY not in repr(config)


def test_credentials_in_an_elasticsearch_url_are_refused_without_echoing_them(home, make_usecase) -> None:
    conf = es_usecase(make_usecase, f"hosts = https://soc:{CANARY}@es1:9200\n")
    with pytest.raises(ConfigError) as error:
        prepared(home, conf)
    assert CANARY not in str(error.value)
    assert "key 'hosts': 'https://********@es1:9200' carries credentials" in str(error.value)


@pytest.mark.parametrize("credentials", ["username = soc\npassword = pw\n", "api_key = a2V5\n"])
def test_credentials_over_plain_http_are_refused_unless_allowed(home, make_usecase, credentials) -> None:
    conf = es_usecase(make_usecase, f"scheme = http\n{credentials}")
    with pytest.raises(
        ConfigError, match=r"\[out_elasticsearch\], key 'allow_insecure': .* unencrypted to http://"
    ):
        prepared(home, conf)
    conf = es_usecase(make_usecase, f"scheme = http\nallow_insecure = true\n{credentials}")
    assert prepared(home, conf).plugin.connection.hosts == ("http://127.0.0.1:9200",)


def test_plain_http_without_credentials_needs_no_permission(home, make_usecase) -> None:
    assert prepared(home, es_usecase(make_usecase, "scheme = http\n")).plugin.connection.hosts


def test_sasl_plaintext_is_refused_unless_allowed(home, make_usecase) -> None:
    kafka = (
        "kafka.bootstrap.servers = b:9092\nkafka.topics = t\nkafka.security.protocol = SASL_PLAINTEXT\n"
        "kafka.sasl.mechanism = PLAIN\nkafka.sasl.username = soc\nkafka.sasl.password = pw\n"
    )
    streaming = usecase_conf(type="streaming", file=None, training="data.txt")
    write(home / "datashark.conf", kafka).chmod(0o600)
    with pytest.raises(ConfigError, match=r"key 'kafka.allow_insecure': security.protocol = SASL_PLAINTEXT"):
        prepared(home, make_usecase(conf=streaming))
    write(home / "datashark.conf", kafka + "kafka.allow_insecure = true\n").chmod(0o600)
    assert prepared(home, make_usecase(conf=streaming)).source.config.security


def test_scrub_blanks_known_secrets_and_url_credentials() -> None:
    secrets.remember(CANARY)
    text = f"failed: https://soc:pw@es1:9200 said no to {CANARY}"
    assert secrets.scrub(text) == "failed: https://********@es1:9200 said no to ********"


def test_console_lines_and_verbose_tracebacks_are_scrubbed(capsys) -> None:
    from datashark import console
    from datashark.run.failures import print_traceback

    secrets.remember(CANARY)
    console.error(f"login with {CANARY} refused")
    try:
        raise RuntimeError(f"refused {CANARY}")
    except RuntimeError as err:
        print_traceback(err)
    captured = capsys.readouterr()
    assert CANARY not in captured.err and "refused ********" in captured.err
