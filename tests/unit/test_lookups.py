"""Lookups: the ``[lookups]`` section checked, files read and shaped, values refreshed, and the
``Lookups`` mapping ``load()`` gets (with a stand-in for Spark's broadcast). Nothing starts Spark:
tests/integration/test_lookups.py runs them through Spark, tests/services/test_lookups_elasticsearch.py
reads an index of the test node."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError, ConfLocation
from datashark.loading.load_call import call_load, load_arguments
from datashark.lookups.conf import Lookup, lookups_of, refresh_seconds
from datashark.lookups.elasticsearch import ElasticsearchSource
from datashark.lookups.files import FileSource
from datashark.lookups.live import LiveLookup, Lookups, LookupSet
from datashark.lookups.shape import shaped
from tests.unit.conftest import usecase_conf

ASSETS = "ip,owner,criticality\n10.0.0.1,alice,high\n10.0.0.2,bob,low\n"


class Broadcast:
    """Spark's broadcast as far as lookups use it: a picklable holder of ``value``."""

    def __init__(self, value) -> None:
        self.value = value
        self.unpersisted = False

    def unpersist(self, blocking: bool = False) -> None:
        self.unpersisted = True


class Context:
    """A SparkContext as far as lookups use it: ``broadcast``, each one recorded."""

    def __init__(self) -> None:
        self.broadcasts: list[Broadcast] = []

    def broadcast(self, value) -> Broadcast:
        self.broadcasts.append(Broadcast(value))
        return self.broadcasts[-1]


def lookups_conf(section: str) -> str:
    return usecase_conf(f"[lookups]\n{section}")


def lookup_set(make_usecase, section: str, files: dict[str, str] | None = None) -> LookupSet:
    conf = make_usecase(conf=lookups_conf(section), files={"data.txt": "x\n", **(files or {})})
    return LookupSet.of(read_usecase(conf))


def values_of(make_usecase, section: str, files: dict[str, str]) -> dict:
    found = lookup_set(make_usecase, section, files)
    return {lookup.name: lookup.load() for lookup in found.lookups}


def conf_error(make_usecase, section: str, files: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as err:
        lookup_set(make_usecase, section, files)
    message = str(err.value)
    assert "\n" not in message
    return message


# ----------------------------------------------------------------------------- reading and shaping


def test_a_csv_keyed_by_a_column_gives_each_row_by_its_key(make_usecase) -> None:
    values = values_of(make_usecase, "[[assets]]\npath = assets.csv\nkey = ip\n", {"assets.csv": ASSETS})
    assert values["assets"] == {
        "10.0.0.1": {"ip": "10.0.0.1", "owner": "alice", "criticality": "high"},
        "10.0.0.2": {"ip": "10.0.0.2", "owner": "bob", "criticality": "low"},
    }


def test_without_key_the_value_is_the_list_of_rows(make_usecase) -> None:
    values = values_of(make_usecase, "[[assets]]\npath = assets.csv\n", {"assets.csv": ASSETS})
    assert [row["owner"] for row in values["assets"]] == ["alice", "bob"]


def test_values_gives_the_set_of_a_column(make_usecase) -> None:
    values = values_of(make_usecase, "[[allow]]\npath = assets.csv\nvalues = ip\n", {"assets.csv": ASSETS})
    assert values["allow"] == frozenset({"10.0.0.1", "10.0.0.2"})


def test_json_lines_and_a_json_array_are_rows_with_nested_keys(make_usecase) -> None:
    lines = '{"host": {"name": "web1"}, "zone": "dmz"}\n\n{"host": {"name": "db1"}, "zone": "core"}\n'
    section = (
        "[[by_lines]]\npath = hosts.jsonl\nkey = host.name\n"
        "[[by_array]]\npath = hosts.json\nvalues = zone\n"
        "[[as_written]]\npath = watch.json\n"
    )
    files = {
        "hosts.jsonl": lines,
        "hosts.json": '[{"zone": "dmz"}, {"zone": ["core", "lab"]}, {"other": 1}]',
        "watch.json": '{"evil.example": "c2"}',
    }
    values = values_of(make_usecase, section, files)
    assert values["by_lines"]["db1"] == {"host": {"name": "db1"}, "zone": "core"}
    assert values["by_array"] == frozenset({"dmz", "core", "lab"})
    assert values["as_written"] == {"evil.example": "c2"}


def test_a_text_file_is_the_set_of_its_lines_without_comments(make_usecase) -> None:
    text = "# scanners\n192.0.2.10\n\n10.0.0.0/8   # the lab\n"
    values = values_of(make_usecase, "[[allow]]\npath = allow.txt\n", {"allow.txt": text})
    assert values["allow"] == frozenset({"192.0.2.10", "10.0.0.0/8"})


def test_format_and_separator_can_be_given(make_usecase) -> None:
    section = "[[assets]]\npath = assets.tab\nformat = csv\nseparator = \\t\nkey = ip\n"  # as written: \t
    values = values_of(make_usecase, section, {"assets.tab": "ip\towner\n10.0.0.9\tcarol\n"})
    assert values["assets"] == {"10.0.0.9": {"ip": "10.0.0.9", "owner": "carol"}}


def test_a_later_row_replaces_an_earlier_one_with_its_key() -> None:
    rows = [{"ip": "a", "n": 1}, {"ip": None, "n": 2}, {"ip": "a", "n": 3}, {"n": 4}]
    assert shaped(rows, key="ip") == {"a": {"ip": "a", "n": 3}}


def test_the_shape_of_a_lookup_checks_it_has_rows() -> None:
    with pytest.raises(ValueError, match="needs rows"):
        shaped({"a": 1}, key="ip")
    with pytest.raises(ValueError, match=r"no row has 'ip' \(columns: addr\)"):
        shaped([{"addr": "x"}], values="ip")
    assert shaped([], key="ip") == {}  # an empty file is an empty lookup


# ----------------------------------------------------------------------------- conf errors


def test_a_missing_file_is_a_one_line_error_naming_section_and_key(make_usecase) -> None:
    message = conf_error(make_usecase, "[[assets]]\npath = nowhere.csv\n")
    assert "uc.conf: [lookups][assets], key 'path': no such file: " in message
    assert message.endswith("nowhere.csv")


def test_a_broken_json_line_names_its_line(make_usecase) -> None:
    message = conf_error(make_usecase, "[[w]]\npath = w.jsonl\n", {"w.jsonl": '{"a": 1}\n{"a": \n'})
    assert "[lookups][w], key 'path': " in message and "w.jsonl: line 2 is not JSON" in message


def test_a_key_no_row_has_names_the_columns(make_usecase) -> None:
    message = conf_error(make_usecase, "[[a]]\npath = a.csv\nkey = address\n", {"a.csv": ASSETS})
    assert "[lookups][a], key 'key': no row has 'address' (columns: ip, owner, criticality) in " in message


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            "[[a]]\nkey = ip\n",
            "[lookups][a] has no source: set path (a file) or index (an Elasticsearch index)",
        ),
        ("[[a]]\npath = a.csv\nindex = assets\n", "[lookups][a]: set either path (a file) or index"),
        (
            "[[a]]\npath = a.csv\nkye = ip\n",
            "[lookups][a], key 'kye' is not a known key (did you mean 'key'?)",
        ),
        ("[[a]]\npath = a.csv\nkey = ip\nvalues = ip\n", "[lookups][a], key 'values': set either key"),
        ("[[a]]\npath = a.csv\nrefresh = soon\n", "[lookups][a], key 'refresh': 'soon' is not a duration"),
        ("[[a]]\npath = a.csv\nformat = xml\n", "[lookups][a], key 'format': "),
        ("[[a]]\npath = a.csv\nseparator = ;;\n", "[lookups][a], key 'separator': must be one character"),
        ("[[a]]\npath = a.dat\n", "[lookups][a], key 'format' is needed: "),
        ("[[a]]\npath = a.txt\nvalues = ip\n", "[lookups][a], key 'values': does not apply to format text"),
        ("path = a.csv\n", "[lookups], key 'path' is not a lookup: write it as a [[path]] sub-section"),
    ],
)
def test_conf_mistakes_are_one_line_errors_naming_the_key(make_usecase, section, expected) -> None:
    files = {"a.csv": ASSETS, "a.dat": "x", "a.txt": "x"}
    assert expected in conf_error(make_usecase, section, files)


def test_lookups_written_as_a_key_is_an_error(make_usecase) -> None:
    conf = make_usecase(conf=usecase_conf("lookups = assets.csv\n"))
    with pytest.raises(ConfigError, match=r"key 'lookups': must be a section"):
        lookups_of(read_usecase(conf))


def test_a_conf_without_lookups_has_none(make_usecase) -> None:
    assert LookupSet.of(read_usecase(make_usecase())).names == ()


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("2", 120), ("1.5h", 5400), ("1d", 86400)]
)
def test_refresh_reads_durations_a_bare_number_being_minutes(text, seconds) -> None:
    assert refresh_seconds(text, ConfLocation("x.conf")) == seconds


def test_an_elasticsearch_lookup_takes_the_output_plugins_connection_keys(make_usecase) -> None:
    section = (
        "[[scanners]]\nindex = scanners\nquery = status:active\nfields = address, team\n"
        "hosts = https://es1:9200\nusername = lookups\npassword = hunter2-secret\nvalues = address\n"
    )
    conf = make_usecase(conf=lookups_conf(section))
    (lookup,) = lookups_of(read_usecase(conf))
    assert isinstance(lookup.source, ElasticsearchSource)
    search = lookup.source.search
    assert search.index == "scanners" and search.fields == ("address", "team")
    assert search.query == {"query_string": {"query": "status:active"}}
    assert search.connection.basic_auth == ("lookups", "hunter2-secret")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ("username = u\npassword = p\n", "[lookups][s], key 'allow_insecure': username/password would cross"),
        ('query = {"term": \n', "[lookups][s], key 'query' is not JSON"),
        (
            "hosts = https://u:p@es1\n",
            "[lookups][s], key 'hosts': 'https://********@es1' carries credentials",
        ),
    ],
)
def test_elasticsearch_lookup_mistakes_name_the_key(make_usecase, keys, expected) -> None:
    assert expected in conf_error(make_usecase, f"[[s]]\nindex = scanners\n{keys}")


# ----------------------------------------------------------------------------- refresh


def file_lookup(tmp_path: Path, text: str, refresh: float | None = 60):
    path = tmp_path / "allow.txt"
    path.write_text(text, encoding="utf-8")
    where = ConfLocation(str(tmp_path / "uc.conf"), ("lookups", "allow"))
    return Lookup("allow", where, FileSource(str(path), "text"), refresh=refresh), path


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_lookups_refresh_when_due_and_broadcast_only_a_changed_value(tmp_path, capsys) -> None:
    lookup, path = file_lookup(tmp_path, "192.0.2.1\n")
    context, clock = Context(), Clock()
    live = LiveLookup(
        lookup, lookup.load(), context.broadcast, refresh=60, label="(uc) lookup 'allow'", clock=clock
    )
    first = live.current()
    assert first.value == frozenset({"192.0.2.1"})
    path.write_text("192.0.2.1\n192.0.2.2\n", encoding="utf-8")
    clock.now += 30
    assert live.current() is first  # not due yet
    clock.now += 31
    fresh = live.current()
    assert fresh is not first and fresh.value == frozenset({"192.0.2.1", "192.0.2.2"})
    assert first.unpersisted and live.current_value() == fresh.value
    assert "(uc) lookup 'allow' refreshed: 2 entries" in capsys.readouterr().out
    clock.now += 61
    assert live.current() is fresh and len(context.broadcasts) == 2  # due, unchanged: no new broadcast


def test_a_refresh_that_fails_keeps_the_previous_value_with_one_line(tmp_path, capsys) -> None:
    lookup, path = file_lookup(tmp_path, "192.0.2.1\n")
    clock = Clock()
    live = LiveLookup(
        lookup, lookup.load(), Context().broadcast, refresh=60, label="(uc) lookup 'allow'", clock=clock
    )
    first = live.current()
    path.unlink()
    clock.now += 61
    assert live.current() is first
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "(uc) lookup 'allow' not refreshed, the previous value stays in use: " in out[0]
    assert "[lookups][allow], key 'path': no such file" in out[0]


def test_without_refresh_a_lookup_is_read_once(tmp_path) -> None:
    lookup, path = file_lookup(tmp_path, "192.0.2.1\n")
    clock = Clock()
    live = LiveLookup(lookup, lookup.load(), Context().broadcast, refresh=None, clock=clock)
    path.write_text("192.0.2.9\n", encoding="utf-8")
    clock.now += 10**6
    assert live.current_value() == frozenset({"192.0.2.1"})


# ----------------------------------------------------------------------------- what load() gets


def test_load_gets_the_values_by_name_on_the_driver(make_usecase) -> None:
    found = lookup_set(make_usecase, "[[assets]]\npath = assets.csv\nkey = ip\n", {"assets.csv": ASSETS})
    lookups = found.start(Context())
    try:
        assert list(lookups) == ["assets"] and "assets" in lookups and len(lookups) == 1
        assert lookups["assets"]["10.0.0.2"]["owner"] == "bob"
        assert lookups.broadcast("assets").value is lookups["assets"]
        with pytest.raises(KeyError, match=r"no lookup named 'asset' \(this use case's lookups: assets"):
            lookups["asset"]
        assert lookups.get("asset") is None
    finally:
        found.stop()


def test_a_function_closing_over_lookups_reads_the_broadcast_it_was_shipped_with(tmp_path) -> None:
    """An executor has no registry: it reads the broadcasts pickled with the function."""
    lookup, path = file_lookup(tmp_path, "192.0.2.1\n", refresh=1)
    found = LookupSet("uc", (lookup,))
    lookups = found.start(Context(), refresh=True)
    shipped = pickle.dumps(lookups)
    path.write_text("192.0.2.7\n", encoding="utf-8")
    found.live["allow"].read_at -= 2  # the refresh is due
    shipped_later = pickle.dumps(lookups)  # the next batch's functions
    found.stop()  # no registry any more: what an executor sees
    assert pickle.loads(shipped)["allow"] == frozenset({"192.0.2.1"})
    assert pickle.loads(shipped_later)["allow"] == frozenset({"192.0.2.7"})
    assert pickle.loads(shipped_later).broadcast("allow").value == frozenset({"192.0.2.7"})


def test_pickled_lookups_hold_no_credentials(make_usecase) -> None:
    section = "[[s]]\nindex = scanners\nhosts = https://es1:9200\nusername = u\npassword = hunter2-secret\n"
    (lookup,) = lookups_of(read_usecase(make_usecase(conf=lookups_conf(section))))
    found = LookupSet("uc", (lookup,), {"s": [{"address": "192.0.2.1"}]})  # read already
    lookups = found.start(Context())
    try:
        shipped = pickle.dumps(lookups)
        assert b"hunter2-secret" not in shipped and b"es1" not in shipped
        assert pickle.loads(shipped)["s"] == [{"address": "192.0.2.1"}]
    finally:
        found.stop()


def test_load_asks_for_lookups_by_name(make_usecase) -> None:
    usecase = read_usecase(make_usecase())
    lookups = Lookups("unknown-set", ("assets",))

    def load(batchData, lookups):
        return batchData, lookups

    def load_with_conf(conf, batchData, *, lookups=None):
        return batchData, lookups

    assert call_load(load, *load_arguments(usecase, None, "rdd", lookups=lookups)) == ("rdd", lookups)
    assert call_load(load_with_conf, *load_arguments(usecase, None, "rdd", lookups=lookups))[1] is lookups
    empty = call_load(load, *load_arguments(usecase, None, "rdd"))[1]
    assert isinstance(empty, Lookups) and len(empty) == 0


def test_a_lookups_section_raises_no_unread_section_warning(make_usecase, capsys) -> None:
    conf = make_usecase(conf=lookups_conf("[[a]]\npath = a.csv\n"), files={"data.txt": "x", "a.csv": ASSETS})
    read_usecase(conf)
    assert "[lookups]" not in capsys.readouterr().err


def test_a_lookup_on_hdfs_is_read_when_spark_starts(make_usecase) -> None:
    found = lookup_set(make_usecase, "[[a]]\npath = hdfs://namenode:8020/lookups/a.csv\nkey = ip\n")
    (lookup,) = found.lookups
    assert lookup.needs_spark and found.values == {}  # not read while preparing


def test_the_modification_of_a_file_is_not_needed_to_refresh(tmp_path) -> None:
    """Refresh compares values, not times: a file rewritten within the same second is seen."""
    lookup, path = file_lookup(tmp_path, "a\n", refresh=1)
    clock = Clock()
    live = LiveLookup(lookup, lookup.load(), Context().broadcast, refresh=1, clock=clock)
    stat = path.stat()
    path.write_text("b\n", encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    clock.now += 2
    assert live.current_value() == frozenset({"b"})
