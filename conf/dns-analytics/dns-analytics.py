"""DNS analytics over Zeek's dns.log: per client address and window, the clients that resolve
many machine-generated, rare, mostly non-existent domains (a DGA), that carry data in query
names (DNS tunnelling), or that ask for very many names that do not exist (an NXDOMAIN storm).

One windowing, keyed by **registered domain**: each domain's window holds, per client, what
that client asked below it. The domain's window knows how many clients asked for it (rarity,
which a per-client windowing cannot see); its per-client entries are then regrouped by client.
All windows of one windowing with the same start close at the same watermark, so in a stream
every domain window of a client's window is emitted in the same batch, and the regrouping is a
plain ``reduceByKey``: batch and streaming give the same findings. See README.md for the score,
the signals and the tuning keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from dns_names import INTERNET, entropy, looks_generated, name_parts, normal_name, under

from datashark.detect.addresses import address_text, in_networks
from datashark.detect.measures import event_micros, utc_time
from datashark.detect.memo import remembered
from datashark.detect.severity import CRITICAL, HIGH, LOW, MEDIUM, combined, grows_with, level_of
from datashark.detect.tuning import items, networks, number
from datashark.detect.windows import Window, per_entity

NAME = "dns-analytics"

# Reputation services that encode a file hash, URL or address in the query name (an endpoint
# asks one name per file it scans), and DNS blocklists that mail servers query per message.
DEFAULT_REPUTATION_DOMAINS = (
    "mcafee.com, sophosxl.net, e5.sk, eset.com, trendmicro.com, avast.com, avg.com, "
    "kaspersky.com, kaspersky-labs.com, bitdefender.net, cymru.com, spamhaus.org, spamhaus.net, "
    "spamcop.net, sorbs.net, barracudacentral.org, surbl.org, uribl.com, mailspike.net, "
    "dnswl.org, senderscore.com, abuseat.org, senderbase.org"
)
# Query types a client rarely asks for but tunnels use to carry data back (TXT, NULL, …).
DEFAULT_TUNNEL_QTYPES = "TXT, NULL, CNAME, MX, ANY, PRIVATE"
# mDNS, LLMNR and NetBIOS name service: Zeek logs them in dns.log; local discovery, no DNS.
LOCAL_DISCOVERY_PORTS = frozenset({5353, 5355, 137})

# ----------------------------------------------------------------------------- settings


def _words(value: Any) -> tuple[str, ...]:
    """Names (or query types) of a conf value, separated by commas or blanks, in lower case."""
    return tuple(word.lower().rstrip(".") for item in items(value) for word in item.split())


@dataclass(frozen=True)
class Settings:
    """The use case's tuning keys, read once from the conf (see README.md for each one)."""

    window_minutes: float = 60
    late_minutes: float = 2
    idle_minutes: float = 5
    rare_clients_max: float = 3
    dga_domains_threshold: float = 10
    dga_domains_saturation: float = 500
    dga_nxdomain_share: float = 0.5
    tunnel_subdomains_threshold: float = 50
    tunnel_subdomains_saturation: float = 10000
    tunnel_name_length: float = 24
    tunnel_qtype_share: float = 0.5
    nxdomain_threshold: float = 150
    nxdomain_saturation: float = 20000
    samples: float = 5
    tunnel_qtypes: frozenset = frozenset(_words(DEFAULT_TUNNEL_QTYPES.lower()))
    reputation_domains: frozenset = frozenset(_words(DEFAULT_REPUTATION_DOMAINS))
    ignore_domains: frozenset = frozenset()
    ignore_clients: tuple = ()

    NUMBERS = (
        "window_minutes",
        "late_minutes",
        "idle_minutes",
        "rare_clients_max",
        "dga_domains_threshold",
        "dga_domains_saturation",
        "dga_nxdomain_share",
        "tunnel_subdomains_threshold",
        "tunnel_subdomains_saturation",
        "tunnel_name_length",
        "tunnel_qtype_share",
        "nxdomain_threshold",
        "nxdomain_saturation",
        "samples",
    )
    POSITIVE = (
        "window_minutes",
        "dga_domains_threshold",
        "tunnel_subdomains_threshold",
        "nxdomain_threshold",
    )
    SHARES = ("dga_nxdomain_share", "tunnel_qtype_share")

    @classmethod
    def from_conf(cls, conf: Any) -> Settings:
        def get(key: str, default: Any) -> Any:
            value = conf.get(key) if hasattr(conf, "get") else None
            return default if value is None or value == "" else value

        defaults = cls()
        numbers = {name: number(name, get(name, getattr(defaults, name))) for name in cls.NUMBERS}
        for name in cls.POSITIVE:
            if numbers[name] <= 0:
                raise ValueError(f"{NAME}: {name} must be above 0, not {numbers[name]:g}")
        for name in cls.SHARES:
            if not 0 <= numbers[name] <= 1:
                raise ValueError(f"{NAME}: {name} must be a share from 0 to 1, not {numbers[name]:g}")
        return cls(
            **numbers,
            tunnel_qtypes=frozenset(_words(get("tunnel_qtypes", DEFAULT_TUNNEL_QTYPES))),
            reputation_domains=frozenset(_words(conf.get("reputation_domains", DEFAULT_REPUTATION_DOMAINS))),
            ignore_domains=frozenset(_words(get("ignore_domains", ""))),
            ignore_clients=networks("ignore_clients", get("ignore_clients", "")),
        )


# ----------------------------------------------------------------------------- queries

# A query as the windowing reads it: a tuple, indexed by these.
CLIENT, DOMAIN, SUBDOMAIN, NXDOMAIN, ODD_QTYPE, TIME = range(6)


@remembered
def is_nxdomain(event: dict) -> bool:
    """Whether the answer was NXDOMAIN (the name does not exist)."""
    name = event.get("rcode_name")
    return name == "NXDOMAIN" if name is not None else event.get("rcode") == 3


def query_of(settings: Settings, ignored_client, event: Any) -> list[tuple]:
    """The query a Zeek dns.log record is, as a tuple (``CLIENT``, ``DOMAIN``…; a list of one),
    or none: names that are never findings (reverse lookups, local, service and DNSBL names,
    internal TLDs), local discovery (mDNS, LLMNR, NetBIOS), ignored clients and domains."""
    if not isinstance(event, dict) or event.get("id.resp_p") in LOCAL_DISCOVERY_PORTS:
        return []
    if event.get("_path", "dns") != "dns":  # another log of a shared Kafka topic
        return []
    name = normal_name(event.get("query"))
    if name is None:
        return []
    parts = name_parts(name)
    if parts.kind != INTERNET:
        return []
    client = address_text(event.get("id.orig_h"))
    if client is None or ignored_client(client):
        return []
    if under(parts.registered, settings.reputation_domains) or under(name, settings.ignore_domains):
        return []
    qtype = event.get("qtype_name")
    odd = qtype if isinstance(qtype, str) and qtype.lower() in settings.tunnel_qtypes else None
    return [(client, parts.registered, parts.subdomain, is_nxdomain(event), odd, event.get("@timestamp"))]


def query_time(query: tuple) -> Any:
    return query[TIME]


def query_domain(query: tuple) -> str:
    return query[DOMAIN]


# ----------------------------------------------------------------------------- the measure

# One client's queries below one registered domain in a window: a list, indexed by these.
QUERIES, NX_QUERIES, NAME_BYTES, FIRST, LAST, SUBDOMAINS, NX_SUBDOMAINS, ODD_QTYPES = range(8)


def new_entry() -> list:
    return [0, 0, 0, None, None, set(), set(), {}]


class clients_of_domain:  # noqa: N801 - read as a measure, like count() and distinct()
    """Per client, what it asked below the domain: queries, NXDOMAIN answers, bytes of the
    names below the domain, first and last time, the distinct names below it, those answered
    NXDOMAIN, and the uncommon query types asked. The result is that dict, by client."""

    def start(self) -> dict:
        return {}

    def add(self, acc: dict, query: tuple) -> dict:
        entry = acc.get(query[CLIENT])
        if entry is None:
            entry = acc[query[CLIENT]] = new_entry()
        subdomain = query[SUBDOMAIN]
        entry[QUERIES] += 1
        entry[NAME_BYTES] += len(subdomain)
        entry[SUBDOMAINS].add(subdomain)
        if query[NXDOMAIN]:
            entry[NX_QUERIES] += 1
            entry[NX_SUBDOMAINS].add(subdomain)
        if query[ODD_QTYPE] is not None:
            odd = entry[ODD_QTYPES]
            odd[query[ODD_QTYPE]] = odd.get(query[ODD_QTYPE], 0) + 1
        micros = event_micros(query[TIME])
        if micros is not None:
            if entry[FIRST] is None or micros < entry[FIRST]:
                entry[FIRST] = micros
            if entry[LAST] is None or micros > entry[LAST]:
                entry[LAST] = micros
        return acc

    def merge(self, a: dict, b: dict) -> dict:
        for client, other in b.items():
            entry = a.get(client)
            if entry is None:
                a[client] = other
                continue
            for i in (QUERIES, NX_QUERIES, NAME_BYTES):
                entry[i] += other[i]
            entry[FIRST] = _earlier(entry[FIRST], other[FIRST])
            entry[LAST] = _later(entry[LAST], other[LAST])
            entry[SUBDOMAINS] |= other[SUBDOMAINS]
            entry[NX_SUBDOMAINS] |= other[NX_SUBDOMAINS]
            for qtype, n in other[ODD_QTYPES].items():
                entry[ODD_QTYPES][qtype] = entry[ODD_QTYPES].get(qtype, 0) + n
        return a

    def result(self, acc: dict) -> dict:
        return acc

    def __repr__(self) -> str:
        return "clients_of_domain()"


def _earlier(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _later(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


# ----------------------------------------------------------------------------- per domain


def is_tunnel(settings: Settings, entry: list) -> bool:
    """Whether one client's queries below one domain carry data: many distinct names below it,
    long on average or mostly of uncommon query types (TXT, NULL…)."""
    subdomains = entry[SUBDOMAINS]
    if len(subdomains) < settings.tunnel_subdomains_threshold:
        return False
    mean_length = sum(map(len, subdomains)) / len(subdomains)
    odd_share = sum(entry[ODD_QTYPES].values()) / entry[QUERIES]
    return mean_length >= settings.tunnel_name_length or odd_share >= settings.tunnel_qtype_share


def worth_reading(settings: Settings, clients: dict) -> bool:
    """Whether a domain's window can add to a finding: it is rare (a DGA's domain or a tunnel's
    can only be), or a client of it had an NXDOMAIN answer. Popular domains that resolve, most
    of the traffic, stop here."""
    if len(clients) <= settings.rare_clients_max:
        return True
    return any(entry[NX_QUERIES] for entry in clients.values())


def client_parts(settings: Settings, window: Any) -> list[tuple]:
    """What one domain's window adds to each of its clients' findings: ``((client, window
    start), part)`` for the clients it adds anything to (see ``merge_parts``)."""
    domain = window.entity
    clients = window.values["clients"]
    rare = len(clients) <= settings.rare_clients_max
    generated = rare and looks_generated(domain.partition(".")[0])
    found = []
    for client, entry in clients.items():
        part = empty_part(entry)
        if entry[NX_SUBDOMAINS]:
            full = [_full(sub, domain) for sub in sorted(entry[NX_SUBDOMAINS])[: int(settings.samples)]]
            part["nx_names"] = len(entry[NX_SUBDOMAINS])
            part["nx_samples"] = full
            part["nx_domains"] = [(domain, len(entry[NX_SUBDOMAINS]))]
        if generated:
            part["generated"] = [(domain, entry[QUERIES], entry[NX_QUERIES], len(clients))]
        if rare and is_tunnel(settings, entry):
            part["tunnels"] = [tunnel_summary(domain, entry, len(clients))]
        if part["nx_names"] or part["generated"] or part["tunnels"]:
            found.append(((client, window.start), part))
    return found


def _full(subdomain: str, domain: str) -> str:
    return f"{subdomain}.{domain}" if subdomain else domain


def tunnel_summary(domain: str, entry: list, clients: int) -> dict:
    """How much one client sent below one domain: distinct names, bytes in names, mean name
    length and entropy (bits per character, dots left out), uncommon query types, samples."""
    subdomains = entry[SUBDOMAINS]
    longest = sorted(subdomains, key=lambda sub: (-len(sub), sub))[:3]
    return {
        "domain": domain,
        "subdomains": len(subdomains),
        "queries": entry[QUERIES],
        "name_bytes": entry[NAME_BYTES],
        "mean_length": round(sum(map(len, subdomains)) / len(subdomains), 1),
        "mean_entropy": round(sum(entropy(sub.replace(".", "")) for sub in subdomains) / len(subdomains), 2),
        "qtypes": dict(entry[ODD_QTYPES]),
        "clients": clients,
        "samples": [_full(sub, domain) for sub in longest],
    }


def empty_part(entry: list) -> dict:
    """A client's part of one domain window, before what it holds is filled in."""
    return {
        "first": entry[FIRST],
        "last": entry[LAST],
        "nx_names": 0,
        "nx_samples": [],
        "nx_domains": [],
        "generated": [],
        "tunnels": [],
    }


def merge_parts(samples: int, a: dict, b: dict) -> dict:
    """Two parts of one client's window, from different domains: counts add, lists join."""
    return {
        "first": _earlier(a["first"], b["first"]),
        "last": _later(a["last"], b["last"]),
        "nx_names": a["nx_names"] + b["nx_names"],
        "nx_samples": sorted(a["nx_samples"] + b["nx_samples"])[:samples],
        "nx_domains": a["nx_domains"] + b["nx_domains"],
        "generated": a["generated"] + b["generated"],
        "tunnels": a["tunnels"] + b["tunnels"],
    }


# ----------------------------------------------------------------------------- findings


def scores(settings: Settings, part: dict) -> dict[str, float]:
    """Each signal's score (0: did not fire): ``dga``, ``dns_tunnel``, ``nxdomain_storm``."""
    generated = part["generated"]
    dga = 0.0
    if generated:
        nx_share = sum(1 for item in generated if item[2]) / len(generated)
        if nx_share >= settings.dga_nxdomain_share:
            dga = grows_with(
                len(generated),
                threshold=settings.dga_domains_threshold,
                saturation=settings.dga_domains_saturation,
                low=MEDIUM,
                high=CRITICAL,
            )
    tunnel = max(
        (
            grows_with(
                item["subdomains"],
                threshold=settings.tunnel_subdomains_threshold,
                saturation=settings.tunnel_subdomains_saturation,
                low=MEDIUM,
                high=CRITICAL,
            )
            for item in part["tunnels"]
        ),
        default=0.0,
    )
    storm = grows_with(
        part["nx_names"],
        threshold=settings.nxdomain_threshold,
        saturation=settings.nxdomain_saturation,
        low=LOW,
        high=HIGH,
    )
    return {"dga": dga, "dns_tunnel": tunnel, "nxdomain_storm": storm}


MITRE = {
    "dga": ["T1568.002"],
    "dns_tunnel": ["T1071.004", "T1572", "T1048.003"],
    "nxdomain_storm": ["T1568.002"],
}


def _counted(pairs: list) -> str:
    return " ".join(f"{value}={number}" for value, number in pairs)


def finding(settings: Settings, keyed: tuple) -> list[tuple]:
    """The row of a client's window when a signal fired (a list of one), else none."""
    (client, start), part = keyed
    fired = scores(settings, part)
    signals = sorted((name for name, score in fired.items() if score), key=lambda name: -fired[name])
    if not signals:
        return []
    score = combined(fired.values())
    samples = int(settings.samples)
    generated = sorted(part["generated"], key=lambda item: (-item[1], item[0]))
    tunnels = sorted(part["tunnels"], key=lambda item: (-item["subdomains"], item["domain"]))
    top_tunnel = tunnels[0] if tunnels else {}
    nx_domains = sorted(part["nx_domains"], key=lambda item: (-item[1], item[0]))[:samples]
    offending = []
    for domain in [item["domain"] for item in tunnels if fired["dns_tunnel"]] + [
        item[0] for item in generated if fired["dga"]
    ]:
        if domain not in offending:
            offending.append(domain)
    if fired["nxdomain_storm"]:
        offending += [domain for domain, _ in nx_domains if domain not in offending]
    mitre: list[str] = []
    for name in signals:
        mitre += [item for item in MITRE[name] if item not in mitre]
    metadata = {
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(minutes=settings.window_minutes)).isoformat(),
        "first_seen": utc_time(part["first"]).isoformat() if part["first"] is not None else None,
        "last_seen": utc_time(part["last"]).isoformat() if part["last"] is not None else None,
        "level": level_of(score),
        "signals": signals,
        "mitre": mitre,
        "registered_domains": offending[:samples],
        "generated_domains": len(generated),
        "generated_nxdomain": sum(1 for item in generated if item[2]),
        "generated_samples": [item[0] for item in generated[:samples]],
        "tunnel_domain": top_tunnel.get("domain"),
        "tunnel_subdomains": top_tunnel.get("subdomains", 0),
        "tunnel_queries": top_tunnel.get("queries", 0),
        "tunnel_name_bytes": top_tunnel.get("name_bytes", 0),
        "tunnel_mean_length": top_tunnel.get("mean_length", 0),
        "tunnel_mean_entropy": top_tunnel.get("mean_entropy", 0),
        "tunnel_qtypes": _counted(sorted(top_tunnel.get("qtypes", {}).items())),
        "tunnel_samples": top_tunnel.get("samples", []),
        "nxdomain_names": part["nx_names"],
        "nxdomain_top_domains": _counted(nx_domains),
        "nxdomain_samples": part["nx_samples"],
    }
    return [(client, score, metadata)]


# ----------------------------------------------------------------------------- load


def window_of(settings: Settings) -> Window:
    """The tumbling window of the settings."""
    return Window(
        size=timedelta(minutes=settings.window_minutes),
        late=timedelta(minutes=settings.late_minutes),
        idle=timedelta(minutes=settings.idle_minutes),
    )


class ClientFilter:
    """Whether a client address is one of ``ignore_clients``, answered once per address."""

    def __init__(self, networks: tuple) -> None:
        self.networks = networks
        self.answers: dict[str, bool] = {}

    def __call__(self, address: str) -> bool:
        if not self.networks:
            return False
        answer = self.answers.get(address)
        if answer is None:
            if len(self.answers) >= 65536:
                self.answers.clear()
            answer = self.answers[address] = in_networks(address, self.networks)
        return answer

    def __getstate__(self) -> dict:
        return {"networks": self.networks}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["networks"])


def load(events, conf):
    """DNS findings of ``events`` (an RDD or a DStream of Zeek dns.log records): one row per
    flagged client address and window."""
    settings = Settings.from_conf(conf)
    queries = events.flatMap(partial(query_of, settings, ClientFilter(settings.ignore_clients)))
    domains = per_entity(
        queries,
        key=query_domain,
        window=window_of(settings),
        measures={"clients": clients_of_domain()},
        name=NAME,
        time=query_time,
        # Most domains' windows (popular names that all resolve) can add nothing to a finding.
        when={"clients": partial(worth_reading, settings)},
    )
    return (
        domains.flatMap(partial(client_parts, settings))
        .reduceByKey(partial(merge_parts, int(settings.samples)))
        .flatMap(partial(finding, settings))
    )
