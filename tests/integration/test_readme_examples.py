"""The use-case and plugin examples of README.md and docs/, run as a user would copy them."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for
from tests.support.runs import run_conf

pytestmark = pytest.mark.spark
SSH_LOG = REPO / "tests" / "data" / "auth.log"


FRONT_PAGE = REPO / "README.md"
DOCUMENTATION = [FRONT_PAGE, *sorted((REPO / "docs").glob("*.md"))]


def example_block(first_line: str, pages: list[Path] = DOCUMENTATION) -> str:
    """The one fenced block of ``pages`` whose first line is ``first_line``."""
    found = [
        block
        for page in pages
        for block in re.findall(r"^```\w*\n(.*?)^```", page.read_text(), re.S | re.M)
        if block.startswith(first_line + "\n")
    ]
    assert len(found) == 1, f"{len(found)} blocks start with {first_line!r} in {[p.name for p in pages]}"
    return found[0]


def expected_failures_per_ip() -> dict[str, int]:
    """Computed independently of Spark: failed logins per source IP."""
    failures: dict[str, int] = {}
    for match in re.finditer(r"Failed password for (?:invalid user )?\S+ from (\S+)", SSH_LOG.read_text()):
        failures[match[1]] = failures.get(match[1], 0) + 1
    return failures


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
        (home / "plugins" / "output" / name).write_text(example_block(f"# plugins/output/{name}"))
    (folder / "failed-logins.py").write_text(example_block("# failed-logins.py"))
    shutil.copy(SSH_LOG, folder / "auth.log")
    conf = example_block("# failed-logins.conf").replace("/var/lib/datashark/", "")
    (folder / "failed-logins.conf").write_text(conf)
    return home


def run_example(sc, home: Path) -> None:
    conf = home / "conf" / "failed-logins" / "failed-logins.conf"
    settings = settings_for(home, home)
    run_conf(sc, settings, conf)


def test_front_page_example(spark_context, tmp_path: Path) -> None:
    """The README's short use case, written to the paths its blocks' first lines name."""
    home = tmp_path / "home"
    shutil.copytree(REPO / "plugins", home / "plugins")
    for name in ("conf/failed-logins/failed-logins.conf", "conf/failed-logins/failed-logins.py"):
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(example_block(f"# {name}", [FRONT_PAGE]))
    shutil.copy(SSH_LOG, home / "conf" / "failed-logins" / "auth.log")
    run_example(spark_context, home)
    rows = read_csv(home / "conf" / "failed-logins" / "output" / "failed-logins.csv")
    expected = expected_failures_per_ip()
    assert len(expected) >= 2
    assert len(rows) == len(expected)
    assert {row[1]: int(row[2]) for row in rows} == expected


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
