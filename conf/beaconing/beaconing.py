"""Beaconing, long-lived connections and exfiltration-like uploads per internal source address,
from Zeek's conn.log (TSV or JSON).

Each connection record becomes a *connection* ``(pair, time, bytes out, bytes in, duration,
service)``, the pair being (source, destination, port, protocol). ``per_entity`` gathers each
pair's connections in tumbling windows of event time (24 h by default); a pair's window is then
judged on its own (regular timing and sizes, the longest connection, bytes out against bytes
in) and the flagged pairs of one source and window are regrouped into one finding. See
README.md for the statistics, the score and the tuning keys.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from itertools import pairwise
from operator import itemgetter
from typing import Any

from datashark.detect.addresses import address_text, in_networks
from datashark.detect.memo import remembered
from datashark.detect.severity import HIGH, LOW, MEDIUM, combined, grows_with, level_of
from datashark.detect.tuning import flag, networks
from datashark.detect.windows import Window, per_entity

# ----------------------------------------------------------------------------- settings

DEFAULT_INTERNAL = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7"
# Periodic by design and harmless: NTP, NetBIOS name/datagram, SSDP, mDNS, LLMNR, DHCP, DHCPv6.
DEFAULT_IGNORED_SERVICES = (
    "udp/123, udp/137, udp/138, udp/1900, udp/5353, udp/5355, udp/67, udp/68, udp/546, udp/547"
)
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _services(key: str, text: Any) -> frozenset:
    """``udp/123, tcp/993`` as {("udp", 123), ("tcp", 993)}; ``none`` for none."""
    if isinstance(text, str) and text.strip().lower() == "none":
        return frozenset()
    parts = text if isinstance(text, (list, tuple)) else str(text or "").split(",")
    services = set()
    for part in (str(item).strip().lower() for item in parts):
        if not part:
            continue
        proto, _, port = part.partition("/")
        if proto not in ("tcp", "udp", "icmp") or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"beaconing: {key} must list protocol/port items such as udp/123, not {part!r}")
        services.add((proto, int(port)))
    return frozenset(services)


@dataclass(frozen=True)
class Settings:
    """The use case's tuning keys, read once from the conf (see README.md for each one)."""

    window_hours: float = 24
    late_minutes: float = 2
    idle_minutes: float = 5
    min_connections: float = 10
    beats_saturation: float = 1000
    burst_seconds: float = 2
    max_jitter: float = 0.25
    min_on_beat: float = 0.6
    max_skew: float = 0.75
    min_active_minutes: float = 30
    max_size_jitter: float = 0.2
    beat_tolerance: float = 0.3
    max_missed_run: float = 3
    max_times: float = 10000
    long_connection_minutes: float = 60
    exfil_min_megabytes: float = 100
    exfil_ratio: float = 10
    include_internal_destinations: bool = False
    internal_networks: tuple = networks("internal_networks", DEFAULT_INTERNAL)
    dns_resolvers: tuple | None = None  # None: the internal networks
    ignore_sources: tuple = ()
    ignore_destinations: tuple = ()
    ignore_services: frozenset = field(
        default_factory=lambda: _services("ignore_services", DEFAULT_IGNORED_SERVICES)
    )

    NUMBERS = (
        "window_hours",
        "late_minutes",
        "idle_minutes",
        "min_connections",
        "beats_saturation",
        "burst_seconds",
        "max_jitter",
        "min_on_beat",
        "max_skew",
        "min_active_minutes",
        "max_size_jitter",
        "beat_tolerance",
        "max_missed_run",
        "max_times",
        "long_connection_minutes",
        "exfil_min_megabytes",
        "exfil_ratio",
    )

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        def get(key: str, default: Any) -> Any:
            value = conf.get(key) if hasattr(conf, "get") else None
            return default if value is None or value == "" else value

        defaults = cls()
        numbers = {}
        for name in cls.NUMBERS:
            value = get(name, getattr(defaults, name))
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"beaconing: {name} must be a number, not {value!r}") from None
            if not math.isfinite(number) or number < 0 or (number == 0 and name not in ("late_minutes",)):
                raise ValueError(f"beaconing: {name} must be a positive number, not {value!r}")
            numbers[name] = number
        if numbers["min_connections"] < 3:
            raise ValueError("beaconing: min_connections must be at least 3 (two intervals)")
        internal = networks("internal_networks", get("internal_networks", DEFAULT_INTERNAL))
        resolvers = get("dns_resolvers", "internal")
        resolvers = list(resolvers) if isinstance(resolvers, (list, tuple)) else str(resolvers).split(",")
        named = [item for item in resolvers if str(item).strip().lower() != "internal"]
        listed = networks("dns_resolvers", named) + (internal if len(named) < len(resolvers) else ())
        return cls(
            **numbers,
            include_internal_destinations=flag(
                "include_internal_destinations", get("include_internal_destinations", False)
            ),
            internal_networks=internal,
            dns_resolvers=listed,
            ignore_sources=networks("ignore_sources", get("ignore_sources", "")),
            ignore_destinations=networks("ignore_destinations", get("ignore_destinations", "")),
            ignore_services=_services("ignore_services", get("ignore_services", DEFAULT_IGNORED_SERVICES)),
        )

    @property
    def resolvers(self) -> tuple:
        return self.internal_networks if self.dns_resolvers is None else self.dns_resolvers


# ----------------------------------------------------------------------------- addresses


def _never_a_peer(ip: Any) -> bool:
    """Loopback, multicast, the unspecified and the limited broadcast address: no remote host."""
    mapped = getattr(ip, "ipv4_mapped", None)
    ip = mapped or ip
    return ip.is_loopback or ip.is_multicast or ip.is_unspecified or str(ip) == "255.255.255.255"


def source_role(settings: Settings, text: Any) -> str | None:
    """The canonical text of an originator address worth watching (internal, not ignored), else None."""
    canonical = address_text(text)
    if canonical is None:
        return None
    ip = ipaddress.ip_address(canonical)
    if (
        _never_a_peer(ip)
        or not in_networks(ip, settings.internal_networks)
        or in_networks(ip, settings.ignore_sources)
    ):
        return None
    return canonical


def destination_role(settings: Settings, text: Any) -> str | None:
    """The canonical text of a responder address a beacon may call (external unless
    ``include_internal_destinations``; no loopback, multicast or broadcast; not ignored), else None."""
    canonical = address_text(text)
    if canonical is None:
        return None
    ip = ipaddress.ip_address(canonical)
    if _never_a_peer(ip) or in_networks(ip, settings.ignore_destinations):
        return None
    if not settings.include_internal_destinations and in_networks(ip, settings.internal_networks):
        return None
    if str(ip).endswith(".255") and in_networks(ip, settings.internal_networks):  # a subnet's broadcast
        return None
    return canonical


def is_resolver(settings: Settings, text: str) -> bool:
    """Whether an address (canonical text) is one of ``dns_resolvers``."""
    return in_networks(text, settings.resolvers)


def _remembered(function: Callable, settings: Settings) -> remembered:
    return remembered(partial(function, settings))


# The logs of connections: Zeek's conn.log, and conn_long.log of the long-connections package
# (a record per interval while a connection lasts).
CONNECTION_LOGS = ("conn", "conn_long")


def is_connection(event: dict) -> bool:
    """Whether a Zeek record is a connection's: one of another log (dns, http...) sent to the same
    Kafka topic is tagged with its log's name (``_path``). A record without one is taken for a
    connection's: a conn.log file, or a topic of its own."""
    return event.get("_path", "conn") in CONNECTION_LOGS


@dataclass(frozen=True)
class Reader:
    """Turns Zeek conn records into connections ``(pair, time, out, in, duration, service)``,
    with the address tests remembered per distinct address."""

    settings: Settings
    source: remembered
    destination: remembered
    resolver: remembered

    @classmethod
    def of(cls, settings: Settings) -> Reader:
        return cls(
            settings,
            _remembered(source_role, settings),
            _remembered(destination_role, settings),
            _remembered(is_resolver, settings),
        )

    def __call__(self, event: Any) -> list[tuple]:
        if not isinstance(event, dict) or not is_connection(event):
            return []
        src = self.source(event.get("id.orig_h"))
        if src is None:
            return []
        dst = self.destination(event.get("id.resp_h"))
        if dst is None:
            return []
        proto = event.get("proto")
        port = event.get("id.resp_p")
        if not isinstance(port, int) or isinstance(port, bool):
            port = int(port) if isinstance(port, str) and port.isdigit() else None
        if proto == "icmp":
            port = None  # Zeek's id.resp_p of ICMP is the code
        elif (proto, port) in self.settings.ignore_services or (
            port == 53 and (self.resolver(dst) or self.resolver(src))
        ):
            return []
        when = event.get("@timestamp")
        if isinstance(when, datetime):
            seconds = when.timestamp()
        elif isinstance(when, (int, float)) and not isinstance(when, bool):
            seconds = float(when)
        else:
            return []
        service = event.get("service")
        return [
            (
                (src, dst, port, proto if isinstance(proto, str) else "?"),
                seconds,
                _count(event.get("orig_bytes")),
                _count(event.get("resp_bytes")),
                _seconds(event.get("duration")),
                service if isinstance(service, str) and service not in ("-", "") else None,
            )
        ]


def _count(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else 0
    if isinstance(value, float) and math.isfinite(value):
        return int(value) if value > 0 else 0
    return 0


def _seconds(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value) if value > 0 else 0.0
    return 0.0


PAIR = itemgetter(0)
TIME = itemgetter(1)

# ----------------------------------------------------------------------------- measures


class activity:  # noqa: N801 - read as a measure, like count()
    """A pair's totals in a window: connections, bytes out (orig_bytes) and in (resp_bytes), the
    sum and the longest of the durations, first and last connection time (epoch seconds) and the
    services Zeek named. Cheap: the ``when`` gate of ``load`` tests it before anything else."""

    def start(self) -> list:
        return [0, 0, 0, 0.0, 0.0, math.inf, -math.inf, frozenset()]

    def add(self, acc: list, item: tuple) -> list:
        acc[0] += 1
        acc[1] += item[2]
        acc[2] += item[3]
        acc[3] += item[4]
        if item[4] > acc[4]:
            acc[4] = item[4]
        if item[1] < acc[5]:
            acc[5] = item[1]
        if item[1] > acc[6]:
            acc[6] = item[1]
        if item[5] is not None and item[5] not in acc[7]:
            acc[7] = acc[7] | {item[5]}
        return acc

    def merge(self, a: list, b: list) -> list:
        return [
            a[0] + b[0],
            a[1] + b[1],
            a[2] + b[2],
            a[3] + b[3],
            max(a[4], b[4]),
            min(a[5], b[5]),
            max(a[6], b[6]),
            a[7] | b[7],
        ]

    def result(self, acc: list) -> Activity:
        return Activity(*acc[:7], services=tuple(sorted(acc[7])))

    def __repr__(self) -> str:
        return "activity()"


@dataclass(frozen=True)
class Activity:
    """See ``activity``."""

    connections: int
    bytes_out: int
    bytes_in: int
    total_duration: float
    longest_duration: float
    first: float
    last: float
    services: tuple = ()


class timeline:  # noqa: N801
    """A pair's connections as (time, bytes out), the earliest ``cap`` of the window, in time
    order. State stays bounded: at most ``2 * cap`` entries between two trims, whatever the
    traffic; the earliest ``cap`` are the same whatever order the events were merged in."""

    def __init__(self, cap: int) -> None:
        self.cap = int(cap)

    def start(self) -> list:
        return []

    def add(self, acc: list, item: tuple) -> list:
        acc.append((item[1], item[2]))
        if len(acc) > 2 * self.cap:
            acc.sort()
            del acc[self.cap :]
        return acc

    def merge(self, a: list, b: list) -> list:
        a.extend(b)
        if len(a) > 2 * self.cap:
            a.sort()
            del a[self.cap :]
        return a

    def result(self, acc: list) -> list:
        return sorted(acc)[: self.cap]

    def __repr__(self) -> str:
        return f"timeline({self.cap})"


# ----------------------------------------------------------------------------- interval statistics


def median(values: Sequence[float]) -> float:
    """The median of a sorted or unsorted list (0.0 when empty)."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return 0.0
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def quantile(ordered: Sequence[float], rank: float) -> float:
    """The ``rank`` quantile of sorted values, interpolated linearly (as numpy's default)."""
    if not ordered:
        return 0.0
    position = rank * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def relative_mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median, divided by the median: 0 for identical values,
    0.1 for a period jittered uniformly by +/-20 %, 0.25 by +/-50 %, about 0.7 for Poisson
    arrivals. 0.0 when the median is 0 and all values are 0; inf when only the median is."""
    if not values:
        return 0.0
    middle = median(values)
    spread = median([abs(value - middle) for value in values])
    if middle <= 0:
        return 0.0 if spread == 0 else math.inf
    return spread / middle


def bowley_skewness(values: Sequence[float]) -> float:
    """(Q1 + Q3 - 2 Q2) / (Q3 - Q1), in [-1, 1]: 0 for a symmetric spread; towards 1 when a long
    tail of late intervals pulls the upper quartile away (RITA's timing skew). 0 when Q3 = Q1."""
    ordered = sorted(values)
    q1, q2, q3 = (quantile(ordered, rank) for rank in (0.25, 0.5, 0.75))
    if q3 - q1 <= 0:
        return 0.0
    return (q1 + q3 - 2 * q2) / (q3 - q1)


def beats_of(times: Sequence[float], burst_seconds: float) -> list[float]:
    """The check-ins of a sorted list of connection times: a connection less than
    ``burst_seconds`` after the previous one belongs to the same beat (a beacon opening several
    connections per check-in, retries, a browser's parallel connections). So a "period" is never
    shorter than ``burst_seconds``: a page load's 30 connections in one second are one beat."""
    if not times:
        return []
    beats = [times[0]]
    for previous, when in pairwise(times):
        if when - previous >= burst_seconds:
            beats.append(when)
    return beats


@dataclass(frozen=True)
class Rhythm:
    """What the gaps between a pair's beats say: the period (s), the share of gaps that are a
    whole number of periods (within ``beat_tolerance``), the beats missed (gaps of 2..k periods),
    the pauses (longer gaps, left out), the time the other gaps cover (``active``, s), and the
    dispersion of the gaps once missed beats are folded: ``jitter`` (relative MAD) and ``skew``
    (Bowley)."""

    beats: int
    period: float
    on_beat: float
    missed: int
    pauses: int
    jitter: float
    skew: float
    active: float = 0.0  # seconds covered by the gaps that are no pause


def _multiple(gap: float, period: float, tolerance: float) -> int:
    """k when ``gap`` is k periods give or take ``tolerance`` of a period, else 0."""
    k = round(gap / period)
    if k >= 1 and abs(gap - k * period) <= tolerance * period:
        return k
    return 0


def rhythm_of(beats: Sequence[float], tolerance: float, max_missed_run: int) -> Rhythm | None:
    """The ``Rhythm`` of sorted beat times, or None with fewer than three beats.

    The period is the median gap. A gap of k = 2..``max_missed_run + 1`` periods (within
    ``tolerance`` of a period) counts as k gaps of gap/k (k - 1 missed beats); a gap of more
    periods is a pause (the laptop slept) and is left out. Other gaps are kept as they are:
    irregular traffic stays irregular. ``on_beat`` is the share of gaps that are one period or a
    few (within ``tolerance``): about 0.4 for Poisson arrivals, 0.9 and more for a beacon. A
    beacon that misses more than half its beats has a median gap of two periods: its single
    gaps are then off beat and its score falls."""
    if len(beats) < 3:
        return None
    gaps = [b - a for a, b in pairwise(beats) if b > a]
    if len(gaps) < 2:
        return None
    period = median(gaps)
    if period <= 0:
        return None
    longest = max_missed_run + 1
    folded: list[float] = []
    missed = pauses = 0
    on = 0
    active = 0.0
    for gap in gaps:
        k = _multiple(gap, period, tolerance)
        if 1 <= k <= longest:
            on += 1
        if 2 <= k <= longest:
            folded.append(gap / k)
            missed += k - 1
        elif gap > (longest + 0.5) * period:
            pauses += 1
            continue
        else:
            folded.append(gap)
        active += gap
    if len(folded) < 2:
        return None
    return Rhythm(
        beats=len(beats),
        period=median(folded),
        on_beat=on / len(gaps),
        missed=missed,
        pauses=pauses,
        jitter=relative_mad(folded),
        skew=bowley_skewness(folded),
        active=active,
    )


# ----------------------------------------------------------------------------- judging a pair


@dataclass(frozen=True)
class PairVerdict:
    """One pair's window, judged: the signals it fired with their scores, and what explains them."""

    source: str
    destination: str
    port: int | None
    proto: str
    services: tuple
    activity: Activity
    rhythm: Rhythm | None
    size_jitter: float | None
    median_bytes_out: float | None
    scores: dict  # signal name -> score

    @property
    def score(self) -> float:
        return max(self.scores.values())

    @property
    def target(self) -> str:
        where = self.destination if ":" not in self.destination else f"[{self.destination}]"
        return f"{where}:{self.port}/{self.proto}" if self.port is not None else f"{where}/{self.proto}"

    def is_tls(self) -> bool:
        tls_ports = (443, 8443, 993, 995, 465)
        return "ssl" in ",".join(self.services) or (self.proto == "tcp" and self.port in tls_ports)

    def is_web(self) -> bool:
        text = ",".join(self.services)
        return "http" in text or "ssl" in text or (self.proto == "tcp" and self.port in (80, 443, 8080, 8443))


def timing_regularity(rhythm: Rhythm, settings: Settings) -> float:
    """1 for a perfectly periodic pair, towards 0 as the gaps spread (``jitter`` up to
    ``max_jitter``) or lean to one side (|Bowley skew| up to 1): the mean of the two, as RITA
    averages its timing scores."""
    steadiness = max(0.0, 1.0 - rhythm.jitter / settings.max_jitter)
    symmetry = max(0.0, 1.0 - abs(rhythm.skew))
    return (steadiness + symmetry) / 2


def size_regularity(size_jitter: float, settings: Settings) -> float:
    """1 when every check-in sends the same bytes, 0 at ``max_size_jitter`` or more."""
    return max(0.0, 1.0 - size_jitter / settings.max_size_jitter)


def is_beacon(rhythm: Rhythm, settings: Settings) -> bool:
    """``min_connections`` beats or more over at least ``min_active_minutes`` (pauses left out),
    folded gaps within ``max_jitter`` (relative MAD) and |Bowley skew| at most ``max_skew``, and
    at least ``min_on_beat`` of the gaps a whole number of periods. The active time keeps a
    browsing session's requests (pages read a few seconds apart, then nothing for an hour) from
    passing for a fast beacon; the skew, ten random visits of a day."""
    return (
        rhythm.beats >= settings.min_connections
        and rhythm.active >= settings.min_active_minutes * 60
        and rhythm.jitter <= settings.max_jitter
        and abs(rhythm.skew) <= settings.max_skew
        and rhythm.on_beat >= settings.min_on_beat
    )


def beacon_score(rhythm: Rhythm, size_jitter: float, settings: Settings) -> float:
    """The ``beacon`` signal: 0 unless ``is_beacon``; else from 30 (``min_connections`` beats)
    to 60 (``beats_saturation``), growing with the logarithm of the beats, plus up to 10 for
    timing regularity and up to 5 for regular sizes: 45 at most for a few beats, 75 for a
    clockwork beacon all day."""
    if not is_beacon(rhythm, settings):
        return 0.0
    base = grows_with(
        rhythm.beats,
        threshold=settings.min_connections,
        saturation=settings.beats_saturation,
        low=LOW,
        high=HIGH - 10,
    )
    bonus = 10 * timing_regularity(rhythm, settings) + 5 * size_regularity(size_jitter, settings)
    return round(base + bonus, 1)


def long_connection_score(longest: float, settings: Settings) -> float:
    """The ``long_connection`` signal: 30 for a connection of ``long_connection_minutes``, up to 50
    for one lasting 24 h (often benign: VPNs, SSH sessions, push channels)."""
    return grows_with(
        longest,
        threshold=settings.long_connection_minutes * 60,
        saturation=max(86400.0, settings.long_connection_minutes * 60 * 2),
        low=LOW,
        high=MEDIUM,
    )


def exfiltration_score(bytes_out: int, bytes_in: int, settings: Settings) -> float:
    """The ``exfiltration`` signal: a pair that sent at least ``exfil_min_megabytes`` and
    ``exfil_ratio`` times what it received; 40 at the floor, up to 70 at 100 times the floor."""
    floor = settings.exfil_min_megabytes * 1_000_000
    if bytes_out < floor or bytes_out < settings.exfil_ratio * max(bytes_in, 1):
        return 0.0
    return grows_with(bytes_out, threshold=floor, saturation=floor * 100, low=LOW + 10, high=HIGH)


def could_be_finding(settings: Settings, seen: Activity) -> bool:
    """The ``when`` gate: a pair's window can fire a signal only with ``min_connections``
    connections (beats are fewer), a connection as long as ``long_connection_minutes``, or
    ``exfil_min_megabytes`` sent. Most pairs (a few web requests) stop here."""
    return (
        seen.connections >= settings.min_connections
        or seen.longest_duration >= settings.long_connection_minutes * 60
        or seen.bytes_out >= settings.exfil_min_megabytes * 1_000_000
    )


def judge_pair(settings: Settings, pair: tuple, seen: Activity, connections: list) -> PairVerdict | None:
    """The verdict of one pair's window, or None when no signal fired."""
    scores: dict[str, float] = {}
    rhythm = None
    size_jitter = median_out = None
    if seen.connections >= settings.min_connections:
        times = [when for when, _ in connections]
        beats = beats_of(times, settings.burst_seconds)
        rhythm = rhythm_of(beats, settings.beat_tolerance, int(settings.max_missed_run))
        if rhythm is not None:
            sizes = [sent for _, sent in connections]
            size_jitter = relative_mad(sizes)
            median_out = median(sizes)
            scores["beacon"] = beacon_score(rhythm, size_jitter, settings)
    scores["long_connection"] = long_connection_score(seen.longest_duration, settings)
    scores["exfiltration"] = exfiltration_score(seen.bytes_out, seen.bytes_in, settings)
    scores = {name: score for name, score in scores.items() if score > 0}
    if not scores:
        return None
    src, dst, port, proto = pair
    return PairVerdict(src, dst, port, proto, seen.services, seen, rhythm, size_jitter, median_out, scores)


def pair_verdicts(settings: Settings, window: Any) -> list[tuple]:
    """flatMap over the pairs' windows: ``((source, window start, window end), [verdict])`` for a
    pair that fired a signal."""
    verdict = judge_pair(settings, window.entity, window.values["activity"], window.values["timeline"])
    if verdict is None:
        return []
    return [((verdict.source, window.start, window.end), [verdict])]


def both(a: list, b: list) -> list:
    return a + b


# ----------------------------------------------------------------------------- the finding

SIGNAL_ORDER = ("beacon", "exfiltration", "long_connection")


def mitre_of(verdicts: Sequence[PairVerdict]) -> list[str]:
    """ATT&CK techniques: T1071 (T1071.001 over web protocols) for a beacon or a long connection,
    T1573 when that channel is TLS, T1029 for a beacon that also uploads a lot, T1041 for an
    upload over a beaconing channel, T1048 for one over any other."""
    ids: list[str] = []

    def add(*names: str) -> None:
        ids.extend(name for name in names if name not in ids)

    for verdict in verdicts:
        channel = "beacon" in verdict.scores or "long_connection" in verdict.scores
        if channel:
            add("T1071.001" if verdict.is_web() else "T1071")
            if verdict.is_tls():
                add("T1573")
        if "exfiltration" in verdict.scores:
            if "beacon" in verdict.scores:
                add("T1041", "T1029")
            else:
                add("T1048")
    return sorted(ids)


def pair_summary(verdict: PairVerdict) -> str:
    """One line per flagged pair for the metadata: ``203.0.113.9:443/tcp beacon period=60.2s ...``."""
    parts = [verdict.target, "+".join(name for name in SIGNAL_ORDER if name in verdict.scores)]
    if verdict.rhythm is not None:
        rhythm = verdict.rhythm
        parts.append(f"period={rhythm.period:.1f}s beats={rhythm.beats} jitter={rhythm.jitter:.2f}")
    parts.append(f"out={verdict.activity.bytes_out} in={verdict.activity.bytes_in}")
    if verdict.activity.longest_duration:
        parts.append(f"longest={verdict.activity.longest_duration:.0f}s")
    return " ".join(parts)


def _iso(seconds: float) -> str:
    return (EPOCH + timedelta(seconds=seconds)).isoformat()


def _round(value: float | None, digits: int = 3) -> float | None:
    if value is None:
        return None
    return round(value, digits) if math.isfinite(value) else None


def source_finding(keyed: tuple) -> tuple:
    """The row of one source and window: key = the source address, its flagged pairs aggregated."""
    (source, start, end), verdicts = keyed
    verdicts = sorted(verdicts, key=lambda v: (-v.score, v.target))
    strongest = {name: max(v.scores.get(name, 0.0) for v in verdicts) for name in SIGNAL_ORDER}
    signals = sorted((name for name, score in strongest.items() if score > 0), key=lambda n: -strongest[n])
    score = combined(strongest.values())
    top = verdicts[0]
    beacons = [v for v in verdicts if "beacon" in v.scores]
    rhythm = beacons[0].rhythm if beacons else None
    main = beacons[0] if beacons else top
    metadata = {
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "first_seen": _iso(min(v.activity.first for v in verdicts)),
        "last_seen": _iso(max(v.activity.last for v in verdicts)),
        "level": level_of(score),
        "signals": signals,
        "mitre": mitre_of(verdicts),
        "flagged_pairs": len(verdicts),
        "beaconing_destinations": len(beacons),
        "top_destination": main.target,
        "service": ",".join(main.services),
        "connections": main.activity.connections,
        "beats": rhythm.beats if rhythm else None,
        "period_s": _round(rhythm.period, 1) if rhythm else None,
        "jitter": _round(rhythm.jitter) if rhythm else None,
        "skew": _round(rhythm.skew) if rhythm else None,
        "on_beat": _round(rhythm.on_beat) if rhythm else None,
        "missed_beats": rhythm.missed if rhythm else None,
        "pauses": rhythm.pauses if rhythm else None,
        "active_minutes": _round(rhythm.active / 60, 1) if rhythm else None,
        "size_jitter": _round(main.size_jitter) if beacons else None,
        "median_bytes_out": main.median_bytes_out if beacons else None,
        "bytes_out": main.activity.bytes_out,
        "bytes_in": main.activity.bytes_in,
        "longest_duration_s": _round(main.activity.longest_duration, 1),
        "total_duration_s": _round(main.activity.total_duration, 1),
        "pairs": [pair_summary(v) for v in verdicts[:5]],
    }
    return (source, score, metadata)


def load(events, conf):
    """Beaconing findings of ``events`` (an RDD or a DStream of parsed Zeek conn.log records):
    one row per internal source address and window with a beaconing, long-lived or
    exfiltration-like pair."""
    settings = Settings.from_conf(conf)
    window = Window(
        size=timedelta(hours=settings.window_hours),
        late=timedelta(minutes=settings.late_minutes),
        idle=timedelta(minutes=settings.idle_minutes),
    )
    pairs = per_entity(
        events.flatMap(Reader.of(settings)),
        key=PAIR,
        time=TIME,
        window=window,
        measures={"activity": activity(), "timeline": timeline(int(settings.max_times))},
        name="beaconing",
        when={"activity": partial(could_be_finding, settings)},
    )
    # Every pair's windows close at the same watermark: a source's pairs of one window are in the
    # same RDD (the batch run's, or one streaming batch's), so regrouping per batch is whole.
    return pairs.flatMap(partial(pair_verdicts, settings)).reduceByKey(both).map(source_finding)
