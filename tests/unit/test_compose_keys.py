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
    # A hostile name stays on one line: the key quoted, the service's control characters replaced.
    [odd] = unknown_keys({"services": {"a\nb\x1b": {"image": "a", "re\nstart": 1}}})
    assert odd.describe() == "service a?b?: unknown key 're\\nstart' (did you mean restart?)"


def test_an_image_is_deleted_only_when_the_plugin_brought_it_or_a_registry_has_it(tmp_path):
    from tedge_container.config import DEFAULTS, Config
    from tedge_container.images.provenance import at_registry, brought, kept_reason, remember

    config = Config({**DEFAULTS, "data_dir": [str(tmp_path)]}, "", "/etc/tedge")
    assert at_registry("ghcr.io/acme/web:1") and at_registry("docker.io/library/nginx:latest")
    assert not at_registry("localhost/acme/web:1") and not at_registry("web:1")
    hand = "sha256:" + "a" * 64
    assert kept_reason(config, "localhost/acme/web:1", hand)
    remember(config, hand, "localhost/acme/web:1")
    assert brought(config, "a" * 64) and kept_reason(config, "localhost/acme/web:1", hand) == ""
    remember(config, "../../etc/passwd", "x")  # not an id: nothing written anywhere
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["a" * 64, "obtained"]
