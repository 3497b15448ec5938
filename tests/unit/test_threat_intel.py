"""The threat-intel use case's pure logic: reading indicator lists, looking event values up, the
score, and reloading changed lists (with a stand-in for Spark's broadcast). Nothing starts Spark:
``bin/datashark test conf/threat-intel`` runs the use case's cases through Spark."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType

import pytest

from datashark.errors import ConfigError
from datashark.loading.codeimport import import_file, unique_module_name

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "conf" / "threat-intel"

ZEEK_LIST = (
    "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n"
    "203.0.113.66\tIntel::ADDR\tc2-feed\tC2 server\n"
    "198.51.100.0/25\tIntel::SUBNET\t-\t-\n"
    "evil.example\tIntel::DOMAIN\tc2-feed\tC2 domain\n"
    "malware-drop.example/payload.exe\tIntel::URL\turl-feed\tdropper\n"
    "44D88612FEA8A8F36DE82E1278ABB02F\tIntel::FILE_HASH\thash-feed\tEICAR\n"
    "bad@phish.example\tIntel::EMAIL\tmail-feed\t-\n"
    "not-an-address\tIntel::ADDR\tc2-feed\tbroken\n"
    "x\tIntel::NO_SUCH_TYPE\tc2-feed\t-\n"
)


@pytest.fixture(scope="module")
def intel() -> ModuleType:
    path = FOLDER / "threat-intel.py"
    return import_file(path, unique_module_name("threat_intel_unit", path))


@pytest.fixture(scope="module")
def shared(intel):
    entries, skipped = intel.read_list(ZEEK_LIST, "zeek-list")
    assert skipped == 2
    return intel.Indicators.of(entries, 0.01).shared()


FIELDS = ("id.orig_h", "id.resp_h", "query", "answers", "host", "uri", "url", "md5")


def hits(intel, shared, event, fields=FIELDS):
    return sorted(
        m["indicator"] for m in intel.matches(intel.Lookup(shared), fields, ("id.orig_h", "src_ip"), event)
    )


# ----------------------------------------------------------------------------- reading lists


def test_zeek_intel_file_entries_keep_type_source_and_description(intel) -> None:
    entries, skipped = intel.read_list(ZEEK_LIST, "zeek-list")
    assert skipped == 2  # an ADDR that is no address, an unknown type
    first = entries[0]
    assert (first.indicator, first.type, first.source, first.description) == (
        "203.0.113.66",
        "Intel::ADDR",
        "c2-feed",
        "C2 server",
    )
    # meta.source unset ("-"): the file's name is the source.
    assert entries[1].source == "zeek-list"
    assert entries[1].description == ""


def test_plain_list_infers_types_and_skips_comments_and_junk(intel) -> None:
    text = (
        "# a feed\n\n203.0.113.9\n2001:db8:bad::/48   # v6 net\n0.0.0.0 ads.tracker.example\n"
        "https://download.example/run.ps1\n44d88612fea8a8f36de82e1278abb02f\nEvil.Example\nnot an indicator\n"
    )
    entries, skipped = intel.read_list(text, "plain")
    assert [(e.indicator, e.type) for e in entries] == [
        ("203.0.113.9", "Intel::ADDR"),
        ("2001:db8:bad::/48", "Intel::SUBNET"),
        ("ads.tracker.example", "Intel::DOMAIN"),
        ("https://download.example/run.ps1", "Intel::URL"),
        ("44d88612fea8a8f36de82e1278abb02f", "Intel::FILE_HASH"),
        ("Evil.Example", "Intel::DOMAIN"),
    ]
    assert {e.source for e in entries} == {"plain"}
    assert skipped == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "Intel::ADDR"),
        ("2001:db8::1", "Intel::ADDR"),
        ("192.0.2.0/24", "Intel::SUBNET"),
        ("evil.example", "Intel::DOMAIN"),
        ("evil.example/path", "Intel::URL"),
        ("http://evil.example", "Intel::URL"),
        ("a" * 40, "Intel::FILE_HASH"),
        ("b" * 64, "Intel::FILE_HASH"),
        ("localhost", None),
        ("999.1.1.1/8", None),
    ],
)
def test_infer_type(intel, text: str, expected: str | None) -> None:
    assert intel.infer_type(text) == expected


# ----------------------------------------------------------------------------- matching


def test_subdomains_match_a_listed_domain_and_near_misses_do_not(intel, shared) -> None:
    assert hits(intel, shared, {"id.orig_h": "10.0.0.1", "query": "a.b.evil.example"}) == ["evil.example"]
    assert hits(intel, shared, {"id.orig_h": "10.0.0.1", "query": "EVIL.example."}) == ["evil.example"]
    for near in ("notevil.example", "evil.example.net", "evil-example", "example"):
        assert hits(intel, shared, {"id.orig_h": "10.0.0.1", "query": near}) == [], near


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("198.51.100.0", ["198.51.100.0/25"]),
        ("198.51.100.127", ["198.51.100.0/25"]),
        ("198.51.100.128", []),
        ("198.51.99.255", []),
    ],
)
def test_networks_match_inside_and_not_just_outside(intel, shared, address, expected) -> None:
    assert hits(intel, shared, {"id.orig_h": "10.0.0.1", "id.resp_h": address}) == expected


def test_addresses_urls_hashes_and_lists_of_values(intel, shared) -> None:
    event = {"id.orig_h": "10.0.0.1", "answers": ["192.0.2.1", "203.0.113.66"]}
    assert hits(intel, shared, event) == ["203.0.113.66"]
    http = {"id.orig_h": "10.0.0.1", "host": "malware-drop.example", "uri": "/payload.exe"}
    assert hits(intel, shared, http) == ["malware-drop.example/payload.exe"]
    proxy = {"src_ip": "10.0.0.2", "url": "HTTP://Malware-Drop.example/payload.exe"}
    assert hits(intel, shared, proxy) == ["malware-drop.example/payload.exe"]
    other_path = {"id.orig_h": "10.0.0.1", "host": "malware-drop.example", "uri": "/payload.exe.txt"}
    assert hits(intel, shared, other_path) == []
    files = {"id.orig_h": "10.0.0.1", "md5": "44d88612fea8a8f36de82e1278abb02f"}
    assert hits(intel, shared, files) == ["44D88612FEA8A8F36DE82E1278ABB02F"]


def test_a_match_names_entity_field_value_and_source(intel, shared) -> None:
    event = {"id.orig_h": "10.0.0.9", "query": "x.evil.example"}
    found = intel.matches(intel.Lookup(shared), ("query",), ("id.orig_h",), event)
    assert found == [
        {
            "entity": "10.0.0.9",
            "@timestamp": None,
            "indicator": "evil.example",
            "indicator_type": "Intel::DOMAIN",
            "source": "c2-feed",
            "field": "query",
            "value": "x.evil.example",
        }
    ]


def test_events_without_entity_or_not_dicts_give_nothing(intel, shared) -> None:
    assert intel.matches(intel.Lookup(shared), ("query",), ("id.orig_h",), {"query": "evil.example"}) == []
    assert intel.matches(intel.Lookup(shared), ("query",), ("id.orig_h",), "evil.example") == []


def test_the_bloom_filter_holds_every_lookup_key(intel) -> None:
    entries, _ = intel.read_list(ZEEK_LIST, "zeek-list")
    indicators = intel.Indicators.of(entries, 0.01)
    assert all(key in indicators.bloom for key in indicators.table)
    assert indicators.prefixes == ((4, 25),)


# ----------------------------------------------------------------------------- score


def test_score_is_on_the_shared_scale_and_grows_with_types_and_hits(intel) -> None:
    one_address = intel.score_of(["Intel::ADDR"], 1)
    assert 40 <= one_address < 60
    assert intel.score_of(["Intel::ADDR"], 50) > one_address
    assert intel.score_of(["Intel::ADDR", "Intel::DOMAIN"], 1) > intel.score_of(["Intel::DOMAIN"], 1)
    assert intel.score_of(["Intel::FILE_HASH"], 1) >= 70
    assert intel.score_of(list(intel.TYPE_SCORE), 10_000) <= 100


# ----------------------------------------------------------------------------- reloading


class Broadcasts:
    """Stands in for SparkContext.broadcast: records what was shared."""

    def __init__(self) -> None:
        self.values: list = []

    def __call__(self, value):
        self.values.append(value)
        return value


def test_lists_are_read_again_only_when_changed_and_due(intel, tmp_path) -> None:
    listed = tmp_path / "feed.txt"
    listed.write_text("203.0.113.9\n", encoding="utf-8")
    broadcasts = Broadcasts()
    lists = intel.LiveLists(str(tmp_path / "*.txt"), 0.01, 30, broadcasts)
    first = lists.current(now=lists.checked + 1)
    assert len(broadcasts.values) == 1 and "addr|203.0.113.9" in first[1]
    listed.write_text("203.0.113.9\nevil.example\n", encoding="utf-8")
    os.utime(listed, ns=(1, 10**18))
    assert lists.current(now=lists.checked + 10) is first  # not due yet
    fresh = lists.current(now=lists.checked + 31)
    assert len(broadcasts.values) == 2 and "domain|evil.example" in fresh[1]
    assert lists.current(now=lists.checked + 31) is fresh  # due, unchanged: nothing re-read
    (tmp_path / "more.txt").write_text("198.51.100.0/24\n", encoding="utf-8")
    newest = lists.current(now=lists.checked + 31)
    assert "net|198.51.100.0/24" in newest[1] and len(broadcasts.values) == 3


def test_unreadable_lists_keep_the_previous_ones(intel, tmp_path) -> None:
    listed = tmp_path / "feed.txt"
    listed.write_text("203.0.113.9\n", encoding="utf-8")
    lists = intel.LiveLists(str(listed), 0.01, 0, Broadcasts())
    first = lists.current()
    listed.unlink()
    assert lists.current(now=lists.checked + 1) is first


def test_a_missing_list_is_a_one_line_error_naming_the_key(intel, tmp_path) -> None:
    with pytest.raises(ConfigError, match="key 'indicators': no file matches"):
        intel.read_indicators(str(tmp_path / "none-*.intel"), 0.01)


def test_the_registry_holds_lists_by_id(intel, tmp_path) -> None:
    listed = tmp_path / "feed.txt"
    listed.write_text("203.0.113.9\n", encoding="utf-8")
    lists = intel.LiveLists(str(listed), 0.01, 60, Broadcasts())
    list_id = intel.register(lists)
    assert intel.live(list_id) is lists
    with pytest.raises(RuntimeError, match="not registered"):
        intel.live("lists-unknown")


def test_the_shipped_sample_lists_read_cleanly(intel) -> None:
    indicators = intel.read_indicators("sample/indicators.intel, sample/blocklist.txt", 0.01)
    assert len(indicators) == 9 and indicators.skipped == 0
