"""Local output files are opened safely: no symbolic link followed, only regular files written,
text that UTF-8 cannot encode escaped rather than raised on, and no process-wide umask change."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from datashark.errors import UseCaseError
from datashark.sinks.textfile import LocalFile, drop_torn_row
from tests.unit.conftest import REPO


def rows(*lines: str):
    """A ``Texts`` for ``LocalFile.append``: ``lines``, a header first when the file is new."""

    def texts(needs_header: bool) -> list[str]:
        return (["time,key\n"] if needs_header else []) + list(lines)

    return texts


def write_through(file: LocalFile, how: str) -> None:
    if how == "append":
        file.append(rows("t,a\n"))
    else:
        file.replace(["t,a\n"])


WRITES = pytest.mark.parametrize("how", ["append", "replace"])


@WRITES
def test_a_symbolic_link_at_the_path_is_refused_and_its_target_untouched(tmp_path: Path, how: str) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("keep me\n")
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    with pytest.raises(UseCaseError) as raised:
        write_through(LocalFile(link, "CSV File"), how)
    message = str(raised.value)
    assert message == f"CSV File {link}: is a symbolic link, which outputs do not follow"
    assert "\n" not in message and "symbolic link" in message
    assert target.read_text() == "keep me\n"
    assert link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "secret.txt"], "no temporary left"


@WRITES
def test_a_dangling_symbolic_link_is_refused_and_creates_nothing(tmp_path: Path, how: str) -> None:
    target = tmp_path / "elsewhere" / "created.txt"
    link = tmp_path / "out.csv"
    link.symlink_to(target)
    with pytest.raises(UseCaseError, match="symbolic link"):
        write_through(LocalFile(link), how)
    assert not target.exists() and not target.parent.exists()


def test_torn_row_repair_does_not_follow_a_symbolic_link(tmp_path: Path) -> None:
    target = tmp_path / "target.txt"
    target.write_text("a,1\nb,2\npartial")
    (tmp_path / "out.csv").symlink_to(target)
    with pytest.raises(OSError):
        drop_torn_row(tmp_path / "out.csv")
    assert target.read_text() == "a,1\nb,2\npartial"


@WRITES
def test_a_fifo_at_the_path_is_not_a_regular_file(tmp_path: Path, how: str) -> None:
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    # O_RDWR opens a FIFO without waiting for a reader; lstat sees it without opening it.
    with pytest.raises(UseCaseError, match=r"^CSV File .*out\.csv: not a regular file$"):
        write_through(LocalFile(fifo, "CSV File"), how)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@WRITES
def test_a_directory_at_the_path_is_not_written(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "out.csv"
    folder.mkdir()
    with pytest.raises(UseCaseError) as raised:
        write_through(LocalFile(folder), how)
    assert str(raised.value) == f"File {folder}: not a regular file"
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_append_creates_then_appends_with_one_header(tmp_path: Path) -> None:
    path = tmp_path / "new" / "out.csv"
    LocalFile(path).append(rows("t,a\n"))
    LocalFile(path).append(rows("t,b\n"))
    assert path.read_text() == "time,key\nt,a\nt,b\n"


def test_append_cuts_a_torn_row_first(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("time,key\nt,a\nt,tor")
    LocalFile(path).append(rows("t,b\n"))
    assert path.read_text() == "time,key\nt,a\nt,b\n"


def test_replace_keeps_the_old_files_mode(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    path.chmod(0o640)
    LocalFile(path).replace(["new\n"])
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_new_files_get_the_umask_as_open_would(tmp_path: Path) -> None:
    """0666 less the umask; reading the umask needs setting it, fine in a test (one thread)."""
    umask = os.umask(0o027)
    try:
        LocalFile(tmp_path / "appended.csv").append(rows())
        LocalFile(tmp_path / "replaced.csv").replace([])
    finally:
        os.umask(umask)
    for name in ("appended.csv", "replaced.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name


@WRITES
def test_a_lone_surrogate_is_written_backslash_escaped(tmp_path: Path, how: str) -> None:
    path = tmp_path / "out.csv"
    if how == "append":
        LocalFile(path).append(rows("t,bad\ud800key\n"))
        assert path.read_bytes() == b"time,key\nt,bad\\ud800key\n"
    else:
        LocalFile(path).replace(["t,bad\udfffkey,\u00e9\n"])
        assert path.read_bytes() == "t,bad\\udfffkey,\u00e9\n".encode()


# ----------------------------------------------------------------------------- umask guard


def umask_calls(path: Path) -> list[int]:
    """Lines of ``path`` that call something named ``umask`` (``os.umask(...)``, ``umask(...)``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "umask")
            or (isinstance(node.func, ast.Name) and node.func.id == "umask")
        )
    ]


def test_no_datashark_code_changes_the_process_umask() -> None:
    """The umask is process-wide: setting it (even to read it) while Spark's and the outputs'
    threads create files gives their files the wrong permissions. Files are created with an
    explicit mode instead (os.open(path, flags, 0o600), fchmod)."""
    sources = sorted((REPO / "datashark").rglob("*.py")) + sorted((REPO / "plugins").rglob("*.py"))
    assert len(sources) > 10
    calls = {str(path.relative_to(REPO)): umask_calls(path) for path in sources}
    assert {path: lines for path, lines in calls.items() if lines} == {}


def test_the_umask_guard_finds_a_call(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("import os\nfrom os import umask\nold = os.umask(0)\numask(old)\n")
    assert umask_calls(source) == [3, 4]
