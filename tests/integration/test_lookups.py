"""Lookups through Spark: broadcast to the executors in a batch run, and refreshed while a stream
runs, so a later batch sees a lookup file's new content without a restart."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import ConfigError
from datashark.run.batch import run_batch
from datashark.run.context import RunContext
from datashark.run.prepare import prepare
from tests.integration.conftest import read_csv, settings_for, stream_while

pytestmark = pytest.mark.spark

# Each line is a host; its owner comes from the lookup, read two ways: by a function closing over
# ``lookups`` that runs on the executors, and by a broadcast taken on the driver (in a stream, in
# ``transform``, at each batch). One chain: a stream read by two branches would read its input twice.
OWNERS_CODE = """
def load(data, lookups):
    rows = data.map(lambda host: (host, 1, {"owner": lookups["owners"][host]["owner"]}))

    def with_driver_rows(rdd):
        owners = lookups.broadcast("owners")
        driver_row = lambda row: (row[0] + "/driver", 1, {"owner": owners.value[row[0]]["owner"]})
        return rdd.flatMap(lambda row: [row, driver_row(row)])

    return rows.transform(with_driver_rows) if hasattr(rows, "foreachRDD") else with_driver_rows(rows)
"""


def owners_usecase(folder: Path, kind: str, owner: str, *, extra: str = "") -> Path:
    folder.mkdir(parents=True)
    (folder / "uc.py").write_text(OWNERS_CODE)
    (folder / "events.txt").write_text("web1\ndb1\nweb1\n")
    write_owners(folder, owner)
    source = "file = events.txt\n" if kind == "batch" else "input = file\n[in_file]\nfolder_path = incoming\n"
    conf = folder / "uc.conf"
    conf.write_text(
        f"name = Owners\ntype = {kind}\ncode = uc.py\noutput = csv\n{source}"
        "[out_csv]\npath = out.csv\nmode = append\n"
        f"[lookups]\n[[owners]]\npath = owners.csv\nkey = host\nrefresh = 1s\n{extra}"
    )
    return conf


def write_owners(folder: Path, owner: str) -> None:
    staging = folder / "owners.csv.new"
    staging.write_text(f"host,owner\nweb1,{owner}\ndb1,{owner}\n")
    staging.replace(folder / "owners.csv")  # as a tool that rewrites an inventory would


def owners(conf: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for _time, key, _score, owner in read_csv(conf.parent / "out.csv"):
        found.setdefault(key, set()).add(owner)
    return found


def test_a_batch_use_case_reads_a_lookup_on_the_executors(spark_context, tmp_path: Path) -> None:
    conf = owners_usecase(tmp_path / "uc", "batch", "alice")
    settings = settings_for(tmp_path)
    run_batch(spark_context, RunContext(settings), prepare(settings, read_usecase(conf)), debug=False)
    assert owners(conf) == {
        "web1": {"alice"},
        "db1": {"alice"},
        "web1/driver": {"alice"},
        "db1/driver": {"alice"},
    }


def test_lookups_refresh_while_a_stream_runs(spark_context, tmp_path: Path, capsys) -> None:
    conf = owners_usecase(tmp_path / "uc", "streaming", "alice")
    incoming = conf.parent / "incoming"
    incoming.mkdir()

    def move_in(name: str, hosts: str) -> None:
        (tmp_path / name).write_text(hosts)
        shutil.move(tmp_path / name, incoming / name)

    def changes() -> None:
        time.sleep(2)
        move_in("1.log", "web1\n")
        time.sleep(2)
        write_owners(conf.parent, "bob")  # the inventory changes while the stream runs
        time.sleep(2.5)  # a refresh is due (1 s) by the next batch
        move_in("2.log", "db1\n")

    settings = dataclasses.replace(settings_for(tmp_path), batch_interval=1)
    stream_while(spark_context, settings, [prepare(settings, read_usecase(conf))], changes, timeout=9)
    assert owners(conf) == {
        "web1": {"alice"},
        "web1/driver": {"alice"},
        "db1": {"bob"},
        "db1/driver": {"bob"},
    }
    assert "(Owners) lookup 'owners' refreshed: 2 entries" in capsys.readouterr().out


def test_a_lookup_that_cannot_be_read_refuses_the_use_case_before_spark(tmp_path: Path) -> None:
    conf = owners_usecase(tmp_path / "uc", "batch", "alice")
    (conf.parent / "owners.csv").unlink()
    with pytest.raises(ConfigError) as err:
        prepare(settings_for(tmp_path), read_usecase(conf))
    assert str(err.value) == (
        f"{conf}: [lookups][owners], key 'path': no such file: {conf.parent / 'owners.csv'}"
    )
