"""Helpers for the unit tests: writing use-case folders, confs and code files under tmp_path.

Nothing here starts Spark; every test in this folder runs in milliseconds.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from datashark.config.usecase import read_usecase
from datashark.loading.codeimport import import_file
from datashark.loading.plugin_loader import load_output_plugin

REPO = Path(__file__).resolve().parents[2]
CSV_PLUGIN = REPO / "plugins" / "output" / "out_csv.py"

DEFAULT_CODE = """
def load(batchData, conf):
    return batchData
"""

# The keys of a minimal valid batch use case named "uc"; see usecase_conf().
BATCH_KEYS = {
    "name": "uc",
    "type": "batch",
    "enabled": "true",
    "code": "uc.py",
    "file": "data.txt",
    "output": "csv",
}


def usecase_conf(extra: str = "", **keys: str | None) -> str:
    """The text of a use-case conf: BATCH_KEYS overridden by ``keys`` (None drops a key),
    followed by ``extra`` (custom keys, sections)."""
    values = {**BATCH_KEYS, **keys}
    lines = [f"{key} = {value}" for key, value in values.items() if value is not None]
    return "\n".join(lines) + "\n" + textwrap.dedent(extra)


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path`` (parents created) and return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


MakeUseCase = Callable[..., Path]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty dataShark folder (no datashark.conf: all defaults)."""
    return tmp_path


@pytest.fixture
def make_usecase(home: Path) -> MakeUseCase:
    """``make_usecase(folder="uc", conf=None, code=DEFAULT_CODE, files={"data.txt": ...})``
    writes ``<home>/conf/<folder>/<folder>.conf`` plus code and data files, and returns the
    conf's path. ``conf`` defaults to usecase_conf(); ``code=None`` writes no code file;
    ``files`` maps names (relative to the folder) to their text.
    """

    def make(
        folder: str = "uc",
        conf: str | None = None,
        code: str | None = DEFAULT_CODE,
        files: dict[str, str] | None = None,
        code_name: str = "uc.py",
    ) -> Path:
        base = home / "conf" / folder
        base.mkdir(parents=True, exist_ok=True)
        if code is not None:
            write(base / code_name, code)
        for name, text in ({"data.txt": "some data\n"} if files is None else files).items():
            write(base / name, text)
        return write(base / f"{folder}.conf", usecase_conf() if conf is None else conf)

    return make


@pytest.fixture(scope="session")
def out_csv_module():
    """The repository's plugins/output/out_csv.py, imported by path as dataShark does."""
    return import_file(CSV_PLUGIN, "datashark_unit_test_out_csv")


@pytest.fixture
def csv_plugin(make_usecase, monkeypatch):
    """``csv_plugin(section)``: the repository's out_csv configured from ``[out_csv]`` text."""
    monkeypatch.delenv("HADOOP_USER_NAME", raising=False)

    def load(section: str):
        return load_output_plugin(
            REPO, read_usecase(make_usecase(conf=usecase_conf(f"[out_csv]\n{section}")))
        )

    return load
