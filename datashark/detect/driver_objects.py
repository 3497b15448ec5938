"""Objects a streaming use case keeps on the driver between batches, reached by id.

Functions given to ``transform`` or ``foreachRDD`` are pickled into the streaming checkpoint at
every batch, together with what they close over; a use case's own module is pickled by value,
globals included. So such a function holds an id and asks for the object here: this module is
part of dataShark and pickled by reference, and the objects stay on the driver. An indicator
list reloaded while the stream runs is the kind of object meant. They live as long as the
driver process (as the streams they serve do); ``forget`` drops one.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

_KEPT: dict[str, Any] = {}
_IDS = itertools.count(1)
_LOCK = threading.Lock()


def keep(obj: Any, kind: str = "object") -> str:
    """Keep ``obj`` on the driver; the id to reach it with (``<kind>-<n>``)."""
    with _LOCK:
        object_id = f"{kind}-{next(_IDS)}"
        _KEPT[object_id] = obj
    return object_id


def kept(object_id: str) -> Any:
    """The object kept under ``object_id``; RuntimeError when none is registered."""
    with _LOCK:
        found = _KEPT.get(object_id)
    if found is None:
        raise RuntimeError(f"{object_id} is not registered in this driver")
    return found


def forget(object_id: str) -> None:
    """Drop the object kept under ``object_id`` (nothing when there is none)."""
    with _LOCK:
        _KEPT.pop(object_id, None)
