"""plugins/output/out_csv.py without Spark: the text of every CSV row, and where its path points."""

from __future__ import annotations

import csv
import io
import json

import numpy
import pytest

from datashark.errors import ConfigError
from datashark.plugin_api import debug_print, printable
from datashark.sinks.textfile import drop_torn_row

TIME = "2024-01-02 03:04:05"
COMMA = {"delimiter": ",", "quotechar": '"', "quoting": csv.QUOTE_MINIMAL, "lineterminator": "\n"}


@pytest.fixture
def formatter(out_csv_module):
    """``formatter(fields=None, escape=True, **dialect)``: a RowFormatter over COMMA + dialect."""

    def make(fields=None, escape=True, **dialect):
        return out_csv_module.RowFormatter(TIME, {**COMMA, **dialect}, fields, escape)

    return make


def text_of(formatter, rows) -> str:
    return "".join(text for text, _, _ in formatter.chunks(rows))


def parsed(text: str, **dialect) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), **{**COMMA, **dialect}))


def test_two_tuples(formatter):
    assert text_of(formatter(), [("a", 1), ("b", 2.5)]) == f"{TIME},a,1\n{TIME},b,2.5\n"


def test_three_tuples_metadata_in_sorted_key_order(formatter):
    text = text_of(formatter(), [("k", 3, {"zeta": "z", "alpha": "a", "mid": 7})])
    assert text == f"{TIME},k,3,a,7,z\n"


def test_none_metadata_is_like_no_metadata(formatter):
    assert text_of(formatter(), [("k", 3, None)]) == f"{TIME},k,3\n"


def test_fields_pin_columns_and_missing_ones_are_empty(formatter):
    rows = [("k", 1, {"b": "B", "a": "A", "ignored": "x"}), ("j", 2, {"c": "C"})]
    text = text_of(formatter(fields=["b", "c", "a"]), rows)
    assert parsed(text) == [[TIME, "k", "1", "B", "", "A"], [TIME, "j", "2", "", "C", ""]]


def test_value_containing_separator_is_quoted(formatter):
    assert text_of(formatter(), [("a,b", 1)]) == f'{TIME},"a,b",1\n'


def test_custom_separator_and_quote_char(formatter):
    fmt = formatter(delimiter=";", quotechar="'")
    text = text_of(fmt, [("a;b", 1, {"x": "no,quote"})])
    assert text == f"{TIME};'a;b';1;no,quote\n"
    assert parsed(text, delimiter=";", quotechar="'") == [[TIME, "a;b", "1", "no,quote"]]


def test_tab_separator(formatter):
    text = text_of(formatter(delimiter="\t"), [("a b", 1)])
    assert text == f"{TIME}\ta b\t1\n"


def test_quote_char_inside_value_is_doubled(formatter):
    text = text_of(formatter(), [('say "hi"', 1)])
    assert text == f'{TIME},"say ""hi""",1\n'
    assert parsed(text)[0][1] == 'say "hi"'


def test_line_endings_are_newline_only(formatter):
    text = text_of(formatter(), [("a", 1), ("b", 2), ("multi\nline", 3)])
    assert "\r" not in text
    assert text.count("\n") == 4
    assert parsed(text)[2][1] == "multi\nline"


@pytest.mark.parametrize("value", ["a\rb", "windows line\r\nend"])
def test_carriage_return_inside_value_is_quoted(formatter, value):
    """A bare CR in an unquoted field ends the record for CSV readers and spreadsheets."""
    text = text_of(formatter(), [(value, 1)])
    assert parsed(text) == [[TIME, value, "1"]]


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+1", "-x", "@SUM(A1:A2)", "\tx", "\rx"])
def test_formula_like_text_is_neutralised(formatter, value):
    assert formatter().cells((value, 1, {"m": value})) == [TIME, "'" + value, 1, "'" + value]


def test_neutralised_formula_survives_the_csv_round_trip(formatter):
    assert parsed(text_of(formatter(), [("=1+1", "@x")])) == [[TIME, "'=1+1", "'@x"]]


@pytest.mark.parametrize("number", [-1.5, -3, 0, 2.0])
def test_numbers_are_untouched(formatter, number):
    assert parsed(text_of(formatter(), [("k", number, {"m": number})])) == [
        [TIME, "k", str(number), str(number)]
    ]


def test_plain_text_is_untouched(formatter):
    assert parsed(text_of(formatter(), [("a=b", "x-1")])) == [[TIME, "a=b", "x-1"]]


def test_escape_false_leaves_formulas(formatter):
    assert parsed(text_of(formatter(escape=False), [("=cmd", "-x")])) == [[TIME, "=cmd", "-x"]]


def test_non_ascii_text(formatter):
    text = text_of(formatter(), [("Zürich", 1, {"city": "東京", "emoji": "🦈"})])
    assert text == f"{TIME},Zürich,1,東京,🦈\n"


def test_lists_are_valid_rows(formatter):
    assert text_of(formatter(), [["k", 1]]) == f"{TIME},k,1\n"


def test_list_and_dict_values_are_json(formatter):
    row = ("k", 1, {"tags": ["a", "b"], "counts": {"x": 1, "y": [2.5, True]}, "pair": ("p", 2)})
    text = text_of(formatter(), [row])
    assert text == f'{TIME},k,1,"{{""x"": 1, ""y"": [2.5, true]}}","[""p"", 2]","[""a"", ""b""]"\n'
    cells = parsed(text)[0]
    assert cells[3:] == ['{"x": 1, "y": [2.5, true]}', '["p", 2]', '["a", "b"]']
    assert [json.loads(cell) for cell in cells[3:]] == [{"x": 1, "y": [2.5, True]}, ["p", 2], ["a", "b"]]


def test_none_values_are_empty_cells_and_null_inside_json(formatter):
    rows = [("k", 1, {"a": None, "b": "B", "c": [None, "x"]})]
    assert parsed(text_of(formatter(), rows)) == [[TIME, "k", "1", "", "B", '[null, "x"]']]
    assert parsed(text_of(formatter(fields=["a", "missing", "b"]), rows)) == [[TIME, "k", "1", "", "", "B"]]


def test_json_values_keep_non_ascii_text_and_numpy_numbers(formatter):
    ports = [numpy.int64(22), numpy.float32(0.5), numpy.bool_(1)]
    row = ("k", 1, {"cities": ["Zürich", "東京"], "ports": ports})
    assert formatter().cells(row)[3:] == ['["Zürich", "東京"]', "[22, 0.5, true]"]


def test_formula_text_inside_json_is_neither_run_nor_altered(formatter):
    """A cell is neutralised by its final text: JSON starts with [ or {, which no spreadsheet runs."""
    row = ("k", 1, {"paths": ["=cmd|' /C calc'!A0", "-x"], "top": "=1+1"})
    assert formatter().cells(row)[3:] == ['["=cmd|\' /C calc\'!A0", "-x"]', "'=1+1"]


def test_many_rows_make_several_chunks(formatter, out_csv_module):
    rows = [(f"key-{i:06d}", i, {"b": "x" * 50, "a": i}) for i in range(5000)]
    chunks = list(formatter().chunks(iter(rows)))
    assert len(chunks) > 1
    assert sum(count for _, count, _ in chunks) == len(rows)
    assert all(len(text) >= out_csv_module.CHUNK_CHARS for text, _, _ in chunks[:-1])
    assert all(text.count("\n") == count for text, count, _ in chunks)
    assert chunks[0][2] == ["a", "b"]
    whole = "".join(text for text, _, _ in chunks)
    assert parsed(whole)[0] == [TIME, "key-000000", "0", "0", "x" * 50]
    assert parsed(whole)[-1][1] == "key-004999"


def test_first_keys_come_from_the_first_row(formatter):
    chunks = list(formatter().chunks([("k", 1, {"z": 1, "y": 2}), ("j", 2, {"other": 3})]))
    assert len(chunks) == 1
    assert chunks[0][1:] == (2, ["y", "z"])


def test_first_keys_empty_for_two_tuples(formatter):
    assert next(formatter().chunks([("k", 1)]))[2] == []


def test_no_rows_no_chunk(formatter):
    assert list(formatter().chunks(iter([]))) == []


def test_header_uses_first_keys(formatter):
    assert formatter().header(["a", "b"]) == "time,key,score,a,b\n"


def test_header_uses_fields_when_pinned(formatter):
    assert formatter(fields=["x", "y"]).header(["a", "b"]) == "time,key,score,x,y\n"


def test_header_follows_the_dialect(formatter):
    assert formatter(delimiter="\t").header([]) == "time\tkey\tscore\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("t,a,1\nt,b,2\nt,c", "t,a,1\nt,b,2\n"),
        ("t,a,1\n", "t,a,1\n"),
        ("t,a", ""),
        ("", ""),
    ],
)
def test_a_torn_last_row_is_cut_before_appending(out_csv_module, tmp_path, before, after):
    path = tmp_path / "out.csv"
    path.write_text(before)
    drop_torn_row(path)
    assert path.read_text() == after


def test_hdfs_uri_goes_to_webhdfs_on_the_default_port(csv_plugin, monkeypatch):
    monkeypatch.setenv("HADOOP_USER_NAME", "etl")
    plugin = csv_plugin("path = hdfs://nn.example:8020/logs/out.csv\n")
    assert plugin.destination == "CSV File hdfs://nn.example:8020/logs/out.csv"
    assert (plugin.file.connection.url, plugin.file.path, plugin.file.connection.user) == (
        "http://nn.example:9870",
        "/logs/out.csv",
        "etl",
    )


def test_webhdfs_uri_names_its_http_port(csv_plugin):
    plugin = csv_plugin("path = webhdfs://nn.example:50070/out.csv\nwebhdfs_port = 1\nuser = alice\n")
    assert (plugin.file.connection.url, plugin.file.connection.user) == ("http://nn.example:50070", "alice")


def test_webhdfs_port_key_applies_to_hdfs_uris(csv_plugin):
    plugin = csv_plugin("path = hdfs://nn.example/out.csv\nwebhdfs_port = 14000\n")
    assert plugin.file.connection.url == "http://nn.example:14000"


@pytest.mark.parametrize("path", ["s3a://bucket/out.csv", "hdfs:///out.csv", "hdfs://nn.example:8020/dir/"])
def test_other_uris_are_config_errors(csv_plugin, path):
    with pytest.raises(ConfigError, match=r"\[out_csv\], key 'path': .* is not a local file, hdfs://"):
        csv_plugin(f"path = {path}\n")


# ----------------------------------------------------------------------------- hostile text
# Metadata keys and values come from load(), so from the events: an attacker's text.

FORMULA_KEY = "=cmd|' /C calc'!A0"


def test_header_keys_are_neutralised_like_values(formatter):
    header = formatter().header([FORMULA_KEY, "@SUM(A1)", "zone"])
    assert parsed(header) == [["time", "key", "score", "'" + FORMULA_KEY, "'@SUM(A1)", "zone"]]


def test_pinned_fields_in_the_header_are_neutralised_too(formatter):
    assert parsed(formatter(fields=["-x", "ok"]).header([])) == [["time", "key", "score", "'-x", "ok"]]


def test_header_keys_are_left_alone_with_escape_false(formatter):
    assert parsed(formatter(escape=False).header([FORMULA_KEY])) == [["time", "key", "score", FORMULA_KEY]]


def test_header_from_a_formula_key_end_to_end(formatter, out_csv_module):
    fmt = formatter()
    chunks = fmt.chunks([("10.0.0.1", 1, {FORMULA_KEY: "=1+1"})])
    text = "".join(out_csv_module.FileText(chunks, fmt, header=True, echo=False)(True))
    assert parsed(text) == [["time", "key", "score", "'" + FORMULA_KEY], [TIME, "10.0.0.1", "1", "'=1+1"]]


HOSTILE_ROWS = [
    ("red\x1b[31m", 1, {"m": "two\nlines", "n": "\u202etxt.exe"}),
    ("plain", 2, {"m": "x", "n": "y"}),
]


def test_debug_output_is_one_escaped_line_per_row(formatter, out_csv_module, capsys):
    fmt = formatter()
    texts = out_csv_module.FileText(fmt.chunks(HOSTILE_ROWS), fmt, header=False, echo=True)
    written = "".join(texts(False))
    printed = capsys.readouterr().out
    assert printed.splitlines() == [
        f'{TIME},red\\x1b[31m,1,"two\\nlines",\\u202etxt.exe',
        f"{TIME},plain,2,x,y",
    ]
    assert "\x1b" not in printed and "\u202e" not in printed
    assert parsed(written) == [
        [TIME, "red\x1b[31m", "1", "two\nlines", "\u202etxt.exe"],
        [TIME, "plain", "2", "x", "y"],
    ], "the file gets the text as it is"


def test_formatter_lines_split_a_chunk_into_rows(formatter):
    fmt = formatter()
    (text, _, _), *_ = fmt.chunks(HOSTILE_ROWS)
    assert list(fmt.lines(text)) == [
        f'{TIME},red\x1b[31m,1,"two\nlines",\u202etxt.exe',
        f"{TIME},plain,2,x,y",
    ]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\x1b[2Jb", "a\\x1b[2Jb"),
        ("forged\nline\r", "forged\\nline\\r"),
        ("tab\tkept", "tab\tkept"),
        ("c1\x9b31m del\x7f nul\x00", "c1\\x9b31m del\\x7f nul\\x00"),
        ("sep\u2028par\u2029", "sep\\u2028par\\u2029"),
        ("bidi\u202e\u2066x\u2069", "bidi\\u202e\\u2066x\\u2069"),
        ("lone\ud800", "lone\\ud800"),
        ("Zürich 東京 🦈", "Zürich 東京 🦈"),
    ],
)
def test_printable_escapes_what_a_terminal_acts_on(text, shown):
    assert printable(text) == shown


def test_debug_print_writes_one_line(capsys):
    debug_print("row\x1b]0;title\x07\nsecond\n")
    assert capsys.readouterr().out == "row\\x1b]0;title\\x07\\nsecond\n"


def test_formatter_lines_are_the_files_rows_exactly(formatter):
    """Joined again, the debug lines are the chunk: quoting (all fields when a value has a CR) kept."""
    rows = [*HOSTILE_ROWS, ("a\rb", 3), ("windows\r\nend", 4, {"q": 'say "hi", ok'}), ("last", 5)]
    fmt = formatter()
    (text, count, _), *_ = fmt.chunks(rows)
    lines = list(fmt.lines(text))
    assert len(lines) == count == 5
    assert "".join(line + "\n" for line in lines) == text


# ----------------------------------------------------------------------------- empty results
# mode = overwrite: an empty result is a result, and replaces the file (header only, when on).


def test_overwrite_with_no_rows_is_the_header_alone(formatter, out_csv_module):
    texts = out_csv_module.FileText(iter([]), formatter(), header=True, echo=False)
    assert "".join(texts.whole_file()) == "time,key,score\n"
    assert texts.rows == 0


def test_overwrite_with_no_rows_names_the_pinned_fields(formatter, out_csv_module):
    texts = out_csv_module.FileText(iter([]), formatter(fields=["user", "port"]), header=True, echo=False)
    assert "".join(texts.whole_file()) == "time,key,score,user,port\n"


def test_overwrite_with_no_rows_and_no_header_is_empty(formatter, out_csv_module):
    texts = out_csv_module.FileText(iter([]), formatter(), header=False, echo=False)
    assert "".join(texts.whole_file()) == ""


def test_overwrite_with_rows_has_one_header(formatter, out_csv_module):
    fmt = formatter()
    texts = out_csv_module.FileText(fmt.chunks([("k", 1, {"a": 2})]), fmt, header=True, echo=False)
    assert "".join(texts.whole_file()) == f"time,key,score,a\n{TIME},k,1,2\n"
    assert texts.rows == 1


def test_append_with_no_rows_adds_nothing(formatter, out_csv_module):
    """Appending, the header waits for the first row: its metadata keys name the columns."""
    texts = out_csv_module.FileText(iter([]), formatter(), header=True, echo=False)
    assert "".join(texts(True)) == ""


def test_an_empty_overwrite_replaces_the_local_file(formatter, out_csv_module, tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("time,key,score\nold,row,1\n")
    texts = out_csv_module.FileText(iter([]), formatter(), header=True, echo=False)
    out_csv_module.LocalFile(path).replace(texts.whole_file())
    assert path.read_text() == "time,key,score\n"
