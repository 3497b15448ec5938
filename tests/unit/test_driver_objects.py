"""Objects kept on the driver for streaming use cases, by id."""

from __future__ import annotations

import pickle

import pytest

from datashark.detect import driver_objects


def test_an_object_is_reached_by_its_id_until_forgotten() -> None:
    lists = {"evil.example"}
    object_id = driver_objects.keep(lists, "lists")
    assert object_id.startswith("lists-") and driver_objects.kept(object_id) is lists
    assert pickle.loads(pickle.dumps(driver_objects.kept)) is driver_objects.kept  # by reference
    driver_objects.forget(object_id)
    with pytest.raises(RuntimeError, match="not registered"):
        driver_objects.kept(object_id)
