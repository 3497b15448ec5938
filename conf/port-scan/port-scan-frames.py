"""Port scans per source address from Zeek's conn.log, in Spark SQL: port-scan.py's Zeek detection
for ``api = dataframe``.

The same probes, windows, score and metadata as ``port-scan.py`` gives Zeek records, written as
DataFrame expressions: every event is read, classified and counted in the JVM, and no row reaches
Python before it is a finding. The same ``load()`` runs on a batch DataFrame and on a streaming
one (Structured Streaming, ``output.mode = append``): tumbling event-time windows with a watermark,
two chained window aggregations, then array functions on each window's row; no ordering of rows,
no ``collect``, no count distinct, no Python UDF. See README.md, "DataFrame flavour".
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as sf

from datashark.detect.severity import HIGH, LOW, MAXIMUM
from datashark.detect.tuning import Network, flag, networks, number

# ----------------------------------------------------------------------------- settings

DEFAULT_INTERNAL = "10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, fe80::/10"
NUMBERS = (
    "window_minutes",
    "late_minutes",
    "ports_threshold",
    "ports_saturation",
    "hosts_threshold",
    "hosts_saturation",
    "accepted_weight",
    "internal_bonus",
)
# A window needs a length; a threshold under one would divide by zero (port-scan.py's too).
LEAST = {"window_minutes": 1 / 60_000_000, "ports_threshold": 1.0, "hosts_threshold": 1.0}


@dataclass(frozen=True)
class Settings:
    """The use case's tuning keys, read once on the driver: port-scan.py's keys and defaults
    but ``idle_minutes``, which a Structured Streaming watermark has no equivalent of."""

    window_minutes: float = 5
    late_minutes: float = 2
    ports_threshold: float = 15
    ports_saturation: float = 1000
    hosts_threshold: float = 25
    hosts_saturation: float = 1000
    accepted_weight: float = 0.25
    internal_bonus: float = 10
    ignore_loopback: bool = True
    skip_udp_replies: bool = True
    internal_networks: tuple[Network, ...] = networks("internal_networks", DEFAULT_INTERNAL)
    ignore_sources: tuple[Network, ...] = ()

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        """The keys of ``conf`` (a mapping); a missing or empty key keeps its default."""
        defaults = cls()

        def get(key: str, default: Any) -> Any:
            value = conf.get(key) if hasattr(conf, "get") else None
            return default if value is None or value == "" else value

        return cls(
            **{
                key: number(key, get(key, getattr(defaults, key)), least=LEAST.get(key, 0.0))
                for key in NUMBERS
            },
            ignore_loopback=flag("ignore_loopback", get("ignore_loopback", True)),
            skip_udp_replies=flag("skip_udp_replies", get("skip_udp_replies", True)),
            internal_networks=networks("internal_networks", get("internal_networks", DEFAULT_INTERNAL)),
            ignore_sources=networks("ignore_sources", get("ignore_sources", "")),
        )


def interval(minutes: float) -> str:
    """Minutes as a Spark interval (a window's length, a watermark's delay), to the microsecond."""
    return f"{round(minutes * 60_000_000)} microseconds"


# ----------------------------------------------------------------------------- SQL helpers


def rounded(value: Column, digits: int) -> Column:
    """``round(value, digits)`` as Python rounds a float: to the nearest of the double's exact
    value, ties to even. Spark's ``round`` and ``bround`` round the double's shortest decimal text
    instead, and disagree with Python on about one value in twenty (32.15 is 32.149999...: Python
    32.1, ``bround`` 32.2). ``format_number`` (Java's DecimalFormat) rounds as Python does."""
    return sf.regexp_replace(sf.format_number(value, digits), ",", "").cast("double")


def iso_time(moment: Column) -> Column:
    """A timestamp as ``datetime.isoformat()`` writes a UTC datetime (``2013-09-15T23:45:00+00:00``,
    microseconds only when there are some), computed from its epoch microseconds: ``date_format``
    writes the session's time zone, and the findings' times are UTC whatever that is."""
    micros = sf.unix_micros(moment)
    day_micros = 86_400_000_000
    in_day = sf.pmod(micros, sf.lit(day_micros))
    days = ((micros - in_day) / day_micros).cast("int")  # an exact quotient
    fraction = in_day % 1_000_000

    def two(value: Column) -> Column:
        return sf.lpad(value.cast("string"), 2, "0")

    return sf.concat(
        sf.date_from_unix_date(days).cast("string"),
        sf.lit("T"),
        two(sf.floor(in_day / 3_600_000_000)),
        sf.lit(":"),
        two(sf.floor(in_day / 60_000_000) % 60),
        sf.lit(":"),
        two(sf.floor(in_day / 1_000_000) % 60),
        sf.when(fraction > 0, sf.concat(sf.lit("."), sf.lpad(fraction.cast("string"), 6, "0"))).otherwise(""),
        sf.lit("+00:00"),
    )


def any_of(conditions: list[Column]) -> Column:
    """Whether one of ``conditions`` holds (False for none)."""
    return functools.reduce(operator.or_, conditions, sf.lit(False))


def let(value: Column, body: Callable[[Column], Column]) -> Column:
    """``body(value)`` with ``value`` computed once, however often ``body`` names it. A Column is
    a tree: naming one twice copies it, and helpers that name their argument a few times each
    grow a tree (and the Java code Spark generates from it) exponentially; a lambda's argument
    is a variable. (Spark SQL has no ``let``: this is a one-element array's ``transform``.)"""
    return sf.element_at(sf.transform(sf.array(value), body), 1)


# ----------------------------------------------------------------------------- addresses

OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4 = rf"^{OCTET}\.{OCTET}\.{OCTET}\.{OCTET}$"
DOTTED_TAIL = r"(?<=:)[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$"  # ::ffff:192.0.2.7
LOOPBACK_V6 = "0" * 31 + "1"
MAPPED_LOOPBACK_V6 = "0" * 20 + "ffff7f"  # ::ffff:127.0.0.0/104


def ipv6_pattern() -> str:
    """A regular expression of the IPv6 texts ``ipaddress`` reads (lower case, without a zone):
    eight hextets, or fewer around one ``::``, the last two of them perhaps a dotted IPv4 address."""
    hextet, v4 = "[0-9a-f]{1,4}", IPV4[1:-1]
    forms = [f"({hextet}:){{7}}{hextet}", f"({hextet}:){{6}}{v4}"]
    for head in range(8):
        room = 7 - head  # hextets the tail may hold: "::" stands for one at least
        tails = [f"{hextet}(:{hextet}){{0,{room - 1}}}"] if room >= 1 else []
        tails += [f"({hextet}:){{0,{room - 2}}}{v4}"] if room >= 2 else []
        before = f"({hextet}:){{{head - 1}}}{hextet}" if head else ""
        after = f"({'|'.join(tails)})?" if tails else ""
        forms.append(f"{before}::{after}")
    return f"^({'|'.join(forms)})$"


IPV6 = ipv6_pattern()


def address(field: Column) -> Column:
    """An address field as the key and the counts use it, or NULL when it holds no address: its
    text, lower case, an IPv6 zone (``%eth0``) left out. Zeek writes addresses as ``ipaddress``
    does (dotted IPv4, compressed IPv6), which port-scan.py's ``address_text`` makes of the others."""
    text = sf.lower(sf.trim(sf.substring_index(field.cast("string"), "%", 1)))
    return sf.when(text.rlike(IPV4) | text.rlike(IPV6), text)


def ipv4_number(text: Column) -> Column:
    """Dotted IPv4 text as its 32-bit number (a bigint); NULL for other text, never an error: Spark
    may compute it before the condition that keeps IPv6 text from it (a common subexpression)."""
    parts = sf.split(text, r"\.")
    octets = [sf.try_element_at(parts, sf.lit(index + 1)).try_cast("bigint") for index in range(4)]
    return functools.reduce(
        operator.add, [octet * (1 << (24 - 8 * index)) for index, octet in enumerate(octets)]
    )


def ipv6_hex(text: Column) -> Column:
    """An IPv6 ``address`` (``fe80::1``, ``::ffff:192.0.2.7``) as its 128 bits in 32 lower-case
    hex digits, whose text order is the addresses' order."""

    def hextets_only(address_text: Column) -> Column:
        # A dotted IPv4 tail as the two hextets it stands for.
        dotted = sf.regexp_extract(address_text, DOTTED_TAIL, 0)

        def two_hextets(number_of: Column) -> Column:
            high, low = sf.floor(number_of / 65536), number_of % 65536
            return sf.concat(
                sf.lpad(sf.lower(sf.hex(high)), 4, "0"), sf.lit(":"), sf.lpad(sf.lower(sf.hex(low)), 4, "0")
            )

        return sf.when(dotted == "", address_text).otherwise(
            sf.concat(sf.regexp_replace(address_text, DOTTED_TAIL, ""), let(ipv4_number(dotted), two_hextets))
        )

    def groups(hextets_text: Column) -> Column:
        def around(halves: Column) -> Column:
            def hextets(half: Column) -> Column:
                return sf.when(half == "", sf.array().cast("array<string>")).otherwise(sf.split(half, ":"))

            head, tail = hextets(halves.getItem(0)), hextets(sf.element_at(halves, -1))
            zeros = sf.array_repeat(sf.lit("0"), 8 - sf.size(head) - sf.size(tail))
            return sf.when(sf.size(halves) == 2, sf.concat(head, zeros, tail)).otherwise(halves)

        return let(sf.split(hextets_text, "::"), around)

    def expanded(address_text: Column) -> Column:
        return let(hextets_only(address_text), groups)

    return sf.array_join(
        sf.transform(let(text, expanded), lambda group: sf.lpad(group, 4, "0")),
        "",
    )


def address_order(text: Column) -> Column:
    """An ``address`` as text that sorts as ``(version, int(ip))`` does: IPv4 before IPv6, each
    by number (port-scan.py's tie-break of two hosts probed on as many ports)."""
    v4 = sf.lpad(sf.lower(sf.hex(ipv4_number(text))), 8, "0")
    return sf.when(text.contains(":"), sf.concat(sf.lit("6"), ipv6_hex(text))).otherwise(
        sf.concat(sf.lit("4"), v4)
    )


def is_loopback(text: Column) -> Column:
    """An ``address`` in 127.0.0.0/8, ``::1``, or an IPv4-mapped loopback address. Those IPv6
    texts start with ``::`` or ``0``: only they are expanded, not every IPv6 address of a log."""
    v6 = let(ipv6_hex(text), lambda hexed: (hexed == LOOPBACK_V6) | hexed.startswith(MAPPED_LOOPBACK_V6))
    zeros_first = text.startswith(":") | text.startswith("0")
    return sf.when(text.contains(":"), zeros_first & v6).otherwise(text.startswith("127."))


def in_networks(text: Column, nets: tuple[Network, ...]) -> Column:
    """Whether an ``address`` is in one of ``nets`` (of its own IP version): a range test of its
    number per network, the networks' bounds computed here, on the driver."""
    v4 = [net for net in nets if net.version == 4]
    v6 = [net for net in nets if net.version == 6]

    def in_v4(number_of: Column) -> Column:
        return any_of([number_of.between(int(net.network_address), int(net.broadcast_address)) for net in v4])

    def in_v6(hexed: Column) -> Column:
        bounds = [(f"{int(net.network_address):032x}", f"{int(net.broadcast_address):032x}") for net in v6]
        return any_of([hexed.between(low, high) for low, high in bounds])

    conditions = []
    if v4:
        conditions.append(~text.contains(":") & in_v4(ipv4_number(text)))
    if v6:  # only IPv6 addresses reach the lambda
        conditions.append(sf.when(text.contains(":"), let(ipv6_hex(text), in_v6)).otherwise(False))
    return any_of(conditions)


# ----------------------------------------------------------------------------- probes

TIME = "@timestamp"  # the events' time, as dataShark names it
PROBE_FIELDS = ("src", "dst", "target", "proto", "port", "action", "weight")
# conn_state: never answered or refused; set up (with data: `accepted_weight`, without: fully).
ZEEK_FAILED = ("S0", "REJ", "RSTOS0", "SH")
ZEEK_ESTABLISHED = ("S1", "SF", "S2", "S3", "RSTO", "RSTR")
PORT_PROTOCOLS = ("tcp", "udp", "sctp", "udplite", "dccp")
# ICMP types that ask something of a host (Zeek's id.orig_p): echo, timestamp, information and
# address-mask requests; ICMPv6 echo request and node-information query.
ICMP_PROBES = (8, 13, 15, 17)
ICMPV6_PROBES = (128, 139)
ACTIONS = ("blocked", "allowed", "logged")


def event_time() -> Column:
    """The events' time column (its name needs backquotes in text Spark parses)."""
    return sf.col(f"`{TIME}`")


def column(name: str) -> Column:
    """An event column by its name as Zeek writes it (``id.orig_h``: the dot is part of it)."""
    return sf.col(f"`{name}`")


def port(value: Column) -> Column:
    """A port number (0 to 65535), NULL for anything else."""
    number_of = value.try_cast("int")
    return sf.when(number_of.between(0, 65535), number_of)


def probes(events: DataFrame, settings: Settings) -> DataFrame:
    """The probes of Zeek conn.log events (port-scan.py's ``from_zeek`` and ``probes``): one row
    per probe with ``src``, ``dst``, ``target`` (``tcp/22``, ``udp/161``, ``icmp``), ``proto``,
    ``port`` (NULL for ICMP), ``action`` (blocked, allowed, logged), ``weight`` and the time."""
    src, dst = address(column("id.orig_h")), address(column("id.resp_h"))
    proto = sf.lower(column("proto").cast("string"))
    origin_port, responder_port = port(column("id.orig_p")), port(column("id.resp_p"))
    state = column("conn_state")
    icmp = proto == "icmp"
    # Zeek writes an ICMP message's type in id.orig_p.
    asks = sf.when(dst.contains(":"), origin_port.isin(*ICMPV6_PROBES)).otherwise(
        origin_port.isin(*ICMP_PROBES)
    )
    answer = (proto == "udp") & (origin_port < 1024) & (responder_port >= 1024)
    skipped = sf.coalesce(answer, sf.lit(False)) if settings.skip_udp_replies else sf.lit(False)
    target = sf.when(icmp, sf.when(asks, sf.lit("icmp"))).when(
        proto.isin(*PORT_PROTOCOLS) & responder_port.isNotNull() & ~skipped,
        sf.concat(proto, sf.lit("/"), responder_port.cast("string")),
    )
    empty = (proto == "tcp") & (column("orig_bytes") == 0) & (column("resp_bytes") == 0)
    action = (
        sf.when(icmp, sf.lit("logged"))
        .when(state.isin(*ZEEK_FAILED), sf.lit("blocked"))
        .when(
            state.isin(*ZEEK_ESTABLISHED),
            sf.when(sf.coalesce(empty, sf.lit(False)), "blocked").otherwise("allowed"),
        )
    )
    fields = events.select(
        src.alias("src"),
        dst.alias("dst"),
        target.alias("target"),
        proto.alias("proto"),
        sf.when(~icmp, responder_port).alias("port"),
        action.alias("action"),
        sf.when(action == "allowed", settings.accepted_weight).otherwise(1.0).alias("weight"),
        event_time(),
    )
    kept = [sf.col(name).isNotNull() for name in ("src", "dst", "target", "action")] + [
        event_time().isNotNull()
    ]
    if settings.ignore_loopback:
        kept.append(~is_loopback(sf.col("src")) & ~is_loopback(sf.col("dst")))
    if settings.ignore_sources:
        kept.append(~in_networks(sf.col("src"), settings.ignore_sources))
    probe = sf.struct(*[sf.col(name) for name in PROBE_FIELDS])
    # Each event's probes, a list of none or one, exploded (port-scan.py's flatMap) rather than a
    # filter: Spark moves a filter below the watermark, which would then see probes only.
    chosen = sf.explode(sf.array_compact(sf.array(sf.when(functools.reduce(operator.and_, kept), probe))))
    return fields.select(event_time(), chosen.alias("probe")).select("probe.*", event_time())


# ----------------------------------------------------------------------------- windows


def windows(found: DataFrame, settings: Settings) -> DataFrame:
    """One row per source and window: its counts, and ``pairs``, one struct per (host, target) it
    probed with the highest weight seen and the number of probes.

    Two window aggregations, chained as Structured Streaming allows in append mode (Spark 3.4+):
    per (source, host, target), then per source, whose window is the first one's
    (``window_time``: its last microsecond). The state a stream keeps is one entry per pair, not
    per probe: a client's thousand connections to one server are one pair."""
    size = interval(settings.window_minutes)
    pairs = found.groupBy(
        sf.window(event_time(), size).alias("window"), "src", "dst", "target", "proto", "port"
    ).agg(
        sf.max("weight").alias("weight"),
        sf.count(sf.lit(1)).alias("probes"),
        *[sf.count_if(sf.col("action") == action).alias(action) for action in ACTIONS],
        sf.min(event_time()).alias("first_seen"),
        sf.max(event_time()).alias("last_seen"),
    )
    pair = sf.struct(
        address_order(sf.col("dst")).alias("order"),
        "dst",
        "proto",
        sf.coalesce("port", sf.lit(-1)).alias("port_order"),
        "port",
        "target",
        "weight",
        "probes",
    )
    return pairs.groupBy(sf.window(sf.window_time("window"), size).alias("window"), "src").agg(
        sf.sum("probes").alias("probes"),
        *[sf.sum(action).alias(action) for action in ACTIONS],
        sf.min("first_seen").alias("first_seen"),
        sf.max("last_seen").alias("last_seen"),
        sf.collect_list(pair).alias("pairs"),
    )


def runs(items: Column, key: str) -> Column:
    """``items``, an array of structs sorted so that equal ``key`` fields are adjacent, as one
    struct per run of them: its first item, with ``weight`` and ``probes`` summed over the run.

    Linear: each run sums its own slice, where filtering the array once per key would be
    quadratic (a full scan's 65,535 ports). ``items`` must be a lambda's variable (see ``let``):
    Spark evaluates a lambda's body, and any expression it names, once per element."""
    count = sf.size(items)
    starts = sf.filter(
        sf.sequence(sf.lit(1), sf.greatest(count, sf.lit(1))),
        lambda at: sf.when(at == 1, sf.lit(True)).otherwise(
            sf.element_at(items, at)[key] != sf.element_at(items, at - 1)[key]
        ),
    )
    zero = sf.struct(sf.lit(0.0).alias("weight"), sf.lit(0).cast("bigint").alias("probes"))

    def run(start: Column, end: Column) -> Column:
        total = sf.aggregate(
            sf.slice(items, start, end - start),
            zero,
            lambda acc, item: sf.struct(
                (acc["weight"] + item["weight"]).alias("weight"),
                (acc["probes"] + item["probes"]).alias("probes"),
            ),
        )
        first = sf.try_element_at(items, start)
        return first.withField("weight", total["weight"]).withField("probes", total["probes"])

    def cut(at: Column) -> Column:
        ends = sf.concat(sf.slice(at, 2, sf.greatest(sf.size(at) - 1, sf.lit(0))), sf.array(count + 1))
        # No items: one empty run, of no probes, left out.
        return sf.filter(sf.zip_with(at, ends, run), lambda group: group["probes"] > 0)

    return let(starts, cut)


def heaviest(groups: Column) -> Column:
    """The first of ``groups`` with the highest ``weight`` (they come in their tie-break order),
    NULL when there is none."""
    return sf.aggregate(
        groups,
        sf.try_element_at(groups, sf.lit(1)),
        lambda best, group: sf.when(group["weight"] > best["weight"], group).otherwise(best),
    )


def ranked(groups: Column, name: str, limit: int) -> Column:
    """``name=probes`` of the ``limit`` groups with the most probes, ties in the groups' order,
    space-separated: port-scan.py's ``most_hit`` and ``protocols``."""
    rank = sf.transform(
        groups,
        lambda group: sf.struct(
            (-group["probes"]).alias("rank"),
            group["proto"].alias("proto"),
            group["port_order"].alias("port_order"),
            group[name].alias("name"),
            group["probes"].alias("probes"),
        ),
    )
    top = sf.slice(sf.array_sort(rank), 1, limit)
    return sf.array_join(
        sf.transform(
            top, lambda group: sf.concat(group["name"], sf.lit("="), group["probes"].cast("string"))
        ),
        " ",
    )


HOST_FIELDS = ("order", "dst", "weight", "probes")  # sorted by address
TARGET_FIELDS = ("proto", "port_order", "target", "port", "weight", "probes")  # by protocol and port


def measures(pairs: Column) -> Column:
    """A window's ``pairs`` summed per host and per target, as port-scan.py's ``scan_targets``,
    ``lowest_ports``, ``most_hit`` and ``protocols`` measure them: a struct of those fields.

    One expression of nested ``let``s: the sorted pairs and their runs are each made once per
    window, and Spark's optimizer cannot copy them into the lambdas that read them."""

    def fields(names: tuple[str, ...]) -> Any:
        return lambda pair: sf.struct(*[pair[name].alias(name) for name in names])

    port_pairs = sf.filter(pairs, lambda pair: pair["target"] != "icmp")
    ordered = sf.struct(
        sf.array_sort(sf.transform(port_pairs, fields(HOST_FIELDS))).alias("by_host"),
        sf.array_sort(sf.transform(pairs, fields(TARGET_FIELDS))).alias("by_target"),
    )

    def summed(sorted_pairs: Column) -> Column:
        return sf.struct(
            runs(sorted_pairs["by_host"], "order").alias("hosts"),
            runs(sorted_pairs["by_target"], "target").alias("targets"),
            runs(sorted_pairs["by_target"], "proto").alias("protocols"),
        )

    def summary(groups: Column) -> Column:
        top_host, top_target = heaviest(groups["hosts"]), heaviest(groups["targets"])
        port_targets = sf.filter(groups["targets"], lambda target: target["target"] != "icmp")
        ports = sf.array_sort(sf.array_distinct(sf.transform(port_targets, lambda target: target["port"])))
        return sf.struct(
            sf.size(port_targets).alias("distinct_ports"),
            top_host["dst"].alias("top_host"),
            sf.coalesce(rounded(top_host["weight"], 2), sf.lit(0.0)).alias("ports_on_top_host"),
            top_target["target"].alias("top_port"),
            sf.coalesce(rounded(top_target["weight"], 2), sf.lit(0.0)).alias("hosts_on_top_port"),
            sf.array_join(sf.transform(sf.slice(ports, 1, 10), lambda port: port.cast("string")), " ").alias(
                "lowest_ports"
            ),
            ranked(groups["targets"], "target", 5).alias("most_hit"),
            ranked(groups["protocols"], "proto", 5).alias("protocols"),
        )

    return let(let(ordered, summed), summary)


COMBINED_BONUS = 5.0  # severity.combined's: each signal beyond the strongest
LEVELS = ((80, "critical"), (60, "high"), (40, "medium"), (20, "low"))  # severity.level_of's bands
MEASURES = (
    "distinct_ports",
    "top_host",
    "ports_on_top_host",
    "top_port",
    "hosts_on_top_port",
    "lowest_ports",
    "most_hit",
    "protocols",
)


def grows_with(value: Column, *, threshold: float, saturation: float) -> Column:
    """severity.grows_with(value, threshold, saturation, low=LOW, high=HIGH) as a column; the
    logarithm of the saturation is Python's, as in port-scan.py."""
    if saturation <= threshold:
        return sf.when(value < threshold, 0.0).otherwise(HIGH)
    share = sf.ln(value / threshold) / math.log(saturation / threshold)
    return (
        sf.when(value < threshold, 0.0)
        .when(value >= saturation, HIGH)
        .otherwise(rounded(LOW + (HIGH - LOW) * share, 1))
    )


def level_of(score: Column) -> Column:
    """severity.level_of(score) as a column."""
    (floor, name), *lower = LEVELS
    bands = sf.when(score >= floor, name)
    for floor, name in lower:
        bands = bands.when(score >= floor, name)
    return bands.otherwise("informational")


def findings(rows: DataFrame, settings: Settings) -> DataFrame:
    """The windows that scanned, as finding rows: ``key`` (the source), ``score`` and
    port-scan.py's metadata, in its order."""
    measured = rows.select(
        "*",
        measures(sf.col("pairs")).alias("measured"),
        sf.size(sf.array_distinct(sf.transform("pairs", lambda pair: pair["dst"]))).alias("distinct_hosts"),
        in_networks(sf.col("src"), settings.internal_networks).alias("internal_source"),
    ).select("*", *[sf.col("measured")[name].alias(name) for name in MEASURES])
    vertical = grows_with(
        sf.col("ports_on_top_host"), threshold=settings.ports_threshold, saturation=settings.ports_saturation
    )
    horizontal = grows_with(
        sf.col("hosts_on_top_port"), threshold=settings.hosts_threshold, saturation=settings.hosts_saturation
    )
    signals = sf.filter(
        sf.array(
            sf.when(sf.col("vertical") > 0, "vertical_scan"),
            sf.when(sf.col("horizontal") > 0, "horizontal_scan"),
        ),
        lambda name: name.isNotNull(),
    )
    scanned = (
        measured.select("*", vertical.alias("vertical"), horizontal.alias("horizontal"))
        .select("*", signals.alias("signals"))
        .filter(sf.size("signals") > 0)
    )
    strongest = sf.greatest("vertical", "horizontal")
    combined = sf.least(sf.lit(MAXIMUM), rounded(strongest + COMBINED_BONUS * (sf.size("signals") - 1), 1))
    internal = sf.col("internal_source")
    with_bonus = sf.least(sf.lit(MAXIMUM), rounded(sf.col("combined") + settings.internal_bonus, 1))
    scored = scanned.select("*", combined.alias("combined")).select(
        "*", sf.when(internal, with_bonus).otherwise(sf.col("combined")).alias("score")
    )
    return scored.select(
        sf.col("src").alias("key"),
        "score",
        iso_time(sf.col("window.start")).alias("window_start"),
        iso_time(sf.col("window.end")).alias("window_end"),
        iso_time(sf.col("first_seen")).alias("first_seen"),
        iso_time(sf.col("last_seen")).alias("last_seen"),
        level_of(sf.col("score")).alias("level"),
        "signals",
        sf.when(internal, sf.array(sf.lit("T1046")))
        .otherwise(sf.array(sf.lit("T1595.001"), sf.lit("T1046")))
        .alias("mitre"),
        "internal_source",
        "probes",
        "distinct_ports",
        "distinct_hosts",
        "top_host",
        "ports_on_top_host",
        "top_port",
        "hosts_on_top_port",
        "lowest_ports",
        "most_hit",
        "protocols",
        *ACTIONS,
    )


def load(events: DataFrame, conf: Any) -> DataFrame:
    """Port-scan findings of Zeek conn.log ``events`` (a DataFrame, batch or streaming, with
    ``@timestamp``): one row per scanning source address and window."""
    settings = Settings.from_conf(conf)
    # The stream's time is the log's: every event moves the watermark, probe or not, so a quiet
    # source's window closes once the log is `late_minutes` past its end.
    timed = events.withWatermark(f"`{TIME}`", interval(settings.late_minutes))
    rows = windows(probes(timed, settings), settings)
    # A probe weighs at most 1 and counts once per (host, target) (with the default weights): fewer
    # probes than the lower threshold reach neither, so most windows stop here, as in port-scan.py.
    least = min(settings.ports_threshold, settings.hosts_threshold)
    return findings(rows.filter(sf.col("probes") >= least), settings)
