"""Detections of conf/ run as a user would run them in the tests: their test cases read, a
copy of a use case made streaming in a test's dataShark folder, its CSV findings read."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from configobj import ConfigObj

from datashark.testing.cases import Case, read_case_file
from tests.conftest import REPO


def datashark_home(tmp_path: Path, conf: str) -> Path:
    """``tmp_path/home``: a dataShark folder with the repo's plugins and jars, and a
    datashark.conf of ``conf`` plus 2 s batches, checkpoints and dead letters in ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir()
    for folder in ("plugins", "lib"):
        (home / folder).symlink_to(REPO / folder)
    (home / "datashark.conf").write_text(
        f"{conf}batch.interval = 2\ncheckpoint.dir = {tmp_path / 'checkpoints'}\n"
        f"deadletter.dir = {tmp_path / 'deadletter'}\n"
    )
    return home


def case(path: str) -> Case:
    (found,) = read_case_file(REPO / path)
    return found


def streaming_copy(home: Path, detection: str, sections: dict | None = None) -> Path:
    """conf/<detection> copied into ``home``, made a streaming use case that ``start.sh`` runs."""
    folder = home / "conf" / detection
    shutil.copytree(REPO / "conf" / detection, folder, ignore=shutil.ignore_patterns("tests", "output"))
    conf = ConfigObj(str(folder / f"{detection}.conf"), list_values=False, interpolation=False)
    conf["type"] = "streaming"
    conf["enabled"] = "true"
    del conf["file"]
    for name, values in (sections or {}).items():
        conf[name] = values
    conf["input"] = "kafka" if sections and "in_kafka" in sections else conf.get("input", "")
    if not conf["input"]:
        del conf["input"]
    conf["out_csv"]["path"] = str(home / f"{detection}.csv")
    conf.write()
    return folder / f"{detection}.conf"


def findings(path: Path) -> dict[str, dict]:
    """The CSV's rows by key: score and signals."""
    with open(path, newline="", encoding="utf-8") as rows:
        return {
            row["key"]: {"score": float(row["score"]), "signals": json.loads(row["signals"])}
            for row in csv.DictReader(rows)
        }
