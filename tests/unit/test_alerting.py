"""``datashark alert`` before ElastAlert2 starts: the config made from ``[out_elasticsearch]``
(private, never printed), the checks of confs and rules (one line naming the file and key),
the shipped rules against their use cases' confs, and the environment ElastAlert2 gets."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml

from datashark.alerting import command
from datashark.alerting.config_file import elastalert_config, write_config
from datashark.alerting.driver import one_line
from datashark.alerting.findings import RULES_FOLDER
from datashark.cli import main
from datashark.elastic.connection import Connection
from datashark.errors import ConfigError, ConfLocation
from tests.conftest import REPO
from tests.unit.conftest import usecase_conf, write

PASSWORD = "hunter2-very-secret"
API_KEY = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw=="
WHERE = ConfLocation("/x/uc.conf", ("out_elasticsearch",))
RULE = """\
name: uc findings
type: any
index: findings-uc
query_key: source_ip
realert: {hours: 1}
alert: [debug]
"""


def es_section(**keys: str) -> str:
    values = {
        "hosts": "https://es1:9200",
        "username": "alerter",
        "password": PASSWORD,
        "index_name": "findings-uc",
        **keys,
    }
    return "[out_elasticsearch]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())


def alerting_usecase(make_usecase, rule: str | None = RULE, folder: str = "uc", **keys: str) -> Path:
    conf = make_usecase(folder=folder, conf=usecase_conf(es_section(**keys), output="elasticsearch"))
    conf.chmod(0o600)
    if rule is not None:
        write(conf.parent / RULES_FOLDER / "uc.yaml", rule)
    return conf


def alert_fails(capsys, *args: str) -> str:
    """``datashark alert ARGS`` stops before ElastAlert2 with exit 2: its one line on stderr."""
    assert main(["alert", *args]) == 2
    out, err = capsys.readouterr()
    assert PASSWORD not in out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("[X] "), err
    return lines[0]


def test_the_config_reaches_the_cluster_as_the_output_does() -> None:
    connection = Connection(
        ("https://es1:9200", "https://es2:9201"), basic_auth=("alerter", PASSWORD), ca_certs="/etc/ca.pem"
    )
    config = elastalert_config(connection, WHERE, Path("/run/rules"), "datashark_elastalert")
    assert config["es_host"] == "es1" and config["es_port"] == 9200
    assert config["es_hosts"] == ["es1:9200", "es2:9201"]
    assert config["use_ssl"] is True and config["verify_certs"] is True
    assert config["ca_certs"] == "/etc/ca.pem"
    assert (config["es_username"], config["es_password"]) == ("alerter", PASSWORD)
    assert "es_api_key" not in config
    assert config["rules_folder"] == "/run/rules" and config["writeback_index"] == "datashark_elastalert"


def test_an_api_key_and_an_unverified_http_cluster() -> None:
    connection = Connection(("http://127.0.0.1",), api_key=API_KEY, verify_certs=False)
    config = elastalert_config(connection, WHERE, Path("/r"), "w")
    assert config["es_api_key"] == API_KEY and "es_username" not in config
    assert (config["es_port"], config["use_ssl"], config["verify_certs"]) == (80, False, False)
    assert "ca_certs" not in config and "es_hosts" not in config


def test_mixed_schemes_are_refused() -> None:
    connection = Connection(("https://es1:9200", "http://es2:9200"))
    with pytest.raises(ConfigError, match=r"\[out_elasticsearch\], key 'hosts': mixes http and https"):
        elastalert_config(connection, WHERE, Path("/r"), "w")


def test_the_config_file_is_private(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    write_config(folder / "config.yaml", {"es_password": PASSWORD})
    assert stat.S_IMODE((folder / "config.yaml").stat().st_mode) == 0o600
    assert yaml.safe_load((folder / "config.yaml").read_text()) == {"es_password": PASSWORD}
    folder.chmod(0o755)
    with pytest.raises(ConfigError, match="others may read it"):
        write_config(folder / "config.yaml", {"es_password": PASSWORD})


def test_a_rule_that_does_not_parse_is_named_with_its_line(make_usecase, capsys) -> None:
    conf = alerting_usecase(make_usecase, rule="name: x\nindex: [unclosed\n")
    line = alert_fails(capsys, str(conf))
    assert re.fullmatch(
        rf"\[X\] {re.escape(str(conf.parent / RULES_FOLDER / 'uc.yaml'))}: cannot be parsed: line 3: .+",
        line,
    )


def test_a_rule_without_index_names_the_key(make_usecase, capsys) -> None:
    conf = alerting_usecase(make_usecase, rule=RULE.replace("index: findings-uc\n", ""))
    line = alert_fails(capsys, str(conf))
    assert line.endswith("uc.yaml: key 'index' is required (ElastAlert2 needs name, type, index and alert)")


def test_a_rule_reading_another_index_than_its_use_case_writes(make_usecase, capsys) -> None:
    conf = alerting_usecase(make_usecase, index_name="findings-%Y.%m")
    line = alert_fails(capsys, str(conf))
    assert "uc.yaml: key 'index': 'findings-uc' matches no index its use cases write (findings-20" in line
    strftime_rule = RULE.replace("index: findings-uc", "index: findings-%Y.%m\nuse_strftime_index: true")
    write(conf.parent / RULES_FOLDER / "uc.yaml", strftime_rule)
    other_time = strftime_rule.replace("realert", "timestamp_field: ts\nrealert")
    write(conf.parent / RULES_FOLDER / "uc.yaml", other_time)
    assert alert_fails(capsys, str(conf)).endswith(
        "uc.yaml: key 'timestamp_field' is 'ts': dataShark writes a finding's time as @timestamp"
    )


def test_a_use_case_that_writes_no_findings_to_elasticsearch(make_usecase, capsys) -> None:
    conf = make_usecase(conf=usecase_conf())
    line = alert_fails(capsys, str(conf))
    assert line == (
        f"[X] {conf}: key 'output' is csv: ElastAlert2 alerts on findings in Elasticsearch "
        "(output = elasticsearch, with an [out_elasticsearch] section)"
    )


def test_use_cases_on_two_clusters_need_two_runs(make_usecase, capsys) -> None:
    first = alerting_usecase(make_usecase)
    second = alerting_usecase(make_usecase, folder="other", hosts="https://es9:9200")
    write(second.parent / RULES_FOLDER / "uc.yaml", RULE.replace("uc findings", "other findings"))
    line = alert_fails(capsys, str(first), str(second))
    assert line.startswith(f"[X] {second}: [out_elasticsearch]: writes to https://es9:9200")


def test_rule_names_must_differ(make_usecase, capsys) -> None:
    first = alerting_usecase(make_usecase)
    second = alerting_usecase(make_usecase, folder="other")
    line = alert_fails(capsys, str(first), str(second))
    assert line.endswith(
        "other/elastalert/uc.yaml: key 'name': 'uc findings' is also the name of "
        f"{first.parent / RULES_FOLDER / 'uc.yaml'}: names must differ"
    )


def test_elastalert_refusing_a_rule_names_the_shipped_file() -> None:
    message = (
        "Error loading file /tmp/run/rules/1-uc/uc.yaml: Invalid Rule file: /tmp/run/rules/1-uc/uc.yaml\n"
        "'anything' is not one of ['any', 'frequency']\n\nFailed validating 'enum' in schema"
    )
    assert one_line(message, {"/tmp/run/rules/1-uc/uc.yaml": "/home/conf/uc/elastalert/uc.yaml"}) == (
        "/home/conf/uc/elastalert/uc.yaml: ElastAlert2 refuses the rule: "
        "'anything' is not one of ['any', 'frequency']"
    )


def test_variables_that_would_override_the_config_are_left_out(monkeypatch) -> None:
    for name in ("ES_HOST", "ES_PASSWORD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, "/elsewhere")
    monkeypatch.setenv("PATH", "/usr/bin")
    with_ca = command._environment("/etc/ca.pem")
    assert not {"ES_HOST", "ES_PASSWORD", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"} & with_ca.keys()
    assert with_ca["PATH"] == "/usr/bin"
    without_ca = command._environment(None)  # the system's CAs, as the bundle variables say
    assert without_ca["REQUESTS_CA_BUNDLE"] == "/elsewhere" and "ES_HOST" not in without_ca


def commented_output(conf: Path) -> dict[str, str]:
    """The keys of the commented ``[out_elasticsearch]`` a shipped conf suggests."""
    lines = conf.read_text().splitlines()
    start = next(number for number, line in enumerate(lines) if re.match(r"#\s*\[out_elasticsearch\]", line))
    keys = {}
    for line in lines[start + 1 :]:
        if not line.startswith("#"):
            break
        match = re.match(r"#\s+(\w+)\s*=\s*(\S+)", line)
        if match:
            keys[match[1]] = match[2]
    return keys


SHIPPED = sorted(path for path in REPO.glob(f"conf/*/{RULES_FOLDER}/*.yaml"))
HOST_KEYED = {"sysmon-hunt", "sigma"}  # their findings' key is a host
DETECTIONS = [
    "ssh-brute-force",
    "port-scan",
    "web-attacks",
    "sysmon-hunt",
    "sigma",
    "threat-intel",
    "beaconing",
]


def test_every_detection_ships_rules() -> None:
    assert {path.parent.parent.name for path in SHIPPED} >= set(DETECTIONS)


@pytest.mark.parametrize("rule_path", SHIPPED, ids=lambda path: f"{path.parent.parent.name}/{path.name}")
def test_a_shipped_rule_reads_what_its_use_case_would_write(rule_path: Path) -> None:
    """The index and key field the confs' (commented) [out_elasticsearch] name; realert per key."""
    rule = yaml.safe_load(rule_path.read_text())
    assert rule["timestamp_field"] == "@timestamp" and rule["realert"] and rule["alert"] == ["debug"]
    keys = [rule["query_key"]] if isinstance(rule["query_key"], str) else rule["query_key"]
    assert keys[0] == ("host" if rule_path.parent.parent.name in HOST_KEYED else "source_ip")
    for conf in rule_path.parent.parent.glob("*.conf"):
        if "[out_elasticsearch]" not in conf.read_text():
            continue
        suggested = commented_output(conf)
        assert suggested["index_name"] == rule["index"], conf
        assert suggested.get("pkey", "source_ip") == keys[0], (
            f"{conf}: its [out_elasticsearch] writes the key as {suggested.get('pkey', 'source_ip')!r}, "
            f"the rule's query_key reads {keys[0]!r}: suggest pkey = {keys[0]}"
        )
