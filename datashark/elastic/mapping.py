"""The Spark schema of an index's documents, from its mapping: what a DataFrame use case reading
``input = elasticsearch`` gets when its conf gives no ``schema``.

Text-like types (keyword, text, ip, date, ...) are strings: dates stay as the documents write
them, for the use case's ``time_field``/``time_format`` to read, and a string column takes any
JSON value as its text, so a geo point or an unexpected object is kept, not lost. Numbers are
longs or doubles, objects structs, ``nested`` fields arrays of structs. A mapping cannot say
which fields hold arrays (any field may): the ``arrays`` key names them, as es-hadoop's
``es.read.field.as.array.include`` did for HELK; unnamed, an array reaches a string column as
its JSON text. Indices of a pattern whose mappings disagree on a field's type get a string.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from datashark.elastic.connection import retrying

if TYPE_CHECKING:
    from pyspark.sql.types import DataType, StructType

    from datashark.elastic.search import Search

LONGS = {"long", "integer", "short", "byte", "unsigned_long", "token_count"}
DOUBLES = {"double", "float", "half_float", "scaled_float"}
SKIPPED = {"alias"}  # no value of its own in _source


def index_properties(search: Search) -> dict[str, Any]:
    """The properties of the search's indices, merged (``GET <index>/_mapping``)."""
    connection = search.connection
    with connection.client() as client:
        answer = retrying(
            connection,
            f"reading the mapping of {search.index}",
            lambda: client.indices.get_mapping(index=search.index, allow_no_indices=True),
        )
    merged: dict[str, Any] = {}
    for index in sorted(answer):
        merged = _merged(merged, answer[index].get("mappings", {}).get("properties", {}))
    return merged


def _merged(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    merged = dict(left)
    for name, spec in right.items():
        if name not in merged:
            merged[name] = spec
        elif "properties" in merged[name] and "properties" in spec:
            merged[name] = {**spec, "properties": _merged(merged[name]["properties"], spec["properties"])}
        elif _kind(merged[name]) != _kind(spec):
            merged[name] = {"type": "keyword"}  # disagreeing indices: text holds either
    return merged


def nested_paths(properties: dict[str, Any], prefix: str = "") -> tuple[str, ...]:
    """The dotted paths of the ``nested`` fields: lists of objects, even when a document holds one."""
    found: list[str] = []
    for name, spec in sorted(properties.items()):
        if spec.get("type") == "nested":
            found.append(prefix + name)
        if "properties" in spec:
            found.extend(nested_paths(spec["properties"], f"{prefix}{name}."))
    return tuple(found)


def _kind(spec: dict[str, Any]) -> str:
    return "object" if "properties" in spec and "type" not in spec else str(spec.get("type", "object"))


def mapping_schema(
    properties: dict[str, Any], fields: tuple[str, ...] | None, arrays: tuple[str, ...]
) -> StructType:
    """The schema of documents with these mapping ``properties``: only ``fields`` (dotted paths,
    None: all), ``arrays`` (dotted paths) as arrays."""
    from pyspark.sql.types import StructType

    schema = _struct(properties, "", fields, set(arrays))
    return schema if isinstance(schema, StructType) else StructType()


def _struct(
    properties: dict[str, Any], prefix: str, fields: tuple[str, ...] | None, arrays: set[str]
) -> DataType:
    from pyspark.sql.types import ArrayType, StructField, StructType

    columns = []
    for name in sorted(properties):
        spec = properties[name]
        path = f"{prefix}{name}"
        if fields is not None and not any(_within(path, wanted) for wanted in fields):
            continue
        if spec.get("type") in SKIPPED:
            continue
        data_type = _type(spec, path, fields, arrays)
        if spec.get("type") == "nested" or path in arrays:
            data_type = ArrayType(data_type)
        columns.append(StructField(name, data_type))
    return StructType(columns)


def _within(path: str, wanted: str) -> bool:
    """Whether ``path`` is ``wanted``, inside it, or on the way to it."""
    return path == wanted or path.startswith(wanted + ".") or wanted.startswith(path + ".")


def _type(spec: dict[str, Any], path: str, fields: tuple[str, ...] | None, arrays: set[str]) -> DataType:
    from pyspark.sql.types import BooleanType, DoubleType, LongType, StringType

    if "properties" in spec:
        inner = fields
        if fields is not None and any(path == wanted or path.startswith(wanted + ".") for wanted in fields):
            inner = None  # the whole object was asked for
        return _struct(spec["properties"], path + ".", inner, arrays)
    kind = spec.get("type")
    if kind in LONGS:
        return LongType()
    if kind in DOUBLES:
        return DoubleType()
    if kind == "boolean":
        return BooleanType()
    return StringType()
