"""Every relative link of README.md and docs/*.md reaches a file, and its ``#anchor`` a heading."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.conftest import REPO

FRONT_PAGE = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def prose_lines(text: str) -> Iterator[str]:
    """The lines of a Markdown text outside its fenced code blocks."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets ``-1``, ``-2``... as on GitHub."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(page.read_text(encoding="utf-8")):
        heading = HEADING.match(line)
        if heading:
            base = slug(heading[1])
            repeats = seen.get(base, 0)
            found.add(base if repeats == 0 else f"{base}-{repeats}")
            seen[base] = repeats + 1
    return found


def relative_links(page: Path) -> list[str]:
    """The targets of the page's Markdown links that are neither URLs nor inside code."""
    targets = []
    for line in prose_lines(page.read_text(encoding="utf-8")):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if not EXTERNAL.match(target):
                targets.append(target)
    return targets


def broken_links(page: Path) -> list[str]:
    """Each relative link of ``page`` whose file is missing, or whose anchor names no heading."""
    broken = []
    for target in relative_links(page):
        path, _, anchor = unquote(target).partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    return broken


@pytest.mark.parametrize("page", [FRONT_PAGE, *DOCS], ids=lambda page: page.relative_to(REPO).as_posix())
def test_links_reach_a_file_and_a_heading(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_every_docs_page() -> None:
    assert len(DOCS) >= 2
    linked = {(REPO / unquote(target).partition("#")[0]).resolve() for target in relative_links(FRONT_PAGE)}
    assert [page.name for page in DOCS if page.resolve() not in linked] == []


def test_every_docs_page_links_back_to_the_readme() -> None:
    assert [page.name for page in DOCS if "../README.md" not in relative_links(page)] == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Differences from the original dataShark", "differences-from-the-original-datashark"),
        ("`datashark.conf`", "datasharkconf"),
        ("`out_csv`", "out_csv"),
        ("Dependencies, and why each", "dependencies-and-why-each"),
        ("File folder input (`in_file`)", "file-folder-input-in_file"),
        ("See [Security](security.md)", "see-security"),
    ],
)
def test_slug_follows_github(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_broken_links_are_found(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## Same\n\n## Same\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n"
        "[ok](other.md) [ok](other.md#same-1) [ok](#page) [web](https://example.org/x.md)\n"
        "[gone](missing.md) [bad anchor](other.md#same-2) [bad here](#nowhere)\n"
        "`[in code](missing.md)`\n\n"
        "```\n[in a block](missing.md)\n# not a heading\n```\n"
        "[not a heading either](#not-a-heading)\n",
        encoding="utf-8",
    )
    assert [problem.split(":")[0] for problem in broken_links(page)] == [
        "missing.md",
        "other.md#same-2",
        "#nowhere",
        "#not-a-heading",
    ]
