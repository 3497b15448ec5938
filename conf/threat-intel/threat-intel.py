"""Threat-intelligence matches: events whose addresses, domains, URLs or file hashes are on an
indicator list, reported per entity (the client of the event) and window.

The lists (``indicators``: files or globs, Zeek Intel framework files or one indicator a line) are
read on the driver into ``Indicators``: a Bloom filter of every lookup key, which each value of
the ``match_fields`` is first tested against, and the exact table of the indicators behind each
key, which confirms the Bloom filter's yes. Both are broadcast. In a stream the driver checks
the files' modification times at most every ``reload_seconds`` and, when they changed, reads the
lists again and broadcasts the new ones: the next batch matches against them, without a restart.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from datashark import console
from datashark.detect import driver_objects, severity
from datashark.detect.addresses import canonical_ip
from datashark.detect.measures import count, distinct, distinct_values, first_seen, last_seen, value_of
from datashark.detect.memo import remembered
from datashark.detect.sketches import BloomFilter
from datashark.detect.windows import Window, per_entity
from datashark.errors import ConfigError

FOLDER = Path(__file__).resolve().parent

DEFAULTS = {
    "indicators": "sample/indicators.intel",
    "match_fields": "id.orig_h, id.resp_h, query, answers, host, uri, url, md5, sha1, sha256",
    "entity_field": "id.orig_h, src_ip, source.ip, client_ip, clientip, rx_hosts, src",
    "window_minutes": "60",
    "idle_minutes": "5",
    "reload_seconds": "60",
    "bloom_false_positive_rate": "0.01",
    "samples": "5",
}

# Zeek Intel framework types and the kind of lookup each one gets.
ZEEK_KINDS = {
    "Intel::ADDR": "addr",
    "Intel::SUBNET": "subnet",
    "Intel::DOMAIN": "domain",
    "Intel::URL": "url",
    "Intel::FILE_HASH": "hash",
    "Intel::CERT_HASH": "hash",
    "Intel::PUBKEY_HASH": "hash",
    "Intel::EMAIL": "exact",
    "Intel::USER_NAME": "exact",
    "Intel::FILE_NAME": "exact",
    "Intel::SOFTWARE": "exact",
}
TYPE_OF_KIND = {
    "addr": "Intel::ADDR",
    "subnet": "Intel::SUBNET",
    "domain": "Intel::DOMAIN",
    "url": "Intel::URL",
    "hash": "Intel::FILE_HASH",
}

# Severity of one hit, by the indicator's type (severity.py's 0-100 scale): a known-bad file is
# the strongest sign, a whole network the weakest (it is the least specific).
TYPE_SCORE = {
    "Intel::FILE_HASH": severity.HIGH,
    "Intel::CERT_HASH": severity.HIGH,
    "Intel::PUBKEY_HASH": severity.HIGH,
    "Intel::URL": 65.0,
    "Intel::DOMAIN": 60.0,
    "Intel::ADDR": 55.0,
    "Intel::SUBNET": 45.0,
}
OTHER_TYPE_SCORE = severity.MEDIUM

# ATT&CK techniques a hit of each type usually stands for (the traffic the indicator is known for).
TYPE_MITRE = {
    "Intel::ADDR": ["T1071"],
    "Intel::SUBNET": ["T1071"],
    "Intel::DOMAIN": ["T1071", "T1568"],
    "Intel::URL": ["T1071.001", "T1105"],
    "Intel::FILE_HASH": ["T1105", "T1204"],
}

HASH = re.compile(r"[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}")
DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9-]*[a-z][a-z0-9-]*")
HOST_PORT = re.compile(r"^(?P<host>[^:/\[\]]+):\d{1,5}$")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
LOOKS_LIKE_NETWORK = re.compile(r"[0-9a-f.:]+/\d+")
# The entity of the records that carry event time only (see ``match_events``): never a finding.
HEARTBEAT = "\x00event-time"
HOSTS_FILE_ADDRESSES = ("0.0.0.0", "127.0.0.1", "::", "::1")


# ----------------------------------------------------------------------------- indicators


@dataclass(frozen=True)
class Indicator:
    """One entry of a list: the indicator as written, its Zeek type, where it came from."""

    indicator: str
    type: str
    source: str
    description: str = ""


def normal_ip(text: str) -> str | None:
    """The address in its canonical text (``2001:db8::1``), or None when ``text`` is no address."""
    if not text or not (text[0].isdigit() or ":" in text):
        return None
    return canonical_ip(text)


def normal_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def normal_domain(text: str) -> str:
    return text.strip().lower().rstrip(".")


def normal_url(text: str) -> str:
    """A URL as Zeek's Intel::URL writes it: no scheme, host in lower case, path as it is."""
    text = SCHEME.sub("", text.strip(), count=1)
    host, slash, rest = text.partition("/")
    return host.lower() + slash + rest


def infer_type(text: str) -> str | None:
    """The Zeek type of an indicator written without one; None when it is none of them."""
    lowered = text.lower()
    if normal_ip(lowered):
        return "Intel::ADDR"
    if LOOKS_LIKE_NETWORK.fullmatch(lowered):
        valid = normal_network(lowered) is not None and normal_ip(lowered.partition("/")[0])
        return "Intel::SUBNET" if valid else None
    if HASH.fullmatch(lowered):
        return "Intel::FILE_HASH"
    if "/" in lowered or SCHEME.match(lowered):
        return "Intel::URL"
    if DOMAIN.fullmatch(normal_domain(lowered)) and "." in lowered:
        return "Intel::DOMAIN"
    return None


def lookup_key(indicator: str, indicator_type: str) -> str | None:
    """The key an indicator is stored under, as ``candidate_keys`` gives it for a matching value."""
    kind = ZEEK_KINDS.get(indicator_type, "exact")
    if kind == "addr":
        ip = normal_ip(indicator.strip())
        return f"addr|{ip}" if ip else None
    if kind == "subnet":
        network = normal_network(indicator.strip())
        return None if network is None else f"net|{network.with_prefixlen}"
    if kind == "domain":
        domain = normal_domain(indicator)
        return f"domain|{domain}" if domain else None
    if kind == "url":
        url = normal_url(indicator)
        return f"url|{url}" if url else None
    if kind == "hash":
        return f"hash|{indicator.strip().lower()}"
    return f"exact|{indicator.strip().lower()}"


def read_list(text: str, source: str) -> tuple[list[Indicator], int]:
    """The indicators of one file and how many lines were skipped as unreadable.

    A Zeek Intel file (a ``#fields`` header naming ``indicator``, ``indicator_type``,
    ``meta.source``, ``meta.desc``..., tab-separated) or one indicator a line, type inferred,
    ``#`` starting a comment; a hosts-file line (``0.0.0.0 evil.example``) gives its name.
    Entries without their own ``meta.source`` are of ``source`` (the file's name).
    """
    indicators: list[Indicator] = []
    skipped = 0
    fields: list[str] | None = None
    separator = "\t"
    for raw in text.splitlines():
        line = raw.strip("\r\n")
        if line.startswith("#separator"):
            separator = _separator(line) or separator
            continue
        if line.startswith("#fields"):
            fields = line.split(separator)[1:] if separator in line else line.split()[1:]
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if fields is not None and "indicator" in fields:
            entry = _zeek_entry(line, separator, fields, source)
        else:
            entry = _plain_entry(line, source)
        if entry is None:
            skipped += 1
        else:
            indicators.append(entry)
    return indicators, skipped


def _separator(line: str) -> str | None:
    value = line[len("#separator") :].strip()
    if value.startswith("\\x"):
        try:
            return chr(int(value[2:], 16))
        except ValueError:
            return None
    return value or None


def _zeek_entry(line: str, separator: str, fields: list[str], source: str) -> Indicator | None:
    values = dict(zip(fields, line.split(separator), strict=False))
    indicator = values.get("indicator", "").strip()
    indicator_type = values.get("indicator_type", "").strip()
    if not indicator or indicator == "-" or indicator_type not in ZEEK_KINDS:
        return None
    if lookup_key(indicator, indicator_type) is None:
        return None
    own_source = values.get("meta.source", "-").strip()
    description = values.get("meta.desc", "-").strip()
    return Indicator(
        indicator,
        indicator_type,
        own_source if own_source not in ("", "-") else source,
        description if description != "-" else "",
    )


def _plain_entry(line: str, source: str) -> Indicator | None:
    text = line.split(" #", 1)[0].split("\t#", 1)[0].strip()
    words = text.split()
    if len(words) == 2 and words[0] in HOSTS_FILE_ADDRESSES:
        text = words[1]
    elif len(words) != 1:
        return None
    indicator_type = infer_type(text)
    return None if indicator_type is None else Indicator(text, indicator_type, source)


@dataclass
class Indicators:
    """Every indicator of the lists, keyed for lookup; ``bloom`` holds the keys."""

    table: dict[str, tuple[Indicator, ...]]
    prefixes: tuple[tuple[int, int], ...]  # (IP version, prefix length) of the listed networks
    bloom: BloomFilter
    skipped: int = 0

    @classmethod
    def of(cls, indicators: Iterable[Indicator], false_positive_rate: float, skipped: int = 0) -> Indicators:
        table: dict[str, list[Indicator]] = {}
        prefixes: set[tuple[int, int]] = set()
        for entry in indicators:
            key = lookup_key(entry.indicator, entry.type)
            if key is None:
                continue
            listed = table.setdefault(key, [])
            if entry not in listed:
                listed.append(entry)
            if key.startswith("net|"):
                network = ipaddress.ip_network(key[4:])
                prefixes.add((network.version, network.prefixlen))
        bloom = BloomFilter.of(table, max(1000, len(table)), false_positive_rate)
        frozen = {key: tuple(found) for key, found in table.items()}
        return cls(frozen, tuple(sorted(prefixes)), bloom, skipped)

    def __len__(self) -> int:
        return sum(len(found) for found in self.table.values())

    def shared(self) -> tuple[BloomFilter, dict[str, tuple[tuple[str, str, str], ...]], tuple]:
        """What the executors get: plain tuples and the filter, which pickle without this module
        (a broadcast is pickled by reference to classes, and this file is no module executors have)."""
        table = {
            key: tuple((entry.indicator, entry.type, entry.source) for entry in found)
            for key, found in self.table.items()
        }
        return self.bloom, table, self.prefixes


def indicator_files(patterns: str) -> list[str]:
    """The files the ``indicators`` key names: comma-separated paths or globs, relative to this folder."""
    files: list[str] = []
    for pattern in (part.strip() for part in patterns.split(",")):
        if not pattern:
            continue
        path = Path(pattern).expanduser()
        path = path if path.is_absolute() else FOLDER / path
        files.extend(sorted(name for name in glob.glob(str(path)) if os.path.isfile(name)))
    return sorted(set(files))


def read_indicators(patterns: str, false_positive_rate: float) -> Indicators:
    """Read every list named by ``patterns``; ConfigError when none is there."""
    files = indicator_files(patterns)
    if not files:
        raise ConfigError(f"threat-intel: key 'indicators': no file matches {patterns!r}")
    entries: list[Indicator] = []
    skipped = 0
    for name in files:
        try:
            text = Path(name).read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise ConfigError(f"threat-intel: key 'indicators': cannot read {name}: {err.strerror}") from None
        found, unreadable = read_list(text, Path(name).stem)
        entries.extend(found)
        skipped += unreadable
    return Indicators.of(entries, false_positive_rate, skipped)


# ----------------------------------------------------------------------------- matching


def candidate_keys(value: str, prefixes: tuple[tuple[int, int], ...]) -> Iterator[str]:
    """The lookup keys an event value could be listed under: the address and its listed networks,
    the domain and every parent domain, the URL, the hash, the value itself."""
    text = value.strip()
    if not text or text == "-":
        return
    lowered = text.lower()
    yield f"exact|{lowered}"
    ip = normal_ip(lowered)
    if ip is not None:
        yield from _address_keys(ip, prefixes)
        return
    if HASH.fullmatch(lowered):
        yield f"hash|{lowered}"
        return
    host = lowered
    if SCHEME.match(lowered) or ("/" in lowered and not lowered.startswith("/")):
        url = normal_url(text)
        yield f"url|{url}"
        host = url.partition("/")[0].rpartition("@")[2]
    elif lowered.startswith("/"):
        return
    port = HOST_PORT.match(host)
    if port:
        host = port.group("host")
    ip = normal_ip(host)
    if ip is not None:
        yield from _address_keys(ip, prefixes)
        return
    yield from _domain_keys(normal_domain(host))


def _address_keys(ip: str, prefixes: tuple[tuple[int, int], ...]) -> Iterator[str]:
    yield f"addr|{ip}"
    ip_version = 6 if ":" in ip else 4
    for version, length in prefixes:
        if version == ip_version:
            yield f"net|{ipaddress.ip_network(f'{ip}/{length}', strict=False).with_prefixlen}"


def _domain_keys(domain: str) -> Iterator[str]:
    if not domain or not DOMAIN.fullmatch(domain):
        return
    labels = domain.split(".")
    for start in range(len(labels)):
        yield "domain|" + ".".join(labels[start:])


def field_values(event: dict, field: str) -> list[str]:
    """The text values of one field of an event: a list (Zeek sets, DNS answers) gives each."""
    value = value_of(event, field)
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(item) for item in value if item is not None]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return [str(value)]
    return []


def event_values(event: dict, fields: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(field, value) pairs to look up; a Zeek HTTP event's ``host`` + ``uri`` is also its URL."""
    for field in fields:
        for value in field_values(event, field):
            yield field, value
    host, uri = event.get("host"), event.get("uri")
    if isinstance(host, str) and isinstance(uri, str) and uri.startswith("/") and "uri" in fields:
        yield "host+uri", host + uri


def entity_of(event: dict, entity_fields: tuple[str, ...]) -> str | None:
    for field in entity_fields:
        values = field_values(event, field)
        if values and values[0] not in ("", "-"):
            return values[0]
    return None


class Lookup:
    """What an event value is listed as, from ``Indicators.shared()``: a Bloom filter says which of
    the value's keys (``candidate_keys``) may be listed, the table confirms them. Answers are
    remembered: a partition's events repeat their clients, servers and names."""

    def __init__(self, shared: tuple) -> None:
        self.bloom, self.table, self.prefixes = shared
        self.listed = remembered(self._listed)

    def _listed(self, value: str) -> tuple[tuple[str, str, str], ...]:
        """The (indicator, type, source) entries ``value`` matches, each once, in list order."""
        found: dict[tuple[str, str, str], None] = {}
        for key in candidate_keys(value, self.prefixes):
            if key in self.bloom:
                found.update(dict.fromkeys(self.table.get(key, ())))
        return tuple(found)


def matches(
    lookup: Lookup, fields: tuple[str, ...], entity_fields: tuple[str, ...], event: Any
) -> list[dict]:
    """One record per indicator an event matches: the entity, the time, what matched where."""
    if not isinstance(event, dict):
        return []
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for field, value in event_values(event, fields):
        for indicator, indicator_type, source in lookup.listed(value):
            found.setdefault(
                (indicator, indicator_type),
                {
                    "entity": entity_of(event, entity_fields),
                    "@timestamp": event.get("@timestamp"),
                    "indicator": indicator,
                    "indicator_type": indicator_type,
                    "source": source,
                    "field": field,
                    "value": value,
                },
            )
    return [record for record in found.values() if record["entity"] is not None]


def match_events(broadcast, fields: tuple[str, ...], entity_fields: tuple[str, ...], events):
    """The match records of an RDD of events, against the broadcast ``Indicators``; and per
    partition one ``HEARTBEAT`` record at its latest event time, so that a stream's windows close
    as event time passes, not only when the next match comes (``load`` drops its windows)."""

    def of_partition(partition):
        lookup = Lookup(broadcast.value)
        latest = None
        for event in partition:
            yield from matches(lookup, fields, entity_fields, event)
            when = event.get("@timestamp") if isinstance(event, dict) else None
            if isinstance(when, datetime) and when.tzinfo is not None and (latest is None or when > latest):
                latest = when
        if latest is not None:
            yield {"entity": HEARTBEAT, "@timestamp": latest}

    return events.mapPartitions(of_partition)


# ----------------------------------------------------------------------------- findings


def score_of(types: Iterable[str], matched: int) -> float:
    """The strongest type's score, +5 for each other type, + up to 10 for repeated hits."""
    base = severity.combined(TYPE_SCORE.get(name, OTHER_TYPE_SCORE) for name in set(types))
    repeats = severity.grows_with(matched, threshold=2, saturation=100, low=2, high=10) if matched > 1 else 0
    return min(severity.MAXIMUM, round(base + repeats, 1))


def finding(window) -> tuple[str, float, dict[str, Any]]:
    values = window.values
    types = values["indicator_types"]
    metadata = window.metadata()
    for name in ("indicators", "indicator_types", "sources", "fields", "matched_values"):
        metadata[name] = " ".join(str(item) for item in values[name])
    metadata["signals"] = " ".join(sorted({name.split("::")[-1].lower() for name in types}))
    metadata["mitre"] = sorted({technique for name in types for technique in TYPE_MITRE.get(name, ["T1071"])})
    metadata["level"] = severity.level_of(score := score_of(types, values["matches"]))
    return str(window.entity), score, metadata


# ----------------------------------------------------------------------------- reloading


class LiveLists:
    """The lists of one running use case on the driver: re-read when a file changed, at most
    every ``reload_seconds``; ``current()`` gives the broadcast to match the next batch with."""

    def __init__(self, patterns: str, false_positive_rate: float, reload_seconds: float, broadcast) -> None:
        self.patterns = patterns
        self.false_positive_rate = false_positive_rate
        self.reload_seconds = reload_seconds
        self.broadcast = broadcast  # Indicators -> a broadcast (the SparkContext's, in a run)
        self.signature = self.files_signature()
        self.indicators = read_indicators(patterns, false_positive_rate)
        self.shared = broadcast(self.indicators.shared())
        self.checked = time.monotonic()
        self.lock = threading.Lock()

    def files_signature(self) -> tuple[tuple[str, int, int], ...]:
        signature = []
        for name in indicator_files(self.patterns):
            try:
                status = os.stat(name)
            except OSError:
                continue
            signature.append((name, status.st_mtime_ns, status.st_size))
        return tuple(signature)

    def current(self, now: float | None = None):
        """The broadcast lists, first read again if due and changed; a list that cannot be read
        keeps the previous lists in use, with a console line."""
        now = time.monotonic() if now is None else now
        with self.lock:
            if now - self.checked < self.reload_seconds:
                return self.shared
            self.checked = now
            signature = self.files_signature()
            if signature == self.signature:
                return self.shared
            try:
                fresh = read_indicators(self.patterns, self.false_positive_rate)
            except ConfigError as err:
                console.info(f"(threat-intel) lists not reloaded, still using the previous ones: {err}")
                return self.shared
            previous = self.shared
            self.indicators, self.signature = fresh, signature
            self.shared = self.broadcast(fresh.shared())
            if hasattr(previous, "unpersist"):
                previous.unpersist(blocking=False)
            console.info(f"(threat-intel) lists reloaded: {len(fresh)} indicators, {len(signature)} files")
            return self.shared


def register(lists: LiveLists) -> str:
    """Keep the lists on the driver; the id the stream's batches reach them with."""
    return driver_objects.keep(lists, "threat-intel-lists")


def live(list_id: str) -> LiveLists:
    return driver_objects.kept(list_id)


def _batch_matches(list_id: str, fields, entity_fields, rdd):
    return match_events(live(list_id).current(), fields, entity_fields, rdd)


# ----------------------------------------------------------------------------- load


def setting(conf, key: str) -> str:
    value = conf.get(key) if conf is not None else None
    return str(value) if value not in (None, "") else DEFAULTS[key]


def names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def number(conf, key: str, kind=float):
    try:
        return kind(setting(conf, key))
    except ValueError:
        raise ConfigError(f"threat-intel: key {key!r}: not a number: {setting(conf, key)!r}") from None


def load(streamingData, trainingData, context, conf):
    """Findings: one per entity and window whose events matched an indicator."""
    from pyspark.streaming import DStream

    fields = names(setting(conf, "match_fields"))
    entity_fields = names(setting(conf, "entity_field"))
    window = Window(
        size=timedelta(minutes=number(conf, "window_minutes")),
        idle=timedelta(minutes=number(conf, "idle_minutes")),
    )
    rate = number(conf, "bloom_false_positive_rate")
    samples = number(conf, "samples", int)
    sc = context if context is not None else streamingData.context
    if isinstance(streamingData, DStream):
        sc = streamingData.context().sparkContext
        lists = LiveLists(setting(conf, "indicators"), rate, number(conf, "reload_seconds"), sc.broadcast)
        list_id = register(lists)

        def batch_matches(rdd):  # pickled into the checkpoint: holds the id, not the lists
            return _batch_matches(list_id, fields, entity_fields, rdd)

        found = streamingData.transform(batch_matches)
    else:
        indicators = read_indicators(setting(conf, "indicators"), rate)
        found = match_events(sc.broadcast(indicators.shared()), fields, entity_fields, streamingData)
    windows = per_entity(
        found,
        key="entity",
        window=window,
        measures={
            "matches": count(),
            "distinct_indicators": distinct("indicator"),
            "indicators": distinct_values("indicator", samples),
            "indicator_types": distinct_values("indicator_type"),
            "sources": distinct_values("source", samples),
            "fields": distinct_values("field"),
            "matched_values": distinct_values("value", samples),
            "first_seen": first_seen(),
            "last_seen": last_seen(),
        },
        name="threat-intel",
    )
    return windows.filter(lambda window: window.entity != HEARTBEAT).map(finding)
