"""The README's use-case and plugin examples, run as a user would copy them."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.run.batch import run_batch
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for

pytestmark = pytest.mark.spark
SSH_LOG = REPO / "tests" / "data" / "openssh_2k.log"


def readme_block(first_line: str) -> str:
    """The fenced block of README.md whose first line is ``first_line``."""
    blocks = re.findall(r"```\w*\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    return next(block for block in blocks if block.startswith(first_line + "\n"))


def expected_users_per_ip(threshold: int) -> dict[str, set[str]]:
    """Computed independently of Spark: distinct user names per source IP of failed logins."""
    users: dict[str, set[str]] = {}
    for match in re.finditer(r"Failed password for (?:invalid user )?(\S+) from (\S+)", SSH_LOG.read_text()):
        users.setdefault(match[2], set()).add(match[1])
    return {ip: names for ip, names in users.items() if len(names) >= threshold}


@pytest.fixture
def example_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    folder = home / "conf" / "failed-logins"
    folder.mkdir(parents=True)
    shutil.copytree(REPO / "plugins", home / "plugins")
    for name in ("out_jsonl.py", "out_udpjson.py"):
        (home / "plugins" / "output" / name).write_text(readme_block(f"# plugins/output/{name}"))
    (folder / "failed-logins.py").write_text(readme_block("# failed-logins.py"))
    shutil.copy(SSH_LOG, folder / "auth.log")
    conf = readme_block("# failed-logins.conf").replace("/var/lib/datashark/", "")
    (folder / "failed-logins.conf").write_text(conf)
    return home


def run_example(sc, home: Path) -> None:
    conf = home / "conf" / "failed-logins" / "failed-logins.conf"
    settings = settings_for(home, home)
    run_batch(sc, settings, prepare(settings, read_usecase(conf)), debug=False)


def test_failed_logins_example(spark_context, example_home: Path) -> None:
    run_example(spark_context, example_home)
    rows = read_csv(example_home / "conf" / "failed-logins" / "failed-logins.csv")
    assert rows[0] == ["time", "key", "score", "users"]
    expected = expected_users_per_ip(5)
    assert len(expected) >= 2
    assert {row[1]: (int(row[2]), row[3]) for row in rows[1:]} == {
        ip: (len(names), " ".join(sorted(names))) for ip, names in expected.items()
    }


def test_jsonl_plugin_example(spark_context, example_home: Path) -> None:
    conf = example_home / "conf" / "failed-logins" / "failed-logins.conf"
    conf.write_text(conf.read_text().replace("output = csv", "output = jsonl"))
    run_example(spark_context, example_home)
    lines = (example_home / "conf" / "failed-logins" / "results.jsonl").read_text().splitlines()
    documents = {doc["key"]: doc for doc in map(json.loads, lines)}
    assert documents.keys() == expected_users_per_ip(5).keys()
    assert all(set(doc) == {"time", "key", "score", "users"} for doc in documents.values())


def test_udpjson_plugin_example_sends_from_the_executors(spark_context, example_home: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(10)
        conf = example_home / "conf" / "failed-logins" / "failed-logins.conf"
        port = receiver.getsockname()[1]
        text = conf.read_text().replace("output = csv", "output = udpjson")
        conf.write_text(f"{text}\n[out_udpjson]\nport = {port}\n")
        run_example(spark_context, example_home)
        expected = expected_users_per_ip(5)
        documents = [json.loads(receiver.recv(65536)) for _ in expected]
    assert {doc["key"] for doc in documents} == expected.keys()
    assert all(set(doc) == {"@timestamp", "title", "key", "score", "users"} for doc in documents)
    assert all(doc["title"] == "Failed Logins" and doc["@timestamp"].endswith("Z") for doc in documents)
