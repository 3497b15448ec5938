"""api = sigma on Spark: SigmaHQ rules over OTRF events, and Sigma's matching semantics.

The shipped conf (conf/sigma/sigma.conf, 20 SigmaHQ rules) runs over the OTRF samples of
conf/sysmon-hunt/sample and must find the attacks recorded there; rules written here check the
semantics the Sigma specification gives: case-insensitive values, a ``not`` over a field the
event lacks, numbers against text, keywords, ``null``, and rules that cannot run being set aside
with a one-line reason while the others run.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.conftest import REPO
from tests.integration.conftest import batch_rows, memory_query, settings_for

pytestmark = [pytest.mark.spark]

SHIPPED = REPO / "conf" / "sigma" / "sigma.conf"
INJECTION_HOST = "WORKSTATION6.mssentinel.local"  # OTRF's CreateRemoteThread dataset
EMPIRE_HOST = "WORKSTATION6.theshire.local"  # OTRF's Empire PSRemoting and WMI datasets
# What the shipped rules find in the OTRF samples, at sigma.min_level = medium: (host, rule).
SHIPPED_FINDINGS = {
    (INJECTION_HOST, "Remote Thread Creation In Uncommon Target Image"),
    (INJECTION_HOST, "PowerShell Core DLL Loaded By Non PowerShell Process"),
    (INJECTION_HOST, "PSScriptPolicyTest Creation By Uncommon Process"),
    (INJECTION_HOST, "Alternate PowerShell Hosts Pipe"),
    (INJECTION_HOST, "Suspicious WSMAN Provider Image Loads"),
    (EMPIRE_HOST, "HackTool - Empire PowerShell Launch Parameters"),
    (EMPIRE_HOST, "Net WebClient Casing Anomalies"),
    (EMPIRE_HOST, "Suspicious Execution of Powershell with Base64"),
    (EMPIRE_HOST, "Potential WMI Lateral Movement WmiPrvSE Spawned PowerShell"),
    (EMPIRE_HOST, "WmiPrvSE Spawned A Process"),
    (EMPIRE_HOST, "Remote PowerShell Session Host Process (WinRM)"),
    (EMPIRE_HOST, "Suspicious Processes Spawned by WinRM"),
}


def test_the_shipped_rules_find_the_attacks_of_the_otrf_samples(spark_context, tmp_path: Path) -> None:
    rows = batch_rows(spark_context, tmp_path, SHIPPED)
    found = {
        (key, metadata["rule"], metadata["window_start"]): (score, metadata) for key, score, metadata in rows
    }
    assert len(found) == len(rows), "one finding per host, rule and window"
    assert {(key, rule) for key, rule, _ in found} == SHIPPED_FINDINGS
    score, injection = found[
        (INJECTION_HOST, "Remote Thread Creation In Uncommon Target Image", "2022-09-22T12:00:00Z")
    ]
    assert score == 50.0
    assert injection["count"] == 106  # every CreateRemoteThread of the dataset targets notepad.exe
    assert injection["level"] == "medium" and injection["mitre"] == ["T1055.003"]
    assert injection["rule_id"] == "a1a144b7-5c9b-4853-a559-2172be8d4a03"
    assert injection["first_seen"] == "2022-09-22T12:31:21.555000Z"
    assert injection["sample_event"] == "3328148"  # the first one's EventRecordID
    assert injection["users"] == ["MSSENTINEL\\wardog"]
    assert injection["rule_file"] == "create_remote_thread_win_susp_uncommon_target_image.yml"
    empire = [found[item] for item in found if item[1] == "HackTool - Empire PowerShell Launch Parameters"]
    assert [score for score, _ in empire] == [70.0, 70.0]  # high; the two datasets, hours apart
    # Credential-dumping rules have nothing to find in these datasets.
    assert not [item for item in found if "Mimikatz" in item[1] or "LSASS" in item[1]]


def test_hunting_levels_come_back_when_asked(spark_context, tmp_path: Path) -> None:
    rows = batch_rows(spark_context, tmp_path, SHIPPED, {"sigma.min_level": "informational"})
    levels = {metadata["rule"]: metadata["level"] for _, _, metadata in rows}
    assert levels["New PowerShell Instance Created"] == "informational"
    assert levels["Uncommon Process Access Rights For Target Image"] == "low"


RULE = """
title: {title}
id: {id}
status: test
logsource:
    product: windows
    category: process_creation
detection:
{detection}
level: high
tags:
    - attack.execution
    - attack.t1059.001
"""
RULES = {
    # Sigma values match without case; the Sysmon pipeline adds EventID 1 and the channel.
    "powershell": "    selection:\n        Image|endswith: '\\powershell.exe'\n    condition: selection",
    # A `not` over a field the event does not have matches: the filter does not.
    "not-explorer": (
        "    selection:\n        Image|endswith: '\\cmd.exe'\n"
        "    filter:\n        ParentImage|endswith: '\\explorer.exe'\n"
        "    condition: selection and not filter"
    ),
    # A field no event has: no match, and no failure.
    "unknown-field": "    selection:\n        NoSuchField: 'x'\n    condition: selection",
    "not-unknown-field": (
        "    selection:\n        Image|endswith: '\\whoami.exe'\n"
        "    filter:\n        NoSuchField: 'x'\n    condition: selection and not filter"
    ),
    # A number against a column of text, some of it not a number: Spark's ANSI mode must not fail.
    "number": "    selection:\n        LogonType: 3\n    condition: selection",
    # Bare keywords search the whole message.
    "keywords": "    keywords:\n        - 'sekurlsa::logonpasswords'\n    condition: keywords",
    # null: the event has no such field.
    "no-parent": (
        "    selection:\n        Image|endswith: '\\svchost.exe'\n        ParentImage: null\n"
        "    condition: selection"
    ),
    # Regex: case-sensitive unless |i.
    "regex": "    selection:\n        CommandLine|re: 'Invoke-[A-Z]'\n    condition: selection",
}
UNRUNNABLE = {
    # A placeholder no pipeline fills.
    "placeholder": "    selection:\n        User|expand: '%admins%'\n    condition: selection",
    # A regex Python accepts and Java does not ((?P<...>) groups).
    "java-regex": "    selection:\n        CommandLine|re: '(?P<tool>mimikatz)'\n    condition: selection",
}
SYSMON = "Microsoft-Windows-Sysmon/Operational"


def event(number: int, **fields) -> dict:
    return {
        "EventID": 1,
        "Channel": SYSMON,
        "Hostname": "WS01.corp.example",
        "EventRecordID": str(1000 + number),
        "TimeCreated": f"2025-03-03T10:00:{number:02d}.000Z",
        **fields,
    }


EVENTS = [
    event(1, Image="C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\POWERSHELL.EXE", User="CORP\\alice"),
    event(2, Image="C:\\Windows\\System32\\cmd.exe", ParentImage="C:\\Windows\\explorer.exe"),
    event(3, Image="C:\\Windows\\System32\\cmd.exe", User="CORP\\bob"),  # no ParentImage
    event(4, Image="C:\\Windows\\System32\\whoami.exe", ParentImage="C:\\Windows\\System32\\cmd.exe"),
    event(5, Image="C:\\Windows\\System32\\svchost.exe", LogonType="-"),
    event(6, Image="C:\\Windows\\System32\\net.exe", ParentImage="C:\\x.exe", LogonType="3"),
    event(
        7, Image="C:\\Tools\\m.exe", ParentImage="C:\\x.exe", Message="mimikatz # SEKURLSA::LogonPasswords"
    ),
    event(8, Image="C:\\t.exe", ParentImage="C:\\x.exe", CommandLine="powershell Invoke-Mimikatz"),
    event(9, Image="C:\\t.exe", ParentImage="C:\\x.exe", CommandLine="powershell invoke-mimikatz"),
    # Security's 4688 is no Sysmon process creation: the pipeline's EventID and channel keep it out.
    {**event(10, Image="C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"), "EventID": 4688},
]
EXPECTED = {
    "powershell": {"1001"},
    "not-explorer": {"1003"},
    "not-unknown-field": {"1004"},
    "number": {"1006"},
    "keywords": {"1007"},
    "no-parent": {"1005"},
    "regex": {"1008"},
}


def write_rules(folder: Path, rules: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for number, (name, detection) in enumerate(rules.items()):
        text = RULE.format(title=name, id=f"00000000-0000-4000-8000-{number:012d}", detection=detection)
        (folder / f"{name}.yml").write_text(text)


def semantics_conf(tmp_path: Path) -> Path:
    write_rules(tmp_path / "rules", {**RULES, **UNRUNNABLE})
    (tmp_path / "rules" / "broken.yml").write_text("title: [unclosed\n")
    (tmp_path / "events.json").write_text("".join(json.dumps(item) + "\n" for item in EVENTS))
    conf = tmp_path / "sigma.conf"
    conf.write_text(
        "name = Sigma semantics\ntype = batch\napi = sigma\nrules = rules\nfile = events.json\n"
        "format = json\noutput = csv\n[out_csv]\npath = out.csv\n"
    )
    return conf


def test_sigma_semantics_on_spark(spark_context, tmp_path: Path, capfd) -> None:
    rows = batch_rows(spark_context, tmp_path, semantics_conf(tmp_path))
    matched: dict[str, set[str]] = {}
    for key, score, metadata in rows:
        assert key == "WS01.corp.example" and score == 70.0
        assert metadata["mitre"] == ["T1059.001"] and metadata["count"] == 1
        matched.setdefault(metadata["rule"], set()).add(metadata["sample_event"])
    assert matched == EXPECTED
    errors = capfd.readouterr().err
    lines = [line for line in errors.splitlines() if ": Sigma rule " in line]
    assert len(lines) == 3, lines  # each rule that cannot run, once, with its file
    assert any(
        "placeholder.yml (placeholder): " in line and "placeholder" in line.split(": ", 2)[2]
        for line in lines
    )
    assert any("java-regex.yml (java-regex): regex" in line and "Java" in line for line in lines)
    assert any("broken.yml" in line for line in lines)


CORRELATION_RULES = """
title: Failed logon
id: 5b2c1f7e-0000-4000-8000-000000000001
name: failed_logon
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
level: low
---
title: Whoami
id: 5b2c1f7e-0000-4000-8000-000000000002
name: whoami
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        Image|endswith: '\\\\whoami.exe'
    condition: selection
level: low
---
title: Net user
id: 5b2c1f7e-0000-4000-8000-000000000003
name: net_user
logsource:
    product: windows
    category: process_creation
detection:
    selection:
        CommandLine|contains: 'net user'
    condition: selection
level: low
---
title: Brute force of one account
id: 5b2c1f7e-0000-4000-8000-000000000011
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 10m
    condition:
        gte: 3
level: high
tags:
    - attack.t1110.001
---
title: Password spray from one address
id: 5b2c1f7e-0000-4000-8000-000000000012
correlation:
    type: value_count
    rules:
        - failed_logon
    group-by:
        - IpAddress
    timespan: 10m
    condition:
        field: TargetUserName
        gte: 3
level: high
---
title: Discovery burst
id: 5b2c1f7e-0000-4000-8000-000000000013
correlation:
    type: temporal
    rules:
        - whoami
        - net_user
    group-by:
        - Hostname
    timespan: 5m
level: medium
---
title: Ordered, not supported
id: 5b2c1f7e-0000-4000-8000-000000000014
correlation:
    type: temporal_ordered
    rules:
        - whoami
        - net_user
    timespan: 5m
level: medium
"""


def security(second: int, user: str, address: str) -> dict:
    return {
        "EventID": 4625,
        "Channel": "Security",
        "Hostname": "DC01.corp.example",
        "EventRecordID": str(second),
        "TimeCreated": f"2025-03-03T10:0{second // 60}:{second % 60:02d}.000Z",
        "TargetUserName": user,
        "IpAddress": address,
    }


CORRELATION_EVENTS = [
    *(security(second, "admin", "10.0.0.9") for second in (1, 30, 90, 120)),  # four on admin
    *(security(200 + second, user, "10.0.0.5") for second, user in enumerate(("a", "b", "c"))),  # spray
    security(300, "bob", "10.0.0.7"),
    event(10, Image="C:\\Windows\\System32\\whoami.exe", ParentImage="C:\\x.exe"),
    event(
        40, Image="C:\\Windows\\System32\\net.exe", ParentImage="C:\\x.exe", CommandLine="net user /domain"
    ),
]


def test_correlation_rules_count_matches_per_group_and_time_span(
    spark_context, tmp_path: Path, capfd
) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "correlations.yml").write_text(CORRELATION_RULES)
    (tmp_path / "events.json").write_text("".join(json.dumps(item) + "\n" for item in CORRELATION_EVENTS))
    conf = tmp_path / "sigma.conf"
    conf.write_text(
        "name = Sigma correlations\ntype = batch\napi = sigma\nrules = rules\nfile = events.json\n"
        "format = json\noutput = csv\n[out_csv]\npath = out.csv\n"
    )
    rows = batch_rows(spark_context, tmp_path, conf)
    found = {metadata["rule"]: (key, score, metadata) for key, score, metadata in rows}
    # The rules that feed correlations make no findings of their own (generate: false).
    assert sorted(found) == [
        "Brute force of one account",
        "Discovery burst",
        "Password spray from one address",
    ]
    key, score, brute = found["Brute force of one account"]
    assert (key, score) == ("DC01.corp.example", 70.0)
    assert brute["group"] == "TargetUserName=admin" and brute["measure"] == 4.0 and brute["count"] == 4
    assert brute["correlation"] == "event_count >= 3" and brute["mitre"] == ["T1110.001"]
    assert brute["window_start"] == "2025-03-03T10:00:00Z" and brute["window_end"] == "2025-03-03T10:10:00Z"
    spray = found["Password spray from one address"][2]
    assert spray["group"] == "IpAddress=10.0.0.5" and spray["measure"] == 3.0
    burst = found["Discovery burst"]
    assert burst[0] == "WS01.corp.example" and burst[2]["measure"] == 2.0 and burst[2]["count"] == 2
    errors = [line for line in capfd.readouterr().err.splitlines() if ": Sigma rule " in line]
    assert len(errors) == 1 and "(Ordered, not supported): correlation type temporal_ordered" in errors[0]


# The columns the rules read (a stream's are fixed when it starts).
STREAM_COLUMNS = (
    "EventID BIGINT, Channel STRING, Hostname STRING, EventRecordID STRING, TimeCreated STRING, "
    "Image STRING, ParentImage STRING, CommandLine STRING, TargetUserName STRING, IpAddress STRING"
)
STREAM_CONF = """
name = Sigma stream
type = streaming
api = sigma
rules = {rules}
input = file
output = csv
format = json
schema = stream.ddl
sigma.late_minutes = 1

[in_file]
folder_path = {folder}

[out_csv]
path = {folder}/../findings.csv
"""


def test_a_stream_gives_the_batch_findings_once_the_watermark_passes(spark_context, tmp_path: Path) -> None:
    from datashark.frames.findings import FindingRow, metadata_names
    from datashark.frames.streaming import streaming_findings

    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "correlations.yml").write_text(CORRELATION_RULES)
    write_rules(
        tmp_path / "rules", {"powershell": RULES["powershell"], "not-explorer": RULES["not-explorer"]}
    )
    folder = tmp_path / "events"
    conf = tmp_path / "stream.conf"
    conf.write_text(STREAM_CONF.format(rules=tmp_path / "rules", folder=folder))
    (tmp_path / "stream.ddl").write_text(STREAM_COLUMNS)
    settings = settings_for(tmp_path)
    prepared = prepare(settings, read_usecase(conf))
    findings = streaming_findings(spark_context, RunContext(settings), prepared)
    query = memory_query(findings, "sigma_stream", tmp_path / "query")
    try:
        events = [*CORRELATION_EVENTS, *EVENTS[:3]]
        # An event of a later day moves the watermark past every window of the others.
        late = event(59, Image="C:\\Windows\\notepad.exe", TimeCreated="2025-03-04T00:00:00.000Z")
        for number, part in enumerate((events[:6], events[6:], [late])):
            (folder / f"{number}.json").parent.mkdir(exist_ok=True)
            (folder / f"{number}.json").write_text("".join(json.dumps(item) + "\n" for item in part))
            query.processAllAvailable()
        rows = findings.sparkSession.table("sigma_stream")
        deadline = time.monotonic() + 60
        while rows.count() < 5 and time.monotonic() < deadline:
            time.sleep(0.5)
            query.processAllAvailable()
        to_finding = FindingRow(metadata_names(rows))
        found = sorted((item[2]["rule"], item[0]) for item in map(to_finding, rows.collect()))
    finally:
        query.stop()
    assert found == [
        ("Brute force of one account", "DC01.corp.example"),
        ("Discovery burst", "WS01.corp.example"),
        ("Password spray from one address", "DC01.corp.example"),
        ("not-explorer", "WS01.corp.example"),
        ("powershell", "WS01.corp.example"),
    ]
