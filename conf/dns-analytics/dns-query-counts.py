"""The DNS query table of the zat notebook: how many queries each client sent per registered
domain and query type in each window, from Zeek's dns.log. A table for hunting and baselining,
not a detection: key = the client address, score = its query count, metadata = the registered
domain, the query type and the window. See README.md."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from dns_names import normal_name, table_domain

from datashark.detect.addresses import canonical_ip
from datashark.detect.measures import count, first_seen, last_seen
from datashark.detect.windows import Window, per_entity

NAME = "dns-query-counts"


def _number(conf: Any, key: str, default: float, least: float) -> float:
    value = conf.get(key) if hasattr(conf, "get") else None
    try:
        number = float(default if value is None or value == "" else value)
    except (TypeError, ValueError):
        raise ValueError(f"{NAME}: {key} must be a number, not {value!r}") from None
    if not number >= least:
        raise ValueError(f"{NAME}: {key} must be {least:g} or more, not {value!r}")
    return number


def table_key(event: Any) -> tuple[str, str, str] | None:
    """(client address, registered domain, query type) of a dns.log record, or None without a
    client or a query name. Names without a registered domain count under themselves."""
    if not isinstance(event, dict):
        return None
    name = normal_name(event.get("query"))
    client = event.get("id.orig_h")
    client = canonical_ip(client.strip()) if isinstance(client, str) else None
    if name is None or client is None:
        return None
    qtype = event.get("qtype_name") or (str(event["qtype"]) if event.get("qtype") is not None else "-")
    return (client, table_domain(name), str(qtype))


def row(window: Any) -> tuple:
    """A table row: key = client, score = queries, metadata = domain, qtype, window."""
    client, domain, qtype = window.entity
    values = window.values
    return (
        client,
        values["queries"],
        {
            "registered_domain": domain,
            "qtype": qtype,
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "first_seen": values["first_seen"].isoformat(),
            "last_seen": values["last_seen"].isoformat(),
        },
    )


def at_least(least: float, queries: int) -> bool:
    return queries >= least


def load(events, conf):
    """One row per (client, registered domain, query type) and window with ``min_queries``
    queries or more."""
    window = Window(
        size=timedelta(minutes=_number(conf, "window_minutes", 60, 1 / 60)),
        late=timedelta(minutes=_number(conf, "late_minutes", 2, 0)),
        idle=timedelta(minutes=_number(conf, "idle_minutes", 5, 0)),
    )
    least = _number(conf, "min_queries", 1, 1)
    counted = per_entity(
        events,
        key=table_key,
        window=window,
        measures={"queries": count(), "first_seen": first_seen(), "last_seen": last_seen()},
        name=NAME,
        when={"queries": partial(at_least, least)} if least > 1 else None,
    )
    return counted.map(row)
