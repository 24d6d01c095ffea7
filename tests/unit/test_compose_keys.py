"""The compose key set and the nearest known key (pure logic)."""

from __future__ import annotations

from tedge_container.software.group.compose_keys import SERVICE_KEYS, nearest, unknown_keys


def test_nearest_known_keys():
    assert nearest("restrat", SERVICE_KEYS) == "restart"
    assert nearest("port", SERVICE_KEYS) == "ports"
    assert nearest("enviroment", SERVICE_KEYS) == "environment"
    assert nearest("zzzzzz", SERVICE_KEYS) == ""


def test_extensions_are_silent_and_hostile_files_bounded():
    document = {"x-a": 1, "services": {"web": {"image": "a", "x-b": 2, "healthcheck": {}}}}
    assert unknown_keys(document) == []
    many = {"services": {"web": {f"k{i}": i for i in range(1000)}}}
    assert len(unknown_keys(many)) == 50
    assert unknown_keys(["not", "a", "mapping"]) == []
