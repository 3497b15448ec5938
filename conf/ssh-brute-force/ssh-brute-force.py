"""SSH Brute Force: password guessing, user enumeration, pre-auth floods and the login that follows.

Each OpenSSH syslog line (``format = syslog``: RFC 3164 with or without ``<PRI>``, RFC 5424,
rsyslog's and journalctl's ISO times) is classified by the message table ``MESSAGES`` into one
kind of sshd event with its source address, user name and port. Per source address two windowings
count them:

* a short window (``fast_window_minutes``) finds fast brute force (many failed logins), user
  enumeration (many user names), pre-auth floods (many connections that end before
  authentication) and a login that follows failures (the likely compromise);
* a long window (``slow_window_hours``) finds slow brute force: many failed logins spread so thin
  that no short window reached its threshold; and a login that follows them.

A finding is one row per source address and window, scored on ``datashark.detect.severity``'s
0-100 scale: each signal that fired has a score, and ``combined`` takes the strongest plus 5
for each other. Everything the windows read is a plain field of the event, so the saved state of
a stream keeps its shape across restarts.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta, timezone
from typing import Any

from pyspark import StorageLevel

from datashark.detect.measures import (
    distinct,
    distinct_values,
    first_seen,
    largest,
    last_seen,
    smallest,
    tally,
    top,
    total,
)
from datashark.detect.severity import combined, grows_with
from datashark.detect.sketches import approx_distinct
from datashark.detect.windows import Window, per_entity

DEFAULTS: dict[str, Any] = {
    "fast_window_minutes": 10,
    "fast_failures": 10,
    "enumeration_users": 5,
    "preauth_connections": 20,
    "success_min_failures": 5,
    "slow_window_hours": 24,
    "slow_failures": 10,
    "late_minutes": 2,
    "idle_minutes": 5,
    "ignore_sources": "",
    "max_repeat": 1000,
}

MITRE = {
    "fast_brute_force": ["T1110.001"],
    "slow_brute_force": ["T1110.001"],
    "user_enumeration": ["T1110.003", "T1087"],
    "preauth_flood": ["T1046"],
    "success_after_failures": ["T1110", "T1078"],
}

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# ----------------------------------------------------------------------------- classifying lines

_PORT = r"(?: port (?P<port>\d+))?"
_FROM = r" from (?P<src>\S+)" + _PORT
# "for [invalid user ]USER from ADDRESS port N ssh2[: KEY-INFO]": the user name is the client's text
# and may itself hold " from <address> port <n>"; ``user_and_source`` finds the address sshd wrote.
_FOR = r" for (?:(?P<invalid>invalid user|illegal user) )?(?P<rest>.*)$"
# An authenticating connection ended: "... user USER ADDRESS port N[: reason] [preauth]" (the last
# "ADDRESS port N" of the line is sshd's, whatever the user name holds).
_ENDED_USER = (
    r"(?:invalid|authenticating) user (?P<user>.*) (?P<src>\S+) port (?P<port>\d+)"
    r"(?::.*?)?(?: \[preauth\])?\s*$"
)

# (kind, regex) tried in order against the message (its "error:"/"fatal:" and Solaris "[ID n
# auth.info]" prefixes removed); the first that matches decides. Named groups: src (or rest, split by
# ``user_and_source``), user, port, invalid, method, preauth, reason, count.
MESSAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(regex))
    for kind, regex in (
        ("failure", r"Failed (?P<method>\S+)" + _FOR),
        ("max_tries", r"maximum authentication attempts exceeded" + _FOR),
        ("login", r"Accepted (?P<method>\S+)" + _FOR),
        ("failure", r"ROOT LOGIN REFUSED FROM (?P<src>\S+?)" + _PORT + r"(?: \[preauth\])?\s*$"),
        ("invalid_user", r"Invalid user (?P<user>.*?)" + _FROM + r"\s*$"),
        ("invalid_user", r"User (?P<user>\S+)" + _FROM + r" not allowed because"),
        (
            "pam_failure",
            r"(?:pam_\w+\(sshd:auth\): )?authentication failure; .*?\brhost=(?P<src>\S*)"
            r"(?:\s+user=(?P<user>\S+))?",
        ),
        (
            "pam_failure",
            r"PAM (?P<count>\d+) more authentication failures?; .*?\brhost=(?P<src>\S*)"
            r"(?:\s+user=(?P<user>\S+))?",
        ),
        (
            "pam_failure",
            r"PAM: (?:[Aa]uthentication (?:failure|error)|User not known to the underlying authentication "
            r"module) for (?:(?P<invalid>illegal user|invalid user) )?(?P<user>.*) from (?P<src>\S+)"
            r"(?: via \S+)?\s*$",
        ),
        (
            "preauth",
            r"(?:Disconnected from|Connection closed by|Connection reset by|Disconnecting) " + _ENDED_USER,
        ),
        ("logout", r"Disconnected from user (?P<user>.*?) (?P<src>\S+) port (?P<port>\d+)\s*$"),
        ("preauth", r"Disconnected from (?P<src>[0-9A-Fa-f.:]+) port (?P<port>\d+)(?: \[preauth\])?\s*$"),
        (
            "received_disconnect",
            r"Received disconnect from (?P<src>\S+?)(?: port (?P<port>\d+))?: ?\d+: "
            r"(?P<reason>.*?)(?P<preauth> \[preauth\])?\s*$",
        ),
        ("handshake", r"Unable to negotiate with (?P<src>\S+?)" + _PORT + r": "),
        ("handshake", r"Did not receive identification string" + _FROM),
        ("handshake", r"Bad protocol version identification .* from (?P<src>\S+)" + _PORT + r"\s*$"),
        ("handshake", r"banner exchange: Connection from (?P<src>\S+) port (?P<port>\d+)"),
        ("handshake", r"Protocol major versions differ for (?P<src>\S+)" + _PORT),
        (
            "handshake",
            r"ssh_dispatch_run_fatal: Connection from (?P<src>\S+) port (?P<port>\d+): .*\[preauth\]",
        ),
        ("handshake", r"Timeout before authentication for (?:connection from )?(?P<src>[^\s,]+)" + _PORT),
        # OpenSSH 9.8+: a connection refused for the source's penalty or past MaxStartups.
        ("handshake", r"drop connection #\d+ from \[(?P<src>[^\]]+)\]:(?P<port>\d+) on "),
        # TCP wrappers (libwrap): "refused connect from NAME (ADDRESS)".
        ("handshake", r"refused connect from (?:\S+ )?\((?P<src>[^)\s]+)\)\s*$"),
        ("handshake", r"Magic value check failed \(\d+\) on obfuscated handshake" + _FROM),
        # Without a port and "[preauth]" (OpenSSH before 7) this ends an authenticated session too.
        ("handshake", r"Connection (?:closed|reset) by (?P<src>\S+) port (?P<port>\d+)(?: \[preauth\])?\s*$"),
        ("handshake", r"Connection (?:closed|reset) by (?P<src>\S+) \[preauth\]\s*$"),
        ("break_in", r"reverse mapping checking getaddrinfo for \S+ \[(?P<src>[^\]]+)\] failed"),
        ("break_in", r"Address (?P<src>\S+) maps to \S+, but this does not map back"),
    )
)
_LEVEL = re.compile(r"(?:\[ID \d+ [\w.]+\] )?(?:(?:error|fatal|warning|info|notice): )?")
_REPEATED = re.compile(r"message repeated (\d+) times: \[ ?(.*?)\]\s*$")
# After " from ": the address, its port, the protocol, and what follows them.
_SOURCE = re.compile(r"(?P<src>[^\s\[\]]+)(?: port (?P<port>\d+))?(?: ssh[12]?)?(?P<tail>.*)$")
# What sshd writes after "ssh2": nothing, " [preauth]", or a key's type and fingerprint.
_CLEAN_TAIL = re.compile(r"(?:\s*\[preauth\])?\s*$|: [\w@.-]+ (?:SHA256:|MD5:|[0-9a-f]{2}:)")
# Methods that do not guess a secret: "none" asks which methods the server offers.
NO_SECRET = {"none"}
# Methods of a login that PAM's auth stack checked (its failures of other modules come with it).
PAM_METHODS = ("password", "keyboard-interactive")


def user_and_source(rest: str) -> tuple[str, str, str | None]:
    """(user, source, port) of ``USER from ADDRESS port N ssh2[: info]``: of the places " from "
    could end the user name, the first whose address has a port and is followed by what sshd
    writes there; else the first with a port; else the first (old lines without a port)."""
    candidates = []
    start = 0
    while True:
        at = rest.find(" from ", start)
        if at < 0:
            break
        found = _SOURCE.match(rest, at + 6)
        if found is not None and found["src"]:
            candidates.append((rest[:at], found))
        start = at + 1
    if not candidates:
        return rest, "", None
    ranked = sorted(
        candidates,
        key=lambda item: (item[1]["port"] is None, _CLEAN_TAIL.match(item[1]["tail"]) is None),
    )
    user, found = ranked[0]
    return user, found["src"], found["port"]


def is_sshd(program: Any, message: str) -> bool:
    """True for lines of OpenSSH's daemon: ``sshd``, ``sshd-session`` and ``sshd-auth`` (OpenSSH
    9.8+), ``sshd(pam_unix)`` (old Red Hat), or a PAM line naming the ``sshd`` service."""
    if isinstance(program, str) and program.startswith("sshd"):
        return True
    return "(sshd:auth)" in message


def source_address(text: str | None) -> str | None:
    """The source as an entity: an IPv4-mapped IPv6 address as IPv4, brackets removed; None when empty."""
    if not text:
        return None
    text = text.strip("[]")
    if text.lower().startswith("::ffff:") and "." in text:
        text = text[7:]
    if text.startswith("user=") or text in ("UNKNOWN", "unknown"):
        return None
    return text


def classify(message: str) -> dict[str, Any] | None:
    """The sshd event of one message: ``{"kind", "src", "user", "port", "method", "invalid",
    "repeat"}``, or None for a message naming no source address (or none of these kinds).

    ``repeat`` is N for rsyslog's ``message repeated N times: [ ... ]``, whose inner message is
    the one classified (and for PAM's ``PAM N more authentication failures``); else 1.
    ``received_disconnect`` becomes ``preauth`` when it ends in ``[preauth]`` or names a failed
    authentication, ``logout`` when the user disconnected, and is dropped otherwise. A failure of
    a method that guesses no secret (``none``) is a ``method_query``, and a failed public key of
    an existing user a ``key_failure`` (clients offer each key of their agent in turn): both name
    the user tried but are no failed login.
    """
    repeat = 1
    repeated = _REPEATED.match(message)
    if repeated:
        repeat, message = int(repeated[1]), repeated[2]
    message = message[_LEVEL.match(message).end() :]  # type: ignore[union-attr]
    for kind, regex in MESSAGES:
        match = regex.match(message)
        if match is None:
            continue
        fields = match.groupdict()
        if fields.get("rest") is not None:
            fields["user"], fields["src"], fields["port"] = user_and_source(fields["rest"])
        src = source_address(fields.get("src"))
        if src is None:
            return None
        if kind == "received_disconnect":
            reason = fields.get("reason") or ""
            if fields.get("preauth") or re.search(r"\bauth", reason, re.IGNORECASE):
                kind = "preauth"
            elif "disconnected by user" in reason:
                kind = "logout"
            else:
                return None
        invalid = bool(fields.get("invalid")) or kind == "invalid_user"
        user = fields.get("user")
        if user == "<invalid username>":
            user, invalid = None, True
        method = fields.get("method")
        if kind == "failure" and method in NO_SECRET:
            kind = "method_query"
        elif kind == "failure" and method == "publickey" and not invalid:
            kind = "key_failure"
        if fields.get("count"):
            repeat *= int(fields["count"])
        port = fields.get("port")
        return {
            "kind": kind,
            "src": src,
            "user": user,
            "port": int(port) if port else None,
            "method": method,
            "invalid": invalid,
            "repeat": repeat,
        }
    return None


# ----------------------------------------------------------------------------- events for windows


def bucket_of(when: datetime, size: timedelta) -> int:
    """The start (seconds since the epoch) of the epoch-aligned window of ``size`` holding ``when``."""
    seconds = int(size.total_seconds())
    return int((when - EPOCH).total_seconds()) // seconds * seconds


def sshd_events(event: Any, fast: timedelta, max_repeat: int) -> list[dict[str, Any]]:
    """flatMap: the windowed events of one parsed syslog event, as flat fields the measures read
    by name (one of each per counted kind: ``failure``, ``pam_failure``... 1 or None); a repeated
    message is that many events. Nothing for lines of other programs or without a source."""
    if not isinstance(event, dict) or not isinstance(event.get("message"), str):
        return []
    message = event["message"]
    if not is_sshd(event.get("program"), message):
        return []
    found = classify(message)
    if found is None:
        return []
    kind, when = found["kind"], event.get("@timestamp")
    if not isinstance(when, datetime):
        return []
    bucket = bucket_of(when, fast)
    user = found["user"]
    out = {
        "@timestamp": when,
        "src": found["src"],
        "host": event.get("host"),
        "port": found["port"],
        "kind": kind,
        "invalid_user": user if found["invalid"] else None,
        # user names tried: not those of logins and logouts
        "user": user if kind not in ("login", "logout", "break_in") else None,
        # names sshd saw tried: PAM's modules write a failure for every directory user's login too
        "tried_user": user if kind not in ("login", "logout", "break_in", "pam_failure") else None,
        "login_user": f"{user} ({found['method']})" if kind == "login" else None,
        "pam_login": 1 if kind == "login" and str(found["method"]).startswith(PAM_METHODS) else None,
        "failure_time": when if kind == "failure" else None,
        "pam_failure_time": when if kind == "pam_failure" else None,
        "login_time": when if kind == "login" else None,
        "failure_bucket": bucket if kind == "failure" else None,
        "pam_failure_bucket": bucket if kind == "pam_failure" else None,
    }
    return [out] * max(1, min(found["repeat"], max_repeat))


def ignored(networks: list, src: str) -> bool:
    """True when ``src`` is one of ``ignore_sources`` (an address in one of the networks, or the
    same host name)."""
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(src)
    except ValueError:
        return src in {str(net) for net in networks if isinstance(net, str)}
    return any(not isinstance(net, str) and address in net for net in networks)


def parse_networks(text: str) -> list:
    """``ignore_sources``: comma- or space-separated addresses, CIDR networks or host names."""
    networks: list = []
    for item in re.split(r"[,\s]+", text or ""):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            networks.append(item)
    return networks


# ----------------------------------------------------------------------------- scoring


# The kinds of sshd event a window counts, by the name its count has in a finding.
COUNTED_KINDS = {
    "failed_logins": "failure",
    "pam_failures": "pam_failure",
    "max_tries_exceeded": "max_tries",
    "key_failures": "key_failure",
    "handshake_failures": "handshake",
    "preauth_disconnects": "preauth",
    "logins": "login",
    "logouts": "logout",
    "break_in_warnings": "break_in",
}


def measures(with_peak: bool) -> dict[str, Any]:
    """What each window counts per source address."""
    found: dict[str, Any] = {
        "kinds": tally("kind"),  # events of each kind: see counted()
        "pam_logins": total("pam_login"),
        "invalid_users": distinct("invalid_user"),
        "users": approx_distinct("tried_user"),
        "user_names": distinct_values("user", 10),
        "login_users": distinct_values("login_user", 5),
        "ports": distinct_values("port", 5),
        "target_hosts": distinct_values("host", 5),
        "first_failure": smallest("failure_time"),
        "first_pam_failure": smallest("pam_failure_time"),
        "last_login": largest("login_time"),
        "first_seen": first_seen(),
        "last_seen": last_seen(),
    }
    if with_peak:
        found["failure_peak"] = top("failure_bucket", 1)
        found["pam_failure_peak"] = top("pam_failure_bucket", 1)
    return found


def counted(values: dict[str, Any]) -> dict[str, Any]:
    """A window's values with the tally of kinds as one count per kind (``failed_logins``...)."""
    out = {name: value for name, value in values.items() if name != "kinds"}
    kinds = values.get("kinds") or {}
    out.update({name: kinds.get(kind, 0) for name, kind in COUNTED_KINDS.items()})
    return out


def failures_of(values: dict[str, Any]) -> int:
    """Failed authentications: sshd's ``Failed ...`` lines or PAM's ``authentication failure``
    lines, whichever counted more (a log may hold either or both of one attempt). PAM failures
    as many as the window's password logins are not counted: with stacked modules (pam_unix then
    pam_sss or pam_ldap) each directory user's login writes pam_unix's failure before succeeding."""
    pam = (values["pam_failures"] or 0) - (values.get("pam_logins") or 0)
    return int(max(values["failed_logins"] or 0, pam, 0))


def login_followed_failures(values: dict[str, Any]) -> bool:
    """True when the window's last accepted login came after its first failure."""
    firsts = [t for t in (values["first_failure"], values["first_pam_failure"]) if t is not None]
    return values["last_login"] is not None and bool(firsts) and values["last_login"] > min(firsts)


def peak_of(values: dict[str, Any]) -> int:
    """The most failures one short window of the long one held (0 when none)."""
    peaks = [values.get(name) or [] for name in ("failure_peak", "pam_failure_peak")]
    return max((peak[0][1] for peak in peaks if peak), default=0)


def signals(values: dict[str, Any], kind: str, settings: dict[str, Any]) -> dict[str, float]:
    """The signals a window fired, each with its score on severity.py's scale."""
    failures = failures_of(values)
    fired: dict[str, float] = {}
    if kind == "fast":
        threshold = settings["fast_failures"]
        if failures >= threshold:
            fired["fast_brute_force"] = grows_with(
                failures, threshold=threshold, saturation=threshold * 50, low=45, high=75
            )
        users = settings["enumeration_users"]
        if values["users"] >= users:
            fired["user_enumeration"] = grows_with(
                values["users"], threshold=users, saturation=users * 20, low=45, high=75
            )
        preauth = values["handshake_failures"] + values["preauth_disconnects"]
        if preauth >= settings["preauth_connections"] and "fast_brute_force" not in fired:
            fired["preauth_flood"] = grows_with(
                preauth,
                threshold=settings["preauth_connections"],
                saturation=settings["preauth_connections"] * 50,
                low=25,
                high=55,
            )
        least = settings["success_min_failures"]
    else:
        threshold = settings["slow_failures"]
        if failures < threshold or peak_of(values) >= settings["fast_failures"]:
            return {}  # not slow: too few, or a short window already reported it
        fired["slow_brute_force"] = grows_with(
            failures, threshold=threshold, saturation=threshold * 50, low=40, high=70
        )
        least = threshold
    if failures >= least and login_followed_failures(values):
        fired["success_after_failures"] = grows_with(
            failures, threshold=least, saturation=least * 100, low=85, high=100
        )
    return fired


def finding(window: Any, kind: str, settings: dict[str, Any]) -> list[tuple[str, float, dict[str, Any]]]:
    """flatMap: the row of a window that fired a signal, none otherwise."""
    values = counted(window.values)
    fired = signals(values, kind, settings)
    if not fired:
        return []
    names = sorted(fired, key=lambda name: (-fired[name], name))
    metadata = window.metadata()
    for name in (
        "kinds",
        "failure_peak",
        "pam_failure_peak",
        "first_failure",
        "first_pam_failure",
        "last_login",
    ):
        metadata.pop(name, None)
    metadata.update({name: values[name] for name in COUNTED_KINDS})
    metadata.update(
        {
            "window": kind,
            "failures": failures_of(values),
            "signals": names,
            "mitre": sorted({technique for name in names for technique in MITRE[name]}),
            "user_names": " ".join(map(str, values["user_names"])),
            "login_users": " ".join(map(str, values["login_users"])),
            "ports": " ".join(map(str, values["ports"])),
            "target_hosts": " ".join(map(str, values["target_hosts"])),
        }
    )
    return [(window.entity, combined(fired.values()), metadata)]


# ----------------------------------------------------------------------------- load


def settings_of(conf: Any) -> dict[str, Any]:
    """The tuning keys, with their defaults: numbers as numbers."""
    conf = conf or {}
    out: dict[str, Any] = {}
    for key, default in DEFAULTS.items():
        value = conf.get(key, default)
        out[key] = value if isinstance(default, str) else type(default)(float(value))
    return out


# The counts a short window's signals need at least one of (see signals()).
FAST_THRESHOLDS = ("fast_failures", "enumeration_users", "preauth_connections", "success_min_failures")


def at_least(events: int):
    """A ``when`` test of a window's tally of kinds: at least ``events`` sshd events."""
    return lambda kinds: sum(kinds.values()) >= events


def keep(networks: list, event: dict[str, Any]) -> bool:
    return not ignored(networks, event["src"])


# The lookup (``[lookups]``) of more sources never reported: a list kept in a file (one a line),
# on HDFS or in Elasticsearch, read again while a stream runs (its ``refresh``).
IGNORED_LOOKUP = "ignore_sources"


def not_ignored_by_lookup(lookups, events):
    """``mapPartitions``: the events whose source is not in the ``ignore_sources`` lookup, its
    addresses, networks and names parsed once a partition (a set, or the keys of a keyed lookup)."""
    networks = parse_networks(" ".join(str(item) for item in lookups[IGNORED_LOOKUP]))
    return (event for event in events if not ignored(networks, event["src"]))


def load(events, conf, lookups):
    """The findings of ``events`` (an RDD in a batch run, a DStream in a stream)."""
    settings = settings_of(conf)
    fast = timedelta(minutes=settings["fast_window_minutes"])
    slow = timedelta(hours=settings["slow_window_hours"])
    late = timedelta(minutes=settings["late_minutes"])
    idle = timedelta(minutes=settings["idle_minutes"])
    networks = parse_networks(settings["ignore_sources"])
    max_repeat = settings["max_repeat"]

    sshd = events.flatMap(lambda event: sshd_events(event, fast, max_repeat))
    if networks:
        sshd = sshd.filter(lambda event: keep(networks, event))
    if IGNORED_LOOKUP in lookups:  # shipped with each batch's tasks: the list as of that batch
        sshd = sshd.mapPartitions(lambda partition: not_ignored_by_lookup(lookups, partition))
    sshd = sshd.persist(StorageLevel.MEMORY_AND_DISK)  # two windowings read it: parse each line once

    def rows(kind: str, window: Window, least: int):
        """The findings of one windowing; ``least`` sshd events in a window, else it is none."""
        found = per_entity(
            sshd,
            key="src",
            window=window,
            measures=measures(with_peak=kind == "slow"),
            name=f"ssh-{kind}",
            when={"kinds": at_least(least)},
        )
        return found.flatMap(lambda result: finding(result, kind, settings))

    fast_least = min(settings[key] for key in FAST_THRESHOLDS)
    fast_rows = rows("fast", Window(size=fast, late=late, idle=idle), fast_least)
    slow_rows = rows("slow", Window(size=slow, late=late, idle=idle), settings["slow_failures"])
    return fast_rows.union(slow_rows)
