"""DataFrame use cases (``api = dataframe``) on the session's SparkContext: every format read into
the rows its input holds, ``[log_filter]`` keeping what the RDD flavour keeps, records that do not
parse and rows that are not findings in the dead letters, conf errors in one line, ``-d``, a
windowed stream over a folder stopped and restarted, and ``datashark test`` of such a use case.

Expected rows are computed here from the input, in Python, never by Spark.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import random
import shutil
import textwrap
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from pyspark.sql import functions as sf

from datashark.cli import main
from datashark.config.usecase import read_usecase
from datashark.errors import ConfLocation, DataSharkError
from datashark.events.log_filter import LogFilter
from datashark.frames.events import NOT_JSON, file_events, spark_session, value_frame
from datashark.frames.plan import fields_read
from datashark.frames.streaming import BatchDelivery
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from datashark.run.streaming import run_streaming
from tests.conftest import REPO
from tests.integration.conftest import read_csv, settings_for
from tests.support.runs import run_conf

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:DStream is deprecated:FutureWarning"),
]

BASE = 1710403200  # 2024-03-14T08:00:00Z
SOURCES = ("10.0.0.1", "10.0.0.2", "192.0.2.7", "203.0.113.9", "198.51.100.23")
QTYPES = ("A", "AAAA", "PTR", "TXT")
PORTS = (53, 443, 853, 5353)
DDL = "ts DOUBLE, src STRING, qtype STRING, port BIGINT"
# Spark's JSON form of DDL, written out by hand.
JSON_SCHEMA = {
    "type": "struct",
    "fields": [
        {"name": name, "type": kind, "nullable": True, "metadata": {}}
        for name, kind in (("ts", "double"), ("src", "string"), ("qtype", "string"), ("port", "long"))
    ],
}
PER_SOURCE = """
from pyspark.sql import functions as sf


def load(events):
    return events.groupBy(sf.col("src").alias("key")).agg(
        sf.count("*").alias("score"),
        sf.min("@timestamp").alias("first_seen"),
        sf.max("port").alias("top_port"),
    )
"""
FIRST_WORD = """
from pyspark.sql import functions as sf


def load(events):
    words = events.select(sf.split("value", " ").getItem(0).alias("key"))
    return words.groupBy("key").agg(sf.count("*").alias("score"))
"""
PER_ORIGIN = """
from pyspark.sql import functions as sf


def load(events):
    return events.groupBy(sf.col("`id.orig_h`").alias("key")).agg(
        sf.count("*").alias("score"),
        sf.min("ts").alias("first_seen"),
        sf.count_distinct("`id.resp_p`").alias("ports"),
    )
"""
PORT_SCAN_LOG = REPO / "conf" / "port-scan" / "sample" / "conn.log"
ZEEK_LOG = REPO / "tests" / "data" / "zeek" / "conn.log"


def iso(seconds: float | Decimal) -> str:
    """Epoch seconds as the outputs write a time: ISO 8601 UTC, microseconds when there are any."""
    micros = int(Decimal(str(seconds)) * 1_000_000)
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)
    return moment.isoformat().replace("+00:00", "Z")


def dns_events() -> list[dict]:
    rng = random.Random(1035)
    return [
        {
            "ts": BASE + 37.0 * index + rng.choice((0, 0.25, 0.5)),
            "src": rng.choice(SOURCES),
            "qtype": rng.choice(QTYPES),
            "port": rng.choice(PORTS),
        }
        for index in rng.sample(range(90), 90)  # out of time order
    ]


def per_source(events: list[dict]) -> dict[str, dict[str, str]]:
    """PER_SOURCE's rows as the CSV holds them, by key."""
    rows: dict[str, dict[str, str]] = {}
    for src in {event["src"] for event in events}:
        mine = [event for event in events if event["src"] == src]
        rows[src] = {
            "score": str(float(len(mine))),
            "first_seen": iso(min(event["ts"] for event in mine)),
            "top_port": str(max(event["port"] for event in mine)),
        }
    return rows


def zeek_records(path: Path) -> list[dict[str, str]]:
    """The records of a Zeek TSV log with one header block, as text by ``#fields`` name."""
    fields: list[str] = []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#fields\t"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            records.append(dict(zip(fields, line.split("\t"), strict=True)))
    return records


def per_origin(path: Path) -> dict[str, dict[str, str]]:
    """PER_ORIGIN's rows of a Zeek conn log, by key."""
    rows: dict[str, dict[str, str]] = {}
    records = zeek_records(path)
    for origin in {record["id.orig_h"] for record in records}:
        mine = [record for record in records if record["id.orig_h"] == origin]
        rows[origin] = {
            "score": str(float(len(mine))),
            "first_seen": iso(min(Decimal(record["ts"]) for record in mine)),
            "ports": str(len({record["id.resp_p"] for record in mine})),
        }
    return rows


def write_usecase(folder: Path, name: str, code: str, conf: str, *, api: str = "dataframe") -> Path:
    """``folder/<name>.conf`` of ``conf`` (the keys after name, code, api and output) with its
    code in ``<name>.py``, writing a CSV with a header, replaced at each run, to ``out-<name>.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(code))
    path = folder / f"{name}.conf"
    path.write_text(
        f"name = Frames {name}\ncode = {name}.py\napi = {api}\noutput = csv\n"
        + textwrap.dedent(conf).strip()
        + f"\n[out_csv]\npath = out-{name}.csv\nheader = true\nmode = overwrite\n"
    )
    return path


def csv_rows(conf: Path) -> dict[str, dict[str, str]]:
    """The rows a use case wrote, by key, each without its key and time."""
    header, *rows = read_csv(conf.parent / f"out-{conf.stem}.csv")
    found = {}
    for row in rows:
        values = dict(zip(header, row, strict=True))
        values.pop("time")
        found[values.pop("key")] = values
    assert len(found) == len(rows), "one row per key"
    return found


def dead_letters(settings_root: Path) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((settings_root / "deadletter").rglob("*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


@pytest.fixture(scope="module")
def inputs(spark_context, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder with the DNS events in every format and their schema files; the use cases
    of the format tests are written into it."""
    folder = tmp_path_factory.mktemp("frames")
    events = dns_events()
    (folder / "events.json").write_text("".join(json.dumps(event) + "\n" for event in events))
    columns = ("ts", "src", "qtype", "port")
    body = "".join(",".join(str(event[name]) for name in columns) + "\n" for event in events)
    (folder / "events.csv").write_text(",".join(columns) + "\n" + body)
    (folder / "headless.csv").write_text(body)
    (folder / "events.ddl").write_text(DDL + "\n")
    (folder / "events-schema.json").write_text(json.dumps(JSON_SCHEMA))
    (folder / "lines.txt").write_text("".join(f"{e['src']} {e['qtype']} {e['port']}\n" for e in events))
    rows = [tuple(event[name] for name in columns) for event in events]
    spark = spark_session(spark_context)
    spark.createDataFrame(rows, DDL).repartition(3).write.parquet(str(folder / "events.parquet"))
    return folder


def run_in(sc, conf: Path, *, debug: bool = False) -> Path:
    """Run the batch use case with its dead letters and checkpoints beside its conf; that folder."""
    root = conf.parent / f"run-{conf.stem}"
    run_conf(sc, settings_for(root), conf, debug=debug)
    return root


# --- every format ---------------------------------------------------------------------------

JSON_CONFS = {
    "json-ddl": f'schema = "{DDL}"',
    "json-ddl-file": "schema = events.ddl",
    "json-json-file": "schema = events-schema.json",
    "json-inferred": "",
}


@pytest.mark.parametrize("name", list(JSON_CONFS))
def test_json_events_become_the_rows_they_hold(spark_context, inputs: Path, name: str) -> None:
    conf = write_usecase(
        inputs,
        name,
        PER_SOURCE,
        f"type = batch\nfile = events.json\nformat = json\ntime_field = ts\n{JSON_CONFS[name]}",
    )
    run_in(spark_context, conf)
    assert csv_rows(conf) == per_source(dns_events())


CSV_CONFS = {
    "csv-schema": f'file = events.csv\nschema = "{DDL}"',
    "csv-inferred": "file = events.csv",
    "csv-headless": f'file = headless.csv\ncsv.header = false\nschema = "{DDL}"',
}


@pytest.mark.parametrize("name", list(CSV_CONFS))
def test_csv_files_become_the_rows_they_hold(spark_context, inputs: Path, name: str) -> None:
    conf = write_usecase(
        inputs, name, PER_SOURCE, f"type = batch\nformat = csv\ntime_field = ts\n{CSV_CONFS[name]}"
    )
    run_in(spark_context, conf)
    assert csv_rows(conf) == per_source(dns_events())


def test_parquet_files_become_the_rows_they_hold(spark_context, inputs: Path) -> None:
    conf = write_usecase(
        inputs,
        "parquet",
        PER_SOURCE,
        "type = batch\nfile = events.parquet\nformat = parquet\ntime_field = ts",
    )
    run_in(spark_context, conf)
    assert csv_rows(conf) == per_source(dns_events())


def test_text_lines_are_the_value_column(spark_context, inputs: Path) -> None:
    conf = write_usecase(inputs, "text", FIRST_WORD, "type = batch\nfile = lines.txt\nformat = text")
    run_in(spark_context, conf)
    counts = Counter(line.split(" ")[0] for line in (inputs / "lines.txt").read_text().splitlines())
    assert csv_rows(conf) == {word: {"score": str(float(count))} for word, count in counts.items()}


def test_a_zeek_log_becomes_typed_columns(spark_context, inputs: Path) -> None:
    """Sets, unset and empty values, microseconds: every column's type inferred from the events."""
    conf = write_usecase(inputs, "zeek", PER_ORIGIN, f"type = batch\nfile = {ZEEK_LOG}\nformat = zeek")
    run_in(spark_context, conf)
    assert csv_rows(conf) == per_origin(ZEEK_LOG)


def test_a_zeek_log_read_with_a_schema(spark_context, inputs: Path) -> None:
    conf = write_usecase(
        inputs,
        "zeek-schema",
        PER_ORIGIN,
        f"type = batch\nfile = {PORT_SCAN_LOG}\nformat = zeek\n"
        'schema = "ts TIMESTAMP, `id.orig_h` STRING, `id.resp_p` BIGINT, proto STRING"',
    )
    run_in(spark_context, conf)
    expected = per_origin(PORT_SCAN_LOG)
    assert len(expected) > 10 and csv_rows(conf) == expected


def test_a_zeek_log_with_a_column_never_set_is_read_without_a_schema(spark_context, inputs: Path) -> None:
    conf = write_usecase(
        inputs, "zeek-unset", PER_ORIGIN, f"type = batch\nfile = {PORT_SCAN_LOG}\nformat = zeek"
    )
    assert {record["local_orig"] for record in zeek_records(PORT_SCAN_LOG)} == {"-"}
    run_in(spark_context, conf)
    assert csv_rows(conf) == per_origin(PORT_SCAN_LOG)


def test_debug_prints_the_rows_and_writes_nothing(spark_context, inputs: Path, capsys) -> None:
    conf = write_usecase(
        inputs,
        "debug",
        PER_SOURCE,
        f'type = batch\nfile = events.json\nformat = json\ntime_field = ts\nschema = "{DDL}"',
    )
    run_in(spark_context, conf, debug=True)
    printed = capsys.readouterr().out.splitlines()
    (listed,) = [line for line in printed if line.startswith("[(")]
    expected = [
        (key, float(row["score"]), {"first_seen": row["first_seen"], "top_port": int(row["top_port"])})
        for key, row in sorted(per_source(dns_events()).items())
    ]
    assert sorted(ast.literal_eval(listed)) == expected
    assert not (inputs / "out-debug.csv").exists()


# --- [log_filter] as the RDD flavour's ---------------------------------------------------------

MISSING = object()
FIELD_VALUES = {
    "proto": ["tcp", "udp", "tcp6", "TCP", "icmp", "tcp\n", "udp\n", "tcpx"],
    "host": ["web1.corp", "web12.corp", "db.corp", "web.corp", "mail", "webx.corp", MISSING],
    "port": [22, 80, 443, 8080, 53, 4430, None],
    "ok": [True, False, MISSING, None],
    "user": ["root", "alice", "rooted", None, MISSING],
    "geo": [
        {"country": "FR", "asn": 64500},
        {"country": "DE", "asn": 3320},
        {"country": "FR"},
        MISSING,
        None,
    ],
    "path": ["/index.html", "/admin/login", "/a1b2", "/aab", "/ssh", "/A1"],
    "src": ["10.0.0.1", "10.0.0.12", "192.0.2.1", "10.0.0.9"],
    "tags": [["a", "b"], [], ["c"], MISSING],
    # values where Python's regex and Java's would disagree (UNICODE_AND_LINE_ENDS)
    "code": ["\u0663", "3", "7\r", "x", "a\rb"],
    "size": [1e20, 0.5, 1500.0],
}
FILTERS = {
    "plain text": ({"proto": "tcp"}, {}),
    "plain text to the end": ({"proto": "tcp$"}, {}),
    "escaped dots": ({"src": r"10\.0\.0\.1"}, {}),
    "alternation": ({"proto": "tcp|udp"}, {}),
    "alternation in a group, to the end": ({"proto": "(tcp|udp)$"}, {}),
    "alternation, its last to the end": ({"proto": "tcp|udp$"}, {}),
    "anchored regex": ({"host": r"^web\d+\.corp$"}, {}),
    "digit class": ({"path": r"/a\d"}, {}),
    "digits to the end": ({"src": r"10\.0\.0\.\d$"}, {}),
    "named group": ({"host": r"(?P<name>web)\d"}, {}),
    "named backreference": ({"path": r"/(?P<c>[a-z])(?P=c)"}, {}),
    "end of text": ({"proto": r"tcp\Z"}, {}),
    "case-insensitive": ({"proto": "(?i)tcp$"}, {}),
    "exclude on a missing field": ({}, {"user": "root"}),
    "include on a missing field": ({"user": ".*"}, {}),
    "include on a number": ({"port": "443$"}, {}),
    "a number's prefix": ({"port": "80"}, {}),
    "exclude on a number": ({}, {"port": r"\d{2}$"}),
    "boolean": ({"ok": "true"}, {}),
    "exclude a boolean": ({}, {"ok": "false$"}),
    "nested struct": ({"geo": r'.*"country": ?"FR"'}, {}),
    "array": ({"tags": r'.*"b"'}, {}),
    "includes and excludes": ({"proto": "tcp", "host": "web"}, {"user": "root$", "port": "22$"}),
    "no such field": ({"nosuch": "x"}, {}),
    "exclude on no such field": ({}, {"nosuch": "x"}),
}


# Where Python's regex and Java's would disagree unless java_regex gives Java Python's meaning.
UNICODE_AND_LINE_ENDS = {
    "a digit of another script": {"code": r"\d"},
    "a dot and a carriage return": {"code": r"a.b"},
    "the end before a carriage return": {"code": r"[0-9]$"},
}
# Nested values are matched on Spark's compact JSON text (docs/dataframes.md), not json.dumps'.
COMPACT_JSON = {
    "a struct's field": (
        {"geo": r'.*"country":"FR"'},
        lambda event: (event.get("geo") or {}).get("country") == "FR",
    ),
    "an array": ({"tags": r'\["a","b"\]'}, lambda event: event.get("tags") == ["a", "b"]),
}


def filter_events() -> list[dict]:
    """Events mixing every field's values (different strides, so the combinations vary)."""
    events = []
    for index in range(48):
        event = {"id": index}
        for stride, (name, values) in enumerate(FIELD_VALUES.items(), start=1):
            value = values[(index * stride + index // len(values)) % len(values)]
            if value is not MISSING:
                event[name] = value
        events.append(event)
    return events


@pytest.fixture(scope="module")
def filtered(spark_context, tmp_path_factory: pytest.TempPathFactory):
    """``keep(include, exclude)``: the ids of the events a DataFrame use case's load() gets with
    that filter (read, timed, filtered by file_events), and the ids LogFilter keeps."""
    folder = tmp_path_factory.mktemp("filter")
    events = filter_events()
    (folder / "events.json").write_text("".join(json.dumps(event) + "\n" for event in events))
    conf = write_usecase(
        folder,
        "filter",
        "def load(events):\n    return events\n",
        "type = batch\nfile = events.json\nformat = json",
    )
    settings = settings_for(folder)
    prepared = prepare(settings, read_usecase(conf))
    where = ConfLocation(str(conf))
    spark = spark_session(spark_context)

    def keep(include: dict, exclude: dict) -> tuple[set[int], set[int]]:
        log_filter = LogFilter(include, exclude, where=where)
        with_filter = dataclasses.replace(prepared, log_filter=log_filter)
        read = file_events(spark, with_filter, str(folder / "events.json"), None)
        found = {row.id for row in read.events.select("id").collect()}
        return found, {event["id"] for event in events if log_filter(event)}

    return keep


@pytest.mark.parametrize(("include", "exclude"), list(FILTERS.values()), ids=list(FILTERS))
def test_a_filter_keeps_what_the_rdd_flavour_keeps(filtered, include: dict, exclude: dict) -> None:
    found, expected = filtered(include, exclude)
    assert found == expected


def test_the_filters_tell_the_events_apart() -> None:
    """Each filter keeps some events and drops others (but the ones on no field)."""
    events = filter_events()
    for name, (include, exclude) in FILTERS.items():
        kept = sum(LogFilter(include, exclude, where=ConfLocation("x"))(event) for event in events)
        if "no such field" not in name:
            assert 0 < kept < len(events), name


@pytest.mark.parametrize("include", list(UNICODE_AND_LINE_ENDS.values()), ids=list(UNICODE_AND_LINE_ENDS))
def test_a_filter_means_what_python_means_on_unicode_and_line_ends(filtered, include: dict) -> None:
    found, expected = filtered(include, {})
    assert expected, "Python keeps some"
    assert found == expected


@pytest.mark.parametrize(("include", "kept"), list(COMPACT_JSON.values()), ids=list(COMPACT_JSON))
def test_nested_values_are_matched_on_compact_json(filtered, include: dict, kept) -> None:
    found, _ = filtered(include, {})
    expected = {event["id"] for event in filter_events() if kept(event)}
    assert expected and found == expected


# --- dead letters -----------------------------------------------------------------------------

BAD_ROWS = """
from pyspark.sql import functions as sf


def load(events):
    counts = events.groupBy("src").agg(sf.count("*").alias("n"))
    key = sf.when(sf.col("src") == "no-key", sf.lit(None)).otherwise(sf.col("src"))
    score = sf.when(sf.col("src") == "nan-score", sf.lit(math.nan)).otherwise(sf.col("n"))
    ratio = sf.when(sf.col("src") == "nan-ratio", sf.lit(math.inf)).otherwise(sf.lit(0.5))
    return counts.select(key.alias("key"), score.alias("score"), ratio.alias("ratio"))
"""


def test_unparsed_and_untimed_events_and_bad_rows_are_dead_letters(spark_context, tmp_path: Path) -> None:
    good = [
        {"ts": BASE + n, "src": src}
        for n, src in enumerate(["a", "b", "a", "no-key", "nan-score", "nan-ratio"])
    ]
    untimed = [{"src": "c"}, {"ts": None, "src": "c"}]
    unparsed = ["not json at all", '{"ts": "yesterday", "src": "d"}', '{"ts": 1710403200, "src": ']
    lines = [json.dumps(event) for event in good + untimed] + unparsed
    conf = write_usecase(
        tmp_path,
        "letters",
        "import math\n" + BAD_ROWS,
        'type = batch\nfile = events.json\nformat = json\ntime_field = ts\nschema = "ts DOUBLE, src STRING"',
    )
    (tmp_path / "events.json").write_text("".join(line + "\n" for line in lines))
    root = run_in(spark_context, conf)

    assert csv_rows(conf) == {"a": {"score": "2.0", "ratio": "0.5"}, "b": {"score": "1.0", "ratio": "0.5"}}
    letters = dead_letters(root)
    assert {letter["usecase"] for letter in letters} == {"Frames letters"}
    inputs = sorted((letter["reason"], letter["event"]) for letter in letters if letter["stage"] == "input")
    assert [reason for reason, _ in inputs] == sorted([NOT_JSON] * 3 + ["no readable time in ts"] * 2)
    assert sorted(event for reason, event in inputs if reason == NOT_JSON) == sorted(unparsed)
    assert [json.loads(event) for reason, event in inputs if reason != NOT_JSON] == [{"src": "c"}] * 2
    outputs = sorted(letter["reason"] for letter in letters if letter["stage"] == "output")
    assert outputs == [
        "load() returned a bad row: key is NoneType, not str",
        "load() returned a bad row: metadata['ratio'] is inf, not a finite number",
        "load() returned a bad row: score is nan, not a finite number",
    ]


def test_a_score_that_does_not_cast_is_a_dead_letter(spark_context, tmp_path: Path) -> None:
    code = """
    from pyspark.sql import functions as sf


    def load(events):
        return events.select(sf.col("src").alias("key"), sf.col("level").alias("score"))
    """
    conf = write_usecase(tmp_path, "uncast", code, "type = batch\nfile = events.json\nformat = json")
    (tmp_path / "events.json").write_text('{"src": "a", "level": "3"}\n{"src": "b", "level": "high"}\n')
    root = run_in(spark_context, conf)
    assert csv_rows(conf) == {"a": {"score": "3.0"}}
    assert [letter["stage"] for letter in dead_letters(root)] == ["output"]


# --- errors -----------------------------------------------------------------------------------

RETURNS = {
    "no score": "def load(events):\n    return events.select(events.src.alias('key'))\n",
    "an RDD": "def load(events):\n    return events.rdd.map(lambda row: (row.src, 1))\n",
    "rows": "def load(events):\n    return events\n",
}
# (api, keys, what the error says after "<conf>: ")
CONF_ERRORS = {
    "schema no DDL": (
        "dataframe",
        'format = json\nschema = "ts DOUBLE src STRING"',
        "key 'schema' is not a Spark DDL schema",
    ),
    "schema file missing": (
        "dataframe",
        "format = json\nschema = missing.ddl",
        "key 'schema': cannot read the schema file",
    ),
    "schema file not Spark's JSON": (
        "dataframe",
        "format = json\nschema = bad-schema.json",
        "key 'schema': ",
    ),
    "parquet for an RDD use case": (
        "rdd",
        "format = parquet",
        "key 'format': parquet is read by Spark's own reader: it needs api = dataframe",
    ),
    "csv for an RDD use case": ("rdd", "format = csv", "key 'format': csv is read by Spark's own reader"),
    "a time format Spark does not read": (
        "dataframe",
        "format = json\ntime_format = syslog",
        "key 'time_format': 'syslog' is read by api = rdd only",
    ),
    "a regex Java rejects": (
        "dataframe",
        "format = json\n[log_filter]\n[[include]]\nsrc = '(a)?(?(1)b|c)'",
        "[log_filter][include], key 'src': '(a)?(?(1)b|c)' is valid in Python but not in Java's regex syntax",
    ),
}


def error_of(sc, conf: Path) -> str:
    with pytest.raises(DataSharkError) as caught:
        run_in(sc, conf)
    message = str(caught.value)
    assert "\n" not in message.strip(), message
    return message


@pytest.mark.parametrize(("api", "keys", "expected"), list(CONF_ERRORS.values()), ids=list(CONF_ERRORS))
def test_conf_errors_name_the_file_and_key(
    spark_context, tmp_path: Path, api: str, keys: str, expected: str
) -> None:
    (tmp_path / "bad-schema.json").write_text('{"type": "struct", "fields": [{"name": "ts"}]}')
    (tmp_path / "events.json").write_text(json.dumps({"ts": BASE, "src": "a"}) + "\n")
    conf = write_usecase(
        tmp_path,
        "broken",
        RETURNS["rows"],
        f"type = batch\nfile = events.json\ntime_field = ts\n{keys}",
        api=api,
    )
    message = error_of(spark_context, conf)
    assert f"{conf}: {expected}" in message


def test_a_python_group_name_with_an_underscore_is_no_error(spark_context, tmp_path: Path) -> None:
    (tmp_path / "events.json").write_text('{"src": "10.0.0.1"}\n{"src": "x"}\n')
    conf = write_usecase(
        tmp_path,
        "group",
        "from pyspark.sql import functions as sf\n\n\ndef load(events):\n"
        "    return events.select(events.src.alias('key'), sf.lit(1).alias('score'))\n",
        "type = batch\nfile = events.json\nformat = json\n"
        "[log_filter]\n[[include]]\nsrc = '(?P<src_ip>\\d+)'",
    )
    run_in(spark_context, conf)
    assert csv_rows(conf) == {"10.0.0.1": {"score": "1.0"}}


@pytest.mark.parametrize(
    ("returned", "expected"),
    [
        ("no score", "load()'s DataFrame has no 'score' column (its columns: key)"),
        ("an RDD", "load() returned PipelinedRDD, expected a DataFrame (api = dataframe)"),
    ],
)
def test_load_must_return_findings(spark_context, tmp_path: Path, returned: str, expected: str) -> None:
    (tmp_path / "events.json").write_text('{"src": "a"}\n')
    conf = write_usecase(
        tmp_path, "returns", RETURNS[returned], "type = batch\nfile = events.json\nformat = json"
    )
    assert error_of(spark_context, conf).startswith(f"(Frames returns) - Failed: {expected}")


def test_a_streaming_use_case_needs_a_schema(spark_context, tmp_path: Path) -> None:
    conf = write_usecase(
        tmp_path,
        "noschema",
        RETURNS["rows"],
        "type = streaming\ninput = file\nformat = json\n[in_file]\nfolder_path = in",
    )
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    with pytest.raises(DataSharkError) as caught:
        run_conf(spark_context, settings, conf, timeout=5)
    assert f"{conf}: key 'schema' is required by a streaming DataFrame use case" in str(caught.value)


# --- streaming over a folder ------------------------------------------------------------------

WINDOWS = """
from pyspark.sql import functions as sf


def load(events, training, spark):
    windows = (
        events.withWatermark("`@timestamp`", "1 minute")
        .groupBy(sf.window("`@timestamp`", "10 minutes"), sf.col("src").alias("key"))
        .agg(sf.count("*").alias("score"))
    )
    return windows.select("key", "score", sf.col("window.start").alias("window_start"))
"""
WINDOW_SECONDS, DELAY_SECONDS = 600, 60


def at(minute: int, src: str) -> dict:
    return {"ts": BASE + 60 * minute, "src": src}


def closed_windows(events: list[dict]) -> set[tuple[str, str, str]]:
    """(key, window start, count) of the 10-minute windows the watermark (the latest event less
    a minute) has passed the end of."""
    watermark = max(event["ts"] for event in events) - DELAY_SECONDS
    counts = Counter((event["src"], event["ts"] // WINDOW_SECONDS * WINDOW_SECONDS) for event in events)
    return {
        (src, iso(start), str(float(count)))
        for (src, start), count in counts.items()
        if start + WINDOW_SECONDS <= watermark
    }


def window_rows(conf: Path) -> list[tuple[str, str, str]]:
    """The stream's CSV rows: time, key, score, window_start (no header: it appends)."""
    out = conf.parent / "out.csv"
    rows = read_csv(out) if out.exists() else []
    return [(key, start, score) for _, key, score, start in rows]


def stream_usecase(folder: Path, code: str = WINDOWS, *, time_field: str = "ts") -> Path:
    """A streaming use case reading JSON files moved into ``folder/incoming``; CSV to out.csv."""
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(textwrap.dedent(code))
    conf = folder / "uc.conf"
    timed = f"time_field = {time_field}\n" if time_field else ""
    conf.write_text(
        "name = Frame Stream\ntype = streaming\ncode = uc.py\ninput = file\noutput = csv\n"
        f'api = dataframe\nformat = json\nschema = "ts DOUBLE, src STRING"\n{timed}'
        "[in_file]\nfolder_path = incoming\n[out_csv]\npath = out.csv\nmode = append\n"
    )
    return conf


def move_in(folder: Path, name: str, lines: list[str], *, age: float = 0) -> None:
    """Written beside the folder, dated ``age`` seconds back, then moved in."""
    staging = folder.parent / f".{name}"
    staging.write_text("".join(line + "\n" for line in lines))
    then = time.time() - age
    os.utime(staging, (then, then))
    shutil.move(staging, folder / name)


def stream_until(sc, tmp_path: Path, conf: Path, done, *, drop=None, timeout: float = 240) -> None:
    """Run the streaming use case until ``done()``; ``drop`` runs once its queries are active."""
    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    prepared = [prepare(settings, read_usecase(conf))]
    spark = spark_session(sc)

    stopped = threading.Event()

    def when_started() -> None:
        while not spark.streams.active and not stopped.is_set():
            time.sleep(0.2)
        if not stopped.wait(1):
            drop()

    thread = threading.Thread(target=when_started) if drop else None
    if thread:
        thread.start()
    try:
        run_streaming(
            sc,
            RunContext(settings),
            prepared,
            debug=False,
            timeout=timeout,
            stop_when=lambda: "done" if done() else None,
        )
    finally:
        stopped.set()
        if thread:
            thread.join()


def test_windows_close_on_the_watermark_and_survive_a_restart(spark_context, tmp_path: Path) -> None:
    conf = stream_usecase(tmp_path / "uc")
    incoming = conf.parent / "incoming"
    first = [at(1, "A"), at(2, "A"), at(5, "B"), at(12, "A")]
    second = [at(13, "A"), at(14, "B"), at(25, "A")]
    lines = [json.dumps(event) for event in first] + ['{"src": "C"}']
    expected_first = closed_windows(first)
    assert len(expected_first) == 2  # 08:00 of A and of B; A's 08:10 stays open

    stream_until(
        spark_context,
        tmp_path,
        conf,
        lambda: len(window_rows(conf)) >= len(expected_first) and dead_letters(tmp_path),
        drop=lambda: move_in(incoming, "a.json", lines),
    )
    assert set(window_rows(conf)) == expected_first and len(window_rows(conf)) == 2
    assert [(letter["event"], letter["reason"]) for letter in dead_letters(tmp_path)] == [
        ('{"src":"C"}', "no readable time in ts")
    ]
    state = tmp_path / "ckpt" / "frame-stream" / "query"
    assert (state / "state").is_dir() and (state / "commits").is_dir()

    # Arrived while stopped; A's 08:10 window gets 08:13 besides the 08:12 it kept, and closes at 08:25.
    move_in(incoming, "b.json", [json.dumps(event) for event in second])
    expected = closed_windows(first + second)
    assert (("A", iso(BASE + 600), "2.0")) in expected and len(expected) == 4
    stream_until(spark_context, tmp_path, conf, lambda: len(window_rows(conf)) >= len(expected))
    rows = window_rows(conf)
    assert set(rows) == expected and len(rows) == len(expected), "a.json read once, each window once"
    assert len(dead_letters(tmp_path)) == 1


EACH_EVENT = """
from pyspark.sql import functions as sf


def load(events, training):
    return events.select(sf.coalesce("src", sf.lit("NULL")).alias("key"), sf.lit(1).alias("score"))
"""


def test_a_streamed_line_that_is_not_json_is_a_dead_letter(
    spark_context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """...counted by the query as it reads the batch: the input is read again because it did."""
    counts: list[int | None] = []
    counted = BatchDelivery._unparsed_count

    def recorded(self, batch_id: int) -> int | None:
        count = counted(self, batch_id)
        counts.append(count)
        return count

    monkeypatch.setattr(BatchDelivery, "_unparsed_count", recorded)
    conf = stream_usecase(tmp_path / "uc", EACH_EVENT, time_field="")
    incoming = conf.parent / "incoming"
    stream_until(
        spark_context,
        tmp_path,
        conf,
        lambda: keys_written(conf) and (dead_letters(tmp_path) or len(keys_written(conf)) > 1),
        drop=lambda: move_in(incoming, "a.json", ['{"src": "a"}', "not json"]),
        timeout=60,
    )
    assert keys_written(conf) == ["a"]
    assert [(letter["event"], letter["reason"]) for letter in dead_letters(tmp_path)] == [
        ("not json", NOT_JSON)
    ]
    assert counts == [1]


def keys_written(conf: Path) -> list[str]:
    out = conf.parent / "out.csv"
    return sorted(row[1] for row in read_csv(out)) if out.exists() else []


def test_a_year_old_file_moved_in_while_running_is_read(spark_context, tmp_path: Path) -> None:
    conf = stream_usecase(tmp_path / "uc")
    incoming = conf.parent / "incoming"
    new, old, closer = [at(1, "NEW")], [at(2, "OLD"), at(30, "OLD")], [at(45, "NEW")]
    spark = spark_session(spark_context)

    def drops() -> None:
        move_in(incoming, "new.json", [json.dumps(event) for event in new])
        deadline = time.monotonic() + 60
        while events_read(spark, "frame-stream") < len(new) and time.monotonic() < deadline:
            time.sleep(0.5)
        move_in(incoming, "old.json", [json.dumps(event) for event in old], age=365 * 86400)
        time.sleep(3)
        move_in(incoming, "closer.json", [json.dumps(event) for event in closer])

    expected = closed_windows(new + old + closer)
    assert ("OLD", iso(BASE), "1.0") in expected
    # the windows close over two batches: the closer's, and the one after it (the watermark)
    stream_until(
        spark_context, tmp_path, conf, lambda: set(window_rows(conf)) >= expected, drop=drops, timeout=120
    )
    assert set(window_rows(conf)) == expected


def events_read(spark, query_name: str) -> int:
    """The input rows the running query of that name has read so far (its recent batches)."""
    return sum(
        progress["numInputRows"]
        for query in spark.streams.active
        if query.name == query_name
        for progress in query.recentProgress
    )


# --- datashark test ---------------------------------------------------------------------------

CASES = """
name: one client's queries in one 10-minute window
modes: [batch, streaming]
events:
  - '{"ts": 1710403260.0, "src": "10.0.0.1", "qtype": "A"}'
  - '{"ts": 1710403270.5, "src": "10.0.0.1", "qtype": "PTR"}'
  - '{"ts": 1710403400.0, "src": "10.0.0.2", "qtype": "A"}'
  - 'not json'
  - '{"ts": 1710404000.0, "src": "10.0.0.1", "qtype": "A"}'
expect:
  - {key: 10.0.0.1, score: 2}
  - {key: 10.0.0.2, score: 1}
  - {key: 10.0.0.1, score: 1}
"""


def test_datashark_test_runs_a_case_in_batch_and_as_a_stream(spark_context, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "dns-windows"
    (folder / "tests").mkdir(parents=True)
    (folder / "windows.py").write_text(textwrap.dedent(WINDOWS))
    (folder / "windows.conf").write_text(
        "name = DNS Windows\ntype = batch\ncode = windows.py\nfile = sample.json\noutput = csv\n"
        'api = dataframe\nformat = json\nschema = "ts DOUBLE, src STRING, qtype STRING"\ntime_field = ts\n'
    )
    (folder / "sample.json").write_text("")
    (folder / "tests" / "windows.yml").write_text(CASES)
    code = main(["test", str(folder)])
    out = capsys.readouterr().out.splitlines()
    name = "dns-windows/one client's queries in one 10-minute window"
    assert (code, out) == (0, [f"PASS {name} (batch)", f"PASS {name} (streaming)", "2 passed, 0 failed"])


# --- the fields load() reads ------------------------------------------------------------------


@pytest.fixture
def messages(spark_context):
    return spark_session(spark_context).createDataFrame([('{"a": 1, "b": "x", "c": 2.5}',)], "value STRING")


def parsed(tmp_path: Path, messages):
    """``messages`` parsed as a use case with schema ``a INT, b STRING, c DOUBLE`` parses Kafka's."""
    schema = 'type = streaming\nformat = json\nschema = "a INT, b STRING, c DOUBLE"'
    conf = write_usecase(tmp_path, "fields", "def load(events):\n    return events\n", schema)
    return value_frame(read_usecase(conf), messages)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda events: events.groupBy("b").count(), ["b"]),
        (lambda events: events.filter(sf.col("a") > 0).select(sf.col("c").alias("key")), ["a", "c"]),
        (lambda events: events.filter(sf.col("a") > 0), ["a", "b", "c"]),
        (lambda events: events.select(sf.lit(1).alias("key")), []),
    ],
    ids=["grouped", "filtered and selected", "every column out", "none"],
)
def test_the_fields_a_query_reads_are_read_off_its_plan(tmp_path: Path, messages, query, expected) -> None:
    events = parsed(tmp_path, messages)
    assert fields_read(query(events), ["a", "b", "c"]) == expected
    assert query(events).count() == 1


def test_a_plan_without_a_parse_prunes_nothing(messages) -> None:
    assert fields_read(messages.select("value"), ["value"]) is None
