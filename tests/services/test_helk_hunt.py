"""The HELK hunt, end to end: OTRF's Sysmon and Security records indexed into the Elasticsearch
9 test node as HELK would hold them; ``./standalone.sh`` runs conf/sysmon-hunt as its comment
block says (``input = elasticsearch``, ``output = elasticsearch``), joining network logons to
the processes they start without a second copy of the events; its findings land beside them,
and the ElastAlert2 rule shipped in conf/sysmon-hunt/elastalert/ fires on each host.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from elasticsearch import helpers

from tests.conftest import REPO
from tests.integration.conftest import run_script
from tests.services.test_alerting import alert
from tests.services.test_in_elasticsearch import KEYWORDS, sample_records
from tests.support.servers.elasticsearch import ElasticsearchNode

pytestmark = pytest.mark.spark

USE_CASE = REPO / "conf" / "sysmon-hunt"
FINDINGS = "datashark-sysmon-hunt"  # the comment block's index_name, and the rule's index


def documented_variant(text: str) -> str:
    """The conf with its Elasticsearch comment block made real: ``file`` dropped, the block's
    lines uncommented in place (its [sections] moved to the end, where configobj wants them)."""
    block = re.search(r"^#   input = elasticsearch\n(?:#   .*\n)+", text, re.MULTILINE)
    assert block is not None, "conf/sysmon-hunt/sysmon-hunt.conf lost its Elasticsearch block"
    lines = [line.removeprefix("#   ") for line in block[0].splitlines()]
    top: list[str] = []
    sections: dict[str, list[str]] = {}
    current: list[str] = top
    for line in lines:
        if line.startswith("["):
            current = sections.setdefault(line, [])
        elif not line.startswith("("):  # "(the same connection keys)"
            current.append(line)
    text = text.replace(block[0], "").replace("\nfile = sample/*.json\n", "\n")
    text = text.replace("\noutput = csv\n", "\n" + "\n".join(top) + "\n")
    assert "\noutput = elasticsearch\n" in text
    return text + "".join(f"\n{name}\n" + "\n".join(keys) + "\n" for name, keys in sections.items())


def test_standalone_hunts_an_index_writes_back_and_an_alert_fires(
    elasticsearch: ElasticsearchNode, tmp_path: Path
) -> None:
    index = f"logs-endpoint-winevent-{uuid.uuid4().hex[:8]}"
    with elasticsearch.client() as client:
        client.indices.create(index=index, mappings=KEYWORDS)
        records = sample_records(USE_CASE / "sample")
        helpers.bulk(client, ({"_index": index, "_source": record} for record in records), refresh=True)
    folder = tmp_path / "sysmon-hunt"
    shutil.copytree(
        USE_CASE, folder, ignore=shutil.ignore_patterns("output", "tests", "sample", "__pycache__")
    )
    conf = folder / "sysmon-hunt.conf"
    text = documented_variant(conf.read_text())
    keys = elasticsearch.output_keys()
    text = re.sub(r"^hosts = .*\n^ca_certs = .*\n^api_key = .*\n", keys, text, flags=re.MULTILINE)
    text = text.replace("\nindex = logs-endpoint-winevent-*\n", f"\nindex = {index}\n")
    text = text.replace("\nfrom = now-24h\n", "\n")  # the sample is from 2020
    text = text.replace("\n[out_elasticsearch]\n", f"\n[out_elasticsearch]\n{keys}")
    assert text.count(keys) == 2, text
    conf.write_text(text)
    conf.chmod(0o600)  # it holds the node's password
    alerts = tmp_path / "alerts.jsonl"
    rule_path = folder / "elastalert" / "sysmon-hunt.yaml"
    rule = yaml.safe_load(rule_path.read_text())
    rule["alert"] = ["command"]
    rule["command"] = ["/bin/sh", "-c", f"cat >> '{alerts}'; echo >> '{alerts}'"]
    rule["pipe_match_json"] = True
    rule_path.write_text(yaml.safe_dump(rule, sort_keys=False))
    start = datetime.now(timezone.utc) - timedelta(seconds=1)

    hunt = run_script("standalone.sh", str(conf), cwd=tmp_path)

    assert hunt.returncode == 0, hunt.stdout[-3000:] + hunt.stderr[-3000:]
    assert re.search(rf"Sysmon Hunt: \d+ documents of {index} to read", hunt.stdout + hunt.stderr), (
        hunt.stdout
    )
    with elasticsearch.client() as client:
        client.indices.refresh(index=FINDINGS)
        findings = [hit["_source"] for hit in client.search(index=FINDINGS, size=100)["hits"]["hits"]]
    hosts = sorted({finding["host"] for finding in findings})
    assert hosts and any("remote_execution" in finding["signals"] for finding in findings), findings

    ran = alert(conf, f"ea-{uuid.uuid4().hex[:8]}", start, datetime.now(timezone.utc) + timedelta(seconds=1))

    assert ran.returncode == 0, ran.stdout + ran.stderr
    fired = [json.loads(line) for line in alerts.read_text().splitlines() if line.strip()]
    assert sorted(match["host"] for batch in fired for match in batch) == hosts
    assert elasticsearch.password not in ran.stdout + ran.stderr + hunt.stdout + hunt.stderr
