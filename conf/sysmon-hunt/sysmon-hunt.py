"""Threat hunting over Windows Sysmon and Security events, per host: process injection, LSASS
memory read by an unknown tool, encoded or obfuscated PowerShell, Office or a browser starting a
shell, credential-dumping tools and command lines, and remote execution (a network logon, 4624
type 3, whose LogonId a Sysmon 1 process creation on the same host runs under).

Events come as OTRF Security-Datasets write them (flat: ``EventID``, ``Hostname``, ``Image``...)
or as Winlogbeat ships them (``winlog.event_id``, ``winlog.event_data.*``, ``host.name``; nested
objects or dotted keys). Both become one small event shape first (``normalised``), counted per
host in tumbling windows of event time. See README.md for the score, the tuning keys and the
signals' ATT&CK ids.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Any

from datashark.detect.measures import distinct_values, event_micros, first_seen, last_seen, tally, utc_time
from datashark.detect.memo import remembered
from datashark.detect.severity import combined, grows_with, level_of
from datashark.detect.tuning import flag, items
from datashark.detect.windows import Window, per_entity

# ----------------------------------------------------------------------------- signals

# Each signal: its base score's conf key default and its ATT&CK techniques. Strongest first: the
# order `signals` lists them in a finding.
SIGNALS: dict[str, tuple[float, tuple[str, ...]]] = {
    "lsass_access": (80, ("T1003.001",)),
    "credential_dumping": (80, ("T1003",)),
    "remote_execution": (70, ("T1021",)),
    "office_child_shell": (70, ("T1566.001", "T1204.002", "T1059")),
    "process_injection": (65, ("T1055",)),
    "encoded_powershell": (60, ("T1059.001", "T1027")),
    "browser_child_shell": (60, ("T1204.002", "T1189", "T1059")),
    "obfuscated_powershell": (55, ("T1059.001", "T1027")),
}
JOIN_PARTS = ("logon", "process")  # the two halves of remote_execution, no signal on their own

# ----------------------------------------------------------------------------- settings

DEFAULT_LSASS_READERS = (
    r"c:\windows\system32\csrss.exe, c:\windows\system32\wininit.exe, c:\windows\system32\winlogon.exe,"
    r" c:\windows\system32\services.exe, c:\windows\system32\lsm.exe, c:\windows\system32\svchost.exe,"
    r" c:\windows\system32\wbem\wmiprvse.exe, c:\windows\system32\lsaiso.exe,"
    r" c:\windows\system32\searchindexer.exe, c:\windows\system32\taskhostw.exe,"
    r" c:\windows\sysmon.exe, c:\windows\sysmon64.exe,"
    r" c:\programdata\microsoft\windows defender\platform\*\msmpeng.exe,"
    r" c:\program files\windows defender\msmpeng.exe,"
    r" c:\program files\windows defender advanced threat protection\mssense.exe,"
    r" c:\program files\crowdstrike\csfalconservice.exe, c:\program files\sentinelone\*\sentinelagent.exe,"
    r" c:\program files\vmware\vmware tools\vmtoolsd.exe, c:\windowsazure\*\collectguestlogs.exe,"
    r" c:\windowsazure\*\waappagent.exe, c:\windowsazure\*\windowsazureguestagent.exe"
)
DEFAULT_LSASS_MASKS = (
    "0x1010, 0x1410, 0x1418, 0x1438, 0x143a, 0x1f0fff, 0x1f1fff, 0x1f2fff, 0x1f3fff, 0x1fffff, 0x40"
)
DEFAULT_INJECTION_PAIRS = (
    r"csrss.exe>*, c:\windows\system32\wininit.exe>*, c:\windows\system32\winlogon.exe>*,"
    r" c:\windows\system32\services.exe>*, c:\windows\system32\smss.exe>*, system>*,"
    r" c:\windows\system32\dwm.exe>csrss.exe, c:\windows\system32\wbem\wmiprvse.exe>svchost.exe,"
    r" c:\program files\vmware\vmware tools\vmtoolsd.exe>*,"
    r" c:\programdata\microsoft\windows defender\platform\*\msmpeng.exe>*"
)
NUMBERS = ("window_minutes", "late_minutes", "idle_minutes", "saturation_count", "combined_bonus")
COUNTS = ("samples", "command_line_chars")


def _words(value: Any) -> tuple[str, ...]:
    """A comma-separated conf value (or a list) as lower-case entries, blanks dropped."""
    return tuple(item.lower() for item in items(value))


def _masks(name: str, value: Any) -> frozenset[int]:
    try:
        return frozenset(int(word, 16) for word in _words(value))
    except ValueError:
        message = f"sysmon-hunt: {name} must be hex access masks such as 0x1410, not {value!r}"
        raise ValueError(message) from None


def _pairs(name: str, value: Any) -> tuple[tuple[str, str], ...]:
    pairs = []
    for word in _words(value):
        source, arrow, target = word.partition(">")
        if not arrow or not source.strip() or not target.strip():
            message = f"sysmon-hunt: {name} entries must be 'source>target' image patterns, not {word!r}"
            raise ValueError(message)
        pairs.append((source.strip(), target.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class Settings:
    """The use case's tuning keys, read once from the conf (see README.md for each one)."""

    window_minutes: float = 60
    late_minutes: float = 2
    idle_minutes: float = 5
    lsass_readers: tuple[str, ...] = _words(DEFAULT_LSASS_READERS)
    lsass_access_masks: frozenset[int] = _masks("lsass_access_masks", DEFAULT_LSASS_MASKS)
    injection_allowed: tuple[tuple[str, str], ...] = _pairs("injection_allowed", DEFAULT_INJECTION_PAIRS)
    remote_logon_types: frozenset[int] = frozenset({3})
    exclude_machine_accounts: bool = True
    exclude_anonymous: bool = True
    short_host_names: bool = True
    saturation_count: float = 20
    combined_bonus: float = 5
    samples: int = 5
    command_line_chars: int = 160
    scores: tuple[tuple[str, float], ...] = tuple((name, base) for name, (base, _) in SIGNALS.items())

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        def get(key: str, default: Any) -> Any:
            value = conf.get(key) if hasattr(conf, "get") else None
            return default if value is None or value == "" else value

        def number(key: str, default: float) -> float:
            try:
                value = float(get(key, default))
            except (TypeError, ValueError):
                raise ValueError(f"sysmon-hunt: {key} must be a number, not {get(key, default)!r}") from None
            if value < 0 or (key == "window_minutes" and value <= 0):
                raise ValueError(f"sysmon-hunt: {key} must be positive, not {value:g}")
            return value

        defaults = cls()
        numbers = {name: number(name, getattr(defaults, name)) for name in NUMBERS}
        counts = {name: max(1, int(number(name, getattr(defaults, name)))) for name in COUNTS}
        scores = tuple((name, number(f"score_{name}", base)) for name, base in defaults.scores)
        try:
            logon_types = frozenset(int(word) for word in _words(get("remote_logon_types", "3")))
        except ValueError:
            raise ValueError(
                f"sysmon-hunt: remote_logon_types must be logon type numbers such as 3, 10, "
                f"not {get('remote_logon_types', '3')!r}"
            ) from None
        return cls(
            **numbers,
            **counts,
            lsass_readers=_words(get("lsass_readers", DEFAULT_LSASS_READERS)),
            lsass_access_masks=_masks("lsass_access_masks", get("lsass_access_masks", DEFAULT_LSASS_MASKS)),
            injection_allowed=_pairs("injection_allowed", get("injection_allowed", DEFAULT_INJECTION_PAIRS)),
            remote_logon_types=logon_types,
            exclude_machine_accounts=flag("exclude_machine_accounts", get("exclude_machine_accounts", True)),
            exclude_anonymous=flag("exclude_anonymous", get("exclude_anonymous", True)),
            short_host_names=flag("short_host_names", get("short_host_names", True)),
            scores=scores,
        )

    def score_of(self, signal: str) -> float:
        return dict(self.scores)[signal]


# ----------------------------------------------------------------------------- reading both shapes

SYSMON_EVENTS = {1, 8, 10}
SECURITY_EVENTS = {4624, 4688}
WANTED_EVENTS = SYSMON_EVENTS | SECURITY_EVENTS
# Winlogbeat's ECS fields for what its sysmon/security modules move out of event_data.
ECS_NAMES = {
    "Image": ("process.executable",),
    "CommandLine": ("process.command_line",),
    "ParentImage": ("process.parent.executable",),
    "OriginalFileName": ("process.pe.original_file_name",),
    "SourceImage": ("process.executable",),
    "NewProcessName": ("process.executable",),
    "ParentProcessName": ("process.parent.executable",),
    "LogonId": ("winlog.logon.id",),
    "TargetLogonId": ("winlog.logon.id",),
    "IpAddress": ("source.ip",),
}
WINLOGBEAT_LOGON_TYPES = {
    "interactive": 2,
    "network": 3,
    "batch": 4,
    "service": 5,
    "unlock": 7,
    "networkcleartext": 8,
    "newcredentials": 9,
    "remoteinteractive": 10,
    "cachedinteractive": 11,
}


def lookup(event: dict, dotted: str) -> Any:
    """``event[dotted]`` as a dotted key, else the nested ``event[a][b]...``; None when absent."""
    value = event.get(dotted)
    if value is not None:
        return value
    node: Any = event
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


class Record:
    """One Windows event's fields, whatever its shape: ``event_id``, ``channel``, ``computer``,
    and ``get(name)`` for an EventData field (``Image``, ``TargetLogonId``...)."""

    __slots__ = ("channel", "data", "event", "event_id", "winlogbeat")

    def __init__(self, event: dict, event_id: int, winlogbeat: bool) -> None:
        self.event = event
        self.event_id = event_id
        self.winlogbeat = winlogbeat
        if winlogbeat:
            nested = event.get("winlog")
            data = nested.get("event_data") if isinstance(nested, dict) else None
            if not isinstance(data, dict):
                prefix = "winlog.event_data."
                data = {key[len(prefix) :]: value for key, value in event.items() if key.startswith(prefix)}
            self.data = data
            self.channel = str(lookup(event, "winlog.channel") or "")
        else:
            self.data = event
            self.channel = str(event.get("Channel") or event.get("channel") or "")

    def get(self, name: str) -> Any:
        value = self.data.get(name)
        if value is None and self.winlogbeat:
            for alias in ECS_NAMES.get(name, ()):
                value = lookup(self.event, alias)
                if value is not None:
                    break
        return None if value in ("", "-") else value

    def text(self, name: str) -> str:
        value = self.get(name)
        return "" if value is None else str(value)

    @property
    def computer(self) -> str | None:
        if self.winlogbeat:
            return lookup(self.event, "host.name") or lookup(self.event, "winlog.computer_name")
        event = self.event
        return event.get("Hostname") or event.get("Computer") or event.get("computer_name")

    @property
    def when(self) -> Any:
        event = self.event
        for name in ("@timestamp", "TimeCreated", "UtcTime", "EventTime"):
            value = event.get(name)
            if value is not None:
                return value
        return self.data.get("UtcTime")


def _event_id(value: Any) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def record_of(event: Any) -> Record | None:
    """The event as a ``Record`` when it is one this detection reads (Sysmon 1, 8, 10; Security
    4624, 4688), else None. The event id is checked first: most events stop here."""
    if not isinstance(event, dict):
        return None
    raw = event.get("EventID")
    winlogbeat = False
    if raw is None:
        raw = event.get("winlog.event_id")
        if raw is None:
            nested = event.get("winlog")
            raw = nested.get("event_id") if isinstance(nested, dict) else event.get("event_id")
        winlogbeat = raw is not None and ("winlog" in event or "winlog.event_id" in event)
    event_id = _event_id(raw)
    if event_id not in WANTED_EVENTS:
        return None
    record = Record(event, event_id, winlogbeat)
    channel = record.channel.lower()
    if event_id in SYSMON_EVENTS and channel and "sysmon" not in channel:
        return None
    if event_id in SECURITY_EVENTS and channel and channel != "security":
        return None
    return record


def event_time(value: Any) -> datetime | None:
    """An event's time as a UTC datetime: ISO 8601 text (``2020-09-21T04:14:55.119Z``, Sysmon's
    ``2022-09-22 16:31:14.259``, taken as UTC without a zone), a datetime, or epoch seconds or
    milliseconds. None when unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 100_000_000_000 else value
        return datetime.fromtimestamp(seconds, timezone.utc)
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return None


@remembered
def host_name(name: str) -> str:
    """The host as the key: lower case, ``WORKSTATION6.theshire.local`` and ``WORKSTATION6``
    being one host (the name before the first dot) unless ``short_host_names = false``."""
    return name.strip().lower()


@remembered
def basename(path: str) -> str:
    """``powershell.exe`` of ``C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe``."""
    return path.replace("/", "\\").rsplit("\\", 1)[-1].strip().strip('"').lower()


def logon_id(value: Any) -> str | None:
    """A LogonId in one spelling, ``0x32c5cb5``, whether written ``0x32C5CB5``, in decimal, or as
    a number; None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return hex(value)
    text = str(value).strip().lower()
    try:
        return hex(int(text, 16)) if text.startswith("0x") else hex(int(text))
    except ValueError:
        return None


def account(domain: Any, name: Any) -> str | None:
    """``DOMAIN\\user``, or the name alone; None without a name."""
    if not name or name == "-":
        return None
    return f"{domain}\\{name}" if domain and domain != "-" else str(name)


# ----------------------------------------------------------------------------- image patterns


def _matches(path: str, pattern: str) -> bool:
    """An allowlist pattern against an image: a full path glob when the pattern holds a
    backslash (``c:\\program files\\*\\agent.exe``), else a glob on the file name."""
    subject = path if "\\" in pattern else basename(path)
    return fnmatch.fnmatchcase(subject, pattern)


def allowed_lsass_reader(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether the image reading lsass is on the allowlist (``lsass_readers``)."""
    lowered = path.strip().strip('"').lower()
    return any(_matches(lowered, pattern) for pattern in patterns)


def allowed_injection(source: str, target: str, pairs: tuple[tuple[str, str], ...]) -> bool:
    """Whether a CreateRemoteThread from ``source`` into ``target`` is a known benign pair."""
    source, target = source.strip().strip('"').lower(), target.strip().strip('"').lower()
    return any(_matches(source, s) and _matches(target, t) for s, t in pairs)


def access_mask(value: Any) -> int | None:
    """Sysmon's GrantedAccess (``0x1410``) as a number, or None."""
    try:
        return int(str(value).strip(), 16)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- PowerShell

POWERSHELL_IMAGES = {"powershell.exe", "pwsh.exe", "powershell_ise.exe"}
# -e, -ec, -en, -enc ... -EncodedCommand: PowerShell takes any unambiguous prefix (and -e).
ENCODED_ARGUMENT = re.compile(
    r"(?:^|\s)[-/\u2013\u2014\u2015]e(?:c|n(?:c(?:o(?:d(?:e(?:d(?:c(?:o(?:m(?:m(?:a(?:n(?:d)?)?)?)?)?)?)?)?)?)?)?)?)?"
    r"\s+[\"']?(?P<payload>[A-Za-z0-9+/]{12,}={0,2})",
    re.IGNORECASE,
)
DOWNLOAD = re.compile(
    r"downloadstring|downloaddata|downloadfile|net\.webclient|invoke-webrequest|\biwr\b|invoke-restmethod"
    r"|\birm\b|start-bitstransfer|webrequest\]::create|xmlhttp",
    re.IGNORECASE,
)
INVOKE_EXPRESSION = re.compile(r"\biex\b|invoke-expression|\|\s*&\s*\(|\.invoke\(\)", re.IGNORECASE)
WINDOW_HIDDEN = re.compile(
    r"\s[-/]w(?:i(?:n(?:d(?:o(?:w(?:s(?:t(?:y(?:l(?:e)?)?)?)?)?)?)?)?)?)?\s+(?:h(?:i(?:d(?:d(?:e(?:n)?)?)?)?)?|1)\b",
    re.IGNORECASE,
)
NO_PROFILE = re.compile(r"\s[-/]nop(?:r(?:o(?:f(?:i(?:l(?:e)?)?)?)?)?)?\b", re.IGNORECASE)
FROM_BASE64 = re.compile(r"frombase64string", re.IGNORECASE)
CHAR_CAST = re.compile(r"\[char\]\s*\(?\s*\d+", re.IGNORECASE)
JOIN = re.compile(r"-join\b|\[string\]::join", re.IGNORECASE)
TICK_IN_WORD = re.compile(r"(?<=[A-Za-z])`(?=[A-Za-z])")
CONCATENATED = re.compile(r"['\"]\s*\+\s*['\"]")
POWERSHELL_WORD = re.compile(r"powershell|pwsh", re.IGNORECASE)
# Words that make a command line worth the PowerShell checks at all (one search, most lines stop).
POWERSHELL_HINT = re.compile(r"powershell|pwsh|iex|invoke-|frombase64|\[char\]|`|-join", re.IGNORECASE)


def decoded_powershell(payload: str) -> str | None:
    """The script of an -EncodedCommand argument: base64 of UTF-16LE text; None when it is none."""
    padded = payload + "=" * (-len(payload) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None
    text = raw.decode("utf-16-le", errors="replace")
    # A script is mostly Latin text: ASCII bytes read as UTF-16LE give CJK-looking characters.
    latin = sum(1 for char in text if char < "\u0370" and (char.isprintable() or char in "\r\n\t"))
    return text if text and latin >= 0.8 * len(text) else None


def obfuscation_of(text: str) -> list[str]:
    """The obfuscation tricks in a PowerShell command line or script, by name: ``download_cradle``
    (IEX with a download), ``frombase64string``, ``hidden_noprofile`` (-w hidden with -nop),
    ``char_join`` ([char] casts joined), ``tick_obfuscation`` (backticks inside words),
    ``string_concatenation``."""
    found = []
    if INVOKE_EXPRESSION.search(text) and DOWNLOAD.search(text):
        found.append("download_cradle")
    if FROM_BASE64.search(text):
        found.append("frombase64string")
    if WINDOW_HIDDEN.search(text) and NO_PROFILE.search(text):
        found.append("hidden_noprofile")
    if len(CHAR_CAST.findall(text)) >= 3 and (JOIN.search(text) or "+" in text):
        found.append("char_join")
    if len(TICK_IN_WORD.findall(text)) >= 3:
        found.append("tick_obfuscation")
    if len(CONCATENATED.findall(text)) >= 3:
        found.append("string_concatenation")
    return found


@remembered
def powershell_findings(command_line: str) -> tuple[tuple[str, str], ...]:
    """The PowerShell signals of a command line: ``(signal, detail)`` pairs, where detail is the
    decoded script (``encoded_powershell``) or the tricks seen (``obfuscated_powershell``)."""
    if not POWERSHELL_HINT.search(command_line):
        return ()
    found: list[tuple[str, str]] = []
    encoded = ENCODED_ARGUMENT.search(command_line) if POWERSHELL_WORD.search(command_line) else None
    if encoded:
        script = decoded_powershell(encoded.group("payload"))
        tricks = obfuscation_of(script) if script else []
        detail = " ".join(script.split()) if script else "(not UTF-16LE base64)"
        found.append(("encoded_powershell", (f"[{' '.join(tricks)}] " if tricks else "") + detail))
    tricks = obfuscation_of(command_line)
    if tricks:
        found.append(("obfuscated_powershell", " ".join(tricks)))
    return tuple(found)


# ----------------------------------------------------------------------------- other process signals

OFFICE = {"winword.exe", "excel.exe", "powerpnt.exe", "outlook.exe", "msaccess.exe", "mspub.exe",
          "onenote.exe", "visio.exe", "eqnedt32.exe"}  # fmt: skip
BROWSERS = {"chrome.exe", "msedge.exe", "firefox.exe", "iexplore.exe", "brave.exe", "opera.exe"}
SHELLS = {"cmd.exe", "powershell.exe", "pwsh.exe", "wscript.exe", "cscript.exe", "mshta.exe", "rundll32.exe",
          "regsvr32.exe", "bitsadmin.exe", "certutil.exe", "msbuild.exe", "installutil.exe", "schtasks.exe",
          "wmic.exe", "hh.exe", "forfiles.exe", "scriptrunner.exe", "bash.exe", "msiexec.exe", "regasm.exe",
          "regsvcs.exe", "cmstp.exe"}  # fmt: skip
# A browser starting cmd for an extension's native messaging host (Chrome, Edge) is no attack.
NATIVE_MESSAGING = re.compile(r"chrome-extension://|moz-extension://|--parent-window=", re.IGNORECASE)

DUMPING_TOOLS = {"mimikatz.exe", "mimikatz", "rubeus.exe", "rubeus", "safetykatz.exe", "nanodump.exe",
                 "pypykatz.exe", "lazagne.exe", "gsecdump.exe", "wce.exe", "pwdump.exe", "fgdump.exe",
                 "sharpkatz.exe", "dumpert.exe", "outflank-dumpert.exe", "handlekatz.exe", "ppldump.exe",
                 "mimidrv.sys", "kekeo.exe", "sharpdump.exe", "nanodump"}  # fmt: skip
# (rule, technique, pattern) over the lower-case command line.
DUMPING_COMMANDS = (
    (
        "mimikatz_command",
        "T1003.001",
        re.compile(r"\b(?:sekurlsa|lsadump|kerberos|dpapi|vault|crypto|token|privilege|misc)::\w+"),
    ),
    (
        "mimikatz_script",
        "T1003.001",
        re.compile(r"invoke-mimikatz|invoke-(?:safetykatz|nanodump)|out-minidump|get-gpppassword"),
    ),
    (
        "procdump_lsass",
        "T1003.001",
        re.compile(
            r"procdump(?:64)?(?:\.exe)?\b.*\s[-/]m[ap]\b.*lsass"
            r"|procdump(?:64)?(?:\.exe)?\b.*lsass.*\s[-/]m[ap]\b"
        ),
    ),
    ("comsvcs_minidump", "T1003.001", re.compile(r"comsvcs(?:\.dll)?[\"'\s,]+(?:#\s*\+?0*24\b|minidump)")),
    ("ntdsutil_ifm", "T1003.003", re.compile(r"ntdsutil(?:\.exe)?\b.*(?:\bifm\b|create\s+full)")),
    (
        "shadow_copy_ntds",
        "T1003.003",
        re.compile(
            r"harddiskvolumeshadowcopy\d*\\.*(?:ntds\.dit|config\\sam|config\\system|config\\security)"
            r"|vssadmin(?:\.exe)?\b.*create\s+shadow|esentutl(?:\.exe)?\b.*\bntds\.dit"
        ),
    ),
    (
        "registry_hive_save",
        "T1003.002",
        re.compile(
            r"\breg(?:\.exe)?\b.*\b(?:save|export)\s+[\"']?(?:hklm|hkey_local_machine)\\(?:sam|system|security)\b"
        ),
    ),
    (
        "dumping_tool_name",
        "T1003",
        re.compile(
            r"\b(?:mimikatz|rubeus|safetykatz|nanodump|pypykatz|lazagne|sharpkatz|handlekatz|ppldump"
            r"|outflank-dumpert)\b"
        ),
    ),
)
DUMPING_HINT = re.compile(
    r"::|mimikatz|minidump|procdump|comsvcs|ntdsutil|shadowcopy|vssadmin|esentutl|\breg(?:\.exe)?\b|rubeus|katz|"
    r"nanodump|lazagne|dumpert|ppldump|gpppassword"
)


@remembered
def dumping_rule(command_line: str) -> tuple[str, str] | None:
    """``(rule, technique)`` of the first credential-dumping pattern a command line matches."""
    lowered = command_line.lower()
    if not DUMPING_HINT.search(lowered):
        return None
    for rule, technique, pattern in DUMPING_COMMANDS:
        if pattern.search(lowered):
            return rule, technique
    return None


def dumping_tool(image: str, original_name: str) -> bool:
    """Whether the image or its PE OriginalFileName is a credential-dumping tool."""
    return basename(image) in DUMPING_TOOLS or original_name.strip().lower() in DUMPING_TOOLS


def remote_techniques(processes: list[tuple[str, str]]) -> set[str]:
    """The ATT&CK techniques of processes started under a network logon, from each (image,
    parent): WMI (T1047), WinRM (T1021.006), a service of SMB admin shares, PsExec
    (T1021.002), DCOM (T1021.003); T1021 always."""
    found = {"T1021"}
    for image, parent in processes:
        image, parent = basename(image), basename(parent)
        if parent == "wmiprvse.exe":
            found.add("T1047")
        if "wsmprovhost.exe" in (image, parent) or "winrshost.exe" in (image, parent):
            found.add("T1021.006")
        if parent == "services.exe" or image.startswith("psexesvc") or parent.startswith("psexesvc"):
            found.add("T1021.002")
        if parent in ("mmc.exe", "dllhost.exe") or (parent == "explorer.exe" and image != "explorer.exe"):
            found.add("T1021.003")
    return found


# ----------------------------------------------------------------------------- normalising


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def normalised(settings: Settings, event: Any) -> list[dict]:
    """What one event tells, as small records ``{"host", "@timestamp", "part", ...}``: one per
    signal it fires (``part`` the signal, with ``sample`` and ``user``), plus the halves of the
    remote-execution join (``part`` ``logon`` for a 4624 of a remote type, ``process`` for a
    Sysmon 1 under a user's logon). Most events give none."""
    record = record_of(event)
    if record is None:
        return []
    computer = record.computer
    when = event_time(record.when)
    if not computer or when is None:
        return []
    host = host_name(str(computer))
    if settings.short_host_names and "." in host and not host[0].isdigit():
        host = host.split(".", 1)[0]
    base = {"host": host, "@timestamp": when}
    event_id = record.event_id
    if event_id == 10:
        return lsass_access(settings, record, base)
    if event_id == 8:
        return process_injection(settings, record, base)
    if event_id == 4624:
        return remote_logon(settings, record, base)
    return process_creation(settings, record, base)


def _signal(base: dict, signal: str, user: str | None, sample: str, technique: str | None = None) -> dict:
    return {**base, "part": signal, "signal_user": user, "sample": sample, "technique": technique}


def lsass_access(settings: Settings, record: Record, base: dict) -> list[dict]:
    """Sysmon 10 on lsass.exe with a credential-reading access mask, from an unlisted image."""
    target = record.text("TargetImage")
    if basename(target) != "lsass.exe":
        return []
    mask = access_mask(record.get("GrantedAccess"))
    if mask is None or mask not in settings.lsass_access_masks:
        return []
    source = record.text("SourceImage")
    if allowed_lsass_reader(source, settings.lsass_readers):
        return []
    sample = f"{source} -> lsass.exe {hex(mask)}"
    return [_signal(base, "lsass_access", record.get("SourceUser"), sample, "T1003.001")]


def process_injection(settings: Settings, record: Record, base: dict) -> list[dict]:
    """Sysmon 8 CreateRemoteThread, unless the pair is in ``injection_allowed``."""
    source, target = record.text("SourceImage"), record.text("TargetImage")
    if allowed_injection(source, target, settings.injection_allowed):
        return []
    start = record.text("StartFunction") or record.text("StartModule")
    sample = f"{source} -> {target}" + (f" ({start})" if start else "")
    return [_signal(base, "process_injection", record.get("SourceUser"), sample, "T1055")]


def remote_logon(settings: Settings, record: Record, base: dict) -> list[dict]:
    """A 4624 of a remote logon type (3: network), as the logon half of the join."""
    raw_type = record.get("LogonType")
    if raw_type is None and record.winlogbeat:
        raw_type = WINLOGBEAT_LOGON_TYPES.get(str(lookup(record.event, "winlog.logon.type") or "").lower())
    try:
        kind = int(raw_type)
    except (TypeError, ValueError):
        return []
    if kind not in settings.remote_logon_types:
        return []
    name = record.text("TargetUserName")
    if not name:
        return []
    if settings.exclude_machine_accounts and name.endswith("$"):
        return []
    if settings.exclude_anonymous and name.upper() == "ANONYMOUS LOGON":
        return []
    session = logon_id(record.get("TargetLogonId"))
    if session is None:
        return []
    return [
        {
            **base,
            "part": "logon",
            "logon_id": session,
            "user": account(record.get("TargetDomainName"), name),
            "source_ip": record.get("IpAddress"),
            "logon_process": record.text("LogonProcessName").strip() or None,
            "auth_package": record.get("AuthenticationPackageName"),
            "logon_type": kind,
        }
    ]


SYSTEM_LOGONS = {"0x3e7", "0x3e4", "0x3e5", "0x0"}  # SYSTEM, NETWORK SERVICE, LOCAL SERVICE


def process_creation(settings: Settings, record: Record, base: dict) -> list[dict]:
    """Sysmon 1 or Security 4688: the process signals, and (Sysmon 1) the process half of the join."""
    if record.event_id == 1:
        image, parent = record.text("Image"), record.text("ParentImage")
        user = record.get("User")
    else:
        image, parent = record.text("NewProcessName"), record.text("ParentProcessName")
        user = account(record.get("TargetDomainName"), record.get("TargetUserName")) or account(
            record.get("SubjectDomainName"), record.get("SubjectUserName")
        )
    command_line = record.text("CommandLine")
    limit = settings.command_line_chars
    found = []
    for signal, detail in powershell_findings(command_line) if command_line else ():
        sample = f"{_clip(command_line, limit)} => {_clip(detail, limit)}"
        found.append(_signal(base, signal, user, sample, "T1059.001"))
    parent_name = basename(parent) if parent else ""
    if parent_name in OFFICE or parent_name in BROWSERS:
        child = basename(image)
        if child in SHELLS and not (parent_name in BROWSERS and NATIVE_MESSAGING.search(command_line)):
            signal = "office_child_shell" if parent_name in OFFICE else "browser_child_shell"
            sample = f"{parent_name} -> {child}: {_clip(command_line, limit)}"
            found.append(_signal(base, signal, user, sample, "T1204.002"))
    rule = dumping_rule(command_line) if command_line else None
    original = record.text("OriginalFileName")
    if rule is None and dumping_tool(image, original):
        rule = ("dumping_tool_name", "T1003")
    if rule is not None:
        sample = f"{rule[0]}: {_clip(command_line or image, limit)}"
        found.append(_signal(base, "credential_dumping", user, sample, rule[1]))
    if record.event_id == 1:
        session = logon_id(record.get("LogonId"))
        if session is not None and session not in SYSTEM_LOGONS:
            found.append(
                {
                    **base,
                    "part": "process",
                    "logon_id": session,
                    "user": user,
                    "image": image,
                    "parent": parent,
                    "command_line": _clip(command_line, limit),
                }
            )
    return found


# ----------------------------------------------------------------------------- measures


class remote_sessions:  # noqa: N801 - read as a measure, like count() and tally()
    """The remote-execution join of a host's window: every remote logon (4624) by LogonId, and
    the processes (Sysmon 1) by the LogonId they run under; the result lists the logons that
    have processes. Keeps per LogonId the earliest logon and the process count with the
    ``limit`` earliest processes, so it is the same however the events are cut."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit

    def start(self) -> list:
        return [{}, {}]  # logons: id -> tuple; processes: id -> [count, [samples]]

    def add(self, acc: list, event: dict) -> list:
        part = event.get("part")
        if part == "logon":
            logon = (
                event_micros(event["@timestamp"]),
                event.get("user") or "",
                str(event.get("source_ip") or ""),
                event.get("logon_process") or "",
                event.get("auth_package") or "",
                event.get("logon_type") or 0,
            )
            known = acc[0].get(event["logon_id"])
            acc[0][event["logon_id"]] = logon if known is None else min(known, logon)
        elif part == "process":
            sample = (
                event_micros(event["@timestamp"]),
                event.get("image") or "",
                event.get("command_line") or "",
                event.get("parent") or "",
            )
            entry = acc[1].setdefault(event["logon_id"], [0, []])
            entry[0] += 1
            entry[1] = sorted([*entry[1], sample])[: self.limit]
        return acc

    def merge(self, a: list, b: list) -> list:
        for session, logon in b[0].items():
            known = a[0].get(session)
            a[0][session] = logon if known is None else min(known, logon)
        for session, (number, samples) in b[1].items():
            entry = a[1].setdefault(session, [0, []])
            entry[0] += number
            entry[1] = sorted([*entry[1], *samples])[: self.limit]
        return a

    def result(self, acc: list) -> list[dict]:
        joined = []
        for session in sorted(set(acc[0]) & set(acc[1]), key=lambda s: (acc[0][s], s)):
            when, user, ip, logon_process, auth, _ = acc[0][session]
            number, samples = acc[1][session]
            joined.append(
                {
                    "logon_id": session,
                    "user": user,
                    "source_ip": ip,
                    "logon_process": logon_process,
                    "auth_package": auth,
                    "logon_time": utc_time(when),
                    "processes": number,
                    "first_process_time": utc_time(samples[0][0]),
                    "samples": [(image, command_line, parent) for _, image, command_line, parent in samples],
                }
            )
        return joined

    def __repr__(self) -> str:
        return f"remote_sessions({self.limit})"


class signal_samples:  # noqa: N801
    """Per signal, the ``limit`` different sample texts seen first (ties by text): the same
    whatever order the events come in."""

    def __init__(self, limit: int = 5) -> None:
        self.limit = limit

    def start(self) -> dict:
        return {}

    def add(self, acc: dict, event: dict) -> dict:
        sample = event.get("sample")
        if sample is None:
            return acc
        seen = acc.setdefault(event["part"], {})
        when = event_micros(event["@timestamp"])
        if sample not in seen or when < seen[sample]:
            seen[sample] = when
            if len(seen) > 2 * self.limit:
                acc[event["part"]] = self._first(seen)
        return acc

    def merge(self, a: dict, b: dict) -> dict:
        for signal, seen in b.items():
            mine = a.setdefault(signal, {})
            for sample, when in seen.items():
                if sample not in mine or when < mine[sample]:
                    mine[sample] = when
            a[signal] = self._first(mine)
        return a

    def result(self, acc: dict) -> dict[str, list[str]]:
        return {signal: sorted(self._first(seen), key=lambda s: (seen[s], s)) for signal, seen in acc.items()}

    def _first(self, seen: dict) -> dict:
        kept = sorted(seen.items(), key=lambda item: (item[1], item[0]))[: self.limit]
        return dict(kept)

    def __repr__(self) -> str:
        return f"signal_samples({self.limit})"


def flagged_time(event: dict) -> datetime | None:
    """The time of a signal's event: first/last seen leave the join's halves to the join."""
    return event["@timestamp"] if event["part"] not in JOIN_PARTS else None


def can_be_finding(parts: dict) -> bool:
    """A window with a signal, or with both halves of the join; most hosts' windows (ordinary
    processes, service logons) stop here."""
    return any(part not in JOIN_PARTS for part in parts) or ("logon" in parts and "process" in parts)


# ----------------------------------------------------------------------------- findings


def score_of(counts: dict[str, int], settings: Settings) -> float:
    """Each signal fired: its base score at one event, growing with the logarithm of its count to
    base + 10 at ``saturation_count``; the finding: the strongest plus ``combined_bonus`` per other."""
    scores = []
    for signal, number in counts.items():
        base = settings.score_of(signal)
        top = min(100.0, base + 10)
        saturation = settings.saturation_count
        scores.append(grows_with(number, threshold=1, saturation=saturation, low=base, high=top))
    return combined(scores, bonus=settings.combined_bonus)


def remote_sample(session: dict, limit: int) -> str:
    """``THESHIRE\\pgustavo from 172.18.39.5 (NtLmSsp/NTLM, 0x32c5cb5) -> powershell.exe: ...``"""
    image, command_line, _ = session["samples"][0]
    via = "/".join(part for part in (session["logon_process"], session["auth_package"]) if part)
    origin = f" from {session['source_ip']}" if session["source_ip"] else ""
    return (
        f"{session['user']}{origin} ({via}, {session['logon_id']}) -> {basename(image)}: "
        f"{_clip(command_line, limit)} [{session['processes']} processes]"
    )


def finding(settings: Settings, window: Any) -> list[tuple]:
    """The row of a host's window when a signal fired (a list of one), else none."""
    values = window.values
    parts = values["parts"]
    sessions = values["remote_sessions"]
    counts = {signal: parts[signal] for signal in SIGNALS if signal in parts}
    if sessions:
        counts["remote_execution"] = sum(session["processes"] for session in sessions)
    if not counts:
        return []
    signals = [signal for signal in SIGNALS if signal in counts]
    score = score_of(counts, settings)
    samples = values["samples"]
    techniques = set(values["techniques"])
    for signal in signals:
        techniques.update(SIGNALS[signal][1])
    times = [t for t in (values["first_seen"], values["last_seen"]) if t is not None]
    users = set(values["users"])
    for session in sessions:
        times += [session["logon_time"], session["first_process_time"]]
        users.add(session["user"])
        techniques |= remote_techniques([(image, parent) for image, _, parent in session["samples"]])
    metadata = {
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
        "first_seen": min(times).isoformat(),
        "last_seen": max(times).isoformat(),
        "level": level_of(score),
        "signals": signals,
        "mitre": sorted(techniques),
        **counts,
        "users": sorted(user for user in users if user),
        "samples": [f"{signal}: {text}" for signal in signals for text in samples.get(signal, ())],
    }
    if sessions:
        limit = settings.command_line_chars
        metadata["remote_logons"] = [remote_sample(session, limit) for session in sessions]
        metadata["remote_sources"] = sorted({s["source_ip"] for s in sessions if s["source_ip"]})
    return [(window.entity, score, metadata)]


def load(events, conf):
    """Sysmon-hunt findings of ``events`` (an RDD or a DStream of parsed Sysmon and Security
    events, OTRF or Winlogbeat JSON): one row per flagged host and window."""
    settings = Settings.from_conf(conf)
    window = Window(
        size=timedelta(minutes=settings.window_minutes),
        late=timedelta(minutes=settings.late_minutes),
        idle=timedelta(minutes=settings.idle_minutes),
    )
    windows = per_entity(
        events.flatMap(partial(normalised, settings)),
        key="host",
        window=window,
        measures={
            "parts": tally("part"),
            "remote_sessions": remote_sessions(3),
            "samples": signal_samples(settings.samples),
            "users": distinct_values("signal_user", 10),
            "techniques": distinct_values("technique", 20),
            "first_seen": first_seen(flagged_time),
            "last_seen": last_seen(flagged_time),
        },
        name="sysmon-hunt",
        when={"parts": can_be_finding},
    )
    return windows.flatMap(partial(finding, settings))
