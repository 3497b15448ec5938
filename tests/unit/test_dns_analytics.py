"""The dns-analytics use case's pure functions: what a query name is (registered domain, kinds
never judged), how generated a label looks, the per-domain measure, the regrouping per client
and the score. Spark runs them in `bin/datashark test conf/dns-analytics` (its tests/)."""

from __future__ import annotations

import random
import string
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType

import pytest

from datashark.detect.windows import WindowResult
from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "dns-analytics"
WHEN = datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def dns() -> ModuleType:
    path = FOLDER / "dns-analytics.py"
    return import_file(path, unique_module_name("dns_analytics_unit", path))


@pytest.fixture(scope="module")
def names() -> ModuleType:
    path = FOLDER / "dns_names.py"
    return import_file(path, unique_module_name("dns_names_unit", path))


@pytest.fixture(scope="module")
def settings(dns: ModuleType):
    return dns.Settings.from_conf({})


def event(
    query: str, client: str = "10.0.0.5", rcode: str = "NOERROR", qtype: str = "A", port: int = 53
) -> dict:
    return {
        "id.orig_h": client,
        "id.resp_p": port,
        "query": query,
        "qtype_name": qtype,
        "rcode_name": rcode,
        "@timestamp": WHEN,
    }


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "registered"),
    [
        ("www.example.co.uk", "example.co.uk"),
        ("a.b.example.com", "example.com"),
        ("d31qbv1cthcecs.cloudfront.net", "cloudfront.net"),  # ICANN section: the CDN, not its customer
        ("x.blogspot.com", "blogspot.com"),
        ("co.uk", None),
        ("printer", None),
        ("host.corp", None),  # unknown TLD: an internal name
    ],
)
def test_registered_domain(names: ModuleType, name: str, registered: str | None) -> None:
    assert names.registered_domain(name) == registered


def test_normal_name(names: ModuleType) -> None:
    assert names.normal_name(" WWW.Example.COM. ") == "www.example.com"
    assert names.normal_name("") is None
    assert names.normal_name(None) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("4.3.2.1.in-addr.arpa", "reverse"),
        ("b.a.9.8.ip6.arpa", "reverse"),
        ("printer.local", "local"),
        ("wpad", "local"),
        ("_ldap._tcp.dc._msdcs.corp.example.com", "service"),
        ("b._dns-sd._udp.example.com", "service"),
        ("4.3.2.1.zen.spamhaus.org", "dnsbl"),
        ("api.github.com.default.svc.cluster.corp", "internal"),
        ("www.example.com", "internet"),
    ],
)
def test_kinds_of_names(names: ModuleType, name: str, kind: str) -> None:
    assert names.name_parts(name).kind == kind


def test_name_parts_of_an_internet_name(names: ModuleType) -> None:
    parts = names.name_parts("a.b.shop.example.co.uk")
    assert (parts.registered, parts.subdomain, parts.label) == ("example.co.uk", "a.b.shop", "example")
    assert names.name_parts("example.co.uk").subdomain == ""


def test_under(names: ModuleType) -> None:
    domains = frozenset({"mcafee.com"})
    assert names.under("x.avqs.mcafee.com", domains)
    assert names.under("mcafee.com", domains)
    assert not names.under("notmcafee.com", domains)


def test_table_domain(names: ModuleType) -> None:
    assert names.table_domain("www.bbc.co.uk") == "bbc.co.uk"
    assert names.table_domain("4.3.2.1.in-addr.arpa") == "in-addr.arpa"
    assert names.table_domain("wpad") == "wpad"


# ----------------------------------------------------------------------------- label features


def test_entropy(names: ModuleType) -> None:
    assert names.entropy("") == 0.0
    assert names.entropy("aaaa") == 0.0
    assert names.entropy("abcd") == pytest.approx(2.0)


def test_features(names: ModuleType) -> None:
    features = names.label_features("ab12cdfg345")
    assert features.length == 11
    assert features.longest_digits == 3
    assert features.longest_consonants == 4  # "cdfg": digits end a run
    assert features.switches == 3


@pytest.mark.parametrize(
    "label",
    [
        *("google", "facebook", "wikipedia", "cloudfront", "googleusercontent", "weatherchannel"),
        *("stackoverflow", "theguardian", "salesforce", "atlassian", "bankofamerica", "xn--bcher-kva"),
        "my-online-shop-24",
    ],
)
def test_words_and_brands_do_not_look_generated(names: ModuleType, label: str) -> None:
    assert not names.looks_generated(label)


@pytest.mark.parametrize("label", ["xjwqkvbnrtplzd", "qndmyzvezyr", "3f9a1c7e2b8d4f60a1b2", "k3j9x8w2q7z1p4"])
def test_random_labels_look_generated(names: ModuleType, label: str) -> None:
    assert names.looks_generated(label)


def test_most_random_letter_labels_look_generated(names: ModuleType) -> None:
    rng = random.Random(1)
    labels = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(12, 20))) for _ in range(500)]
    assert sum(map(names.looks_generated, labels)) / len(labels) > 0.85


# ----------------------------------------------------------------------------- settings


def test_settings_defaults_and_errors(dns: ModuleType) -> None:
    settings = dns.Settings.from_conf(
        {"ignore_domains": "corp.example.com, Example.ORG", "ignore_clients": "10.9.0.0/16"}
    )
    assert settings.window_minutes == 60
    assert settings.ignore_domains == frozenset({"corp.example.com", "example.org"})
    with pytest.raises(ValueError, match="dga_domains_threshold must be a number"):
        dns.Settings.from_conf({"dga_domains_threshold": "ten"})
    with pytest.raises(ValueError, match="dga_nxdomain_share must be a share"):
        dns.Settings.from_conf({"dga_nxdomain_share": "2"})
    with pytest.raises(ValueError, match="ignore_clients must list addresses"):
        dns.Settings.from_conf({"ignore_clients": "mailserver"})
    with pytest.raises(ValueError, match="window_minutes must be above 0"):
        dns.Settings.from_conf({"window_minutes": "0"})


# ----------------------------------------------------------------------------- queries


def query(dns: ModuleType, settings, record: dict) -> list:
    return dns.query_of(settings, dns.ClientFilter(settings.ignore_clients), record)


def test_query_of_an_ordinary_name(dns: ModuleType, settings) -> None:
    [found] = query(dns, settings, event("Data.Example.co.uk", rcode="NXDOMAIN", qtype="TXT"))
    assert found == ("10.0.0.5", "example.co.uk", "data", True, "TXT", WHEN)


def test_only_dns_records_of_a_shared_topic_are_queries(dns: ModuleType, settings) -> None:
    assert query(dns, settings, {**event("www.example.com"), "_path": "dns"})
    assert query(dns, settings, {**event("www.example.com"), "_path": "http"}) == []


@pytest.mark.parametrize(
    "record",
    [
        event("4.3.2.1.in-addr.arpa", qtype="PTR"),
        event("_ldap._tcp.dc._msdcs.corp.example.com", qtype="SRV"),
        event("printer.local", port=5353),
        event("WPAD", qtype="NB", port=137),
        event("0.0.0.0.1.0.0.4e.abcdefghijklmnopqrstuvwxyz.avqs.mcafee.com"),
        event("4.3.2.1.zen.spamhaus.org", rcode="NXDOMAIN"),
        event("kfjdhsalq", rcode="NXDOMAIN"),  # a Chrome probe: one label
        event("-"),
    ],
)
def test_names_never_judged(dns: ModuleType, settings, record: dict) -> None:
    assert query(dns, settings, record) == []


def test_ignored_clients_and_domains(dns: ModuleType) -> None:
    settings = dns.Settings.from_conf({"ignore_clients": "10.0.0.0/24", "ignore_domains": "example.com"})
    assert query(dns, settings, event("www.example.org")) == []
    assert query(dns, settings, event("www.example.com", client="10.1.0.1")) == []
    assert query(dns, settings, event("www.example.org", client="10.1.0.1"))


# ----------------------------------------------------------------------------- measure and parts


def domain_window(dns: ModuleType, settings, records: list[dict]) -> WindowResult:
    measure = dns.clients_of_domain()
    acc = measure.start()
    domain = None
    for record in records:
        for item in query(dns, settings, record):
            domain = item[dns.DOMAIN]
            acc = measure.add(acc, item)
    return WindowResult(domain, WHEN, WHEN, {"clients": measure.result(acc)})


def test_measure_merges_as_it_adds(dns: ModuleType, settings) -> None:
    records = [event(f"n{i}.example.com", client=f"10.0.0.{i % 3}", rcode="NXDOMAIN") for i in range(9)]
    whole = domain_window(dns, settings, records).values["clients"]
    measure = dns.clients_of_domain()
    left = domain_window(dns, settings, records[:4]).values["clients"]
    right = domain_window(dns, settings, records[4:]).values["clients"]
    merged = measure.merge(left, right)
    assert {c: e[: dns.SUBDOMAINS] for c, e in merged.items()} == {
        c: e[: dns.SUBDOMAINS] for c, e in whole.items()
    }
    assert {c: e[dns.NX_SUBDOMAINS] for c, e in merged.items()} == {
        c: e[dns.NX_SUBDOMAINS] for c, e in whole.items()
    }


def test_popular_domain_that_resolves_is_left_out(dns: ModuleType, settings) -> None:
    records = [event("www.example.com", client=f"10.0.0.{i}") for i in range(10)]
    assert not dns.worth_reading(settings, domain_window(dns, settings, records).values["clients"])
    assert dns.worth_reading(settings, domain_window(dns, settings, records[:2]).values["clients"])


def test_tunnel_part(dns: ModuleType, settings) -> None:
    records = [event(f"{i:04x}{'ab' * 14}.t.example.com", client="10.0.0.7", qtype="TXT") for i in range(60)]
    [((client, start), part)] = dns.client_parts(settings, domain_window(dns, settings, records))
    assert (client, start) == ("10.0.0.7", WHEN)
    [tunnel] = part["tunnels"]
    assert (tunnel["domain"], tunnel["subdomains"], tunnel["qtypes"]) == ("example.com", 60, {"TXT": 60})
    assert tunnel["mean_length"] == 34.0


def test_dga_scores_and_finding(dns: ModuleType, settings) -> None:
    rng = random.Random(3)
    parts = []
    for _ in range(20):
        label = "".join(rng.choices("bcdfghjklmnpqrstvwxz", k=14))  # consonants only: always generated
        records = [event(f"{label}.info", client="10.0.0.66", rcode="NXDOMAIN")]
        parts += dns.client_parts(settings, domain_window(dns, settings, records))
    merged = parts[0][1]
    for _, part in parts[1:]:
        merged = dns.merge_parts(5, merged, part)
    [(client, score, metadata)] = dns.finding(settings, (("10.0.0.66", WHEN), merged))
    assert client == "10.0.0.66"
    assert score == pytest.approx(57.1)  # grows_with(20, 10, 500, MEDIUM, CRITICAL)
    assert metadata["signals"] == ["dga"]  # 20 NXDOMAIN names: no storm
    assert metadata["generated_domains"] == 20
    assert metadata["mitre"] == ["T1568.002"]
    assert metadata["window_end"] == "2025-03-03T11:00:00+00:00"
    assert len(metadata["generated_samples"]) == 5


def test_one_odd_name_is_no_finding(dns: ModuleType, settings) -> None:
    records = [event("xjwqkvbnrtplzd.com", client="10.0.0.7", rcode="NXDOMAIN")]
    [(key, part)] = dns.client_parts(settings, domain_window(dns, settings, records))
    assert dns.finding(settings, (key, part)) == []


def test_scores_combine(dns: ModuleType, settings) -> None:
    part = {
        "generated": [(f"d{i}.com", 1, 1, 1) for i in range(10)],
        "tunnels": [{"subdomains": 50}],
        "nx_names": 150,
    }
    fired = dns.scores(settings, part)
    assert fired == {"dga": 50.0, "dns_tunnel": 50.0, "nxdomain_storm": 30.0}
    part["generated"] = [(f"d{i}.com", 1, 0, 1) for i in range(10)]  # all resolved: not a DGA by default
    assert dns.scores(settings, part)["dga"] == 0.0
