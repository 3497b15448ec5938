"""Web attacks per client address and window, from Apache and nginx access logs.

Each request's target (path and query) is read as the server logged it, URL-decoded once and
twice and with HTML entities resolved, and matched against the signatures of SQL injection,
cross-site scripting, path traversal, remote file inclusion and sensitive-file probing; the
target, user agent, referrer and X-Forwarded-For against Log4Shell's JNDI lookups (obfuscated
ones resolved) and Shellshock's function definitions; the user agent against attack tools'
names. Behind trusted proxies, the client can be read from X-Forwarded-For. Per client address
and window, the categories seen and the number of distinct paths answered 404 make one finding,
scored on datashark/detect/severity.py's scale. See README.md for the categories, the score and
the tuning keys.
"""

from __future__ import annotations

import html
import ipaddress
import re
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, unquote_plus

from datashark.detect.measures import count, distinct_values, first_seen, last_seen, total
from datashark.detect.memo import remembered
from datashark.detect.severity import combined, grows_with, level_of
from datashark.detect.sketches import approx_distinct
from datashark.detect.windows import Window, per_entity

# ----------------------------------------------------------------------------- signatures

# Each signature is matched, case-insensitively, against every decoded form of the request
# target (see decoded_forms); SQL comments /**/ are read as spaces first.
SQL_INJECTION = re.compile(
    r"\bunion(?:\s+all|\s+distinct)?\s+select\s+(?:null\b|\d|0x|@@|concat|char\s*\(|group_concat|\(|'|\"|\*)"
    r"|\bunion(?:\s+all)?\s+select\b.{0,200}\bfrom\b.{0,200}(?:--|#|/\*|;)"
    r"|['\"]\s*\)*\s*(?:or|and|\|\||&&)\s+\(*\s*['\"]?[\w'\"]+\s*['\")]?\s*(?:=|<|>|\blike\b)"
    r"|\b(?:or|and)\s+(\d+)\s*=\s*\1\b"
    r"|'\s*(?:--(?:[\s+-]|$)|#|/\*)|\"\s*(?:--(?:[\s+-]|$)|/\*)"
    r"|['\")\d]\s*;\s*(?:drop\s+(?:table|database)|insert\s+into|update\s+\w+\s+set|delete\s+from|"
    r"truncate\s+table|exec(?:ute)?\s+(?:master\.|xp_|sp_)|declare\s+@|shutdown\b|alter\s+table|"
    r"create\s+(?:table|user))"
    r"|\b(?:sleep|benchmark|pg_sleep|extractvalue|updatexml|load_file|sys_eval|xp_cmdshell)\s*\("
    r"|\bwaitfor\s+delay\s+'"
    r"|\binformation_schema\b|@@version\b|\binto\s+(?:out|dump)file\b"
    r"|\b(?:and|or)\s+\(?\s*select\b.{0,100}\bfrom\b"
    r"|\bconcat(?:_ws)?\s*\(\s*0x[0-9a-f]+",
    re.IGNORECASE | re.DOTALL,
)
EVENT_HANDLERS = (
    r"error|load|unload|mouse\w*|focus\w*|blur|click|dblclick|key\w+|submit|change|input|toggle|"
    r"begin|end|pointer\w+|animation\w+|transition\w+|start|finish|wheel|scroll|drag\w*|drop|"
    r"pageshow|hashchange|message|resize|select|copy|paste|cut|contextmenu|auxclick|beforeprint"
)
CROSS_SITE_SCRIPTING = re.compile(
    r"<\s*/?\s*(?:script|svg|iframe|frame|frameset|object|embed|applet|meta|base|form|isindex|math|details|marquee)\b"
    r"|<\s*(?:img|body|video|audio|input|a|div|style|link|xss)\b[^>]*\bon(?:" + EVENT_HANDLERS + r")\s*="
    r"|[\s\"'/;]on(?:" + EVENT_HANDLERS + r")\s*=\s*[\w\"'`(]"
    r"|(?:java|vb|live)script\s*:"
    r"|\bdocument\s*\.\s*(?:cookie|domain|write)\b|\bwindow\s*\.\s*location\b"
    r"|\b(?:alert|prompt|confirm)(?:\(|`)"
    r"|\bstring\s*\.\s*fromcharcode\b|\beval\(|\bexpression\(|\bsrcdoc\s*=",
    re.IGNORECASE,
)
# Browsers never percent-encode a dot (an unreserved character) and resolve `../` before they
# send a path: a `..` with an encoded dot next to a separator is an evasion, even once.
PATH_TRAVERSAL = re.compile(
    r"(?:\.\.[/\\]){2,}"
    r"|(?:^|[/\\=])\.\.[/\\]+(?:etc|proc|windows|winnt|boot\.ini|var|usr|root|home|tmp)\b"
    r"|(?:%c0%ae|%c0%af|%c1%9c|%e0%80%ae|%u2216|%uff0e|\.%00)"
    r"|(?:%(?:25)?2e%(?:25)?2e|\.%(?:25)?2e|%(?:25)?2e\.)(?:[/\\]|%(?:25)?(?:2f|5c))",
    re.IGNORECASE,
)
# Parameters whose value is where a page is included from; a remote URL in one of these, a
# remote URL cut with "?" or "%00", or a PHP stream wrapper, is an inclusion attempt. Redirect
# parameters (next, url, return...) are left alone: they hold URLs by design.
INCLUDE_PARAMETERS = (
    "page|file|filename|include|inc|incl|path|template|tpl|dir|document|doc|folder|root|pg|style|"
    "layout|module|mod|load|show|cat|content|lang|language|view|conf|config|mosconfig_absolute_path|"
    "abspath|basepath|gallery|skin|theme|plugin"
)
REMOTE_FILE_INCLUSION = re.compile(
    r"(?:^|[?&;])(?:" + INCLUDE_PARAMETERS + r")(?:\[\])?=\s*(?:https?|ftps?)://"
    r"(?:\d{1,3}(?:\.\d{1,3}){3}(?:[:/?]|$)"
    r"|[^&\s]*?\.(?:txt|php\d?|phtml|inc|sh|pl|py|cgi|jpe?g\?|gif\?|png\?)(?:[?&\s]|$))"
    r"|=\s*(?:https?|ftps?)://[^&\s]*(?:\?|%00|\x00)\s*(?:&|$)"
    r"|=\s*(?:php://(?:input|filter|fd|memory|temp)|expect://|phar://|zip://|data://|glob://|file://)"
    r"|=\s*data:[\w/+.-]*;base64,",
    re.IGNORECASE | re.MULTILINE,
)
BACKUP_NAMES = (
    r"backup|backups|bak|site|www|wwwroot|web|website|html|public_html|htdocs|home|db|database|dump|"
    r"data|sql|mysql|old|new|test|archive|src|source|app|admin|wordpress|wp|localhost|[\w-]+\.(?:com|net|org)"
)
SENSITIVE_FILE = re.compile(
    r"/\.env(?:\.[\w-]+)?(?:$|[/?#;])"
    r"|/\.(?:git|svn|hg|bzr|cvs)(?:/|$|\?)|/\.gitconfig\b|/\.ds_store\b|/\.htaccess\b|/\.htpasswd\b"
    r"|/\.(?:aws|ssh|docker|kube|npmrc|bash_history|mysql_history|vscode|idea)\b|/id_[rd]sa\b"
    r"|wp-config\.php|/etc/(?:passwd|shadow|group|hosts|issue|sudoers)\b|/proc/self/|/proc/version\b"
    r"|\b(?:win|boot|system)\.ini\b|/web\.config\b|\bphpinfo\b|/info\.php\b"
    r"|/server-(?:status|info)\b|/(?:phpmyadmin|pma|adminer)[\d.-]*(?:/|\.php|$)",
    re.IGNORECASE | re.MULTILINE,
)
# Backups and editor copies, matched on the path only (a query value "john.old" is no backup).
BACKUP_FILE = re.compile(
    r"/(?:" + BACKUP_NAMES + r")\.(?:zip|rar|7z|tar|tgz|tar\.gz|tar\.bz2|gz|sql|sql\.gz|bak|old|dump)$"
    r"|\.(?:sql|sql\.gz|sql\.zip|bak|old|orig|save|swp|swo)$|~$"
    r"|\.(?:php\d?|asp|aspx|jsp|conf|config|ini|inc|ya?ml|json)\.(?:bak|old|orig|save|swp|swo|dist|back|backup|copy|tmp|\d)$",
    re.IGNORECASE | re.MULTILINE,
)
SCANNER_AGENT = re.compile(
    r"\b(nikto|sqlmap|masscan|zgrab|nuclei|nmap|dirbuster|gobuster|dirb|wpscan|ffuf|feroxbuster|wfuzz|"
    r"acunetix|netsparker|nessus|openvas|w3af|arachni|havij|zmeu|morfeus|jorgee|fimap|commix|whatweb|"
    r"skipfish|webinspect|appscan|burpcollaborator|qualys|nsfocus|xsstrike|joomscan|droopescan|"
    r"hydra|medusa|paros|webshag|uniscan|vega|zap)\b",
    re.IGNORECASE,
)
# Only the tools themselves: "vega" and "zap" are common words, read only as "Vega/" or "ZAP/".
AMBIGUOUS_AGENTS = {"vega": re.compile(r"\bvega/", re.I), "zap": re.compile(r"\b(?:owasp[ _-]?)?zap/", re.I)}

# Log4Shell (CVE-2021-44228): a Log4j lookup `${jndi:...}` anywhere Log4j may log it. Exploits hide
# the word in nested lookups that Log4j resolves before the JNDI one: `${${lower:j}ndi:`,
# `${${::-j}${::-n}${::-d}${::-i}:`, `${${env:NaN:-j}ndi`, `${${date:'j'}ndi:`; see jndi_lookup.
INNERMOST_LOOKUP = re.compile(r"\$\{([^${}]*)\}")
JNDI_LOOKUP = re.compile(r"\$\{\s*jndi\s*:", re.IGNORECASE)
JNDI_BODY = re.compile(r"\s*jndi\s*:", re.IGNORECASE)
CASE_LOOKUPS = ("lower", "upper")
LOOKUP_ROUNDS = 10  # nesting depth resolved; real payloads nest two or three deep
# Shellshock (CVE-2014-6271 and its follow-ups): bash imports an environment variable whose value
# starts with `() {` as a function, and runs what follows its body. CGI puts headers and the
# query in the environment: `() { :; }; /bin/cat /etc/passwd`, `() { _; } >_[$($())] { id; }`,
# `() { (a)=>\` (CVE-2014-7169). A function call `f() {`, `function () {` or `$() {` is no
# function definition to bash's import and is left alone.
SHELLSHOCK = re.compile(r"(?<![\w$\])])(?<!function )\(\s*\)\s*\{\s*(?:[^{}]{0,100}?;|\(\w*\)\s*=)")

SQL_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
IIS_UNICODE = re.compile(r"%u([0-9a-fA-F]{4})")
APACHE_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")

# The categories a request can fall in, as they appear in a finding's `signals`.
TARGET_SIGNATURES = (
    ("sql_injection", SQL_INJECTION),
    ("xss", CROSS_SITE_SCRIPTING),
    ("path_traversal", PATH_TRAVERSAL),
    ("remote_file_inclusion", REMOTE_FILE_INCLUSION),
    ("sensitive_file", SENSITIVE_FILE),
)
LOG4SHELL = "log4shell"
SHELLSHOCK_CATEGORY = "shellshock"
# The categories matched in the request headers the log keeps (user agent, referrer,
# X-Forwarded-For) as well as in the target: Log4j and CGI read headers.
HEADER_CATEGORIES = (LOG4SHELL, SHELLSHOCK_CATEGORY)
SCANNER = "scanner_agent"
NOT_FOUND_FLOOD = "not_found_flood"
CATEGORIES = (*HEADER_CATEGORIES, *(name for name, _ in TARGET_SIGNATURES), SCANNER, NOT_FOUND_FLOOD)

# MITRE ATT&CK: T1190 Exploit Public-Facing Application (Log4Shell, Shellshock, injection,
# traversal, inclusion), T1059.004 Unix Shell (Shellshock's commands), T1595.002 Active Scanning:
# Vulnerability Scanning, T1595.003 Wordlist Scanning, T1083 File and Directory Discovery
# (sensitive files), T1059.007 JavaScript (XSS payloads).
MITRE = {
    LOG4SHELL: ["T1190"],
    SHELLSHOCK_CATEGORY: ["T1190", "T1059.004"],
    "sql_injection": ["T1190"],
    "xss": ["T1190", "T1059.007"],
    "path_traversal": ["T1190", "T1083"],
    "remote_file_inclusion": ["T1190"],
    "sensitive_file": ["T1595.003", "T1083"],
    SCANNER: ["T1595.002"],
    NOT_FOUND_FLOOD: ["T1595.003"],
}

# Default base scores per category (conf keys score_<category>), on severity.py's scale.
BASE_SCORES = {
    LOG4SHELL: 75.0,
    SHELLSHOCK_CATEGORY: 75.0,
    "sql_injection": 70.0,
    "remote_file_inclusion": 70.0,
    "path_traversal": 65.0,
    "xss": 60.0,
    "sensitive_file": 50.0,
    SCANNER: 45.0,
    NOT_FOUND_FLOOD: 30.0,
}
EXTRA_FOR_VOLUME = 10.0  # a category's score grows by up to this much with its request count
VOLUME_SATURATION = 50  # requests of one category at which that growth is complete
FLOOD_SATURATION = 10  # distinct 404 paths, as a multiple of the threshold, scoring base + 20
SAMPLE_LENGTH = 160  # characters of a request target or header kept in `samples`
HEADER_NAMES = {"agent": "User-Agent", "referrer": "Referer", "forwarded_for": "X-Forwarded-For"}

DEFAULTS = {
    "window_minutes": 10,
    "late_minutes": 2,
    "idle_minutes": 5,
    "min_requests": 1,
    "not_found_paths_threshold": 20,
    "samples": 5,
    "combined_bonus": 5.0,
    **{f"score_{name}": score for name, score in BASE_SCORES.items()},
}
# Reading the client from X-Forwarded-For (see client_address): off unless the conf turns it on
# and names the proxies whose word is trusted.
FORWARDED_DEFAULTS = {"client_from_forwarded": "false", "trusted_proxies": ""}
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


# ----------------------------------------------------------------------------- one request


def unescape_logged(text: str) -> str:
    """A field as the client sent it: Apache and nginx write a quote as \\", a backslash as \\\\
    and other bytes as \\xhh."""
    if "\\" not in text:
        return text

    def one(found: re.Match[str]) -> str:
        escape = found.group(1)
        return chr(int(escape[1:], 16)) if len(escape) == 3 else escape

    return APACHE_ESCAPE.sub(one, text)


def request_target(event: dict[str, Any]) -> str | None:
    """The request target (path and query) of a parsed access-log line; for a request line that
    is not `METHOD target HTTP/x` (spaces in the target, junk), its text after the method."""
    target = event.get("request")
    if target is None:
        raw = event.get("rawrequest")
        if not raw or raw == "-":
            return raw or None
        return target_of_request_line(unescape_logged(raw))
    return unescape_logged(target)


def target_of_request_line(line: str) -> str:
    """The target of a request line `METHOD target HTTP/x`; of other text, what follows a
    method, or all of it."""
    parts = line.split(" ", 1)
    target = parts[1] if len(parts) == 2 and parts[0].isalpha() else parts[0]
    if target.endswith((" HTTP/1.0", " HTTP/1.1", " HTTP/2.0", " HTTP/2", " HTTP/3")):
        target = target.rsplit(" ", 1)[0]
    return target


# Field names of JSON access logs (nginx `log_format ... escape=json`, Apache JSON LogFormats)
# for what the grok pattern calls clientip, request, response, agent, referrer, forwarded_for.
JSON_FIELDS = {
    "client": ("remote_addr", "client_ip", "clientip", "remote_ip"),
    "target": ("request_uri",),
    "request_line": ("request",),
    "status": ("status", "response", "status_code"),
    "agent": ("http_user_agent", "user_agent", "agent"),
    "referrer": ("http_referer", "http_referrer", "referer", "referrer"),
    "forwarded_for": ("http_x_forwarded_for", "x_forwarded_for", "forwarded_for"),
    "vhost": ("server_name", "http_host", "vhost"),
}


def json_field(event: dict[str, Any], name: str) -> str | None:
    """The first of ``name``'s JSON field names the event has, as text; None for none or `-`."""
    for field in JSON_FIELDS[name]:
        value = event.get(field)
        if value is not None and value not in ("", "-"):
            return str(value)
    return None


def access_fields(event: dict[str, Any]) -> dict[str, str | None]:
    """The parts of a request this detection reads, from a line parsed by the grok pattern
    (fields `clientip`, `request`...) or from a JSON access log's object."""
    if "rawrequest" in event:
        status = event.get("response")
        return {
            "client": event.get("clientip"),
            "target": request_target(event),
            "status": status,
            "agent": unquoted(event.get("agent")),
            "referrer": unquoted(event.get("referrer")),
            "forwarded_for": unquoted(event.get("forwarded_for")),
            "vhost": event.get("vhost"),
        }
    target = json_field(event, "target")
    if target is None:
        line = json_field(event, "request_line")
        target = target_of_request_line(line) if line else None
    return {
        "client": json_field(event, "client"),
        "target": target,
        "status": json_field(event, "status"),
        "agent": json_field(event, "agent"),
        "referrer": json_field(event, "referrer"),
        "forwarded_for": json_field(event, "forwarded_for"),
        "vhost": json_field(event, "vhost"),
    }


def decoded_forms(target: str) -> str:
    """The target as logged, URL-decoded once, and twice, `+` read as a space, `%uXXXX` (IIS) and
    HTML entities resolved: the distinct forms, one a line, for the signatures to search."""
    forms = [target]
    once = unquote(IIS_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), target), errors="replace")
    for form in (once, unquote_plus(target, errors="replace")):
        if form not in forms:
            forms.append(form)
    twice = unquote_plus(once, errors="replace")
    if twice not in forms:
        forms.append(twice)
    entities = html.unescape(twice) if "&" in twice else twice
    if entities not in forms:
        forms.append(entities)
    return "\n".join(form.replace("\n", " ").replace("\r", " ") for form in forms)


def jndi_lookup(text: str) -> bool:
    """Whether ``text`` holds a Log4j JNDI lookup once Log4j's own lookups are resolved: the
    innermost `${...}` first, `${lower:x}`/`${upper:x}` as x, `${date:'x'}` as x, any
    `${name:-default}` (`${::-j}`, `${env:NaN:-j}`) as its default, other lookups as nothing."""
    if "${" not in text:
        return False
    for _ in range(LOOKUP_ROUNDS):
        if JNDI_LOOKUP.search(text):
            return True
        resolved = INNERMOST_LOOKUP.sub(_resolved_lookup, text)
        if resolved == text:
            return False
        text = resolved
    return bool(JNDI_LOOKUP.search(text))


def _resolved_lookup(found: re.Match[str]) -> str:
    """What Log4j puts in place of one lookup without nested ones; a JNDI lookup stays."""
    body = found.group(1)
    if JNDI_BODY.match(body):
        return found.group(0)
    if ":-" in body:
        return body.split(":-", 1)[1]
    name, _, argument = body.partition(":")
    name = name.strip().lower()
    if name in CASE_LOOKUPS:
        return argument
    if name == "date":
        return argument.strip("'\"")
    return ""


def header_signals(text: str) -> list[str]:
    """The categories matched in requests' headers as well as targets (Log4Shell, Shellshock),
    that ``text`` (decoded forms, one a line) falls in."""
    found = []
    if jndi_lookup(text):
        found.append(LOG4SHELL)
    if SHELLSHOCK.search(text):
        found.append(SHELLSHOCK_CATEGORY)
    return found


def target_signals(target: str | None) -> list[str]:
    """The attack categories a request target falls in (possibly none)."""
    return list(_target_categories(target))


@remembered
def _target_categories(target: str | None) -> tuple[str, ...]:
    """``target_signals``, remembered: pages and assets are requested again and again."""
    if not target or target == "/":
        return ()
    text = decoded_forms(target)
    sql_text = SQL_COMMENT.sub(" ", text) if "/*" in text else text
    found = header_signals(text)
    for name, signature in TARGET_SIGNATURES:
        if signature.search(sql_text if name == "sql_injection" else text):
            found.append(name)
    if "sensitive_file" not in found:
        paths = "\n".join(form.split("?", 1)[0] for form in text.split("\n"))
        if BACKUP_FILE.search(paths):
            found.append("sensitive_file")
    return tuple(found)


@remembered
def scanner_name(agent: str | None) -> str | None:
    """The attack tool a user agent names (lower case), or None."""
    if not agent:
        return None
    for found in SCANNER_AGENT.finditer(agent):
        name = found.group(1).lower()
        if name not in AMBIGUOUS_AGENTS or AMBIGUOUS_AGENTS[name].search(agent):
            return name
    return None


def unquoted(value: Any) -> str | None:
    """A combined-log field without its quotes; None for a missing one or `-`."""
    if not isinstance(value, str):
        return None
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = unescape_logged(value[1:-1])
    return None if value in ("", "-") else value


def path_of(target: str) -> str:
    """The path of a request target, without its query."""
    return target.split("?", 1)[0]


# ----------------------------------------------------------------------------- behind proxies

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def address_of(entry: str) -> str | None:
    """The IP address of one X-Forwarded-For entry (`203.0.113.7`, `203.0.113.7:5123`,
    `2001:db8::7`, `[2001:db8::7]:443`), normalised; None for anything else (`unknown`, a name)."""
    entry = entry.strip().strip('"')
    if entry.startswith("["):
        entry = entry[1:].split("]", 1)[0]
    elif entry.count(":") == 1:
        entry = entry.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(entry))
    except ValueError:
        return None


def is_trusted(address: str | None, proxies: Networks) -> bool:
    """Whether ``address`` is one of the trusted proxies' (False for a name or junk)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str | None, forwarded_for: str | None, proxies: Networks) -> str | None:
    """The client behind the logged peer: when the peer is a trusted proxy, X-Forwarded-For is
    read from its right end (the entry the proxy itself added) leftwards, past further trusted
    proxies, to the first address that is not one. Entries left of it were written by the
    client and are never believed; an entry that is no address stops the walk at the last
    trusted hop. An untrusted peer is the client, whatever its header says."""
    if not proxies or not forwarded_for or not is_trusted(peer, proxies):
        return peer
    client = peer
    for entry in reversed(forwarded_for.split(",")):
        address = address_of(entry)
        if address is None:
            break
        client = address
        if not is_trusted(address, proxies):
            break
    return client


def classify(event: dict[str, Any], proxies: Networks = ()) -> dict[str, Any]:
    """What the windows need of one request: client (behind ``proxies``, from X-Forwarded-For),
    time, status, target, `signals`, the categories it falls in (a scanner agent included), and
    `sample`: `category target` when the target fell in one, else `category Header: value` when
    a header did (a scanner's agent alone is no sample)."""
    fields = access_fields(event)
    target = fields["target"]
    signals = target_signals(target)
    sample = f"{signals[0]} {target[:SAMPLE_LENGTH]}" if signals and target else None
    for header in ("agent", "referrer", "forwarded_for"):
        value = fields[header]
        if not value or not any(mark in value for mark in "($%"):
            continue
        for category in header_signals(decoded_forms(value)):
            if category not in signals:
                signals.append(category)
                sample = sample or f"{category} {HEADER_NAMES[header]}: {value[:SAMPLE_LENGTH]}"
    scanner = scanner_name(fields["agent"])
    if scanner:
        signals.append(SCANNER)
    status = fields["status"]
    peer = fields["client"]
    client = client_address(peer, fields["forwarded_for"], proxies)
    return {
        "client": client,
        "proxy": peer if client != peer else None,
        "@timestamp": event.get("@timestamp"),
        "status": status,
        "target": target,
        "vhost": fields["vhost"],
        "scanner": scanner,
        "signals": signals,
        "sample": sample,
        "not_found_path": path_of(target) if status == "404" and target else None,
    }


def suspicious(request: dict[str, Any]) -> bool:
    """Whether a classified request counts towards a finding: a signal, or a 404."""
    return bool(request["signals"]) or request["not_found_path"] is not None


# ----------------------------------------------------------------------------- per window


def hits(category: str):
    """The measure field counting a window's requests of ``category``."""
    return lambda request: 1 if category in request["signals"] else 0


def is_not_found(request: dict[str, Any]) -> int:
    return 1 if request["not_found_path"] is not None else 0


def sample_of(request: dict[str, Any]) -> str | None:
    """The request's `sample` (see classify)."""
    return request["sample"]


def measures(sample_count: int) -> dict[str, Any]:
    """What is counted per client and window."""
    return {
        "suspicious_requests": count(),
        **{category: total(hits(category)) for category in CATEGORIES if category != NOT_FOUND_FLOOD},
        "not_found": total(is_not_found),
        "not_found_paths": approx_distinct("not_found_path"),
        "first_seen": first_seen(),
        "last_seen": last_seen(),
        "samples": distinct_values(sample_of, sample_count),
        "not_found_samples": distinct_values("not_found_path", sample_count),
        "scanners": distinct_values("scanner", sample_count),
        "vhosts": distinct_values("vhost", sample_count),
        "proxies": distinct_values("proxy", sample_count),
    }


def trusted_proxies(conf: dict[str, Any]) -> Networks:
    """The networks whose X-Forwarded-For is believed: none unless `client_from_forwarded` is
    true, then those of `trusted_proxies` (addresses or CIDRs, comma- or space-separated), which
    must not be empty. One-line error naming the key."""
    switch = str(conf.get("client_from_forwarded", FORWARDED_DEFAULTS["client_from_forwarded"]))
    if switch.strip().lower() in FALSE_WORDS:
        return ()
    if switch.strip().lower() not in TRUE_WORDS:
        raise ValueError(f"conf key 'client_from_forwarded': true or false, not {switch!r}")
    raw = conf.get("trusted_proxies", FORWARDED_DEFAULTS["trusted_proxies"])
    entries = raw if isinstance(raw, (list, tuple)) else str(raw).replace(",", " ").split()
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(f"conf key 'trusted_proxies': not an address or CIDR: {entry!r}") from None
    if not networks:
        raise ValueError("conf key 'trusted_proxies': needed when client_from_forwarded = true")
    return tuple(networks)


def settings(conf: dict[str, Any]) -> dict[str, Any]:
    """The tuning keys, from the conf or their defaults, as numbers; one-line error naming a bad key."""
    values = {}
    for key, default in DEFAULTS.items():
        raw = conf.get(key, default)
        try:
            values[key] = type(default)(raw)
        except (TypeError, ValueError):
            raise ValueError(f"conf key {key!r}: not a number: {raw!r}") from None
        if values[key] < 0:
            raise ValueError(f"conf key {key!r}: must not be negative, not {raw!r}")
    for key in ("window_minutes", "min_requests", "not_found_paths_threshold", "samples"):
        if values[key] < 1:
            raise ValueError(f"conf key {key!r}: must be at least 1, not {values[key]}")
    return values


def category_scores(values: dict[str, Any], tuning: dict[str, Any]) -> dict[str, float]:
    """The score of each category a window's requests fired (0 for the others)."""
    scores = {}
    for category in CATEGORIES:
        base = tuning[f"score_{category}"]
        if category == NOT_FOUND_FLOOD:
            threshold = tuning["not_found_paths_threshold"]
            scores[category] = grows_with(
                values["not_found_paths"],
                threshold=threshold,
                saturation=threshold * FLOOD_SATURATION,
                low=base,
                high=base + 20,
            )
        else:
            threshold = tuning["min_requests"]
            scores[category] = grows_with(
                values[category],
                threshold=threshold,
                saturation=max(VOLUME_SATURATION, threshold * 2),
                low=base,
                high=base + EXTRA_FOR_VOLUME,
            )
    return scores


def finding(window, tuning: dict[str, Any]):
    """The row of one client's window, or None when it fired no category."""
    scores = category_scores(window.values, tuning)
    signals = [category for category in CATEGORIES if scores[category] > 0]
    if not signals:
        return None
    score = combined(scores.values(), bonus=tuning["combined_bonus"])
    metadata = window.metadata()
    metadata["signals"] = " ".join(signals)
    metadata["level"] = level_of(score)
    metadata["mitre"] = sorted({technique for category in signals for technique in MITRE[category]})
    for name in ("samples", "not_found_samples"):
        metadata[name] = " | ".join(metadata[name])
    for name in ("scanners", "vhosts", "proxies"):
        metadata[name] = " ".join(metadata[name])
    return window.entity, score, metadata


def load(events, conf):
    """Findings of `events` (an RDD or a DStream of parsed access-log lines): one per client
    address and window that fired at least one category."""
    tuning = settings(conf)
    proxies = trusted_proxies(conf)
    window = Window(
        size=timedelta(minutes=tuning["window_minutes"]),
        late=timedelta(minutes=tuning["late_minutes"]),
        idle=timedelta(minutes=tuning["idle_minutes"]),
    )
    requests = events.map(lambda event: classify(event, proxies)).filter(suspicious)
    windows = per_entity(
        requests, key="client", window=window, measures=measures(tuning["samples"]), name="web-attacks"
    )
    return windows.map(lambda result: finding(result, tuning)).filter(lambda row: row is not None)
