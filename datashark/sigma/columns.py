"""The columns a Sigma stream reads when its conf gives no ``schema``: the fields its rules name.

A stream's columns are fixed when it starts. Listing them by hand for a folder of Sigma rules
means reading every rule; dataShark lists them instead: each field a rule, a correlation or a
finding reads (host, user, time, event id, the keywords field), as text. A JSON value of any
kind fits a text column (a number as its digits, an object as its JSON), so no event becomes a
dead letter for its types, and the rules compare numbers with ``try_cast`` (``backend``). A dotted
name (``winlog.event_data.Image``) is a nested field; a name that is also a leaf (``host`` beside
``host.name``) stays a leaf, which holds an object as JSON text rather than rejecting a string.
"""

from __future__ import annotations

from collections.abc import Iterable

Tree = dict[str, "Tree | None"]  # a struct's fields: a leaf is None


def text_columns(fields: Iterable[str]) -> str:
    """Spark DDL of ``fields`` as STRING columns, dotted names as nested STRUCTs, in first-seen
    order, each once (names are matched with case, as the case-sensitive Sigma session reads)."""
    tree: Tree = {}
    for name in fields:
        _add(tree, name.split("."))
    return ", ".join(f"{_quoted(name)} {_ddl_type(node)}" for name, node in tree.items())


def _add(tree: Tree, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        tree[head] = None  # a leaf replaces a struct of the same name
        return
    node = tree.setdefault(head, {})
    if node is not None:
        _add(node, rest)


def _ddl_type(node: Tree | None) -> str:
    if node is None:
        return "STRING"
    return "STRUCT<" + ", ".join(f"{_quoted(name)}: {_ddl_type(child)}" for name, child in node.items()) + ">"


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
